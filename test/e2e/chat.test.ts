/**
 * Verified chat end to end (issue 18) with both real front ends in Chromium: the customer
 * app on a phone-sized page and two consoles in browser mode (Dana and Sam), against one
 * real authority whose "Something else" option offers chat and a call (set through the
 * admin pipeline route). The verified customer chooses Chat and writes before anyone joins;
 * Dana is offered "New request · chat" with the verification panel, accepts, and the chat
 * pane shows the customer's message. Messages go both ways with Delivered/Read ticks and
 * the typing line on both sides; `<img src=x onerror=alert(1)><b>bold</b>` is shown as
 * literal text in both UIs (no element made, no dialog). Dana transfers blind to Sam: Sam's
 * pane shows the whole transcript (Dana's lines as "Previous agent"), Dana's pane is
 * read-only (then closed); the phone keeps Dana's name on her line and the Read ticks. The
 * customer reloads the page mid-conversation: after the reconnect every message is shown
 * exactly once, in order, with its ticks, and the conversation goes on. Sam escalates to a
 * call from the chat (a verified call, tones both ways, nothing asked again); after it the
 * app is back in the chat. The phone's feed is cut like a lost network: its message waits
 * ("You are offline"), Sam writes meanwhile; back online each message is shown once, in the
 * authority's order, on both sides, the newest in sight in the console. Files: a wrong type
 * is refused in words (the typed text kept); the customer's image is shown inline in Sam's
 * console (decoded, from an object URL); Sam's PDF is a named download on the phone, the
 * same bytes.
 *
 * Screenshots: test/e2e/screenshots/chat-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Locator, Page, WebSocketRoute } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage, type TestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const HOSTILE = '<img src=x onerror=alert(1)><b>bold</b>';

describe('verified chat: the customer app and two consoles', () => {
  let app: AppAuthority;
  let customerBrowser: Browser;
  let consoleBrowser: Browser;
  const modes: BrowserMode[] = [];
  const dirs: string[] = [];
  let samId: string;

  before(async () => {
    // Microphones: the phone plays 1 kHz, the consoles 440 Hz (the escalation to a call is heard).
    const dir = mkdtempSync(join(tmpdir(), 'vd-chat-e2e-'));
    dirs.push(dir);
    writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
    writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
    const media = (wav: string) => [
      '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
    ];
    [app, customerBrowser, consoleBrowser] = await Promise.all([
      startAppAuthority({ offerTimeoutSeconds: 120 }),
      launchChromium({ extraArgs: media('tone-1000.wav') }),
      launchChromium({ extraArgs: media('tone-440.wav') }),
      ensureRendererBuilt(),
    ]);
    // The demo menu offers calls only: "Something else" offers chat and a call here.
    const cfg = await api(app.a.url, 'getPipelineConfig', { headers: bearer(app.admin) });
    assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
    offerChatOn(cfg.body.menu);
    const put = await api(app.a.url, 'putPipelineConfig', { headers: bearer(app.admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // No schedule: Sam is on shift whenever CI runs.
    const sam = await staffLogin(app.a.url, 'agent2', 'demo-agent-2');
    samId = sam.staffId;
    await app.a.services.pipeline.agents.setSchedule(sam.staffId, []);
  });
  after(async () => {
    await customerBrowser?.close();
    await consoleBrowser?.close();
    for (const m of modes) await m.close();
    await app?.a.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const openConsole = async (name: string, username: string, password: string): Promise<TestPage> => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-chat-console-'));
    dirs.push(dataDir);
    const mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
    modes.push(mode);
    const t = await newTestPage(consoleBrowser, name, {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    await t.page.goto(mode.launchUrl);
    await signIn(t.page, username, password);
    await t.page.getByTestId('presence').waitFor();
    return t;
  };

  /** The texts of a chat log, in the order shown. */
  const texts = (log: Locator) => log.locator('.chat-text').allTextContents();

  /** Waits until the log shows exactly these texts, in this order. */
  const shows = async (page: Page, log: Locator, want: string[], what: string, timeout = 15_000) => {
    try {
      await page.waitForFunction(
        ({ sel, want }) => {
          const got = [...document.querySelectorAll(sel)].map((e) => e.textContent);
          return got.length === want.length && got.every((t, i) => t === want[i]);
        },
        { sel: `[data-testid="${await log.getAttribute('data-testid')}"] .chat-text`, want },
        { timeout },
      );
    } catch {
      assert.deepEqual(await texts(log), want, what);
    }
  };

  /** The newest message of the console's log is in sight inside the log's own scroll area. */
  const seesNewest = async (page: Page, what: string) => {
    const inSight = () =>
      page.evaluate(() => {
        const log = document.querySelector('[data-testid="console-chat-log"]');
        const last = log?.lastElementChild;
        if (!log || !last) return false;
        const a = log.getBoundingClientRect();
        const b = last.getBoundingClientRect();
        return b.bottom <= a.bottom + 1 && b.top >= a.top - 1;
      });
    await page
      .waitForFunction(
        () => {
          const log = document.querySelector('[data-testid="console-chat-log"]');
          const last = log?.lastElementChild;
          if (!log || !last) return false;
          return last.getBoundingClientRect().bottom <= log.getBoundingClientRect().bottom + 1;
        },
        null,
        { timeout: 5_000 },
      )
      .catch(() => undefined);
    assert.equal(await inSight(), true, what);
  };

  it('chat offered with the verification panel, messages both ways with receipts and typing, HTML as text, blind transfer with the transcript, reload and network cut without loss or duplicates, escalation to a call', async () => {
    const phone = await openPhone(customerBrowser, app, 'chat-phone');
    // The phone's feed goes through the test, which can cut it like a lost network: the open
    // sockets drop and new ones are refused until it is back.
    let cut = false;
    const feeds: WebSocketRoute[] = [];
    await phone.t.context.routeWebSocket(/\/v1\/ws$/, (ws) => {
      if (cut) return void ws.close({ code: 4000, reason: 'no network' });
      const server = ws.connectToServer();
      ws.onClose(() => server.close());
      server.onClose(() => ws.close());
      feeds.push(ws);
    });
    const dana = await openConsole('chat-dana', 'agent1', 'demo-agent-1');
    const sam = await openConsole('chat-sam', 'agent2', 'demo-agent-2');
    const [pa, pb, pc] = [dana.page, sam.page, phone.page];
    const dialogs: string[] = [];
    for (const p of [pa, pb, pc])
      p.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
    try {
      await pb.getByLabel('Change presence').selectOption('break:lunch');
      await pa.getByLabel('Change presence').selectOption('available');

      // The verified customer chooses Chat on "Something else" and writes before anyone joins.
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');
      await pc.getByRole('button', { name: 'Get help' }).click();
      const choice = pc.getByRole('group', { name: 'Something else: chat or call' });
      await choice.getByRole('button', { name: 'Call me' }).waitFor();
      await phone.t.screenshot('1-menu-chat-or-call');
      await choice.getByRole('button', { name: 'Chat', exact: true }).click();
      // Offered to Dana, not yet accepted: nobody is named, the customer may write already.
      await pc.getByRole('heading', { name: 'Chat', exact: true }).waitFor();
      await pc.getByText('Waiting for an agent. You can write now').waitFor();
      const phoneLog = pc.getByTestId('chat-log');
      const phoneInput = pc.getByLabel('Message', { exact: true });
      await phoneInput.fill('Hello, I need help with a payment');
      await pc.getByRole('button', { name: 'Send', exact: true }).click();
      const mine = (n: number) => phoneLog.getByTestId('chat-message').nth(n).getByTestId('chat-delivery');
      await pc.locator('[data-testid="chat-delivery"][data-delivery="sent"]').waitFor();
      await phone.t.screenshot('2-phone-waiting-first-message');

      // Dana is offered a chat with the verification panel, and accepts: the chat pane appears.
      const offer = pa.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.getByTestId('offer-channel').getByText('New request · chat').waitFor();
      await pa.getByRole('list', { name: 'Verification factors' }).waitFor();
      await offer
        .getByText("The customer's verification is below; the chat opens after you accept.")
        .waitFor();
      await dana.screenshot('3-offer-chat-verification');
      await offer.getByRole('button', { name: /^Accept/ }).click();
      const pane = pa.getByTestId('chat-pane');
      const danaLog = pane.getByTestId('console-chat-log');
      await shows(pa, danaLog, ['Hello, I need help with a payment'], 'Dana sees the first message');
      await pa.getByRole('list', { name: 'Verification factors' }).waitFor();
      // Shown on Dana's screen: the customer's tick turns to Read.
      await pc.locator('[data-testid="chat-delivery"][data-delivery="read"]').waitFor();
      assert.equal(await mine(0).getAttribute('aria-label'), 'Read');
      await pc.getByRole('heading', { name: 'Chat with Dana Reyes' }).waitFor();
      await pane.scrollIntoViewIfNeeded();
      await dana.screenshot('4-dana-chat-pane');

      // Dana types: the phone says so; she sends; the phone shows it, Dana's tick goes to Read.
      const danaInput = pane.getByLabel('Message to Alice Martin');
      await danaInput.pressSequentially('Hello Alice');
      await pc.getByTestId('chat-typing').getByText('Dana Reyes is typing…').waitFor();
      await phone.t.screenshot('5-phone-dana-typing');
      await danaInput.fill('Hello Alice, I can see you are verified. What happened?');
      await pane.getByRole('button', { name: 'Send', exact: true }).click();
      const convo = [
        'Hello, I need help with a payment',
        'Hello Alice, I can see you are verified. What happened?',
      ];
      await shows(pc, phoneLog, convo, 'the phone shows Dana’s reply');
      assert.equal(await pc.getByTestId('chat-typing').textContent(), '');
      await danaLog.locator('[data-testid="console-chat-delivery"][data-delivery="read"]').waitFor();
      await pane.scrollIntoViewIfNeeded();
      await dana.screenshot('6-dana-reply-read');

      // The customer types: Dana's pane says so; then a message full of HTML, shown as text.
      await phoneInput.pressSequentially('It was');
      await pane.getByTestId('console-chat-typing').getByText('Alice Martin is typing…').waitFor();
      await pane.getByTestId('console-chat-typing').scrollIntoViewIfNeeded();
      await dana.screenshot('7-dana-sees-typing');
      await phoneInput.fill(HOSTILE);
      await phoneInput.press('Enter');
      convo.push(HOSTILE);
      await shows(pc, phoneLog, convo, 'the phone shows the HTML as text');
      await shows(pa, danaLog, convo, 'Dana sees the HTML as text');
      assert.equal(await pane.getByTestId('console-chat-typing').textContent(), '');
      for (const [page, log] of [
        [pc, phoneLog],
        [pa, danaLog],
      ] as const) {
        assert.equal(await log.locator('img, b, script').count(), 0, 'no element from the message text');
        assert.equal(await page.locator('img[src="x"]').count(), 0);
      }
      await phone.t.screenshot('8-phone-html-as-text');
      await pane.scrollIntoViewIfNeeded();
      await dana.screenshot('9-dana-html-as-text');
      // Read on Dana's screen: the customer's ticks for every message say Read.
      await pc.waitForFunction(() =>
        [...document.querySelectorAll('[data-testid="chat-delivery"]')].every(
          (e) => e.getAttribute('data-delivery') === 'read',
        ),
      );

      // Blind transfer to Sam: Sam sees the whole transcript; Dana's pane becomes read-only.
      await pb.getByLabel('Change presence').selectOption('available');
      await pa.getByRole('button', { name: 'Transfer…' }).click();
      const dialog = pa.getByRole('form', { name: 'Transfer Alice Martin' });
      await dialog.getByLabel('Blind: hand over now').check();
      await dialog.getByLabel('An agent').check();
      await dialog.getByLabel('Agent', { exact: true }).selectOption(samId);
      await dialog.getByRole('button', { name: 'Transfer now' }).click();
      await pa.getByText(/Alice Martin is now with Sam Patel/).waitFor();
      const samOffer = pb.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await samOffer.getByTestId('offer-channel').getByText('New request · chat').waitFor();
      await samOffer.getByRole('button', { name: /^Accept/ }).click();
      const samPane = pb.getByTestId('chat-pane');
      const samLog = samPane.getByTestId('console-chat-log');
      await shows(pb, samLog, convo, 'Sam sees the whole transcript');
      assert.deepEqual(await samLog.locator('.chat-who').allTextContents(), [
        'Alice Martin',
        'Previous agent',
        'Alice Martin',
      ]);
      // The customer read Dana's message: Sam's pane says so too (receipts follow the transfer).
      await samLog.locator('[data-testid="console-chat-delivery"][data-delivery="read"]').waitFor();
      await samPane.scrollIntoViewIfNeeded();
      await sam.screenshot('10-sam-whole-transcript');
      await pane.getByText('This request is no longer in your hands: the chat is read-only.').waitFor();
      assert.equal(await pane.getByLabel('Message to Alice Martin').count(), 0, 'Dana cannot write any more');
      assert.equal(await pane.getByRole('button', { name: 'Send', exact: true }).count(), 0);
      await dana.screenshot('11-dana-read-only');
      // Dana closes the transcript: her chat pane goes.
      await pane.getByRole('button', { name: 'Close chat' }).click();
      await pane.waitFor({ state: 'detached' });
      await pc.getByRole('heading', { name: 'Chat with Sam Patel' }).waitFor();
      // The phone still says who wrote what: Dana's line is Dana's, not Sam's.
      assert.deepEqual(await phoneLog.locator('.chat-who').allTextContents(), ['You', 'Dana Reyes', 'You']);

      await samPane
        .getByLabel('Message to Alice Martin')
        .fill('Hi Alice, Sam here. I have the whole conversation.');
      await samPane.getByRole('button', { name: 'Send', exact: true }).click();
      convo.push('Hi Alice, Sam here. I have the whole conversation.');
      await shows(pc, phoneLog, convo, 'the phone shows Sam’s message');
      await phoneInput.fill('Thanks Sam');
      await phoneInput.press('Enter');
      convo.push('Thanks Sam');
      await shows(pb, samLog, convo, 'Sam sees the reply');
      await phone.t.screenshot('12-phone-with-sam');
      // The request's own screen speaks of the chat, not of a call; back to the chat from it.
      await pc.getByRole('button', { name: 'Request' }).click();
      await pc.getByTestId('wait').getByText('They will write to you in the chat.').waitFor();
      await phone.t.screenshot('12b-phone-request-screen');
      await pc.getByTestId('open-chat').click();
      await shows(pc, phoneLog, convo, 'the chat again, as it was');

      // The customer reloads mid-conversation: every message once, in order, and the chat goes on.
      await pc.reload();
      await pc.getByTestId('chat-log').waitFor();
      await shows(pc, phoneLog, convo, 'after the reload: every message once, in order');
      assert.deepEqual(await phoneLog.locator('.chat-who').allTextContents(), [
        'You',
        'Previous agent',
        'You',
        'Sam Patel',
        'You',
      ]);
      // Sam read them all before the reload: the ticks say Read again, nothing sent meanwhile.
      await pc.waitForFunction(() =>
        [...document.querySelectorAll('[data-testid="chat-delivery"]')].every(
          (e) => e.getAttribute('data-delivery') === 'read',
        ),
      );
      await phone.t.screenshot('13-phone-after-reload');
      await phoneInput.fill('Still here after a reload');
      await phoneInput.press('Enter');
      convo.push('Still here after a reload');
      await shows(pb, samLog, convo, 'Sam sees the message sent after the reload once');
      await shows(pc, phoneLog, convo, 'the phone shows it once');
      // Sam has it on screen: every tick on the phone says Read again.
      await pc.waitForFunction(() =>
        [...document.querySelectorAll('[data-testid="chat-delivery"]')].every(
          (e) => e.getAttribute('data-delivery') === 'read',
        ),
      );
      await samPane.scrollIntoViewIfNeeded();
      await sam.screenshot('14-sam-after-customer-reload');

      // Escalation: Sam calls from the chat; the phone rings as a verified call from Sam (same
      // request, same verification: nothing asked again); they hear each other.
      const factors = pb.getByRole('list', { name: 'Verification factors' });
      const factorsBefore = await factors.textContent();
      await samPane.getByTestId('chat-call').click();
      await pc.getByRole('heading', { name: 'Verified call from Northwind Bank — Sam Patel' }).waitFor();
      await phone.t.screenshot('15-phone-ringing-from-chat');
      await pc.getByRole('button', { name: 'Answer call' }).click();
      await pb
        .getByTestId('voice-state')
        .getByText(/^Voice from the verified device/)
        .waitFor();
      const [atSam, atCustomer] = await Promise.all([
        detectTone(pb, 'audio[data-testid="remote-audio"]'),
        detectTone(pc, '#vd-remote-audio'),
      ]);
      assert.ok(atSam.hz && Math.abs(atSam.hz - 1000) < 15, `Sam hears: ${JSON.stringify(atSam)}`);
      assert.ok(
        atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
        `the customer hears Sam: ${JSON.stringify(atCustomer)}`,
      );
      assert.equal(await factors.textContent(), factorsBefore, 'the same factors with their original times');
      assert.equal(
        await pc.getByRole('heading', { name: /Confirm it.s you|fingerprint|Enter your PIN/i }).count(),
        0,
        'the customer was not asked to verify again',
      );
      assert.equal(await samPane.getByTestId('chat-call').isDisabled(), true, 'no second call from the chat');
      await phone.t.screenshot('16-phone-on-call-from-chat');
      await sam.screenshot('17-sam-on-call-from-chat');
      await pc.getByRole('button', { name: 'Hang up' }).click();
      await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
      await phone.t.screenshot('18-phone-after-call');
      // Done: back in the conversation, which goes on.
      await pc.getByRole('button', { name: 'Done' }).click();
      await pc.getByRole('heading', { name: 'Chat with Sam Patel' }).waitFor();
      await samPane.getByLabel('Message to Alice Martin').fill('Anything else I can do?');
      await samPane.getByRole('button', { name: 'Send', exact: true }).click();
      convo.push('Anything else I can do?');
      await shows(pc, phoneLog, convo, 'the chat goes on after the call');
      await phone.t.screenshot('19-phone-chat-after-call');

      // The phone loses the network: its message waits (said plainly), Sam writes meanwhile;
      // back online, both arrive once each, in the authority's order, on both sides.
      cut = true;
      for (const ws of feeds.splice(0)) await ws.close({ code: 4000, reason: 'no network' });
      await pc.getByTestId('chat-offline').waitFor();
      await phoneInput.fill('Written in a tunnel');
      await phoneInput.press('Enter');
      await pc.locator('[data-testid="chat-delivery"][data-delivery="sending"]').waitFor();
      await samPane.getByLabel('Message to Alice Martin').fill('Are you still there?');
      await samPane.getByRole('button', { name: 'Send', exact: true }).click();
      await samLog.getByText('Are you still there?').waitFor();
      await phone.t.screenshot('20-phone-offline');
      cut = false;
      convo.push('Are you still there?', 'Written in a tunnel');
      // The feed comes back after its backoff (at most 30 s with jitter).
      await shows(pc, phoneLog, convo, 'after the network is back: each message once, in order', 45_000);
      await shows(pb, samLog, convo, 'Sam: each message once, in order');
      await pc.getByTestId('chat-offline').waitFor({ state: 'detached' });
      await phone.t.screenshot('21-phone-back-online');
      await seesNewest(pb, 'Sam sees the newest message without scrolling the log');
      await samPane.scrollIntoViewIfNeeded();
      await sam.screenshot('22-sam-after-network-cut');

      // Files: a wrong type is refused in words with the typed text kept; the customer's
      // image shows inline for Sam (decoded), Sam's PDF is a named download on the phone.
      await phoneInput.fill('Here is my card');
      const phoneFiles = pc.getByTestId('chat-file-input');
      await phoneFiles.setInputFiles({
        name: 'notes.html',
        mimeType: 'text/html',
        buffer: Buffer.from(HOSTILE),
      });
      await pc.getByTestId('chat-file-error').getByText('"notes.html" cannot be sent').waitFor();
      assert.equal(await phoneInput.inputValue(), 'Here is my card', 'the typed text is kept');
      const png = await pc.screenshot({ clip: { x: 0, y: 0, width: 160, height: 100 } });
      await phoneFiles.setInputFiles({ name: 'card <b>front.png', mimeType: 'image/png', buffer: png });
      await pc.getByTestId('chat-image').waitFor();
      await pc.getByTestId('chat-file-error').waitFor({ state: 'detached' });
      const samImage = samLog.getByTestId('console-chat-image');
      await samImage.waitFor();
      await pb.waitForFunction(
        (width) =>
          (document.querySelector('[data-testid="console-chat-image"]') as HTMLImageElement | null)
            ?.naturalWidth === width,
        png.readUInt32BE(16), // the PNG's own width (IHDR): the image was decoded
      );
      assert.match((await samImage.getAttribute('src')) ?? '', /^blob:/, 'bytes through the bridge, no URL');
      assert.equal(await samImage.getAttribute('alt'), 'card <b>front.png', 'the name as text');
      await phone.t.screenshot('23-phone-sent-image');
      await sam.screenshot('24-sam-sees-image');
      const pdf = Buffer.from(
        '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
      );
      await samPane
        .getByTestId('console-chat-file-input')
        .setInputFiles({ name: 'Statement March.pdf', mimeType: 'application/pdf', buffer: pdf });
      await samLog.getByTestId('console-chat-file').getByText('Statement March.pdf').waitFor();
      const phonePdf = phoneLog.getByTestId('chat-file');
      await phonePdf.getByText('Statement March.pdf').waitFor();
      await phone.t.screenshot('25-phone-pdf-link');
      await sam.screenshot('26-sam-sent-pdf');
      const [download] = await Promise.all([pc.waitForEvent('download'), phonePdf.click()]);
      assert.equal(download.suggestedFilename(), 'Statement March.pdf');
      assert.deepEqual(readFileSync((await download.path())!), pdf, 'the customer downloads the same bytes');

      assert.deepEqual(dialogs, [], 'no dialog opened anywhere');
      // The refused file's 415 is logged by Chromium itself (the app said it in words).
      const phoneErrors = phone.t.consoleErrors.filter((e) => !/status of 415 .*attachments\?/.test(e));
      assert.deepEqual([dana.consoleErrors, sam.consoleErrors, phoneErrors], [[], [], []]);
    } catch (e) {
      await Promise.all([phone.t, dana, sam].map((t) => t.screenshot('failed').catch(() => undefined)));
      throw e;
    } finally {
      await dana.close();
      await sam.close();
      await phone.t.close();
    }
  });
});
