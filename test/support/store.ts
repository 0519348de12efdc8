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
