/**
 * Verified chat (issue 18), the authority side: a verified customer asks for help by chat,
 * an agent accepts, messages go both ways (acks, receipts, typing), a resend is stored once,
 * a resume replays exactly what is missing, a blind transfer carries the transcript and the
 * old agent's sends are refused; fuzzed frames are refused cleanly (VD_CHAT_FUZZ, default 1000; full 10000).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { RATE_MAX, RATE_WINDOW_MS } from '../../authority/src/chat/chat-service.ts';
import { FakeClock, startNodes, type TestAuthority } from '../support/authority.ts';
import { FAKE_PNG, TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

/** A client message id (opaque ids are 16+ characters). */
const M = (s: string) => s.padEnd(16, '_');
const FUZZ = Math.max(50, Number(process.env.VD_CHAT_FUZZ ?? 1000));

interface Staff {
  url: string;
  token: string;
  staffId: string;
  ws: FrameLog;
  socket: TestSocket;
}

describe('verified chat: the authority side', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: Staff;
  let B: Staff;
  const sockets: TestSocket[] = [];
  const staffApi = <K extends RouteId>(who: Staff, name: K, opts?: ApiOptions<K>) =>
    apiWith(who.url, bearer(who.token), name, opts);
  const presence = (who: Staff, state: 'available' | 'offline') =>
    staffApi(who, 'setPresence', { json: { state } });

  async function login(username: string, password: string): Promise<Staff> {
    const s = await staffLogin(a.url, username, password);
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await socket.next()).type, 'welcome');
    return { url: a.url, token: s.token, staffId: s.staffId, ws: new FrameLog(socket), socket };
  }

  async function chatCustomer(channel: 'chat' | 'voice' = 'chat') {
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const setPin = await d.api('setPin', { json: { pin: '112358' } });
    assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'other', channel } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    assert.equal(q.body.request.channel, channel);
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send(await d.wsHello(q.body.request.sessionId));
    assert.equal((await socket.next()).type, 'welcome');
    return {
      d,
      ws: new FrameLog(socket),
      socket,
      requestId: q.body.request.requestId as string,
      sessionId: q.body.request.sessionId as string,
    };
  }

  async function accept(who: Staff, requestId: string): Promise<number> {
    const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId);
    assert.equal(offer.offer.request.channel, 'chat');
    const r = await staffApi(who, 'acceptOffer', {
      params: { requestId },
      json: { fence: offer.offer.fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence;
  }

  before(async () => {
    const nodes = await startNodes(
      1,
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 60 },
      { clock },
    );
    a = nodes[0]!;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    offerChatOn(cfg.body.menu);
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    A = await login('agent1', 'demo-agent-1');
    B = await login('agent2', 'demo-agent-2');
    await presence(B, 'offline');
    await presence(A, 'available');
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('a chat request queues and is offered with its channel; messages both ways with acks, receipts and typing; a resend is stored once; resume replays what is missing', async () => {
    const c = await chatCustomer();
    const fence = await accept(A, c.requestId);
    c.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('cm_hello_1'),
      text: 'Hello <b>there</b>',
    });
    const ack = await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('cm_hello_1'));
    assert.equal(ack.seq, 1);
    const got = await A.ws.take((f) => f.type === 'chat.message' && f.message.requestId === c.requestId);
    assert.equal(got.message.text, 'Hello <b>there</b>', 'text kept as plain text, unchanged');
    assert.equal(got.message.sender, 'customer');
    A.socket.send({ type: 'chat.typing', requestId: c.requestId, active: true });
    assert.equal((await c.ws.take((f) => f.type === 'chat.typing')).by, 'agent');
    A.socket.send({ type: 'chat.read', requestId: c.requestId, upTo: 1 });
    const rc = await c.ws.take((f) => f.type === 'chat.receipt' && f.kind === 'read');
    assert.deepEqual([rc.by, rc.upTo], ['agent', 1]);
    A.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('am_1'),
      fence,
      text: 'Hi Alice',
    });
    assert.equal((await A.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('am_1'))).seq, 2);
    const m2 = await c.ws.take((f) => f.type === 'chat.message' && f.message.seq === 2);
    assert.deepEqual([m2.message.sender, m2.message.staffId], ['agent', A.staffId]);
    // A resend with the same id: the same seq, nothing stored twice.
    c.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('cm_hello_1'),
      text: 'Hello <b>there</b>',
    });
    const again = await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('cm_hello_1'));
    assert.equal(again.seq, 1);
    c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: M('cm_3'), text: 'third' });
    assert.equal((await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('cm_3'))).seq, 3);
    // A new socket resumes after 1: exactly 2 and 3.
    const s2 = await TestSocket.open(a.url);
    sockets.push(s2);
    const log2 = new FrameLog(s2);
    s2.send(await c.d.wsHello(c.sessionId));
    await log2.take((f) => f.type === 'welcome');
    s2.send({ type: 'chat.resume', requestId: c.requestId, after: 1 });
    const m = [
      await log2.take((f) => f.type === 'chat.message'),
      await log2.take((f) => f.type === 'chat.message'),
    ];
    assert.deepEqual(
      m.map((f) => f.message.seq),
      [2, 3],
    );
    assert.ok(!log2.has((f) => f.type === 'chat.message' && f.message.seq === 1));
    // The agent is told everything up to 3 reached the customer again, though 3 is the
    // customer's own (their console answers with its read position: the ticks survive a reload).
    const back = await A.ws.take(
      (f) => f.type === 'chat.receipt' && f.kind === 'delivered' && f.by === 'customer' && f.upTo === 3,
    );
    assert.equal(back.requestId, c.requestId);
    // Someone else's request: nothing about it.
    B.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('bm_1'),
      fence,
      text: 'not mine',
    });
    assert.equal((await B.ws.take((f) => f.type === 'chat.refused')).code, 'not_holder');
    // The request ends: sends are refused with `ended`.
    const done = await staffApi(A, 'completeRequest', {
      params: { requestId: c.requestId },
      json: { fence },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
    // The session ended with the request (its sockets closed): a socket of the device alone.
    const s3 = await TestSocket.open(a.url);
    sockets.push(s3);
    const log3 = new FrameLog(s3);
    s3.send(await c.d.wsHello());
    await log3.take((f) => f.type === 'welcome');
    s3.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: M('cm_late'), text: 'late' });
    assert.equal(
      (await log3.take((f) => f.type === 'chat.refused' && f.clientMsgId === M('cm_late'))).code,
      'ended',
    );
  });

  it('a blind transfer carries the transcript: the new agent resumes from 0, the old agent is refused', async () => {
    await presence(A, 'available');
    const c = await chatCustomer();
    const fenceA = await accept(A, c.requestId);
    A.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('a_1'),
      fence: fenceA,
      text: 'from A',
    });
    await A.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('a_1'));
    c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: M('c_1'), text: 'from Alice' });
    await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('c_1'));
    await presence(B, 'available');
    const t = await staffApi(A, 'transfer', {
      params: { requestId: c.requestId },
      json: { fence: fenceA, mode: 'blind', target: { kind: 'agent', staffId: B.staffId } },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const fenceB = await accept(B, c.requestId);
    B.socket.send({ type: 'chat.resume', requestId: c.requestId, after: 0 });
    const seen = [
      await B.ws.take((f) => f.type === 'chat.message' && f.message.seq === 1),
      await B.ws.take((f) => f.type === 'chat.message' && f.message.seq === 2),
    ];
    assert.deepEqual(
      seen.map((f) => f.message.text),
      ['from A', 'from Alice'],
    );
    A.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('a_2'),
      fence: fenceA,
      text: 'still me?',
    });
    assert.equal(
      (await A.ws.take((f) => f.type === 'chat.refused' && f.clientMsgId === M('a_2'))).code,
      'not_holder',
    );
    B.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('b_1'),
      fence: fenceA,
      text: 'old fence',
    });
    assert.equal(
      (await B.ws.take((f) => f.type === 'chat.refused' && f.clientMsgId === M('b_1'))).code,
      'stale_fence',
    );
    B.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('b_2'),
      fence: fenceB,
      text: 'B here',
    });
    assert.equal((await B.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('b_2'))).seq, 3);
    assert.equal(
      (await c.ws.take((f) => f.type === 'chat.message' && f.message.seq === 3)).message.staffId,
      B.staffId,
    );
    await presence(B, 'offline');
  });

  it(`rate limit per sender: past ${RATE_MAX} sends in the window the next is refused with a retry-after (frames and uploads); the other party still sends; after the window a send is accepted`, async () => {
    await presence(A, 'available');
    const c = await chatCustomer();
    const fence = await accept(A, c.requestId);
    const send = (id: string) =>
      c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: M(id), text: id });
    const answer = (id: string) =>
      c.ws.take((f) => (f.type === 'chat.ack' || f.type === 'chat.refused') && f.clientMsgId === M(id));
    for (let i = 1; i <= RATE_MAX; i++) {
      send(`rl_${i}`);
      const r = await answer(`rl_${i}`);
      assert.equal(r.type, 'chat.ack', JSON.stringify(r));
      assert.equal(r.seq, i);
    }
    clock.advance(RATE_WINDOW_MS / 2);
    send(`rl_${RATE_MAX + 1}`);
    const refused = await answer(`rl_${RATE_MAX + 1}`);
    assert.equal(refused.type, 'chat.refused', JSON.stringify(refused));
    assert.equal(refused.code, 'rate_limited');
    assert.ok(
      refused.retryAfterSeconds >= 1 && refused.retryAfterSeconds <= RATE_WINDOW_MS / 1000,
      JSON.stringify(refused),
    );
    // An upload by the same sender meets the same limit: 429 with Retry-After.
    const up = await c.d.api('deviceAttach', {
      params: { requestId: c.requestId },
      query: { clientMsgId: M('rl_upload'), name: 'screen.png' },
      raw: FAKE_PNG,
      contentType: 'image/png',
    });
    assert.equal(up.status, 429, JSON.stringify(up.body));
    assert.equal(up.body.code, 'rate_limited');
    assert.ok(Number(up.headers.get('retry-after')) >= 1, String(up.headers.get('retry-after')));
    // A resend of a stored message is not a new message: answered, not limited.
    send('rl_1');
    assert.equal((await answer('rl_1')).seq, 1);
    // The limit is per sender: the agent still sends.
    A.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('rl_agent'),
      fence,
      text: 'ok',
    });
    assert.equal(
      (await A.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M('rl_agent'))).seq,
      RATE_MAX + 1,
    );
    // Nothing refused was stored.
    const [n] = await a.sql<{
      n: number;
    }>`SELECT count(*) AS n FROM chat_messages WHERE request_id = ${c.requestId}`;
    assert.equal(Number(n!.n), RATE_MAX + 1);
    // After the window: accepted again, the message and the upload.
    clock.advance(RATE_WINDOW_MS / 2 + 1);
    send(`rl_${RATE_MAX + 1}`);
    const later = await answer(`rl_${RATE_MAX + 1}`);
    assert.equal(later.type, 'chat.ack', JSON.stringify(later));
    assert.equal(later.seq, RATE_MAX + 2);
    const up2 = await c.d.api('deviceAttach', {
      params: { requestId: c.requestId },
      query: { clientMsgId: M('rl_upload'), name: 'screen.png' },
      raw: FAKE_PNG,
      contentType: 'image/png',
    });
    assert.equal(up2.status, 201, JSON.stringify(up2.body));
    assert.equal(up2.body.seq, RATE_MAX + 3);
    const done = await staffApi(A, 'completeRequest', {
      params: { requestId: c.requestId },
      json: { fence },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
  });

  it(`${FUZZ} fuzzed chat frames are refused cleanly: the socket says why, the authority stays up`, async () => {
    const frames = fc.sample(
      fc.oneof(
        fc.record({
          type: fc.constant('chat.send'),
          requestId: fc.string(),
          clientMsgId: fc.string(),
          text: fc.string({ maxLength: 20 }),
          extra: fc.anything(),
        }),
        fc.record({
          type: fc.constantFrom('chat.read', 'chat.typing', 'chat.resume'),
          requestId: fc.anything(),
          upTo: fc.anything(),
          after: fc.anything(),
        }),
        fc.anything(),
      ),
      FUZZ,
    );
    let refused = 0;
    for (const frame of frames) {
      const s = await TestSocket.open(a.url);
      const log = new FrameLog(s);
      s.send({ type: 'hello', auth: { kind: 'staff', accessToken: A.token } });
      await log.take((f) => f.type === 'welcome');
      s.send(frame as any);
      const e = await log.take((f) => f.type === 'error' || f.type === 'chat.refused');
      assert.ok(e, JSON.stringify(frame));
      refused++;
      s.close();
    }
    assert.equal(refused, FUZZ);
    assert.equal((await api(a.url, 'health')).status, 200);
    console.log(`chat fuzz: ${FUZZ} frames, ${refused} refused cleanly, 0 crashes`);
  });
});
