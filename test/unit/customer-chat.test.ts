/**
 * The SDK's chat session (issue 18) against a scripted authority: a message is "sending"
 * until its ack, resent with the same clientMsgId after a reconnect, the resume cursor is
 * the end of the gap-free transcript, messages show once in seq order whatever the
 * arrival order, receipts turn ticks, typing shows and clears.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ChatClientFrame, ChatMessage, ChatServerFrame } from '../../protocol/src/chat.ts';
import {
  AuthorityClient,
  ChatError,
  ChatSession,
  linkParts,
  MemoryStore,
  offeredChannels,
  type WebSocketLike,
} from '../../customer/sdk/index.ts';
import { RequestFollower } from '../../customer/sdk/request-follower.ts';
import { request } from '../support/fake-bridge.ts';
import { until } from '../support/wait.ts';

const REQ = 'req_0123456789abcdef';
const id = (n: number) => `msg_${String(n).padStart(16, '0')}`;
const agentMsg = (seq: number, text = `agent ${seq}`): ChatMessage => ({
  requestId: REQ,
  seq,
  clientMsgId: `agt_${String(seq).padStart(16, '0')}`,
  sender: 'agent',
  staffId: 'stf_0123456789abcdef',
  text,
  at: '2026-12-04T18:00:00.000Z',
});

function session(online = true) {
  const sent: ChatClientFrame[] = [];
  let link = online;
  let n = 0;
  const s = new ChatSession({
    requestId: REQ,
    role: 'customer',
    transport: {
      send: (f) => {
        if (!link) return false;
        sent.push(f);
        return true;
      },
    },
    newId: () => id(++n),
    typingTimeoutMs: 20,
  });
  if (online) s.connected();
  return {
    s,
    sent,
    setLink: (up: boolean) => {
      link = up;
      if (up) s.connected();
      else s.disconnected();
    },
  };
}

describe('customer SDK chat session', () => {
  it('sends with a clientMsgId, is "sending" until the ack, then shows in its seq place with ticks from receipts', () => {
    const { s, sent } = session();
    assert.deepEqual(sent.shift(), { type: 'chat.resume', requestId: REQ, after: 0 });
    const cid = s.send('hello <b>there</b>');
    assert.deepEqual(sent.shift(), {
      type: 'chat.send',
      requestId: REQ,
      clientMsgId: cid,
      text: 'hello <b>there</b>',
    });
    assert.equal(s.entries[0]!.delivery, 'sending');
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: cid, seq: 1 } satisfies ChatServerFrame);
    assert.deepEqual(
      s.entries.map((e) => [e.seq, e.text, e.delivery]),
      [[1, 'hello <b>there</b>', 'sent']],
    );
    // The authority's copy of the same message is not shown twice.
    s.handle({
      type: 'chat.message',
      message: { ...agentMsg(1), sender: 'customer', clientMsgId: cid, text: 'hello <b>there</b>' },
    });
    assert.equal(s.entries.length, 1);
    s.handle({ type: 'chat.receipt', requestId: REQ, kind: 'delivered', by: 'agent', upTo: 1 });
    assert.equal(s.entries[0]!.delivery, 'delivered');
    s.handle({ type: 'chat.receipt', requestId: REQ, kind: 'read', by: 'agent', upTo: 1 });
    assert.equal(s.entries[0]!.delivery, 'read');
    assert.throws(() => s.send('   '), ChatError);
    assert.throws(() => s.send('x'.repeat(4001)), ChatError);
  });

  it('says its read position again when the other side resumes (its "delivered"): a reload or a new agent keeps the Read ticks', () => {
    const { s, sent } = session();
    // Nothing read yet: a 'delivered' asks for nothing.
    s.handle({ type: 'chat.receipt', requestId: REQ, kind: 'delivered', by: 'agent', upTo: 1 });
    assert.ok(!sent.some((f) => f.type === 'chat.read'));
    s.handle({ type: 'chat.message', message: agentMsg(1) });
    s.handle({ type: 'chat.message', message: agentMsg(2) });
    s.markRead();
    assert.deepEqual(sent.at(-1), { type: 'chat.read', requestId: REQ, upTo: 2 });
    sent.length = 0;
    // The agent's console reloaded, or a new agent took over, and resumed: said again.
    s.handle({ type: 'chat.receipt', requestId: REQ, kind: 'delivered', by: 'agent', upTo: 2 });
    assert.deepEqual(sent, [{ type: 'chat.read', requestId: REQ, upTo: 2 }]);
    // Its own receipts echoed back change nothing.
    sent.length = 0;
    s.handle({ type: 'chat.receipt', requestId: REQ, kind: 'delivered', by: 'customer', upTo: 2 });
    assert.deepEqual(sent, []);
  });

  it('offline: messages wait; after the reconnect it resumes from the last seq held and resends the unacknowledged with the same ids', () => {
    const { s, sent, setLink } = session();
    s.handle({ type: 'chat.message', message: agentMsg(1) });
    s.handle({ type: 'chat.message', message: agentMsg(2) });
    setLink(false);
    const a = s.send('one');
    const b = s.send('two');
    assert.equal(s.online, false);
    assert.equal(s.unacknowledged, 2);
    sent.length = 0;
    setLink(true);
    const names = () =>
      sent.map((f) =>
        f.type === 'chat.send' ? f.clientMsgId : f.type === 'chat.resume' ? `resume:${f.after}` : f.type,
      );
    // One on its way at a time: the second goes after the first's ack, so they are stored in order.
    assert.deepEqual(names(), ['resume:2', a]);
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: a, seq: 3 });
    assert.deepEqual(names(), ['resume:2', a, b]);
    // The ack of a lost first attempt repeated: each shown once, in seq order.
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: a, seq: 3 });
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: b, seq: 4 });
    assert.deepEqual(
      s.entries.map((e) => [e.seq, e.text]),
      [
        [1, 'agent 1'],
        [2, 'agent 2'],
        [3, 'one'],
        [4, 'two'],
      ],
    );
    assert.equal(s.unacknowledged, 0);
    assert.equal(s.transcript.resumeAfter, 4);
  });

  it('rate_limited: the whole session waits the pause asked for, then the refused message goes first; nothing overtakes it', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { s, sent } = session();
    const ids = () =>
      sent.filter((f) => f.type === 'chat.send').map((f) => (f as { clientMsgId: string }).clientMsgId);
    const a = s.send('one');
    const b = s.send('two');
    assert.deepEqual(ids(), [a]);
    s.handle({
      type: 'chat.refused',
      requestId: REQ,
      clientMsgId: a,
      code: 'rate_limited',
      retryAfterSeconds: 2,
    });
    const c = s.send('three');
    t.mock.timers.tick(1_999);
    assert.deepEqual(ids(), [a], 'nothing is sent during the pause');
    t.mock.timers.tick(1);
    assert.deepEqual(ids(), [a, a], 'then the refused one again, first');
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: a, seq: 1 });
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: b, seq: 2 });
    assert.deepEqual(ids(), [a, a, b, c]);
    s.handle({ type: 'chat.ack', requestId: REQ, clientMsgId: c, seq: 3 });
    assert.deepEqual(
      s.entries.map((e) => e.text),
      ['one', 'two', 'three'],
    );
    s.dispose();
  });

  it('whatever the order and repeats of the authority frames, every message shows once in seq order, and unread/read receipts follow', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i + 1),
              { minLength: n, maxLength: n },
            ),
            fc.array(fc.integer({ min: 1, max: n }), { maxLength: 20 }),
          ),
        ),
        ([n, order, repeats]) => {
          const { s, sent } = session();
          const seen: number[] = [];
          s.on('message', (m) => seen.push(m.seq));
          for (const seq of [...order, ...repeats])
            s.handle({ type: 'chat.message', message: agentMsg(seq) });
          const all = Array.from({ length: n }, (_, i) => i + 1);
          assert.deepEqual(
            s.entries.map((e) => e.seq),
            all,
          );
          assert.deepEqual(seen, all, 'each message announced once, in order');
          assert.equal(s.unread, n);
          s.markRead();
          assert.deepEqual(sent.at(-1), { type: 'chat.read', requestId: REQ, upTo: n });
          assert.equal(s.unread, 0);
          const count = sent.length;
          s.markRead();
          assert.equal(sent.length, count, 'nothing new: no second receipt');
        },
      ),
    );
  });

  it('a message ahead of a gap is held (not shown, not counted in the resume cursor) until the gap fills', () => {
    const { s, sent, setLink } = session();
    s.handle({ type: 'chat.message', message: agentMsg(1) });
    s.handle({ type: 'chat.message', message: agentMsg(3) });
    assert.deepEqual(
      s.entries.map((e) => e.seq),
      [1],
    );
    setLink(false);
    setLink(true);
    assert.deepEqual(sent.at(-1), { type: 'chat.resume', requestId: REQ, after: 1 });
    s.handle({ type: 'chat.message', message: agentMsg(2) });
    assert.deepEqual(
      s.entries.map((e) => e.seq),
      [1, 2, 3],
    );
  });

  it('typing: one frame per change; the other side shows typing until a message, a timeout or a disconnect', async () => {
    const { s, sent } = session();
    sent.length = 0;
    s.typing(true);
    s.typing(true);
    s.typing(false);
    assert.deepEqual(
      sent.map((f) => f.type === 'chat.typing' && f.active),
      [true, false],
    );
    s.handle({ type: 'chat.typing', requestId: REQ, by: 'agent', active: true });
    assert.equal(s.otherTyping, true);
    s.handle({ type: 'chat.message', message: agentMsg(1) });
    assert.equal(s.otherTyping, false, 'a message from them clears it');
    s.handle({ type: 'chat.typing', requestId: REQ, by: 'agent', active: true });
    const cleared = new Promise<boolean>((resolve) => s.on('typing', resolve));
    assert.equal(await cleared, false, 'cleared by itself without news');
    s.handle({ type: 'chat.typing', requestId: REQ, by: 'customer', active: true });
    assert.equal(s.otherTyping, false, 'its own echo is not the other side');
  });

  it('refusals: ended marks the message refused and stops sending; frames of another conversation or not in the protocol are ignored', () => {
    const { s } = session();
    const cid = s.send('late');
    s.handle({ type: 'chat.message', message: { ...agentMsg(1), requestId: 'req_ffffffffffffffff' } });
    s.handle({ type: 'chat.message', message: { ...agentMsg(1), text: '' } });
    s.handle({ type: 'chat.bogus', requestId: REQ });
    assert.equal(s.entries.length, 1);
    s.handle({ type: 'chat.refused', requestId: REQ, clientMsgId: cid, code: 'ended' });
    assert.deepEqual([s.entries[0]!.delivery, s.entries[0]!.refusal], ['refused', 'ended']);
    assert.throws(() => s.send('again'), ChatError);
  });

  it('links are shown as parts to display, never followed; menu options offer voice unless they say chat', () => {
    assert.deepEqual(linkParts('see https://example.com/a?b=1. <script>x</script>'), [
      { kind: 'text', text: 'see ' },
      { kind: 'link', text: 'https://example.com/a?b=1' },
      { kind: 'text', text: '. <script>x</script>' },
    ]);
    assert.deepEqual(linkParts('javascript:alert(1)'), [{ kind: 'text', text: 'javascript:alert(1)' }]);
    assert.deepEqual(offeredChannels({}), ['voice']);
    assert.deepEqual(offeredChannels({ channels: ['chat', 'voice'] }), ['chat', 'voice']);
  });
});

/** A WebSocket the test drives by hand (the authority's side). */
class HandSocket implements WebSocketLike {
  readyState = 0;
  sent: Array<{ type: string } & Record<string, unknown>> = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
}

describe('customer SDK chat on the request feed', () => {
  async function followed() {
    const sockets: HandSocket[] = [];
    const r = request({ requestId: REQ, state: 'waiting' });
    const follower = new RequestFollower({
      client: new AuthorityClient({ baseUrl: 'http://authority.test' }),
      store: new MemoryStore(),
      hello: async () => ({
        type: 'hello',
        auth: { kind: 'device', token: 'device-token-0000000001', proof: 'p' },
      }),
      reauthenticate: async () => undefined,
      createSocket: () => {
        const s = new HandSocket();
        sockets.push(s);
        return s;
      },
      backoff: { initialMs: 1, maxMs: 2 },
    });
    follower.follow(r);
    const s = sockets[0]!;
    s.readyState = 1;
    s.onopen?.({});
    await until('the hello', () => s.sent.length === 1);
    s.receive({ type: 'welcome', connectionId: 'connection-000001', principal: 'device' });
    return { follower, s, sockets };
  }

  it('a voice request sends nothing about chat; the agent writing first opens the chat, resumed from 0', async () => {
    const { follower, s } = await followed();
    const started: string[] = [];
    follower.on('chatStarted', (c) => started.push(c.requestId));
    assert.deepEqual(
      s.sent.map((f) => f.type),
      ['hello'],
      'an authority without chat never sees a chat frame',
    );
    s.receive({ type: 'chat.message', message: agentMsg(1, 'Hello, this is Dana') });
    assert.deepEqual(started, [REQ]);
    assert.deepEqual(s.sent.at(-1), { type: 'chat.resume', requestId: REQ, after: 0 });
    assert.deepEqual(
      follower.chat().entries.map((e) => e.text),
      ['Hello, this is Dana'],
    );
    follower.chat().send('hi Dana');
    assert.equal(s.sent.at(-1)!.type, 'chat.send');
    follower.unfollow();
  });

  it('after the feed drops, the reconnect resumes after the last seq and resends what was not acknowledged', async () => {
    const { follower, s, sockets } = await followed();
    const chat = follower.chat();
    s.receive({ type: 'chat.message', message: agentMsg(1) });
    s.close(1006);
    const id = chat.send('sent while offline');
    assert.equal(chat.online, false);
    assert.equal(chat.entries.at(-1)!.delivery, 'sending');
    await until('a new socket', () => sockets.length === 2);
    const s2 = sockets[1]!;
    s2.readyState = 1;
    s2.onopen?.({});
    await until('the hello', () => s2.sent.length === 1);
    s2.receive({ type: 'welcome', connectionId: 'connection-000002', principal: 'device' });
    assert.deepEqual(s2.sent.slice(1), [
      { type: 'chat.resume', requestId: REQ, after: 1 },
      { type: 'chat.send', requestId: REQ, clientMsgId: id, text: 'sent while offline' },
    ]);
    assert.equal(chat.online, true);
    follower.unfollow();
  });
});
