/**
 * A verification photo, end to end with both real front ends in Chromium: Alice (level 1
 * the next day) steps up with a photo from the fake camera; the request reaches Dana's
 * console at level 1 with the photo beside the enrolment photo; only Dana's "Same person"
 * makes it level 2 and unlocks the balance. Then a second phone is set up for Alice and
 * her first phone shows the security notice until she says "That was me".
 *
 * Screenshots: test/e2e/screenshots/photo-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium } from '../support/browser.ts';
import {
  assertNamedControls,
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('verification photo compared by the agent; security notice on the other phone', () => {
  let app: AppAuthority;
  let browser: Browser;
  let mode: BrowserMode;
  let dataDir: string;

  before(async () => {
    await ensureRendererBuilt();
    app = await startAppAuthority({ offerTimeoutSeconds: 120 });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'vd-photo-e2e-'));
    mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await app?.a.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('photo step-up waits for the agent; "Same person" gives level 2; a new phone is told to the first', async () => {
    const dana = await openConsole(browser, mode, 'photo-dana');
    const phone = await openPhone(browser, app, 'photo-phone');
    const pa = dana.page;
    const pp = phone.page;
    try {
      await signIn(pa, 'agent1', 'demo-agent-1');
      await pa.getByTestId('presence').waitFor();
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');

      // The next day: the app authenticates afresh with the device key alone (level 1).
      await pp.reload();
      await pp.getByRole('button', { name: 'Get help' }).waitFor();
      await pp.getByRole('button', { name: 'Get help' }).click();
      await pp.getByRole('button', { name: /^Cards/ }).click();
      await pp.getByRole('button', { name: /Lost or stolen card/ }).click();
      await pp.getByRole('button', { name: 'Take a photo instead' }).click();
      await pp.getByText(/The agent compares it with the photo you took/).waitFor();
      await pp.getByRole('button', { name: 'Start camera' }).click();
      await pp.getByRole('button', { name: 'Take photo' }).click();
      await phone.t.screenshot('1-step-up-photo');
      await pp.getByRole('button', { name: 'Send photo' }).click();
      await pp.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();

      // Dana's offer: level 1 of 2, the photo waiting for her comparison.
      await pa.getByLabel('Change presence').selectOption('available');
      const offer = pa.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.waitFor();
      const level = pa.getByTestId('level-line');
      await level.getByText('Level 1 · this request needs 2').waitFor();
      const compare = pa.getByRole('group', { name: 'Compare the photos' });
      await compare.getByText('Accept the request to compare the photos.').waitFor();
      assert.equal(
        await compare.getByRole('button', { name: 'Same person', exact: true }).isDisabled(),
        true,
      );
      for (const alt of [/^Enrolment photo/, /^Photo for this request/]) {
        const img = pa.getByRole('img', { name: alt });
        await img.waitFor();
        assert.ok(await img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)));
      }
      await dana.screenshot('1-offer-photo-pending');
      await offer.getByRole('button', { name: /^Accept/ }).click();
      await compare.getByText(/A match verifies the customer to level 2/).waitFor();
      const balance = pa.getByLabel('Secure account fields');
      await balance.getByText(/Balance/).waitFor();
      await assertNamedControls(pa, 'photo comparison');
      await dana.screenshot('2-compare');

      await compare.getByRole('button', { name: 'Same person', exact: true }).click();
      await pa.getByText(/Same person, compared by Dana Reyes at/).waitFor();
      await level.getByText('Level 2 · this request needs 2').waitFor();
      await dana.screenshot('3-compared-level-2');

      // A second phone is set up for Alice: the first phone is told.
      const second = await openPhone(browser, app, 'photo-second-phone');
      try {
        await enrolThroughApp(second, await enrolmentCode(app, 'c_alice_martin_01'), '135790');
      } finally {
        await second.t.close();
      }
      await pp.reload();
      const notices = pp.getByRole('alert').filter({ hasText: 'Changes to how you are verified' });
      await notices.getByText(/A new phone was set up for your account/).waitFor();
      await notices.getByText(/A fingerprint or face was added/).waitFor();
      await phone.t.screenshot('2-security-notices');
      const buttons = notices.getByRole('button', { name: 'That was me' });
      const n = await buttons.count();
      assert.ok(n >= 3, `notices for the new phone, its PIN, fingerprint and photo (${n})`);
      for (let i = 0; i < n; i++) await buttons.first().click();
      await notices.waitFor({ state: 'detached' });
      await phone.t.screenshot('3-notices-acknowledged');
    } finally {
      await phone.t.close();
      await dana.close();
    }
  });
});
