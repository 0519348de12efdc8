import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteDriver } from '../../authority/src/store/sqlite-driver.ts';

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
