import { sql } from 'kysely';
import type { FactorKind } from '../../../../protocol/src/index.ts';
import { prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';

// Compiled once (prepared.ts): every authenticated device request reads it.
const authenticationById = prepared((q, p: { id: string }) =>
  q.selectFrom('authentications').selectAll().where('id', '=', p.id),
);

/** The factors of an authentication in the order they were added (the row order column differs by engine). */
const factorsOf = prepared((q, p: { authenticationId: string }, engine) =>
  q
    .selectFrom('factors')
    .select(['kind', 'at', 'device_id', 'detail'])
    .where('authentication_id', '=', p.authenticationId)
    .orderBy('at')
    .orderBy(engine === 'sqlite' ? sql`rowid` : sql`ctid`),
);

export interface AuthenticationRow {
  id: string;
  customer_id: string;
  device_id: string | null;
  level: number;
  created_at: number;
  expires_at: number;
  /** Set only on the enrolment's own authentication: factors may be set up until then. */
  setup_until: number | null;
}

export interface FactorRow {
  kind: FactorKind;
  at: number;
  device_id: string | null;
  detail: string | null;
}

/** Tables: authentications, factors. */
export class AuthenticationsRepo extends Repo {
  private get t() {
    if (!this.c.writable) throw new Error('authentications: writes go through a unit of work (data.tx)');
    return this.q;
  }

  get(id: string): Promise<AuthenticationRow | undefined> {
    return authenticationById.first(this.c, { id });
  }

  /** These authentications by id (unknown ids are absent). */
  async many(ids: readonly string[]): Promise<Map<string, AuthenticationRow>> {
    const rows = await inSlices(ids, (part) =>
      this.q.selectFrom('authentications').selectAll().where('id', 'in', part).execute(),
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * The authentication, locked for the rest of the unit on PostgreSQL (SELECT ... FOR
   * UPDATE), so two units stepping up the same authentication take turns: the second
   * recomputes the level with the first's factor. SQLite's single writer already does.
   */
  async getForUpdate(id: string): Promise<AuthenticationRow | undefined> {
    let q = this.t.selectFrom('authentications').selectAll().where('id', '=', id);
    if (this.c.engine === 'postgres') q = q.forUpdate();
    return q.executeTakeFirst();
  }

  async insert(row: AuthenticationRow): Promise<void> {
    await this.t.insertInto('authentications').values(row).execute();
  }

  /** Record a proven factor; the same kind at the same ms again is a no-op (false). */
  async insertFactor(
    authenticationId: string,
    f: { kind: FactorKind; at: number; device_id: string | null; detail: string | null },
  ): Promise<boolean> {
    const r = await this.t
      .insertInto('factors')
      .values({ authentication_id: authenticationId, ...f })
      .onConflict((oc) => oc.columns(['authentication_id', 'kind', 'at']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async setLevel(id: string, level: number): Promise<void> {
    await this.t.updateTable('authentications').set({ level }).where('id', '=', id).execute();
  }

  /**
   * The factors proven, in the order they were: within one ms in insertion order (SQLite
   * rowid; PostgreSQL ctid: factors are append-only, never updated, so the tuple order is
   * the insertion order).
   */
  async factors(authenticationId: string): Promise<FactorRow[]> {
    const rows = await factorsOf.rows(this.c, { authenticationId });
    return rows.map((r) => ({ ...r, kind: r.kind as FactorKind }));
  }
}
