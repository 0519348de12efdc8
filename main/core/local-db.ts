import Database from 'better-sqlite3';
import { runMigrations, sqliteTarget } from '../../node-common/migrations.ts';

export { DatabaseTooNewError } from '../../node-common/migrations.ts';

export type LocalDb = Database.Database;

/**
 * The console's local store: call history, wrap-ups with their outbox, settings,
 * the command sequence numbers.
 * Migrated by node-common's runner: one numbered migration per version (PRAGMA
 * user_version), all pending ones in one transaction, a database from a newer version
 * refused (the Signal Desktop way).
 */
export const localMigrations: ReadonlyArray<(db: LocalDb) => void> = [
  (db) =>
    db.exec(`
      CREATE TABLE history (
        request_id TEXT PRIMARY KEY,
        customer_name TEXT NOT NULL,
        option_label TEXT NOT NULL,
        level INTEGER NOT NULL,
        fence INTEGER NOT NULL,
        accepted_at INTEGER NOT NULL,
        completed_at INTEGER
      ) STRICT;
      CREATE INDEX history_accepted ON history(accepted_at DESC);

      CREATE TABLE wrap_ups (
        idempotency_key TEXT PRIMARY KEY,
        request_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        disposition TEXT NOT NULL,
        notes TEXT NOT NULL,
        saved_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX wrap_ups_request ON wrap_ups(request_id);

      -- Transactional outbox: an entry is written in the same transaction as its row,
      -- sent with backoff, and marked sent only when the authority acknowledged it.
      CREATE TABLE outbox (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        sent_at INTEGER,
        rejected_at INTEGER
      ) STRICT;
      CREATE INDEX outbox_due ON outbox(sent_at, rejected_at, next_attempt_at);

      CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `),
  // Remote control: the last command seq used per (request, fence), so a restart never reuses one.
  (db) =>
    db.exec(`
      CREATE TABLE command_seqs (
        request_id TEXT NOT NULL,
        fence INTEGER NOT NULL,
        last_seq INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (request_id, fence)
      ) STRICT;
      CREATE INDEX command_seqs_updated ON command_seqs(updated_at);
    `),
];

export function openLocalDb(file: string, list = localMigrations): LocalDb {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // A note whose save returned must survive a SIGKILL or a power cut: FULL syncs the WAL on every commit.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  try {
    runMigrations(sqliteTarget(db), list, 'this console');
  } catch (e) {
    db.close();
    throw e;
  }
  return db;
}
