import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeskCore, BridgeError } from '../../main/core/desk-core.ts';
import { startWebHost, type WebHost } from '../../main/core/web-host.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_PNG, TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';
import WebSocket from 'ws';

/** Resolve with the first event of `name` the core emits. */
const nextEvent = (core: DeskCore, name: string) =>
  new Promise<any>((resolve) => {
    const on = (n: string, p: unknown) => {
      if (n !== name) return;
      core.off('event', on);
      resolve(p);
    };
    core.on('event', on);
  });

describe('main/core against a real authority: bridge validation, offers, panel, wrap-up outbox', () => {
  let a: TestAuthority;
  let core: DeskCore;
  let dataDir: string;

  before(async () => {
    // Real time here: the core's token refresh compares with the wall clock.
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      wrapUpRequired: true,
      wrapUpSeconds: 60,
    });
    dataDir = mkdtempSync(join(tmpdir(), 'vd-console-'));
    core = new DeskCore({ dataDir, defaultAuthorityUrl: a.url, managed: {} });
  });
  after(async () => {
    core.close();
    await a.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('refuses unknown channels and invalid arguments before any handler runs', async () => {
    await assert.rejects(
      core.invoke('fs.readFile', {}),
      (e: unknown) => e instanceof BridgeError && e.code === 'unknown_channel',
    );
    await assert.rejects(
      core.invoke('__proto__', {}),
      (e: unknown) => e instanceof BridgeError && e.code === 'unknown_channel',
    );
    await assert.rejects(
      core.invoke('session.login', { username: 'agent1' }),
      (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
    );
    await assert.rejects(
      core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1', extra: 1 }),
      /invalid_argument|Unrecognized/,
    );
    await assert.rejects(
      core.invoke('settings.set', { authorityUrl: 'file:///etc/passwd' }),
      (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
    );
    await assert.rejects(
      core.invoke('session.login', { username: 'agent1', password: 'wrong-password' }),
      (e: unknown) => e instanceof BridgeError && e.code === 'unauthorized',
    );
  });

  it('logs in, connects, gets the offer live, accepts, shows the panel, saves the wrap-up through the outbox', async () => {
    const connected = nextEvent(core, 'connection.state');
    const staff = await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    assert.equal((staff as any).displayName, 'Dana Reyes');
    assert.equal((await connected).state, 'connecting');
    const snapshot = await nextEvent(core, 'queue.snapshot');
    assert.ok(Array.isArray(snapshot.requests));
    await core.invoke('agent.setPresence', { state: 'available' });
    const offerEvent = nextEvent(core, 'offer');
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_alice_martin_01/enrolment-codes', {
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const req = (await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } })).body.request;
    const offer = await offerEvent;
    assert.equal(offer.requestId, req.requestId);
    const panel: any = await core.invoke('panel.get', { requestId: req.requestId });
    assert.equal(panel.verification.state, 'verified');
    assert.equal(panel.customer.name, 'Alice Martin');
    const accepted: any = await core.invoke('offer.accept', { requestId: req.requestId, fence: offer.fence });
    assert.equal(accepted.state, 'assigned');
    await core.invoke('request.complete', { requestId: req.requestId, fence: offer.fence });
    const saved: any = await core.invoke('wrapUp.save', {
      requestId: req.requestId,
      fence: offer.fence,
      disposition: ['resolved', 'information-given'],
      notes: 'All good.',
    });
    assert.equal(saved.state, 'sent');
    const history: any = await core.invoke('history.list', { limit: 10 });
    assert.equal(history[0].requestId, req.requestId);
    assert.equal(history[0].wrapUpState, 'sent');
    assert.deepEqual(history[0].disposition, ['resolved', 'information-given']);
    const [remote] = await a.sql<{ n: number }>`
      SELECT count(*) AS n FROM wrap_ups WHERE idempotency_key = ${saved.idempotencyKey}`;
    assert.equal(remote!.n, 1);
  });

  it('panel.photo: the enrolment photo comes through the route table; a photo of no one, or a bad id, is refused', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const upload = await d.call('POST', '/v1/device/photos?purpose=enrolment', {
      raw: FAKE_PNG,
      contentType: 'image/png',
    });
    assert.equal(upload.status, 201, JSON.stringify(upload.body));
    const req = (await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } })).body.request;
    const supDir = mkdtempSync(join(tmpdir(), 'vd-console-'));
    const sup = new DeskCore({ dataDir: supDir, defaultAuthorityUrl: a.url, managed: {} });
    try {
      await sup.invoke('session.login', { username: 'supervisor', password: 'demo-supervisor' });
      const panel: any = await sup.invoke('panel.get', { requestId: req.requestId });
      const photoId = panel.photos.enrolment.photoId;
      assert.equal(photoId, upload.body.photoId);
      const url = await sup.invoke('panel.photo', { requestId: req.requestId, photoId });
      assert.equal(url, `data:image/png;base64,${FAKE_PNG.toString('base64')}`);
      await assert.rejects(
        sup.invoke('panel.photo', { requestId: req.requestId, photoId: 'p'.repeat(22) }),
        (e: unknown) => e instanceof BridgeError && e.code === 'not_found',
      );
      await assert.rejects(
        sup.invoke('panel.photo', { requestId: req.requestId, photoId: '../../../v1/admin' }),
        (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
      );
    } finally {
      sup.close();
      rmSync(supDir, { recursive: true, force: true });
    }
  });

  it('browser mode: the bridge opens only with the launch token from the host origin', async () => {
    const rendererDir = mkdtempSync(join(tmpdir(), 'vd-renderer-'));
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(rendererDir, 'index.html'), '<!doctype html><title>console</title>');
    let host: WebHost | null = null;
    try {
      host = await startWebHost({ core, rendererDir });
      const token = new URL(host.launchUrl).hash.slice('#token='.length);
      const page = await fetch(host.url + '/');
      assert.equal(page.status, 200);
      assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
      const traversal = await fetch(host.url + '/..%2f..%2fetc%2fpasswd');
      assert.notEqual(await traversal.text(), (await import('node:fs')).readFileSync('/etc/passwd', 'utf8'));
      const tryOpen = (protocols: string[], origin: string) =>
        new Promise<'open' | 'refused'>((resolve) => {
          const ws = new WebSocket(host!.url.replace('http', 'ws') + '/bridge', protocols, { origin });
          ws.on('open', () => {
            ws.close();
            resolve('open');
          });
          ws.on('error', () => resolve('refused'));
        });
      assert.equal(await tryOpen(['vd-bridge', `token.${token}`], host.url), 'open');
      assert.equal(await tryOpen(['vd-bridge', `token.${token}x`], host.url), 'refused');
      assert.equal(await tryOpen(['vd-bridge'], host.url), 'refused');
      assert.equal(await tryOpen(['vd-bridge', `token.${token}`], 'http://evil.example'), 'refused');
      // A call over the bridge gets the same validation as in Electron.
      const pageSecret = 'page.integration-page-0001'; // the launch link binds to the first page secret
      const ws = new WebSocket(
        host.url.replace('http', 'ws') + '/bridge',
        ['vd-bridge', `token.${token}`, pageSecret],
        {
          origin: host.url,
        },
      );
      await new Promise((r) => ws.on('open', r));
      const answer = new Promise<any>((resolve) =>
        ws.on('message', (m) => {
          const f = JSON.parse(String(m));
          if (f.id === 7) resolve(f);
        }),
      );
      ws.send(JSON.stringify({ id: 7, channel: 'panel.get', args: { requestId: 'not valid!' } }));
      const f = await answer;
      assert.equal(f.ok, false);
      assert.equal(f.error.code, 'invalid_argument');
      ws.close();
    } finally {
      await host?.close();
      rmSync(rendererDir, { recursive: true, force: true });
    }
  });
});
