import { sql, type Insertable, type Selectable } from 'kysely';
import type { Tx } from './engine.ts';
import type { Database } from './schema.ts';

/**
 * Single-use rows stay single-use under concurrency, on both engines, without reading
 * first: the decision is one guarded statement, so of any number of racing callers
 * exactly one gets the row.
 *
 * - consumeOnce: `UPDATE t SET used = now WHERE key = id AND used IS NULL AND expires > now
 *   RETURNING *`. On SQLite the single writer runs units one after another; on
 *   PostgreSQL (READ COMMITTED) the losers wait for the winner's row lock, then re-check
 *   the WHERE clause against the committed row and match nothing.
 * - insertOnce: `INSERT ... ON CONFLICT (key) DO NOTHING RETURNING *` for ids that are
 *   remembered rather than issued (a proof's jti): a racing duplicate waits for the
 *   first insert and then does nothing.
 */

/** Tables whose rows are issued once and used once: key, the column that marks the use, expiry, revocation. */
export const SINGLE_USE = {
  enrolment_codes: { key: 'code_hash', used: 'used_at', expires: 'expires_at' },
  challenges: { key: 'id', used: 'used_at', expires: 'expires_at' },
  call_tickets: { key: 'jti', used: 'proven_at', expires: 'expires_at' },
  refresh_tokens: { key: 'token_hash', used: 'rotated_at', expires: 'expires_at', revoked: 'revoked_at' },
  sso_flows: { key: 'state_hash', used: 'used_at', expires: 'expires_at' },
} as const satisfies {
  [T in keyof Database]?: {
    key: keyof Database[T] & string;
    used: keyof Database[T] & string;
    expires: keyof Database[T] & string;
    revoked?: keyof Database[T] & string;
  };
};
export type SingleUseTable = keyof typeof SINGLE_USE;

/**
 * Mark row `id` of `table` used at `now` if it is unused, unexpired (and unrevoked):
 * the row as it is now for the one caller that did, undefined for everyone else.
 */
export async function consumeOnce<T extends SingleUseTable>(
  t: Tx,
  table: T,
  id: string,
  now: number,
): Promise<Selectable<Database[T]> | undefined> {
  const c: { key: string; used: string; expires: string; revoked?: string } = SINGLE_USE[table];
  const notRevoked = c.revoked ? sql` AND ${sql.ref(c.revoked)} IS NULL` : sql``;
  const r = await sql<Selectable<Database[T]>>`
    UPDATE ${sql.table(table)} SET ${sql.ref(c.used)} = ${now}
    WHERE ${sql.ref(c.key)} = ${id} AND ${sql.ref(c.used)} IS NULL AND ${sql.ref(c.expires)} > ${now}${notRevoked}
    RETURNING *`.execute(t);
  return r.rows[0];
}

/** Insert `row` unless a row with the same `key` exists: true for the one caller whose row went in. */
export async function insertOnce<T extends keyof Database>(
  t: Tx,
  table: T,
  row: Insertable<Database[T]>,
  key: readonly (keyof Database[T] & string)[],
): Promise<boolean> {
  const cols = sql.join(Object.keys(row).map((k) => sql.ref(k)));
  const vals = sql.join(Object.values(row as Record<string, unknown>));
  const r = await sql<{ one: number }>`
    INSERT INTO ${sql.table(table)} (${cols}) VALUES (${vals})
    ON CONFLICT (${sql.join(key.map((k) => sql.ref(k)))}) DO NOTHING
    RETURNING 1 AS one`.execute(t);
  return r.rows.length === 1;
}
