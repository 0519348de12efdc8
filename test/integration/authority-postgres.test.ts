/**
 * The authority served from PostgreSQL (`--database-url` / VD_DATABASE_URL): the demo
 * works, a restart keeps the data, the audit chain verifies, and the legacy SQLite
 * handle is a stand-in that throws on any use (no module may reach it on PostgreSQL).
 * Runs on PostgreSQL whatever VD_TEST_ENGINE says (skipped when VD_TEST_ENGINES has no postgres).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startTestAuthority, testDatabaseFor } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { testEngines } from '../support/postgres.ts';
import { AuthorityProcess, freePort, REPO_ROOT } from '../support/process.ts';

const skip = !testEngines().includes('postgres') && 'VD_TEST_ENGINES has no postgres';

describe('the authority on PostgreSQL', { skip }, () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('serves the demo, keeps its data across a restart, and refuses the legacy SQLite handle', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-authority-pg-'));
    dirs.push(dataDir);
    const a = await startTestAuthority({}, { engine: 'postgres', dataDir, keepData: true });
    let auditRows: number;
    try {
      assert.equal(a.engine, 'postgres');
      assert.equal(a.store.engine, 'postgres');
      const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin),
      });
      assert.equal(code.status, 201, JSON.stringify(code.body));
      const [n] = await a.sql<{ n: number }>`SELECT count(*) AS n FROM staff WHERE username = ${'admin'}`;
      assert.equal(Number(n!.n), 1);
      auditRows = (await a.sql`SELECT seq FROM audit_log`).length;
      assert.ok(auditRows > 0);
    } finally {
      await a.dispose();
    }
    // No SQLite file was written beside the secrets.
    assert.equal(spawnSync('ls', [dataDir], { encoding: 'utf8' }).stdout.includes('authority.sqlite'), false);
    const b = await startTestAuthority({}, { engine: 'postgres', dataDir });
    try {
      const codes =
        await b.sql`SELECT customer_id FROM enrolment_codes WHERE customer_id = ${'c_alice_martin_01'}`;
      assert.ok(codes.length >= 1, 'the enrolment code issued before the restart is still there');
      const audit = await b.sql`SELECT seq FROM audit_log`;
      assert.ok(audit.length >= auditRows!, `audit rows kept: ${audit.length} >= ${auditRows!}`);
    } finally {
      await b.dispose();
    }
  });

  it('`npm run authority -- --database-url` serves the demo; audit:verify reads the chain there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-authority-pg-cli-'));
    dirs.push(dir);
    const url = await testDatabaseFor(join(dir, 'data'));
    const authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'data'),
      args: ['--database-url', url],
      engine: 'sqlite', // the flag alone picks PostgreSQL
    });
    await authority.start();
    try {
      const admin = await staffLogin(authority.url, 'admin', 'demo-admin-1');
      assert.ok(admin.token);
    } finally {
      await authority.stop();
    }
    const v = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'authority/src/audit-verify-cli.ts', '--database-url', url],
      { cwd: REPO_ROOT, encoding: 'utf8' },
    );
    assert.equal(v.status, 0, v.stderr + v.stdout);
  });
});
