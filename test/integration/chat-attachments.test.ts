/**
 * Chat attachments (issue 18 item 2): the customer's device and the agent holding the
 * request send images and PDFs as messages of their own; the bytes are type-sniffed from
 * their magic numbers (the declared type must agree, anything else 415), limited in size
 * (config chatAttachmentMaxBytes, 413), persisted with the message before the answer, and
 * downloaded byte-identical by the two parties and the staff who may read the transcript.
 * After a transfer the old holder is refused; deleting the transcript deletes the files.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { RouteId } from '../../protocol/src/routes.ts';
import { FakeClock, startNodes, type TestAuthority } from '../support/authority.ts';
import { FAKE_PNG, TestDevice } from '../support/device.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';
import { offerChatOn } from '../support/pipeline-config.ts';

const M = (s: string) => s.padEnd(16, '_');
const MAX = 64 * 1024;
const PDF = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(3000), Buffer.from('\n%%EOF\n')]);
const WEBP = Buffer.concat([
  Buffer.from('RIFF'),
  Buffer.from([0x20, 0x00, 0x00, 0x00]),
  Buffer.from('WEBPVP8 '),
  randomBytes(64),
]);
/** A Windows executable renamed: MZ header. */
const EXE = Buffer.concat([Buffer.from('MZ'), randomBytes(500)]);
const HTML = Buffer.from('<html><script>alert(1)</script></html>');

interface Staff {
  token: string;
  staffId: string;
  ws: FrameLog;
  socket: TestSocket;
}

describe('chat attachments: images and PDF, sniffed, limited, stored with their message', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: Staff;
  let B: Staff;
  let supervisor: Staff;
  let alice: TestDevice;
  let bob: TestDevice;
  let chat: { ws: FrameLog; socket: TestSocket; requestId: string };
  let fenceA: number;
  let fenceB: number;
  let pngId: string;
  let pdfId: string;
  const sockets: TestSocket[] = [];
  const staffApi = <K extends RouteId>(who: Staff | string, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(typeof who === 'string' ? who : who.token), name, opts);
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

  async function accept(who: Staff, requestId: string): Promise<number> {
    const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === requestId);
    const r = await staffApi(who, 'acceptOffer', {
      params: { requestId },
      json: { fence: offer.offer.fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return offer.offer.fence;
  }

  const deviceSends = (d: TestDevice, id: string, name: string, raw: Buffer, contentType: string) =>
    d.api('deviceAttach', {
      params: { requestId: chat.requestId },
      query: { clientMsgId: M(id), name },
      raw,
      contentType,
    });
  const agentSends = (
    who: Staff,
    fence: number,
    id: string,
    name: string,
    raw: Buffer,
    contentType: string,
  ) =>
    staffApi(who, 'agentAttach', {
      params: { requestId: chat.requestId },
      query: { clientMsgId: M(id), name, fence },
      raw,
      contentType,
    });
  /** A download as raw bytes (the helper parses JSON only). */
  async function staffDownload(token: string, attachmentId: string) {
    const res = await fetch(
      `${a.url}/v1/agent/requests/${chat.requestId}/attachments/${encodeURIComponent(attachmentId)}`,
      { headers: bearer(token) },
    );
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }
  async function deviceDownload(d: TestDevice, attachmentId: string) {
    const path = `/v1/device/conversations/${chat.requestId}/attachments/${encodeURIComponent(attachmentId)}`;
    const res = await fetch(a.url + path, { headers: await d.headers('GET', path) });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  before(async () => {
    const nodes = await startNodes(
      1,
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
        offerTimeoutSeconds: 60,
        chatAttachmentMaxBytes: MAX,
      },
      { clock },
    );
    a = nodes[0]!;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    offerChatOn(cfg.body.menu);
    assert.equal(
      (await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: cfg.body })).status,
      200,
    );
    A = await login('agent1', 'demo-agent-1');
    B = await login('agent2', 'demo-agent-2');
    supervisor = await login('supervisor', 'demo-supervisor');
    await presence(B, 'offline');
    await presence(supervisor, 'offline');
    await presence(A, 'available');
    alice = await device('c_alice_martin_01');
    bob = await device('c_bob_okafor_002');
    const q = await alice.api('createRequest', { json: { optionId: 'other', channel: 'chat' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const socket = await TestSocket.open(a.url);
    sockets.push(socket);
    socket.send(await alice.wsHello(q.body.request.sessionId));
    assert.equal((await socket.next()).type, 'welcome');
    chat = { ws: new FrameLog(socket), socket, requestId: q.body.request.requestId };
    fenceA = await accept(A, chat.requestId);
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('the customer sends an image: stored with its seq, pushed to the agent, downloaded byte-identical by both', async () => {
    const r = await deviceSends(alice, 'png1', 'screen.png', FAKE_PNG, 'image/png');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.seq, 1);
    const att = r.body.message.attachment;
    assert.deepEqual(
      { kind: att.kind, mediaType: att.mediaType, name: att.name, size: att.size },
      { kind: 'image', mediaType: 'image/png', name: 'screen.png', size: FAKE_PNG.length },
    );
    pngId = att.id;
    const pushed = await A.ws.take((f) => f.type === 'chat.message' && f.message.seq === 1);
    assert.equal(pushed.message.attachment.id, pngId);
    assert.equal(pushed.message.text, 'screen.png', 'without a caption the text is the file name');

    const again = await deviceSends(alice, 'png1', 'screen.png', FAKE_PNG, 'image/png');
    assert.equal(again.status, 201);
    assert.equal(again.body.seq, 1, 'a retry answers the same seq');
    assert.equal(again.body.message.attachment.id, pngId, 'nothing stored twice');

    const byAgent = await staffDownload(A.token, pngId);
    assert.equal(byAgent.status, 200);
    assert.equal(byAgent.headers.get('content-type'), 'image/png');
    assert.equal(byAgent.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(byAgent.headers.get('content-disposition'), null, 'an image is shown inline');
    assert.ok(byAgent.bytes.equals(FAKE_PNG), 'byte-identical');
    const byCustomer = await deviceDownload(alice, pngId);
    assert.equal(byCustomer.status, 200);
    assert.ok(byCustomer.bytes.equals(FAKE_PNG));
  });

  it('the agent sends a PDF: the customer receives it and downloads it as an attachment; WebP accepted', async () => {
    const r = await agentSends(A, fenceA, 'pdf1', 'statement.pdf', PDF, 'application/pdf');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.seq, 2);
    pdfId = r.body.message.attachment.id;
    assert.equal(r.body.message.attachment.kind, 'pdf');
    const pushed = await chat.ws.take((f) => f.type === 'chat.message' && f.message.seq === 2);
    assert.equal(pushed.message.attachment.name, 'statement.pdf');
    const got = await deviceDownload(alice, pdfId);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-type'), 'application/pdf');
    assert.match(got.headers.get('content-disposition') ?? '', /^attachment; filename="statement\.pdf"/);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(got.bytes.equals(PDF), 'byte-identical');

    const webp = await deviceSends(alice, 'webp1', 'pic.webp', WEBP, 'image/webp');
    assert.equal(webp.status, 201, JSON.stringify(webp.body));
    assert.equal(webp.body.message.attachment.mediaType, 'image/webp');

    const transcript = await staffApi(A, 'requestTranscript', { params: { requestId: chat.requestId } });
    assert.deepEqual(
      transcript.body.messages.map((m: any) => [m.seq, m.attachment?.kind]),
      [
        [1, 'image'],
        [2, 'pdf'],
        [3, 'image'],
      ],
    );
    const own = await alice.api('deviceConversation', { params: { requestId: chat.requestId } });
    assert.equal(own.body.messages[1].attachment.id, pdfId);
  });

  it('a renamed EXE or HTML, a type that disagrees with the bytes, an unknown type: 415; nothing stored', async () => {
    const cases: [Buffer, string][] = [
      [EXE, 'application/pdf'],
      [EXE, 'image/png'],
      [HTML, 'image/jpeg'],
      [HTML, 'text/html'],
      [EXE, 'application/octet-stream'],
      [FAKE_PNG, 'image/jpeg'],
      [PDF, 'image/png'],
    ];
    for (const [i, [raw, type]] of cases.entries()) {
      const r = await deviceSends(alice, `bad${i}`, 'invoice.pdf', raw, type);
      assert.equal(r.status, 415, `${type}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'unsupported_media_type');
      const s = await agentSends(A, fenceA, `badA${i}`, 'invoice.pdf', raw, type);
      assert.equal(s.status, 415, `${type}: ${JSON.stringify(s.body)}`);
    }
    const transcript = await staffApi(A, 'requestTranscript', { params: { requestId: chat.requestId } });
    assert.equal(transcript.body.messages.length, 3, 'no message for a refused file');
    const audit = await a.sql<{ outcome: string; n: number }>`
      SELECT outcome, COUNT(*) AS n FROM audit_log
      WHERE action = ${'chat.attachment'} AND subject = ${`request:${chat.requestId}`}
      GROUP BY outcome ORDER BY outcome`;
    // 3 stored files; the refusals that reached the authority's check (a known type) audited as failures.
    assert.deepEqual(
      audit.map((r) => [r.outcome, Number(r.n)]),
      [
        ['failure', 10],
        ['success', 3],
      ],
    );
  });

  it('a file over the configured limit: 413', async () => {
    const big = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(MAX + 10)]);
    const r = await deviceSends(alice, 'big1', 'big.pdf', big, 'application/pdf');
    assert.equal(r.status, 413, JSON.stringify(r.body));
    assert.equal(r.body.code, 'payload_too_large');
    const bigPng = Buffer.concat([FAKE_PNG, randomBytes(MAX)]);
    const s = await agentSends(A, fenceA, 'big2', 'big.png', bigPng, 'image/png');
    assert.equal(s.status, 413, JSON.stringify(s.body));
  });

  it("another customer's device learns nothing (404); an agent who never held it 403; a supervisor may read", async () => {
    const send = await deviceSends(bob, 'bob1', 'x.png', FAKE_PNG, 'image/png');
    assert.equal(send.status, 404, JSON.stringify(send.body));
    const get = await deviceDownload(bob, pngId);
    assert.equal(get.status, 404);
    assert.equal((await staffDownload(B.token, pngId)).status, 403);
    const sup = await staffDownload(supervisor.token, pdfId);
    assert.equal(sup.status, 200);
    assert.ok(sup.bytes.equals(PDF));
    assert.equal((await staffDownload(A.token, 'no_such_attachment_1')).status, 404);
  });

  it('after a blind transfer the old holder is refused, the new one sends; the old holder still reads', async () => {
    await presence(B, 'available');
    const t = await staffApi(A, 'transfer', {
      params: { requestId: chat.requestId },
      json: { fence: fenceA, mode: 'blind', target: { kind: 'agent', staffId: B.staffId } },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    fenceB = await accept(B, chat.requestId);
    const old = await agentSends(A, fenceA, 'late1', 'late.png', FAKE_PNG, 'image/png');
    assert.equal(old.status, 403, JSON.stringify(old.body));
    assert.equal(old.body.code, 'not_assigned');
    const stale = await agentSends(B, fenceA, 'stale1', 'late.png', FAKE_PNG, 'image/png');
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.equal(stale.body.code, 'stale_fence');
    const ok = await agentSends(B, fenceB, 'b1', 'reply.png', FAKE_PNG, 'image/png');
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.seq, 4);
    assert.equal((await staffDownload(B.token, pngId)).status, 200, 'the new holder reads the earlier files');
    assert.equal((await staffDownload(A.token, pngId)).status, 200, 'custody: the old holder may read');
  });

  it('deleting the transcript deletes its attachments: 404 after, for everyone', async () => {
    const done = await staffApi(B, 'completeRequest', {
      params: { requestId: chat.requestId },
      json: { fence: fenceB },
    });
    assert.ok(done.status < 300, JSON.stringify(done.body));
    const ended = await deviceSends(alice, 'after1', 'late.png', FAKE_PNG, 'image/png');
    assert.equal(ended.status, 409, JSON.stringify(ended.body));
    const del = await staffApi(admin, 'deleteTranscript', {
      params: { requestId: chat.requestId },
      json: { reason: 'customer asked' },
    });
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.equal(del.body.messageCount, 4);
    for (const id of [pngId, pdfId]) {
      assert.equal((await deviceDownload(alice, id)).status, 404);
      assert.equal((await staffDownload(supervisor.token, id)).status, 404);
      assert.equal((await staffDownload(admin, id)).status, 404);
    }
  });
});
