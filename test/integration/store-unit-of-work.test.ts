import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { sql } from 'kysely';
import {
  openStore,
  StoreMisuseError,
  type Store,
  type StoreTarget,
  type Tx,
} from '../../authority/src/store/engine.ts';
import { consumeOnce, insertOnce } from '../../authority/src/store/single-use.ts';
import { testCluster } from '../support/postgres.ts';
import { until } from '../support/wait.ts';
import { freshTarget, openTestStore, testEngines } from '../support/store.ts';

const root = new URL('../..', import.meta.url).pathname;
const insertKey = (t: Tx, kid: string) =>
  t.insertInto('signing_keys').values({ kid, private_jwk: '{}', created_at: 1 }).execute();

/** A connection of its own (not the store's): what another process would see. */
async function outsider(
  target: StoreTarget,
): Promise<{ has: (kid: string) => Promise<boolean>; close: () => Promise<void> }> {
  if (target.engine === 'sqlite') {
    const db = new Database(target.file, { readonly: true });
    const q = db.prepare<[string], { kid: string }>('SELECT kid FROM signing_keys WHERE kid = ?');
    return {
      has: async (kid) => q.get(kid) !== undefined,
      close: async () => {
        db.close();
      },
    };
  }
  const c = new pg.Pool({ connectionString: target.url, max: 2 });
  return {
    has: async (kid) => (await c.query('SELECT kid FROM signing_keys WHERE kid = $1', [kid])).rowCount === 1,
    close: () => c.end(),
  };
}

/** `n` units at once, each writing key `<prefix>-<i>`: each is visible to another connection when its promise resolves. */
async function visibleWhenResolved(
  target: StoreTarget,
  n: number,
  unit: (i: number) => Promise<unknown>,
  prefix: string,
): Promise<void> {
  const other = await outsider(target);
  try {
    const seen = await Promise.all(
      Array.from({ length: n }, (_, i) => unit(i).then(() => other.has(`${prefix}-${i}`))),
    );
    assert.deepEqual(seen, Array(n).fill(true));
  } finally {
    await other.close();
  }
}

/**
 * fsync + fdatasync calls made by processes `pids` (their threads and new children too)
 * while `work` runs, counted by strace; null when strace is missing or cannot attach.
 */
async function fsyncsDuring(pids: number[], work: () => Promise<void>): Promise<number | null> {
  if (spawnSync('strace', ['-V']).status !== 0) {
    await work();
    return null;
  }
  const args = ['-f', '-c', '-e', 'trace=fsync,fdatasync', ...pids.flatMap((p) => ['-p', String(p)])];
  const st = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  st.stderr.setEncoding('utf8');
  const attached = new Promise<boolean>((resolve) => {
    st.stderr.on('data', (d: string) => {
      err += d;
      // one line per pid: attached, or why not (a backend that exited meanwhile)
      if ((err.match(/attached|PTRACE_SEIZE/g) ?? []).length >= pids.length) resolve(true);
    });
    st.once('exit', () => resolve(false));
  });
  if (!(await attached)) {
    await work();
    return null;
  }
  await work();
  st.kill('SIGINT');
  await once(st, 'exit');
  let n = 0;
  for (const m of err.matchAll(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(fsync|fdatasync)$/gm))
    n += Number(m[1]);
  return n;
}

/** The PostgreSQL server's processes: the postmaster (new backends are its children) and every backend. */
async function serverPids(url: string): Promise<number[]> {
  const cluster = await testCluster();
  const postmaster = Number(readFileSync(join(cluster.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ pid: number }>(
      'SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()',
    );
    return [postmaster, ...rows.map((r) => r.pid)];
  } finally {
    await c.end();
  }
}

for (const engine of testEngines()) {
  describe(`store unit of work on ${engine}`, () => {
    let h: { store: Store; target: StoreTarget; close: () => Promise<void> };
    before(async () => {
      h = await openTestStore(engine);
    });
    after(() => h.close());

    it('100 concurrent units: each is committed and visible to another connection when its promise resolves', async () => {
      await visibleWhenResolved(
        h.target,
        100,
        (i) => h.store.tx((t) => insertKey(t, `durable-${i}`)),
        'durable',
      );
      const n = await h.store.db
        .selectFrom('signing_keys')
        .select((e) => e.fn.countAll<number>().as('n'))
        .where('kid', 'like', 'durable-%')
        .executeTakeFirstOrThrow();
      assert.equal(Number(n.n), 100);
      const s = h.store.stats();
      console.log(`# ${engine}: ${s.units} units in ${s.commits} commits (largest batch ${s.maxBatch})`);
    });

    it(
      'two units that deadlock both commit: the victim runs again (PostgreSQL 40P01)',
      { skip: engine === 'sqlite' && 'one writer: units never interleave, no deadlock' },
      async () => {
        await h.store.tx(async (t) => {
          await insertKey(t, 'dl-a');
          await insertKey(t, 'dl-b');
        });
        const failedBefore = h.store.stats().failedUnits;
        const locked = new Set<string>();
        let runs = 0;
        /** Lock `first`, wait until the other unit holds `second`, then take `second` too and write both. */
        const unit = (first: string, second: string) =>
          h.store.tx(async (t) => {
            runs++;
            const lock = (kid: string) =>
              t.selectFrom('signing_keys').select('kid').where('kid', '=', kid).forUpdate().execute();
            await lock(first);
            locked.add(first);
            await until(`the other unit holds ${second}`, () => locked.has(second) || undefined);
            await lock(second);
            await t
              .updateTable('signing_keys')
              .set({ created_at: runs })
              .where('kid', 'in', [first, second])
              .execute();
            return first;
          });
        const done = await Promise.all([unit('dl-a', 'dl-b'), unit('dl-b', 'dl-a')]);
        assert.deepEqual(done, ['dl-a', 'dl-b'], 'both units committed');
        assert.equal(runs, 3, 'one of them was the deadlock victim and ran again');
        assert.equal(h.store.stats().failedUnits, failedBefore, 'no caller saw the deadlock');
      },
    );

    it('a unit that throws is rolled back alone: its caller gets its error, the others commit', async () => {
      await h.store.tx((t) => insertKey(t, 'taken'));
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          h.store.tx(async (t) => {
            await insertKey(t, `mixed-${i}`);
            if (i % 3 === 1) throw new Error(`unit ${i} refused`);
            if (i % 3 === 2) await insertKey(t, 'taken'); // a constraint error, after its own insert
            return i;
          }),
        ),
      );
      results.forEach((r, i) => {
        if (i % 3 === 0) assert.deepEqual(r, { status: 'fulfilled', value: i });
        else if (i % 3 === 1)
          assert.match(String((r as PromiseRejectedResult).reason), new RegExp(`unit ${i} refused`));
        else assert.match(String((r as PromiseRejectedResult).reason), /UNIQUE|duplicate key/);
      });
      const kept = await h.store.db
        .selectFrom('signing_keys')
        .select('kid')
        .where('kid', 'like', 'mixed-%')
        .execute();
      assert.deepEqual(
        kept.map((r) => r.kid).sort(),
        Array.from({ length: 10 }, (_, j) => `mixed-${j * 3}`).sort(),
      );
    });

    it(
      'a connection cut in the middle of a unit fails that unit only: the process goes on and the next unit commits',
      { skip: engine === 'sqlite' && 'no connection to lose' },
      async () => {
        if (h.target.engine !== 'postgres') return;
        const admin = new pg.Client({ connectionString: h.target.url });
        await admin.connect();
        try {
          const cut = h.store.tx(async (t) => {
            const { rows } = await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(t);
            await admin.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
            // The server's goodbye arrives while the unit holds its connection between two queries.
            await new Promise((r) => setTimeout(r, 300));
            await insertKey(t, 'after-the-cut');
          });
          await assert.rejects(cut);
          await h.store.tx((t) => insertKey(t, 'the-next-unit'));
          const other = await outsider(h.target);
          try {
            assert.equal(await other.has('the-next-unit'), true);
            assert.equal(await other.has('after-the-cut'), false);
          } finally {
            await other.close();
          }
        } finally {
          await admin.end();
        }
      },
    );

    it('reads outside units see committed data only: on SQLite on the idle writer (warm cache), on the read connection while a batch is open', async () => {
      const has = async (kid: string) =>
        (await h.store.db.selectFrom('signing_keys').select('kid').where('kid', '=', kid).execute())
          .length === 1;
      await h.store.tx((t) => insertKey(t, 'read-committed-1'));
      const s0 = h.store.stats();
      assert.equal(await has('read-committed-1'), true);
      const s1 = h.store.stats();
      if (engine === 'sqlite') {
        assert.equal(s1.readsOnWriter - s0.readsOnWriter, 1, 'no batch open: the read ran on the writer');
        assert.equal(s1.readsOnReader, s0.readsOnReader);
      }

      // A batch stays open while its unit waits: its write is not committed yet.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let written!: () => void;
      const inside = new Promise<void>((r) => (written = r));
      const unit = h.store.tx(async (t) => {
        await insertKey(t, 'read-committed-2');
        written();
        await gate;
      });
      await inside;
      assert.equal(await has('read-committed-2'), false, 'an open batch is not visible outside it');
      const s2 = h.store.stats();
      if (engine === 'sqlite') {
        assert.equal(
          s2.readsOnReader - s1.readsOnReader,
          1,
          'batch open: the read ran on the read connection',
        );
        assert.equal(s2.readsOnWriter, s1.readsOnWriter);
      }
      release();
      await unit;
      assert.equal(await has('read-committed-2'), true);

      // A write smuggled in as raw SQL through store.db is refused, on the idle writer too.
      if (engine === 'sqlite') {
        await assert.rejects(
          sql`INSERT INTO signing_keys (kid, private_jwk, created_at) VALUES ('raw-outer', '{}', 1)`.execute(
            h.store.db,
          ),
          /readonly/,
        );
        assert.equal(await has('raw-outer'), false);
      }
    });

    it('misuse is refused with a clear error, not a deadlock', async () => {
      await assert.rejects(insertKey(h.store.db as unknown as Tx, 'outer-write'), /store.db is for reads/);
      await assert.rejects(
        h.store.tx(async () => {
          await h.store.db.selectFrom('signing_keys').selectAll().execute();
        }),
        (e) => e instanceof StoreMisuseError && /store.db inside a unit of work/.test(e.message),
      );
      await assert.rejects(
        h.store.tx(() => h.store.tx(async () => 1)),
        (e) => e instanceof StoreMisuseError && /store.tx\(\) inside a unit of work/.test(e.message),
      );
      let leaked: Tx | null = null;
      await h.store.tx(async (t) => {
        leaked = t;
      });
      await assert.rejects(insertKey(leaked!, 'leaked'), /unit of work has ended/);
      // and the store still works
      await h.store.tx((t) => insertKey(t, 'after-misuse'));
    });

    it('a unit of one statement: durable when it resolves; on PostgreSQL alone in its transaction, a second statement refused', async () => {
      await visibleWhenResolved(
        h.target,
        50,
        (i) => h.store.statement((t) => insertKey(t, `single-${i}`)),
        'single',
      );
      // PostgreSQL: no BEGIN before it (the statement's transaction started with it)
      if (h.target.engine === 'postgres') {
        const alone = await h.store.statement((t) =>
          sql<{ alone: boolean }>`SELECT transaction_timestamp() = statement_timestamp() AS alone`.execute(t),
        );
        assert.equal(alone.rows[0]?.alone, true, 'the statement ran in a transaction of its own');
      }
      const inTx = await h.store.tx(async (t) => {
        await sql`SELECT 1`.execute(t);
        return h.target.engine === 'postgres'
          ? (
              await sql<{
                alone: boolean;
              }>`SELECT transaction_timestamp() = statement_timestamp() AS alone`.execute(t)
            ).rows[0]!.alone
          : false;
      });
      assert.equal(inTx, false, 'in tx() the statements share one transaction');

      const two = h.store.statement(async (t) => {
        await insertKey(t, 'single-first');
        await insertKey(t, 'single-second');
      });
      const has = async (kid: string) =>
        (await h.store.db
          .selectFrom('signing_keys')
          .select('kid')
          .where('kid', '=', kid)
          .executeTakeFirst()) !== undefined;
      if (h.target.engine === 'postgres') {
        // the first is a transaction of its own, committed; the second never runs
        await assert.rejects(
          two,
          (e) => e instanceof StoreMisuseError && /ran a second statement/.test(e.message),
        );
        assert.deepEqual([await has('single-first'), await has('single-second')], [true, false]);
      } else {
        // a unit of the group commit: atomic whatever it runs
        await two;
        assert.deepEqual([await has('single-first'), await has('single-second')], [true, true]);
      }
      await assert.rejects(
        h.store.tx(() => h.store.statement(async () => 1)),
        (e) => e instanceof StoreMisuseError && /store.statement\(\) inside a unit of work/.test(e.message),
      );
      // a failing statement loses nothing else and the store goes on
      await assert.rejects(h.store.statement((t) => insertKey(t, 'single-1')));
      await h.store.statement((t) => insertKey(t, 'single-after'));
      assert.equal(await has('single-after'), true);
    });

    it('single-use rows: of 50 parallel consumers exactly one wins, on every kind of row', async () => {
      const now = 1_000_000;
      await h.store.tx(async (t) => {
        await t.insertInto('customers').values({ id: 'cu1', display_name: 'C', created_at: now }).execute();
        await t
          .insertInto('enrolment_codes')
          .values({ code_hash: 'code1', customer_id: 'cu1', expires_at: now + 60_000 })
          .execute();
        await t
          .insertInto('challenges')
          .values([
            { id: 'ch1', purpose: 'authenticate', nonce: 'n', expires_at: now + 60_000 },
            { id: 'ch-expired', purpose: 'authenticate', nonce: 'n', expires_at: now - 1 },
          ])
          .execute();
        await t
          .insertInto('staff')
          .values({
            id: 'st1',
            username: 'u',
            display_name: 'U',
            role: 'agent',
            password_hash: 'x',
            created_at: now,
          })
          .execute();
        await t
          .insertInto('refresh_tokens')
          .values([
            { token_hash: 'rt1', family_id: 'f', staff_id: 'st1', expires_at: now + 60_000 },
            {
              token_hash: 'rt-revoked',
              family_id: 'f',
              staff_id: 'st1',
              expires_at: now + 60_000,
              revoked_at: now - 5,
            },
          ])
          .execute();
      });
      const race = <T>(fn: (t: Tx) => Promise<T>) =>
        Promise.all(Array.from({ length: 50 }, () => h.store.tx(fn)));

      const challenge = await race((t) => consumeOnce(t, 'challenges', 'ch1', now));
      assert.equal(challenge.filter(Boolean).length, 1);
      assert.equal(challenge.find(Boolean)!.used_at, now);

      const code = await race((t) => consumeOnce(t, 'enrolment_codes', 'code1', now));
      assert.deepEqual(
        code.filter(Boolean).map((r) => r!.customer_id),
        ['cu1'],
      );

      const token = await race((t) => consumeOnce(t, 'refresh_tokens', 'rt1', now));
      assert.equal(token.filter(Boolean).length, 1);

      const jti = await race((t) =>
        insertOnce(t, 'used_proofs', { jti: 'jti-1', expires_at: now + 1 }, ['jti']),
      );
      assert.equal(jti.filter(Boolean).length, 1);

      assert.equal(
        (await race((t) => consumeOnce(t, 'challenges', 'ch-expired', now))).filter(Boolean).length,
        0,
      );
      assert.equal(
        (await race((t) => consumeOnce(t, 'refresh_tokens', 'rt-revoked', now))).filter(Boolean).length,
        0,
      );
      assert.equal(
        (await race((t) => consumeOnce(t, 'challenges', 'no-such-id', now))).filter(Boolean).length,
        0,
      );
    });

    it('figures: commits and fsyncs per unit, 64 units one at a time vs 64 at once (printed, not asserted)', async () => {
      const sync = async (label: string, work: () => Promise<void>) => {
        const before = h.store.stats();
        const pids = h.target.engine === 'postgres' ? await serverPids(h.target.url) : [process.pid];
        const fsyncs = await fsyncsDuring(pids, work);
        const s = h.store.stats();
        const units = s.units - before.units;
        const commits = s.commits - before.commits;
        const where = h.target.engine === 'postgres' ? 'by the server' : 'by this process';
        console.log(
          `# ${engine} ${label}: ${units} units, ${commits} commits (${(units / commits).toFixed(1)} units/commit), ` +
            `fsync+fdatasync ${where}: ${fsyncs ?? 'n/a (strace could not attach)'}`,
        );
      };
      let k = 0;
      await sync('one at a time', async () => {
        for (let i = 0; i < 64; i++) await h.store.tx((t) => insertKey(t, `fig-${k++}`));
      });
      await sync('64 at once   ', async () => {
        await Promise.all(Array.from({ length: 64 }, () => h.store.tx((t) => insertKey(t, `fig-${k++}`))));
      });
    });
  });

  describe(`store crash on ${engine}`, () => {
    it('every unit acknowledged before a SIGKILL is in the store after it', async () => {
      const h = await freshTarget(engine);
      await (await openStore(h.target)).close(); // migrated before the clock starts
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', 'test/support/store-crash-child.ts', JSON.stringify(h.target), '8'],
        { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const acked: string[] = [];
      const exited = once(child, 'exit');
      for await (const line of createInterface({ input: child.stdout! })) {
        if (line.startsWith('ack ')) acked.push(line.slice(4));
        if (acked.length === 300) child.kill('SIGKILL');
      }
      await exited;
      const store = await openStore(h.target);
      try {
        const rows = new Set(
          (await store.db.selectFrom('signing_keys').select('kid').execute()).map((r) => r.kid),
        );
        const lost = acked.filter((k) => !rows.has(k));
        console.log(
          `# ${engine}: ${acked.length} acknowledged before SIGKILL, ${rows.size} rows after, ${lost.length} lost`,
        );
        assert.ok(acked.length >= 300);
        assert.deepEqual(lost, []);
      } finally {
        await store.close();
        h.cleanup();
      }
    });
  });
}
