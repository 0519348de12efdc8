/**
 * A webhook survives a SIGKILL of the authority in the middle of its delivery: the
 * receiver has the POST but the authority dies before the answer. After the restart the
 * delivery (claimed durably before the send) is retried after its backoff: the receiver
 * sees the same event id again, drops nothing, and the admins' log shows it delivered on
 * the second attempt. The authority runs as a child process (test/support/process.ts).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { webhookSignature } from '../../authority/src/crm/webhooks.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';
import { until } from '../support/wait.ts';

const SECRET = 'webhook-crash-secret-0123456789abcdefghij';

describe('webhooks across a SIGKILL mid-delivery', () => {
  let dir: string;
  let authority: AuthorityProcess;
  const seen: { eventId: string; type: string; signed: boolean }[] = [];
  const held: ServerResponse[] = [];
  let hold = true;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-vd-timestamp']);
      seen.push({
        eventId: String(req.headers['x-vd-event-id']),
        type: String(req.headers['x-vd-event-type']),
        signed: req.headers['x-vd-signature'] === `v1=${webhookSignature(SECRET, ts, raw)}`,
      });
      // The first delivery is left hanging: the authority is killed while it waits.
      if (hold) {
        hold = false;
        held.push(res);
        return;
      }
      res.writeHead(204).end();
    });
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-webhooks-crash-'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_LOG_LEVEL: 'warn',
        VD_WEBHOOK_URLS: `http://127.0.0.1:${port}/hooks`,
        VD_WEBHOOK_SECRET: SECRET,
        VD_WEBHOOK_RETRY_SECONDS: '0.2',
      },
    });
    await authority.start();
  });
  after(async () => {
    await authority?.stop();
    for (const r of held) r.destroy();
    await new Promise<void>((ok) => server.close(() => ok()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('the event killed mid-delivery is delivered after the restart, with the same idempotency id', async () => {
    const agent = await staffLogin(authority.url, 'agent1', 'demo-agent-1');
    await api(authority.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    const admin = (await staffLogin(authority.url, 'admin', 'demo-admin-1')).token;
    const code = await api(authority.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const device = await new TestDevice(authority.url).enrolAndAuthenticate(code.body.code);
    const q = await device.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId: string = q.body.request.requestId;
    const me = await api(authority.url, 'agentMe', { headers: bearer(agent.token) });
    const accepted = await api(authority.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence: me.body.offer.fence },
    });
    assert.equal(accepted.status, 200, 'the agent is answered at once, whatever the receiver does');

    await until('the first delivery reached the receiver', () => seen.length >= 1, { timeoutMs: 10_000 });
    const first = seen[0]!;
    assert.equal(first.type, 'request.accepted');
    await authority.kill();
    await authority.start();

    // Retried once the killed attempt's timeout (10 s) and its backoff have passed.
    await until('the same event delivered again after the restart', () => seen.length >= 2, {
      timeoutMs: 40_000,
    });
    assert.equal(
      seen[1]!.eventId,
      first.eventId,
      'the same idempotency id: the receiver can drop a duplicate',
    );
    assert.ok(
      seen.every((s) => s.signed),
      'every attempt signed',
    );
    const admin2 = (await staffLogin(authority.url, 'admin', 'demo-admin-1')).token;
    const log = await until(
      'the delivery marked delivered',
      async () => {
        const r = await api(authority.url, 'webhookDeliveries', { headers: bearer(admin2) });
        const d = r.body.deliveries?.find((x: any) => x.eventId === first.eventId);
        return d?.state === 'delivered' && d;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(log.attempts, 2, 'the killed attempt counts: claimed before the send');
    assert.equal(log.lastStatus, 204);
  });
});
