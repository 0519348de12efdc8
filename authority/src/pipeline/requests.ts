import type { RequestView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { AuthenticationRow } from '../store/repos/authentications.ts';
import type { PhoneCallbackRow } from '../store/repos/phone-callbacks.ts';
import type { PhoneCallWithCaller } from '../store/repos/phone-calls.ts';
import type { RequestRow } from '../store/repos/requests.ts';

export type { RequestRow } from '../store/repos/requests.ts';
export { LIVE_STATES } from '../store/repos/requests.ts';

/** Queue order: priority first, then waiting time (repos/requests.ts orders every read so). */
export const QUEUE_ORDER = 'priority DESC, enqueued_at ASC, id ASC';

/** The parts of a request's view that come from other aggregates, read once for many rows. */
export interface ViewContext {
  customerNames: Map<string, string>;
  agentNames: Map<string, string>;
  /** The requests' authentications (level, expiry) by id. */
  auths: Map<string, Pick<AuthenticationRow, 'level' | 'expires_at'>>;
  /** Of the assigned requests, when their current holder's custody began (ms), by request id. */
  heldSince: Map<string, number>;
  /** Calls from the phone network, by request id: what the caller ID says comes with them ... */
  phones: Map<string, PhoneCallWithCaller>;
  /** ... and when the verification link was last texted to the number calling (requests with a call). */
  links: Map<string, number>;
  /** Callbacks to a phone number, by request id: the number and whether the call went out. */
  callbacks: Map<string, PhoneCallbackRow>;
  /** The requests' devices: when each was last seen (absent: never), and those with a push subscription. */
  lastSeen: Map<string, number>;
  wakeable: Set<string>;
}

/**
 * Reads of service requests and their views (committed data: `ctx.data.read`). Writes
 * live in the Pipeline, each one the guarded transition of repos/requests.ts; inside a
 * unit, the pipeline reads through the unit's repositories instead.
 */
export class RequestStore {
  constructor(private readonly ctx: Ctx) {}

  get(id: string): Promise<RequestRow | undefined> {
    return this.ctx.data.read.requests.get(id);
  }

  bySession(sessionId: string): Promise<RequestRow | undefined> {
    return this.ctx.data.read.requests.bySession(sessionId);
  }

  many(ids: readonly string[]): Promise<RequestRow[]> {
    return this.ctx.data.read.requests.many(ids);
  }

  bySessions(sessionIds: readonly string[]): Promise<RequestRow[]> {
    return this.ctx.data.read.requests.bySessions(sessionIds);
  }

  offerOf(agentId: string): Promise<RequestRow | undefined> {
    return this.ctx.data.read.requests.offerOf(agentId);
  }

  assignedTo(agentId: string): Promise<RequestRow | undefined> {
    return this.ctx.data.read.requests.assignedTo(agentId);
  }

  /** Waiting requests of some queues in queue order (committed data). */
  async waiting(queues: readonly string[] | null, limit = 10_000): Promise<RequestRow[]> {
    return await this.ctx.data.read.requests.waiting(queues, limit);
  }

  /** Live (not finished) requests, for snapshots (committed data). */
  async live(queues: readonly string[] | null, limit = 20_000): Promise<RequestRow[]> {
    return await this.ctx.data.read.requests.live(queues, limit);
  }

  /** 1-based position among waiting requests of its queue (null when not waiting). */
  position(r: RequestRow): Promise<number | null> {
    return this.ctx.data.read.requests.position(r);
  }

  /**
   * What views of these rows need from other tables: one query for the rows whose stored
   * keys (customer, agent, authentication, device, fence) are those of the row viewed, as
   * when a unit views the row it committed; a row that changed since it was read (or is
   * gone) has its parts read by those keys, table by table, as before.
   */
  async viewContext(rows: readonly RequestRow[]): Promise<ViewContext> {
    const read = this.ctx.data.read;
    const vc: ViewContext = {
      customerNames: new Map(),
      agentNames: new Map(),
      auths: new Map(),
      heldSince: new Map(),
      phones: new Map(),
      links: new Map(),
      callbacks: new Map(),
      lastSeen: new Map(),
      wakeable: new Set(),
    };
    const parts = new Map((await read.requests.viewPartsOf(rows.map((r) => r.id))).map((p) => [p.id, p]));
    const others: RequestRow[] = [];
    for (const r of rows) {
      const p = parts.get(r.id);
      if (
        !p ||
        p.customer_id !== r.customer_id ||
        p.agent_id !== r.agent_id ||
        p.authentication_id !== r.authentication_id ||
        p.device_id !== r.device_id ||
        Number(p.fence) !== Number(r.fence)
      ) {
        others.push(r);
        continue;
      }
      if (p.customer_name !== null) vc.customerNames.set(r.customer_id, p.customer_name);
      if (r.agent_id !== null && p.agent_name !== null) vc.agentNames.set(r.agent_id, p.agent_name);
      if (p.auth_id !== null)
        vc.auths.set(r.authentication_id, { level: p.auth_level!, expires_at: p.auth_expires_at! });
      if (r.state === 'assigned' && p.held_since !== null) vc.heldSince.set(r.id, p.held_since);
      if (p.p_request_id !== null) {
        vc.phones.set(r.id, {
          request_id: p.p_request_id,
          sip_call_id: p.p_sip_call_id!,
          caller: p.p_caller,
          dialled: p.p_dialled!,
          recognition: p.p_recognition!,
          sip_server: p.p_sip_server,
          created_at: p.p_created_at!,
          ended_at: p.p_ended_at,
          end_reason: p.p_end_reason,
          identified_by: p.p_identified_by,
          identified_at: p.p_identified_at,
          unknown_caller: p.customer_kind === 'unknown_caller',
        });
        if (p.link_at !== null) vc.links.set(r.id, Number(p.link_at));
      }
      if (p.b_request_id !== null)
        vc.callbacks.set(r.id, {
          request_id: p.b_request_id,
          number: p.b_number!,
          booked_by: p.b_booked_by!,
          booked_at: p.b_booked_at!,
          placed_at: p.b_placed_at,
          placed_count: p.b_placed_count!,
          sip_call_id: p.b_sip_call_id,
          ended_at: p.b_ended_at,
          end_reason: p.b_end_reason,
          end_status: p.b_end_status,
        });
      if (p.d_id !== null) {
        if (p.last_seen_at !== null) vc.lastSeen.set(p.d_id, p.last_seen_at);
        if (p.push !== null) vc.wakeable.add(p.d_id);
      }
    }
    if (others.length) await this.readContext(others, vc);
    return vc;
  }

  /** viewContext() table by table, for rows that changed since they were read. */
  private async readContext(rows: readonly RequestRow[], vc: ViewContext): Promise<void> {
    const read = this.ctx.data.read;
    const ids = rows.map((r) => r.id);
    for (const [k, v] of await read.authentications.many(rows.map((r) => r.authentication_id)))
      vc.auths.set(k, v);
    for (const [k, v] of await read.customers.displayNames(rows.map((r) => r.customer_id)))
      vc.customerNames.set(k, v);
    const agents = rows.map((r) => r.agent_id).filter((a): a is string => a !== null);
    for (const [k, v] of await read.staff.displayNames(agents)) vc.agentNames.set(k, v);
    for (const [k, v] of await read.custody.heldSince(rows.filter((r) => r.state === 'assigned')))
      vc.heldSince.set(k, v);
    const phones = await read.phoneCalls.ofRequests(ids);
    for (const [k, v] of phones) vc.phones.set(k, v);
    for (const [k, v] of await read.verificationLinks.latestOf([...phones.keys()])) vc.links.set(k, v);
    for (const [k, v] of await read.phoneCallbacks.ofRequests(ids)) vc.callbacks.set(k, v);
    const devices = rows.map((r) => r.device_id).filter((d): d is string => d !== null);
    const { lastSeen, wakeable } = await read.push.reachOf(devices);
    for (const [k, v] of lastSeen) vc.lastSeen.set(k, v);
    for (const d of wakeable) vc.wakeable.add(d);
  }

  view(
    r: RequestRow,
    position: number | null,
    estimatedWaitSeconds: number | null,
    vc: ViewContext,
  ): RequestView {
    return {
      requestId: r.id,
      sessionId: r.session_id,
      customerId: r.customer_id,
      customerName: vc.customerNames.get(r.customer_id) ?? '',
      queueId: r.queue_id,
      optionId: r.option_id,
      optionLabel: r.option_label,
      level: (vc.auths.get(r.authentication_id)?.level ?? 0) as RequestView['level'],
      requiredLevel: r.required_level as RequestView['level'],
      priority: r.priority,
      state: r.state,
      enqueuedAt: iso(r.enqueued_at),
      position,
      estimatedWaitSeconds,
      callback:
        r.callback_mode === 'slot' && r.slot_start !== null && r.slot_end !== null
          ? { mode: 'slot', slotStart: iso(r.slot_start), slotEnd: iso(r.slot_end) }
          : {
              mode: 'keep_place',
              window:
                r.window_from !== null && r.window_until !== null
                  ? { from: iso(r.window_from), until: iso(r.window_until) }
                  : null,
            },
      fence: r.fence,
      agentId: r.agent_id,
      offerExpiresAt: r.state === 'offered' && r.offer_expires_at !== null ? iso(r.offer_expires_at) : null,
      agentName: r.agent_id ? (vc.agentNames.get(r.agent_id) ?? null) : null,
      heldSince: r.state === 'assigned' && vc.heldSince.has(r.id) ? iso(vc.heldSince.get(r.id)!) : null,
      verifyOnCall: r.verify_on_call === 1,
      // voice when absent (the protocol's default): a voice request's view is as before
      ...(r.channel === 'chat' ? { channel: 'chat' as const } : {}),
    };
  }
}
