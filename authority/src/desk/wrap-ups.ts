import type { WrapUpRequest } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError } from '../errors.ts';
import { MOVED_REASONS } from '../pipeline/ownership.ts';
import { randomId } from '../ids.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { WrapUpRow } from '../store/repos/wrap-ups.ts';
import { validDisposition } from './panel.ts';

/**
 * Wrap-ups arrive from the console's outbox, possibly more than once: the idempotency
 * key makes the first write the only one (also between concurrent replays: the insert
 * decides, in the unit that checks the lease), and every replay gets the same answer.
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
    const replay = (existing: WrapUpRow) => {
      if (existing.agent_id !== staffId || existing.request_id !== requestId)
        throw conflict('idempotency key already used for another wrap-up');
      return { wrapUpId: existing.id, duplicate: true, receivedAt: existing.received_at };
    };
    const known = await this.ctx.data.read.wrapUps.byKey(w.idempotencyKey);
    if (known) return replay(known);
    if (!validDisposition(this.pipeline.config.config.dispositions, w.disposition))
      throw badRequest(`unknown disposition ${w.disposition.join(' > ')}`);
    const now = this.ctx.clock.now();
    // The lease check, the insert (first write per key wins) and its audit row: one unit.
    const out = await this.ctx.data.tx(async (r) => {
      const held = await r.wrapUps.assignment(requestId, w.fence, staffId);
      if (!held)
        throw conflict('a wrap-up comes from the agent who handled the request under that fencing number');
      if (held.end_reason !== null && (MOVED_REASONS as readonly string[]).includes(held.end_reason))
        throw new DomainError(
          'conflict',
          'stale_fence',
          `the request moved on (${held.end_reason}) under fencing number ${w.fence}: its wrap-up belongs to the new holder`,
        );
      const { row, inserted } = await r.wrapUps.insert({
        id: randomId(16),
        idempotency_key: w.idempotencyKey,
        request_id: requestId,
        agent_id: staffId,
        fence: w.fence,
        disposition: JSON.stringify(w.disposition),
        notes: w.notes,
        received_at: now,
      });
      if (inserted) {
        await r.audit.append({
          actor: `staff:${staffId}`,
          action: 'wrapup.record',
          subject: `request:${requestId}`,
          outcome: 'success',
          data: { disposition: w.disposition },
        });
        await r.outbox.emit('wrapup.saved', { requestId, wrapUpId: row.id, agentId: staffId });
      }
      return { row, inserted };
    });
    if (!out.inserted) return replay(out.row);
    await this.pipeline.wrapUpRecorded(staffId);
    return { wrapUpId: out.row.id, duplicate: false, receivedAt: now };
  }
}
