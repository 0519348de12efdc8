/**
 * The agent console end to end in Chromium, in browser mode (main/core + web host +
 * the built renderer), against a real authority: log in, take a break, a verified
 * customer's request (a simulated device over the real API, level 2, "lost-card")
 * appears in the queue view, go available, the offer arrives with its countdown and
 * the customer panel shows the verification before accepting, accept with the
 * keyboard, a level-3 secure field unlocks live after a step-up, complete, the
 * authority refuses 'available' until the wrap-up is recorded, the wrap-up is saved
 * and shown as sent, the agent is available again; history and settings. Then the
 * supervisor's board, with IT's managed authority URL shown read-only.
 * Screenshots of every screen: test/e2e/screenshots/console-*.png (1280x800).
 */
import assert from 'node:assert/strict';
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
import {
  assertNamedControls,
  assertNoNodeInPage,
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';
import { portraitPng } from './remote-customer.ts';

describe('agent console in Chromium (browser mode): queue, offer, verified panel, live unlock, wrap-up', () => {
  let a: TestAuthority;
  let admin: string;
  let browser: Browser;
  const modes: BrowserMode[] = [];
  const dirs: string[] = [];

  const startConsole = async (managed: { authorityUrl?: string } = {}) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-console-e2e-'));
    dirs.push(dataDir);
    const mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir, managed });
    modes.push(mode);
    return mode;
  };

  before(async () => {
    await ensureRendererBuilt();
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 90,
      wrapUpRequired: true,
      wrapUpSeconds: 60,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const m of modes) await m.close();
    await a?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const requestState = async (requestId: string) =>
    (await api(a.url, 'getRequest', { params: { requestId }, headers: bearer(admin) })).body.state;

  it('takes a verified customer from the queue to a sent wrap-up', async () => {
    const mode = await startConsole();
    const t = await openConsole(browser, mode, 'console');
    const { page } = t;
    try {
      // Login: the launch token leaves the address bar at once.
      await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      assert.equal(new URL(page.url()).hash, '', 'the token is not left in the URL');
      await assertNoNodeInPage(page);
      await signIn(page, 'agent1', 'wrong-password');
      await page.getByRole('alert').getByText('Wrong username or password.').waitFor();
      await t.screenshot('1-login-refused');
      await signIn(page, 'agent1', 'demo-agent-1');

      // Desk: take a break first, so the request waits in the queue view.
      const presence = page.getByTestId('presence');
      await presence.waitFor();
      await page.getByLabel('Change presence').selectOption('break:lunch');
      await presence.getByText('On break: Lunch').waitFor();
      await page.getByText('Nobody is waiting in these queues.').waitFor();
      await assertNamedControls(page, 'desk');
      await t.screenshot('2-desk-on-break');

      // A verified customer asks for help: device key + PIN (level 2), photos, "Lost or stolen card".
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin),
      });
      const alice = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
      assert.equal((await alice.api('setPin', { json: { pin: '246810' } })).status, 200);
      const pin = await alice.api('pinFactor', { json: { pin: '246810' } });
      assert.equal(pin.body.level, 2);
      const photo = (purpose: string, bg: [number, number, number]) =>
        alice.api('photo', {
          query: { purpose },
          raw: portraitPng(bg),
          contentType: 'image/png',
        });
      assert.equal((await photo('enrolment', [214, 222, 232])).status, 201);
      assert.equal((await photo('verification', [226, 219, 206])).status, 201);
      const created = await alice.api('createRequest', { json: { optionId: 'lost-card' } });
      assert.equal(created.body.status, 'queued', JSON.stringify(created.body));
      const requestId: string = created.body.request.requestId;

      // The queue view shows it live: level and priority badges, a wait time that ticks.
      const queue = page.getByRole('list', { name: 'Requests in your queues' });
      const row = queue.getByRole('listitem').filter({ hasText: 'Alice Martin' });
      await row.waitFor();
      await row.getByText('Waiting').waitFor();
      await row.getByLabel('Verification level 2').waitFor();
      await row.getByLabel('Priority 10').waitFor();
      await row.getByText('Lost or stolen card · Cards').waitFor();
      const wait = row.locator('.wait');
      const firstWait = await wait.textContent();
      await page.waitForFunction(([sel, before]) => document.querySelector(sel)?.textContent !== before, [
        `[data-request-id="${requestId}"] .wait`,
        firstWait,
      ] as const);
      // Filters: another queue hides it, all queues bring it back.
      await page.getByLabel('Filter by queue').selectOption('payments');
      await page.getByText('Nobody is waiting in these queues.').waitFor();
      await page.getByLabel('Filter by queue').selectOption('');
      await page.getByLabel('Filter by option and skill').selectOption('lost-card');
      await row.waitFor();
      await t.screenshot('3-queue-waiting');

      // Available: the offer arrives with its countdown, the panel before any accept.
      await page.getByLabel('Change presence').selectOption('available');
      const offer = page.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.waitFor();
      const countdown = page.getByTestId('offer-countdown');
      const firstCount = await countdown.textContent();
      assert.match(firstCount ?? '', /^\d+:\d\d$/);
      await page.waitForFunction(
        (before) => document.querySelector('[data-testid="offer-countdown"]')?.textContent !== before,
        firstCount,
      );
      await row.getByText('Offered to you').waitFor();
      const panel = page.locator('section.panel');
      await page.getByRole('heading', { name: 'Alice Martin', exact: true }).waitFor();
      await page.getByTestId('verification-state').getByText('Verified', { exact: true }).waitFor();
      await page.getByTestId('level-line').getByText('Level 2 · this request needs 2').waitFor();
      const factors = page.getByRole('list', { name: 'Verification factors' }).getByRole('listitem');
      await factors.filter({ hasText: 'PIN' }).waitFor();
      const factorTexts = await factors.allTextContents();
      assert.deepEqual(
        factorTexts.map((f) => f.split(/\d/)[0]!.trim()),
        // The verification photo is no factor until the agent compares it with the enrolment photo.
        ['Device key', 'PIN'],
        'each factor is listed',
      );
      for (const f of factorTexts) {
        assert.match(f, /\d\d:\d\d(?!:\d)/, `factor with its time, to the minute: ${f}`);
        assert.match(f, /on enrolled phone \(…[A-Za-z0-9_-]{8}\)/, `factor with its device: ${f}`);
      }
      await page.getByText('New device: enrolled in the last 7 days').waitFor();
      const accountNumber = page.locator('[data-field="accountNumber"]');
      assert.equal(await accountNumber.getAttribute('data-locked'), 'true');
      await accountNumber.getByText('Locked: needs level 3 (the customer is at level 2)').waitFor();
      assert.equal(
        await panel.getByText('GB29 NWBK 6016 1331 9268 19').count(),
        0,
        'a locked value never reached the page',
      );
      await page.locator('[data-field="balance"]').getByText('£18,250.42').waitFor();
      for (const alt of [/^Enrolment photo, taken/, /^Photo for this request, taken/]) {
        const img = page.getByRole('img', { name: alt });
        await img.waitFor();
        assert.ok(
          await img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)),
          'the photo is decoded and shown',
        );
      }
      assert.equal(await requestState(requestId), 'offered', 'all of this before the agent accepted');
      await assertNamedControls(page, 'offer');
      await t.screenshot('4-offer-with-verified-panel');

      // Accept with the keyboard (Ctrl+Enter).
      await page.keyboard.press('Control+Enter');
      const active = page.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'In progress' });
      await active.waitFor();
      assert.equal(await requestState(requestId), 'assigned');
      // The softphone registered with the authority's SIP edge after login.
      await page.getByTestId('call-status').getByText('Ready to call').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Call customer' }).isDisabled(), false);
      // Calling is the next action: the call button is the primary one and has the focus.
      assert.match((await page.getByTestId('call-button').getAttribute('class')) ?? '', /\bprimary\b/);
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'call-button');
      assert.doesNotMatch(
        (await page.getByRole('button', { name: 'Complete request' }).getAttribute('class')) ?? '',
        /\bprimary\b/,
      );
      assert.equal(await page.getByRole('button', { name: /^Hang up/ }).isDisabled(), true);
      await row.getByText('With you').waitFor();
      await t.screenshot('5-accepted-secure-field-locked');

      // Step-up on the device (a biometric factor): the account number unlocks live.
      await a.services.authentications.addFactorAlone(
        alice.authentication.authenticationId,
        'biometric',
        alice.deviceId,
      );
      await page.locator('[data-field="accountNumber"][data-locked="false"]').waitFor();
      await accountNumber.getByText('GB29 NWBK 6016 1331 9268 19').waitFor();
      await accountNumber.getByText('Unlocked after the step-up').waitFor();
      await page.getByTestId('level-line').getByText('Level 3 · this request needs 2').waitFor();
      await factors.filter({ hasText: 'Fingerprint or face' }).waitFor();
      await row.getByLabel('Verification level 3').waitFor();
      await t.screenshot('6-unlocked-after-step-up');

      // A reload keeps the session (token from sessionStorage) and the request in hand (from the authority).
      await page.reload();
      await active.waitFor();
      await page.locator('[data-field="accountNumber"][data-locked="false"]').waitFor();
      assert.equal(new URL(page.url()).hash, '');

      // Complete: wrap-up is required before going available; the authority says so.
      await page.getByRole('button', { name: 'Complete request' }).click();
      await page.getByRole('form', { name: /Alice Martin/ }).waitFor();
      await presence.getByText('Wrap-up').waitFor();
      assert.equal(await requestState(requestId), 'completed');
      await page.getByLabel('Change presence').selectOption('available');
      await page.getByRole('alert').getByText('Record the wrap-up first').waitFor();
      await t.screenshot('7-wrap-up-required');
      await page.getByRole('button', { name: 'Dismiss message' }).click();
      // The notes open with what happened on the request, to edit before saving.
      const prefilled = await page.getByLabel('Notes').inputValue();
      assert.match(prefilled, /^Verification: verified, level 3 \(needed 2\) with Device key/);
      assert.match(prefilled, /Call: no call connected from this console\.$/);

      // Disposition (two levels) and notes; saved through the outbox and shown as sent.
      const save = page.getByRole('button', { name: 'Save wrap-up' });
      assert.equal(await save.isDisabled(), true, 'no save without a disposition');
      await page.getByRole('group', { name: 'Outcome' }).getByLabel('Resolved', { exact: true }).check();
      await page.getByRole('group', { name: 'Detail' }).getByLabel('Card blocked').check();
      await page.getByLabel('Notes').fill('Card blocked after the fingerprint step-up; replacement ordered.');
      // The draft survives a reload: notes are never lost.
      await page.reload();
      await page.getByRole('form', { name: /Alice Martin/ }).waitFor();
      assert.equal(
        await page.getByLabel('Notes').inputValue(),
        'Card blocked after the fingerprint step-up; replacement ordered.',
      );
      assert.equal(
        await page.getByRole('group', { name: 'Detail' }).getByLabel('Card blocked').isChecked(),
        true,
      );
      await assertNamedControls(page, 'wrap-up');
      await t.screenshot('8-wrap-up-form');
      await save.click();
      const last = page.getByRole('status', { name: 'Last wrap-up' });
      await last.getByText('Resolved › Card blocked').waitFor();
      await last.getByTestId('wrap-up-state').getByText('Sent to the authority').waitFor();
      await presence.getByText('Available').waitFor();
      await page.getByTestId('outbox-status').getByText('all sent').waitFor();
      const stored = await a.sql<{ disposition: string; notes: string }>`
        SELECT disposition, notes FROM wrap_ups WHERE request_id = ${requestId}`;
      assert.equal(stored.length, 1, 'the wrap-up reached the authority once');
      assert.deepEqual(JSON.parse(stored[0]!.disposition), ['resolved', 'card-blocked']);
      assert.match(stored[0]!.notes, /replacement ordered/);
      await t.screenshot('9-wrap-up-sent-available');

      // History.
      await page.getByRole('button', { name: 'History' }).click();
      const historyRow = page.getByRole('row', { name: /Alice Martin/ });
      await historyRow.getByText('Resolved › Card blocked').waitFor();
      await historyRow.getByText('Sent').waitFor();
      await t.screenshot('10-history');

      // Settings: three audio device choices (Chromium's fake devices), the authority URL.
      await page.getByRole('button', { name: 'Settings' }).click();
      for (const name of ['Microphone', 'Speaker', 'Ringing device'])
        await page.getByRole('combobox', { name, exact: true }).waitFor();
      assert.equal(await page.getByLabel('Authority URL').inputValue(), a.url);
      assert.equal(
        await page.getByLabel('Authority URL').getAttribute('readonly'),
        null,
        'not managed: editable',
      );
      // Device names are listed (the context granted the microphone): more than "System default".
      await page
        .getByRole('combobox', { name: 'Microphone', exact: true })
        .locator('option')
        .nth(1)
        .waitFor({ state: 'attached' });
      await page.getByRole('combobox', { name: 'Ringing device', exact: true }).selectOption({ index: 1 });
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('status').getByText('Saved').waitFor();
      assert.notEqual(((await mode.core.invoke('settings.get', {})) as any).ringerId, null);
      // The audio test: the chosen microphone's live level (Chromium's fake device beeps), a test sound.
      for (const name of ['Offer sound']) await page.getByRole('combobox', { name, exact: true }).waitFor();
      await page.getByRole('slider', { name: 'Offer sound volume' }).waitFor();
      await page.getByRole('button', { name: 'Test microphone' }).click();
      await page.getByLabel('Microphone level').waitFor();
      await page.getByText('The microphone hears you.').waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Play test sound' }).click();
      await assertNamedControls(page, 'settings');
      await t.screenshot('11-settings');
      await page.getByRole('button', { name: 'Stop microphone test' }).click();

      // Back on the desk, available and idle.
      await page.getByRole('button', { name: 'Desk' }).click();
      await page.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();
      await assertNoNodeInPage(page);
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });

  it('the launch link opens one console: a second page is refused, the first keeps working after a reload', async () => {
    const mode = await startConsole();
    const first = await openConsole(browser, mode, 'console-link-first');
    const second = await openConsole(browser, mode, 'console-link-second');
    try {
      await first.page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      // The same link in another browser context (another tab, another browser): refused, plainly.
      await second.page.getByRole('heading', { name: 'This console link was already used' }).waitFor();
      assert.equal(await second.page.getByLabel('Password').count(), 0, 'no sign-in form');
      await second.screenshot('link-already-used');
      // The first page signs in and keeps its session across a reload.
      await signIn(first.page, 'agent1', 'demo-agent-1');
      await first.page.getByTestId('presence').waitFor();
      await first.page.reload();
      await first.page.getByTestId('presence').waitFor();
      assert.equal(
        await first.page.getByRole('heading', { name: 'This console link was already used' }).count(),
        0,
      );
    } finally {
      await second.close();
      await first.close();
    }
  });

  it('gives a supervisor the live board, with the managed authority URL read-only', async () => {
    const mode = await startConsole({ authorityUrl: a.url });
    const t = await openConsole(browser, mode, 'console-supervisor');
    const { page } = t;
    try {
      await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      await assertNoNodeInPage(page);
      await signIn(page, 'supervisor', 'demo-supervisor');
      await page.getByRole('button', { name: 'Board' }).click();
      const agents = page
        .getByRole('table')
        .filter({ has: page.getByRole('columnheader', { name: 'Presence' }) });
      await agents
        .getByRole('row', { name: /Dana Reyes/ })
        .getByText('Available')
        .waitFor();

      // A customer asks for a payment: it is offered to Dana, live on the board.
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_bob_okafor_002' },
        headers: bearer(admin),
      });
      const bob = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
      await bob.api('setPin', { json: { pin: '135790' } });
      await bob.api('pinFactor', { json: { pin: '135790' } });
      const r = await bob.api('createRequest', { json: { optionId: 'payment-failed' } });
      assert.equal(r.body.status, 'queued');
      const requests = page
        .getByRole('table')
        .filter({ has: page.getByRole('columnheader', { name: 'Priority' }) });
      await requests
        .getByRole('row', { name: /Bob Okafor/ })
        .getByText('Offered', { exact: true })
        .waitFor();
      await agents
        .getByRole('row', { name: /Dana Reyes/ })
        .getByText('offered: Bob Okafor')
        .waitFor();
      await assertNamedControls(page, 'board');
      await t.screenshot('12-board');

      await page.getByRole('button', { name: 'Settings' }).click();
      const url = page.getByLabel('Authority URL');
      await url.waitFor();
      assert.equal(await url.getAttribute('readonly'), '', 'managed by IT: read-only');
      await page.getByText('Set by your IT department (read-only).').first().waitFor();
      await t.screenshot('13-settings-managed');
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });
});
