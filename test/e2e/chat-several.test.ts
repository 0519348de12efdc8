/**
 * Several chats on one console (issue 18, the agent's side), in Chromium: the real customer
 * app on three phones (Alice Martin, Bob Okafor, Chen Wei, each enrolled and verified) and
 * ONE console in browser mode (Dana), against a real authority whose "Something else" option
 * offers chat, with `chatCapacity` 3. Dana accepts Alice's chat; Bob's offer then shows
 * beside it ("Your chat stays open"), and Chen's beside both: she holds three chats at once.
 * Each customer's message reaches its own conversation; those not on screen show their
 * unread count in the conversation list; choosing one selects its request (the card, the
 * panel follow) and a reply reaches that customer's phone only. Completing Bob's chat keeps
 * Alice's and Chen's open (the wrap-up for Bob is owed beside them); the desk goes back to
 * "Waiting for the next customer" only after the last one.
 *
 * Screenshots: test/e2e/screenshots/chat-several-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage, type TestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  assertNamedControls,
  ensureRendererBuilt,
  rendererDir,
  signIn,
  VIEWPORT,
} from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
  type Phone,
} from './customer-app-harness.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const CUSTOMERS = [
  { id: 'c_alice_martin_01', name: 'Alice Martin', pin: '246810' },
  { id: 'c_bob_okafor_002', name: 'Bob Okafor', pin: '135791' },
  { id: 'c_chen_wei_00003', name: 'Chen Wei', pin: '975310' },
] as const;

describe('several chats on one console', () => {
  let app: AppAuthority;
  let customerBrowser: Browser;
  let consoleBrowser: Browser;
  let mode: BrowserMode | null = null;
  const dirs: string[] = [];

  before(async () => {
    [app, customerBrowser, consoleBrowser] = await Promise.all([
      startAppAuthority({ offerTimeoutSeconds: 120 }),
      launchChromium(),
      launchChromium(),
      ensureRendererBuilt(),
    ]);
    const cfg = await api(app.a.url, 'getPipelineConfig', { headers: bearer(app.admin) });
    assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
    offerChatOn(cfg.body.menu);
    cfg.body.chatCapacity = 3;
    const put = await api(app.a.url, 'putPipelineConfig', { headers: bearer(app.admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // Only Dana serves: Sam is offline; no schedule, so Dana is on shift whenever CI runs.
    const sam = await staffLogin(app.a.url, 'agent2', 'demo-agent-2');
    const off = await api(app.a.url, 'setPresence', {
      headers: bearer(sam.token),
      json: { state: 'offline' },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const dana = await staffLogin(app.a.url, 'agent1', 'demo-agent-1');
    await app.a.services.pipeline.agents.setSchedule(dana.staffId, []);
  });
  after(async () => {
    await customerBrowser?.close();
    await consoleBrowser?.close();
    await mode?.close();
    await app?.a.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const openConsole = async (name: string): Promise<TestPage> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-chats-console-'));
    dirs.push(dataDir);
    mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
    const t = await newTestPage(consoleBrowser, name, {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    await t.page.goto(mode.launchUrl);
    await signIn(t.page, 'agent1', 'demo-agent-1');
    await t.page.getByTestId('presence').waitFor();
    return t;
  };

  /** Waits until the log shows exactly these texts, in this order (else says what it shows). */
  const shows = async (page: Page, log: Locator, want: string[], what: string) => {
    try {
      await log
        .locator('.chat-text')
        .nth(want.length - 1)
        .waitFor({ timeout: 15_000 });
      await page.waitForFunction(
        ({ sel, want }) => {
          const got = [...document.querySelectorAll(sel)].map((e) => e.textContent);
          return got.length === want.length && got.every((t, i) => t === want[i]);
        },
        { sel: `[data-testid="${await log.getAttribute('data-testid')}"] .chat-text`, want },
        { timeout: 5_000 },
      );
    } catch {
      assert.deepEqual(await log.locator('.chat-text').allTextContents(), want, what);
    }
  };

  /** The customer asks for a chat on "Something else" and writes a first message. */
  const askForChat = async (phone: Phone, text: string) => {
    const pc = phone.page;
    await pc.getByRole('button', { name: 'Get help' }).click();
    const choice = pc.getByRole('group', { name: 'Something else: chat or call' });
    await choice.getByRole('button', { name: 'Chat', exact: true }).click();
    await pc.getByRole('heading', { name: 'Chat', exact: true }).waitFor();
    await pc.getByLabel('Message', { exact: true }).fill(text);
    await pc.getByRole('button', { name: 'Send', exact: true }).click();
    await pc.locator('[data-testid="chat-delivery"][data-delivery="sent"]').first().waitFor();
  };

  it('one agent with chatCapacity 3 holds three chats: offers beside the held ones, messages to the right conversation, unread counts, completing one keeps the other two', async () => {
    const dana = await openConsole('chat-several-dana');
    const pa = dana.page;
    const phones: Phone[] = [];
    for (const c of CUSTOMERS) {
      const phone = await openPhone(
        customerBrowser,
        app,
        `chat-several-${c.name.split(' ')[0]!.toLowerCase()}`,
      );
      await enrolThroughApp(phone, await enrolmentCode(app, c.id), c.pin);
      phones.push(phone);
    }
    const [alice, bob, chen] = phones as [Phone, Phone, Phone];
    const dialogs: string[] = [];
    pa.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await pa.getByLabel('Change presence').selectOption('available');

    const list = pa.getByRole('list', { name: 'Conversations' });
    const entry = (name: string) => list.getByTestId('chat-conversation').filter({ hasText: name });
    const log = pa.getByTestId('chat-pane').getByTestId('console-chat-log');
    const offerFor = (name: string) =>
      pa.getByRole('region', { name: new RegExp(name) }).filter({ hasText: 'New request' });

    // Alice's chat: offered with her verification, accepted.
    await askForChat(alice, 'Alice here: my card is blocked');
    await offerFor('Alice Martin').getByTestId('offer-channel').getByText('New request · chat').waitFor();
    await offerFor('Alice Martin')
      .getByRole('button', { name: /^Accept/ })
      .click();
    await shows(pa, log, ['Alice here: my card is blocked'], "Alice's message in her conversation");

    // Bob's chat is offered beside Alice's: accepting keeps hers open.
    await askForChat(bob, 'Bob here: a payment failed');
    const bobOffer = offerFor('Bob Okafor');
    await bobOffer.getByTestId('offer-beside').getByText('Your chat stays open').waitFor();
    assert.equal(await entry('Alice Martin').count(), 1, "Alice's conversation is still there");
    assert.equal(await pa.getByTestId('chat-pane').getByLabel('Message to Alice Martin').count(), 1);
    // Bob's own verification panel beside his offer, before accepting; Alice's stays below.
    const offered = pa
      .getByRole('region', { name: 'Bob Okafor' })
      .filter({ hasText: 'verification before you accept' });
    await offered
      .getByText(/Level 2/)
      .first()
      .waitFor();
    await dana.screenshot('1-offer-beside-a-chat');
    await bobOffer.getByRole('button', { name: /^Accept/ }).click();
    await shows(pa, log, ['Bob here: a payment failed'], "Bob's conversation selected after the accept");

    // Chen's beside both.
    await askForChat(chen, 'Chen here: I moved house');
    const chenOffer = offerFor('Chen Wei');
    await chenOffer.getByTestId('offer-beside').getByText('Your 2 chats stay open').waitFor();
    await chenOffer.getByRole('button', { name: /^Accept/ }).click();
    await shows(pa, log, ['Chen here: I moved house'], "Chen's conversation");
    assert.deepEqual(
      (await list.getByTestId('chat-conversation').allTextContents()).map((t) =>
        t.replace(/\d+$/, '').trim(),
      ),
      ['Alice Martin', 'Bob Okafor', 'Chen Wei'],
      'three chats held at once',
    );
    await pa
      .getByRole('heading', { name: /Chen Wei/ })
      .first()
      .waitFor();

    // Alice and Bob write while Chen's chat is on screen: their unread counts show in the list.
    const write = async (phone: Phone, text: string) => {
      await phone.page.getByLabel('Message', { exact: true }).fill(text);
      await phone.page.getByRole('button', { name: 'Send', exact: true }).click();
    };
    await write(alice, 'Are you there?');
    await write(bob, 'It was 42 euros');
    await write(bob, 'Yesterday evening');
    await entry('Alice Martin').getByTestId('chat-unread').getByText('1').waitFor();
    await entry('Bob Okafor').getByTestId('chat-unread').getByText('2').waitFor();
    assert.equal(await entry('Chen Wei').getByTestId('chat-unread').count(), 0, 'the chat on screen is read');
    await shows(pa, log, ['Chen here: I moved house'], "the others' messages are not in Chen's conversation");
    await dana.screenshot('2-three-chats-unread');

    // Choosing Bob: his transcript, his request card; the reply reaches Bob's phone only.
    await entry('Bob Okafor').click();
    await shows(
      pa,
      log,
      ['Bob here: a payment failed', 'It was 42 euros', 'Yesterday evening'],
      "Bob's whole conversation",
    );
    await pa
      .getByRole('heading', { name: /Bob Okafor/ })
      .first()
      .waitFor();
    assert.equal(await entry('Bob Okafor').getByTestId('chat-unread').count(), 0);
    const pane = pa.getByTestId('chat-pane');
    await pane.getByLabel('Message to Bob Okafor').fill('Hello Bob, I see the payment.');
    await pane.getByRole('button', { name: 'Send', exact: true }).click();
    await shows(
      bob.page,
      bob.page.getByTestId('chat-log'),
      ['Bob here: a payment failed', 'It was 42 euros', 'Yesterday evening', 'Hello Bob, I see the payment.'],
      "Bob's phone shows Dana's reply",
    );
    await shows(
      alice.page,
      alice.page.getByTestId('chat-log'),
      ['Alice here: my card is blocked', 'Are you there?'],
      "Alice's phone does not",
    );
    await shows(chen.page, chen.page.getByTestId('chat-log'), ['Chen here: I moved house'], "nor Chen's");
    // Typing on Alice's phone shows in the list beside her name.
    await alice.page.getByLabel('Message', { exact: true }).pressSequentially('One more');
    await entry('Alice Martin').getByTestId('chat-list-typing').waitFor();
    await dana.screenshot('3-bob-selected-reply');
    await assertNamedControls(pa, 'the desk with three chats');

    // Completing Bob's chat keeps Alice's and Chen's open; Bob's wrap-up is owed beside them.
    await pa.getByRole('button', { name: 'Complete request' }).click();
    await pa
      .getByRole('heading', { name: /Bob Okafor/ })
      .first()
      .waitFor();
    await entry('Bob Okafor').getByText('read-only').waitFor();
    await pa.getByRole('form', { name: /Bob Okafor/ }).waitFor();
    for (const name of ['Alice Martin', 'Chen Wei'])
      assert.equal(await entry(name).getByText('read-only').count(), 0, `${name}'s chat stays open`);
    const selectedNow = await list.locator('[aria-pressed="true"]').textContent();
    assert.match(selectedNow ?? '', /Alice Martin|Chen Wei/, 'another held chat is selected');
    await entry('Alice Martin').click();
    await shows(pa, log, ['Alice here: my card is blocked', 'Are you there?'], "Alice's conversation");
    await pane.getByLabel('Message to Alice Martin').fill('Hello Alice, one moment.');
    await pane.getByRole('button', { name: 'Send', exact: true }).click();
    await shows(
      alice.page,
      alice.page.getByTestId('chat-log'),
      ['Alice here: my card is blocked', 'Are you there?', 'Hello Alice, one moment.'],
      'the chats left open still work',
    );
    assert.equal(await pa.getByTestId('presence').textContent(), 'Busy', 'busy with the two chats left');
    await dana.screenshot('4-one-completed-two-open');

    // Bob's wrap-up, recorded while the two others go on: his conversation leaves the list.
    const bobWrapUp = pa.getByRole('form', { name: /Bob Okafor/ });
    await bobWrapUp.getByLabel('Resolved', { exact: true }).check();
    await bobWrapUp.getByLabel('Payment fixed').check();
    await bobWrapUp.getByRole('button', { name: 'Save wrap-up' }).click();
    await bobWrapUp.waitFor({ state: 'detached' });
    await entry('Bob Okafor').waitFor({ state: 'detached' });
    assert.equal(await list.getByTestId('chat-conversation').count(), 2);

    // The two others end: only then is the desk idle again.
    await pa.getByRole('button', { name: 'Complete request' }).click();
    await entry('Alice Martin').getByText('read-only').waitFor();
    assert.equal(
      await pa.getByRole('button', { name: 'Complete request' }).count(),
      1,
      "Chen's is still open",
    );
    await pa.getByRole('button', { name: 'Complete request' }).click();
    await pa.getByRole('button', { name: 'Complete request' }).waitFor({ state: 'detached' });
    // One wrap-up per conversation: Alice's first, Chen's next.
    await pa.getByRole('form', { name: /Alice Martin/ }).waitFor();
    await pa.getByTestId('wrap-up-queued').getByText('Then one more wrap-up: Chen Wei.').waitFor();
    assert.deepEqual(dialogs, [], 'no dialog on the console');
    assert.deepEqual(dana.consoleErrors, [], 'no errors in the console page');
    await dana.screenshot('5-all-completed');
  });
});
