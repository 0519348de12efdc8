import type { RequestView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { RequestRow } from '../store/repos/requests.ts';

export type { RequestRow } from '../store/repos/requests.ts';
export { LIVE_STATES } from '../store/repos/requests.ts';

/** Queue order: priority first, then waiting time (repos/requests.ts orders every read so). */
export const QUEUE_ORDER = 'priority DESC, enqueued_at ASC, id ASC';

/**
 * Reads of service requests and their views. Writes live in the Pipeline, each one the
 * guarded transition of repos/requests.ts. The synchronous reads (get, bySession,
 * offerOf, assignedTo, position, view) are legacy-sync: relay, desk, calls, transfers
 * and app.ts call them without awaiting (and requestView/agentView build on them); they
 * go when those callers are async.
 */
export class RequestStore {
  constructor(private readonly ctx: Ctx) {}

  get(id: string): RequestRow | undefined {
    return this.ctx.db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE id = ?').get(id);
  }

  bySession(sessionId: string): RequestRow | undefined {
    return this.ctx.db
      .prepare<[string], RequestRow>('SELECT * FROM requests WHERE session_id = ?')
      .get(sessionId);
  }

  offerOf(agentId: string): RequestRow | undefined {
    return this.ctx.db
      .prepare<[string], RequestRow>("SELECT * FROM requests WHERE agent_id = ? AND state = 'offered'")
      .get(agentId);
  }

  assignedTo(agentId: string): RequestRow | undefined {
    return this.ctx.db
      .prepare<[string], RequestRow>(
        "SELECT * FROM requests WHERE agent_id = ? AND state = 'assigned' ORDER BY assigned_at DESC LIMIT 1",
      )
      .get(agentId);
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
  position(r: RequestRow): number | null {
    if (r.state !== 'waiting') return null;
    const ahead = this.ctx.db
      .prepare<unknown[], { n: number }>(
        `SELECT count(*) AS n FROM requests WHERE state = 'waiting' AND queue_id = ?
         AND (priority > ? OR (priority = ? AND (enqueued_at < ? OR (enqueued_at = ? AND id < ?))))`,
      )
      .get(r.queue_id, r.priority, r.priority, r.enqueued_at, r.enqueued_at, r.id)!;
    return ahead.n + 1;
  }

  view(
    r: RequestRow,
    position: number | null,
    estimatedWaitSeconds: number | null,
    level: number,
  ): RequestView {
    const customer = this.ctx.db
      .prepare<[string], { display_name: string }>('SELECT display_name FROM customers WHERE id = ?')
      .get(r.customer_id)!;
    return {
      requestId: r.id,
      sessionId: r.session_id,
      customerId: r.customer_id,
      customerName: customer.display_name,
      queueId: r.queue_id,
      optionId: r.option_id,
      optionLabel: r.option_label,
      level: level as RequestView['level'],
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
      agentName: r.agent_id
        ? (this.ctx.db
            .prepare<[string], { display_name: string }>('SELECT display_name FROM staff WHERE id = ?')
            .get(r.agent_id)?.display_name ?? null)
        : null,
    };
  }
}
