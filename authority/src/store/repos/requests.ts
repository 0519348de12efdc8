import {
  sql,
  type ExpressionBuilder,
  type Insertable,
  type Selectable,
  type SelectQueryBuilder,
} from 'kysely';
import { assertTransition, REQUEST_LIFECYCLE, type Lifecycle } from '../../../../protocol/src/lifecycles.ts';
import type { RequestState } from '../../../../protocol/src/pipeline.ts';
import { LOCK_CLASS_DISPATCH_QUEUE } from '../schema-migrations.ts';
import type { Database, LeasesTable, PhoneCallbacksTable, RequestsTable } from '../schema.ts';
import { prepared, preparedByShape, type Prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';

/**
 * A request whose holder is on a call with its customer: a call ticket of the holder under
 * the request's current fence, proven by the device and not ended (such a call takes the
 * agent's whole capacity).
 */
export const onLiveCall = (eb: ExpressionBuilder<Database, 'requests'>) =>
  eb.exists(
    eb
      .selectFrom('call_tickets as t')
      .select('t.jti')
      .whereRef('t.request_id', '=', 'requests.id')
      .whereRef('t.agent_id', '=', 'requests.agent_id')
      .whereRef('t.fence', '=', 'requests.fence')
      .where('t.proven_at', 'is not', null)
      .where('t.ended_at', 'is', null),
  );

/** A service request as stored (skills is JSON text). */
export type RequestRow = Selectable<RequestsTable>;
/** What the view of a request reads from other tables (RequestsRepo.viewPartsOf), columns prefixed by table. */
export interface RequestViewParts {
  id: string;
  customer_id: string;
  agent_id: string | null;
  authentication_id: string;
  device_id: string | null;
  fence: number;
  customer_name: string | null;
  customer_kind: string | null;
  agent_name: string | null;
  auth_id: string | null;
  auth_level: number | null;
  auth_expires_at: number | null;
  held_since: number | null;
  p_request_id: string | null;
  p_sip_call_id: string | null;
  p_caller: string | null;
  p_dialled: string | null;
  p_recognition: string | null;
  p_sip_server: string | null;
  p_created_at: number | null;
  p_ended_at: number | null;
  p_end_reason: string | null;
  p_identified_by: string | null;
  p_identified_at: number | null;
  link_at: number | string | null;
  b_request_id: string | null;
  b_number: string | null;
  b_booked_by: string | null;
  b_booked_at: number | null;
  b_placed_at: number | null;
  b_placed_count: number | null;
  b_sip_call_id: string | null;
  b_ended_at: number | null;
  b_end_reason: PhoneCallbacksTable['end_reason'];
  b_end_status: number | null;
  d_id: string | null;
  last_seen_at: number | null;
  push: string | null;
}

/** RequestsRepo.viewPartsOf's query up to its list of request ids (closed by the caller). */
const VIEW_PARTS = sql.raw(`SELECT r.id, r.customer_id, r.agent_id, r.authentication_id, r.device_id, r.fence,
  c.display_name AS customer_name, c.kind AS customer_kind, s.display_name AS agent_name,
  a.id AS auth_id, a.level AS auth_level, a.expires_at AS auth_expires_at, k.from_at AS held_since,
  p.request_id AS p_request_id, p.sip_call_id AS p_sip_call_id, p.caller AS p_caller,
  p.dialled AS p_dialled, p.recognition AS p_recognition, p.sip_server AS p_sip_server,
  p.created_at AS p_created_at, p.ended_at AS p_ended_at, p.end_reason AS p_end_reason,
  p.identified_by AS p_identified_by, p.identified_at AS p_identified_at,
  (SELECT max(v.created_at) FROM verification_links v WHERE v.request_id = r.id) AS link_at,
  b.request_id AS b_request_id, b.number AS b_number, b.booked_by AS b_booked_by,
  b.booked_at AS b_booked_at, b.placed_at AS b_placed_at, b.placed_count AS b_placed_count,
  b.sip_call_id AS b_sip_call_id, b.ended_at AS b_ended_at, b.end_reason AS b_end_reason,
  b.end_status AS b_end_status, d.id AS d_id, ls.last_seen_at, dp.device_id AS push
FROM requests r
  LEFT JOIN customers c ON c.id = r.customer_id
  LEFT JOIN staff s ON s.id = r.agent_id
  LEFT JOIN authentications a ON a.id = r.authentication_id
  LEFT JOIN custody k ON k.request_id = r.id AND k.fence = r.fence AND k.until_at IS NULL
  LEFT JOIN phone_calls p ON p.request_id = r.id
  LEFT JOIN phone_callbacks b ON b.request_id = r.id
  LEFT JOIN devices d ON d.id = r.device_id
  LEFT JOIN device_last_seen ls ON ls.device_id = d.id
  LEFT JOIN device_push dp ON dp.device_id = d.id
WHERE r.id IN (`);
/** A lease: who held a request under one fencing number, as an offer or an assignment. */
export type LeaseRow = Selectable<LeasesTable>;
/** How many requests of each channel an agent holds (assigned to them). */
export interface Held {
  voice: number;
  chat: number;
  /**
   * Of the chats, those on a live call to their device (escalated: the device proved the
   * call ticket of the current holder and fence, and the call has not ended): a call takes
   * the whole capacity, whatever the request's channel.
   */
  chatCalls: number;
}

/** Holding nothing. */
export const NOTHING_HELD: Readonly<Held> = Object.freeze({ voice: 0, chat: 0, chatCalls: 0 });
export type LeaseKind = LeasesTable['kind'];
export type NewRequest = Omit<
  Insertable<RequestsTable>,
  'state' | 'fence' | 'agent_id' | 'offer_expires_at' | 'assigned_at' | 'ended_at' | 'end_reason'
>;

/** States in which a request still waits for, or is held by, an agent. */
export const LIVE_STATES = ['waiting', 'offered', 'assigned', 'scheduled'] as const;

const lifecycle: Lifecycle<RequestState> = REQUEST_LIFECYCLE;

/** The lease a request in `state` holds (none when it is not offered or assigned). */
export function leaseKindOf(state: RequestState): LeaseKind | null {
  return state === 'offered' ? 'offer' : state === 'assigned' ? 'assignment' : null;
}

/**
 * Whether the move from `from` to `to` takes a new fencing number: a new holding
 * ('offered', a take-over assigned -> assigned), or an assignment given back to the
 * queue (assigned -> waiting: the old holder's fence must be stale at once).
 */
export function bumpsFence(from: RequestState, to: RequestState): boolean {
  return to === 'offered' || (from === 'assigned' && (to === 'assigned' || to === 'waiting'));
}

/** What a transition changes besides the state, and what it requires of the row. */
export interface TransitionChange {
  /** Guard: the row is held by this agent now. */
  holder?: string;
  /** Guard: the offer has not expired at this instant (accept). */
  offerLiveAt?: number;
  /** The new holder: required for 'offered'; a take-over (assigned -> assigned) names the new one. */
  agentId?: string;
  /** Required for 'offered': when the offer lapses. */
  offerExpiresAt?: number;
  /** Why the old lease ends; also the end_reason of 'completed' / 'abandoned'. */
  reason?: string;
  /** When (default now): lease ends and starts, assigned_at, ended_at. */
  at?: number;
  /** A new queue (a transfer to a queue, a re-ruled waiting request). */
  queueId?: string;
  /** A new priority, or an amount added to the current one. */
  priority?: number;
  priorityDelta?: number;
  /** 'scheduled': the booked slot. */
  slot?: { start: number; end: number };
}

/** The values of a transition's UPDATE (those its shape does not use are left undefined). */
interface TransitionValues extends Record<string, unknown> {
  id: string;
  from: RequestState;
  to: RequestState;
  fence: number;
  at: number;
  agentId: string;
  queueId: string;
  priority: number;
  priorityDelta: number;
  offerExpiresAt: number;
  reason: string;
  slotStart: number;
  slotEnd: number;
  holder: string;
  offerLiveAt: number;
}

/** A transition's UPDATE, one prepared query per shape (which columns it sets, which guards it adds). */
const transitionShape = preparedByShape<TransitionValues, RequestRow>();

function transitionUpdate(
  from: RequestState,
  to: RequestState,
  bump: boolean,
  change: TransitionChange,
): Prepared<TransitionValues, RequestRow> {
  const has = {
    agent: change.agentId !== undefined,
    queue: change.queueId !== undefined,
    priority: change.priority !== undefined,
    delta: change.priorityDelta !== undefined,
    holder: change.holder !== undefined,
    offerLive: change.offerLiveAt !== undefined,
  };
  const assignedAt = to === 'assigned' && (from === 'offered' || has.agent);
  const key = `${to} ${bump} ${assignedAt} ${Object.values(has).join(' ')}`;
  return transitionShape(key, (q, p) => {
    let u = q.updateTable('requests').set({ state: p.to });
    if (bump) u = u.set((eb) => ({ fence: eb('fence', '+', 1) }));
    if (has.agent) u = u.set({ agent_id: p.agentId });
    if (has.queue) u = u.set({ queue_id: p.queueId });
    if (has.priority) u = u.set({ priority: p.priority });
    if (has.delta) u = u.set((eb) => ({ priority: eb('priority', '+', p.priorityDelta) }));
    switch (to) {
      case 'offered':
        u = u.set({ offer_expires_at: p.offerExpiresAt });
        break;
      case 'assigned':
        u = u.set({ offer_expires_at: null });
        if (assignedAt) u = u.set({ assigned_at: p.at });
        break;
      case 'waiting':
        u = u.set({ agent_id: null, offer_expires_at: null });
        break;
      case 'scheduled':
        u = u.set({
          agent_id: null,
          offer_expires_at: null,
          callback_mode: 'slot',
          slot_start: p.slotStart,
          slot_end: p.slotEnd,
        });
        break;
      case 'completed':
        u = u.set({ ended_at: p.at, end_reason: p.reason });
        break;
      case 'abandoned':
        u = u.set({ ended_at: p.at, end_reason: p.reason, offer_expires_at: null });
        break;
    }
    u = u.where('id', '=', p.id).where('state', '=', p.from).where('fence', '=', p.fence);
    if (has.holder) u = u.where('agent_id', '=', p.holder);
    if (has.offerLive) u = u.where('offer_expires_at', '>', p.offerLiveAt);
    return u.returningAll();
  });
}

/** Queue order: priority first, then waiting time, then id (every ordered read uses it). */
function inQueueOrder<O>(
  q: SelectQueryBuilder<Database, 'requests', O>,
): SelectQueryBuilder<Database, 'requests', O> {
  return q.orderBy('priority', 'desc').orderBy('enqueued_at', 'asc').orderBy('id', 'asc');
}

// Compiled once (prepared.ts): the queries every pipeline cycle runs.
export const requestById = prepared((q, p: { id: string }) =>
  q.selectFrom('requests').selectAll().where('id', '=', p.id),
);
export const requestForUpdate = prepared((q, p: { id: string }) =>
  q.selectFrom('requests').selectAll().where('id', '=', p.id).forUpdate(),
);
const waitingQueueIds = prepared((q) =>
  q.selectFrom('requests').select('queue_id').distinct().where('state', '=', 'waiting').orderBy('queue_id'),
);
const endOpenLease = prepared(
  (q, p: { requestId: string; fence: number; kind: LeaseKind; reason: string; at: number }) =>
    q
      .updateTable('leases')
      .set({ ended_at: p.at, end_reason: p.reason })
      .where('request_id', '=', p.requestId)
      .where('fence', '=', p.fence)
      .where('kind', '=', p.kind)
      .where('ended_at', 'is', null),
);
const insertLease = prepared(
  (q, p: { id: string; fence: number; kind: LeaseKind; agentId: string; at: number }) =>
    q
      .insertInto('leases')
      .values({ request_id: p.id, fence: p.fence, kind: p.kind, agent_id: p.agentId, started_at: p.at }),
);
const insertHandleTime = prepared(
  (q, p: { queueId: string; channel: 'voice' | 'chat'; seconds: number; at: number }) =>
    q
      .insertInto('handle_times')
      .values({ queue_id: p.queueId, channel: p.channel, seconds: p.seconds, at: p.at }),
);

/** Tables: requests, leases, handle_times; the guarded transition() of a request. */
export class RequestsRepo extends Repo {
  // ---- reads ------------------------------------------------------------------

  /**
   * The request. Inside a unit of work on PostgreSQL the row is locked (`FOR UPDATE`)
   * until the unit ends: a decision taken on it (accept, complete, abandon) waits for a
   * concurrent change to commit and sees it, as SQLite's single writer gives for free
   * (READ COMMITTED alone would decide on the row before it and fail the guarded UPDATE).
   */
  get(id: string): Promise<RequestRow | undefined> {
    return (this.locksRows ? requestForUpdate : requestById).first(this.c, {
      id,
    });
  }

  bySession(sessionId: string): Promise<RequestRow | undefined> {
    return this.q.selectFrom('requests').selectAll().where('session_id', '=', sessionId).executeTakeFirst();
  }

  byIdempotencyKey(deviceId: string, key: string): Promise<RequestRow | undefined> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('idempotency_key', '=', key)
      .executeTakeFirst();
  }

  /** The request offered to `agentId` now, if any. */
  offerOf(agentId: string): Promise<RequestRow | undefined> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('state', '=', 'offered')
      .executeTakeFirst();
  }

  /** The request `agentId` holds now (the latest assigned, if ever more than one). */
  assignedTo(agentId: string): Promise<RequestRow | undefined> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('agent_id', '=', agentId)
      .where('state', '=', 'assigned')
      .orderBy('assigned_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** These requests (unknown ids are absent), by id. */
  many(ids: readonly string[]): Promise<RequestRow[]> {
    return inSlices(ids, (part) =>
      this.q.selectFrom('requests').selectAll().where('id', 'in', part).orderBy('id').execute(),
    );
  }

  /**
   * What the views of these requests read from other tables, in one query (per slice of
   * ids) instead of one per table: each request's keys as stored (its customer, agent,
   * authentication, device, fence, which the caller checks against the row it views), the
   * names, the authentication's level and expiry, the open holding under the request's
   * fence, the phone call (with whether its caller is unknown) and when its latest
   * verification link was texted, the phone callback, and the device's last sighting and
   * push subscription. Unknown ids are absent.
   */
  viewPartsOf(ids: readonly string[]): Promise<RequestViewParts[]> {
    // Written out once (not built by Kysely at each call: ~45 columns, three of these per
    // pipeline cycle); every column is a plain column of one of the tables joined.
    return inSlices(ids, async (part) => {
      const r = await sql<RequestViewParts>`${VIEW_PARTS}${sql.join(part)})`.execute(this.q);
      return r.rows;
    });
  }

  /** The requests of these sessions (a session has at most one). */
  bySessions(sessionIds: readonly string[]): Promise<RequestRow[]> {
    return inSlices(sessionIds, (part) =>
      this.q.selectFrom('requests').selectAll().where('session_id', 'in', part).execute(),
    );
  }

  /** Requests offered to or assigned to these agents now (for their views). */
  heldBy(agentIds: readonly string[]): Promise<RequestRow[]> {
    return inSlices(agentIds, (part) =>
      this.q
        .selectFrom('requests')
        .selectAll()
        .where('agent_id', 'in', part)
        .where('state', 'in', ['offered', 'assigned'])
        .orderBy('id')
        .execute(),
    );
  }

  /** Offered or assigned requests of the customer an authentication belongs to (who holds them: their panels). */
  heldOfCustomerOf(authenticationId: string): Promise<Pick<RequestRow, 'id' | 'agent_id'>[]> {
    return this.q
      .selectFrom('requests')
      .select(['id', 'agent_id'])
      .where('customer_id', '=', (eb) =>
        eb.selectFrom('authentications').select('customer_id').where('id', '=', authenticationId),
      )
      .where('agent_id', 'is not', null)
      .where('state', 'in', ['offered', 'assigned'])
      .orderBy('id')
      .execute();
  }

  /**
   * This unit's turn to dispatch `queue`, or false when another unit (any node) has it now:
   * never waited for (PostgreSQL: `pg_try_advisory_xact_lock` per queue, held to the
   * commit, so the holder reads who is free after the previous holder's offers
   * committed; SQLite: its one writer already runs units one by one, always true). The
   * caller that is refused tries again after the holder (Pipeline.dispatch). The rules
   * themselves (one open offer per request and per agent) are partial unique indexes.
   */
  async tryDispatchTurn(queue: string): Promise<boolean> {
    if (this.c.engine !== 'postgres') return true;
    const r = await sql<{
      got: boolean;
    }>`SELECT pg_try_advisory_xact_lock(${LOCK_CLASS_DISPATCH_QUEUE}, hashtext(${queue})) AS got`.execute(
      this.q,
    );
    return r.rows[0]?.got === true;
  }

  /** The queues that have waiting requests now, by id. */
  async waitingQueues(): Promise<string[]> {
    return (await waitingQueueIds.rows(this.c, {})).map((x) => x.queue_id);
  }

  /** Waiting requests of some queues (null: all) in queue order, `limit` from `offset`. */
  async waiting(queues: readonly string[] | null, limit = 10_000, offset = 0): Promise<RequestRow[]> {
    if (queues && queues.length === 0) return [];
    let q = this.q.selectFrom('requests').selectAll().where('state', '=', 'waiting');
    if (queues) q = q.where('queue_id', 'in', queues);
    return await inQueueOrder(q).limit(limit).offset(offset).execute();
  }

  /** Live (not finished) requests of some queues (null: all) in queue order. */
  async live(queues: readonly string[] | null, limit = 20_000): Promise<RequestRow[]> {
    if (queues && queues.length === 0) return [];
    let q = this.q.selectFrom('requests').selectAll().where('state', 'in', LIVE_STATES);
    if (queues) q = q.where('queue_id', 'in', queues);
    return await inQueueOrder(q).limit(limit).execute();
  }

  /** Ids of the live requests of a customer's device. */
  async liveIdsOfDevice(deviceId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('requests')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('state', 'in', LIVE_STATES)
      .execute();
    return rows.map((x) => x.id);
  }

  /** Requests of one authentication in some states. */
  ofAuthentication(authenticationId: string, states: readonly RequestState[]): Promise<RequestRow[]> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('authentication_id', '=', authenticationId)
      .where('state', 'in', states)
      .orderBy('id')
      .execute();
  }

  /** 1-based position among the waiting requests of its queue (null when not waiting). */
  async position(r: RequestRow): Promise<number | null> {
    if (r.state !== 'waiting') return null;
    const row = await this.q
      .selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'waiting')
      .where('queue_id', '=', r.queue_id)
      .where((eb) =>
        eb.or([
          eb('priority', '>', r.priority),
          eb.and([
            eb('priority', '=', r.priority),
            eb.or([
              eb('enqueued_at', '<', r.enqueued_at),
              eb.and([eb('enqueued_at', '=', r.enqueued_at), eb('id', '<', r.id)]),
            ]),
          ]),
        ]),
      )
      .executeTakeFirstOrThrow();
    return Number(row.n) + 1;
  }

  /** Live requests (waiting, offered, assigned, scheduled) counted by queue and state: /metrics. */
  async liveCounts(): Promise<{ queue: string; state: string; n: number }[]> {
    const rows = await this.q
      .selectFrom('requests')
      .select(['queue_id', 'state', (eb) => eb.fn.countAll<number>().as('n')])
      .where('state', 'in', [...LIVE_STATES])
      .groupBy(['queue_id', 'state'])
      .orderBy('queue_id')
      .orderBy('state')
      .execute();
    return rows.map((r) => ({ queue: r.queue_id, state: r.state, n: Number(r.n) }));
  }

  /** How many requests wait in a queue. */
  async countWaiting(queueId: string): Promise<number> {
    const row = await this.q
      .selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'waiting')
      .where('queue_id', '=', queueId)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * What each agent holds now (assigned requests), by channel, with the chats on a live call
   * (a call ticket of the request's holder under its current fence, proven and not ended);
   * agents holding nothing are absent.
   */
  async heldByAgent(): Promise<Map<string, Held>> {
    const rows = await this.q
      .selectFrom('requests')
      .select((eb) => ['agent_id', 'channel', eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'assigned')
      .groupBy(['agent_id', 'channel'])
      .execute();
    const calls = await this.q
      .selectFrom('requests')
      .select((eb) => ['agent_id', eb.fn.countAll<number>().as('n')])
      .where('state', '=', 'assigned')
      .where('channel', '=', 'chat')
      .where(onLiveCall)
      .groupBy('agent_id')
      .execute();
    const out = new Map<string, Held>();
    for (const x of rows) {
      if (x.agent_id === null) continue;
      const held = out.get(x.agent_id) ?? { ...NOTHING_HELD };
      held[x.channel] += Number(x.n);
      out.set(x.agent_id, held);
    }
    for (const x of calls) {
      const held = x.agent_id === null ? undefined : out.get(x.agent_id);
      if (held) held.chatCalls = Number(x.n);
    }
    return out;
  }

  /** Agents holding an offer now. */
  async offeredAgentIds(): Promise<Set<string>> {
    const rows = await this.q
      .selectFrom('requests')
      .select('agent_id')
      .where('state', '=', 'offered')
      .execute();
    return new Set(rows.map((x) => x.agent_id).filter((a): a is string => a !== null));
  }

  /** Offers whose time ran out at `now`. */
  expiredOffers(now: number): Promise<RequestRow[]> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('state', '=', 'offered')
      .where('offer_expires_at', '<=', now)
      .orderBy('id')
      .execute();
  }

  /** Scheduled callbacks whose slot has started at `now`. */
  dueCallbacks(now: number): Promise<RequestRow[]> {
    return this.q
      .selectFrom('requests')
      .selectAll()
      .where('state', '=', 'scheduled')
      .where('slot_start', '<=', now)
      .orderBy('id')
      .execute();
  }

  /** The lease of a request under one fencing number, of one kind. */
  lease(requestId: string, fence: number, kind: LeaseKind): Promise<LeaseRow | undefined> {
    return this.q
      .selectFrom('leases')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('fence', '=', fence)
      .where('kind', '=', kind)
      .executeTakeFirst();
  }

  /** Every lease of a request, by fence (an offer before the assignment of the same fence). */
  leases(requestId: string): Promise<LeaseRow[]> {
    return this.q
      .selectFrom('leases')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('fence')
      .orderBy('started_at')
      .orderBy('kind', 'desc')
      .execute();
  }

  // ---- writes -----------------------------------------------------------------

  /** A new request, waiting (the lifecycle's initial state) with fence 0. */
  /**
   * A phone request's caller verified on their enrolled device (a verification link): the
   * request now carries that device and its authentication (its level). Live requests only.
   */
  async bindDevice(requestId: string, authenticationId: string, deviceId: string): Promise<boolean> {
    const r = await this.q
      .updateTable('requests')
      .set({ authentication_id: authenticationId, device_id: deviceId })
      .where('id', '=', requestId)
      .where('state', 'in', ['waiting', 'offered', 'assigned'])
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async insert(row: NewRequest): Promise<RequestRow> {
    return await this.q
      .insertInto('requests')
      .values({ ...row, state: lifecycle.initial[0]! })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * The one way a request changes state (REQUEST_LIFECYCLE): one UPDATE guarded by the
   * state `from` and the fencing number `fence` (and the holder / a live offer when
   * `change` asks), with its leases in the same unit: the lease of `from` ends with
   * `change.reason` (a new holding: the old one ends at the instant the new one starts),
   * the lease of `to` starts. A new holder ('offered', or a take-over assigned ->
   * assigned) gets the next fencing number; accepting keeps the offer's.
   *
   * Returns the changed row, or undefined when the guard refused it (another state, a
   * stale fence, another holder, an expired offer): of racing callers exactly one wins.
   * An illegal pair throws IllegalTransition before anything is written.
   */
  async transition(
    id: string,
    from: RequestState,
    to: RequestState,
    fence: number,
    change: TransitionChange = {},
  ): Promise<RequestRow | undefined> {
    assertTransition(lifecycle, from, to);
    const at = change.at ?? this.now();
    const bump = bumpsFence(from, to);
    if (to === 'offered' && (change.agentId === undefined || change.offerExpiresAt === undefined))
      throw new Error('request transition to offered needs agentId and offerExpiresAt');
    if (bump && to === 'assigned' && change.agentId === undefined)
      throw new Error(`request transition ${from} -> ${to} needs agentId`);
    if (to === 'scheduled' && !change.slot) throw new Error('request transition to scheduled needs a slot');

    const row = await transitionUpdate(from, to, bump, change).first(this.c, {
      id,
      from,
      to,
      fence,
      at,
      agentId: change.agentId,
      queueId: change.queueId,
      priority: change.priority,
      priorityDelta: change.priorityDelta,
      offerExpiresAt: change.offerExpiresAt,
      reason: change.reason ?? to,
      slotStart: change.slot?.start,
      slotEnd: change.slot?.end,
      holder: change.holder,
      offerLiveAt: change.offerLiveAt,
    } as TransitionValues);
    if (!row) return undefined;

    // The row is ours until the unit ends and the holding before it has committed; on
    // PostgreSQL `at` may have been read before that commit (units run at once): the
    // leases' instant is never earlier than now, so a lease never starts before the
    // previous one of the request ended (CustodyRepo.move does the same).
    const leaseAt = Math.max(at, this.now());
    const ended = leaseKindOf(from);
    const started = leaseKindOf(to);
    if (ended && (bump || ended !== started))
      await this.endLease(id, fence, ended, change.reason ?? (to === 'assigned' ? 'accepted' : to), leaseAt);
    if (started && (bump || ended !== started))
      await insertLease.affected(this.c, {
        id,
        fence: row.fence,
        kind: started,
        agentId: row.agent_id!,
        at: leaseAt,
      });
    return row;
  }

  /** End the open lease of a request under `fence` of `kind`: false when none was open. */
  async endLease(
    requestId: string,
    fence: number,
    kind: LeaseKind,
    reason: string,
    at: number,
  ): Promise<boolean> {
    return (await endOpenLease.affected(this.c, { requestId, fence, kind, reason, at })) > 0;
  }

  /** A measured handling time of a request of `channel` in a queue (seconds), for wait estimates. */
  async addHandleTime(
    queueId: string,
    channel: 'voice' | 'chat',
    seconds: number,
    at: number,
  ): Promise<void> {
    await insertHandleTime.affected(this.c, { queueId, channel, seconds, at });
  }
}
