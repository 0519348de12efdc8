/**
 * Security questions in the agent console (Chromium, browser mode, real authority): a
 * caller whose device only reached level 1 is verified by the agent asking the customer's
 * questions. The panel lists the prompts (the answers never reach the page), the agent
 * types what the caller says (scripted typing), a wrong answer counts towards the lockout,
 * the right ones raise the level to 2 and the balance unlocks live. The agent time the
 * console measured is printed (the cost the device path saves).
 * Screenshots: test/e2e/screenshots/knowledge-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
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
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';

/** The SIP server's secret: the test reports a trunk call as Kamailio does (kamailio-phone-in tests that hop). */
const SIP_SERVER_SECRET = 'e2e-sip-server-secret-0123456789abcdefghij';

describe('security questions in the console', () => {
  let a: TestAuthority;
  let browser: Browser;
  let mode: BrowserMode;
  let dataDir: string;

  const textDir = mkdtempSync(join(tmpdir(), 'vd-knowledge-texts-'));

  before(async () => {
    await ensureRendererBuilt();
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 120,
      sipServerSecret: SIP_SERVER_SECRET,
      textSinkFile: join(textDir, 'texts.jsonl'),
      customerAppUrl: 'https://app.example.com/app/',
    });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'vd-knowledge-e2e-'));
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await a?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    rmSync(textDir, { recursive: true, force: true });
  });

  it('the agent asks, types what the caller says, a wrong answer counts, the right ones give level 2 live', async () => {
    const t = await openConsole(browser, mode, 'knowledge');
    const { page } = t;
    try {
      await signIn(page, 'agent1', 'demo-agent-1');
      await page.getByTestId('presence').waitFor();

      // Alice's device key alone (level 1) asks for "Something else" (level 1).
      const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin),
      });
      const alice = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
      assert.equal((await alice.authenticate()).status, 201);
      const created = await alice.api('createRequest', { json: { optionId: 'other' } });
      assert.equal(created.body.status, 'queued', JSON.stringify(created.body));

      await page.getByLabel('Change presence').selectOption('available');
      await page.getByRole('heading', { name: 'Alice Martin', exact: true }).waitFor();
      const section = page.getByRole('group', { name: 'Security questions' });
      await section.getByText('Accept the request to ask the questions.').waitFor();
      await page.keyboard.press('Control+Enter');
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 1/)
        .waitFor();
      const balance = page.locator('[data-field="balance"]');
      assert.equal(await balance.getAttribute('data-locked'), 'true');

      await section.getByRole('button', { name: 'Ask security questions' }).click();
      const school = section.getByLabel('Name of your first school?');
      const city = section.getByLabel('City where you opened the account?');
      await school.waitFor();
      await assertNamedControls(page, 'knowledge questions');
      const html = await page.content();
      for (const answer of ['Riverside Primary', 'Leeds'])
        assert.ok(!html.includes(answer), 'an answer never reaches the page');
      await t.screenshot('1-questions');

      // Scripted typing at a caller's pace: a wrong city first.
      const typed = Date.now();
      await school.pressSequentially('riverside primary', { delay: 40 });
      await city.pressSequentially('York', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      await section
        .getByTestId('knowledge-result')
        .getByText('Not every answer was right (1 of 5 wrong checks before the questions lock).')
        .waitFor();
      assert.equal(await school.inputValue(), '', 'what was typed is not kept');
      await t.screenshot('2-wrong-answer');

      await school.pressSequentially('Riverside Primary', { delay: 40 });
      await city.pressSequentially('leeds', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      const result = section.getByTestId('knowledge-result');
      await result.getByText('Answers right: verified to level 2.').waitFor();
      const wall = (Date.now() - typed) / 1000;
      await page
        .getByTestId('level-line')
        .getByText(/^Level 2/)
        .waitFor();
      await page
        .getByRole('list', { name: 'Verification factors' })
        .getByRole('listitem')
        .filter({ hasText: 'Knowledge questions' })
        .waitFor();
      await balance.getByText('£18,250.42').waitFor();
      assert.equal(await balance.getAttribute('data-locked'), 'false');
      const agentSeconds = Number(/Agent time ([\d.]+) s/.exec((await result.textContent()) ?? '')?.[1]);
      assert.ok(agentSeconds > 0, 'the agent time is shown');
      await t.screenshot('3-verified-by-questions');

      const audit = await a.sql<{ outcome: string; reason: string }>`
        SELECT outcome, reason FROM audit_log WHERE action = 'auth.knowledge' ORDER BY seq`;
      assert.deepEqual(
        audit.map((r) => r.outcome),
        ['failure', 'success'],
      );
      for (const r of audit) assert.match(r.reason, /agent time [\d.]+ s/);
      console.log(
        `# agent time verifying by knowledge questions (scripted typing, two checks): ${agentSeconds.toFixed(1)} s measured by the console (${wall.toFixed(1)} s wall clock); by the device link: 0 s of agent time`,
      );
    } finally {
      await t.close();
    }
  });

  it('a caller from the phone network: offered with what the caller ID says (not proof), verified by the questions', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, '+442079460000');
    await registerPhone(a.url, admin, 'c_bob_okafor_002', '07911 123457');

    // Sam's console: a console of its own (its own local store), as on another desk.
    const samDir = mkdtempSync(join(tmpdir(), 'vd-phone-in-e2e-'));
    const samMode = await startBrowserMode({ authorityUrl: a.url, dataDir: samDir, rendererDir });
    const t = await openConsole(browser, samMode, 'phone-in');
    const { page } = t;
    try {
      await signIn(page, 'agent2', 'demo-agent-2');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      // Bob phones the contact center's number: Kamailio reports the call (as it does over HTTP).
      const arrived = await api(a.url, 'trunkCallArrived', {
        headers: { authorization: `Bearer ${SIP_SERVER_SECRET}` },
        json: { callId: 'e2e-carrier-call@192.0.2.10', caller: '447911123457', dialled: '+442079460000' },
      });
      assert.equal(arrived.status, 201, JSON.stringify(arrived.body));

      await page.getByRole('heading', { name: 'Bob Okafor', exact: true }).waitFor();
      await page.getByTestId('offer-channel').getByText('New request · phone call').waitFor();
      await page
        .getByTestId('phoned-in')
        .getByText('Phoned in from +44 7911 123457 — number registered to Bob Okafor (not verified)')
        .waitFor();
      await t.screenshot('1-offer');

      await page.keyboard.press('Control+Enter');
      await page
        .getByRole('region', { name: /Bob Okafor/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 0/)
        .waitFor();
      assert.equal(await page.getByRole('button', { name: 'Call customer' }).count(), 0, 'no app to call');
      await page.getByRole('button', { name: 'Take the call' }).waitFor();
      await page
        .getByTestId('call-status')
        .getByText(/^Phoned in: the caller is waiting on the phone line/)
        .waitFor();
      await page
        .getByTestId('voice-state')
        .getByText(
          /^Voice: phone network, caller ID matches\. Phoned in from \+44 7911 123457 — number registered to .+ \(not verified\)\./,
        )
        .waitFor();
      assert.equal(
        await page.getByRole('heading', { name: 'Actions on the customer’s device' }).count(),
        0,
        'no app on this request: no device actions',
      );
      assert.equal(
        await page
          .getByTestId('verification-times')
          .getByText(/Verified at/)
          .count(),
        0,
      );
      await t.screenshot('2-accepted');

      const section = page.getByRole('group', { name: 'Security questions' });
      await section.getByRole('button', { name: 'Ask security questions' }).click();
      const team = section.getByLabel('Favourite football team?');
      await team.pressSequentially('arsenal', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      await section
        .getByTestId('knowledge-result')
        .getByText(/^Answers right: verified to level 1\./)
        .waitFor();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 1/)
        .waitFor();
      await t.screenshot('3-verified-by-questions');
    } finally {
      await t.close();
      await samMode.close();
      rmSync(samDir, { recursive: true, force: true });
    }
  });

  it('a caller with the app is texted a link during the call; verifying in the app turns the panel verified', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, '+442079460000');
    await registerPhone(a.url, admin, 'c_alice_martin_01', '07911 123456');
    // Alice's phone with the app (a software device: the app's SDK does the same), with a PIN.
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const alice = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await alice.api('setPin', { json: { pin: '112358' } })).status, 200);
    // Sam finished Bob's call (the previous test).
    const sam = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const me = (await api(a.url, 'agentMe', { headers: bearer(sam.token) })).body;
    if (me.currentRequestId) {
      const held = await api(a.url, 'getRequest', {
        params: { requestId: me.currentRequestId },
        headers: bearer(sam.token),
      });
      await api(a.url, 'completeRequest', {
        params: { requestId: me.currentRequestId },
        headers: bearer(sam.token),
        json: { fence: held.body.fence },
      });
    }

    const samDir = mkdtempSync(join(tmpdir(), 'vd-phone-link-e2e-'));
    const samMode = await startBrowserMode({ authorityUrl: a.url, dataDir: samDir, rendererDir });
    const t = await openConsole(browser, samMode, 'phone-link');
    const { page } = t;
    try {
      await signIn(page, 'agent2', 'demo-agent-2');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      const arrived = await api(a.url, 'trunkCallArrived', {
        headers: { authorization: `Bearer ${SIP_SERVER_SECRET}` },
        json: { callId: 'e2e-link-call@192.0.2.10', caller: '+447911123456', dialled: '+442079460000' },
      });
      assert.equal(arrived.status, 201, JSON.stringify(arrived.body));
      await page.getByRole('heading', { name: 'Alice Martin', exact: true }).waitFor();
      await page.keyboard.press('Control+Enter');
      const section = page.getByRole('group', { name: 'Verify in the app' });
      await section.getByRole('button', { name: 'Text a verification link' }).click();
      await section
        .getByTestId('verification-link-state')
        .getByText(/^Link sent to \+44 7911 123456 at /)
        .waitFor();
      await t.screenshot('1-link-sent');

      const line = readFileSync(join(textDir, 'texts.jsonl'), 'utf8').trim().split('\n').at(-1)!;
      const token = /\/v\/([A-Za-z0-9_-]+)/.exec(line)?.[1] ?? '';
      assert.ok(token, line);
      assert.equal((await alice.authenticate()).status, 201);
      assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
      const tapped = Date.now();
      const used = await alice.api('useVerificationLink', { params: { token } });
      assert.equal(used.status, 200, JSON.stringify(used.body));
      await page
        .getByTestId('level-line')
        .getByText(/^Level 2/)
        .waitFor();
      const ms = Date.now() - tapped;
      await section
        .getByTestId('verification-link-state')
        .getByText(/^Verified in the app at level 2/)
        .waitFor();
      await t.screenshot('2-verified-in-the-app');
      console.log(`# link used in the app -> the console's panel at level 2: ${ms} ms`);
    } finally {
      await t.close();
      await samMode.close();
      rmSync(samDir, { recursive: true, force: true });
    }
  });
  it('an unknown caller (number withheld): the agent asks who is calling, finds the customer by number, then the questions verify them', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, '+442079460000');
    await registerPhone(a.url, admin, 'c_bob_okafor_002', '07911 123457');
    // Sam finishes the call of the test before (the one he still holds).
    const sam = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const held = (await api(a.url, 'agentMe', { headers: bearer(sam.token) })).body.currentRequestId as
      string | null;
    if (held) {
      const r = await api(a.url, 'getRequest', { headers: bearer(sam.token), params: { requestId: held } });
      const done = await api(a.url, 'completeRequest', {
        headers: bearer(sam.token),
        params: { requestId: held },
        json: { fence: r.body.fence },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
    }
    const samDir = mkdtempSync(join(tmpdir(), 'vd-phone-unknown-e2e-'));
    const samMode = await startBrowserMode({ authorityUrl: a.url, dataDir: samDir, rendererDir });
    const t = await openConsole(browser, samMode, 'phone-unknown');
    const { page } = t;
    try {
      await signIn(page, 'agent2', 'demo-agent-2');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      const arrived = await api(a.url, 'trunkCallArrived', {
        headers: { authorization: `Bearer ${SIP_SERVER_SECRET}` },
        json: { callId: 'e2e-unknown-call@192.0.2.10', caller: 'anonymous', dialled: '+442079460000' },
      });
      assert.equal(arrived.status, 201, JSON.stringify(arrived.body));
      await page.getByRole('heading', { name: 'Unknown caller', exact: true }).waitFor();
      await page
        .getByTestId('phoned-in')
        .getByText('Phoned in from a withheld number — unknown caller')
        .waitFor();
      await t.screenshot('1-unknown-caller-offer');
      await page.keyboard.press('Control+Enter');
      const who = page.getByRole('group', { name: 'Who is calling?' });
      const field = who.getByLabel('Registered phone number or customer reference');
      await field.fill('07911 123999');
      await who.getByRole('button', { name: 'Find the customer' }).click();
      await who.getByText(/no active customer has that phone number/).waitFor();
      await t.screenshot('2-nobody-found');
      assert.equal(
        await page.getByRole('group', { name: 'Verify in the app' }).count(),
        0,
        'no link for a caller nobody knows',
      );
      await field.fill('07911 123457');
      await who.getByRole('button', { name: 'Find the customer' }).click();
      await page.getByRole('heading', { name: 'Bob Okafor', exact: true }).waitFor();
      await page
        .getByTestId('phoned-in')
        .getByText(
          'Phoned in from a withheld number — the caller says they are Bob Okafor (identified by the agent, not verified)',
        )
        .waitFor();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 0/)
        .waitFor();
      assert.equal(await page.getByRole('group', { name: 'Who is calling?' }).count(), 0);
      // The texted link needs the number calling to be the customer's: never offered to a caller
      // the agent identified (the real customer could confirm someone else's call).
      assert.equal(
        await page.getByRole('group', { name: 'Verify in the app' }).count(),
        0,
        'no link for a caller identified by what they said',
      );
      await page
        .getByTestId('identified-caller-hint')
        .getByText(/no link can be texted/)
        .waitFor();
      await t.screenshot('3-identified');
      const section = page.getByRole('group', { name: 'Security questions' });
      await section.getByRole('button', { name: 'Ask security questions' }).click();
      await section.getByLabel('Favourite football team?').pressSequentially('arsenal', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 1/)
        .waitFor();
      await t.screenshot('4-verified-by-questions');

      // Bob has to hang up: Sam books a callback to his registered number, a request of its own.
      const later = page.getByRole('group', { name: 'Call back later' });
      await later.getByRole('button', { name: 'Book a phone callback' }).click();
      await later.getByRole('button', { name: 'Book the callback' }).click();
      await later
        .getByTestId('phone-callback-booked')
        .getByText('Callback booked to +447911123457: the next free agent calls them.')
        .waitFor();
      await t.screenshot('5-callback-booked');
      const [booked] = await a.sql<{ number: string; booked_by: string; customer_id: string; state: string }>`
        SELECT c.number, c.booked_by, r.customer_id, r.state FROM phone_callbacks c
        JOIN requests r ON r.id = c.request_id`;
      assert.equal(booked?.number, '+447911123457');
      assert.equal(booked?.customer_id, 'c_bob_okafor_002');
      assert.equal(booked?.booked_by, sam.staffId);
    } finally {
      await t.close();
      await samMode.close();
      rmSync(samDir, { recursive: true, force: true });
    }
  });
});
