import type { RequestView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { AuthenticationRow } from '../store/repos/authentications.ts';
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
  auths: Map<string, AuthenticationRow>;
  /** Of the assigned requests, when their current holder's custody began (ms), by request id. */
  heldSince: Map<string, number>;
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

  /** What views of these rows need from customers, staff and authentications, in a few queries. */
  async viewContext(rows: readonly RequestRow[]): Promise<ViewContext> {
    const read = this.ctx.data.read;
    return {
      auths: await read.authentications.many(rows.map((r) => r.authentication_id)),
      customerNames: await read.customers.displayNames(rows.map((r) => r.customer_id)),
      agentNames: await read.staff.displayNames(
        rows.map((r) => r.agent_id).filter((a): a is string => a !== null),
      ),
      heldSince: await read.custody.heldSince(rows.filter((r) => r.state === 'assigned')),
    };
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
