import type { RequestState, RequestView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';

export interface RequestRow {
  id: string;
  session_id: string;
  customer_id: string;
  device_id: string | null;
  authentication_id: string;
  option_id: string;
  option_label: string;
  queue_id: string;
  skills: string;
  required_level: number;
  priority: number;
  enqueued_at: number;
  state: RequestState;
  fence: number;
  agent_id: string | null;
  offer_expires_at: number | null;
  assigned_at: number | null;
  ended_at: number | null;
  end_reason: string | null;
  callback_mode: 'keep_place' | 'slot';
  window_from: number | null;
  window_until: number | null;
  slot_start: number | null;
  slot_end: number | null;
  idempotency_key: string | null;
}

/** States in which a request still waits for, or is held by, an agent. */
export const LIVE_STATES = ['waiting', 'offered', 'assigned', 'scheduled'] as const;

/** Queue order: priority first, then waiting time. Every ordered read uses this clause. */
export const QUEUE_ORDER = 'priority DESC, enqueued_at ASC, id ASC';

/** Reads of service requests and their views. Writes live in the Pipeline, each one guarded by state and fence. */
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

  /** Waiting requests of some queues in queue order. */
  async waiting(queues: readonly string[] | null, limit = 10_000): Promise<RequestRow[]> {
    if (queues && queues.length === 0) return [];
    const inQueues = queues ? `AND queue_id IN (${queues.map(() => '?').join(',')})` : '';
    return this.ctx.db
      .prepare<unknown[], RequestRow>(
        `SELECT * FROM requests WHERE state = 'waiting' ${inQueues} ORDER BY ${QUEUE_ORDER} LIMIT ?`,
      )
      .all(...(queues ?? []), limit);
  }

  /** Live (not finished) requests, for snapshots. */
  async live(queues: readonly string[] | null, limit = 20_000): Promise<RequestRow[]> {
    if (queues && queues.length === 0) return [];
    const inQueues = queues ? `AND queue_id IN (${queues.map(() => '?').join(',')})` : '';
    return this.ctx.db
      .prepare<unknown[], RequestRow>(
        `SELECT * FROM requests WHERE state IN ('waiting','offered','assigned','scheduled') ${inQueues} ORDER BY ${QUEUE_ORDER} LIMIT ?`,
      )
      .all(...(queues ?? []), limit);
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
