import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { StoreMisuseError, type Store, type Tx } from '../../authority/src/store/engine.ts';
import { prepared } from '../../authority/src/store/prepared.ts';
import { openTestStore, testEngines } from '../support/store.ts';

// Queries compiled once (store/prepared.ts): the same rows as the query built each time,
// new values at every run, constants kept, and the handles' guards still applied.
const insertKey = prepared((q, p: { kid: string; at: number }) =>
  q.insertInto('signing_keys').values({ kid: p.kid, private_jwk: '{}', created_at: p.at }),
);
// A LIMIT is a number in the query, not a placeholder (store/sqlite-driver.ts).
const keysSince = prepared((q, p: { at: number }) =>
  q
    .selectFrom('signing_keys')
    .select(['kid', 'created_at'])
    .where('created_at', '>=', p.at)
    .where('private_jwk', '=', '{}')
    .orderBy('kid')
    .limit(2),
);
const rekey = prepared((q, p: { kid: string; jwk: string }) =>
  q
    .updateTable('signing_keys')
    .set({ private_jwk: p.jwk })
    .where('kid', '=', p.kid)
    .where('private_jwk', '=', '{}'),
);

const keyByKid = prepared((q, p: { kid: string }) =>
  q.selectFrom('signing_keys').selectAll().where('kid', '=', p.kid),
);
const firstKeysSince = prepared((q, p: { at: number }) =>
  q.selectFrom('signing_keys').selectAll().where('created_at', '>=', p.at).orderBy('kid').limit(1),
);

for (const engine of testEngines()) {
  describe(`prepared queries on ${engine}`, () => {
    let h: { store: Store; close: () => Promise<void> };
    before(async () => {
      h = await openTestStore(engine);
    });
    after(() => h.close());

    it('runs with new values each time and returns what the built query returns', async () => {
      await h.store.tx(async (t) => {
        for (let i = 0; i < 5; i++) await insertKey.affected({ q: t, engine }, { kid: `k${i}`, at: 100 + i });
      });
      const built = await h.store.db
        .selectFrom('signing_keys')
        .select(['kid', 'created_at'])
        .where('created_at', '>=', 102)
        .where('private_jwk', '=', '{}')
        .orderBy('kid')
        .limit(2)
        .execute();
      const target = { q: h.store.db, engine };
      assert.deepEqual(await keysSince.rows(target, { at: 102 }), built);
      assert.deepEqual(await keysSince.rows(target, { at: 102 }), [
        { kid: 'k2', created_at: 102 },
        { kid: 'k3', created_at: 103 },
      ]);
      // the same prepared query with other values: not the first run's rows
      assert.deepEqual(await keysSince.rows(target, { at: 104 }), [{ kid: 'k4', created_at: 104 }]);
      assert.equal(await keysSince.first(target, { at: 999 }), undefined);
      assert.equal(
        await h.store.tx((t) => rekey.affected({ q: t, engine }, { kid: 'k1', jwk: '{"r":1}' })),
        1,
      );
      assert.equal(
        await h.store.tx((t) => rekey.affected({ q: t, engine }, { kid: 'k1', jwk: '{"r":2}' })),
        0,
      );
    });

    it('refuses a value that is not a scalar before the query runs', async () => {
      const target = { q: h.store.db, engine };
      await assert.rejects(
        keysSince.rows(target, { at: undefined as unknown as number }),
        /the value of 'at' must be a scalar.*got undefined/,
      );
      await assert.rejects(
        keysSince.rows(target, { at: [1, 2] as unknown as number }),
        /the value of 'at' must be a scalar.*got an array/,
      );
    });

    it('refuses a placeholder written into the SQL text instead of passed as a parameter', async () => {
      const inlined = prepared((q, p: { kid: string }) =>
        q
          .selectFrom('signing_keys')
          .select('kid')
          .where('kid', '=', sql.raw<string>(`'${String(p.kid)}'`)),
      );
      await assert.rejects(
        inlined.rows({ q: h.store.db, engine }, { kid: 'k0' }),
        /'kid' was written into the SQL text/,
      );
    });

    it("keeps the handles' guards: no write on store.db, no use of a unit's t after its unit", async () => {
      // compiled first inside a unit, then run on the read handle: still refused
      await h.store.tx((t) => insertKey.affected({ q: t, engine }, { kid: 'g1', at: 1 }));
      await assert.rejects(
        insertKey.affected({ q: h.store.db, engine }, { kid: 'g2', at: 1 }),
        (e) => e instanceof StoreMisuseError && /store.db is for reads/.test(e.message),
      );
      let leaked: Tx | null = null;
      await h.store.tx(async (t) => {
        leaked = t;
      });
      await assert.rejects(
        insertKey.affected({ q: leaked!, engine }, { kid: 'g3', at: 1 }),
        (e) => e instanceof StoreMisuseError && /unit of work has ended/.test(e.message),
      );
      const kids = (
        await h.store.db.selectFrom('signing_keys').select('kid').where('kid', 'like', 'g%').execute()
      ).map((r) => r.kid);
      assert.deepEqual(kids, ['g1']);
    });

    it(
      'PostgreSQL: a named statement on the connection, still answering after a schema change made its plan stale',
      {
        skip:
          engine === 'sqlite' &&
          'no server-side statements (better-sqlite3 keeps its own, store/sqlite-driver.ts)',
      },
      async () => {
        // one connection, so the statement and the stale plan are on the connection that runs next
        const one = await openTestStore(engine, { poolSize: 1 });
        const admin =
          one.target.engine === 'postgres' ? new pg.Client({ connectionString: one.target.url }) : null;
        await admin!.connect();
        try {
          const { store } = one;
          await store.tx((t) => insertKey.affected({ q: t, engine }, { kid: 'named-1', at: 5 }));
          const held = await store.tx(async (t) => {
            await keyByKid.first({ q: t, engine }, { kid: 'named-1' });
            return (await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(t))
              .rows;
          });
          assert.ok(
            held.some((r) => r.statement === 'select * from "signing_keys" where "kid" = $1'),
            `prepared on the connection: ${JSON.stringify(held)}`,
          );

          // A newer node adds a column: `select *` planned before no longer fits.
          await admin!.query('ALTER TABLE signing_keys ADD COLUMN note TEXT');
          const inUnit = await store.tx((t) => keyByKid.first({ q: t, engine }, { kid: 'named-1' }));
          assert.equal(inUnit?.kid, 'named-1');
          assert.equal(
            (inUnit as Record<string, unknown> | undefined)?.note,
            null,
            'the unit ran again, unnamed',
          );

          // and outside a unit (store.db): run again at once
          assert.equal((await firstKeysSince.rows({ q: store.db, engine }, { at: 5 }))[0]?.kid, 'named-1');
          await admin!.query('ALTER TABLE signing_keys ADD COLUMN note2 TEXT');
          const outside = await firstKeysSince.rows({ q: store.db, engine }, { at: 5 });
          assert.equal((outside[0] as Record<string, unknown> | undefined)?.note2, null);
        } finally {
          await admin?.end();
          await one.close();
        }
      },
    );
  });
}
