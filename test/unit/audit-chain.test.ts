import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { verifyAuditChain } from '../../authority/src/audit/audit-log.ts';
import { FakeClock } from '../../authority/src/clock.ts';
import { StoreAuditLog } from '../../authority/src/store/audit-chain.ts';
import { openDatabase } from '../../authority/src/store/db.ts';
import { openStore } from '../../authority/src/store/engine.ts';

const root = new URL('../..', import.meta.url).pathname;

describe('audit log hash chain', () => {
  /** n rows appended through the store (one unit), then the file opened directly, as an attacker would. */
  const fill = async (file: string, n: number) => {
    const store = await openStore({ engine: 'sqlite', file });
    const log = new StoreAuditLog(store, new FakeClock());
    await store.tx(async (t) => {
      for (let i = 0; i < n; i++)
        await log.append(t, {
          actor: `device:d${i}`,
          action: 'auth.pin',
          outcome: i % 3 ? 'success' : 'failure',
          reason: i % 3 ? null : 'wrong PIN',
          data: { i },
        });
    });
    await store.close();
    return openDatabase(file);
  };

  it('is append-only: UPDATE and DELETE are refused by the database', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-audit-'));
    try {
      const db = await fill(join(dir, 'authority.sqlite'), 5);
      assert.throws(
        () => db.prepare("UPDATE audit_log SET outcome = 'success' WHERE seq = 1").run(),
        /append-only/,
      );
      assert.throws(() => db.prepare('DELETE FROM audit_log WHERE seq = 5').run(), /append-only/);
      assert.deepEqual(verifyAuditChain(db), { ok: true, rows: 5, firstBrokenSeq: null, reason: null });
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [name, tamper, reason] of [
    ['a changed outcome', "UPDATE audit_log SET outcome = 'success' WHERE seq = 37", /content/],
    ['a deleted row', 'DELETE FROM audit_log WHERE seq = 37', /missing/],
    [
      'a rewritten row with a recomputed hash',
      "UPDATE audit_log SET reason = 'ok', hash = 'f' || substr(hash, 2) WHERE seq = 37",
      /content/,
    ],
  ] as const) {
    it(`detects ${name} at row 37, in the library and through the CLI (exit 1)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vd-audit-'));
      try {
        const db = await fill(join(dir, 'authority.sqlite'), 100);
        const cli = () =>
          spawnSync(
            process.execPath,
            ['--import', 'tsx', 'authority/src/audit-verify-cli.ts', '--data-dir', dir],
            { cwd: root, encoding: 'utf8' },
          );
        const clean = cli();
        assert.equal(clean.status, 0, clean.stderr);
        assert.match(clean.stdout, /intact: 100 rows/);
        // An attacker with file access drops the triggers first.
        db.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;');
        db.exec(tamper);
        const r = verifyAuditChain(db);
        assert.equal(r.ok, false);
        assert.equal(r.firstBrokenSeq, 37);
        assert.match(r.reason!, reason);
        db.close();
        const broken = cli();
        assert.equal(broken.status, 1);
        assert.match(broken.stdout, /BROKEN at row 37/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
