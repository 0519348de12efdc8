/**
 * Durable write units per second through the store (authority/src/store/engine.ts): 1, 16
 * and 64 callers each looping `store.tx(insert one small row)` for a fixed time, on SQLite
 * with group commit (WAL, synchronous=FULL) and on PostgreSQL (a throwaway cluster from
 * test/support/postgres.ts, synchronous_commit on, pool of 10). Baseline in the same run: a
 * raw better-sqlite3 loop, one INSERT and one COMMIT each, same pragmas, same row.
 * Printed, never asserted.
 *
 *   npx tsx bench/store-commit.ts      (or `npm run bench -- store-commit`)
 *
 * Size: VD_BENCH_STORE_MS (default 500 ms per configuration). Files under the OS temp dir
 * (TMPDIR=/dev/shm shows the figures without a disk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import BetterSqlite3 from 'better-sqlite3';
import { openStore, type Store, type StoreTarget } from '../authority/src/store/engine.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const MS = Number(process.env.VD_BENCH_STORE_MS ?? 500);
export const STORE_CONCURRENCY = [1, 16, 64] as const;

export interface StoreRun {
  concurrency: number;
  units: number;
  perSecond: number;
  commits: number;
}
export interface StoreCommitFigures {
  ms: number;
  dir: string;
  raw: { units: number; perSecond: number };
  sqlite: StoreRun[];
  postgres: StoreRun[] | null;
  postgresError?: string;
}

async function runStore(store: Store, concurrency: number): Promise<StoreRun> {
  const before = store.stats();
  let n = 0;
  const t0 = performance.now();
  const end = t0 + MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const i = n++;
        await store.tx((t) =>
          t.insertInto('handle_times').values({ queue_id: 'bench', seconds: i, at: i }).execute(),
        );
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const s = store.stats();
  return {
    concurrency,
    units: s.units - before.units,
    perSecond: (s.units - before.units) / seconds,
    commits: s.commits - before.commits,
  };
}

async function runTarget(target: StoreTarget): Promise<StoreRun[]> {
  const store = await openStore(target);
  try {
    await runStore(store, 4); // warm-up: statements prepared, pool connected
    const runs: StoreRun[] = [];
    for (const c of STORE_CONCURRENCY) runs.push(await runStore(store, c));
    return runs;
  } finally {
    await store.close();
  }
}

function runRaw(file: string): { units: number; perSecond: number } {
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  const insert = db.prepare('INSERT INTO handle_times (queue_id, seconds, at) VALUES (?, ?, ?)');
  const one = db.transaction((i: number) => insert.run('raw', i, i));
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < MS) one(n++);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return { units: n, perSecond: n / seconds };
}

export async function benchStoreCommit(): Promise<StoreCommitFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-store-'));
  try {
    const sqlite = await runTarget({ engine: 'sqlite', file: join(dir, 'store.sqlite') });
    const raw = runRaw(join(dir, 'store.sqlite'));
    let postgres: StoreRun[] | null = null;
    let postgresError: string | undefined;
    try {
      postgres = await runTarget({ engine: 'postgres', url: await createTestDatabase('bench') });
    } catch (e) {
      postgresError = (e as Error).message.split('\n')[0];
    }
    return { ms: MS, dir, raw, sqlite, postgres, ...(postgresError ? { postgresError } : {}) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printStoreCommit(f: StoreCommitFigures): void {
  const fmt = (x: number, d = 0) =>
    x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  console.log(
    `\nstore commits: durable write units per second, ${f.ms} ms per row, files in ${tmpdir()} ` +
      '(one small INSERT per unit; 1 / 16 / 64 callers looping store.tx)',
  );
  console.log(
    `  raw better-sqlite3, one COMMIT each (baseline): ${fmt(f.raw.perSecond).padStart(7)} units/s (${f.raw.units})`,
  );
  const rows = (name: string, runs: StoreRun[]) => {
    for (const r of runs)
      console.log(
        `  ${name} x${String(r.concurrency).padEnd(3)} ${fmt(r.perSecond).padStart(7)} units/s, ` +
          `${fmt(r.units / Math.max(1, r.commits), 1).padStart(5)} units/commit, ` +
          `${fmt(r.perSecond / f.raw.perSecond, 2)}x raw`,
      );
  };
  rows('SQLite store (group commit)', f.sqlite);
  if (f.postgres) rows('PostgreSQL store           ', f.postgres);
  else console.log(`  PostgreSQL: not measured (${f.postgresError})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printStoreCommit(await benchStoreCommit());
  process.exit(0);
}
