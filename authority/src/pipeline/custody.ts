import type { CustodyEntry, CustodyHow, StaffRole } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';

interface CustodyRow {
  request_id: string;
  staff_id: string;
  role: StaffRole;
  fence: number;
  how: CustodyHow;
  from_at: number;
  until_at: number | null;
  end_reason: string | null;
  display_name: string;
}

/**
 * The chain of custody of a request: one row per assignment (one fencing number), who
 * held it, in which role, how they came to hold it, from when until when. Written
 * in the same transaction as the lease it mirrors.
 */
export class Custody {
  constructor(private readonly ctx: Ctx) {}

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

  close(requestId: string, fence: number, reason: string, at: number): void {
    this.ctx.db
      .prepare(
        'UPDATE custody SET until_at = ?, end_reason = ? WHERE request_id = ? AND fence = ? AND until_at IS NULL',
      )
      .run(at, reason, requestId, fence);
  }

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
    return this.ctx.db
      .prepare<[string], CustodyRow>(
        'SELECT c.*, s.display_name FROM custody c JOIN staff s ON s.id = c.staff_id WHERE c.request_id = ? ORDER BY c.fence',
      )
      .all(requestId)
      .map((r) => ({
        staffId: r.staff_id,
        displayName: r.display_name,
        role: r.role,
        fence: r.fence,
        how: r.how,
        from: iso(r.from_at),
        until: r.until_at === null ? null : iso(r.until_at),
        endReason: r.end_reason,
      }));
  }
}
