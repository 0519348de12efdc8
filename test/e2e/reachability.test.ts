/**
 * Issue 15, defect 3 in Chromium: "You can leave the app: we will call this phone" is
 * kept. Chen (a simulated phone over the real API and WebSocket, with a Web Push
 * subscription to a push service on 127.0.0.1) queues and closes the app: the
 * console's queue row and offer card say "Phone offline — last seen …"; the agent
 * accepts; the push service receives the wake-up and the test decrypts it (RFC 8291)
 * to "Northwind Bank is ready to call you"; the console says "Waking Chen’s phone…";
 * Chen reopens the app and the console shows the phone online with "Call customer".
 * Screenshots: test/e2e/screenshots/reachability-*.png.
 */
import assert from 'node:assert/strict';
import { createECDH, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { b64u, decryptWebPush, localServer } from '../support/push-service.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';
import { ensureRendererBuilt, openConsole, rendererDir, signIn } from './console-harness.ts';

describe('reachability in the console (Chromium): offline shown, accept wakes the phone by Web Push', () => {
  let a: TestAuthority;
  let admin: string;
  let browser: Browser;
  let mode: BrowserMode;
  let boardMode: BrowserMode;
  let dataDir: string;
  let boardDir: string;
  let pushService: Awaited<ReturnType<typeof localServer>>;
  const sockets: TestSocket[] = [];

  before(async () => {
    await ensureRendererBuilt();
    pushService = await localServer(201);
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 90,
      pushAllowLoopbackHttp: true,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'vd-reach-e2e-'));
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir, managed: {} });
    boardDir = mkdtempSync(join(tmpdir(), 'vd-reach-board-e2e-'));
    boardMode = await startBrowserMode({ authorityUrl: a.url, dataDir: boardDir, rendererDir, managed: {} });
  });
  after(async () => {
    for (const s of sockets) s.close();
    await browser?.close();
    await mode?.close();
    await boardMode?.close();
    await a?.dispose();
    pushService?.server.close();
    for (const d of [dataDir, boardDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  it('Chen queues and closes the app -> offline with last seen -> accept -> push -> reopen -> call', async () => {
    const t = await openConsole(browser, mode, 'reachability');
    const { page } = t;
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('presence').waitFor();
    await page.getByLabel('Change presence').selectOption('break:lunch');

    // Chen's phone: verified (PIN), subscribed to push, the app open (its socket says hello).
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_chen_wei_00003' },
      headers: bearer(admin),
    });
    const chen = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await chen.api('setPin', { json: { pin: '246810' } })).status, 200);
    assert.equal((await chen.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const authSecret = randomBytes(16);
    const sub = await chen.api('putPushSubscription', {
      json: {
        kind: 'webpush',
        endpoint: `${pushService.url}/push/chen`,
        keys: { p256dh: b64u(ua.getPublicKey()), auth: b64u(authSecret) },
      },
    });
    assert.equal(sub.status, 200, JSON.stringify(sub.body));
    const openApp = async () => {
      const ws = await TestSocket.open(a.url);
      sockets.push(ws);
      ws.send(await chen.wsHello());
      assert.equal((await ws.next()).type, 'welcome');
      return ws;
    };
    const app = await openApp();
    const created = await chen.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(created.body.status, 'queued', JSON.stringify(created.body));

    const queue = page.getByRole('list', { name: 'Requests in your queues' });
    const row = queue.getByRole('listitem').filter({ hasText: 'Chen Wei' });
    await row.getByText('Phone online').waitFor();
    await t.screenshot('1-queue-phone-online');

    // Chen closes the app.
    app.close();
    await app.closed;
    await row.getByText(/Phone offline — last seen (just now|\d+ min ago)/).waitFor();
    await t.screenshot('2-queue-phone-offline');

    // The supervisor's board shows it too (the supervisor signs in offline: no offer goes there).
    const sup = await openConsole(browser, boardMode, 'reachability-board');
    await signIn(sup.page, 'supervisor', 'demo-supervisor');
    await sup.page.getByRole('button', { name: 'Board' }).click();
    await sup.page
      .getByRole('row', { name: /Chen Wei/ })
      .getByText(/Phone offline — last seen/)
      .waitFor();
    await sup.screenshot('board-phone-offline');

    // The offer says so before the agent accepts.
    await page.getByLabel('Change presence').selectOption('available');
    const offer = page.getByRole('region', { name: /Chen Wei/ }).filter({ hasText: 'New request' });
    await offer.waitFor();
    await offer
      .getByTestId('offer-reachability')
      .getByText(/Phone offline — last seen/)
      .waitFor();
    await offer.getByText('Chen left the app. Accepting sends a notification to wake the phone.').waitFor();
    await t.screenshot('3-offer-phone-offline');

    await offer.getByRole('button', { name: /^Accept/ }).click();
    const waking = page.getByTestId('active-reachability');
    await waking.getByText('Waking Chen’s phone…').waitFor();
    const push = await until('the push service receives the wake-up', () => pushService.received[0]);
    const payload = JSON.parse(decryptWebPush(push.body, ua, authSecret));
    assert.equal(payload.title, 'Northwind Bank is ready to call you');
    assert.equal(payload.requestId, created.body.request.requestId);
    await t.screenshot('4-waking-phone');

    // Chen taps the notification: the app opens, the console shows the phone reachable.
    await openApp();
    await waking.waitFor({ state: 'detached' });
    const call = page.getByRole('button', { name: 'Call customer' });
    await call.waitFor();
    assert.equal(await call.isDisabled(), false, '"Call customer" reaches the phone now');
    await t.screenshot('5-phone-back-online');
  });
});
