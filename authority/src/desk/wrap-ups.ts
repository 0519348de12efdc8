import type { WrapUpRequest } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError } from '../errors.ts';
import { MOVED_REASONS } from '../pipeline/ownership.ts';
import { randomId } from '../ids.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { validDisposition } from './panel.ts';

/**
 * Wrap-ups arrive from the console's outbox, possibly more than once: the idempotency
 * key makes the first write the only one, and every replay gets the same answer.
 */
export class WrapUps {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
  ) {}

  async record(
    staffId: string,
    requestId: string,
    w: WrapUpRequest,
  ): Promise<{ wrapUpId: string; duplicate: boolean; receivedAt: number }> {
    const existing = this.ctx.db
      .prepare<[string], { id: string; agent_id: string; request_id: string; received_at: number }>(
        'SELECT id, agent_id, request_id, received_at FROM wrap_ups WHERE idempotency_key = ?',
      )
      .get(w.idempotencyKey);
    if (existing) {
      if (existing.agent_id !== staffId || existing.request_id !== requestId)
        throw conflict('idempotency key already used for another wrap-up');
      return { wrapUpId: existing.id, duplicate: true, receivedAt: existing.received_at };
    }
    if (!validDisposition(this.pipeline.config.config.dispositions, w.disposition))
      throw badRequest(`unknown disposition ${w.disposition.join(' > ')}`);
    const held = this.ctx.db
      .prepare<[string, number, string], { end_reason: string | null }>(
        "SELECT end_reason FROM leases WHERE request_id = ? AND fence = ? AND agent_id = ? AND kind = 'assignment'",
      )
      .get(requestId, w.fence, staffId);
    if (!held)
      throw conflict('a wrap-up comes from the agent who handled the request under that fencing number');
    if (held.end_reason !== null && (MOVED_REASONS as readonly string[]).includes(held.end_reason))
      throw new DomainError(
        'conflict',
        'stale_fence',
        `the request moved on (${held.end_reason}) under fencing number ${w.fence}: its wrap-up belongs to the new holder`,
      );
    const id = randomId(16);
    const now = this.ctx.clock.now();
    this.ctx.db
      .prepare(
        'INSERT INTO wrap_ups (id, idempotency_key, request_id, agent_id, fence, disposition, notes, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, w.idempotencyKey, requestId, staffId, w.fence, JSON.stringify(w.disposition), w.notes, now);
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'wrapup.record',
      subject: `request:${requestId}`,
      outcome: 'success',
      data: { disposition: w.disposition },
    });
    this.pipeline.wrapUpRecorded(staffId);
    return { wrapUpId: id, duplicate: false, receivedAt: now };
  }
}
