import type { AuditEntry } from '../../audit/audit-log.ts';
import type { AuditVerification } from '../../audit/audit-log.ts';
import { appendAuditRow, verifyStoreAuditChain, type AuditHead } from '../audit-chain.ts';
import type { Tx } from '../engine.ts';
import { Repo } from './base.ts';

/** Table: audit_log (append-only, hash-chained; see audit-chain.ts). */
export class AuditRepo extends Repo {
  /** The row this unit appended last (a repository lives as long as its unit): the chain's head. */
  private head: AuditHead | undefined;

  /**
   * Append inside this unit of work: the row commits with the change it records or not
   * at all. On PostgreSQL this takes the chain's advisory lock until the commit: append
   * last in a unit. A unit's next row follows its previous one without reading the head.
   */
  async append(e: AuditEntry): Promise<number> {
    if (!this.c.writable) throw new Error('audit rows are appended inside a unit of work (data.tx)');
    this.head = await appendAuditRow(this.q as Tx, this.c.engine, this.c.clock, e, this.head);
    return this.head.seq;
  }

  /** Walk the hash chain (committed rows, in pages): intact, or the first broken row. */
  verify(): Promise<AuditVerification> {
    return verifyStoreAuditChain(this.q);
  }
}
