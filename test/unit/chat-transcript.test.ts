/**
 * Verified chat (issue 18), client side: the chat frames' schemas and the transcript a
 * client keeps. Whatever order and however often the authority's messages arrive (a
 * resume after a reconnect replays from the last seq seen), every message is shown once,
 * in seq order, and the resume cursor is the end of the gap-free prefix.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ChatClientFrame, ChatServerFrame, Transcript, type ChatMessage } from '../../protocol/src/chat.ts';

const REQ = 'req_0123456789abcdef';
const msg = (seq: number): ChatMessage => ({
  requestId: REQ,
  seq,
  clientMsgId: `msg_${String(seq).padStart(16, '0')}`,
  sender: seq % 2 ? 'customer' : 'agent',
  text: `message ${seq}`,
  at: '2026-12-04T16:00:00.000Z',
});

describe('chat transcript', () => {
  it('shows every message once, in seq order, whatever the arrival order and repeats', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }).chain((n) =>
          fc.tuple(
            fc.constant(n),
            fc.shuffledSubarray(
              Array.from({ length: n }, (_, i) => i + 1),
              { minLength: n, maxLength: n },
            ),
            fc.array(fc.integer({ min: 1, max: Math.max(1, n) }), { maxLength: 30 }),
          ),
        ),
        ([n, order, repeats]) => {
          const t = new Transcript(REQ);
          for (const seq of [...order, ...repeats.filter((s) => s <= n)]) t.apply(msg(seq));
          assert.deepEqual(
            t.messages.map((m) => m.seq),
            Array.from({ length: n }, (_, i) => i + 1),
          );
          assert.equal(t.resumeAfter, n);
        },
      ),
    );
  });

  it('resumes after the gap-free prefix: a replay from there fills the gap without duplicates', () => {
    fc.assert(
      fc.property(
        fc
          .integer({ min: 1, max: 50 })
          .chain((n) => fc.tuple(fc.constant(n), fc.subarray(Array.from({ length: n }, (_, i) => i + 1)))),
        ([n, received]) => {
          const t = new Transcript(REQ);
          for (const seq of received) t.apply(msg(seq));
          let prefix = 0;
          while (received.includes(prefix + 1)) prefix++;
          assert.equal(t.resumeAfter, prefix);
          // the authority replays everything after the cursor (some of it already held)
          const results = [];
          for (let seq = t.resumeAfter + 1; seq <= n; seq++) results.push(t.apply(msg(seq)));
          assert.deepEqual(
            t.messages.map((m) => m.seq),
            Array.from({ length: n }, (_, i) => i + 1),
          );
          assert.ok(results.every((r) => r !== 'held'));
        },
      ),
    );
  });

  it('counts unread messages of the other side', () => {
    const t = new Transcript(REQ);
    for (let s = 1; s <= 6; s++) t.apply(msg(s));
    assert.equal(t.unreadAfter(2, 'agent'), 2); // customer's 3 and 5
    assert.equal(t.unreadAfter(0, 'customer'), 3); // agent's 2, 4, 6
  });

  it('refuses a message of another conversation', () => {
    assert.throws(() => new Transcript(REQ).apply({ ...msg(1), requestId: 'req_fedcba9876543210' }));
  });
});

describe('chat frames', () => {
  it('accepts HTML as plain text (it is shown as text) and refuses empty, oversize and unknown fields', () => {
    const send = {
      type: 'chat.send',
      requestId: REQ,
      clientMsgId: 'msg_0000000000000001',
      text: '<script>alert(1)</script>',
    };
    assert.equal(ChatClientFrame.parse(send).type, 'chat.send');
    assert.equal(ChatClientFrame.safeParse({ ...send, text: '   ' }).success, false);
    assert.equal(ChatClientFrame.safeParse({ ...send, text: 'x'.repeat(4001) }).success, false);
    assert.equal(ChatClientFrame.safeParse({ ...send, html: '<b>' }).success, false);
    assert.equal(ChatClientFrame.safeParse({ type: 'chat.read', requestId: REQ, upTo: 0 }).success, false);
    assert.equal(
      ChatClientFrame.safeParse({ type: 'chat.resume', requestId: REQ, after: -1 }).success,
      false,
    );
  });

  it('never throws on fuzzed frames: every one parses or is refused cleanly', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const a = ChatClientFrame.safeParse(v);
        const b = ChatServerFrame.safeParse(v);
        assert.equal(typeof a.success, 'boolean');
        assert.equal(typeof b.success, 'boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('server frames: a refusal names its reason; a message carries a seq from 1', () => {
    const refused = {
      type: 'chat.refused',
      requestId: REQ,
      clientMsgId: 'msg_0000000000000001',
      code: 'stale_fence',
    };
    assert.equal(ChatServerFrame.parse(refused).type, 'chat.refused');
    assert.equal(ChatServerFrame.safeParse({ ...refused, code: 'nope' }).success, false);
    assert.equal(ChatServerFrame.parse({ type: 'chat.message', message: msg(1) }).type, 'chat.message');
    assert.equal(ChatServerFrame.safeParse({ type: 'chat.message', message: msg(0) }).success, false);
  });
});
