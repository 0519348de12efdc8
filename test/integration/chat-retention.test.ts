/**
 * Chat transcripts: retention from configuration and audited deletion (issue 18). With
 * chatRetentionDays set, a sweep deletes the transcripts of chat requests that ended more
 * than that many days ago (live and recent ones stay), each audited as system:retention,
 * and running it again changes nothing. An admin deletes a finished request's transcript
 * with a reason (audited); others are refused (403), a live request too (409), a second
 * delete answers 409. Every view then says `deleted` instead of showing messages (the
 * customer's: only when), and the audit chain still verifies. Time is the test clock.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startNodes, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const M = (s: string) => s.padEnd(16, '_');
const DAY = 86_400_000;
const RETENTION_DAYS = 30;
const UNKNOWN = 'r_nobody_has_this_request_1';

interface Staff {
  token: string;
  staffId: string;
  ws: FrameLog;
  socket: TestSocket;
}
interface Chat {
  ws: FrameLog;
  socket: TestSocket;
  requestId: string;
}

describe('chat transcripts: retention from configuration, audited deletion', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: { token: string; staffId: string };
  let A: Staff;
  let supervisor: Staff;
  let alice: TestDevice;
  const sockets: TestSocket[] = [];
  const staffApi = <K extends RouteId>(who: { token: string }, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(who.token), name, opts);

  async function login(username: string, password: string): Promise<Staff> {
    const s = await staffLogin(a.url, username, password);
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await socket.next()).type, 'welcome');
    return { token: s.token, staffId: s.staffId, ws: new FrameLog(socket), socket };
  }

  /** Everyone signs in again (after the clock jumped past their tokens and sessions). */
  async function signIn(): Promise<void> {
    for (const s of sockets.splice(0)) s.close();
    admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    A = await login('agent1', 'demo-agent-1');
    supervisor = await login('supervisor', 'demo-supervisor');
    await staffApi(supervisor, 'setPresence', { json: { state: 'offline' } });
    await staffApi(A, 'setPresence', { json: { state: 'available' } });
    if (!alice) {
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin.token),
      });
      alice = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
      const setPin = await alice.api('setPin', { json: { pin: '112358' } });
      assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    } else {
      const again = await alice.authenticate();
      assert.ok(again.status < 300, JSON.stringify(again.body));
    }
    assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
  }

  /** Alice asks by chat, A takes it, they exchange `n` messages; it ends unless `live`. */
  async function chat(n: number, live = false): Promise<Chat> {
    const q = await alice.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send(await alice.wsHello(q.body.request.sessionId));
    assert.equal((await socket.next()).type, 'welcome');
    const c: Chat = { ws: new FrameLog(socket), socket, requestId: q.body.request.requestId as string };
    const offer = await A.ws.take((f) => f.type === 'offer' && f.offer.requestId === c.requestId);
    const fence = offer.offer.fence as number;
    const took = await staffApi(A, 'acceptOffer', { params: { requestId: c.requestId }, json: { fence } });
    assert.equal(took.status, 200, JSON.stringify(took.body));
    for (let i = 1; i <= n; i++) {
      const id = M(`${c.requestId.slice(-6)}_${i}`);
      if (i % 2 === 1) {
        c.socket.send({ type: 'chat.send', requestId: c.requestId, clientMsgId: id, text: `customer ${i}` });
        await c.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === id);
      } else {
        A.socket.send({
          type: 'chat.send',
          requestId: c.requestId,
          clientMsgId: id,
          fence,
          text: `agent ${i}`,
        });
        await A.ws.take((f) => f.type === 'chat.ack' && f.clientMsgId === id);
      }
    }
    if (!live) {
      const done = await staffApi(A, 'completeRequest', {
        params: { requestId: c.requestId },
        json: { fence },
      });
      assert.ok(done.status < 300, JSON.stringify(done.body));
      await staffApi(A, 'setPresence', { json: { state: 'available' } });
    }
    return c;
  }

  const messagesOf = async (requestId: string) =>
    Number(
      (
        await a.sql<{ n: number }>`SELECT count(*) AS n FROM chat_messages WHERE request_id = ${requestId}`
      )[0]!.n,
    );
  const deletionAudit = (requestId: string) =>
    a.sql<{ actor: string; outcome: string; data: string }>`
      SELECT actor, outcome, data FROM audit_log WHERE action = ${'chat.transcript.delete'} AND subject = ${`request:${requestId}`}`;

  let old: Chat;
  let recent: Chat;
  let live: Chat;

  before(async () => {
    const nodes = await startNodes(
      1,
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
        offerTimeoutSeconds: 60,
        chatRetentionDays: RETENTION_DAYS,
      },
      { clock },
    );
    a = nodes[0]!;
    await signIn();
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin.token) });
    offerChatOn(cfg.body.menu);
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin.token), json: cfg.body });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    old = await chat(3);
    // The old chat ended more than the retention period ago; the others are of today.
    clock.advance((RETENTION_DAYS + 1) * DAY);
    await signIn();
    recent = await chat(2);
    live = await chat(2, true);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('the sweep deletes only the transcripts of requests that ended more than chatRetentionDays ago; again, nothing', async () => {
    assert.equal(await messagesOf(old.requestId), 3);
    const deleted = await a.services.transcripts.sweepRetention();
    assert.equal(deleted, 1);
    assert.equal(await messagesOf(old.requestId), 0);
    assert.equal(await messagesOf(recent.requestId), 2, 'ended, but recently: kept');
    assert.equal(await messagesOf(live.requestId), 2, 'live: kept');
    const [marker] = await a.sql<Record<string, unknown>>`
      SELECT by_actor, reason, message_count, deleted_at FROM chat_transcript_deletions WHERE request_id = ${old.requestId}`;
    assert.equal(marker?.by_actor, 'system:retention');
    assert.equal(Number(marker?.message_count), 3);
    assert.equal(Number(marker?.deleted_at), clock.now());
    const audit = await deletionAudit(old.requestId);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, 'system:retention');
    assert.equal(audit[0]!.outcome, 'success');
    assert.equal(JSON.parse(audit[0]!.data).messageCount, 3);
    // Idempotent: any node may run it again.
    assert.equal(await a.services.transcripts.sweepRetention(), 0);
    assert.equal((await deletionAudit(old.requestId)).length, 1);
    assert.equal((await a.sql`SELECT request_id FROM chat_transcript_deletions`).length, 1);
  });

  it('the views say the retention deleted it: staff (by, reason, no messages), the device (only when)', async () => {
    const staff = await staffApi(supervisor, 'requestTranscript', { params: { requestId: old.requestId } });
    assert.equal(staff.status, 200, JSON.stringify(staff.body));
    assert.deepEqual(staff.body.messages, []);
    assert.equal(staff.body.nextAfter, null);
    assert.equal(staff.body.deleted.by, 'retention');
    assert.equal(staff.body.deleted.at, new Date(clock.now()).toISOString());
    assert.match(staff.body.deleted.reason, /retention/);
    assert.equal(staff.body.deleted.staffId, undefined);
    const mine = await staffApi(A, 'requestTranscript', { params: { requestId: old.requestId } });
    assert.equal(mine.status, 200, 'the agent who held it reads the marker too');
    assert.equal(mine.body.deleted.by, 'retention');

    const device = await alice.api('deviceConversation', { params: { requestId: old.requestId } });
    assert.equal(device.status, 200, JSON.stringify(device.body));
    assert.deepEqual(device.body.messages, []);
    assert.deepEqual(device.body.deleted, { at: new Date(clock.now()).toISOString() });
    const list = await alice.api('deviceConversations');
    const byId = new Map<string, any>(list.body.conversations.map((x: any) => [x.requestId, x]));
    assert.deepEqual(byId.get(old.requestId).deleted, { at: new Date(clock.now()).toISOString() });
    assert.equal(byId.get(old.requestId).messageCount, 0);
    assert.equal(byId.get(recent.requestId).deleted, undefined);
    assert.equal(byId.get(recent.requestId).messageCount, 2);
    const recentView = await alice.api('deviceConversation', { params: { requestId: recent.requestId } });
    assert.equal(recentView.body.messages.length, 2);
    assert.equal(recentView.body.deleted, undefined);
  });

  it('an admin deletes a finished transcript with a reason (audited); others 403, live 409, unknown 404, twice 409, bad reason 400', async () => {
    const body = { reason: 'customer asked for erasure (ticket 4711)' };
    for (const who of [A, supervisor]) {
      const r = await staffApi(who, 'deleteTranscript', {
        params: { requestId: recent.requestId },
        json: body,
      });
      assert.equal(r.status, 403, JSON.stringify(r.body));
    }
    const liveDel = await staffApi(admin, 'deleteTranscript', {
      params: { requestId: live.requestId },
      json: body,
    });
    assert.equal(liveDel.status, 409, JSON.stringify(liveDel.body));
    assert.equal(liveDel.body.code, 'conflict');
    assert.equal(await messagesOf(live.requestId), 2);
    assert.equal(
      (await staffApi(admin, 'deleteTranscript', { params: { requestId: UNKNOWN }, json: body })).status,
      404,
    );
    for (const bad of [
      {},
      { reason: '' },
      { reason: '   ' },
      { reason: 'x'.repeat(501) },
      { reason: 'ok', x: 1 },
    ]) {
      const r = await staffApi(admin, 'deleteTranscript', {
        params: { requestId: recent.requestId },
        json: bad as typeof body,
      });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
    }
    assert.equal(await messagesOf(recent.requestId), 2, 'nothing refused deleted anything');
    assert.deepEqual(await deletionAudit(recent.requestId), []);

    const del = await staffApi(admin, 'deleteTranscript', {
      params: { requestId: recent.requestId },
      json: body,
    });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal(del.body.messageCount, 2);
    assert.deepEqual(del.body.deleted, {
      at: new Date(clock.now()).toISOString(),
      by: 'administrator',
      staffId: admin.staffId,
      reason: body.reason,
    });
    assert.equal(await messagesOf(recent.requestId), 0);
    const audit = await deletionAudit(recent.requestId);
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.actor, `staff:${admin.staffId}`);
    assert.deepEqual(JSON.parse(audit[0]!.data), { reason: body.reason, messageCount: 2 });

    const again = await staffApi(admin, 'deleteTranscript', {
      params: { requestId: recent.requestId },
      json: body,
    });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    assert.match(again.body.message, /already deleted/);
    assert.equal((await deletionAudit(recent.requestId)).length, 1);
    // The retention's transcript too: already deleted.
    assert.equal(
      (await staffApi(admin, 'deleteTranscript', { params: { requestId: old.requestId }, json: body }))
        .status,
      409,
    );

    // The views: staff learn who and why; the customer's device only when.
    const staff = await staffApi(supervisor, 'requestTranscript', {
      params: { requestId: recent.requestId },
    });
    assert.deepEqual(staff.body.messages, []);
    assert.deepEqual(staff.body.deleted, del.body.deleted);
    const device = await alice.api('deviceConversation', { params: { requestId: recent.requestId } });
    assert.deepEqual(device.body.messages, []);
    assert.deepEqual(device.body.deleted, { at: new Date(clock.now()).toISOString() });
    const item = (await alice.api('deviceConversations')).body.conversations.find(
      (x: any) => x.requestId === recent.requestId,
    );
    assert.deepEqual(item.deleted, { at: new Date(clock.now()).toISOString() });
    assert.ok(!JSON.stringify(device.body).includes(admin.staffId), 'no staff id for the customer');
    assert.ok(!JSON.stringify(device.body).includes('ticket 4711'), 'no reason for the customer');
  });

  it('the audit chain still verifies', async () => {
    const v = await staffApi(admin, 'auditVerify');
    assert.equal(v.status, 200, JSON.stringify(v.body));
    assert.equal(v.body.ok, true, JSON.stringify(v.body));
  });
});
