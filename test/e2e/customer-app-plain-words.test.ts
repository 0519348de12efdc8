/**
 * Issue 15 in Chromium on the customer app (390x844): a weak PIN is refused while
 * choosing it, with the reason; offline, a step-up PIN says "You are offline" (never
 * "Failed to fetch") and is sent by itself once back online; five wrong PINs show a
 * countdown and hold the PIN button. Screenshots: test/e2e/screenshots/plain-words-*.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { enrolmentCode, openPhone, startAppAuthority, type AppAuthority } from './customer-app-harness.ts';

describe('customer app in Chromium: plain words for weak PINs, offline and PIN waits', () => {
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

  it('refuses 1234 with the reason, says offline and retries, counts down after wrong PINs', async () => {
    const phone = await openPhone(browser, app, 'plain-words');
    const { t, page } = phone;
    try {
      await page.getByRole('heading', { name: 'Set up verified help' }).waitFor();
      await page.getByLabel('Enrolment code').fill(await enrolmentCode(app, 'c_bob_okafor_002'));
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Choose a PIN' }).waitFor();
      await page.getByLabel('New PIN').fill('1234');
      await page.getByLabel('Repeat PIN').fill('1234');
      await page.getByRole('button', { name: 'Save PIN' }).click();
      await page
        .getByRole('alert')
        .getByText(/too easy to guess \(a sequence of digits\)/)
        .waitFor();
      await t.screenshot('1-weak-pin-refused');
      await page.getByLabel('New PIN').fill('482913');
      await page.getByLabel('Repeat PIN').fill('482913');
      await page.getByRole('button', { name: 'Save PIN' }).click();
      await page.getByRole('heading', { name: 'Add your fingerprint' }).waitFor();
      await page.getByRole('button', { name: 'Not now' }).click();
      await page.getByRole('heading', { name: 'Add a photo of yourself' }).waitFor();
      await page.getByRole('button', { name: 'Not now' }).click();
      await page.getByRole('button', { name: 'Get help' }).waitFor();

      // A new authentication (level 1): "Lost or stolen card" needs the PIN.
      await page.reload();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card/ }).click();
      await page.getByLabel('Your PIN').waitFor();

      // Offline: plain words, then sent by itself when the network is back.
      await page.context().setOffline(true);
      await page.getByLabel('Your PIN').fill('482913');
      await page.getByRole('button', { name: 'Confirm with PIN' }).click();
      await page
        .getByRole('alert')
        .getByText(/You are offline, so this was not sent/)
        .waitFor();
      assert.equal(await page.getByText('Failed to fetch').count(), 0);
      await t.screenshot('2-offline');
      await page.context().setOffline(false);
      await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();
      await t.screenshot('3-back-online-queued');
      await page
        .getByRole('button', { name: /Cancel|Leave/ })
        .first()
        .click();
      const yes = page.getByRole('button', { name: /Yes|Leave the queue|Cancel request/ });
      if (await yes.count()) await yes.first().click();
      await page.getByRole('button', { name: 'Get help' }).waitFor();

      // Five wrong PINs: the phone counts down and holds the button.
      await page.reload();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card/ }).click();
      for (let i = 1; i <= 5; i++) {
        await page.getByLabel('Your PIN').fill('000001');
        await page.getByRole('button', { name: 'Confirm with PIN' }).click();
        await page
          .getByRole('alert')
          .getByText(`Wrong PIN (${10 - i} attempts left)`, { exact: false })
          .waitFor();
      }
      await page
        .getByRole('timer')
        .getByText(/you can try again in 0:(29|30)/)
        .waitFor();
      await page.getByLabel('Your PIN').fill('482913');
      assert.equal(await page.getByRole('button', { name: 'Confirm with PIN' }).isDisabled(), true);
      await t.screenshot('4-pin-countdown');
    } finally {
      await t.close();
    }
  });
});
