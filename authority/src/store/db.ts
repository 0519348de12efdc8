import Database from 'better-sqlite3';
import { DatabaseTooNewError, runMigrations, sqliteTarget } from '../../../node-common/migrations.ts';
import { migrations } from './migrations.ts';

export { DatabaseTooNewError };

export type Db = Database.Database;

/**
 * Open (and migrate) the authority's database.
 *
 * Durability: WAL with synchronous=FULL, so a transaction that returned is on disk
 * before the HTTP answer leaves: an acknowledged write survives a SIGKILL or power
 * loss (NORMAL would only survive a process crash). busy_timeout lets a second
 * process (the audit verifier) read while the authority writes.
 */
export function openDatabase(file: string, list = migrations): Db {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, list);
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}

/** Run every pending migration in one transaction; refuse a database from a newer version. */
export function migrate(db: Db, list = migrations): number {
  return runMigrations(sqliteTarget(db), list, 'this authority');
}
