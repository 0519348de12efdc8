/**
 * Issue 18 (customer app): the chat screen over the SDK's ChatSession. Messages are text,
 * never HTML (a `<script>` in a message is shown as those characters), links are shown,
 * ticks follow the agent's receipts, the agent's typing and the offline state are said in
 * plain words, the verified state is on screen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ChatClientFrame } from '../../protocol/src/chat.ts';
import { AuthorityError, ChatSession, type AccessDevice } from '../../customer/sdk/index.ts';
import { AppStore } from '../../customer/app/src/state/app-state.ts';
import { ChatStore } from '../../customer/app/src/state/chat.ts';
import { Chat } from '../../customer/app/src/screens/Chat.tsx';
import type { AppController } from '../../customer/app/src/controller.ts';
import { request } from '../support/fake-bridge.ts';

const REQ = 'req_0123456789abcdef';

function setup() {
  const sent: ChatClientFrame[] = [];
  let n = 0;
  const session = new ChatSession({
    requestId: REQ,
    role: 'customer',
    transport: { send: (f) => (sent.push(f), true) },
    newId: () => `cid_${String(++n).padStart(16, '0')}`,
  });
  const app = new AppStore();
  app.device = { chat: () => session } as unknown as AccessDevice;
  app.set({
    request: request({ requestId: REQ, state: 'assigned', agentName: 'Dana Reyes', level: 3 }),
  });
  const chat = new ChatStore(app);
  const controller = {
    chatSeen: () => chat.markRead(),
    sendChat: (t: string) => chat.send(t),
    chatTyping: (a: boolean) => chat.typing(a),
    showRequest: () => undefined,
    home: () => undefined,
  } as unknown as AppController;
  const html = () => renderToStaticMarkup(createElement(Chat, { state: app.getState(), app: controller }));
  return { session, app, chat, sent, html };
}

describe('customer app: verified chat screen', () => {
  it('shows HTML and script in messages as text, links as links, the verified state and the agent by name', () => {
    const { session, chat, html } = setup();
    chat.open();
    session.connected();
    session.handle({
      type: 'chat.message',
      message: {
        requestId: REQ,
        seq: 1,
        clientMsgId: 'agt_0000000000000001',
        sender: 'agent',
        text: '<script>alert(1)</script><img src=x onerror=alert(2)> see https://bank.example/help',
        at: '2026-12-04T18:00:00.000Z',
      },
    });
    const out = html();
    assert.ok(!out.includes('<script>'), 'no script element');
    assert.ok(!out.includes('<img'), 'no image element');
    assert.ok(out.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;'));
    assert.match(
      out,
      /<a href="https:\/\/bank.example\/help" target="_blank" rel="noopener noreferrer nofollow">/,
    );
    assert.match(out, /Chat with Dana Reyes/);
    assert.match(
      out,
      /Verified: this phone and your fingerprint\. The agent sees it before your first message\./,
    );
  });

  it('own messages: Sending…, then Sent, Delivered, Read from the receipts; the agent typing; offline said plainly', () => {
    const { session, chat, app, sent, html } = setup();
    chat.open();
    session.connected();
    assert.ok(chat.send('my card was stolen'));
    const cid = sent.find((f) => f.type === 'chat.send')!;
    assert.equal(cid.type, 'chat.send');
    assert.match(html(), /data-delivery="sending"/);
    session.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: cid.clientMsgId, seq: 1 });
    assert.match(html(), /data-delivery="sent"[^>]*>[^<]*✓ Sent/);
    session.handle({ type: 'chat.receipt', requestId: REQ, kind: 'read', by: 'agent', upTo: 1 });
    assert.match(html(), /data-delivery="read"/);
    session.handle({ type: 'chat.typing', requestId: REQ, by: 'agent', active: true });
    assert.match(html(), /Dana Reyes is typing…/);
    session.disconnected();
    assert.match(
      html(),
      /You are offline\. Your messages are kept and sent as soon as the connection is back\./,
    );
    assert.ok(!chat.send('   '));
    assert.equal(app.getState().error, 'a message needs some text');
    session.dispose();
  });

  it('an offer names nobody yet; after a transfer each agent message keeps its writer (or "Previous agent"), never the new agent', () => {
    const { session, chat, app, html } = setup();
    const base = app.getState().request!;
    const who = () =>
      [...html().matchAll(/<span class="chat-who">([^<]*)<\/span>/g)].map((m) => m[1]).join(' | ');
    const from = (seq: number, staffId: string, text: string) =>
      session.handle({
        type: 'chat.message',
        message: {
          requestId: REQ,
          seq,
          clientMsgId: `agt_${String(seq).padStart(16, '0')}`,
          sender: 'agent',
          staffId,
          text,
          at: '2026-12-04T18:00:00.000Z',
        },
      });
    app.set({
      request: { ...base, state: 'offered', agentId: 'stf_dana_reyes_0001', agentName: 'Dana Reyes' },
    });
    chat.open();
    session.connected();
    let out = html();
    assert.match(out, /<h1[^>]*>Chat<\/h1>/, 'not "Chat with Dana Reyes" before she accepts');
    assert.match(out, /Waiting for an agent\. You can write now/);
    app.set({
      request: { ...base, state: 'assigned', agentId: 'stf_dana_reyes_0001', agentName: 'Dana Reyes' },
    });
    from(1, 'stf_dana_reyes_0001', 'Hello from Dana');
    assert.match(html(), /Chat with Dana Reyes/);
    assert.equal(who(), 'Dana Reyes');
    // Blind transfer to Sam: Dana's message is still Dana's.
    app.set({
      request: { ...base, state: 'assigned', agentId: 'stf_sam_patel_00001', agentName: 'Sam Patel' },
    });
    from(2, 'stf_sam_patel_00001', 'Sam here');
    from(3, 'stf_never_seen_0001', 'Someone before');
    out = html();
    assert.match(out, /Chat with Sam Patel/);
    assert.equal(who(), 'Dana Reyes | Sam Patel | Previous agent');
  });

  it('a conversation that ended stops the composer and says so', () => {
    const { session, chat, sent, html } = setup();
    chat.open();
    session.connected();
    chat.send('still there?');
    const f = sent.find((x) => x.type === 'chat.send')!;
    assert.equal(f.type, 'chat.send');
    session.handle({ type: 'chat.refused', requestId: REQ, clientMsgId: f.clientMsgId, code: 'ended' });
    const out = html();
    assert.match(out, /This conversation has ended\. Your last message was not sent\./);
    assert.ok(!out.includes('chat-input'));
  });
});

describe('customer app: chat attachments', () => {
  function withDevice(sendChatFile: (file: File, opts: { name: string }) => Promise<unknown>) {
    const s = setup();
    s.app.device = {
      chat: () => s.session,
      sendChatFile,
      chatAttachment: async () => ({ type: 'image/png', bytes: new Uint8Array([1, 2, 3]) }),
    } as unknown as AccessDevice;
    const controller = {
      chatSeen: () => undefined,
      chatAttachmentUrl: (id: string) => s.chat.attachmentUrl(id),
      showRequest: () => undefined,
      home: () => undefined,
    } as unknown as AppController;
    const html = () =>
      renderToStaticMarkup(createElement(Chat, { state: s.app.getState(), app: controller }));
    return { ...s, html };
  }

  it('sending a file: "Sending …" while it goes, then its message with the file; the image and PDF shown, names as text', async () => {
    let release!: () => void;
    const { session, chat, app, html } = withDevice(async (file, { name }) => {
      await new Promise<void>((r) => (release = r));
      session.received({
        requestId: REQ,
        seq: 1,
        clientMsgId: 'cid_0000000000000009',
        sender: 'customer',
        text: name,
        attachment: {
          id: 'att_0000000000000001',
          kind: 'pdf',
          mediaType: 'application/pdf',
          name,
          size: file.size,
        },
        at: '2026-12-04T18:00:00.000Z',
      });
    });
    chat.open();
    session.connected();
    const sending = chat.attach(new File([new Uint8Array(2048)], '<i>bill.pdf', { type: 'application/pdf' }));
    await new Promise((r) => setImmediate(r));
    assert.equal(app.getState().chat?.uploading, '<i>bill.pdf');
    assert.match(html(), /Sending &lt;i&gt;bill\.pdf…/);
    release();
    assert.equal(await sending, true);
    const view = app.getState().chat!;
    assert.equal(view.uploading, null);
    assert.equal(view.entries[0]?.attachment?.kind, 'pdf');
    const page = html();
    assert.match(page, /data-testid="chat-file"/);
    assert.match(page, /&lt;i&gt;bill\.pdf/);
    assert.match(page, /2 KB/);
    assert.doesNotMatch(page, /<i>/);
    assert.match(await chat.attachmentUrl('att_0000000000000001'), /^blob:/);
  });

  it("a refused file is said in plain words from the authority's error, and nothing is shown as sent", async () => {
    const { session, chat, app, html } = withDevice(async () => {
      throw new AuthorityError(
        415,
        'unsupported_media_type',
        'the file is not a PNG, JPEG, WebP image nor a PDF',
      );
    });
    chat.open();
    session.connected();
    assert.equal(
      await chat.attach(new File(['MZ...'], 'setup.exe', { type: 'application/x-msdownload' })),
      false,
    );
    assert.equal(
      app.getState().chat?.fileError,
      '"setup.exe" cannot be sent: only PNG, JPEG or WebP images and PDF documents can.',
    );
    assert.equal(app.getState().chat?.entries.length, 0);
    assert.match(html(), /data-testid="chat-file-error"/);
  });
});
