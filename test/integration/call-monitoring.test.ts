/**
 * Supervisor monitoring's routes against a real rtpengine (the media exchange itself is
 * test/e2e/call-monitoring.test.ts, in Chromium): a call offered and answered through
 * rtpengine's ng protocol as Kamailio does (the caller's monologue labelled "agent", the
 * callee's "customer"), named by the console's verified answer. Agents are refused every
 * monitoring route (403, audited); a request without a call through the media server is
 * a 409; a supervisor gets rtpengine's listening offer (one m= per party, in order), whispers
 * (the agent's console is sent rtpengine's offer of the supervisor's audio over its
 * WebSocket and answers it; a colleague's answer is refused), barges, and leaves (twice:
 * safe to repeat). Every action leaves its audit row, refusals too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { NgClient } from '../../authority/src/media/rtpengine-ng.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { until } from '../support/wait.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

/** A plain RTP SDP (what a browser makes is WebRTC; rtpengine takes either for signalling). */
const sdp = (port: number, direction: 'sendrecv' | 'sendonly' | 'recvonly') =>
  [
    'v=0',
    `o=- ${port} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    `a=${direction}`,
    '',
  ].join('\r\n');

describe('supervisor monitoring routes: listen, whisper, barge, leave; agents refused; audited', () => {
  let rtp: RunningRtpengine;
  let a: TestAuthority;
  let ng: NgClient;
  const clock = new FakeClock(Date.now());
  let agent: string;
  let agentId: string;
  let colleague: string;
  let supervisor: string;
  let supervisorId: string;
  let d: TestDevice;
  let requestId: string;
  let fence: number;
  const callId = `mon-${Date.now()}@test`;

  before(async () => {
    rtp = await startRtpengine({ recording: true });
    ng = new NgClient(rtp.ngSock);
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        rtpengineNg: rtp.ngSock,
        recordingDir: rtp.recordingDir!,
        recordingSweepSeconds: 3600,
      },
      { clock },
    );
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const agentLogin = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    agent = agentLogin.token;
    agentId = agentLogin.staffId;
    colleague = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
    const supLogin = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    supervisor = supLogin.token;
    supervisorId = supLogin.staffId;
    await api(a.url, 'setPresence', { headers: bearer(agent), json: { state: 'available' } });
    requestId = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request.requestId;
    fence = await until('the agent is offered the request', async () => {
      const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
      return me.body.offer?.requestId === requestId ? (me.body.offer.fence as number) : undefined;
    });
    const accepted = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent),
      json: { fence },
    });
    assert.equal(accepted.status, 200);
  });
  after(async () => {
    ng?.close();
    await a?.dispose();
    await rtp?.stop();
  });

  const as = (token: string) => ({ params: { requestId }, headers: bearer(token) });

  it('refuses agents (403), wants a call through the media server (409), and serves a supervisor', async () => {
    // Agents, the holder included, are refused every supervisor step.
    for (const token of [agent, colleague]) {
      const listen = await api(a.url, 'monitorListen', as(token));
      assert.equal(listen.status, 403, JSON.stringify(listen.body));
      assert.equal(listen.body.code, 'forbidden');
      const mode = await api(a.url, 'monitorMode', { ...as(token), json: { mode: 'whisper' } });
      assert.equal(mode.status, 403);
      const leave = await api(a.url, 'monitorLeave', as(token));
      assert.equal(leave.status, 403);
    }
    const listenAnswer = await api(a.url, 'monitorListenAnswer', {
      ...as(agent),
      json: { leg: 0, answer: sdp(40_000, 'recvonly') },
    });
    assert.equal(listenAnswer.status, 403);

    // No call through rtpengine yet: nothing to monitor.
    const early = await api(a.url, 'monitorListen', as(supervisor));
    assert.equal(early.status, 409, JSON.stringify(early.body));
    // Bad input is a clear 400.
    const bad = await api(a.url, 'monitorMode', { ...as(supervisor), json: { mode: 'shout' } });
    assert.equal(bad.status, 400);

    // The ticketed INVITE through Kamailio + rtpengine, then the console's verified answer.
    const t = (await api(a.url, 'callTicket', { ...as(agent), json: { fence } })).body;
    await ng.command('offer', {
      'call-id': callId,
      'from-tag': 'agent-tag',
      label: 'agent',
      sdp: sdp(41_000, 'sendrecv'),
      'record call': 'yes',
    });
    await ng.command('answer', {
      'call-id': callId,
      'from-tag': 'agent-tag',
      'to-tag': 'device-tag',
      label: 'customer',
      sdp: sdp(41_002, 'sendrecv'),
    });
    const proof = await d.ticketProof(t.ticket, Math.floor(clock.now() / 1000));
    const answered = await api(a.url, 'callAnswer', {
      ...as(agent),
      json: { fence, ticket: t.ticket, proof, callId },
    });
    assert.equal(answered.status, 200);

    const agentSocket = await TestSocket.open(a.url);
    agentSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent } });
    const frames = new FrameLog(agentSocket);
    await frames.take((f) => f.type === 'welcome');

    // Listen: rtpengine's send-only offer of each party, the agent's audio first, then the customer's.
    const listen = await api(a.url, 'monitorListen', as(supervisor));
    assert.equal(listen.status, 200, JSON.stringify(listen.body));
    const legs = listen.body.legs as { leg: number; party: string; offer: string }[];
    assert.deepEqual(
      legs.map((l) => `${l.leg} ${l.party}`),
      ['0 agent', '1 customer'],
    );
    for (const l of legs) {
      assert.equal(l.offer.match(/^m=audio /gm)?.length, 1, l.offer);
      assert.match(l.offer, /^a=sendonly/m);
      const sub = await api(a.url, 'monitorListenAnswer', {
        ...as(supervisor),
        json: { leg: l.leg, answer: sdp(42_000 + l.leg * 2, 'recvonly') },
      });
      assert.equal(sub.status, 200, JSON.stringify(sub.body));
    }
    const q = await ng.command('query', { 'call-id': callId });
    const tags = q.tags as Record<string, { subscribers: { tag: string }[] }>;
    for (const [leg, party] of ['agent-tag', 'device-tag'].entries())
      assert.deepEqual(
        tags[party]!.subscribers.map((s) => s.tag),
        [party === 'agent-tag' ? 'device-tag' : 'agent-tag', `vdmon.${supervisorId}.listen.${leg}`],
        `${party} is forked to the supervisor`,
      );

    // Whisper before any microphone offer: a clear 400.
    const noOffer = await api(a.url, 'monitorMode', { ...as(supervisor), json: { mode: 'whisper' } });
    assert.equal(noOffer.status, 400, JSON.stringify(noOffer.body));
    // Whisper: the supervisor's microphone is published, the agent's console is offered it.
    const whisper = await api(a.url, 'monitorMode', {
      ...as(supervisor),
      json: { mode: 'whisper', offer: sdp(43_000, 'sendonly') },
    });
    assert.equal(whisper.status, 200, JSON.stringify(whisper.body));
    assert.match(String(whisper.body.answer), /a=recvonly/);
    const talkId = whisper.body.talkId as string;
    const told = await frames.take((f) => f.type === 'monitor.update');
    assert.equal(told.mode, 'whisper');
    assert.equal(told.requestId, requestId);
    assert.equal(told.supervisorId, supervisorId);
    assert.equal(told.talkId, talkId);
    assert.match(String(told.offer), /a=sendonly/);
    // Only the holder answers it, under the current fence.
    const agentAnswer = { supervisorId, talkId, answer: sdp(44_000, 'recvonly') };
    const fromColleague = await api(a.url, 'monitorAgentAnswer', {
      ...as(colleague),
      json: { fence, ...agentAnswer },
    });
    assert.equal(fromColleague.status, 403);
    assert.equal(fromColleague.body.code, 'not_assigned');
    const stale = await api(a.url, 'monitorAgentAnswer', {
      ...as(agent),
      json: { fence: fence + 1, ...agentAnswer },
    });
    assert.equal(stale.status, 409);
    const unknown = await api(a.url, 'monitorAgentAnswer', {
      ...as(agent),
      json: { fence, ...agentAnswer, talkId: 'no-such-talk' },
    });
    assert.equal(unknown.status, 409);
    const ok = await api(a.url, 'monitorAgentAnswer', { ...as(agent), json: { fence, ...agentAnswer } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    // The customer is never subscribed to the supervisor's audio.
    const q2 = await ng.command('query', { 'call-id': callId });
    const subscribersOfTalk = (q2.tags as Record<string, { subscribers: { tag: string }[] }>)[
      `vdmon.${supervisorId}.talk.${talkId}`
    ]!.subscribers.map((s) => s.tag);
    assert.deepEqual(subscribersOfTalk, [`vdmon.${supervisorId}.agent.${talkId}`]);

    // Barge: the same publication, the agent's console told to mix it in.
    const barge = await api(a.url, 'monitorMode', { ...as(supervisor), json: { mode: 'barge' } });
    assert.equal(barge.status, 200, JSON.stringify(barge.body));
    assert.equal(barge.body.answer, null);
    assert.equal(barge.body.talkId, talkId);
    const toldBarge = await frames.take((f) => f.type === 'monitor.update');
    assert.equal(toldBarge.mode, 'barge');
    assert.equal(toldBarge.offer, null);

    // Leave (twice: safe to repeat); the agent's console is told.
    for (let i = 0; i < 2; i++) {
      const leave = await api(a.url, 'monitorLeave', as(supervisor));
      assert.equal(leave.status, 200, JSON.stringify(leave.body));
    }
    assert.equal((await frames.take((f) => f.type === 'monitor.update')).mode, 'ended');
    const q3 = await ng.command('query', { 'call-id': callId });
    const t3 = q3.tags as Record<string, { subscribers: { tag: string }[] }>;
    for (const party of ['agent-tag', 'device-tag'])
      assert.deepEqual(
        t3[party]!.subscribers.map((s) => s.tag),
        [party === 'agent-tag' ? 'device-tag' : 'agent-tag'],
        `${party} is forked to nobody else any more`,
      );
    agentSocket.close();

    const audit = await a.sql<{ action: string; outcome: string; actor: string }>`
      SELECT action, outcome, actor FROM audit_log
      WHERE subject = ${`request:${requestId}`} AND action LIKE ${'monitor.%'} ORDER BY seq`;
    const who = (actor: string) =>
      actor === `staff:${supervisorId}` ? 'supervisor' : actor === `staff:${agentId}` ? 'agent' : 'colleague';
    assert.deepEqual(
      audit.map((e) => `${who(e.actor)} ${e.action} ${e.outcome}`),
      [
        'agent monitor.listen failure',
        'agent monitor.whisper failure',
        'agent monitor.leave failure',
        'colleague monitor.listen failure',
        'colleague monitor.whisper failure',
        'colleague monitor.leave failure',
        'supervisor monitor.listen failure',
        'supervisor monitor.listen success',
        'supervisor monitor.whisper failure',
        'supervisor monitor.whisper success',
        'supervisor monitor.barge success',
        'supervisor monitor.leave success',
        'supervisor monitor.leave success',
      ],
    );
  });
});
