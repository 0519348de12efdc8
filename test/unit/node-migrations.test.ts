/**
 * node-common's migration runner, used by the authority's store and the console's
 * local store: pending versions only, all of them in one transaction, the version
 * recorded with them, a newer database refused. Over any engine (a target that
 * records what it is asked) and over SQLite (the console's real local store file).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { localMigrations, openLocalDb, type LocalDb } from '../../main/core/local-db.ts';
import { DatabaseTooNewError, runMigrations, type MigrationTarget } from '../../node-common/migrations.ts';

/** An engine that keeps a log: which steps ran, inside which transaction, and the version it holds. */
function recordingEngine(version: number) {
  const log: string[] = [];
  let inTx = false;
  const target: MigrationTarget<string[]> = {
    db: log,
    version: () => version,
    setVersion: (v) => {
      log.push(`${inTx ? 'tx:' : ''}version=${v}`);
      version = v;
    },
    transaction: (work) => {
      log.push('begin');
      inTx = true;
      try {
        work();
        log.push('commit');
      } catch (e) {
        log.push('rollback');
        throw e;
      } finally {
        inTx = false;
      }
    },
  };
  const step = (name: string) => (db: string[]) => void db.push(`${inTx ? 'tx:' : ''}${name}`);
  return { target, log, step };
}

const tables = (db: LocalDb) =>
  db
    .prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name);

describe('migration runner (node-common)', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'vd-runner-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs only the pending versions, in order, in one transaction with the new version', () => {
    const e = recordingEngine(1);
    const list = [e.step('one'), e.step('two'), e.step('three')];
    assert.equal(runMigrations(e.target, list), 3);
    assert.deepEqual(e.log, ['begin', 'tx:two', 'tx:three', 'tx:version=3', 'commit']);
    e.log.length = 0;
    assert.equal(runMigrations(e.target, list), 3);
    assert.deepEqual(e.log, [], 'a current database is not touched');
  });

  it('a failing version rolls back the whole run and leaves the version as it was', () => {
    const e = recordingEngine(0);
    const fail = () => {
      throw new Error('bad step');
    };
    assert.throws(() => runMigrations(e.target, [e.step('one'), fail, e.step('three')]), /bad step/);
    assert.deepEqual(e.log, ['begin', 'tx:one', 'rollback']);
    assert.equal(e.target.version(), 0);
  });

  it('refuses a database written by a newer version, naming both versions and who refuses', () => {
    const e = recordingEngine(5);
    const err = (() => {
      try {
        runMigrations(e.target, [e.step('one')], 'this console');
      } catch (x) {
        return x;
      }
    })();
    assert.ok(err instanceof DatabaseTooNewError);
    assert.deepEqual([err.found, err.supported], [5, 1]);
    assert.match(err.message, /version 5 is newer than this console supports \(1\)/);
    assert.deepEqual(e.log, [], 'nothing ran');
  });

  it("SQLite: the console's local store from empty, from an older version, and refused when newer", () => {
    const file = join(dir, 'console.sqlite');
    const old = new Database(file);
    localMigrations[0]!(old);
    old.pragma('user_version = 1');
    old.close();
    const db = openLocalDb(file);
    assert.equal(db.pragma('user_version', { simple: true }), localMigrations.length);
    assert.ok(tables(db).includes('command_seqs'), 'the pending version ran');
    db.close();

    const raw = new Database(file);
    raw.pragma(`user_version = ${localMigrations.length + 1}`);
    raw.close();
    assert.throws(() => openLocalDb(file), DatabaseTooNewError);

    const broken = join(dir, 'broken.sqlite');
    const bad = [
      ...localMigrations,
      (d: LocalDb) => d.exec('CREATE TABLE extra (x); SELECT * FROM nowhere;'),
    ];
    assert.throws(() => openLocalDb(broken, bad), /nowhere/);
    const after = new Database(broken);
    assert.equal(after.pragma('user_version', { simple: true }), 0);
    assert.deepEqual(tables(after), [], 'all or nothing');
    after.close();
  });
});
