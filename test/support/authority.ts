import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql as kyselySql } from 'kysely';
import { FakeClock, type Clock } from '../../authority/src/clock.ts';
import { parseConfig, type ConfigInput } from '../../authority/src/config.ts';
import { startAuthority, type RunningAuthority } from '../../authority/src/server.ts';
import { openReadOnly, type Engine, type StoreTarget } from '../../authority/src/store/engine.ts';
import { createTestDatabase } from './postgres.ts';

export interface TestAuthority extends RunningAuthority {
  dataDir: string;
  clock: Clock;
  engine: Engine;
  /**
   * SQL on the authority's store, on either engine: parameters are `${...}` values (Kysely's
   * `sql` template: `?` on SQLite, `$1` on PostgreSQL). Runs in a unit of work of its own,
   * so it reads committed data and may write. Returns the rows (none for a write without
   * RETURNING). Write portable SQL (no SQLite-only functions; `LIKE` is case-sensitive on
   * PostgreSQL; a count is `count(*)`, a number on both).
   *
   *   const [row] = await a.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${id}`;
   */
  sql<R = Record<string, unknown>>(strings: TemplateStringsArray, ...values: unknown[]): Promise<R[]>;
  /** Stop and delete the data dir. */
  dispose(): Promise<void>;
}

export const TEST_PEPPER = 'test-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * The engine test authorities run on: VD_TEST_ENGINE (`sqlite`, the default, or
 * `postgres`). scripts/test-all.mjs runs the integration suite once per engine of
 * VD_TEST_ENGINES.
 */
export function testEngine(): Engine {
  const e = process.env.VD_TEST_ENGINE ?? 'sqlite';
  if (e !== 'sqlite' && e !== 'postgres')
    throw new Error(`VD_TEST_ENGINE: unknown engine "${e}" (sqlite, postgres)`);
  return e;
}

/**
 * A suite of several nodes runs in the PostgreSQL pass only (nodes share one database):
 * its `skip` option elsewhere.
 */
export const manyNodesOnly = (): false | string =>
  testEngine() === 'postgres' ? false : 'PostgreSQL only (nodes share one database): the PostgreSQL pass';

/**
 * `count` authority nodes in this process on one database (PostgreSQL when more than
 * one): the first seeds it, the others share it (`shareDatabaseOf`), all with the same
 * configuration and clock. Dispose them in reverse order.
 */
export async function startNodes(
  count: number,
  overrides: Partial<ConfigInput> = {},
  opts: Pick<StartOptions, 'clock'> = {},
): Promise<TestAuthority[]> {
  const first = await startTestAuthority(overrides, {
    ...opts,
    ...(count > 1 ? { engine: 'postgres' } : {}),
  });
  const nodes = [first];
  while (nodes.length < count)
    nodes.push(await startTestAuthority(overrides, { ...opts, shareDatabaseOf: first }));
  return nodes;
}

/** PostgreSQL databases handed out per data dir: a restart on the same data dir reopens the same database. */
const databases = new Map<string, Promise<string>>();

/**
 * The PostgreSQL database that goes with a data dir: created (fresh, in the process's
 * throwaway cluster, test/support/postgres.ts) on first use, the same one afterwards.
 */
export function testDatabaseFor(dataDir: string): Promise<string> {
  let url = databases.get(dataDir);
  if (!url) databases.set(dataDir, (url = createTestDatabase('authority')));
  return url;
}

/** Where an authority on `dataDir` keeps its data on `engine` (for tools and tests that read it directly). */
export async function testStoreTarget(dataDir: string, engine: Engine = testEngine()): Promise<StoreTarget> {
  return engine === 'postgres'
    ? { engine, url: await testDatabaseFor(dataDir) }
    : { engine, file: join(dataDir, 'authority.sqlite') };
}

/**
 * A read-only handle on the data of an authority on `dataDir` (e.g. after it was
 * SIGKILLed): Kysely on either engine. Close it when done.
 */
export async function openTestStoreReadOnly(dataDir: string, engine: Engine = testEngine()) {
  return openReadOnly(await testStoreTarget(dataDir, engine));
}

/**
 * A real authority on 127.0.0.1 (random port), demo data seeded, on a fresh SQLite file or
 * (VD_TEST_ENGINE=postgres, or opts.engine) a fresh PostgreSQL database. Given the
 * `dataDir` of an earlier one (keepData), it reopens the same data on either engine.
 */
/** How startTestAuthority runs its authority. */
export interface StartOptions {
  clock?: Clock;
  dataDir?: string;
  keepData?: boolean;
  engine?: Engine;
  /** Another node on the same PostgreSQL database as this (running) authority (its own data dir). */
  shareDatabaseOf?: TestAuthority;
  /** fastify's logger options (e.g. `{ level: 'info', stream }` to read the log lines); none by default. */
  logger?: object;
}

export async function startTestAuthority(
  overrides: Partial<ConfigInput> = {},
  opts: StartOptions = {},
): Promise<TestAuthority> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'vd-authority-'));
  const engine = opts.shareDatabaseOf?.engine ?? opts.engine ?? testEngine();
  if (opts.shareDatabaseOf && engine !== 'postgres')
    throw new Error('only authorities on PostgreSQL share a database (SQLite is one process)');
  const databaseUrl =
    overrides.databaseUrl ??
    (opts.shareDatabaseOf
      ? await testDatabaseFor(opts.shareDatabaseOf.dataDir)
      : engine === 'postgres'
        ? await testDatabaseFor(dataDir)
        : undefined);
  const config = parseConfig({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    pinPepper: TEST_PEPPER,
    demo: true,
    logLevel: 'silent',
    ...overrides,
    ...(databaseUrl !== undefined ? { databaseUrl } : {}),
  });
  const clock = opts.clock ?? { now: () => Date.now() };
  const running = await startAuthority(config, { clock, logger: opts.logger ?? false });
  return {
    ...running,
    dataDir,
    clock,
    engine: running.store.engine,
    async sql<R>(strings: TemplateStringsArray, ...values: unknown[]): Promise<R[]> {
      const r = await running.store.tx((t) => kyselySql<R>(strings, ...values).execute(t));
      return r.rows;
    },
    async dispose() {
      await running.stop();
      if (!opts.keepData) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export { FakeClock };
