/**
 * Issue 18 (console): the agent's chats over the bridge. Several conversations at once with
 * unread counts for those not on screen; each message goes out as a 'chat.frame' with the
 * lease's fence; a reconnect resumes and resends; a conversation that left the agent is
 * read-only; quick replies are the agent's list kept by the authority (loaded once online,
 * saved by the editor); text is shown as text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import type { ChatClientFrame, ChatMessage } from '../../protocol/src/chat.ts';
import { ChatDeskStore } from '../../renderer/src/state/chat.ts';
import { ChatLog, QuickRepliesEditor, QuickReplyPicker } from '../../renderer/src/screens/ChatPane.tsx';
import { BridgeCallError } from '../../renderer/src/bridge/types.ts';
import { ConsoleApp } from '../../renderer/src/state/console.ts';
import { NoSoftphone } from '../../renderer/src/softphone/softphone.ts';
import { agentView, FakeBridge, request } from '../support/fake-bridge.ts';
import { until, whenState } from '../support/wait.ts';

const A = 'req_aaaaaaaaaaaaaaaa';
const B = 'req_bbbbbbbbbbbbbbbb';
const fromCustomer = (requestId: string, seq: number, text = `hi ${seq}`): ChatMessage => ({
  requestId,
  seq,
  clientMsgId: `cus_${requestId.slice(4)}${String(seq).padStart(4, '0')}`,
  sender: 'customer',
  text,
  at: '2026-12-04T18:00:00.000Z',
});

function setup() {
  const frames: ChatClientFrame[] = [];
  const bridge = new FakeBridge({
    'chat.frame': (f: ChatClientFrame) => {
      frames.push(f);
      return { sent: true };
    },
  });
  const store = new ChatDeskStore(bridge);
  const flush = () => new Promise<void>((r) => setImmediate(r));
  return { bridge, store, frames, flush };
}

describe('console chats', () => {
  it('several chats at once: unread counts for those not on screen, messages with the fence, resume from 0 on open', async () => {
    const { bridge, store, frames, flush } = setup();
    store.setOnline(true);
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 3 });
    store.open({ requestId: B, customerName: 'Bob Ng', fence: 7 });
    await flush();
    assert.deepEqual(
      frames.filter((f) => f.type === 'chat.resume'),
      [
        { type: 'chat.resume', requestId: A, after: 0 },
        { type: 'chat.resume', requestId: B, after: 0 },
      ],
      'a conversation opened (accepted or received by transfer) replays its whole transcript',
    );
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer(A, 1) });
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer(A, 2) });
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer(B, 1) });
    const byId = () => Object.fromEntries(store.getState().conversations.map((c) => [c.requestId, c]));
    assert.equal(store.getState().selected, B);
    assert.equal(byId()[A]!.unread, 2);
    store.markRead();
    await flush();
    assert.deepEqual(frames.at(-1), { type: 'chat.read', requestId: B, upTo: 1 });
    store.select(A);
    assert.ok(store.send('Hello Alice'));
    await flush();
    const sent = frames.at(-1)!;
    assert.equal(sent.type, 'chat.send');
    assert.equal(sent.type === 'chat.send' && sent.fence, 3, "the lease's fence goes with each message");
    bridge.emit('chat.frame', { type: 'chat.typing', requestId: A, by: 'customer', active: true });
    assert.equal(byId()[A]!.customerTyping, true);
    assert.equal(byId()[B]!.customerTyping, false);
  });

  it('offline: sent on reconnect with the same id after a resume from the last seq', async () => {
    const { bridge, store, frames, flush } = setup();
    store.setOnline(true);
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 3 });
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer(A, 1) });
    store.setOnline(false);
    assert.ok(store.send('are you still there?'));
    assert.equal(store.getState().conversations[0]!.entries.at(-1)!.delivery, 'sending');
    await flush();
    const before = frames.length;
    store.setOnline(true);
    await flush();
    const again = frames.slice(before);
    assert.deepEqual(again[0], { type: 'chat.resume', requestId: A, after: 1 });
    assert.equal(again[1]!.type === 'chat.send' && again[1]!.text, 'are you still there?');
  });

  it('a conversation that left the agent is read-only; a refused message says why; wrap-up removes it', async () => {
    const { bridge, store, frames, flush } = setup();
    store.setOnline(true);
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 3 });
    store.send('first');
    await flush();
    const first = frames.find((f) => f.type === 'chat.send')!;
    assert.equal(first.type, 'chat.send');
    bridge.emit('chat.frame', {
      type: 'chat.refused',
      requestId: A,
      clientMsgId: first.clientMsgId,
      code: 'stale_fence',
    });
    assert.match(store.getState().conversations[0]!.closed ?? '', /moved to someone else/);
    assert.equal(store.send('again'), false);
    store.remove(A);
    assert.deepEqual(store.getState().conversations, []);
    assert.equal(store.getState().selected, null);
  });

  it("quick replies: the agent's list from the authority once online; the editor's list saved through the bridge; a refusal keeps the old one", async () => {
    const { bridge, store, flush } = setup();
    let stored = ['Hi!', 'Bye'];
    const team = { replies: [], updatedAt: null };
    bridge.handlers['chat.quickReplies'] = () => ({ replies: stored, updatedAt: null, team });
    bridge.handlers['chat.setQuickReplies'] = ({ replies }: { replies: string[] }) => {
      if (replies.includes('refuse me')) throw new BridgeCallError('invalid_argument', 'a reply is too long');
      stored = replies;
      return { replies, updatedAt: '2026-12-05T10:00:00.000Z', team };
    };
    assert.deepEqual(store.getState().quickReplies, [], 'nothing before the authority answers');
    store.setOnline(true);
    await until('the list loaded', () => store.getState().quickReplies.length === 2);
    assert.deepEqual(store.getState().quickReplies, ['Hi!', 'Bye']);
    store.setOnline(false);
    store.setOnline(true);
    await flush();
    assert.equal(bridge.count('chat.quickReplies'), 1, 'loaded once per sign-in');

    // edited, one added, an empty one dropped, trimmed
    assert.equal(await store.saveQuickReplies(['Hi there!', '  ', ' New one ']), true);
    assert.deepEqual(bridge.last('chat.setQuickReplies'), { replies: ['Hi there!', 'New one'] });
    assert.deepEqual(store.getState().quickReplies, ['Hi there!', 'New one']);

    assert.equal(await store.saveQuickReplies(['refuse me']), false);
    assert.deepEqual(store.getState().quickReplies, ['Hi there!', 'New one'], 'the stored list stays');
    assert.match(store.getState().quickRepliesError ?? '', /not saved: a reply is too long/);

    store.reset();
    assert.deepEqual(store.getState().quickReplies, [], "signed out: the next agent's list is loaded anew");
    store.setOnline(false);
    store.setOnline(true);
    await until('the list loaded', () => store.getState().quickReplies.length === 2);
    assert.equal(bridge.count('chat.quickReplies'), 2);
  });

  it("team quick replies: loaded with the agent's own, again when a chat opens (a supervisor's change reaches the next chat); a supervisor saves the team's list", async () => {
    const { bridge, store } = setup();
    let team = { replies: ['Team hello'], updatedAt: '2026-12-05T09:00:00.000Z' };
    bridge.handlers['chat.quickReplies'] = () => ({ replies: ['Mine'], updatedAt: null, team });
    bridge.handlers['chat.setTeamQuickReplies'] = ({ replies }: { replies: string[] }) => {
      if (replies.includes('agent'))
        throw new BridgeCallError('forbidden', "the staff member's role is not supervisor or admin");
      team = { replies, updatedAt: '2026-12-05T10:00:00.000Z' };
      return team;
    };
    store.setOnline(true);
    await until('the lists loaded', () => store.getState().teamQuickReplies.length === 1);
    assert.deepEqual(store.getState().quickReplies, ['Mine']);
    assert.deepEqual(store.getState().teamQuickReplies, ['Team hello']);

    // a supervisor changed the team list elsewhere: the next chat opened shows it
    team = { replies: ['Team hello', 'Team bye'], updatedAt: '2026-12-05T11:00:00.000Z' };
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 3 });
    await until('the team list again', () => store.getState().teamQuickReplies.length === 2);
    assert.equal(bridge.count('chat.quickReplies'), 2);

    // the supervisor's editor: trimmed, empty ones dropped
    assert.equal(await store.saveTeamQuickReplies([' New team reply ', '']), true);
    assert.deepEqual(bridge.last('chat.setTeamQuickReplies'), { replies: ['New team reply'] });
    assert.deepEqual(store.getState().teamQuickReplies, ['New team reply']);
    assert.deepEqual(store.getState().quickReplies, ['Mine'], "the agent's own list is untouched");
    // refused (an agent): the list stays, the error says why
    assert.equal(await store.saveTeamQuickReplies(['agent']), false);
    assert.deepEqual(store.getState().teamQuickReplies, ['New team reply']);
    assert.match(
      store.getState().teamQuickRepliesError ?? '',
      /Team quick replies not saved: .*not supervisor/,
    );
    store.reset();
    assert.deepEqual(store.getState().teamQuickReplies, []);
  });

  it('the quick-reply picker: the team\'s replies under "Team" (no editing there), then the agent\'s own and Edit', () => {
    const html = renderToStaticMarkup(
      createElement(QuickReplyPicker, {
        team: ['Our hours: <b>8 to 20</b>', 'Thank you for contacting the bank.'],
        mine: ['Hi!'],
        online: true,
        onPick: () => undefined,
        onEdit: () => undefined,
      }),
    );
    const teamGroup =
      /<div[^>]*role="group" aria-label="Team quick replies"[^>]*>(.*?)<\/div>/.exec(html)?.[1] ?? '';
    assert.match(teamGroup, />Team<\/span>/, 'labelled "Team"');
    assert.equal(teamGroup.match(/data-testid="console-team-quick-reply"/g)?.length, 2);
    assert.match(teamGroup, /Our hours: &lt;b&gt;8 to 20&lt;\/b&gt;/, 'text, not HTML');
    assert.doesNotMatch(teamGroup, /Edit/, 'agents cannot edit the team list here');
    const ownGroup =
      /<div[^>]*role="group" aria-label="Quick replies"[^>]*>(.*?)<\/div>/.exec(html)?.[1] ?? '';
    assert.equal(ownGroup.match(/data-testid="console-quick-reply"/g)?.length, 1);
    assert.match(ownGroup, />Hi!<\/button>/);
    assert.match(ownGroup, /data-testid="console-quick-replies-edit"[^>]*>Edit quick replies<\/button>/);

    const noTeam = renderToStaticMarkup(
      createElement(QuickReplyPicker, {
        team: [],
        mine: ['Hi!'],
        online: true,
        onPick: () => undefined,
        onEdit: () => undefined,
      }),
    );
    assert.doesNotMatch(noTeam, /Team/, 'no team list saved: no Team group');
  });

  it('the quick replies editor: one text box and Delete per reply, Add, Save; HTML stays text', () => {
    const html = renderToStaticMarkup(
      createElement(QuickRepliesEditor, {
        initial: ['Hello <b>you</b>', 'Bye'],
        error: null,
        onSave: async () => undefined,
        onCancel: () => undefined,
      }),
    );
    assert.equal(html.match(/data-testid="console-quick-reply-text"/g)?.length, 2);
    assert.match(html, /Hello &lt;b&gt;you&lt;\/b&gt;<\/textarea>/);
    assert.equal(html.match(/>Delete<\/button>/g)?.length, 2);
    assert.match(html, />Add reply<\/button>/);
    assert.match(html, /type="submit"[^>]*>Save<\/button>/);
  });

  it("the customer's HTML and script are shown as text; https links are links, javascript: stays text", () => {
    const html = renderToStaticMarkup(
      createElement(ChatLog, {
        entries: [
          {
            key: 'k1',
            clientMsgId: 'k1',
            seq: 1,
            sender: 'customer',
            staffId: null,
            text: '<script>alert(1)</script><b>bold</b> https://bank.example/x javascript:alert(2)',
            at: '2026-12-04T18:00:00.000Z',
            delivery: null,
            refusal: null,
            attachment: null,
          },
        ],
        customerName: 'Alice <i>Moreau</i>',
        onLink: () => undefined,
      }),
    );
    const transferred = renderToStaticMarkup(
      createElement(ChatLog, {
        entries: [
          {
            key: 'a',
            clientMsgId: 'a',
            seq: 1,
            sender: 'agent',
            staffId: 'stf_dana',
            text: 'from Dana',
            at: null,
            delivery: 'read',
            refusal: null,
            attachment: null,
          },
          {
            key: 'b',
            clientMsgId: 'b',
            seq: 2,
            sender: 'agent',
            staffId: 'stf_sam',
            text: 'from Sam',
            at: null,
            delivery: 'sent',
            refusal: null,
            attachment: null,
          },
        ],
        customerName: 'Alice',
        onLink: () => undefined,
        myStaffId: 'stf_sam',
      }),
    );
    assert.match(
      transferred,
      /Previous agent<\/span>.*from Dana.*You<\/span>.*from Sam/s,
      'after a transfer: who wrote what',
    );
    assert.ok(!html.includes('<script') && !html.includes('<b>') && !html.includes('<i>'));
    assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;'));
    assert.match(html, /<a href="https:\/\/bank.example\/x" rel="noopener noreferrer nofollow">/);
    assert.ok(!html.includes('href="javascript'));
  });
});

describe('console chats in the console app', () => {
  const handlers = (r: ReturnType<typeof request>) => ({
    'session.current': () => ({
      staffId: 'stf_dana',
      username: 'agent1',
      displayName: 'Dana Reyes',
      role: 'agent',
    }),
    'agent.me': () => agentView({ presence: 'busy', currentRequestId: r.requestId }),
    'queue.snapshot': () => ({ queues: [], requests: [r] }),
    'wrapUp.dispositions': () => ({ version: 1, tree: [] }),
    'outbox.status': () => ({ pending: 0, sent: 0, lastError: null, nextAttemptAt: null }),
    'transfer.mine': () => ({ incoming: [], outgoing: [] }),
    'panel.get': () => ({
      request: r,
      verification: { level: 2 },
      secure: [],
      photos: { enrolment: null, latest: null, comparison: null },
    }),
    'command.list': () => ({ requestId: r.requestId, commands: [] }),
    'chat.frame': () => ({ sent: true }),
  });

  it('a voice request in hand sends no chat frame; the first chat frame about it opens its conversation (resumed from 0)', async () => {
    const r = request({ customerName: 'Alice Moreau', state: 'assigned', fence: 2, agentId: 'stf_dana' });
    const bridge = new FakeBridge(handlers(r));
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await whenState('the request in hand active', app.work, (st) => st.phase === 'active');
    bridge.emit('connection.state', { state: 'connected', since: '2026-12-04T18:00:00.000Z' });
    assert.equal(bridge.count('chat.frame'), 0, 'an authority without chat never sees a chat frame');
    assert.deepEqual(app.chats.getState().conversations, []);
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer(r.requestId, 1, 'hello?') });
    assert.deepEqual(
      app.chats.getState().conversations.map((c) => [c.customerName, c.entries.map((e) => e.text)]),
      [['Alice Moreau', ['hello?']]],
    );
    assert.deepEqual(bridge.last('chat.frame'), { type: 'chat.resume', requestId: r.requestId, after: 0 });
    bridge.emit('chat.frame', { type: 'chat.message', message: fromCustomer('req_ffffffffffffffff', 1) });
    assert.equal(app.chats.getState().conversations.length, 1, 'a request not in my hands opens nothing');
  });

  it('a request asked for by chat opens its conversation on accept', async () => {
    const r = {
      ...request({ customerName: 'Bob Ng', state: 'assigned', fence: 4, agentId: 'stf_dana' }),
      channel: 'chat' as const,
    };
    const bridge = new FakeBridge(handlers(r));
    const app = new ConsoleApp(bridge, new NoSoftphone(), { storage: null, media: null });
    await app.start();
    await whenState('the request in hand active', app.work, (st) => st.phase === 'active');
    await until('its conversation opened', () => app.chats.getState().conversations.length === 1);
    assert.equal(app.chats.getState().selected, r.requestId);
  });
});

describe('console chats: attachments', () => {
  const png = new Uint8Array(100_000).map((_, i) => i % 251);
  const file = (name: string, type: string, bytes: Uint8Array = png) => ({
    name,
    type,
    size: bytes.length,
    arrayBuffer: async () => bytes.slice().buffer,
  });

  it('a picked file goes to main in ordered parts with the fence, and its message (with the file) is shown at once', async () => {
    const parts: { uploadId: string; index: number; data: string }[] = [];
    let attach: any;
    const { bridge, store } = setup();
    bridge.handlers['chat.attachPart'] = (p: any) => (parts.push(p), { received: p.index + 1 });
    bridge.handlers['chat.attach'] = (a: any) => {
      attach = a;
      const message: ChatMessage = {
        requestId: A,
        seq: 1,
        clientMsgId: a.clientMsgId,
        sender: 'agent',
        staffId: 'stf_dana',
        text: a.name,
        attachment: {
          id: 'att_0000000000000001',
          kind: 'image',
          mediaType: 'image/png',
          name: a.name,
          size: 100_000,
        },
        at: '2026-12-04T18:00:00.000Z',
      };
      return { requestId: A, clientMsgId: a.clientMsgId, seq: 1, message };
    };
    store.setOnline(true);
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 4 });
    assert.equal(await store.attach(file('scan<b>.png', 'image/png')), true);
    assert.ok(parts.length >= 3, 'a 100 kB file goes in several parts');
    assert.deepEqual(
      parts.map((p) => p.index),
      parts.map((_, i) => i),
    );
    assert.ok(parts.every((p) => p.uploadId === attach.uploadId));
    const joined = Buffer.concat(parts.map((p) => Buffer.from(p.data, 'base64')));
    assert.deepEqual(new Uint8Array(joined), png, 'the parts carry the bytes');
    assert.equal(attach.fence, 4);
    assert.equal(attach.mediaType, 'image/png');
    assert.equal(attach.name, 'scan<b>.png');
    const entry = store.getState().conversations[0]!.entries[0]!;
    assert.equal(entry.attachment?.kind, 'image');
    assert.equal(entry.seq, 1);
    assert.equal(store.getState().uploading, null);
    assert.equal(store.getState().error, null);
  });

  it("the authority's refusal (too large, wrong type) is said in words; nothing is shown as sent", async () => {
    const { bridge, store } = setup();
    bridge.handlers['chat.attachPart'] = (p: any) => ({ received: p.index + 1 });
    let refusal = { code: 'payload_too_large', message: 'attachments are limited to 65536 bytes' };
    bridge.handlers['chat.attach'] = () => {
      throw Object.assign(new Error(refusal.message), { code: refusal.code });
    };
    store.setOnline(true);
    store.open({ requestId: A, customerName: 'Alice Moreau', fence: 4 });
    assert.equal(await store.attach(file('big.png', 'image/png')), false);
    assert.equal(store.getState().error, '"big.png" is too large to send (the limit is 64 KB).');
    refusal = { code: 'unsupported_media_type', message: 'the file is not a PNG' };
    assert.equal(await store.attach(file('notes.html', 'text/html')), false);
    assert.match(
      store.getState().error!,
      /"notes\.html" cannot be sent: only PNG, JPEG or WebP images and PDF/,
    );
    assert.equal(store.getState().conversations[0]!.entries.length, 0);
    assert.equal(store.getState().uploading, null);
  });

  it('an image is shown inline from the bridge (object URL), a PDF as a named download button; names stay text', async () => {
    const { bridge, store } = setup();
    bridge.handlers['chat.attachment'] = () => ({
      mediaType: 'image/png',
      data: Buffer.from(png).toString('base64'),
    });
    const url = await store.attachmentUrl(A, 'att_0000000000000001');
    assert.match(url, /^blob:/);
    assert.equal(await store.attachmentUrl(A, 'att_0000000000000001'), url, 'fetched once');
    assert.equal(bridge.count('chat.attachment'), 1);
    const html = renderToStaticMarkup(
      createElement(ChatLog, {
        entries: [
          {
            key: 'p',
            clientMsgId: 'p',
            seq: 1,
            sender: 'customer',
            staffId: null,
            text: '<b>statement</b>.pdf',
            attachment: {
              id: 'att_0000000000000002',
              kind: 'pdf',
              mediaType: 'application/pdf',
              name: '<b>statement</b>.pdf',
              size: 12_345,
            },
            at: null,
            delivery: null,
            refusal: null,
          },
        ],
        customerName: 'Alice',
        onLink: () => undefined,
        loadAttachment: () => Promise.resolve('blob:x'),
      }),
    );
    assert.match(html, /data-testid="console-chat-file"/);
    assert.match(html, /&lt;b&gt;statement&lt;\/b&gt;\.pdf/);
    assert.match(html, /12 KB/);
    assert.doesNotMatch(html, /<b>/);
  });
});
