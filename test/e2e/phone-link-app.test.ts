/**
 * The link texted during a phone call, opened in the customer app (issue 14 item 3, the
 * patent family's flow): Alice phones in (reported as Kamailio does), the agent who
 * accepts texts her the link (the text-message file sink); she opens it in the app on her
 * phone (Chromium, a virtual platform authenticator), confirms with her fingerprint, and
 * the request carries her phone's verification (level 3). Opened again, the link is
 * refused with a clear screen. Screenshots: test/e2e/screenshots/phone-link-app-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { api } from '../support/http.ts';
import {
  agent,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';

const SIP_SERVER_SECRET = 'e2e-phone-link-sip-server-secret-0123456789';
const DIALLED = '+442079460000';

describe('a link texted during a phone call, opened in the customer app', () => {
  let app: AppAuthority;
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'vd-phone-link-app-'));

  before(async () => {
    [app, browser] = await Promise.all([
      startAppAuthority({
        sipServerSecret: SIP_SERVER_SECRET,
        textSinkFile: join(dir, 'texts.jsonl'),
        customerAppUrl: 'https://app.example.com/app/',
      }),
      launchChromium(),
    ]);
    await answerNumber(app.a.url, app.admin, DIALLED);
    await registerPhone(app.a.url, app.admin, 'c_alice_martin_01', '+44 7911 123456');
  });
  after(async () => {
    await browser?.close();
    await app?.a.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('she confirms with her fingerprint in the app; the call is verified; the link works once', async () => {
    const phone = await openPhone(browser, app, 'phone-link-app');
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '975310');

      // She phones in; Sam accepts and texts her the link.
      const sam = await agent(app, 'agent2', 'demo-agent-2');
      assert.equal((await sam.api('setPresence', { json: { state: 'available' } })).status, 200);
      const q = await api(app.a.url, 'trunkCallArrived', {
        headers: { authorization: `Bearer ${SIP_SERVER_SECRET}` },
        json: { callId: 'e2e-app-link@192.0.2.10', caller: '447911123456', dialled: DIALLED },
      });
      assert.equal(q.status, 201, JSON.stringify(q.body));
      const offer = (await sam.api('agentMe')).body.offer;
      const accepted = await sam.api('acceptOffer', {
        params: { requestId: offer.requestId },
        json: { fence: offer.fence },
      });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      const sent = await sam.api('sendVerificationLink', {
        params: { requestId: offer.requestId },
        json: { fence: accepted.body.fence },
      });
      assert.equal(sent.status, 200, JSON.stringify(sent.body));
      const line = readFileSync(join(dir, 'texts.jsonl'), 'utf8').trim().split('\n').at(-1)!;
      const link = /https:\/\/app\.example\.com\/app\/(#\/verify-call\/[A-Za-z0-9_-]+)/.exec(line)?.[1];
      assert.ok(link, line);

      // The link opens the app (here at its test origin).
      await phone.page.goto(`${app.appUrl}${link}`);
      await phone.page.getByRole('heading', { name: 'Confirm it’s you for your call' }).waitFor();
      await phone.t.screenshot('1-confirm');
      const tapped = Date.now();
      await phone.page.getByRole('button', { name: 'Use fingerprint' }).click();
      await phone.page.getByRole('heading', { name: 'You are verified for your call' }).waitFor();
      await phone.t.screenshot('2-verified');
      const panel = await sam.api('customerPanel', { params: { requestId: offer.requestId } });
      assert.equal(panel.body.verification.level, 3, JSON.stringify(panel.body.verification));
      assert.equal(panel.body.verification.state, 'verified');
      console.log(
        `# link tapped -> the request verified at level 3: ${Date.now() - tapped} ms (fingerprint included)`,
      );

      // The same link again: refused, said plainly.
      await phone.page.goto(`${app.appUrl}${link}`);
      await phone.page.getByRole('heading', { name: 'Confirm it’s you for your call' }).waitFor();
      await phone.page.getByRole('button', { name: 'Use fingerprint' }).click();
      await phone.page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
      await phone.page.getByText('This link was used already: ask the agent for a new one').waitFor();
      await phone.t.screenshot('3-used-already');
      await phone.page.getByRole('button', { name: 'Back home' }).click();
      await phone.page.getByRole('button', { name: 'Get help' }).waitFor();
    } finally {
      await phone.t.close();
    }
  });
});
