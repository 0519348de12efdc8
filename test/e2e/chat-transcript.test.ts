/**
 * Issue 18, "After": the chat transcript is part of the request's record. Alice chats from
 * one phone (a software device) and sends a picture; Dana accepts in the console and replies.
 * Dana's History opens the request and shows its transcript (the customer's HTML as text, no
 * element made of it; the picture inline, decoded from bytes through the bridge); Alice's other phone (the real app in Chromium) finds the conversation under
 * "Your requests" → "Your chat conversations" and reads it, read-only. Then the request
 * ends and an administrator deletes the transcript: both screens say "Transcript deleted on
 * …" instead of the messages.
 * Screenshots: chat-transcript-console-*.png, chat-transcript-phone-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { ensureRendererBuilt, openConsole, rendererDir, signIn } from './console-harness.ts';
import {
  assertNamedControls,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const HOSTILE =
  'Hello <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> see https://example.com/help';
const REPLY = 'Hi Alice, your card is blocked and a new one is on its way.';

describe('chat transcripts in the console History and in the customer app', () => {
  let app: AppAuthority;
  let mode: BrowserMode;
  let browser: Browser;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vd-chat-transcript-'));
    [app, browser] = await Promise.all([startAppAuthority(), launchChromium(), ensureRendererBuilt()]);
    mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir });
    const cfg = await api(app.a.url, 'getPipelineConfig', { headers: bearer(app.admin) });
    offerChatOn(cfg.body.menu);
    const put = await api(app.a.url, 'putPipelineConfig', { headers: bearer(app.admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await app?.a.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("Dana's History shows the transcript as text; Alice's other phone reads the conversation", async () => {
    const phone = await openPhone(browser, app, 'chat-transcript-phone');
    const t = await openConsole(browser, mode, 'chat-transcript-console');
    const pa = t.page;
    try {
      // Alice's phone in Chromium (enrolled through the app, PIN 246810).
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');

      // Dana is available in the console.
      await signIn(pa, 'agent1', 'demo-agent-1');
      await pa.getByTestId('presence').waitFor();
      await pa.getByLabel('Change presence').selectOption('available');

      // Alice's other phone (over the API) asks for help by chat and writes first.
      const other = await new TestDevice(app.a.url).enrolAndAuthenticate(
        await enrolmentCode(app, 'c_alice_martin_01'),
      );
      assert.equal((await other.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
      const q = await other.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
      assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
      const requestId: string = q.body.request.requestId;
      const socket = await TestSocket.open(app.a.url);
      const log = new FrameLog(socket);
      socket.send(await other.wsHello(q.body.request.sessionId));
      await log.take((f) => f.type === 'welcome');
      socket.send({ type: 'chat.send', requestId, clientMsgId: 'alice_first_message', text: HOSTILE });
      await log.take((f) => f.type === 'chat.ack');
      // A picture of her card (a real PNG: a piece of the console's page).
      const png = await pa.screenshot({ clip: { x: 0, y: 0, width: 120, height: 80 } });
      const width = png.readUInt32BE(16); // the PNG's own width (IHDR)
      const sent = await other.api('deviceAttach', {
        params: { requestId },
        query: { clientMsgId: 'alice_card_picture', name: 'card.png' },
        raw: png,
        contentType: 'image/png',
      });
      assert.equal(sent.status, 201, JSON.stringify(sent.body));

      // Dana accepts and replies in her chat pane.
      const offer = pa.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.getByRole('button', { name: /^Accept/ }).click();
      const pane = pa.getByTestId('chat-pane');
      await pane.getByLabel('Message to Alice Martin').fill(REPLY);
      await pane.getByRole('button', { name: 'Send', exact: true }).click();
      await log.take((f) => f.type === 'chat.message' && f.message.text === REPLY);
      socket.close();

      // History: the request opens with its transcript, in order, the HTML as text.
      await pa.getByRole('button', { name: 'History', exact: true }).click();
      await pa.getByRole('button', { name: 'Open the request of Alice Martin' }).click();
      const transcript = pa.getByTestId('history-transcript');
      await transcript.waitFor();
      const messages = transcript.getByTestId('history-transcript-message');
      assert.equal(await messages.count(), 3);
      assert.deepEqual(await transcript.locator('.chat-text').allTextContents(), [HOSTILE, REPLY]);
      assert.deepEqual(await transcript.locator('.chat-who').allTextContents(), [
        'Alice Martin',
        'Alice Martin',
        'Dana Reyes',
      ]);
      assert.equal(await transcript.locator('script').count(), 0, 'no element made of the text');
      // The picture inline, as in the live chat: decoded from bytes fetched through the bridge.
      const picture = transcript.getByTestId('console-chat-image');
      await picture.waitFor();
      assert.equal(await transcript.locator('img').count(), 1, 'the picture, no image made of the text');
      assert.match((await picture.getAttribute('src')) ?? '', /^blob:/, 'bytes through the bridge, no URL');
      await pa.waitForFunction(
        (w) =>
          (document.querySelector('[data-testid="history-transcript"] img') as HTMLImageElement | null)
            ?.naturalWidth === w,
        width,
      );
      assert.equal(
        await transcript.locator('a[href="https://example.com/help"]').count(),
        1,
        'the link shown',
      );
      assert.equal(await pa.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      await t.screenshot('1-history-transcript');

      // Alice's phone: Your requests → Your chat conversations → the conversation.
      const pc = phone.page;
      await pc.getByRole('button', { name: /^Your requests/ }).click();
      await pc.getByRole('heading', { name: 'Your requests' }).waitFor();
      await pc.getByTestId('open-conversations').click();
      await pc.getByRole('heading', { name: 'Your chat conversations' }).waitFor();
      const item = pc.getByTestId('conversation-item');
      // The heading comes before the list, which the app fetches: wait for it, then count.
      await item.first().waitFor();
      assert.equal(await item.count(), 1);
      await item.getByText('3 messages', { exact: false }).waitFor();
      await assertNamedControls(phone.t, 'conversations');
      await phone.t.screenshot('1-conversations');
      await item.click();
      const convo = pc.getByTestId('conversation-log');
      await convo.waitFor();
      assert.deepEqual(await convo.locator('.chat-text').allTextContents(), [HOSTILE, REPLY]);
      assert.deepEqual(await convo.locator('.chat-who').allTextContents(), ['You', 'You', 'Agent']);
      assert.equal(await convo.locator('script').count(), 0, 'no element made of the text');
      // The picture inline (fetched with the device's proof), decoded.
      await convo.getByTestId('chat-image').waitFor();
      assert.equal(await convo.locator('img').count(), 1, 'the picture, no image made of the text');
      await pc.waitForFunction(
        (w) =>
          (document.querySelector('[data-testid="conversation-log"] img') as HTMLImageElement | null)
            ?.naturalWidth === w,
        width,
      );
      assert.equal(await pc.getByRole('textbox').count(), 0, 'read-only: nothing to write in');
      assert.equal(await pc.evaluate(() => (window as unknown as { __pwned?: number }).__pwned), undefined);
      await phone.t.screenshot('2-conversation');
      await pc.getByRole('button', { name: 'Your chat conversations' }).click();
      await pc.getByRole('heading', { name: 'Your chat conversations' }).waitFor();

      // The request ends; an administrator deletes its transcript (audited, with a reason).
      await pa.getByRole('button', { name: 'Desk', exact: true }).click();
      await pa.getByRole('button', { name: 'Complete request' }).click();
      await pa.getByRole('form', { name: /Alice Martin/ }).waitFor(); // the wrap-up: the request ended
      const deleted = await api(app.a.url, 'deleteTranscript', {
        headers: bearer(app.admin),
        params: { requestId },
        json: { reason: 'the customer asked for erasure' },
      });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.body));

      // Dana's History: the line instead of the messages.
      await pa.getByRole('button', { name: 'History', exact: true }).click();
      await pa.getByRole('button', { name: 'Open the request of Alice Martin' }).click();
      await pa
        .getByTestId('history-transcript-deleted')
        .getByText(/^Transcript deleted on .+ \(deleted by an administrator\)\.$/)
        .waitFor();
      assert.equal(await pa.getByTestId('history-transcript-message').count(), 0);
      await t.screenshot('2-history-transcript-deleted');

      // Alice's phone: the list and the conversation say so too.
      await pc.getByRole('button', { name: /^Your requests/ }).click();
      await pc.getByTestId('open-conversations').click();
      await pc.getByRole('heading', { name: 'Your chat conversations' }).waitFor();
      await pc.getByTestId('conversation-item').getByText('transcript deleted').waitFor();
      await pc.getByTestId('conversation-item').click();
      await pc
        .getByTestId('conversation-deleted')
        .getByText(/^Transcript deleted on /)
        .waitFor();
      assert.equal(await pc.locator('.chat-text').count(), 0, 'no message left');
      await phone.t.screenshot('3-conversation-deleted');
    } finally {
      await t.close();
      await phone.t.close();
    }
  });
});
