import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyStoreAuditChain } from './store/audit-chain.ts';
import { openReadOnly, StoreConfigError, storeTarget } from './store/engine.ts';

/**
 * `npm run audit:verify -- --data-dir DIR` (SQLite) or `-- --database-url postgres://...`
 * (else VD_DATABASE_URL): exit 0 when the chain is intact, 1 with the first broken row
 * otherwise, 2 when there is no database to read. Read-only on both engines.
 */
const { values } = parseArgs({
  options: { 'data-dir': { type: 'string' }, 'database-url': { type: 'string' } },
});
let target;
try {
  target = storeTarget({
    databaseUrl: values['database-url'],
    dataDir: values['data-dir'] ?? process.env.VD_DATA_DIR ?? './data',
  });
} catch (e) {
  console.error(e instanceof StoreConfigError ? e.message : String(e));
  process.exit(2);
}
if (target.engine === 'sqlite' && !existsSync(target.file)) {
  console.error(`no authority database at ${target.file}`);
  process.exit(2);
}
const store = await openReadOnly(target);
const r = await verifyStoreAuditChain(store.db).finally(() => store.close());
if (r.ok) {
  console.log(`audit chain intact: ${r.rows} rows`);
} else {
  console.log(`audit chain BROKEN at row ${r.firstBrokenSeq}: ${r.reason} (${r.rows} rows read)`);
  process.exit(1);
}
