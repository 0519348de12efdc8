/**
 * Issue 12 item 4: a node stops cleanly among several. SIGTERM with VD_DRAIN_SECONDS:
 * `/healthz` answers 503 `draining` at once (HAProxy's check takes the node out), the
 * node still answers the API meanwhile (what is in flight finishes), then its sockets
 * close with 1012 (service restart: clients reconnect through the balancer) and the
 * process exits 0. The authority runs as a real child process (either engine).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WS_CLOSE } from '../../protocol/src/index.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';

describe('a clean stop drains: /healthz 503, the API still answers, sockets close with 1012', () => {
  let dir: string;
  let node: AuthorityProcess;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-drain-'));
    node = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: { VD_LOG_LEVEL: 'warn', VD_DRAIN_SECONDS: '2', VD_ACCESS_TOKEN_SECONDS: '3600' },
    });
    await node.start();
  });
  after(async () => {
    await node?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGTERM: draining on /healthz, answers meanwhile, then 1012 and exit 0', async () => {
    const healthy = await api(node.url, 'health');
    assert.equal(healthy.status, 200);
    const agent = await staffLogin(node.url, 'agent1', 'demo-agent-1');
    const ws = await TestSocket.open(node.url);
    ws.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent.token } });
    assert.equal((await ws.next()).type, 'welcome');

    const stopped = node.stop();
    const draining = await until('/healthz says draining', async () => {
      const h = await api(node.url, 'health');
      return h.status === 503 ? h : undefined;
    });
    assert.equal(draining.body.code, 'draining', JSON.stringify(draining.body));
    // Still serving while the balancer takes the node out.
    const me = await api(node.url, 'agentMe', { headers: bearer(agent.token) });
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(ws.closeCode, null, 'the socket stays open while draining');

    const closed = await ws.closed;
    assert.equal(closed.code, WS_CLOSE.serviceRestart);
    await stopped;
    assert.equal(node.child?.exitCode, 0, 'a clean exit');
  });
});
