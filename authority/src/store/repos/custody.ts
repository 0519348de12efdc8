import type { Expression, ExpressionBuilder, Selectable } from 'kysely';
import { assertTransition, REQUEST_LIFECYCLE } from '../../../../protocol/src/lifecycles.ts';
import type { AgentsTable, CustodyTable, Database, RequestsTable } from '../schema.ts';
import { prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';
import { onLiveCall } from './requests.ts';

interface HoldingValues extends Record<string, unknown> {
  requestId: string;
  staffId: string;
  fence: number;
  at: number;
}

/**
 * A holding's row, in one statement: the holder's role and the verification they start
 * with (reports: the level at answer, not at report time) are read by the insert itself,
 * and so is `how` when the caller passes an expression.
 */
function insertHolding<P extends HoldingValues>(
  how: (eb: ExpressionBuilder<Database, 'custody'>, p: P) => Expression<CustodyHow>,
) {
  return prepared((q, p: P) =>
    q
      .insertInto('custody')
      .values((eb) => ({
        request_id: p.requestId,
        staff_id: p.staffId,
        role: eb.fn.coalesce(
          eb.selectFrom('staff').select('role').where('id', '=', p.staffId),
          eb.val('agent' as const),
        ),
        fence: p.fence,
        how: how(eb, p),
        from_at: p.at,
        level: eb.fn.coalesce(
          eb
            .selectFrom('requests')
            .leftJoin('authentications', 'authentications.id', 'requests.authentication_id')
            .select('authentications.level')
            .where('requests.id', '=', p.requestId),
          eb.val(0),
        ),
      }))
      .onConflict((oc) => oc.columns(['request_id', 'fence']).doNothing()),
  );
}
// Compiled once (prepared.ts).
const openHolding = insertHolding<HoldingValues & { how: CustodyHow }>((eb, p) => eb.val(p.how));
/** 'reassigned' or 'transfer_blind' when a transfer moved the request to that fence (its latest), else 'accepted' */
const openOfferedHolding = insertHolding<HoldingValues>((eb, p) =>
  eb.fn.coalesce(
    eb
      .selectFrom('transfers')
      .select((t) =>
        t
          .case()
          .when('kind', '=', 'reassign')
          .then(t.val<CustodyHow>('reassigned'))
          .else(t.val<CustodyHow>('transfer_blind'))
          .end()
          .as('how'),
      )
      .where('request_id', '=', p.requestId)
      .where('to_fence', '=', p.fence)
      .orderBy('created_at', 'desc')
      .limit(1),
    eb.val<CustodyHow>('accepted'),
  ),
);
const closeHolding = prepared((q, p: { requestId: string; fence: number; reason: string; at: number }) =>
  q
    .updateTable('custody')
    .set({ until_at: p.at, end_reason: p.reason })
    .where('request_id', '=', p.requestId)
    .where('fence', '=', p.fence)
    .where('until_at', 'is', null),
);

/** A custody row with the holder's display name. */
export type CustodyRow = Selectable<CustodyTable> & { display_name: string };
export type CustodyHow = CustodyTable['how'];
type RequestState = RequestsTable['state'];
/** A request as its ownership stands (the columns an ownership move reads). */
export type HeldRequest = Pick<
  Selectable<RequestsTable>,
  'id' | 'state' | 'fence' | 'agent_id' | 'queue_id' | 'assigned_at' | 'channel'
>;

/** What a staff member holds now: assigned requests by channel, and whether an offer waits for them. */
export interface Holding {
  assigned: boolean;
  offered: boolean;
  voice: number;
  chat: number;
  /** Of the chats, those on a live call to their device (as RequestsRepo.heldByAgent counts them). */
  chatCalls: number;
}

/**
 * An ownership move of a request (a transfer, a take-over, a reassign): from the state and
 * fence the caller saw to `to` under the next fencing number.
 */
export interface OwnershipMove {
  requestId: string;
  /** The move happens only while the request is still in this state, under this fence (and with this holder, when not null). */
  from: { state: RequestState; fence: number; agentId: string | null };
  to: 'offered' | 'assigned' | 'waiting';
  /** The new holder ('offered', 'assigned'). */
  agentId?: string;
  /** 'offered': when the offer lapses. */
  offerExpiresAt?: number;
  /** 'waiting': the queue it waits in now. */
  queueId?: string;
  /** 'assigned': how the new holder came to hold it (their custody row). */
  how?: CustodyHow;
  /** Why the old lease (and custody) ends. */
  reason: string;
  at: number;
}

/** An agent as stored (skills and queues are JSON text). */
export type StaffingAgent = Selectable<AgentsTable>;
export interface Shift {
  start: number;
  end: number;
}

/** Where an agent with a schedule stands at an instant (one without a schedule has none). */
export interface ShiftState {
  /** a shift covers the instant */
  onShift: boolean;
  /** a shift ends after the instant (now, or a later one) */
  later: boolean;
}

const leaseKindOf = (s: RequestState) => (s === 'offered' ? 'offer' : s === 'assigned' ? 'assignment' : null);

/**
 * Tables: custody (the chain of custody of a request: one row per assignment, i.e. per
 * fencing number). Written in the unit of work of the lease it mirrors.
 */
export class CustodyRepo extends Repo {
  /** The request's ownership as it stands. */
  request(id: string): Promise<HeldRequest | undefined> {
    return this.q
      .selectFrom('requests')
      .select(['id', 'state', 'fence', 'agent_id', 'queue_id', 'assigned_at', 'channel'])
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /**
   * What `staffId` holds now: assigned requests (calls and chats counted apart, with the
   * chats on a live call) and whether an offer waits.
   */
  async holding(staffId: string): Promise<Holding> {
    const rows = await this.q
      .selectFrom('requests')
      .select(['state', 'channel'])
      .where('agent_id', '=', staffId)
      .where('state', 'in', ['assigned', 'offered'])
      .execute();
    const assigned = rows.filter((x) => x.state === 'assigned');
    const calls = await this.q
      .selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('agent_id', '=', staffId)
      .where('state', '=', 'assigned')
      .where('channel', '=', 'chat')
      .where(onLiveCall)
      .executeTakeFirstOrThrow();
    return {
      assigned: assigned.length > 0,
      offered: rows.some((x) => x.state === 'offered'),
      voice: assigned.filter((x) => x.channel === 'voice').length,
      chat: assigned.filter((x) => x.channel === 'chat').length,
      chatCalls: Number(calls.n),
    };
  }

  /**
   * Move the ownership of a request in one guarded step (REQUEST_LIFECYCLE; an illegal
   * pair throws IllegalTransition before anything is written): the request goes to `to`
   * under the next fencing number while it is still in `from` (state, fence, holder); the
   * old lease and its custody row end with `reason` at `at`, the instant the new lease
   * (and, when assigned, the new custody row) starts. Returns the new fence, or undefined
   * when the guard refused (the request changed meanwhile: of racing moves one wins).
   */
  async move(m: OwnershipMove): Promise<number | undefined> {
    assertTransition(REQUEST_LIFECYCLE, m.from.state, m.to);
    if (m.to !== 'waiting' && m.agentId === undefined)
      throw new Error(`an ownership move to ${m.to} needs agentId`);
    if (m.to === 'offered' && m.offerExpiresAt === undefined)
      throw new Error('a move to offered needs offerExpiresAt');
    if (m.to === 'assigned' && m.how === undefined) throw new Error('a move to assigned needs how');
    let u = this.q.updateTable('requests').set((eb) => ({
      state: m.to,
      fence: eb('fence', '+', 1),
      agent_id: m.to === 'waiting' ? null : m.agentId!,
      offer_expires_at: m.to === 'offered' ? m.offerExpiresAt! : null,
    }));
    if (m.queueId !== undefined) u = u.set({ queue_id: m.queueId });
    u = u.where('id', '=', m.requestId).where('state', '=', m.from.state).where('fence', '=', m.from.fence);
    if (m.from.agentId !== null) u = u.where('agent_id', '=', m.from.agentId);
    const row = await u.returning('fence').executeTakeFirst();
    if (!row) return undefined;
    // The row is ours until the unit ends, and the holding before it has committed: on
    // PostgreSQL units run at once, and the caller's instant may have been read before
    // that commit (a dispatch that waited for its turn). The move's instant is never
    // earlier than now, so the next lease never starts before the previous one ended.
    m = { ...m, at: Math.max(m.at, this.now()) };
    const ended = leaseKindOf(m.from.state);
    if (ended) {
      await this.q
        .updateTable('leases')
        .set({ ended_at: m.at, end_reason: m.reason })
        .where('request_id', '=', m.requestId)
        .where('fence', '=', m.from.fence)
        .where('kind', '=', ended)
        .where('ended_at', 'is', null)
        .execute();
      if (ended === 'assignment') await this.close(m.requestId, m.from.fence, m.reason, m.at);
    }
    const started = leaseKindOf(m.to);
    if (started)
      await this.q
        .insertInto('leases')
        .values({
          request_id: m.requestId,
          fence: row.fence,
          kind: started,
          agent_id: m.agentId!,
          started_at: m.at,
        })
        .execute();
    if (m.to === 'assigned') await this.open(m.requestId, m.agentId!, row.fence, m.how!, m.at);
    return row.fence;
  }

  /** `staffId` holds the request under `fence` from `at` (their role at that moment). A second open of one fence is a no-op. */
  async open(
    requestId: string,
    staffId: string,
    fence: number,
    how: CustodyHow,
    at = this.now(),
  ): Promise<void> {
    await openHolding.affected(this.c, { requestId, staffId, fence, how, at });
  }

  /**
   * open() for the holder of an accepted offer, how they came to it read by the insert: 'reassigned' or
   * 'transfer_blind' when a transfer moved the request to that fence (its latest), else 'accepted'.
   */
  async openForOffer(requestId: string, staffId: string, fence: number, at = this.now()): Promise<void> {
    await openOfferedHolding.affected(this.c, { requestId, staffId, fence, at });
  }

  /** The holding under `fence` ends at `at` (false when it was not open). */
  async close(requestId: string, fence: number, reason: string, at = this.now()): Promise<boolean> {
    return (await closeHolding.affected(this.c, { requestId, fence, reason, at })) > 0;
  }

  /**
   * When the current holding of each of these requests began (its open custody row under
   * the request's fence), by request id: absent when not held under that fence.
   */
  async heldSince(held: readonly { id: string; fence: number }[]): Promise<Map<string, number>> {
    const fences = new Map(held.map((h) => [h.id, h.fence]));
    const rows = await inSlices([...fences.keys()], (part) =>
      this.q
        .selectFrom('custody')
        .select(['request_id', 'fence', 'from_at'])
        .where('request_id', 'in', part)
        .where('until_at', 'is', null)
        .execute(),
    );
    return new Map(
      rows.filter((r) => fences.get(r.request_id) === r.fence).map((r) => [r.request_id, r.from_at]),
    );
  }

  /**
   * "My stats": of `staffId`'s holdings that ended completed at or after `since`, how many
   * and their total length (ms, from the holding's start to the completion).
   */
  async completedBy(staffId: string, since: number): Promise<{ n: number; totalMs: number }> {
    const row = await this.q
      .selectFrom('custody')
      .select((eb) => [
        eb.fn.countAll<number | string>().as('n'),
        eb.fn.sum<number | string | null>(eb('until_at', '-', eb.ref('from_at'))).as('total'),
      ])
      .where('staff_id', '=', staffId)
      .where('end_reason', '=', 'completed')
      .where('until_at', '>=', since)
      .executeTakeFirstOrThrow();
    return { n: Number(row.n), totalMs: Number(row.total ?? 0) };
  }

  /** The chain of a request, by fence. */
  list(requestId: string): Promise<CustodyRow[]> {
    return this.q
      .selectFrom('custody as c')
      .innerJoin('staff as s', 's.id', 'c.staff_id')
      .selectAll('c')
      .select('s.display_name')
      .where('c.request_id', '=', requestId)
      .orderBy('c.fence')
      .execute();
  }

  // ---- who can hold a request (capacity, callbacks) ------------------------------

  /** Agents of staff members who are not disabled, by display name. */
  staffingAgents(): Promise<StaffingAgent[]> {
    return this.q
      .selectFrom('agents as a')
      .innerJoin('staff as s', 's.id', 'a.staff_id')
      .selectAll('a')
      .where('s.disabled_at', 'is', null)
      .orderBy('s.display_name')
      .orderBy('a.staff_id')
      .execute();
  }

  /**
   * The shifts of these staff members, by start: every one, or those that overlap
   * `within` (ending after its start and starting before its end).
   */
  async shiftsOf(
    staffIds: readonly string[],
    within?: { from: number; to: number },
  ): Promise<Map<string, Shift[]>> {
    const out = new Map<string, Shift[]>(staffIds.map((id) => [id, []]));
    const rows = await inSlices(staffIds, (part) => {
      let q = this.q
        .selectFrom('shifts')
        .select(['staff_id', 'starts_at', 'ends_at'])
        .where('staff_id', 'in', part);
      if (within) q = q.where('ends_at', '>', within.from).where('starts_at', '<', within.to);
      return q.orderBy('staff_id').orderBy('starts_at').execute();
    });
    for (const r of rows) out.get(r.staff_id)!.push({ start: r.starts_at, end: r.ends_at });
    return out;
  }

  /**
   * Of these staff members, those with a schedule, and where each stands at `at` (one row
   * per agent, computed by the database: a schedule only grows, routing reads this at
   * every dispatch). Those absent have no schedule.
   */
  async shiftStateOf(staffIds: readonly string[], at: number): Promise<Map<string, ShiftState>> {
    const rows = await inSlices(staffIds, (part) =>
      this.q
        .selectFrom('shifts')
        .select((eb) => [
          'staff_id',
          eb.fn
            .max(
              eb
                .case()
                .when(eb.and([eb('starts_at', '<=', at), eb('ends_at', '>', at)]))
                .then(1)
                .else(0)
                .end(),
            )
            .as('on_shift'),
          eb.fn.max(eb.case().when('ends_at', '>', at).then(1).else(0).end()).as('later'),
        ])
        .where('staff_id', 'in', part)
        .groupBy('staff_id')
        .execute(),
    );
    return new Map(
      rows.map((r) => [r.staff_id, { onShift: Number(r.on_shift) === 1, later: Number(r.later) === 1 }]),
    );
  }

  /** Agents holding an offer now. */
  async offeredAgents(): Promise<Set<string>> {
    const rows = await this.q
      .selectFrom('requests')
      .select('agent_id')
      .where('state', '=', 'offered')
      .execute();
    return new Set(rows.map((x) => x.agent_id).filter((a): a is string => a !== null));
  }

  /**
   * The average of the last 20 measured handling times of a queue's requests of `channel`
   * (calls by default), in seconds (null: none measured).
   */
  async measuredHandleSeconds(queueId: string, channel: 'voice' | 'chat' = 'voice'): Promise<number | null> {
    const rows = await this.q
      .selectFrom('handle_times')
      .select('seconds')
      .where('queue_id', '=', queueId)
      .where('channel', '=', channel)
      .orderBy('at', 'desc')
      .limit(20)
      .execute();
    return rows.length ? rows.reduce((a, r) => a + r.seconds, 0) / rows.length : null;
  }

  /**
   * Waiting requests of a queue: how many, since when the oldest waits, and how many per
   * skills set (JSON text) and channel, ordered by skills then channel.
   */
  async waitingIn(queueId: string): Promise<{
    n: number;
    oldest: number | null;
    groups: { skills: string; channel: 'voice' | 'chat'; n: number }[];
  }> {
    const rows = await this.q
      .selectFrom('requests')
      .select(['skills', 'channel', 'enqueued_at'])
      .where('state', '=', 'waiting')
      .where('queue_id', '=', queueId)
      .execute();
    const groups = new Map<string, { skills: string; channel: 'voice' | 'chat'; n: number }>();
    let oldest: number | null = null;
    for (const r of rows) {
      const key = `${r.skills}\u0000${r.channel}`;
      const g = groups.get(key) ?? { skills: r.skills, channel: r.channel, n: 0 };
      g.n++;
      groups.set(key, g);
      if (oldest === null || r.enqueued_at < oldest) oldest = r.enqueued_at;
    }
    return {
      n: rows.length,
      oldest,
      groups: [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g),
    };
  }

  /** Requests of a queue assigned since `since`, and how many of them within `targetMs` of being enqueued. */
  async answeredSince(queueId: string, since: number, targetMs: number): Promise<{ n: number; ok: number }> {
    const rows = await this.q
      .selectFrom('requests')
      .select(['assigned_at', 'enqueued_at'])
      .where('queue_id', '=', queueId)
      .where('assigned_at', '>=', since)
      .execute();
    return { n: rows.length, ok: rows.filter((r) => r.assigned_at! - r.enqueued_at <= targetMs).length };
  }

  /** Booked callbacks (scheduled, slot mode) of these queues overlapping [start, end), other than `exceptId`. */
  async bookedOver(queues: readonly string[], start: number, end: number, exceptId: string): Promise<number> {
    if (!queues.length) return 0;
    const row = await this.q
      .selectFrom('requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('state', '=', 'scheduled')
      .where('callback_mode', '=', 'slot')
      .where('slot_start', '<', end)
      .where('slot_end', '>', start)
      .where('id', '!=', exceptId)
      .where('queue_id', 'in', queues)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** When the service session of a request ends at the latest (undefined: no such session). */
  async sessionExpiry(sessionId: string): Promise<number | undefined> {
    const row = await this.q
      .selectFrom('service_sessions')
      .select('absolute_expires_at')
      .where('id', '=', sessionId)
      .executeTakeFirst();
    return row?.absolute_expires_at;
  }

  /**
   * Book (or move) a callback slot: `from` (waiting, offered or scheduled) -> scheduled
   * (REQUEST_LIFECYCLE), guarded by state and fence; a due callback gives back `giveBack`
   * priority; an open offer ends ('rescheduled'). False when the guard refused.
   */
  async bookSlot(
    requestId: string,
    from: RequestState,
    fence: number,
    slot: Shift,
    giveBack: number,
    at = this.now(),
  ): Promise<boolean> {
    assertTransition(REQUEST_LIFECYCLE, from, 'scheduled');
    const row = await this.q
      .updateTable('requests')
      .set((eb) => ({
        priority: withoutBoost(eb, giveBack),
        state: 'scheduled',
        callback_mode: 'slot',
        slot_start: slot.start,
        slot_end: slot.end,
        agent_id: null,
        offer_expires_at: null,
        window_from: null,
        window_until: null,
      }))
      .where('id', '=', requestId)
      .where('state', '=', from)
      .where('fence', '=', fence)
      .returning('id')
      .executeTakeFirst();
    if (!row) return false;
    if (from === 'offered')
      await this.q
        .updateTable('leases')
        .set({ ended_at: at, end_reason: 'rescheduled' })
        .where('request_id', '=', requestId)
        .where('fence', '=', fence)
        .where('kind', '=', 'offer')
        .where('ended_at', 'is', null)
        .execute();
    return true;
  }

  /**
   * Keep the place in the queue (optionally only within a window): a scheduled callback
   * goes back to waiting (REQUEST_LIFECYCLE), a waiting or offered one keeps its state; a
   * due callback gives back `giveBack` priority. Guarded by state and fence.
   */
  async keepPlace(
    requestId: string,
    from: RequestState,
    fence: number,
    window: { from: number; until: number } | null,
    giveBack: number,
  ): Promise<boolean> {
    const to: RequestState = from === 'scheduled' ? 'waiting' : from;
    assertTransition(REQUEST_LIFECYCLE, from, to);
    const row = await this.q
      .updateTable('requests')
      .set((eb) => ({
        priority: withoutBoost(eb, giveBack),
        state: to,
        callback_mode: 'keep_place',
        slot_start: null,
        slot_end: null,
        window_from: window?.from ?? null,
        window_until: window?.until ?? null,
      }))
      .where('id', '=', requestId)
      .where('state', '=', from)
      .where('fence', '=', fence)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }
}

/** The priority without a due callback's boost: `giveBack` off a slot callback already back in the queue. */
function withoutBoost(eb: ExpressionBuilder<Database, 'requests'>, giveBack: number) {
  return eb(
    'priority',
    '-',
    eb
      .case()
      .when(eb.and([eb('callback_mode', '=', 'slot'), eb('state', 'in', ['waiting', 'offered'])]))
      .then(giveBack)
      .else(0)
      .end(),
  );
}
