import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '../../authority/src/clock.ts';
import type { Config } from '../../authority/src/config.ts';
import { createServices, type Services } from '../../authority/src/services.ts';
import { openDatabase, type Db } from '../../authority/src/store/db.ts';
import { openStore, type Store } from '../../authority/src/store/engine.ts';

export interface TestServices {
  svc: Services;
  db: Db;
  store: Store;
  dir: string;
  close(): Promise<void>;
}

/**
 * The authority's services without HTTP, on a fresh SQLite file in a temp dir. `db` is the
 * test's own synchronous handle for seeding and reading rows: the store writes through this
 * same connection (`sharedWriter`), so the test's writes never wait on the store's lock.
 */
export async function openTestServices(
  config: Config & { pinPepper: string },
  clock: Clock,
): Promise<TestServices> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-services-'));
  const file = join(dir, 'authority.sqlite');
  const db = openDatabase(file);
  const store = await openStore({ engine: 'sqlite', file }, { sharedWriter: db });
  const svc = await createServices(store, config, clock);
  return {
    svc,
    db,
    store,
    dir,
    async close() {
      await store.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
