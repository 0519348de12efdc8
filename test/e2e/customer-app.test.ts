/**
 * The customer app end to end in Chromium on a 390x844 phone viewport, against a
 * real authority serving the built app at /app/: enrol (code, PIN, fingerprint with
 * the virtual authenticator, photo from the fake camera) -> the PIN verifies at once
 * -> "Get help" -> an option needing level 3 asks only for the fingerprint -> the
 * waiting screen follows the position and wait live (another customer leaves, driven
 * over the API) -> a callback slot is booked -> the request is cancelled.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { api } from '../support/http.ts';
import {
  agent,
  assertNamedControls,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app in Chromium: enrol, verify, ask for help, wait live, book a callback, cancel', () => {
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

  it('goes from enrolment to a cancelled callback with live position updates, on a phone and on a desktop', async () => {
    // Someone else is ahead in the cards queue: Bob is being served by Dana (busy),
    // Chen (platinum, higher priority) waits.
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    await dana.available();
    const bob = await new TestDevice(app.a.url).enrolAndAuthenticate(
      await enrolmentCode(app, 'c_bob_okafor_002'),
    );
    const chen = await new TestDevice(app.a.url).enrolAndAuthenticate(
      await enrolmentCode(app, 'c_chen_wei_00003'),
    );
    for (const d of [bob, chen]) {
      assert.equal((await d.api('setPin', { json: { pin: '135790' } })).status, 200);
      assert.equal((await d.api('pinFactor', { json: { pin: '135790' } })).body.level, 2);
    }
    const bobReq = (await bob.api('createRequest', { json: { optionId: 'lost-card' } })).body.request;
    await dana.acceptOffer(bobReq.requestId);
    const chenReq = (await chen.api('createRequest', { json: { optionId: 'lost-card' } })).body.request;
    assert.equal(chenReq.state, 'waiting');

    const phone = await openPhone(browser, app, 'customer');
    const { t, page } = phone;
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810', (s) =>
        t.screenshot(s),
      );
      assert.equal(
        (await phone.authenticator.credentials()).length,
        1,
        'the fingerprint credential was made',
      );

      // Home: verified with the phone's key and the PIN (level 2).
      await page.getByRole('heading', { name: 'Hello, Alice' }).waitFor();
      await page.getByRole('heading', { name: 'Verified: this phone and your PIN' }).waitFor();
      assert.deepEqual(
        await page
          .getByRole('list', { name: 'Set up on this phone' })
          .getByRole('listitem')
          .allTextContents(),
        ['PIN ✓', 'Fingerprint ✓', 'Photo ✓'],
      );
      await assertNamedControls(t, 'home');
      await t.screenshot('5-home-level-2');

      // Get help -> Cards -> "Change my card limit" (level 3): only the fingerprint is asked.
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('heading', { name: 'What do you need help with?' }).waitFor();
      await t.screenshot('6-menu');
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('heading', { name: 'Cards' }).waitFor();
      await page.getByRole('button', { name: /Change my card limit.*Needs Fingerprint/ }).waitFor();
      await assertNamedControls(t, 'menu');
      await t.screenshot('7-menu-cards');
      await page.getByRole('button', { name: /Change my card limit/ }).click();
      await page.getByRole('heading', { name: 'Confirm with your fingerprint' }).waitFor();
      assert.equal(await page.getByLabel('Your PIN').count(), 0, 'a PIN cannot reach level 3: not offered');
      await t.screenshot('8-step-up-fingerprint');
      await page.getByRole('button', { name: 'Use fingerprint' }).click();

      // Waiting: Chen is ahead; Dana (busy) is the one agent serving cards.
      await page.getByRole('heading', { name: 'Change my card limit' }).waitFor();
      const position = page.getByTestId('position');
      const wait = page.getByTestId('wait');
      await position.getByText('You are 2nd in line').waitFor();
      await wait.getByText('Estimated wait: about 8 min').waitFor();
      await page.getByText('Live updates on').waitFor();
      await assertNamedControls(t, 'waiting');
      await t.screenshot('9-waiting-2nd');
      const board = await api(app.a.url, 'board', { headers: { authorization: `Bearer ${app.admin}` } });
      const alice = board.body.requests.find((r: any) => r.customerName === 'Alice Martin');
      assert.equal(alice.level, 3, 'queued at level 3 (device + biometric)');
      assert.equal(alice.position, 2);

      // Chen leaves (over the API): the phone moves up live, with a shorter wait.
      const left = await chen.api('cancelRequest', { params: { requestId: chenReq.requestId } });
      assert.equal(left.status, 200, JSON.stringify(left.body));
      await position.getByText('You are next').waitFor();
      await wait.getByText('Estimated wait: about 3 min').waitFor();
      await t.screenshot('10-waiting-next');

      // A reload (the phone closed the tab): the key comes back from IndexedDB, the
      // device authenticates again and the same request is followed live.
      await page.reload();
      await page.getByRole('heading', { name: 'Change my card limit' }).waitFor();
      await position.getByText('You are next').waitFor();
      await page.getByText('Live updates on').waitFor();

      // Pick a time: the first free slot of today (or tomorrow late in the UTC day).
      await page.getByRole('button', { name: /Pick a time/ }).click();
      await page
        .getByRole('list', { name: 'Callback times' })
        .or(page.getByText('No callback times left on this day.'))
        .waitFor();
      if (await page.getByText('No callback times left on this day.').isVisible())
        await page.getByRole('button', { name: 'Tomorrow' }).click();
      const firstSlot = page.getByRole('list', { name: 'Callback times' }).getByRole('button').first();
      await firstSlot.waitFor();
      await assertNamedControls(t, 'slots');
      await t.screenshot('11-callback-slots');
      const slotLabel = (await firstSlot.getAttribute('aria-label'))!;
      await firstSlot.click();
      await position.getByText('Callback booked').waitFor();
      const slotFrom = /^Book (\S+) to/.exec(slotLabel)![1]!;
      await wait.getByText(new RegExp(`We will call you between ${slotFrom} and`)).waitFor();
      const booked = await api(app.a.url, 'getRequest', {
        params: { requestId: alice.requestId },
        headers: { authorization: `Bearer ${app.admin}` },
      });
      assert.equal(booked.body.state, 'scheduled');
      assert.equal(booked.body.callback.mode, 'slot');
      await t.screenshot('12-callback-booked');

      // Cancel the request.
      await page.getByRole('button', { name: 'Cancel request' }).click();
      await page.getByRole('alertdialog', { name: 'Cancel your request?' }).waitFor();
      await t.screenshot('13-cancel-confirm');
      await page.getByRole('button', { name: 'Yes, cancel request' }).click();
      await page.getByRole('status').getByText('Your request was cancelled.').waitFor();
      const cancelled = await api(app.a.url, 'getRequest', {
        params: { requestId: alice.requestId },
        headers: { authorization: `Bearer ${app.admin}` },
      });
      assert.equal(cancelled.body.state, 'abandoned');
      await t.screenshot('14-cancelled-home');

      // After the reload the phone is verified by its key only (level 1): a level-2
      // option offers any one of PIN, fingerprint or photo; the PIN is enough.
      await page.getByRole('heading', { name: 'Verified: this phone', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card.*Needs PIN/ }).click();
      await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor();
      await page.getByRole('button', { name: 'Use fingerprint' }).waitFor();
      await page.getByRole('button', { name: 'Take a photo instead' }).waitFor();
      await page.getByLabel('Your PIN').fill('246810');
      await assertNamedControls(t, 'step-up choices');
      await t.screenshot('15-step-up-choices');
      await page.getByRole('button', { name: 'Confirm with PIN' }).click();
      await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();
      await position.getByText('You are next').waitFor();
      await page.getByRole('button', { name: 'Home' }).click();

      // The same app on a desktop-sized window: a centred column, nothing cut off.
      await page.setViewportSize({ width: 1280, height: 800 });
      const box = (await page.locator('.app').boundingBox())!;
      assert.ok(box.x > 300 && box.width <= 480, `centred column on desktop: ${JSON.stringify(box)}`);
      await page.getByRole('button', { name: 'See your request' }).waitFor();
      await t.screenshot('16-desktop-home');

      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });
});
