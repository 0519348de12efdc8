import type { CustodyEntry, StaffRole } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';

/**
 * The chain of custody of a request: one row per assignment (one fencing number), who
 * held it, in which role, how they came to hold it, from when until when. Written
 * in the same unit of work as the lease it mirrors: converted code uses
 * `r.custody.open / openForOffer / close / move` (repos/custody.ts) inside its unit.
 */
export class Custody {
  constructor(private readonly ctx: Ctx) {}

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
