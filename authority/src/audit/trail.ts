import type { Ctx } from '../context.ts';
import type { AuditEntry, AuditVerification } from './audit-log.ts';

/**
 * The audit trail as the HTTP layer and services use it beside the success rows every
 * service appends in its own unit (`r.audit.append`): refusals and verification.
 */
export class AuditTrail {
  constructor(private readonly ctx: Ctx) {}

  /**
   * The audit row of a refused action. A refusal is thrown from inside the unit of work
   * that would have held the action's own audit row, and that unit is rolled back; the
   * refusal is written here, in a unit of its own, after it.
   */
  async refused(entry: Omit<AuditEntry, 'outcome'>): Promise<void> {
    await this.ctx.data.statement((r) => r.audit.append({ ...entry, outcome: 'failure' }));
  }

  /** Walk the hash chain of committed rows: intact, or the first broken row. */
  verify(): Promise<AuditVerification> {
    return this.ctx.data.read.audit.verify();
  }
}
