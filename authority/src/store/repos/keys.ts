import { sql, type Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import { VD_LOCK_CLASS } from '../schema-migrations.ts';
import { Repo } from './base.ts';

export type SigningKeyRow = Selectable<Database['signing_keys']>;

/** Advisory lock (PostgreSQL) that makes creating the first key a one-node affair. */
const LOCK_FIRST_KEY = 0x4b45; // "KE"

/** Tables: signing_keys. */
export class SigningKeysRepo extends Repo {
  /** The newest key, or undefined before the first start. */
  async latest(): Promise<SigningKeyRow | undefined> {
    return await this.q
      .selectFrom('signing_keys')
      .selectAll()
      .orderBy('created_at', 'desc')
      .orderBy('kid', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * The newest key; `key` is inserted first when there is none. Nodes starting at once on
   * PostgreSQL queue on an advisory lock, so all of them end up with the same key.
   */
  async latestOrInsert(key: { kid: string; private_jwk: string }): Promise<SigningKeyRow> {
    if (this.c.engine === 'postgres')
      await sql`SELECT pg_advisory_xact_lock(${VD_LOCK_CLASS}, ${LOCK_FIRST_KEY})`.execute(this.q);
    const have = await this.latest();
    if (have) return have;
    const row = { ...key, created_at: this.now() };
    await this.q.insertInto('signing_keys').values(row).execute();
    return row;
  }
}
