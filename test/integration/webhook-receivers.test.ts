import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../authority/src/config.ts';
import { webhookSignature } from '../../authority/src/crm/webhooks.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

/**
 * Each webhook receiver has its own signing secret (VD_WEBHOOK_RECEIVERS); receivers
 * listed in VD_WEBHOOK_URLS use VD_WEBHOOK_SECRET. A receiver checks the signature with its
 * own secret: another receiver's secret never verifies it.
 */
const SECRET_A = 'secret-of-receiver-a-0123456789abcdefghij';
const SECRET_B = 'secret-of-receiver-b-0123456789abcdefghij';
const SECRET_DEFAULT = 'the-default-webhook-secret-0123456789abcd';

interface Delivery {
  eventId: string;
  type: string;
  timestamp: string;
  signature: string;
  raw: string;
}

/** A loopback receiver that accepts (204) only what its own secret verifies, 401 otherwise. */
function receiver(secret: string, opts: { fail?: boolean } = {}) {
  const valid: Delivery[] = [];
  const refused: Delivery[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests++;
      const d: Delivery = {
        eventId: String(req.headers['x-vd-event-id']),
        type: String(req.headers['x-vd-event-type']),
        timestamp: String(req.headers['x-vd-timestamp']),
        signature: String(req.headers['x-vd-signature']),
        raw: Buffer.concat(chunks).toString('utf8'),
      };
      if (opts.fail) return void res.writeHead(503).end('down for maintenance');
      const ok = d.signature === `v1=${webhookSignature(secret, d.timestamp, d.raw)}`;
      (ok ? valid : refused).push(d);
      res.writeHead(ok ? 204 : 401).end();
    });
  });
  return {
    valid,
    refused,
    requests: () => requests,
    url: '',
    async listen(): Promise<string> {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
      return this.url;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const signedWith = (secret: string, d: Delivery) =>
  d.signature === `v1=${webhookSignature(secret, d.timestamp, d.raw)}`;

/** A customer steps up with a PIN: one verification.changed event for every receiver. */
async function stepUp(a: TestAuthority): Promise<void> {
  const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  const code = await api(a.url, 'issueEnrolmentCode', {
    params: { customerId: 'c_alice_martin_01' },
    headers: bearer(admin),
  });
  const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
  assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
}

async function deliveries(a: TestAuthority): Promise<any[]> {
  const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  const r = await api(a.url, 'webhookDeliveries', { query: { limit: 500 }, headers: bearer(admin) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.deliveries;
}

describe('webhook receivers, each with its own secret', () => {
  const a1 = receiver(SECRET_A);
  const b1 = receiver(SECRET_B);
  const legacy = receiver(SECRET_DEFAULT);
  const retired = receiver(SECRET_DEFAULT, { fail: true });
  let a: TestAuthority;
  let dataDir: string;
  before(async () => {
    a = await startTestAuthority(
      {
        webhookReceivers: [
          { url: await a1.listen(), secret: SECRET_A },
          { url: await b1.listen(), secret: SECRET_B },
          { url: await retired.listen() }, // no secret of its own: the default one
        ],
        webhookUrls: [await legacy.listen()],
        webhookSecret: SECRET_DEFAULT,
        webhookRetrySeconds: 3600,
        webhookSweepSeconds: 0.05,
      },
      { keepData: true },
    );
    dataDir = a.dataDir;
  });
  after(async () => {
    await a.dispose();
    for (const r of [a1, b1, legacy, retired]) await r.close();
  });

  it("each receiver verifies its own signature; another receiver's secret does not verify it", async () => {
    await stepUp(a);
    await until(
      'the event at every receiver',
      () => a1.valid.length > 0 && b1.valid.length > 0 && legacy.valid.length > 0 && retired.requests() > 0,
    );
    assert.deepEqual(a1.refused, [], 'A refused nothing: every delivery to A is signed with its secret');
    assert.deepEqual(b1.refused, []);
    assert.deepEqual(legacy.refused, []);
    const [ta] = a1.valid;
    const [tb] = b1.valid;
    const [tl] = legacy.valid;
    assert.equal(ta!.type, 'verification.changed');
    assert.equal(ta!.eventId, tb!.eventId, 'the same event, the same idempotency id');
    assert.ok(signedWith(SECRET_A, ta!) && !signedWith(SECRET_B, ta!) && !signedWith(SECRET_DEFAULT, ta!));
    assert.ok(signedWith(SECRET_B, tb!) && !signedWith(SECRET_A, tb!) && !signedWith(SECRET_DEFAULT, tb!));
    assert.ok(signedWith(SECRET_DEFAULT, tl!) && !signedWith(SECRET_A, tl!) && !signedWith(SECRET_B, tl!));
    // A's signed request replayed to B (as if A's secret leaked, or A forwarded it): B refuses it.
    const forwarded = await fetch(b1.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-vd-event-id': ta!.eventId,
        'x-vd-event-type': ta!.type,
        'x-vd-timestamp': ta!.timestamp,
        'x-vd-signature': ta!.signature,
      },
      body: ta!.raw,
    });
    assert.equal(forwarded.status, 401);

    const log = await deliveries(a);
    const byUrl = new Map(log.map((d) => [d.endpoint, d.state]));
    assert.equal(byUrl.get(a1.url), 'delivered');
    assert.equal(byUrl.get(b1.url), 'delivered');
    assert.equal(byUrl.get(legacy.url), 'delivered');
    assert.equal(byUrl.get(retired.url), 'pending', '503: retried in an hour');
    const shown = JSON.stringify(log);
    for (const s of [SECRET_A, SECRET_B, SECRET_DEFAULT])
      assert.ok(!shown.includes(s), 'no secret in the log');
  });

  it('a receiver removed from the configuration gets nothing more: its pending deliveries are given up', async () => {
    const before = retired.requests();
    await a.dispose();
    a = await startTestAuthority(
      {
        webhookReceivers: [
          { url: a1.url, secret: SECRET_A },
          { url: b1.url, secret: SECRET_B },
        ],
        webhookUrls: [legacy.url],
        webhookSecret: SECRET_DEFAULT,
        webhookRetrySeconds: 0.05,
        webhookSweepSeconds: 0.05,
      },
      { dataDir, keepData: false },
    );
    await until("the retired receiver's delivery given up", async () =>
      (await deliveries(a)).some((d) => d.endpoint === retired.url && d.state === 'dead'),
    );
    const dead = (await deliveries(a)).find((d) => d.endpoint === retired.url)!;
    assert.equal(dead.lastError, 'the receiver is no longer configured');
    assert.equal(retired.requests(), before, 'never sent to it again');
    // The others still receive the next event.
    const seen = a1.valid.length;
    await stepUp(a);
    await until('A hears the next event', () => a1.valid.length > seen);
  });
});

describe('webhook receivers configuration', () => {
  const env = (more: Record<string, string>) => loadConfig([], { VD_DATA_DIR: '/tmp/vd-x', ...more });

  it('VD_WEBHOOK_RECEIVERS is a JSON list of {url, secret}; VD_WEBHOOK_URLS use VD_WEBHOOK_SECRET', () => {
    const c = env({
      VD_WEBHOOK_RECEIVERS: JSON.stringify([
        { url: 'https://crm-a.example/hooks', secret: SECRET_A },
        { url: 'https://crm-b.example/hooks' },
      ]),
      VD_WEBHOOK_URLS: 'https://crm-c.example/hooks',
      VD_WEBHOOK_SECRET: SECRET_DEFAULT,
    });
    assert.deepEqual(c.webhookReceivers, [
      { url: 'https://crm-a.example/hooks', secret: SECRET_A },
      { url: 'https://crm-b.example/hooks' },
    ]);
    assert.deepEqual(c.webhookUrls, ['https://crm-c.example/hooks']);
  });

  it('refused: not JSON, a short secret, a receiver without any secret, the same URL twice', () => {
    assert.throws(
      () => env({ VD_WEBHOOK_RECEIVERS: 'https://crm.example/hooks' }),
      (e: Error) => {
        assert.ok(e instanceof ConfigError);
        assert.match(e.message, /VD_WEBHOOK_RECEIVERS/);
        return true;
      },
    );
    assert.throws(
      () =>
        env({ VD_WEBHOOK_RECEIVERS: JSON.stringify([{ url: 'https://crm.example/h', secret: 'short' }]) }),
      /at least 32 characters/,
    );
    assert.throws(
      () => env({ VD_WEBHOOK_RECEIVERS: JSON.stringify([{ url: 'https://crm.example/h' }]) }),
      /VD_WEBHOOK_SECRET/,
    );
    assert.throws(() => env({ VD_WEBHOOK_URLS: 'https://crm.example/h' }), /VD_WEBHOOK_SECRET/);
    assert.throws(
      () =>
        env({
          VD_WEBHOOK_RECEIVERS: JSON.stringify([{ url: 'https://crm.example/h', secret: SECRET_A }]),
          VD_WEBHOOK_URLS: 'https://crm.example/h',
          VD_WEBHOOK_SECRET: SECRET_DEFAULT,
        }),
      /more than once/,
    );
  });
});
