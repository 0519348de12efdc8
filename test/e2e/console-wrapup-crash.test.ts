/**
 * The browser-UI version of "the authority is killed during wrap-up -> the wrap-up
 * arrives exactly once after its restart" (the core-level one is
 * test/integration/wrap-up-authority-crash.test.ts).
 *
 * The authority runs as a child process (AuthorityProcess: fixed port and data dir),
 * the console in browser mode in this process, the agent in Chromium. agent1 signs in,
 * goes available, a verified customer's request (a device over the real API, device key
 * + PIN) is offered, accepted and completed. The authority is SIGKILLed; the agent fills
 * in the wrap-up and saves it: the UI says it is pending (kept on this computer), the
 * banner says the authority is unreachable and the console reconnects, the outbox holds
 * it and history lists it as pending. The authority restarts on the same data dir and
 * port: the UI shows it sent and the agent available again; after a reload history shows
 * it sent. The authority's store, opened read-only after a clean stop, holds exactly one
 * wrap-up for the request, with the console's idempotency key.
 *
 * Console errors: none, except while the authority is down, where the only ones allowed
 * are the softphone's failed WebSocket connections to the authority's SIP edge (the
 * browser logs each failed attempt as an error): filtered by exact URL and window.
 * Screenshots: test/e2e/screenshots/console-wrapup-crash-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';
import {
  assertNamedControls,
  assertNoNodeInPage,
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';

const NOTES = 'Card blocked while the authority was down; replacement ordered.';

describe('console in Chromium: a wrap-up saved while the authority is SIGKILLed arrives exactly once after its restart', () => {
  let dir: string;
  let authority: AuthorityProcess;
  let mode: BrowserMode;
  let browser: Browser;

  before(async () => {
    await ensureRendererBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vd-console-wrapup-crash-'));
    authority = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(dir, 'authority'),
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_OFFER_TIMEOUT_SECONDS: '120',
        VD_WRAP_UP_REQUIRED: 'true',
        VD_WRAP_UP_SECONDS: '60',
        VD_LOG_LEVEL: 'warn',
      },
    });
    await authority.start();
    mode = await startBrowserMode({
      authorityUrl: authority.url,
      dataDir: join(dir, 'console'),
      rendererDir,
      managed: {},
    });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await authority?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('shows the wrap-up pending while the authority is down, sent after its restart, stored once', async () => {
    const t = await openConsole(browser, mode, 'console-wrapup-crash');
    const { page } = t;
    let closed = false;
    const closePage = async () => {
      if (!closed) await t.close();
      closed = true;
    };
    const presence = page.getByTestId('presence');
    const banner = page.getByTestId('connection-banner');
    const outbox = page.getByTestId('outbox-status');
    const last = page.getByRole('status', { name: 'Last wrap-up' });
    let requestId = '';
    try {
      await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      await assertNoNodeInPage(page);
      await signIn(page, 'agent1', 'demo-agent-1');
      await presence.waitFor();
      await page.getByTestId('softphone-status').getByText('ready', { exact: true }).waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      await presence.getByText('Available').waitFor();

      // A verified customer (device key + PIN: level 2) asks about a lost card.
      const admin = (await staffLogin(authority.url, 'admin', 'demo-admin-1')).token;
      const code = await api(authority.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin),
      });
      const alice = await new TestDevice(authority.url).enrolAndAuthenticate(code.body.code);
      assert.equal((await alice.api('setPin', { json: { pin: '246810' } })).status, 200);
      const pin = await alice.api('pinFactor', { json: { pin: '246810' } });
      assert.equal(pin.body.level, 2);
      const created = await alice.api('createRequest', { json: { optionId: 'lost-card' } });
      assert.equal(created.body.status, 'queued', JSON.stringify(created.body));
      requestId = created.body.request.requestId;

      // Offer with the verification, accept, complete: the wrap-up is owed.
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'New request' })
        .waitFor();
      await page.getByTestId('verification-state').getByText('Verified', { exact: true }).waitFor();
      await page.getByRole('button', { name: /^Accept/ }).click();
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await page.getByRole('button', { name: 'Complete request' }).click();
      const form = page.getByRole('form', { name: /Alice Martin/ });
      await form.waitFor();
      await presence.getByText('Wrap-up').waitFor();
      await assertNamedControls(page, 'wrap-up');
      await t.screenshot('1-wrap-up-owed');

      // The authority dies (SIGKILL) while the agent writes the wrap-up.
      const errorsBeforeCrash = t.consoleErrors.length;
      await authority.kill();
      await banner.getByText('The authority is unreachable. Reconnecting…').waitFor();
      await page.getByTestId('authority-status').getByText('reconnecting').waitFor();
      await page.getByRole('group', { name: 'Outcome' }).getByLabel('Resolved', { exact: true }).check();
      await page.getByRole('group', { name: 'Detail' }).getByLabel('Card blocked').check();
      await page.getByLabel('Notes').fill(NOTES);
      await page.getByRole('button', { name: 'Save wrap-up' }).click();

      // Saved on this computer, shown as pending, nothing lost.
      await last.getByText('Resolved › Card blocked').waitFor();
      await last
        .getByTestId('wrap-up-state')
        .getByText('Pending: kept on this computer and sent as soon as the authority answers')
        .waitFor();
      await outbox.getByText('1 wrap-up pending').waitFor();
      await banner.getByText(/The authority is unreachable/).waitFor();
      assert.equal(await form.count(), 0, 'the form is done with: the wrap-up is in the outbox');
      const queued = mode.core.db.prepare('SELECT idempotency_key, payload, sent_at FROM outbox').all() as {
        idempotency_key: string;
        payload: string;
        sent_at: number | null;
      }[];
      assert.equal(queued.length, 1, 'one outbox entry');
      assert.equal(queued[0]!.sent_at, null, 'not sent while the authority is down');
      const payload = JSON.parse(queued[0]!.payload);
      assert.equal(payload.requestId, requestId);
      assert.deepEqual(payload.disposition, ['resolved', 'card-blocked']);
      assert.equal(payload.notes, NOTES);
      const key = queued[0]!.idempotency_key;
      await t.screenshot('2-saved-pending-authority-down');

      await page.getByRole('button', { name: 'History' }).click();
      const historyRow = page.getByRole('row', { name: /Alice Martin/ });
      await historyRow.getByText('Resolved › Card blocked').waitFor();
      await historyRow.getByText('Pending', { exact: true }).waitFor();
      await t.screenshot('3-history-pending');
      await page.getByRole('button', { name: 'Desk' }).click();

      // Back on the same data dir and port: the outbox delivers it, the agent is released.
      await authority.start();
      await last.getByTestId('wrap-up-state').getByText('Sent to the authority').waitFor({ timeout: 60_000 });
      await outbox.getByText('all sent').waitFor();
      await banner.waitFor({ state: 'detached' });
      await page.getByTestId('authority-status').getByText('connected').waitFor();
      await presence.getByText('Available').waitFor();
      // The softphone re-registers with the restarted SIP edge: from here on no error is expected.
      await page
        .getByTestId('softphone-status')
        .getByText('ready', { exact: true })
        .waitFor({ timeout: 30_000 });
      const errorsAfterRestart = t.consoleErrors.length;
      await t.screenshot('4-sent-after-restart');

      // A reload keeps the session; history shows the wrap-up sent.
      await page.reload();
      await presence.getByText('Available').waitFor();
      await page.getByRole('button', { name: 'History' }).click();
      await historyRow.getByText('Resolved › Card blocked').waitFor();
      await historyRow.getByText('Sent', { exact: true }).waitFor();
      await t.screenshot('5-history-sent-after-reload');
      await assertNoNodeInPage(page);

      // Errors: none before the crash or after the restart; while down, only the SIP edge's sockets.
      const sipEdge = new RegExp(
        `^console\\.error: WebSocket connection to '${authority.url.replace(/^http/, 'ws').replace(/[.]/g, '\\.')}/sip' failed: `,
      );
      const outside = [
        ...t.consoleErrors.slice(0, errorsBeforeCrash),
        ...t.consoleErrors.slice(errorsAfterRestart),
      ];
      const during = t.consoleErrors.slice(errorsBeforeCrash, errorsAfterRestart);
      assert.deepEqual(outside, [], 'no console errors outside the outage');
      assert.deepEqual(
        during.filter((e) => !sipEdge.test(e)),
        [],
        'during the outage only the SIP edge WebSocket fails',
      );
      console.log(
        `wrap-up saved in the UI during an authority SIGKILL: pending, sent after restart; ` +
          `${during.length} expected SIP-edge socket errors during the outage`,
      );

      const history: any = await mode.core.invoke('history.list', { limit: 10 });
      assert.equal(history.find((h: any) => h.requestId === requestId).wrapUpState, 'sent');

      // The authority's own store, read after a clean stop: exactly one wrap-up, with our key.
      await closePage();
      await authority.stop();
      const db = new Database(join(dir, 'authority', 'authority.sqlite'), { readonly: true });
      const rows = db
        .prepare('SELECT idempotency_key, disposition, notes FROM wrap_ups WHERE request_id = ?')
        .all(requestId) as { idempotency_key: string; disposition: string; notes: string }[];
      db.close();
      assert.equal(rows.length, 1, 'exactly one wrap-up reached the authority');
      assert.equal(rows[0]!.idempotency_key, key);
      assert.deepEqual(JSON.parse(rows[0]!.disposition), ['resolved', 'card-blocked']);
      assert.equal(rows[0]!.notes, NOTES);
    } finally {
      await closePage();
    }
  });
});
