import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrations } from '../../authority/src/store/migrations.ts';
import { DatabaseTooNewError, migrate, openDatabase } from '../../authority/src/store/db.ts';

const plan = (db: Database.Database, sql: string, ...args: unknown[]) =>
  db
    .prepare(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...args)
    .map((r: any) => r.detail as string)
    .join(' | ');

describe('store migrations', () => {
  it('migrates :memory: from 0 to the latest version in one go and sets user_version', () => {
    const db = new Database(':memory:');
    assert.equal(migrate(db), migrations.length);
    assert.equal(db.pragma('user_version', { simple: true }), migrations.length);
    assert.equal(migrate(db), migrations.length, 'second run is a no-op');
  });

  it('runs all pending migrations in one transaction: a failing one leaves the database untouched', () => {
    const db = new Database(':memory:');
    const broken = [
      ...migrations,
      (d: Database.Database) => d.exec('CREATE TABLE extra (x); SELECT * FROM no_such_table;'),
    ];
    assert.throws(() => migrate(db, broken));
    assert.equal(db.pragma('user_version', { simple: true }), 0);
    assert.equal(
      db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get()!.n,
      0,
    );
  });

  it('refuses a database written by a newer version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-mig-'));
    try {
      const file = join(dir, 'a.sqlite');
      openDatabase(file).close();
      const raw = new Database(file);
      raw.pragma(`user_version = ${migrations.length + 1}`);
      raw.close();
      assert.throws(
        () => openDatabase(file),
        (e: unknown) => e instanceof DatabaseTooNewError && /newer/.test((e as Error).message),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens files in WAL with synchronous FULL and foreign keys on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-mig-'));
    try {
      const db = openDatabase(join(dir, 'a.sqlite'));
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.equal(db.pragma('synchronous', { simple: true }), 2);
      assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hot queries use their indexes (EXPLAIN QUERY PLAN)', () => {
    const db = new Database(':memory:');
    migrate(db);
    assert.match(
      plan(db, 'SELECT * FROM devices WHERE customer_id = ?', 'x'),
      /USING INDEX devices_customer/,
    );
    assert.match(
      plan(db, 'SELECT * FROM webauthn_credentials WHERE device_id = ?', 'x'),
      /USING INDEX webauthn_credentials_device/,
    );
    assert.match(
      plan(db, 'SELECT * FROM refresh_tokens WHERE family_id = ?', 'x'),
      /USING INDEX refresh_tokens_family/,
    );
    assert.match(
      plan(db, 'SELECT id FROM knowledge_questions WHERE customer_id = ?', 'x'),
      /USING INDEX knowledge_questions_customer/,
    );
    assert.match(
      plan(db, 'DELETE FROM used_proofs WHERE expires_at < ?', 1),
      /USING (COVERING )?INDEX used_proofs_expiry/,
    );
    assert.match(
      plan(db, 'SELECT * FROM device_tokens WHERE token_hash = ?', 'x'),
      /USING INDEX sqlite_autoindex_device_tokens_1/,
    );
    assert.match(plan(db, 'SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1'), /SCAN audit_log/);
    assert.doesNotMatch(plan(db, 'SELECT * FROM audit_log ORDER BY seq DESC LIMIT 1'), /TEMP B-TREE/);
  });
});
