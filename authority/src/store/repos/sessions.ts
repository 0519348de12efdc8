import type { Selectable } from 'kysely';
import type { ServiceSessionsTable } from '../schema.ts';
import { prepared } from '../prepared.ts';
import { Repo } from './base.ts';

/** A service session as stored. */
export type SessionRow = Selectable<ServiceSessionsTable>;

// Compiled once (prepared.ts): a session per request in the pipeline.
export const sessionById = prepared((q, p: { id: string }) =>
  q.selectFrom('service_sessions').selectAll().where('id', '=', p.id),
);
const insertSession = prepared(
  (
    q,
    p: {
      id: string;
      customerId: string;
      deviceId: string | null;
      authenticationId: string;
      createdAt: number;
      lastActivityAt: number;
      absoluteExpiresAt: number;
    },
  ) =>
    q.insertInto('service_sessions').values({
      id: p.id,
      customer_id: p.customerId,
      device_id: p.deviceId,
      authentication_id: p.authenticationId,
      created_at: p.createdAt,
      last_activity_at: p.lastActivityAt,
      absolute_expires_at: p.absoluteExpiresAt,
      ended_at: null,
      end_reason: null,
    }),
);
const endSession = prepared((q, p: { id: string; reason: string; at: number }) =>
  q
    .updateTable('service_sessions')
    .set({ ended_at: p.at, end_reason: p.reason })
    .where('id', '=', p.id)
    .where('ended_at', 'is', null)
    .returning('id'),
);

/** Tables: service_sessions (and requests, read: whether one holds a session). */
export class SessionsRepo extends Repo {
  /** The session `id`, ended or not; undefined when there is none. */
  get(id: string): Promise<SessionRow | undefined> {
    return sessionById.first(this.c, { id });
  }

  /** The sessions among `ids` that exist (any order). */
  async getMany(ids: readonly string[]): Promise<SessionRow[]> {
    if (ids.length === 0) return [];
    return await this.q.selectFrom('service_sessions').selectAll().where('id', 'in', ids).execute();
  }

  /** Ids of a customer's sessions that have not ended (expired ones included). */
  async openIdsOfCustomer(customerId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('service_sessions')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('ended_at', 'is', null)
      .orderBy('created_at')
      .execute();
    return rows.map((r) => r.id);
  }

  /**
   * true while a request of the session waits in the pipeline or is being served (not
   * completed or abandoned): such a session has no idle timeout (its absolute one holds).
   */
  async heldByRequest(sessionId: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('requests')
      .select('id')
      .where('session_id', '=', sessionId)
      .where('state', 'not in', ['completed', 'abandoned'])
      .executeTakeFirst();
    return r !== undefined;
  }

  /**
   * Ids of live sessions past a deadline at `now`, whoever is connected to them (any node
   * may ask): past their absolute lifetime, or idle since `idleSince` or before with no
   * live request holding them. At most `limit`, the longest past first.
   */
  async pastDeadline(now: number, idleSince: number, limit: number): Promise<string[]> {
    const rows = await this.pastDeadlineQuery(now, idleSince, limit).execute();
    return rows.map((x) => x.id);
  }

  /** PostgreSQL's plan of pastDeadline (EXPLAIN, text lines): tests check which index serves the sweep. */
  async planPastDeadline(now: number, idleSince: number, limit: number): Promise<string[]> {
    if (this.c.engine !== 'postgres') throw new Error('planPastDeadline: PostgreSQL only');
    const rows = await this.pastDeadlineQuery(now, idleSince, limit).explain<{ 'QUERY PLAN': string }>();
    return rows.map((r) => r['QUERY PLAN']);
  }

  private pastDeadlineQuery(now: number, idleSince: number, limit: number) {
    return this.q
      .selectFrom('service_sessions as s')
      .select('s.id')
      .where('s.ended_at', 'is', null)
      .where((eb) =>
        eb.or([
          eb('s.absolute_expires_at', '<=', now),
          eb.and([
            eb('s.last_activity_at', '<=', idleSince),
            eb.not(
              eb.exists(
                eb
                  .selectFrom('requests as r')
                  .select('r.id')
                  .whereRef('r.session_id', '=', 's.id')
                  .where('r.state', 'not in', ['completed', 'abandoned']),
              ),
            ),
          ]),
        ]),
      )
      .orderBy('s.last_activity_at')
      .limit(limit);
  }

  /** A new session (ended_at and end_reason start null). */
  async insert(row: Omit<SessionRow, 'ended_at' | 'end_reason'>): Promise<void> {
    await insertSession.affected(this.c, {
      id: row.id,
      customerId: row.customer_id,
      deviceId: row.device_id,
      authenticationId: row.authentication_id,
      createdAt: row.created_at,
      lastActivityAt: row.last_activity_at,
      absoluteExpiresAt: row.absolute_expires_at,
    });
  }

  /** Move the activity time of a session that has not ended to `at`: false when it has ended (or is unknown). */
  async touch(id: string, at: number): Promise<boolean> {
    const r = await this.q
      .updateTable('service_sessions')
      .set({ last_activity_at: at })
      .where('id', '=', id)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  /**
   * End a session that has not ended yet, with `reason`, at `at`. One guarded statement:
   * of any number of racing callers exactly one gets true (PostgreSQL: the others wait for
   * its row lock, then find ended_at set).
   */
  async end(id: string, reason: string, at: number): Promise<boolean> {
    return (await endSession.first(this.c, { id, reason, at })) !== undefined;
  }

  /** What the demo seed reads and writes itself (customers and staff have their own repositories too). */
  get seed(): SeedRepo {
    return new SeedRepo(this.c);
  }
}

/** Tables read or written by the demo seed (authority/src/seed/demo.ts): audit_log (read), customers, staff (read). */
export class SeedRepo extends Repo {
  /** true when the audit log holds a row by `actor` with `action` (the seed's mark). */
  async hasAuditRow(actor: string, action: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('audit_log')
      .select('seq')
      .where('actor', '=', actor)
      .where('action', '=', action)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  async customerExists(id: string): Promise<boolean> {
    const r = await this.q.selectFrom('customers').select('id').where('id', '=', id).executeTakeFirst();
    return r !== undefined;
  }

  async staffExists(username: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('staff')
      .select('id')
      .where('username', '=', username)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** A demo customer unless one with this id exists: true when it went in. */
  async insertCustomer(c: {
    id: string;
    displayName: string;
    attributes: unknown;
    account: unknown;
    at: number;
  }): Promise<boolean> {
    const r = await this.q
      .insertInto('customers')
      .values({
        id: c.id,
        display_name: c.displayName,
        attributes: JSON.stringify(c.attributes),
        account: JSON.stringify(c.account),
        created_at: c.at,
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }
}
