/**
 * Chat transcripts as part of the request's record (issue 18, "After"): staff read a chat
 * request's transcript by seq (an agent only a request they hold, held or were offered;
 * supervisors any, each read audited), and the customer's device lists its own past
 * conversations and reads one of them; another customer's device learns nothing (404).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgeError, DeskCore } from '../../main/core/desk-core.ts';
import { FakeClock, startNodes, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

/** A client message id (opaque ids are 16+ characters). */
const M = (s: string) => s.padEnd(16, '_');
const UNKNOWN = 'r_nobody_has_this_request_1';

interface Staff {
  token: string;
  staffId: string;
  ws: FrameLog;
  socket: TestSocket;
}

describe('chat transcripts: the request record for staff, past conversations for the customer', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: Staff;
  let B: Staff;
  let supervisor: Staff;
  let alice: TestDevice;
  let bob: TestDevice;
  const sockets: TestSocket[] = [];
  const staffApi = <K extends RouteId>(who: Staff, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(who.token), name, opts);
  const presence = (who: Staff, state: 'available' | 'offline') =>
    staffApi(who, 'setPresence', { json: { state } });

  async function login(username: string, password: string): Promise<Staff> {
    const s = await staffLogin(a.url, username, password);
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await socket.next()).type, 'welcome');
    return { token: s.token, staffId: s.staffId, ws: new FrameLog(socket), socket };
  }

  async function device(customerId: string): Promise<TestDevice> {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const setPin = await d.api('setPin', { json: { pin: '112358' } });
    assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    return d;
  }

  /** The device asks for help by chat and opens its socket. */
  async function chatRequest(d: TestDevice) {
    const q = await d.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send(await d.wsHello(q.body.request.sessionId));
    assert.equal((await socket.next()).type, 'welcome');
    return { ws: new FrameLog(socket), socket, requestId: q.body.request.requestId as string };
  }

  async function accept(who: Staff, requestId: string): Promise<number> {
    const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId);
    const r = await staffApi(who, 'acceptOffer', {
      params: { requestId },
      json: { fence: offer.offer.fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence;
  }

  async function customerSays(
    c: { ws: FrameLog; socket: TestSocket; requestId: string },
    id: string,
    text: string,
  ) {
    c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: M(id), text });
    return (await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M(id))).seq as number;
  }

  async function agentSays(who: Staff, requestId: string, fence: number, id: string, text: string) {
    who.socket.send({ type: 'chat.send', requestId, clientMsgId: M(id), fence, text });
    return (await who.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === M(id))).seq as number;
  }

  /** Alice's finished chat with A: 7 messages, the first with HTML kept as text. */
  let first: string;
  let firstFence: number;

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
    supervisor = await login('supervisor', 'demo-supervisor');
    await presence(B, 'offline');
    await presence(supervisor, 'offline');
    await presence(A, 'available');
    alice = await device('c_alice_martin_01');
    bob = await device('c_bob_okafor_002');

    const c = await chatRequest(alice);
    first = c.requestId;
    firstFence = await accept(A, first);
    assert.equal(await customerSays(c, 'c1', 'Hello <script>alert(1)</script>'), 1);
    for (let i = 2; i <= 7; i++)
      assert.equal(
        i % 2 === 0
          ? await agentSays(A, first, firstFence, `a${i}`, `agent line ${i}`)
          : await customerSays(c, `c${i}`, `customer line ${i}`),
        i,
      );
    const done = await staffApi(A, 'completeRequest', {
      params: { requestId: first },
      json: { fence: firstFence },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it("the owner's device lists its past conversation and reads it by pages; text stays text", async () => {
    const list = await alice.api('deviceConversations');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const item = list.body.conversations.find((x: any) => x.requestId === first);
    assert.ok(item, JSON.stringify(list.body));
    assert.equal(item.messageCount, 7);
    assert.equal(typeof item.lastMessageAt, 'string');
    assert.equal(typeof item.endedAt, 'string', 'the conversation has ended');

    const p1 = await alice.api('deviceConversation', { params: { requestId: first }, query: { limit: 3 } });
    assert.equal(p1.status, 200, JSON.stringify(p1.body));
    assert.deepEqual(
      p1.body.messages.map((m: any) => m.seq),
      [1, 2, 3],
    );
    assert.equal(p1.body.messages[0].text, 'Hello <script>alert(1)</script>');
    assert.equal(p1.body.messages[0].sender, 'customer');
    assert.equal(p1.body.messages[1].sender, 'agent');
    assert.equal(p1.body.messages[1].staffId, undefined, "the customer's copy names no staff member");
    assert.equal(p1.body.nextAfter, 3);
    const p2 = await alice.api('deviceConversation', {
      params: { requestId: first },
      query: { after: 3, limit: 3 },
    });
    assert.deepEqual(
      p2.body.messages.map((m: any) => m.seq),
      [4, 5, 6],
    );
    const p3 = await alice.api('deviceConversation', {
      params: { requestId: first },
      query: { after: p2.body.nextAfter, limit: 3 },
    });
    assert.deepEqual(
      p3.body.messages.map((m: any) => m.seq),
      [7],
    );
    assert.equal(p3.body.nextAfter, null, 'the last page');
    const all = await alice.api('deviceConversation', { params: { requestId: first } });
    assert.equal(all.body.messages.length, 7);
    assert.equal(all.body.nextAfter, null);
  });

  it("another customer's device sees none of it: 404 for the conversation, absent from its list", async () => {
    const theirs = await bob.api('deviceConversation', { params: { requestId: first } });
    assert.equal(theirs.status, 404, JSON.stringify(theirs.body));
    assert.equal(theirs.body.code, 'not_found');
    const unknown = await bob.api('deviceConversation', { params: { requestId: UNKNOWN } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, theirs.body.message, 'the same answer as for no such request');
    const list = await bob.api('deviceConversations');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.conversations, []);
    // Bob's own chat is his alone.
    const c = await chatRequest(bob);
    await customerSays(c, 'bob1', 'Bob here');
    const mine = await bob.api('deviceConversations');
    assert.deepEqual(
      mine.body.conversations.map((x: any) => [x.requestId, x.messageCount]),
      [[c.requestId, 1]],
    );
    assert.ok(
      !(await alice.api('deviceConversations')).body.conversations.some(
        (x: any) => x.requestId === c.requestId,
      ),
    );
    assert.equal((await alice.api('deviceConversation', { params: { requestId: c.requestId } })).status, 404);
    // Left unanswered: it ends so the next test starts with an empty queue.
    const left = await bob.api('cancelRequest', { params: { requestId: c.requestId } });
    assert.ok(left.status < 300, JSON.stringify(left.body));
  });

  it('agents: the holder reads it; an agent it never reached gets 403; after a transfer both holders read it', async () => {
    const mine = await staffApi(A, 'requestTranscript', { params: { requestId: first } });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.messages.length, 7);
    assert.equal(mine.body.messages[1].staffId, A.staffId);
    assert.deepEqual(mine.body.agents, [{ staffId: A.staffId, displayName: 'Dana Reyes' }]);
    const other = await staffApi(B, 'requestTranscript', { params: { requestId: first } });
    assert.equal(other.status, 403, JSON.stringify(other.body));
    assert.equal(other.body.code, 'forbidden');
    assert.equal((await staffApi(B, 'requestTranscript', { params: { requestId: UNKNOWN } })).status, 404);

    // A new chat, held by A, blind-transferred to B: B reads it once offered, and both after.
    await presence(A, 'available');
    const c = await chatRequest(alice);
    const fenceA = await accept(A, c.requestId);
    await customerSays(c, 't1', 'before the transfer');
    assert.equal(
      (await staffApi(B, 'requestTranscript', { params: { requestId: c.requestId } })).status,
      403,
    );
    await presence(B, 'available');
    const t = await staffApi(A, 'transfer', {
      params: { requestId: c.requestId },
      json: { fence: fenceA, mode: 'blind', target: { kind: 'agent', staffId: B.staffId } },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const offer = await B.ws.take((f) => f.type === 'offer' && f.offer.requestId === c.requestId);
    const offered = await staffApi(B, 'requestTranscript', { params: { requestId: c.requestId } });
    assert.equal(offered.status, 200, 'offered: the transcript before accepting');
    assert.deepEqual(
      offered.body.messages.map((m: any) => m.text),
      ['before the transfer'],
    );
    const fenceB = offer.offer.fence as number;
    const took = await staffApi(B, 'acceptOffer', {
      params: { requestId: c.requestId },
      json: { fence: fenceB },
    });
    assert.equal(took.status, 200, JSON.stringify(took.body));
    await agentSays(B, c.requestId, fenceB, 'b1', 'B here');
    for (const who of [A, B]) {
      const r = await staffApi(who, 'requestTranscript', { params: { requestId: c.requestId } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.messages.map((m: any) => [m.seq, m.sender, m.staffId ?? null]),
        [
          [1, 'customer', null],
          [2, 'agent', B.staffId],
        ],
      );
      assert.deepEqual(
        r.body.agents.map((x: any) => x.displayName),
        ['Dana Reyes', 'Sam Patel'],
      );
    }
    const done = await staffApi(B, 'completeRequest', {
      params: { requestId: c.requestId },
      json: { fence: fenceB },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
    await presence(B, 'offline');
    // No audit row for the agents' reads.
    const rows = await a.sql<{ actor: string }>`
      SELECT actor FROM audit_log WHERE action = ${'chat.transcript.read'} AND actor IN (${`staff:${A.staffId}`}, ${`staff:${B.staffId}`})`;
    assert.deepEqual(rows, []);
  });

  it('a warm consult: the colleague consulted reads the transcript (not writes); after the hand-over the old holder is refused', async () => {
    await presence(A, 'available');
    const c = await chatRequest(alice);
    const fenceA = await accept(A, c.requestId);
    await customerSays(c, 'w1', 'before the consult');
    await agentSays(A, c.requestId, fenceA, 'wa1', 'let me ask a colleague');
    const before = await staffApi(B, 'requestTranscript', { params: { requestId: c.requestId } });
    assert.equal(before.status, 403, 'not consulted yet: ' + JSON.stringify(before.body));
    await presence(B, 'available');
    const warm = await staffApi(A, 'transfer', {
      params: { requestId: c.requestId },
      json: { fence: fenceA, mode: 'warm', target: { kind: 'agent', staffId: B.staffId } },
    });
    assert.equal(warm.status, 201, JSON.stringify(warm.body));
    const during = await staffApi(B, 'requestTranscript', { params: { requestId: c.requestId } });
    assert.equal(during.status, 200, 'consulted: ' + JSON.stringify(during.body));
    assert.deepEqual(
      during.body.messages.map((m: any) => [m.seq, m.text]),
      [
        [1, 'before the consult'],
        [2, 'let me ask a colleague'],
      ],
    );
    // Reading only: the colleague consulted does not hold the chat yet.
    B.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('wb0'),
      fence: fenceA,
      text: 'not yet mine',
    });
    assert.equal(
      (await B.ws.take((f) => f.type === 'chat.refused' && f.clientMsgId === M('wb0'))).code,
      'not_holder',
    );
    await agentSays(A, c.requestId, fenceA, 'wa2', 'still mine during the consult');
    const took = await staffApi(B, 'acceptTransfer', { params: { transferId: warm.body.transferId } });
    assert.equal(took.status, 200, JSON.stringify(took.body));
    const fenceB = took.body.toFence as number;
    assert.ok(fenceB > fenceA, JSON.stringify(took.body));
    A.socket.send({
      type: 'chat.send',
      requestId: c.requestId,
      clientMsgId: M('wa3'),
      fence: fenceA,
      text: 'after the hand-over',
    });
    assert.equal(
      (await A.ws.take((f) => f.type === 'chat.refused' && f.clientMsgId === M('wa3'))).code,
      'not_holder',
    );
    assert.equal(await agentSays(B, c.requestId, fenceB, 'wb1', 'B here now'), 4);
    const done = await staffApi(B, 'completeRequest', {
      params: { requestId: c.requestId },
      json: { fence: fenceB },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
    await presence(B, 'offline');
  });

  it("a supervisor reads any request's transcript, each read audited; an unknown request is 404", async () => {
    const r = await staffApi(supervisor, 'requestTranscript', {
      params: { requestId: first },
      query: { after: 5 },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(
      r.body.messages.map((m: any) => m.seq),
      [6, 7],
    );
    const audit = await a.sql<{ actor: string; outcome: string }>`
      SELECT actor, outcome FROM audit_log WHERE action = ${'chat.transcript.read'} AND subject = ${`request:${first}`}`;
    assert.deepEqual(audit, [{ actor: `staff:${supervisor.staffId}`, outcome: 'success' }]);
    const byAdmin = await api(a.url, 'requestTranscript', {
      params: { requestId: first },
      headers: bearer(admin),
    });
    assert.equal(byAdmin.status, 200);
    const n =
      await a.sql`SELECT seq FROM audit_log WHERE action = ${'chat.transcript.read'} AND subject = ${`request:${first}`}`;
    assert.equal(n.length, 2, 'the admin read audited too');
    assert.equal(
      (await staffApi(supervisor, 'requestTranscript', { params: { requestId: UNKNOWN } })).status,
      404,
    );
  });

  it('bad input gets a 400 (after, limit, unknown query fields, malformed ids); no credentials 401', async () => {
    const bad = [
      { after: -1 },
      { after: 'x' },
      { after: '01' },
      { limit: 0 },
      { limit: 501 },
      { limit: 'ten' },
      { page: 2 },
    ];
    for (const query of bad) {
      const s = await staffApi(supervisor, 'requestTranscript', { params: { requestId: first }, query });
      assert.equal(s.status, 400, `staff ${JSON.stringify(query)}: ${JSON.stringify(s.body)}`);
      assert.equal(s.body.code, 'invalid_request');
      const d = await alice.api('deviceConversation', { params: { requestId: first }, query });
      assert.equal(d.status, 400, `device ${JSON.stringify(query)}: ${JSON.stringify(d.body)}`);
    }
    for (const query of [{ limit: 0 }, { limit: 51 }, { cursor: 'nope' }])
      assert.equal((await alice.api('deviceConversations', { query })).status, 400, JSON.stringify(query));
    assert.equal((await staffApi(A, 'requestTranscript', { params: { requestId: 'no' } })).status, 400);
    assert.equal((await alice.api('deviceConversation', { params: { requestId: 'bad id!' } })).status, 400);
    assert.equal((await api(a.url, 'requestTranscript', { params: { requestId: first } })).status, 401);
    assert.equal((await api(a.url, 'deviceConversations')).status, 401);
    // A staff token on the device routes, a device on the staff route: refused.
    assert.equal((await staffApi(supervisor, 'deviceConversations')).status, 401);
  });
});

describe("the console reads a transcript through main/core's bridge (History)", () => {
  let a: TestAuthority;
  let core: DeskCore;
  let dataDir: string;

  before(async () => {
    // Real time: the core's token refresh compares with the wall clock.
    a = await startTestAuthority({ accessTokenSeconds: 3600 });
    dataDir = mkdtempSync(join(tmpdir(), 'vd-console-transcript-'));
    core = new DeskCore({ dataDir, defaultAuthorityUrl: a.url, managed: {} });
  });
  after(async () => {
    core.close();
    await a.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("'chat.transcript': a supervisor gets the messages (audited); an agent the request never reached is refused; bad arguments never leave the bridge", async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    offerChatOn(cfg.body.menu);
    assert.equal(
      (await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body })).status,
      200,
    );
    const d = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
    await d.api('setPin', { json: { pin: '112358' } });
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId as string;
    const socket = await TestSocket.open(a.url);
    const log = new FrameLog(socket);
    socket.send(await d.wsHello(q.body.request.sessionId));
    await log.take((f) => f.type === 'welcome');
    socket.send({ type: 'chat.send', requestId, clientMsgId: M('waiting_1'), text: '<b>anyone</b> there?' });
    await log.take((f) => f.type === 'chat.ack');
    socket.close();

    await core.invoke('session.login', { username: 'agent1', password: 'demo-agent-1' });
    await assert.rejects(
      core.invoke('chat.transcript', { requestId }),
      (e: unknown) => e instanceof BridgeError && e.code === 'forbidden',
    );
    await core.invoke('session.logout', {});
    await core.invoke('session.login', { username: 'supervisor', password: 'demo-supervisor' });
    const t: any = await core.invoke('chat.transcript', { requestId });
    assert.deepEqual(
      t.messages.map((m: any) => [m.seq, m.sender, m.text]),
      [[1, 'customer', '<b>anyone</b> there?']],
    );
    assert.equal(t.nextAfter, null);
    assert.deepEqual(((await core.invoke('chat.transcript', { requestId, after: 1 })) as any).messages, []);
    const audit =
      await a.sql`SELECT seq FROM audit_log WHERE action = ${'chat.transcript.read'} AND subject = ${`request:${requestId}`}`;
    assert.equal(audit.length, 2);
    for (const bad of [{ requestId: 'x' }, { requestId, after: -1 }, { requestId, extra: 1 }])
      await assert.rejects(
        core.invoke('chat.transcript', bad),
        (e: unknown) => e instanceof BridgeError && e.code === 'invalid_argument',
      );
  });
});
