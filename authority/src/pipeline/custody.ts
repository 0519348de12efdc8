import type { CustodyEntry, CustodyHow, StaffRole } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';

/**
 * The chain of custody of a request: one row per assignment (one fencing number), who
 * held it, in which role, how they came to hold it, from when until when. Written
 * in the same unit of work as the lease it mirrors: converted code uses
 * `r.custody.open / close / howForOffer / move` (repos/custody.ts) inside its unit.
 */
export class Custody {
  constructor(private readonly ctx: Ctx) {}

  // legacy-sync: called inside pipeline.ts's transaction; goes when that module moves (use r.custody.open)
  open(requestId: string, staffId: string, fence: number, how: CustodyHow, at: number): void {
    const role =
      this.ctx.db.prepare<[string], { role: StaffRole }>('SELECT role FROM staff WHERE id = ?').get(staffId)
        ?.role ?? 'agent';
    this.ctx.db
      .prepare(
        'INSERT OR IGNORE INTO custody (request_id, staff_id, role, fence, how, from_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(requestId, staffId, role, fence, how, at);
  }

  // legacy-sync: called inside pipeline.ts's transaction; goes when that module moves (use r.custody.close)
  close(requestId: string, fence: number, reason: string, at: number): void {
    this.ctx.db
      .prepare(
        'UPDATE custody SET until_at = ?, end_reason = ? WHERE request_id = ? AND fence = ? AND until_at IS NULL',
      )
      .run(at, reason, requestId, fence);
  }

  // legacy-sync: called inside pipeline.ts's transaction; goes when that module moves (use r.custody.howForOffer)
  /** How the holder of an accepted offer came to it: a blind transfer or a reassign names that fence; otherwise from the queue. */
  howForOffer(requestId: string, fence: number): CustodyHow {
    const t = this.ctx.db
      .prepare<[string, number], { kind: string }>(
        'SELECT kind FROM transfers WHERE request_id = ? AND to_fence = ? ORDER BY created_at DESC LIMIT 1',
      )
      .get(requestId, fence);
    if (!t) return 'accepted';
    return t.kind === 'reassign' ? 'reassigned' : 'transfer_blind';
  }

  async list(requestId: string): Promise<CustodyEntry[]> {
    return (await this.ctx.data.read.custody.list(requestId)).map((r) => ({
      staffId: r.staff_id,
      displayName: r.display_name,
      role: r.role as StaffRole,
      fence: r.fence,
      how: r.how,
      from: iso(r.from_at),
      until: r.until_at === null ? null : iso(r.until_at),
      endReason: r.end_reason,
    }));
  }
}
