import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { verifyAuditChain } from './audit/audit-log.ts';

/** `npm run audit:verify -- --data-dir DIR`: exit 0 when the chain is intact, 1 with the first broken row otherwise. */
const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
const dataDir = values['data-dir'] ?? process.env.VD_DATA_DIR ?? './data';
const file = join(dataDir, 'authority.sqlite');
if (!existsSync(file)) {
  console.error(`no authority database at ${file}`);
  process.exit(2);
}
const db = new Database(file, { readonly: true, fileMustExist: true });
const r = verifyAuditChain(db);
db.close();
if (r.ok) {
  console.log(`audit chain intact: ${r.rows} rows`);
} else {
  console.log(`audit chain BROKEN at row ${r.firstBrokenSeq}: ${r.reason} (${r.rows} rows read)`);
  process.exit(1);
}
