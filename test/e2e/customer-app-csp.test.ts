/**
 * The customer app works under the Content-Security-Policy the authority serves it
 * with, in Chromium: every `securitypolicyviolation` the page raises is collected from
 * before the first script runs, while the app does everything that touches the policy:
 * load its scripts and styles, fetch the API, the live feed over WebSocket, WebAuthn
 * (virtual authenticator), the fake camera and the photo preview (blob:), and a
 * picture of its own screen for the agent (modern-screenshot: data: and blob: images,
 * a sandbox iframe). None may be blocked. The page itself cannot be framed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium, newTestPage } from '../support/browser.ts';
import { bearer, call } from '../support/http.ts';
import {
  agent,
  enrolmentCode,
  enrolThroughApp,
  PHONE,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app under its Content-Security-Policy (Chromium)', () => {
  let app: AppAuthority;
  let browser: Browser;

  before(async () => {
    app = await startAppAuthority();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.a.dispose();
  });

  it('enrols (WebAuthn, camera, photo), waits live and sends a screenshot with no CSP violation', async () => {
    const t = await newTestPage(browser, 'csp', {
      ...PHONE,
      permissions: ['camera', 'microphone'],
      locale: 'en-GB',
    });
    try {
      await t.context.addInitScript(() => {
        const seen: string[] = [];
        (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
        document.addEventListener('securitypolicyviolation', (e) =>
          seen.push(`${e.effectiveDirective} ${e.blockedURI} (${e.sourceFile}:${e.lineNumber})`),
        );
      });
      const authenticator = await addVirtualAuthenticator(t);
      const res = await t.page.goto(app.appUrl);
      const csp = res?.headers()['content-security-policy'] ?? '';
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.match(csp, /frame-ancestors 'none'/);
      const phone = { t, page: t.page, authenticator };
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');

      const page = t.page;
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card/ }).click();
      await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();
      const dana = await agent(app, 'agent1', 'demo-agent-1');
      await dana.available();
      const requestId: string = (await dana.me()).offer.requestId;
      const fence = await dana.acceptOffer(requestId);
      await page.getByRole('heading', { name: 'Dana can send requests to this phone' }).waitFor();

      const sent = await call(app.a.url, 'POST', `/v1/agent/requests/${requestId}/commands`, {
        headers: bearer(dana.token),
        json: { fence, seq: 1, command: { kind: 'screenshot', payload: { prompt: 'Show me what you see' } } },
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const shot = page.getByRole('article', { name: 'Dana Reyes asks for a picture of this screen' });
      await shot.getByRole('button', { name: 'Take a picture of this screen' }).click();
      await shot.getByRole('img', { name: 'Picture of your screen' }).waitFor();
      await shot.getByRole('button', { name: 'Send' }).click();
      await shot.waitFor({ state: 'detached' });
      await t.screenshot('after-screenshot-sent');

      const violations = await page.evaluate(
        () => (window as unknown as { __cspViolations: string[] }).__cspViolations,
      );
      assert.deepEqual(violations, []);
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });
});
