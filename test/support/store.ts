import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  openStore,
  type Engine,
  type Store,
  type StoreOptions,
  type StoreTarget,
} from '../../authority/src/store/engine.ts';
import type { Clock } from '../../authority/src/clock.ts';
import { Data } from '../../authority/src/store/repos/index.ts';
import { createTestDatabase } from './postgres.ts';

export { testEngines } from './postgres.ts';

/** A fresh, empty target: a SQLite file in a temp dir, or a new database in the process's PostgreSQL cluster. */
export async function freshTarget(engine: Engine): Promise<{ target: StoreTarget; cleanup: () => void }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'vd-store-'));
    return {
      target: { engine, file: join(dir, 'authority.sqlite') },
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  return { target: { engine, url: await createTestDatabase('store') }, cleanup: () => {} };
}

/** A migrated store on a fresh target; close() closes it and removes its files. */
export async function openTestStore(
  engine: Engine,
  opts: StoreOptions = {},
): Promise<{ store: Store; target: StoreTarget; close: () => Promise<void> }> {
  const { target, cleanup } = await freshTarget(engine);
  const store = await openStore(target, opts);
  return {
    store,
    target,
    close: async () => {
      await store.close();
      cleanup();
    },
  };
}

/**
 * Repositories on a fresh, migrated store of `engine` (what the domain gets as ctx.data):
 * `data.tx(async (r) => ...)` and `data.read`. The clock is the caller's (a FakeClock
 * lets a test move time).
 */
export async function openTestData(
  engine: Engine,
  clock: Clock = { now: () => Date.now() },
  opts: StoreOptions = {},
): Promise<{ data: Data; store: Store; target: StoreTarget; close: () => Promise<void> }> {
  const s = await openTestStore(engine, opts);
  return { ...s, data: new Data(s.store, clock) };
}
