import type { AuditEntry } from '../../audit/audit-log.ts';
import type { AuditVerification } from '../../audit/audit-log.ts';
import { appendAuditRow, postgresAuditArgs, verifyStoreAuditChain, type AuditHead } from '../audit-chain.ts';
import type { Tx } from '../engine.ts';
import { Repo } from './base.ts';

/** Table: audit_log (append-only, hash-chained; see audit-chain.ts). */
export class AuditRepo extends Repo {
  /** The row this unit appended last (a repository lives as long as its unit): the chain's head. */
  private head: AuditHead | undefined;

  /**
   * Append inside this unit of work: the row commits with the change it records or not
   * at all. On PostgreSQL it is staged by the unit's last statement and written by its
   * COMMIT's trigger, its seq given then (unit-writes.ts: the chain's lock is held inside
   * the commit only). On SQLite it is written now; a unit's next row follows its previous
   * one without reading the head.
   */
  async append(e: AuditEntry): Promise<void> {
    if (!this.c.writable) throw new Error('audit rows are appended inside a unit of work (data.tx)');
    if (this.c.later) return this.c.later.addAudit(postgresAuditArgs(e, this.now()));
    this.head = await appendAuditRow(this.q as Tx, this.c.engine, this.c.clock, e, this.head);
  }

  /** Walk the hash chain (committed rows, in pages): intact, or the first broken row. */
  verify(): Promise<AuditVerification> {
    return verifyStoreAuditChain(this.q);
  }
}
