import { sql } from 'kysely';
import {
  auditFields,
  canonicalMiddle,
  GENESIS_HASH,
  rowHash,
  type AuditEntry,
  type AuditFields,
  type AuditVerification,
} from '../audit/audit-log.ts';
import type { Clock } from '../clock.ts';
import type { Engine, Store, Tx } from './engine.ts';
import { prepared } from './prepared.ts';
import type { AuditLogTable, Database } from './schema.ts';
import type { Insertable, Kysely } from 'kysely';

/**
 * The audit hash chain on the store, either engine. Rows and hashes are exactly those of
 * audit/audit-log.ts (its rowHash, its genesis), so one chain can be continued by either
 * and checked by either verifier.
 *
 * append() runs inside the caller's unit of work: the audit row commits with the change
 * it records, or not at all. seq is the previous row's + 1 without races: on SQLite the
 * single writer runs one unit at a time; on PostgreSQL the unit first takes
 * `pg_advisory_xact_lock(VD, audit chain)`, held until its commit, so the next appender
 * reads the head only after this one is committed (READ COMMITTED: each statement sees
 * what was committed before it started). Appenders therefore queue from their append to
 * their commit. On PostgreSQL the lock, the head and the insert are one call of
 * `vd_audit_append` (schema version 37). The repositories' units (repos/audit.ts) do not
 * call it where they append: they stage their rows, and the COMMIT's trigger appends them
 * (unit-writes.ts, version 38), so the lock is held for the commit alone; append() here
 * appends at once, holding it from there to the commit.
 */
/** The chain's last row: its seq and hash. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/** vd_audit_append's arguments for entry `e` at `at` (its call here, or a unit's staged rows: unit-writes.ts). */
export type PostgresAuditArgs = AuditFields & { at: number; middle: string };
export function postgresAuditArgs(e: AuditEntry, at: number): PostgresAuditArgs {
  const fields = auditFields(e);
  return { at, ...fields, middle: canonicalMiddle(fields) };
}

/**
 * Append `e` to the chain inside unit `t` (see StoreAuditLog); returns the row's seq and
 * hash. `head` (SQLite): the row this unit appended last, when it appended one: it is
 * still the chain's head (the unit holds the writer until its commit), so it is not read
 * again. On PostgreSQL one call does it all (the lock is taken again: a no-op in a unit
 * that holds it).
 */
export async function appendAuditRow(
  t: Tx,
  engine: Engine,
  clock: Clock,
  e: AuditEntry,
  head?: AuditHead,
): Promise<AuditHead> {
  const at = clock.now();
  if (engine === 'postgres') {
    const row = (await appendOnPostgres.first({ q: t, engine }, postgresAuditArgs(e, at)))!;
    return { seq: row.o_seq, hash: row.o_hash };
  }
  const fields = auditFields(e);
  const prev = head ?? (await chainHead.first({ q: t, engine }, {}));
  const row = { seq: (prev?.seq ?? 0) + 1, at, ...fields, prev_hash: prev?.hash ?? GENESIS_HASH };
  const hash = rowHash(row);
  await insertRow.affected({ q: t, engine }, { ...row, hash });
  return { seq: row.seq, hash };
}

// Compiled once (prepared.ts): every unit that records something runs them.
const appendOnPostgres = prepared((q, p: PostgresAuditArgs) =>
  q
    .selectFrom(
      sql<{
        o_seq: number;
        o_hash: string;
      }>`vd_audit_append(${p.at}, ${p.actor}, ${p.action}, ${p.subject}, ${p.outcome}, ${p.reason}, ${p.data}, ${p.middle})`.as(
        'a',
      ),
    )
    .select(['a.o_seq', 'a.o_hash']),
);
const chainHead = prepared((q) =>
  q.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1),
);
const insertRow = prepared((q, p: Insertable<AuditLogTable> & Record<string, unknown>) =>
  q.insertInto('audit_log').values({
    seq: p.seq,
    at: p.at,
    actor: p.actor,
    action: p.action,
    subject: p.subject,
    outcome: p.outcome,
    reason: p.reason,
    data: p.data,
    prev_hash: p.prev_hash,
    hash: p.hash,
  }),
);

export class StoreAuditLog {
  constructor(
    private readonly store: Pick<Store, 'engine' | 'tx'>,
    private readonly clock: Clock,
  ) {}

  /** Append `e` inside unit `t`; returns its seq. */
  async append(t: Tx, e: AuditEntry): Promise<number> {
    return (await appendAuditRow(t, this.store.engine, this.clock, e)).seq;
  }

  /** An audit row in a unit of its own (a refusal whose reason is the point, with nothing else to commit). */
  appendAlone(e: AuditEntry): Promise<number> {
    return this.store.tx((t) => this.append(t, e));
  }
}

/** Walk the chain from the first row, in pages; report the first row whose hash or link is wrong. */
export async function verifyStoreAuditChain(
  db: Kysely<Database>,
  pageSize = 1000,
): Promise<AuditVerification> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let rows = 0;
  for (;;) {
    const page = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>=', expectedSeq)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const r of page) {
      rows++;
      if (r.seq !== expectedSeq)
        return { ok: false, rows, firstBrokenSeq: expectedSeq, reason: `row ${expectedSeq} is missing` };
      if (r.prev_hash !== prevHash)
        return {
          ok: false,
          rows,
          firstBrokenSeq: r.seq,
          reason: 'prev_hash does not match the previous row',
        };
      const { hash, ...rest } = r;
      if (rowHash(rest) !== hash)
        return { ok: false, rows, firstBrokenSeq: r.seq, reason: 'row content does not match its hash' };
      prevHash = hash;
      expectedSeq++;
    }
    if (page.length < pageSize) return { ok: true, rows, firstBrokenSeq: null, reason: null };
  }
}
