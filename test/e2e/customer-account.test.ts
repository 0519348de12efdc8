/**
 * The customer's account in the app (issue 15, "Customer app"), clicked through in Chromium
 * on a phone viewport against a real authority: a request with a confirmed payment and a
 * verified call, where the agent holds the call ("You are on hold") and consults a colleague
 * before a warm transfer ("Your agent is consulting a colleague"), then the closing message;
 * the request history with outcomes (transferred, abandoned), newest first and paged
 * ("Show older requests"); the receipts list and one receipt; settings: change the PIN
 * (wrong current PIN and a weak new one refused with a sentence), add another fingerprint,
 * replace the photo, remove this phone (back to enrolment; the device's credentials are
 * refused, the customer's other phone still works). Screenshots: customer-account-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  agent,
  assertNamedControls,
  deliverCall,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app in Chromium: hold and consult shown, closing message, history, receipts, settings, remove this phone', () => {
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

  it('a customer goes through a held and transferred call, then history, receipts and settings, and removes the phone', async () => {
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    const morgan = await staffLogin(app.a.url, 'supervisor', 'demo-supervisor');
    const phone = await openPhone(browser, app, 'customer-account');
    const { t, page } = phone;
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');
      await page.getByRole('navigation', { name: 'Your account' }).waitFor();
      await assertNamedControls(t, 'home');
      await t.screenshot('1-home-account-links');

      // Alice's other phone (enrolled over the API) asked for help 11 times before and cancelled.
      const other = await new TestDevice(app.a.url).enrolAndAuthenticate(
        await enrolmentCode(app, 'c_alice_martin_01'),
      );
      assert.equal((await other.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
      for (let i = 0; i < 11; i++) {
        const q = await other.api('createRequest', { json: { optionId: 'lost-card' } });
        assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
        assert.equal(
          (await other.api('cancelRequest', { params: { requestId: q.body.request.requestId } })).status,
          200,
        );
      }

      // A request from this phone; Dana takes it and asks to confirm a payment.
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card/ }).click();
      await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();
      await dana.available();
      const requestId: string = (await dana.me()).offer.requestId;
      const fence = await dana.acceptOffer(requestId);
      const sent = await api(app.a.url, 'sendCommand', {
        params: { requestId },
        headers: bearer(dana.token),
        json: {
          fence,
          seq: 1,
          command: {
            kind: 'confirm',
            payload: {
              transaction: {
                amount: 125_000,
                currency: 'GBP',
                payee: 'Northwind Travel Ltd',
                reference: 'INV-2026-0042',
                terms: 'I confirm this payment to Northwind Travel Ltd.',
              },
            },
          },
        },
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));
      const confirm = page.getByRole('article', { name: 'Dana Reyes asks you to confirm a payment' });
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      const receiptCard = page.getByTestId('receipt');
      const receiptId = (await receiptCard.getByTestId('receipt-id').textContent())!;
      assert.match(receiptId, /^R-[A-Z0-9]{8,16}$/);
      await receiptCard.getByRole('button', { name: 'Done' }).click();

      // The verified call.
      assert.deepEqual(await deliverCall(page, await dana.callTicket(requestId, fence)), { verdict: 'ring' });
      await page.getByRole('button', { name: 'Answer call' }).click();
      await page.getByRole('heading', { name: 'On a call with Dana Reyes' }).waitFor();

      // Dana puts the call on hold (the phone's re-INVITE path), then resumes.
      await page.evaluate(() =>
        (window as unknown as { __vdTest: { callHeld(h: boolean): void } }).__vdTest.callHeld(true),
      );
      const hold = page.getByTestId('hold-status');
      await hold.getByText('You are on hold').waitFor();
      await hold.getByText('Dana will be back with you shortly. Please stay on the line.').waitFor();
      await t.screenshot('2-call-on-hold');
      await page.evaluate(() =>
        (window as unknown as { __vdTest: { callHeld(h: boolean): void } }).__vdTest.callHeld(false),
      );
      await hold.waitFor({ state: 'detached' });

      // Dana consults Morgan (a warm transfer): the authority tells the phone.
      await api(app.a.url, 'setPresence', { headers: bearer(morgan.token), json: { state: 'available' } });
      const tr = await api(app.a.url, 'transfer', {
        params: { requestId },
        headers: bearer(dana.token),
        json: { fence, mode: 'warm', target: { kind: 'supervisor', staffId: morgan.staffId } },
      });
      assert.equal(tr.status, 201, JSON.stringify(tr.body));
      await hold.getByText('Your agent is consulting a colleague').waitFor();
      await t.screenshot('3-call-consulting');
      const acc = await api(app.a.url, 'acceptTransfer', {
        params: { transferId: tr.body.transferId },
        headers: bearer(morgan.token),
      });
      assert.equal(acc.status, 200, JSON.stringify(acc.body));
      await hold.waitFor({ state: 'detached' });
      await page.getByText('You are now with Morgan Lee.').waitFor();
      await t.screenshot('4-call-now-with-morgan');

      // Hang up; Morgan completes the request: the closing message.
      await page.getByRole('button', { name: 'Hang up' }).click();
      await page.getByRole('button', { name: 'Done' }).click();
      const done = await api(app.a.url, 'completeRequest', {
        params: { requestId },
        headers: bearer(morgan.token),
        json: { fence: acc.body.toFence },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      await page
        .getByText(
          'Your request “Lost or stolen card” is complete: Morgan Lee has closed it. Thank you for contacting Northwind Bank.',
        )
        .waitFor();
      await t.screenshot('5-closing-message');

      // History: newest first, outcome and who handled it; older ones a page at a time.
      await page.getByRole('button', { name: /^Your requests/ }).click();
      await page.getByRole('heading', { name: 'Your requests' }).waitFor();
      const items = page.getByTestId('history-item');
      await page.getByRole('button', { name: 'Show older requests' }).waitFor();
      assert.equal(await items.count(), 10);
      const first = items.first();
      await first.getByText('Lost or stolen card').waitFor();
      await first.getByText('Transferred', { exact: true }).waitFor();
      await first.getByText('Dana Reyes passed it to Morgan Lee, who completed it').waitFor();
      await items.nth(1).getByText('Ended without an agent').waitFor();
      await assertNamedControls(t, 'history');
      await t.screenshot('6-history');
      await page.getByRole('button', { name: 'Show older requests' }).click();
      await page.getByText('That is all your requests.').waitFor();
      assert.equal(await items.count(), 12);
      await t.screenshot('7-history-all');
      await page.getByRole('button', { name: 'Home' }).click();

      // Receipts: the list, then one receipt.
      await page.getByRole('button', { name: /^Receipts/ }).click();
      const row = page.getByRole('button', {
        name: new RegExp(`^Receipt ${receiptId}: £1,250.00 to Northwind Travel Ltd`),
      });
      await row.waitFor();
      await assertNamedControls(t, 'receipts');
      await t.screenshot('8-receipts');
      await row.click();
      await page.getByRole('heading', { name: `Receipt ${receiptId}` }).waitFor();
      const card = page.getByTestId('receipt');
      assert.equal(await card.locator('.amount').textContent(), '£1,250.00');
      await card.getByText('INV-2026-0042').waitFor();
      await t.screenshot('9-receipt');
      await page.getByRole('button', { name: 'Receipts' }).click();
      await page.getByRole('button', { name: 'Home' }).click();

      // Settings: change the PIN (wrong current PIN, weak new PIN, then right).
      await page.getByRole('button', { name: /^Settings/ }).click();
      await page.getByRole('heading', { name: 'Settings' }).waitFor();
      await assertNamedControls(t, 'settings');
      await t.screenshot('10-settings');
      await page.getByRole('button', { name: /^Change PIN/ }).click();
      await page.getByLabel('Current PIN').fill('111111');
      await page.getByLabel('New PIN', { exact: true }).fill('1234');
      await page.getByLabel('Repeat new PIN').fill('1234');
      await page.getByRole('button', { name: 'Save new PIN' }).click();
      await page
        .getByRole('alert')
        .getByText(/This PIN is too easy to guess/)
        .waitFor();
      await t.screenshot('11-change-pin-weak');
      await page.getByLabel('New PIN', { exact: true }).fill('592047');
      await page.getByLabel('Repeat new PIN').fill('592047');
      await page.getByRole('button', { name: 'Save new PIN' }).click();
      await page
        .getByRole('alert')
        .getByText(/attempts left/)
        .waitFor();
      await t.screenshot('12-change-pin-wrong-current');
      await page.getByLabel('Current PIN').fill('246810');
      await page.getByRole('button', { name: 'Save new PIN' }).click();
      await page.getByText('Your PIN was changed.').waitFor();
      await t.screenshot('13-pin-changed');
      assert.equal(
        (await other.api('pinFactor', { json: { pin: '592047' } })).body.level,
        2,
        'the new PIN works',
      );

      // Another fingerprint.
      await page.getByRole('button', { name: /^Add another fingerprint/ }).click();
      await page.getByRole('heading', { name: 'Add another fingerprint' }).waitFor();
      await t.screenshot('14-add-fingerprint');
      await page.getByRole('button', { name: /Add fingerprint|Check fingerprint and add/ }).click();
      // This phone's authenticator holds the account's fingerprint already: said plainly, nothing added.
      await page
        .getByRole('alert')
        .getByText(/This phone’s fingerprint is already set up for your account/)
        .waitFor();
      await t.screenshot('15-fingerprint-already-here');
      assert.equal((await phone.authenticator.credentials()).length, 1);
      await page.getByRole('button', { name: 'Settings' }).click();

      // Replace the photo.
      await page.getByRole('button', { name: /^Replace your photo/ }).click();
      await page.getByRole('button', { name: 'Start camera' }).click();
      await page.getByRole('button', { name: 'Take photo' }).click();
      await page.getByRole('img', { name: 'Your photo' }).waitFor();
      await t.screenshot('16-replace-photo');
      await page.getByRole('button', { name: 'Save this photo' }).click();
      await page.getByText('Your photo was saved.').waitFor();

      // Remove this phone: confirmation, then back to enrolment.
      await page.getByRole('button', { name: 'Remove this phone' }).click();
      await page.getByRole('heading', { name: 'Remove this phone?' }).waitFor();
      await assertNamedControls(t, 'remove phone');
      await t.screenshot('17-remove-phone');
      const unregistered = new Promise<string>((resolve) => {
        const on = (user: string) => {
          if (!user.startsWith('d-') || user === `d-${other.deviceId}`) return;
          app.a.sipEdge.off('unregistered', on);
          resolve(user);
        };
        app.a.sipEdge.on('unregistered', on);
      });
      await page.getByRole('button', { name: 'Remove this phone' }).click();
      await page.getByRole('heading', { name: 'Set up verified help' }).waitFor();
      await page
        .getByText('This phone was removed from your account. To use it again, set it up with a new code.')
        .waitFor();
      await t.screenshot('18-removed-back-to-enrolment');
      const revoked = await app.a.sql<{ actor: string }>`
        SELECT actor FROM audit_log WHERE action = ${'device.revoke'}`;
      assert.equal(revoked.length, 1, 'audited once');
      assert.notEqual(revoked[0]!.actor, `device:${other.deviceId}`);
      assert.equal(
        `d-${revoked[0]!.actor.slice('device:'.length)}`,
        await unregistered,
        'its SIP phone left',
      );
      assert.equal((await other.api('deviceMe')).status, 200, 'the other phone still works');

      // A reload stays on enrolment: nothing of the removed device is kept.
      await page.reload();
      await page.getByRole('heading', { name: 'Set up verified help' }).waitFor();
    } catch (e) {
      await t.screenshot('failed');
      throw e;
    } finally {
      await t.close();
    }
  });
});
