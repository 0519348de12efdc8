/**
 * The agent's requests on the customer's phone, end to end: the customer app in
 * Chromium (390x844, virtual WebAuthn authenticator, fake camera) against a real
 * authority serving the app built from today's sources; the agent is driven over HTTP.
 * Each command becomes a card naming the agent, verified by the SDK first: fingerprint,
 * photo, text with validation, a menu the agent edits live, a form, a payment confirmed
 * (signed on the phone, "confirmed on device" for the agent), decline, a screenshot of
 * the app shown before it is sent, navigate, "Stop all" then "Allow again", a transfer
 * ("You are now with ...") and the end of control.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator } from 'playwright-core';
import type { DeviceCommand } from '../../protocol/src/index.ts';
import { launchChromium } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import {
  agent,
  assertNamedControls,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app in Chromium: the agent’s requests as cards, answered, declined, stopped', () => {
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

  it('fingerprint, photo, text, live menu, form, confirm, decline, screenshot, navigate, stop all, transfer, end', async () => {
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    const phone = await openPhone(browser, app, 'commands');
    const { t, page } = phone;
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Cards/ }).click();
      await page.getByRole('button', { name: /Lost or stolen card/ }).click();
      await page.getByRole('heading', { name: 'Lost or stolen card' }).waitFor();

      await dana.available();
      const me = await dana.me();
      const requestId: string = me.offer.requestId;
      let fence = await dana.acceptOffer(requestId);
      let seq = 0;
      let token = dana.token;
      const send = async (command: DeviceCommand) => {
        const r = await api(app.a.url, 'sendCommand', {
          params: { requestId },
          headers: bearer(token),
          json: { fence, seq: ++seq, command },
        });
        return r;
      };
      const sendOk = async (command: DeviceCommand): Promise<string> => {
        const r = await send(command);
        assert.equal(r.status, 201, JSON.stringify(r.body));
        return r.body.commandId;
      };
      const viewOf = async (commandId: string) => {
        const r = await api(app.a.url, 'requestCommands', { params: { requestId }, headers: bearer(token) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.commands.find((c: any) => c.commandId === commandId);
      };
      const cardOf = (title: string | RegExp): Locator => page.getByRole('article', { name: title });
      /** The card left the screen once the authority took the answer. */
      const gone = (card: Locator) => card.waitFor({ state: 'detached' });

      // Assigned: the phone says the agent may send requests, with "Stop all" at hand.
      await page.getByRole('heading', { name: 'Dana can send requests to this phone' }).waitFor();
      await page.getByRole('button', { name: 'Stop all' }).waitFor();
      await assertNamedControls(t, 'assigned');
      await t.screenshot('1-assigned-stop-all');

      // Fingerprint (virtual authenticator): the level rises to 3, on the same authentication.
      const bioId = await sendOk({
        kind: 'verify',
        payload: { factor: 'biometric', reason: 'Before we block the card' },
      });
      const bio = cardOf('Dana Reyes asks you to confirm with your fingerprint');
      await bio.getByText('Before we block the card').waitFor();
      await t.screenshot('2-card-fingerprint');
      assert.equal((await viewOf(bioId)).state, 'shown', 'acknowledged once on screen');
      await bio.getByRole('button', { name: 'Use fingerprint' }).click();
      await gone(bio);
      const bioView = await viewOf(bioId);
      assert.deepEqual(
        [bioView.state, bioView.result.factor, bioView.result.level],
        ['done', 'biometric', 3],
      );

      // Photo (fake camera).
      const photoId = await sendOk({
        kind: 'photo',
        payload: { prompt: 'A photo of your face, please', camera: 'front' },
      });
      const photo = cardOf('Dana Reyes asks for a photo');
      await photo.getByRole('button', { name: 'Start camera' }).click();
      await photo.getByRole('button', { name: 'Take photo' }).click();
      await photo.getByRole('img', { name: 'Your photo' }).waitFor();
      await t.screenshot('3-card-photo');
      await photo.getByRole('button', { name: 'Send photo' }).click();
      await gone(photo);
      const pv = await viewOf(photoId);
      assert.equal(pv.result.kind, 'photo');
      const jpeg = await fetch(`${app.a.url}/v1/agent/requests/${requestId}/photos/${pv.result.photoId}`, {
        headers: bearer(token),
      });
      assert.equal(jpeg.headers.get('content-type'), 'image/jpeg');

      // Text: a tracking number, with the validation message first.
      const textId = await sendOk({
        kind: 'text',
        payload: { input: 'tracking', prompt: 'Tracking number of the parcel' },
      });
      const text = cardOf('Dana Reyes asks for a tracking number');
      await text.getByLabel('Tracking number of the parcel').fill('jd 01');
      await text.getByRole('button', { name: 'Send' }).click();
      await text
        .getByRole('alert')
        .getByText('A tracking number is 6 to 40 letters and digits, without spaces.')
        .waitFor();
      await assertNamedControls(t, 'text card');
      await t.screenshot('4-card-text-invalid');
      await text.getByLabel('Tracking number of the parcel').fill('jd014277gb');
      await text.getByRole('button', { name: 'Send' }).click();
      await gone(text);
      assert.equal((await viewOf(textId)).result.value, 'JD014277GB');

      // Menu, edited live by the agent: the card changes in place; the new revision is answered.
      const menuId = await sendOk({
        kind: 'menu',
        payload: {
          title: 'What happened to the card?',
          items: [
            { id: 'lost', label: 'I lost it' },
            { id: 'stolen', label: 'It was stolen' },
          ],
        },
      });
      const menu = cardOf('Dana Reyes asks you to choose');
      await menu.getByRole('button', { name: 'It was stolen' }).waitFor();
      await t.screenshot('5-card-menu');
      const edit = await api(app.a.url, 'updateMenu', {
        params: { commandId: menuId },
        headers: bearer(token),
        json: {
          fence,
          items: [
            { id: 'lost', label: 'I lost it' },
            { id: 'stolen', label: 'It was stolen' },
            { id: 'damaged', label: 'It is damaged' },
          ],
        },
      });
      assert.equal(edit.status, 200, JSON.stringify(edit.body));
      await menu.getByRole('button', { name: 'It is damaged' }).waitFor();
      await menu.getByText('Dana changed the options.').waitFor();
      assert.equal(
        await page.getByRole('article', { name: 'Dana Reyes asks you to choose' }).count(),
        1,
        'one card',
      );
      await t.screenshot('6-card-menu-edited');
      await menu.getByRole('button', { name: 'It is damaged' }).click();
      await gone(menu);
      assert.deepEqual((await viewOf(menuId)).result, {
        kind: 'menu',
        itemId: 'damaged',
        label: 'It is damaged',
        revision: 2,
      });

      // Form: typed fields with messages per field.
      const formId = await sendOk({
        kind: 'form',
        payload: {
          title: 'New card delivery',
          fields: [
            { id: 'street', label: 'Street', type: 'text', required: true, maxLength: 80 },
            { id: 'floor', label: 'Floor', type: 'number', required: false, min: 0, max: 200 },
            {
              id: 'slot',
              label: 'When',
              type: 'select',
              required: true,
              options: [
                { id: 'am', label: 'Morning' },
                { id: 'pm', label: 'Afternoon' },
              ],
            },
            { id: 'agree', label: 'I agree to the delivery terms', type: 'checkbox', required: true },
          ],
        },
      });
      const form = cardOf('Dana Reyes asks you to fill in a form');
      await form.getByLabel('Floor (optional)').fill('500');
      await form.getByRole('button', { name: 'Send' }).click();
      await form.getByText('This field is required.').first().waitFor();
      await form.getByText('At most 200.').waitFor();
      await form.getByText('Tick this box to continue.').waitFor();
      await assertNamedControls(t, 'form card');
      await t.screenshot('7-card-form-invalid');
      await form.getByLabel('Street').fill('1 Main Street');
      await form.getByLabel('Floor (optional)').fill('3');
      await form.getByLabel('When').selectOption('pm');
      await form.getByLabel('I agree to the delivery terms').check();
      await form.getByRole('button', { name: 'Send' }).click();
      await gone(form);
      assert.deepEqual((await viewOf(formId)).result.values, {
        street: '1 Main Street',
        floor: 3,
        slot: 'pm',
        agree: true,
      });

      // Confirm a payment: the amount in its currency; Confirm signs on the phone.
      const confirmId = await sendOk({
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
      });
      const confirm = cardOf('Dana Reyes asks you to confirm a payment');
      assert.equal(await confirm.getByTestId('confirm-amount').textContent(), '£1,250.00');
      await confirm.getByText('Northwind Travel Ltd', { exact: true }).waitFor();
      await confirm.getByText('INV-2026-0042').waitFor();
      await assertNamedControls(t, 'confirm card');
      await t.screenshot('8-card-confirm');
      await confirm.getByRole('button', { name: 'Confirm' }).click();
      await gone(confirm);
      const cv = await viewOf(confirmId);
      assert.equal(cv.state, 'done');
      assert.equal(cv.result.kind, 'confirm', 'confirmed on device');
      assert.ok(cv.result.verifiedAt && cv.result.signature.split('.').length === 3);

      // Decline.
      const declineId = await sendOk({
        kind: 'text',
        payload: { input: 'email', prompt: 'Your email address' },
      });
      const decline = cardOf('Dana Reyes asks for your email address');
      await decline.getByRole('button', { name: 'Decline' }).click();
      await gone(decline);
      assert.equal((await viewOf(declineId)).state, 'declined');

      // Screenshot of the app: shown to the customer before it is sent.
      const shotId = await sendOk({ kind: 'screenshot', payload: { prompt: 'Show me what you see' } });
      const shot = cardOf('Dana Reyes asks for a picture of this screen');
      await shot.getByRole('button', { name: 'Take a picture of this screen' }).click();
      await shot.getByRole('img', { name: 'Picture of your screen' }).waitFor();
      await t.screenshot('9-card-screenshot-preview');
      await shot.getByRole('button', { name: 'Send' }).click();
      await gone(shot);
      const sv = await viewOf(shotId);
      const png = await fetch(`${app.a.url}/v1/agent/requests/${requestId}/photos/${sv.result.imageId}`, {
        headers: bearer(token),
      });
      const bytes = Buffer.from(await png.arrayBuffer());
      assert.deepEqual([...bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'a PNG of the app');
      assert.ok(bytes.length > 2000, `a real picture (${bytes.length} bytes)`);

      // Navigate: the app opens the screen asked for.
      const navId = await sendOk({ kind: 'navigate', payload: { screen: 'account' } });
      const nav = cardOf('Dana Reyes wants to open your account');
      await nav.getByRole('button', { name: 'Open your account' }).click();
      await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
      await gone(nav);
      assert.deepEqual((await viewOf(navId)).result, { kind: 'navigate', screen: 'account' });
      await page.getByRole('button', { name: 'Home' }).click();
      await page.getByRole('button', { name: 'See your request' }).click();

      // Stop all, then Allow again.
      const pendingId = await sendOk({ kind: 'text', payload: { input: 'free', prompt: 'Anything else?' } });
      await cardOf('Dana Reyes asks you a question').waitFor();
      await page.getByRole('button', { name: 'Stop all' }).click();
      await page.getByText('Control is stopped').waitFor();
      assert.equal(await page.getByRole('article').count(), 0, 'every card gone');
      assert.equal((await viewOf(pendingId)).state, 'cancelled');
      const refused = await send({ kind: 'navigate', payload: { screen: 'home' } });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'control_stopped');
      await assertNamedControls(t, 'stopped');
      await t.screenshot('10-control-stopped');
      await page.getByRole('button', { name: 'Allow again' }).click();
      await page.getByRole('button', { name: 'Stop all' }).waitFor();
      const againId = await sendOk({ kind: 'navigate', payload: { screen: 'help' } });
      const again = cardOf('Dana Reyes wants to open the help page');
      await again.getByRole('button', { name: 'Decline' }).click();
      await gone(again);
      assert.equal((await viewOf(againId)).state, 'declined');

      // A warm transfer to the supervisor: the phone names the new agent; nothing is asked again.
      const sup = await staffLogin(app.a.url, 'supervisor', 'demo-supervisor');
      await api(app.a.url, 'setPresence', { headers: bearer(sup.token), json: { state: 'available' } });
      const tr = await api(app.a.url, 'transfer', {
        params: { requestId },
        headers: bearer(token),
        json: { fence, mode: 'warm', target: { kind: 'supervisor', staffId: sup.staffId } },
      });
      assert.equal(tr.status, 201, JSON.stringify(tr.body));
      const acc = await api(app.a.url, 'acceptTransfer', {
        params: { transferId: tr.body.transferId },
        headers: bearer(sup.token),
      });
      assert.equal(acc.status, 200, JSON.stringify(acc.body));
      await page.getByText('You are now with Morgan Lee.').waitFor();
      await t.screenshot('11-transferred');
      fence = acc.body.toFence;
      token = sup.token;
      seq = 0;
      const endId = await sendOk({ kind: 'end', payload: { reason: 'Your card is blocked.' } });
      await page.getByText('Morgan Lee ended the requests on your phone. Your card is blocked.').waitFor();
      await until(
        "the SDK's answer to the end command in the agent's view",
        async () => (await viewOf(endId)).state === 'done',
      );
      await assertNamedControls(t, 'ended');
      await t.screenshot('12-control-ended');

      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });
});
