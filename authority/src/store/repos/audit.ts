import type { AuditEntry } from '../../audit/audit-log.ts';
import type { AuditVerification } from '../../audit/audit-log.ts';
import { appendAuditRow, verifyStoreAuditChain } from '../audit-chain.ts';
import type { Tx } from '../engine.ts';
import { Repo } from './base.ts';

/** Table: audit_log (append-only, hash-chained; see audit-chain.ts). */
export class AuditRepo extends Repo {
  /**
   * Append inside this unit of work: the row commits with the change it records or not
   * at all. On PostgreSQL this takes the chain's advisory lock until the commit: append
   * last in a unit.
   */
  append(e: AuditEntry): Promise<number> {
    if (!this.c.writable) throw new Error('audit rows are appended inside a unit of work (data.tx)');
    return appendAuditRow(this.q as Tx, this.c.engine, this.c.clock, e);
  }

  /** Walk the hash chain (committed rows, in pages): intact, or the first broken row. */
  verify(): Promise<AuditVerification> {
    return verifyStoreAuditChain(this.q);
  }
}
