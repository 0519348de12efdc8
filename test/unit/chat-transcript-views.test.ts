/**
 * Issue 18 item 4, the transcript as part of the request's record: a past transcript shows
 * its attachments like the live chat (an image inline, a PDF as a download; the bytes
 * through the console's bridge or with the device's proof), in the console's History and on
 * the supervisor's board (one transcript view), and in the customer app's past
 * conversations; a supervisor opens a chat's transcript from its board row, or from the
 * chats that ended while the board was on screen.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement, type ReactElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ChatMessage, StaffChatTranscript } from '../../protocol/src/chat.ts';
import type { RequestView } from '../../protocol/src/pipeline.ts';
import { AppStore } from '../../customer/app/src/state/app-state.ts';
import { ChatStore } from '../../customer/app/src/state/chat.ts';
import { Conversation } from '../../customer/app/src/screens/History.tsx';
import type { AppController } from '../../customer/app/src/controller.ts';
import type { AccessDevice } from '../../customer/sdk/index.ts';
import { ConsoleContext } from '../../renderer/src/hooks.ts';
import {
  BoardTranscriptDialog,
  EndedChats,
  TranscriptButton,
} from '../../renderer/src/screens/BoardTranscript.tsx';
import { TranscriptView } from '../../renderer/src/screens/Transcript.tsx';
import { ConsoleApp } from '../../renderer/src/state/console.ts';
import { NoSoftphone } from '../../renderer/src/softphone/softphone.ts';
import { FakeBridge, request } from '../support/fake-bridge.ts';

const REQ = 'req_0123456789abcdef';
const AT = '2026-12-04T18:00:00.000Z';
const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

/** Three messages: a text, an image sent by the customer (its text is the file name), a PDF with a caption. */
const messages: ChatMessage[] = [
  {
    requestId: REQ,
    seq: 1,
    clientMsgId: 'cus_00000000000001',
    sender: 'customer',
    text: 'my card <b>broke</b>',
    at: AT,
  },
  {
    requestId: REQ,
    seq: 2,
    clientMsgId: 'cus_00000000000002',
    sender: 'customer',
    text: 'card.png',
    attachment: {
      id: 'att_0000000000000001',
      kind: 'image',
      mediaType: 'image/png',
      name: 'card.png',
      size: 11,
    },
    at: AT,
  },
  {
    requestId: REQ,
    seq: 3,
    clientMsgId: 'agt_00000000000001',
    sender: 'agent',
    staffId: 'stf_dana',
    text: 'Here is the form',
    attachment: {
      id: 'att_0000000000000002',
      kind: 'pdf',
      mediaType: 'application/pdf',
      name: 'form<script>.pdf',
      size: 12_345,
    },
    at: AT,
  },
];

const items = (html: string) => [...html.matchAll(/<li[^>]*>(.*?)<\/li>/g)].map((m) => m[1]!);

describe('past transcripts show their attachments', () => {
  it("console (History, board): the image in the live chat's frame, the PDF as a download button, names as text", () => {
    const transcript: StaffChatTranscript = {
      requestId: REQ,
      messages,
      nextAfter: null,
      agents: [{ staffId: 'stf_dana', displayName: 'Dana Reyes' }],
    } as StaffChatTranscript;
    const loads: string[] = [];
    const html = renderToStaticMarkup(
      createElement(TranscriptView, {
        transcript,
        partial: false,
        customerName: 'Alice Martin',
        onLink: () => undefined,
        loadAttachment: (id: string) => (loads.push(id), Promise.resolve('blob:x')),
      }),
    );
    const [text, image, pdf] = items(html);
    assert.match(text!, /my card &lt;b&gt;broke&lt;\/b&gt;/);
    assert.doesNotMatch(text!, /chat-attachment/);
    assert.match(image!, /chat-image-frame/, 'the live chat view of an image');
    assert.match(image!, /Loading image…/, 'its bytes come from the bridge (object URL), never a link');
    assert.doesNotMatch(image!, /class="chat-text"/, 'a file sent alone shows its name once');
    assert.match(pdf!, /data-testid="console-chat-file"/);
    assert.match(pdf!, /form&lt;script&gt;\.pdf/);
    assert.match(pdf!, /12 KB/);
    assert.match(pdf!, /Here is the form/, 'the caption is shown as text too');
    assert.match(pdf!, /Dana Reyes/);
    assert.doesNotMatch(html, /<script>|<b>/);
  });

  it("customer app (past conversation): the image and the PDF as in the live chat, fetched with the device's proof from that request", async () => {
    const app = new AppStore();
    const fetched: [string, string][] = [];
    app.device = {
      chatAttachment: async (requestId: string, attachmentId: string) => {
        fetched.push([requestId, attachmentId]);
        return { type: 'image/png', bytes: png };
      },
    } as unknown as AccessDevice;
    const chat = new ChatStore(app);
    // No chat is open: a past conversation's attachment still loads (the request it belongs to).
    const url = await chat.attachmentUrlOf(REQ, 'att_0000000000000001');
    assert.match(url, /^blob:/);
    assert.equal(await chat.attachmentUrlOf(REQ, 'att_0000000000000001'), url, 'fetched once');
    assert.deepEqual(fetched, [[REQ, 'att_0000000000000001']]);
    await assert.rejects(chat.attachmentUrl('att_0000000000000001'), /no open chat/);

    const controller = {
      conversationAttachmentUrl: (r: string, a: string) => chat.attachmentUrlOf(r, a),
      openConversations: () => Promise.resolve(),
    } as unknown as AppController;
    const item = {
      requestId: REQ,
      optionLabel: 'Lost card',
      at: AT,
      endedAt: AT,
      messageCount: 3,
      lastMessageAt: AT,
    };
    const html = renderToStaticMarkup(
      createElement(Conversation, {
        state: app.getState(),
        app: controller,
        screen: { name: 'conversation', item, messages, partial: false },
      }),
    );
    const [text, image, pdf] = items(html);
    assert.match(text!, /my card &lt;b&gt;broke&lt;\/b&gt;/);
    assert.match(image!, /chat-attachment/);
    assert.match(image!, /Loading image…/);
    assert.doesNotMatch(image!, /class="chat-text"/);
    assert.match(pdf!, /data-testid="chat-file"/);
    assert.match(pdf!, /aria-label="Download form&lt;script&gt;\.pdf"/);
    assert.match(pdf!, /Here is the form/);
    assert.doesNotMatch(html, /<script>|<b>/);
  });
});

describe("the supervisor's board opens a chat's transcript", () => {
  const setup = () => {
    const bridge = new FakeBridge();
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    const render = (node: ReactElement) =>
      renderToStaticMarkup(createElement(ConsoleContext.Provider, { value: app }, node));
    return { bridge, app, render };
  };
  const chatRequest = (over: Partial<RequestView>): RequestView => ({ ...request(over), channel: 'chat' });

  it('a chat row has "Open transcript", a call row none; the dialog shows the transcript read-only (live)', () => {
    const { app, render } = setup();
    const alice = chatRequest({ customerName: 'Alice Martin', optionLabel: 'Lost card', state: 'assigned' });
    const call = request({ customerName: 'Bob Okafor', state: 'assigned' });
    assert.match(
      render(createElement(TranscriptButton, { request: alice })),
      /aria-label="Open the transcript of Alice Martin"/,
    );
    assert.equal(render(createElement(TranscriptButton, { request: call })), '');
    assert.equal(render(createElement(BoardTranscriptDialog)), '', 'nothing open');
    app.boardTranscripts.open(alice);
    const dialog = render(createElement(BoardTranscriptDialog));
    assert.match(dialog, /role="dialog"/);
    assert.match(dialog, /Transcript: Alice Martin · Lost card/);
    assert.match(dialog, />live</);
    assert.match(dialog, /Loading the transcript…/, "History's transcript view, reading it");
    assert.doesNotMatch(dialog, /<textarea|<input/, 'read-only: nothing to write with');
    app.boardTranscripts.close();
    assert.equal(render(createElement(BoardTranscriptDialog)), '');
  });

  it('a chat that ends while the board is watched stays openable (finished); calls and sign-out leave nothing', () => {
    const { bridge, app, render } = setup();
    const alice = chatRequest({ customerName: 'Alice Martin', state: 'assigned' });
    app.boardTranscripts.open(alice);
    bridge.emit('queue.delta', {
      upserts: [
        { ...alice, state: 'completed' },
        { ...request({ customerName: 'Bob Okafor' }), state: 'completed' },
        chatRequest({ customerName: 'Chen Wei', state: 'waiting' }),
      ],
      queues: [],
    });
    const s = app.boardTranscripts.getState();
    assert.deepEqual(
      s.ended.map((x) => x.customerName),
      ['Alice Martin'],
      'only the chat that ended',
    );
    assert.ok(s.opened?.endedAt, 'the open transcript now says finished');
    assert.match(render(createElement(BoardTranscriptDialog)), />finished</);
    const list = render(createElement(EndedChats));
    assert.match(list, /Finished chats/);
    assert.match(list, /aria-label="Open the transcript of Alice Martin"/);
    app.boardTranscripts.clear();
    assert.equal(render(createElement(EndedChats)), '');
  });
});
