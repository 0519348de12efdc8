import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely } from 'kysely';
import { prepared } from '../../authority/src/store/prepared.ts';
import { SqliteDriver, StoreSqliteDialect } from '../../authority/src/store/sqlite-driver.ts';

const turns = (n: number) =>
  new Promise<void>((r) => (n === 0 ? r() : setImmediate(() => turns(n - 1).then(r))));

describe('store: the SQLite driver hands its one connection out', () => {
  it('to one holder at a time, in the order they asked, whatever each holder awaits', async () => {
    const driver = new SqliteDriver(new Database(':memory:'), { begin: 'BEGIN' });
    let holders = 0;
    let most = 0;
    const granted: number[] = [];
    await Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        const c = await driver.acquireConnection();
        granted.push(i);
        holders++;
        most = Math.max(most, holders);
        // a holder that awaits (a transaction across its statements), or none at all
        await turns(i % 3);
        await c.executeQuery({
          sql: 'SELECT 1 AS one',
          parameters: [],
          query: undefined as never,
          queryId: undefined as never,
        });
        holders--;
        await driver.releaseConnection();
      }),
    );
    assert.equal(most, 1, 'never two holders at once');
    assert.deepEqual(
      granted,
      Array.from({ length: 64 }, (_, i) => i),
      'granted in the order asked',
    );
    // free again: the next one gets it at once, the same connection
    assert.equal(await driver.acquireConnection(), driver.connection);
    await driver.releaseConnection();
    await driver.destroy();
  });
});

describe('store: a LIMIT on SQLite', () => {
  // SQLite plans on a bound LIMIT's value, and a statement whose planned-on parameter is
  // bound again is prepared again before it runs: the driver's statement cache would save nothing.
  interface Db {
    n: { v: number };
  }
  const open = () => {
    const raw = new Database(':memory:');
    raw.exec('CREATE TABLE n (v INTEGER); INSERT INTO n VALUES (1), (2), (3), (4), (5)');
    raw.exec('CREATE TABLE signing_keys (kid TEXT)'); // a store table, for a prepared query
    return new Kysely<Db>({ dialect: new StoreSqliteDialect(new SqliteDriver(raw, { begin: 'BEGIN' })) });
  };

  it('is an integer in the SQL text, never a bound parameter; OFFSET stays a parameter', async () => {
    const db = open();
    const q = db.selectFrom('n').select('v').orderBy('v').limit(3).offset(1);
    const c = q.compile();
    assert.equal(c.sql, 'select "v" from "n" order by "v" limit 3 offset ?');
    assert.deepEqual(c.parameters, [1]);
    assert.deepEqual(
      (await q.execute()).map((r) => r.v),
      [2, 3, 4],
    );
    assert.deepEqual(
      (await db.selectFrom('n').select('v').orderBy('v').limit(BigInt(2)).execute()).map((r) => r.v),
      [1, 2],
    );
    // SQLite's "no limit"
    assert.equal((await db.selectFrom('n').select('v').limit(-1).execute()).length, 5);
    await db.destroy();
  });

  it('that is not an integer (a prepared query placeholder, a fraction) is refused before it runs', async () => {
    const db = open();
    const target = { q: db as never, engine: 'sqlite' as const };
    const byLimit = prepared((q, p: { n: number }) => q.selectFrom('signing_keys').select('kid').limit(p.n));
    await assert.rejects(byLimit.rows(target, { n: 2 }), /a LIMIT is an integer written into the query/);
    assert.throws(() => db.selectFrom('n').select('v').limit(1.5).compile(), /not 1\.5/);
    await db.destroy();
  });
});
