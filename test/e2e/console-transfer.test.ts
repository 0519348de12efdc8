/**
 * Actions on the customer's device and transfers that keep the verification, in two
 * agent consoles in Chromium (browser mode: main/core + web host + the built renderer)
 * against a real authority, with a verified customer's device answering commands over
 * its WebSocket (test/e2e/remote-customer.ts: every command JWS checked as the SDK must).
 *
 * Run 1 (blind): Dana (agent1) asks for a fingerprint and a photo (shown beside the
 * enrolment photo) and has a payment confirmed on the device ("Confirmed on device"),
 * then transfers blind to Sam (agent2). Sam accepts; his panel shows the same
 * verification with its original times and the chain of custody; the device was never
 * asked to verify again; Dana's later command is refused by the authority; Sam's own
 * command reaches the device; the customer's "stop all" disables Sam's actions live.
 *
 * Run 2 (warm): a level-1 customer ("something else": the transaction button says why it
 * is disabled);
 * "stop all" disables Dana's actions live and "allow again" enables them; Dana starts a
 * warm transfer, calls Sam on the softphone (consult), Sam sees the consult offer and
 * the incoming call, answers, accepts; Dana's console, whose feed from the authority is
 * cut at that moment, still shows the request: her next command is refused and she sees
 * why; when her feed is back her desk goes idle with no wrap-up owed.
 *
 * Run 3 (supervisor): the board shows queues (answered within target) and agents (time in
 * state, current session); Morgan takes over Sam's customer (Sam's desk goes idle, the
 * custody chain grows), sets Sam on a break, and reassigns the customer to Dana.
 *
 * Screenshots: test/e2e/screenshots/transfer-*.png (1280x800).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium, type TestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  assertNamedControls,
  assertNoNodeInPage,
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';
import { RemoteCustomer } from './remote-customer.ts';

const ORIGIN = 'http://localhost:5173';

describe('console: actions on the device, blind and warm transfers keeping the verification, stop all', () => {
  let a: TestAuthority;
  let admin: string;
  let browser: Browser;
  let sam: { staffId: string };
  let modeA: BrowserMode;
  let modeB: BrowserMode;
  let A: TestPage;
  let B: TestPage;
  const customers: RemoteCustomer[] = [];
  const dirs: string[] = [];

  const startConsole = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-transfer-e2e-'));
    dirs.push(dataDir);
    return startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir });
  };
  const commands = (requestId: string) =>
    api(a.url, 'requestCommands', { params: { requestId }, headers: bearer(admin) });
  const request = async (requestId: string) =>
    (await api(a.url, 'getRequest', { params: { requestId }, headers: bearer(admin) })).body;
  const factorLines = (page: Page) =>
    page.getByRole('list', { name: 'Verification factors' }).getByRole('listitem').allTextContents();

  /** Send a command from the actions section: open its composer, then submit. */
  const sendAction = async (page: Page, button: string, send: string, fill?: () => Promise<void>) => {
    await page.getByRole('group', { name: 'Device actions' }).getByRole('button', { name: button }).click();
    await fill?.();
    await page.getByRole('button', { name: send }).click();
  };

  before(async () => {
    await ensureRendererBuilt();
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 120,
      wrapUpSeconds: 0,
      rpId: 'localhost',
      origins: [ORIGIN],
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    // Sam's demo shift is 08-20 UTC: no schedule means always on shift, whenever CI runs.
    sam = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await a.services.pipeline.agents.setSchedule(sam.staffId, []);
    // Two consoles place a consult call to each other over the authority's SIP edge.
    browser = await launchChromium({ extraArgs: ['--allow-loopback-in-peer-connection'] });
    modeA = await startConsole();
    modeB = await startConsole();
    A = await openConsole(browser, modeA, 'transfer-dana');
    B = await openConsole(browser, modeB, 'transfer-sam');
    for (const [t, user, pass] of [
      [A, 'agent1', 'demo-agent-1'],
      [B, 'agent2', 'demo-agent-2'],
    ] as const) {
      await t.page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      await assertNoNodeInPage(t.page);
      await signIn(t.page, user, pass);
      await t.page.getByTestId('presence').waitFor();
      await t.page.getByLabel('Change presence').selectOption('available');
      await t.page.getByTestId('presence').getByText('Available').waitFor();
      await t.page.getByTestId('softphone-status').getByText('ready').waitFor();
    }
  });
  after(async () => {
    for (const c of customers) await c.stop();
    await A?.close();
    await B?.close();
    await browser?.close();
    await modeA?.close();
    await modeB?.close();
    await a?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('blind: fingerprint, photo and a confirmed payment, then Sam takes over with the same verification', async () => {
    const alice = await RemoteCustomer.start(a.url, admin, {
      customerId: 'c_alice_martin_01',
      pin: '246810',
      optionId: 'lost-card',
      origin: ORIGIN,
      level: 2,
    });
    customers.push(alice);
    const pa = A.page;
    const pb = B.page;

    // Dana gets the offer (cards is her queue, not Sam's) and accepts.
    const offer = pa.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
    await offer.waitFor();
    await offer.getByRole('button', { name: /^Accept/ }).click();
    await pa
      .getByRole('region', { name: /Alice Martin/ })
      .filter({ hasText: 'In progress' })
      .waitFor();
    const actions = pa.getByRole('region', { name: 'Actions on the customer’s device' });
    await actions.waitFor();
    await pa.getByText('Nothing sent to the device yet.').waitFor();
    await assertNamedControls(pa, 'actions');

    // Fingerprint step-up: done on the device, the level rises to 3 live.
    await sendAction(pa, 'Ask for fingerprint', 'Send fingerprint request');
    await pa
      .getByTestId('verify-result')
      .getByText(/Fingerprint or face confirmed on the device at .*: level 3/)
      .waitFor();
    await pa.getByTestId('level-line').getByText('Level 3 · this request needs 2').waitFor();

    // A photo, shown beside the enrolment photo.
    await sendAction(pa, 'Ask for a photo', 'Send photo request');
    const photoResult = pa.getByTestId('photo-result');
    for (const alt of [/^Photo just taken/, /^Enrolment photo/]) {
      const img = photoResult.getByRole('img', { name: alt });
      await img.waitFor();
      assert.ok(await img.evaluate((el: HTMLImageElement) => el.decode().then(() => el.naturalWidth > 0)));
    }

    // A payment confirmed on the device with the fingerprint over exactly it, and signed with the device key.
    await sendAction(pa, 'Confirm a transaction', 'Send for confirmation', async () => {
      await pa.getByLabel('Amount').fill('250.00');
      await pa.getByLabel('Payee').fill('Northwind Energy');
      await pa.getByLabel('Reference').fill('INV-2026-0042');
    });
    const confirmed = pa.getByTestId('confirm-result');
    await confirmed.getByText(/^Confirmed with fingerprint at \d\d:\d\d$/).waitFor();
    await confirmed.getByText(/^R-[A-Z0-9]{10}$/).waitFor();
    await confirmed.getByText(/£250\.00 to Northwind Energy \(ref\. INV-2026-0042\)/).waitFor();
    await confirmed.getByText(/verified by the authority at \d\d:\d\d/).waitFor();
    const list = pa.getByRole('list', { name: 'Commands sent to the device' });
    assert.equal(await list.locator('li[data-state="done"]').count(), 3);
    await A.screenshot('1-actions-done');

    const before = await factorLines(pa);
    for (const k of ['Device key', 'PIN', 'Fingerprint or face'])
      assert.ok(
        before.some((f) => f.startsWith(k)),
        `${k} is a factor: ${before.join(' | ')}`,
      );
    const oldFence = (await request(alice.requestId)).fence as number;
    const authenticationBefore = alice.authenticationId;
    const session = async () =>
      (await api(a.url, 'getSession', { params: { sessionId: alice.sessionId }, headers: bearer(admin) }))
        .body;
    const absoluteBefore = (await session()).absoluteExpiresAt;
    assert.ok(absoluteBefore);

    // Blind transfer to Sam.
    await pa.getByRole('button', { name: 'Transfer…' }).click();
    const dialog = pa.getByRole('form', { name: 'Transfer Alice Martin' });
    await dialog.waitFor();
    await dialog.getByLabel('Blind: hand over now').check();
    await dialog.getByLabel('An agent').check();
    await dialog.getByLabel('Agent', { exact: true }).selectOption(sam.staffId);
    await dialog
      .getByLabel('Note for them (optional)')
      .fill('Card blocked, payment confirmed; wants a new PIN');
    await assertNamedControls(pa, 'transfer dialog');
    await A.screenshot('2-dialog');
    await dialog.getByRole('button', { name: 'Transfer now' }).click();
    await pa.getByText(/Alice Martin is now with Sam Patel \(blind transfer\).*No wrap-up is owed/).waitFor();
    await pa.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();
    assert.equal(await pa.getByRole('form', { name: /Wrap-up|Alice Martin/ }).count(), 0, 'no wrap-up owed');

    // Sam: the offer names who transferred it, with the note; he accepts.
    const offerB = pb.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
    await offerB.waitFor();
    await offerB
      .getByTestId('arrived-from')
      .getByText(/Blind transfer from Dana Reyes: “Card blocked/)
      .waitFor();
    await offerB.getByRole('button', { name: /^Accept/ }).click();
    await pb
      .getByRole('region', { name: /Alice Martin/ })
      .filter({ hasText: 'In progress' })
      .waitFor();

    // The same verification with its original times, and the chain of custody.
    await pb.getByTestId('level-line').getByText('Level 3 · this request needs 2').waitFor();
    await pb
      .getByRole('list', { name: 'Verification factors' })
      .getByRole('listitem')
      .nth(before.length - 1)
      .waitFor();
    const lines = (xs: string[]) => xs.map((f) => f.replace(/ · .* ago|just now/, ''));
    assert.deepEqual(lines(await factorLines(pb)), lines(before), 'same factors, same original times');
    const custody = pb.getByRole('list', { name: 'Chain of custody' }).getByRole('listitem');
    await custody.nth(1).waitFor();
    const chain = await custody.allTextContents();
    assert.equal(chain.length, 2);
    assert.match(chain[0]!, /Dana Reyes \(agent\)accepted from the queue\d\d:\d\d – \d\d:\d\d · transferred/);
    assert.match(chain[1]!, /Sam Patel \(agent\)blind transfer\d\d:\d\d – now/);
    await custody.nth(1).scrollIntoViewIfNeeded();
    await B.screenshot('3-same-verification-custody');

    // The customer was not asked to verify again; the same authentication record.
    assert.equal(alice.executed('verify').length, 1, 'one fingerprint request in all: Dana’s');
    const panelB = await api(a.url, 'customerPanel', {
      params: { requestId: alice.requestId },
      headers: bearer(admin),
    });
    assert.equal(panelB.body.verification.authenticationId, authenticationBefore);
    assert.equal(
      (await session()).absoluteExpiresAt,
      absoluteBefore,
      'the session’s absolute expiry is unchanged',
    );

    // Dana's console tries a command for the request she no longer holds: refused by the authority.
    const refused = await pa.evaluate(
      ([requestId, fence]) =>
        (window as any).agentDesk
          .invoke('command.send', {
            requestId,
            fence,
            command: { kind: 'navigate', payload: { screen: 'account' } },
          })
          .then(
            () => 'accepted',
            (e: { code: string }) => e.code,
          ),
      [alice.requestId, oldFence] as const,
    );
    assert.equal(refused, 'not_assigned');
    const sent = (await commands(alice.requestId)).body.commands as any[];
    assert.equal(sent.filter((c) => c.agentId !== sam.staffId && c.fence > oldFence).length, 0);

    // Sam's own command reaches the device (new fence, seq from 1) and is answered.
    await sendAction(pb, 'Ask a question', 'Send question');
    await pb.getByTestId('text-result').getByText('JD014600003828').waitFor();
    assert.equal(alice.refused.length, 0, `the device refused nothing: ${alice.refused.join('; ')}`);

    // The customer presses "stop all": Sam's actions are disabled live, with a banner.
    await alice.stopAll();
    await pb
      .getByTestId('control-stopped')
      .getByText(/Alice Martin stopped remote control at \d\d:\d\d/)
      .waitFor();
    const fingerprint = pb.getByRole('group', { name: 'Device actions' }).getByRole('button', {
      name: 'Ask for fingerprint',
    });
    assert.equal(await fingerprint.isDisabled(), true);
    await B.screenshot('4-stop-all');
    await assertNamedControls(pb, 'stopped');

    // Sam completes (no wrap-up time in this authority) so he is free for the warm run.
    await pb.getByRole('button', { name: 'Complete request' }).click();
    await pb.getByRole('form', { name: /Alice Martin/ }).waitFor();
    await pb.getByRole('group', { name: 'Outcome' }).getByLabel('Resolved', { exact: true }).check();
    await pb.getByRole('group', { name: 'Detail' }).getByRole('radio').first().check();
    await pb.getByRole('button', { name: 'Save wrap-up' }).click();
    await pb.getByTestId('wrap-up-state').getByText('Sent to the authority').waitFor();
    assert.deepEqual(A.consoleErrors, []);
    assert.deepEqual(B.consoleErrors, []);
  });

  it('warm: stop all live, a consult call, Sam accepts; Dana’s stale console is refused and told why', async () => {
    const pa = A.page;
    const pb = B.page;
    // Sam takes a break so that the general queue's request goes to Dana (a break still takes transfers).
    await pb.getByLabel('Change presence').selectOption('break:coffee');
    await pb.getByTestId('presence').getByText('On break: Short break').waitFor();
    const chen = await RemoteCustomer.start(a.url, admin, {
      customerId: 'c_chen_wei_00003',
      pin: '975310',
      optionId: 'other',
      origin: ORIGIN,
      level: 1,
    });
    customers.push(chen);
    const offer = pa.getByRole('region', { name: /Chen Wei/ }).filter({ hasText: 'New request' });
    await offer.waitFor();
    await offer.getByRole('button', { name: /^Accept/ }).click();
    const group = pa.getByRole('group', { name: 'Device actions' });
    await group.waitFor();

    // A question answered on the device.
    await sendAction(pa, 'Ask a question', 'Send question');
    await pa.getByTestId('text-result').getByText('JD014600003828').waitFor();

    // "Stop all": banner, every action disabled live; "allow again" enables them.
    await chen.stopAll();
    await pa.getByTestId('control-stopped').waitFor();
    assert.equal(await group.getByRole('button', { name: 'Ask for a photo' }).isDisabled(), true);
    await pa
      .getByTestId('control-stopped')
      .getByText(/Chen Wei stopped remote control at \d\d:\d\d/)
      .waitFor();
    await A.screenshot('5-stop-all');
    await chen.resume();
    await pa.getByTestId('control-stopped').waitFor({ state: 'detached' });
    assert.equal(await group.getByRole('button', { name: 'Ask for a photo' }).isDisabled(), false);

    // Warm transfer: a consult offer for Sam; Dana calls him on the softphone.
    await pa.getByRole('button', { name: 'Transfer…' }).click();
    const dialog = pa.getByRole('form', { name: 'Transfer Chen Wei' });
    await dialog.getByLabel('Warm: talk to them first').check();
    assert.equal(await dialog.getByLabel('A queue').isDisabled(), true, 'a warm transfer needs a person');
    await dialog.getByLabel('Agent', { exact: true }).selectOption(sam.staffId);
    await dialog.getByRole('button', { name: 'Start warm transfer' }).click();
    const consult = pa.getByRole('region', { name: 'Warm transfer to Sam Patel' });
    await consult.getByText('Waiting for Sam Patel to accept.', { exact: false }).waitFor();
    const incoming = pb.getByRole('region', { name: 'Transfer offer from Dana Reyes' });
    await incoming.getByRole('heading', { name: /Chen Wei/ }).waitFor();

    await pa.getByTestId('call-status').getByText('Ready to call').waitFor();
    await pb.getByTestId('softphone-status').getByText('ready').waitFor();
    await consult.getByRole('button', { name: 'Call Sam Patel' }).click();
    const ringing = pb.getByRole('alertdialog', { name: 'Incoming call' });
    await ringing.getByText(/Incoming call from Dana Reyes/).waitFor();
    await B.screenshot('6-consult-offer-and-call');
    // Two offers on Sam's screen at once, each with its own words (not two "Decline" buttons).
    await ringing.getByRole('button', { name: 'Decline call' }).waitFor();
    await incoming.getByRole('button', { name: 'Decline transfer' }).waitFor();
    assert.equal(await pb.getByRole('button', { name: 'Decline', exact: true }).count(), 0);
    await ringing.getByRole('button', { name: 'Answer' }).click();
    await pb
      .getByRole('group', { name: 'Call with a colleague' })
      .getByText(/On a call with/)
      .waitFor();
    await pa
      .getByRole('group', { name: 'Call with a colleague' })
      .getByText(/On a call with Sam Patel/)
      .waitFor();
    await A.screenshot('7-consulting');

    // Dana's feed from the authority drops just before Sam accepts: her screen still shows Chen.
    const oldFence = (await request(chen.requestId)).fence as number;
    modeA.core.client.disconnect();
    await incoming.getByRole('button', { name: 'Accept transfer' }).click();
    await pb
      .getByRole('region', { name: /Chen Wei/ })
      .filter({ hasText: 'In progress' })
      .waitFor();
    await pb
      .getByTestId('arrived-from')
      .getByText('Warm transfer from Dana Reyes', { exact: false })
      .waitFor();
    const custody = pb.getByRole('list', { name: 'Chain of custody' }).getByRole('listitem');
    await custody.nth(1).waitFor();
    assert.match((await custody.allTextContents())[1]!, /Sam Patel \(agent\)warm transfer/);
    await custody.nth(1).scrollIntoViewIfNeeded();
    await B.screenshot('8-warm-custody');
    assert.ok((await request(chen.requestId)).fence > oldFence, 'ownership moved with a new fence');

    // Dana asks the device for a photo: the authority refuses, her console says why.
    await sendAction(pa, 'Ask for a photo', 'Send photo request');
    await pa
      .getByRole('alert')
      .getByText(/This request is no longer yours: the command was refused/)
      .waitFor();
    await A.screenshot('9-refused');
    assert.equal(chen.executed('photo').length, 0, 'the device never saw Dana’s photo request');

    // The consult call ended when Sam accepted (his console hangs up the leg: nobody keeps
    // listening); Dana's feed comes back and her desk catches up: idle, no wrap-up.
    await pa.getByRole('group', { name: 'Call with a colleague' }).waitFor({ state: 'detached' });
    modeA.core.client.connect(['queues']);
    await pa.getByText(/Chen Wei (is now with Sam Patel|moved on to Sam Patel)/).waitFor();
    await pa.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();

    // Sam sees the level-1 gate: a transaction needs level 2.
    const confirmB = pb.getByRole('group', { name: 'Device actions' }).getByRole('button', {
      name: 'Confirm a transaction',
    });
    assert.equal(await confirmB.isDisabled(), true);
    await pb
      .getByText(
        /Confirm a transaction: Needs level 2 \(Device key \+ PIN or photo\); the customer is at level 1\./,
      )
      .waitFor();
    assert.equal(chen.executed('verify').length, 0, 'nobody asked Chen to verify');
    await B.screenshot('10-level-gate');
    assert.deepEqual(A.consoleErrors, []);
    assert.deepEqual(B.consoleErrors, []);
  });

  it('supervisor board: live queues and agents, take over Sam’s customer, set Sam’s state, reassign to Dana', async () => {
    const modeS = await startConsole();
    const S = await openConsole(browser, modeS, 'transfer-morgan');
    try {
      const ps = S.page;
      const pa = A.page;
      const pb = B.page;
      const chen = customers[1]!;
      await signIn(ps, 'supervisor', 'demo-supervisor');
      await ps.getByRole('button', { name: 'Board' }).click();
      const agents = ps
        .getByRole('table')
        .filter({ has: ps.getByRole('columnheader', { name: 'Time in state' }) });
      const samRow = agents.getByRole('row', { name: /Sam Patel/ });
      await samRow.getByText('Busy').waitFor();
      await samRow.getByText('Chen Wei').waitFor();
      await samRow.getByText(/session …/).waitFor();
      assert.match(
        (await samRow.locator('td').nth(1).textContent()) ?? '',
        /^\d+:\d\d$/,
        'time in state ticks',
      );
      const queues = ps
        .getByRole('table')
        .filter({ has: ps.getByRole('columnheader', { name: 'Answered in target' }) });
      await queues.getByRole('row', { name: /General/ }).waitFor();
      assert.match(
        (await queues
          .getByRole('row', { name: /General/ })
          .locator('td')
          .last()
          .textContent()) ?? '',
        /(\d+ %|—)( within \d+:\d\d)?/,
      );
      await assertNamedControls(ps, 'board');
      await S.screenshot('11-board');

      // Take over: the supervisor owns Chen at once; Sam's desk goes idle, no wrap-up owed.
      const requests = ps
        .getByRole('table')
        .filter({ has: ps.getByRole('columnheader', { name: 'Priority' }) });
      // The supervisor confirms first, told that Chen stays connected (make before break).
      let confirmText = '';
      ps.once('dialog', (d) => {
        confirmText = d.message();
        void d.accept();
      });
      await requests
        .getByRole('row', { name: /Chen Wei/ })
        .getByRole('button', { name: 'Take over Chen Wei' })
        .click();
      assert.match(
        confirmText,
        /^Take over Chen Wei from Sam Patel\? Sam Patel leaves the call; Chen Wei stays connected/,
      );
      await ps
        .getByRole('region', { name: /Chen Wei/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await pb.getByText('Morgan Lee took over Chen Wei. No wrap-up is owed.').waitFor();
      const custody = ps.getByRole('list', { name: 'Chain of custody' }).getByRole('listitem');
      await custody.nth(2).waitFor();
      const chain = await custody.allTextContents();
      assert.match(chain[0]!, /^Dana Reyes.*accepted from the queue.*transferred$/);
      assert.match(chain[1]!, /^Sam Patel.*warm transfer.*taken over$/);
      assert.match(chain[2]!, /^Morgan Lee \(supervisor\)taken over by a supervisor.*now$/);
      await custody.nth(2).scrollIntoViewIfNeeded();
      await S.screenshot('12-taken-over');

      // Set Sam's state from the board.
      await ps.getByRole('button', { name: 'Board' }).click();
      const setState = ps.getByRole('form', { name: "Set an agent's state" });
      await setState.getByLabel('Agent').selectOption({ label: 'Sam Patel' });
      await setState.getByLabel('New state').selectOption('break:training');
      await setState.getByRole('button', { name: 'Set state' }).click();
      await pb.getByTestId('presence').getByText('On break: Training').waitFor();

      // Reassign Chen to Dana: she is offered the request, named as reassigned, and accepts.
      await requests
        .getByRole('combobox', { name: 'Reassign Chen Wei to' })
        .selectOption({ label: 'Dana Reyes' });
      await requests.getByRole('button', { name: 'Reassign Chen Wei' }).click();
      await ps.getByText('Chen Wei is offered to Dana Reyes.').waitFor();
      const offer = pa.getByRole('region', { name: /Chen Wei/ }).filter({ hasText: 'New request' });
      await offer
        .getByTestId('arrived-from')
        .getByText('Reassigned to you by Morgan Lee', { exact: false })
        .waitFor();
      await offer.getByRole('button', { name: /^Accept/ }).click();
      await pa
        .getByRole('region', { name: /Chen Wei/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await ps.getByRole('button', { name: 'Desk' }).click();
      await ps
        .getByText(/Morgan Lee reassigned Chen Wei to Dana Reyes|Chen Wei moved on to Dana Reyes/)
        .waitFor();
      assert.equal(chen.executed('verify').length, 0, 'still nobody asked Chen to verify');
      await A.screenshot('13-reassigned');
      assert.deepEqual(S.consoleErrors, []);
    } finally {
      await S.close();
      await modeS.close();
    }
  });
});
