/**
 * Issue 15, defect 3 on the phone (the customer app in Chromium): after the request is
 * queued the app registers its service worker (/app/sw.js) and tries to subscribe to
 * Web Push with the authority's VAPID key. "You can leave the app: we will call this
 * phone" is shown only when the authority holds a subscription for this phone;
 * otherwise the app says plainly that it must stay open, and why.
 * Screenshot: test/e2e/screenshots/customer-wake-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { until } from '../support/wait.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app: wake-up by Web Push, or an honest "keep this app open"', () => {
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

  it('queues, registers the service worker, and tells the truth about leaving the app', async () => {
    const phone = await openPhone(browser, app, 'customer-wake');
    const { page, t } = phone;
    await enrolThroughApp(phone, await enrolmentCode(app, 'c_chen_wei_00003'), '246810');
    await page.getByRole('button', { name: 'Get help' }).click();
    await page.getByRole('button', { name: /^Cards/ }).click();
    await page.getByRole('button', { name: /Lost or stolen card/ }).click();
    await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();
    const lead = await until('the app has decided whether it can be woken', async () => {
      const text = await page.locator('body').innerText();
      if (/Keep this app open: this phone cannot be woken/.test(text)) return 'stay-open';
      const subscribed = (await app.a.sql`SELECT 1 AS one FROM device_push`).length > 0;
      if (subscribed && /You can leave the app: we will call this phone/.test(text)) return 'leave';
      return undefined;
    });
    // Headless Chromium has no push service: the app must say it has to stay open.
    assert.equal(lead, 'stay-open', 'no push subscription here, so no "you can leave the app"');
    await page
      .getByText(/Keep this app open: this phone cannot be woken when the agent is ready \(.+\)/)
      .waitFor();
    await t.screenshot('1-waiting-keep-open');
    const why = await page.getByText(/Keep this app open/).innerText();
    // Where the browser can register a service worker, the app did (the notification's home).
    if (!/no service workers|blocked/.test(why)) {
      const scope = await until('the service worker is registered', () =>
        page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.scope),
      );
      assert.equal(new URL(scope).pathname, '/app/');
    }
  });
});
