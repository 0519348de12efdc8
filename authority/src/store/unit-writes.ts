import { sql } from 'kysely';
import type { PostgresAuditArgs } from './audit-chain.ts';
import { prepared, type PreparedTarget } from './prepared.ts';

/**
 * PostgreSQL: the audit rows and outbox events a unit of work appends, written at its
 * COMMIT instead of where the unit asked for them. The unit's last statement stages them
 * (`vd_unit_flush`, schema version 38: a row of the unlogged table unit_writes, no lock);
 * that row's deferred trigger runs inside the COMMIT and writes them.
 *
 * Both take the audit chain's advisory lock (the chain's order, and the outbox's seq in
 * commit order), and a transaction holds it to its end. Written where they were asked
 * for, a unit held it from its first append through every statement after it, each a
 * round trip to this process (its event loop busy with other requests), while the audited
 * or emitting units of every node queued behind it. Written by the trigger, the lock is
 * held for that work and the commit's WAL flush only, inside PostgreSQL. The unit's own
 * reads never see these rows (nothing in a unit reads back its audit row or event), and
 * a unit that fails writes none of them.
 *
 * SQLite has no such lock (one writer runs one unit at a time): there the repositories
 * write at once and no unit has a UnitWrites.
 */
export class UnitWrites {
  /** vd_audit_append's arguments, in the order of the unit's appends */
  private readonly audit: [number, string, string, string | null, string, string | null, string, string][] =
    [];
  /** [topic, payload, created_at], in the order of the unit's emits */
  private readonly events: [string, string, number][] = [];

  /** An audit row of this unit (audit-chain.ts's postgresAuditArgs). */
  addAudit(a: PostgresAuditArgs): void {
    this.audit.push([a.at, a.actor, a.action, a.subject, a.outcome, a.reason, a.data, a.middle]);
  }

  /** An outbox event of this unit (payload already checked against its topic's schema). */
  addEvent(topic: string, payload: string, at: number): void {
    this.events.push([topic, payload, at]);
  }

  /** Stage them all in one statement on the unit's transaction (nothing to stage: no round trip). */
  async flush(t: PreparedTarget): Promise<void> {
    if (this.audit.length === 0 && this.events.length === 0) return;
    const audit = JSON.stringify(this.audit);
    const events = JSON.stringify(this.events);
    this.audit.length = 0;
    this.events.length = 0;
    await flushOnPostgres.first(t, { audit, events });
  }
}

// Compiled once (prepared.ts). JSON text: a prepared query's values are scalars.
const flushOnPostgres = prepared((q, p: { audit: string; events: string }) =>
  q
    .selectFrom(sql<{ n: number }>`vd_unit_flush(${p.audit}::json, ${p.events}::json)`.as('f'))
    .select(sql<number>`f`.as('n')),
);
