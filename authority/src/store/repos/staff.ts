import { sql, type Selectable } from 'kysely';
import type { Tx } from '../engine.ts';
import type { Database } from '../schema.ts';
import { consumeOnce } from '../single-use.ts';
import { prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';

export type StaffRow = Selectable<Database['staff']>;

// Compiled once (prepared.ts): every staff request reads them (verifyAccess).
const staffById = prepared((q, p: { id: string }) =>
  q.selectFrom('staff').selectAll().where('id', '=', p.id),
);
/** staffWithFamily: the member's row, whether the login's family was revoked and the agent's last sighting, one statement (were three). */
const staffWithFamily = prepared((q, p: { id: string; familyId: string }) =>
  q
    .selectFrom('staff')
    .selectAll()
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('refresh_tokens')
            .select('token_hash')
            .where('family_id', '=', p.familyId)
            .where('revoked_at', 'is not', null),
        )
        .as('family_revoked'),
    )
    .select((eb) =>
      eb.selectFrom('agents').select('last_seen_at').whereRef('staff_id', '=', 'staff.id').as('last_seen_at'),
    )
    .where('id', '=', p.id),
);
export type RefreshTokenRow = Selectable<Database['refresh_tokens']>;
export type LoginThrottleRow = Selectable<Database['login_throttle']>;
/** A colleague as the transfer directory lists them. */
export type StaffListing = Pick<StaffRow, 'id' | 'display_name' | 'role'>;

/** Advisory lock class of the login throttle (PostgreSQL); the store's own locks use 0x5644. */
const THROTTLE_LOCK_CLASS = 0x5654;

/** Tables: staff, refresh_tokens, login_throttle, login_source_failures, login_source_refusals. */
export class StaffRepo extends Repo {
  // --- staff ---

  async byId(id: string): Promise<StaffRow | undefined> {
    return await staffById.first(this.c, { id });
  }

  /**
   * Staff member `id` as stored, whether refresh token family `familyId` was revoked (a
   * logout, a reuse, the provider's logout) and, for an agent, when they were last seen
   * (null: never, or not an agent), in one statement: what a staff request's bearer token
   * is checked against, and what its sign of life decides on (Agents.touch). Undefined
   * when there is no such member.
   */
  async byIdInFamily(
    id: string,
    familyId: string,
  ): Promise<{ staff: StaffRow; familyRevoked: boolean; lastSeenAt: number | null } | undefined> {
    const r = await staffWithFamily.first(this.c, { id, familyId });
    if (!r) return undefined;
    const { family_revoked, last_seen_at, ...staff } = r;
    return { staff, familyRevoked: Boolean(family_revoked), lastSeenAt: last_seen_at ?? null };
  }

  /** Display names of these staff members (unknown ids are absent). */
  async displayNames(ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await inSlices(ids, (part) =>
      this.q.selectFrom('staff').select(['id', 'display_name']).where('id', 'in', part).execute(),
    );
    return new Map(rows.map((r) => [r.id, r.display_name]));
  }

  async byUsername(username: string): Promise<StaffRow | undefined> {
    return await this.q.selectFrom('staff').selectAll().where('username', '=', username).executeTakeFirst();
  }

  /** Insert a staff member unless the username is taken: false when it is (one guarded statement). */
  async insert(row: Omit<StaffRow, 'disabled_at'>): Promise<boolean> {
    const r = await this.q
      .insertInto('staff')
      .values(row)
      .onConflict((oc) => oc.column('username').doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The row before the change, or undefined for an unknown id. */
  async setRole(id: string, role: StaffRow['role']): Promise<StaffRow | undefined> {
    const before = await this.byId(id);
    if (!before) return undefined;
    await this.q.updateTable('staff').set({ role }).where('id', '=', id).execute();
    return before;
  }

  /** Enabled staff other than `exceptId`, by display name. */
  async enabledExcept(exceptId: string): Promise<StaffListing[]> {
    return await this.q
      .selectFrom('staff')
      .select(['id', 'display_name', 'role'])
      .where('disabled_at', 'is', null)
      .where('id', '<>', exceptId)
      .orderBy('display_name')
      .orderBy('id')
      .execute();
  }

  // --- refresh tokens ---

  async refreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return await this.q
      .selectFrom('refresh_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async insertRefreshToken(
    row: Pick<RefreshTokenRow, 'token_hash' | 'family_id' | 'staff_id' | 'expires_at'>,
  ): Promise<void> {
    await this.q.insertInto('refresh_tokens').values(row).execute();
  }

  /**
   * Mark an unused, unrevoked, unexpired refresh token rotated: the row for the one caller
   * that did, undefined for every other (of any number racing, exactly one wins).
   */
  async rotateRefreshToken(tokenHash: string): Promise<RefreshTokenRow | undefined> {
    return await consumeOnce(this.q as Tx, 'refresh_tokens', tokenHash, this.now());
  }

  /** Revoke every live token of a family; how many were. */
  async revokeFamily(familyId: string): Promise<number> {
    const r = await this.q
      .updateTable('refresh_tokens')
      .set({ revoked_at: this.now() })
      .where('family_id', '=', familyId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  // --- login throttle ---

  /**
   * Serialise the throttle's check-then-act on `key` (a source or a subject) until the unit
   * ends. PostgreSQL: a transaction-scoped advisory lock; SQLite: nothing to do, its one
   * writer runs units one at a time. Take source locks before subject locks.
   */
  async lockThrottle(key: string): Promise<void> {
    if (this.c.engine !== 'postgres') return;
    await sql`SELECT pg_advisory_xact_lock(${THROTTLE_LOCK_CLASS}, hashtext(${key}))`.execute(this.q);
  }

  async throttleRow(subject: string): Promise<LoginThrottleRow | undefined> {
    return await this.q
      .selectFrom('login_throttle')
      .selectAll()
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  /** One more failure for a subject that is neither locked nor in a delay: the new count, or undefined. */
  async bumpFailures(subject: string, maxFailures: number): Promise<number | undefined> {
    const now = this.now();
    const r = await this.q
      .updateTable('login_throttle')
      .set((eb) => ({ failures: eb('failures', '+', 1), updated_at: now }))
      .where('subject', '=', subject)
      .where('failures', '<', maxFailures)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning('failures')
      .executeTakeFirst();
    return r?.failures;
  }

  async insertThrottle(subject: string, staffId: string | null, failures: number): Promise<void> {
    await this.q
      .insertInto('login_throttle')
      .values({ subject, staff_id: staffId, failures, locked_until: null, updated_at: this.now() })
      .execute();
  }

  async setLockedUntil(subject: string, lockedUntil: number): Promise<void> {
    await this.q
      .updateTable('login_throttle')
      .set({ locked_until: lockedUntil })
      .where('subject', '=', subject)
      .execute();
  }

  /** Keep only the `keep` most recently updated rows of unknown usernames. */
  async pruneUnknownNames(keep: number): Promise<void> {
    const stale = this.q
      .selectFrom('login_throttle')
      .select('subject')
      .where('staff_id', 'is', null)
      .orderBy('updated_at', 'desc')
      .orderBy('subject')
      .offset(keep);
    // SQLite needs a LIMIT before OFFSET (-1: no limit); PostgreSQL takes OFFSET alone.
    await this.q
      .deleteFrom('login_throttle')
      .where('subject', 'in', this.c.engine === 'sqlite' ? stale.limit(-1) : stale)
      .execute();
  }

  /** Delete a subject's row: what it held. */
  async deleteThrottle(
    subject: string,
  ): Promise<Pick<LoginThrottleRow, 'failures' | 'locked_until'> | undefined> {
    return await this.q
      .deleteFrom('login_throttle')
      .where('subject', '=', subject)
      .returning(['failures', 'locked_until'])
      .executeTakeFirst();
  }

  /** A failure charged to `source` at now: its id (to take it back on success). */
  async addSourceFailure(source: string): Promise<number> {
    const r = await this.q
      .insertInto('login_source_failures')
      .values({ source, at: this.now() })
      .returning('id')
      .executeTakeFirstOrThrow();
    return r.id;
  }

  async deleteSourceFailure(id: number): Promise<void> {
    await this.q.deleteFrom('login_source_failures').where('id', '=', id).execute();
  }

  /** Forget failures at or before `before` (all sources). */
  async expireSourceFailures(before: number): Promise<void> {
    await this.q.deleteFrom('login_source_failures').where('at', '<=', before).execute();
  }

  async countSourceFailures(source: string): Promise<number> {
    const r = await this.q
      .selectFrom('login_source_failures')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('source', '=', source)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** The time of the source's failure at 0-based position `offset`, oldest first. */
  async sourceFailureAt(source: string, offset: number): Promise<number | undefined> {
    const r = await this.q
      .selectFrom('login_source_failures')
      .select('at')
      .where('source', '=', source)
      .orderBy('at')
      .orderBy('id')
      .limit(1)
      .offset(offset)
      .executeTakeFirst();
    return r?.at;
  }

  async sourceRefusals(source: string): Promise<{ refused: number; audited_at: number } | undefined> {
    return await this.q
      .selectFrom('login_source_refusals')
      .select(['refused', 'audited_at'])
      .where('source', '=', source)
      .executeTakeFirst();
  }

  async countRefusal(source: string): Promise<void> {
    await this.q
      .updateTable('login_source_refusals')
      .set((eb) => ({ refused: eb('refused', '+', 1) }))
      .where('source', '=', source)
      .execute();
  }

  /** Start a new summary window for `source` (audited now, nothing refused since). */
  async resetRefusals(source: string): Promise<void> {
    const now = this.now();
    await this.q
      .insertInto('login_source_refusals')
      .values({ source, refused: 0, audited_at: now })
      .onConflict((oc) => oc.column('source').doUpdateSet({ refused: 0, audited_at: now }))
      .execute();
  }

  /** Take the refusal summaries of `source` and of every source audited at or before `before`. */
  async takeRefusals(source: string, before: number): Promise<{ source: string; refused: number }[]> {
    return await this.q
      .deleteFrom('login_source_refusals')
      .where((eb) => eb.or([eb('source', '=', source), eb('audited_at', '<=', before)]))
      .returning(['source', 'refused'])
      .execute();
  }
}
