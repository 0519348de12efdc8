import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const KILLS = Number(process.env.VD_OUTBOX_KILLS ?? 50);
const DELIVERY_KILLS = Math.max(3, Math.round(KILLS / 20));
const root = new URL('../..', import.meta.url).pathname;
// The writer is bundled once with esbuild: a plain node start is ~10x faster than tsx, so many kills fit in CI.
const writerBundle = join(root, '.tmp', `outbox-writer-${process.pid}.mjs`);

/** Run the writer child; SIGKILL it after `killAfterMs`; collect the keys it said were saved. */
function runChild(args: string[], killAfterMs: number | null): Promise<{ lines: string[]; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writerBundle, ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout.on('data', (d) => {
      out += d;
      // Start the clock once the child is really writing: kills land at random points of the save loop.
      if (killAfterMs !== null && !timer && out.includes('saved '))
        timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    });
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (signal !== 'SIGKILL' && code !== 0)
        return reject(new Error(`child exited ${code}: ${err.slice(-2000)}`));
      // A line cut by the kill is not a completed "saved" report.
      const lines = out.split('\n').slice(0, -1);
      resolve({ lines, killed: signal === 'SIGKILL' });
    });
  });
}

describe(`outbox: notes never lost offline (RELIABILITY row 14): ${KILLS} SIGKILLs of the writer`, () => {
  let a: TestAuthority;
  let dataDir: string;
  let requestId: string;
  let fence: number;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));

  before(async () => {
    await build({
      entryPoints: [join(root, 'test/support/outbox-writer.ts')],
      outfile: writerBundle,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    dataDir = mkdtempSync(join(tmpdir(), 'vd-outbox-crash-'));
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    requestId = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request.requestId;
    fence = (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer.fence;
    assert.equal(
      (
        await api(a.url, 'acceptOffer', {
          params: { requestId },
          headers: bearer(agent.token),
          json: { fence },
        })
      ).status,
      200,
    );
  });
  after(async () => {
    await a.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(writerBundle, { force: true });
  });

  it('every save that returned survives, integrity_check is ok, and each reaches the authority exactly once', async () => {
    const t0 = performance.now();
    const saved = new Set<string>();
    for (let k = 0; k < KILLS; k++) {
      const r = await runChild(
        ['write', dataDir, '', '', '', requestId, String(fence)],
        1 + Math.floor(Math.random() * 40),
      );
      assert.ok(r.killed);
      for (const l of r.lines) if (l.startsWith('saved ')) saved.add(l.slice(6));
    }
    const db = new Database(join(dataDir, 'console.sqlite'), { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    const local = new Set(
      db
        .prepare<[], { idempotency_key: string }>('SELECT idempotency_key FROM wrap_ups')
        .all()
        .map((r) => r.idempotency_key),
    );
    const outboxKeys = new Set(
      db
        .prepare<[], { idempotency_key: string }>('SELECT idempotency_key FROM outbox')
        .all()
        .map((r) => r.idempotency_key),
    );
    db.close();
    const lost = [...saved].filter((k) => !local.has(k) || !outboxKeys.has(k));
    assert.equal(lost.length, 0, `lost after kills: ${lost.slice(0, 5).join(', ')}`);
    assert.deepEqual(
      [...local].sort(),
      [...outboxKeys].sort(),
      'every row has its outbox entry and nothing else',
    );

    // Delivery, itself killed a few times mid-flight, then run to the end.
    const args = ['deliver', dataDir, a.url, 'agent1', 'demo-agent-1', requestId, String(fence)];
    for (let k = 0; k < DELIVERY_KILLS; k++) await runChild(args, 20 + Math.floor(Math.random() * 200));
    const last = await runChild(args, null);
    assert.ok(last.lines.includes('drained'));

    const remote = await a.sql<{ idempotency_key: string; n: number }>`
      SELECT idempotency_key, count(*) AS n FROM wrap_ups WHERE request_id = ${requestId} GROUP BY idempotency_key`;
    const remoteKeys = new Set(remote.map((r) => r.idempotency_key));
    const missing = [...saved].filter((k) => !remoteKeys.has(k));
    const duplicated = remote.filter((r) => r.n !== 1).length;
    const unexpected = [...remoteKeys].filter((k) => !local.has(k)).length;
    const after = new Database(join(dataDir, 'console.sqlite'), { readonly: true });
    const unsent = after
      .prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL')
      .get()!.n;
    after.close();
    console.log(
      `outbox crash: kills=${KILLS} (+${DELIVERY_KILLS} during delivery) saves_returned=${saved.size} committed=${local.size} lost=${lost.length} delivered=${remoteKeys.size} missing=${missing.length} duplicated=${duplicated} unexpected=${unexpected} unsent=${unsent} integrity=ok duration=${((performance.now() - t0) / 1000).toFixed(1)}s`,
    );
    assert.equal(missing.length, 0);
    assert.equal(duplicated, 0);
    assert.equal(unexpected, 0);
    assert.equal(unsent, 0);
    assert.ok(saved.size >= KILLS, 'the writer really wrote between kills');
  });
});
