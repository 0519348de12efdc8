/**
 * Remote control with both real front ends in Chromium: Dana's agent console (browser
 * mode) and the customer app on a phone-sized page (virtual platform authenticator,
 * fake camera), against one real authority that serves the app. Dana asks for a
 * fingerprint, a photo and a payment confirmation from her console; the customer
 * answers each card in the app (WebAuthn with user verification, the camera, the
 * fingerprint over exactly the payment shown with its debited account, plus the device
 * key's signature); Dana's console shows the fingerprint, the photo beside the
 * enrolment photo and "Confirmed with fingerprint at … — receipt R-…", the phone the receipt. The customer's "Stop all" disables Dana's
 * actions live, and "Allow again" gives them back.
 *
 * Screenshots: test/e2e/screenshots/control-*.png.
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
  assertNoNodeInPage,
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

describe('console and customer app: actions answered on the phone, "Stop all" live', () => {
  let app: AppAuthority;
  let browser: Browser;
  let mode: BrowserMode;
  let dataDir: string;

  before(async () => {
    await ensureRendererBuilt();
    app = await startAppAuthority({ offerTimeoutSeconds: 120 });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'vd-control-e2e-'));
    mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await app?.a.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('fingerprint, photo and a confirmed payment from the console, answered in the app; stop all and allow again', async () => {
    const dana = await openConsole(browser, mode, 'control-dana');
    const phone = await openPhone(browser, app, 'control-phone');
    const pa = dana.page;
    const pp = phone.page;
    try {
      await signIn(pa, 'agent1', 'demo-agent-1');
      await pa.getByTestId('presence').waitFor();
      await assertNoNodeInPage(pa);

      // The customer enrols in the app and asks for help with a lost card.
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');
      await pp.getByRole('button', { name: 'Get help' }).click();
      await pp.getByRole('button', { name: /^Cards/ }).click();
      await pp.getByRole('button', { name: /Lost or stolen card/ }).click();
      const pin = pp.getByLabel('Your PIN');
      const asked = await Promise.race([
        pin.waitFor().then(() => 'pin'),
        pp
          .getByRole('heading', { name: 'Lost or stolen card' })
          .waitFor()
          .then(() => 'queued'),
      ]);
      if (asked === 'pin') {
        await pin.fill('246810');
        await pp.getByRole('button', { name: 'Confirm with PIN' }).click();
      }
      await pp.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();

      // Dana goes available and accepts.
      await pa.getByLabel('Change presence').selectOption('available');
      const offer = pa.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.getByRole('button', { name: /^Accept/ }).click();
      const actions = pa.getByRole('group', { name: 'Device actions' });
      await actions.waitFor();

      // Fingerprint: the card on the phone, WebAuthn with user verification.
      await actions.getByRole('button', { name: 'Ask for fingerprint' }).click();
      await pa.getByRole('button', { name: 'Send fingerprint request' }).click();
      const verifyCard = pp.locator('article.command-card[data-kind="verify"]');
      await verifyCard.getByText('Confirm it’s you before we continue').waitFor();
      await phone.t.screenshot('1-fingerprint-card');
      await verifyCard.getByRole('button', { name: 'Use fingerprint' }).click();
      await pa
        .getByTestId('verify-result')
        .getByText(/Fingerprint or face confirmed on the device at .*: level 3/)
        .waitFor();

      // A photo from the phone's (fake) camera, shown beside the enrolment photo.
      await actions.getByRole('button', { name: 'Ask for a photo' }).click();
      await pa.getByRole('button', { name: 'Send photo request' }).click();
      const photoCard = pp.locator('article.command-card[data-kind="photo"]');
      await photoCard.getByRole('button', { name: 'Start camera' }).click();
      await photoCard.getByRole('button', { name: 'Take photo' }).click();
      await photoCard.getByRole('button', { name: 'Send photo' }).click();
      const photos = pa.getByTestId('photo-result');
      for (const alt of [/^Photo just taken/, /^Enrolment photo/]) {
        const img = photos.getByRole('img', { name: alt });
        await img.waitFor();
        assert.ok(await img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)));
      }

      // A payment (issue 15, defect 11): typed as "1,500.00"; the phone shows the debited account and
      // asks for the fingerprint over exactly this payment; both sides get the receipt.
      await actions.getByRole('button', { name: 'Confirm a transaction' }).click();
      await pa.getByLabel('Amount').fill('1,500.00');
      await pa.getByLabel('Payee').fill('Northwind Energy');
      await pa.getByLabel('Reference').fill('INV-2026-0042');
      await pa.getByRole('button', { name: 'Send for confirmation' }).click();
      const confirmCard = pp.locator('article.command-card[data-kind="confirm"]');
      await confirmCard.getByTestId('confirm-amount').getByText('£1,500.00').waitFor();
      assert.equal(await confirmCard.getByTestId('confirm-account').textContent(), 'GB29 •••• 6819');
      assert.equal(await confirmCard.getByTestId('confirm-payee').textContent(), 'Northwind Energy');
      await confirmCard.getByRole('button', { name: 'Confirm with fingerprint' }).waitFor();
      await assertNamedControls(pp, 'confirm card');
      await phone.t.screenshot('2-confirm-card-account');
      // No plain one-tap "Confirm": the fingerprint prompt (or the PIN) is the only way.
      assert.equal(await confirmCard.getByRole('button', { name: 'Confirm', exact: true }).count(), 0);
      await confirmCard.getByRole('button', { name: 'Use PIN instead' }).click();
      await confirmCard.getByLabel('Enter your PIN to confirm this payment').waitFor();
      await phone.t.screenshot('2-confirm-card-pin-option');
      await confirmCard.getByRole('button', { name: 'Use fingerprint instead' }).click();
      await phone.t.screenshot('2-confirm-fingerprint-prompt');
      await confirmCard.getByRole('button', { name: 'Confirm with fingerprint' }).click();
      const receipt = pp.getByTestId('receipt');
      await receipt.getByText('Payment confirmed').waitFor();
      const receiptId = (await receipt.getByTestId('receipt-id').textContent())!;
      assert.match(receiptId, /^R-[A-Z0-9]{10}$/);
      await receipt.getByText('GB29 •••• 6819').waitFor();
      await receipt.getByText(/with fingerprint at \d{2}:\d{2}$/).waitFor();
      await phone.t.screenshot('2-phone-receipt');
      const result = pa.getByTestId('confirm-result');
      await result.getByText(/^Confirmed with fingerprint at \d{2}:\d{2}$/).waitFor();
      assert.equal(await result.getByTestId('confirm-receipt').textContent(), receiptId);
      await result
        .getByText(/£1,500\.00 to Northwind Energy \(ref\. INV-2026-0042\) from GB29 •••• 6819/)
        .waitFor();
      await dana.screenshot('3-console-results');
      await receipt.getByRole('button', { name: 'Done' }).click();
      await receipt.waitFor({ state: 'detached' });

      // "Stop all" on the phone: Dana's actions are disabled live; "Allow again" restores them.
      await pp.getByRole('button', { name: 'Stop all' }).click();
      await pp.getByText('Control is stopped').waitFor();
      await pa
        .getByTestId('control-stopped')
        .getByText(/Alice Martin stopped remote control/)
        .waitFor();
      assert.equal(await actions.getByRole('button', { name: 'Ask for a photo' }).isDisabled(), true);
      await assertNamedControls(pa, 'control stopped');
      await dana.screenshot('4-console-stopped');
      await phone.t.screenshot('5-phone-stopped');
      await pp.getByRole('button', { name: 'Allow again' }).click();
      await pa.getByTestId('control-stopped').waitFor({ state: 'detached' });
      assert.equal(await actions.getByRole('button', { name: 'Ask for a photo' }).isDisabled(), false);
      assert.deepEqual(dana.consoleErrors, []);
    } finally {
      await dana.close();
      await phone.t.close();
    }
  });
});
