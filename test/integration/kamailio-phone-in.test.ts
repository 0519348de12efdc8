/**
 * A call from the phone network through Kamailio to the authority (issue 14 item 1): a
 * "carrier" on loopback sends a plain SIP INVITE over UDP to the trunk port; Kamailio asks
 * the authority (POST /v1/sip/trunk/calls with the shared secret), which queues a request
 * for the customer the caller ID points to (level 0, "not verified") and offers it to the
 * available agent; the caller hears ringing (180) while the INVITE is held. The caller
 * hanging up (CANCEL) abandons the request: the offer is withdrawn, the CANCEL gets 200 and
 * the INVITE 487. A number not answered here gets 404; an unknown caller is queued as "Unknown caller".
 * A call put through can be monitored by a supervisor (rtpengine's subscribe), recorded or not.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import { sipUserForAgent } from '../../protocol/src/sip.ts';
import { RawSipClient, rawRegister, startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { freeTcpAndUdpPort } from '../support/ports.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { CARRIER, CarrierCall } from '../support/carrier.ts';
import { until } from '../support/wait.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';

const SECRET = 'sip-server-secret-for-the-kamailio-phone-in-test-0123';
const DIALLED = '+442079460000';
/** How long a caller may wait to be put through (Kamailio's PHONE_IN_WAIT): short here, 900 s by default. */
const WAIT_SECONDS = 6;

describe('a call from the phone network through Kamailio becomes a request the agent is offered', () => {
  let a: TestAuthority;
  let k: RunningKamailio;
  let rtp: RunningRtpengine;
  let trunkPort = 0;
  let admin: string;
  let agent: { token: string; staffId: string };
  const calls: CarrierCall[] = [];
  const call = (from: string, to = DIALLED) => {
    const c = new CarrierCall(trunkPort, from, to);
    calls.push(c);
    return c;
  };
  const offer = async () => (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;

  before(async () => {
    rtp = await startRtpengine();
    // rtpengine's ng socket without a recording dir: monitoring on, recording off.
    a = await startTestAuthority({
      sipServerSecret: SECRET,
      accessTokenSeconds: 3600,
      rtpengineNg: rtp.ngSock,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, 'c_alice_martin_01', '+44 7911 123456');
    trunkPort = await freeTcpAndUdpPort();
    k = await startKamailio({
      secret: randomBytes(24).toString('base64url'),
      rtpengineSock: rtp.ngSock,
      controlUrl: true,
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        `TRUNK_ALLOW=${CARRIER}/32`,
        `AUTHORITY_URL=${a.url}`,
        `SIP_SERVER_SECRET=${SECRET}`,
        `PHONE_IN_WAIT=${WAIT_SECONDS}`,
      ],
    });
  });
  after(async () => {
    for (const c of calls) c.close();
    if (process.env.DEBUG_KAMAILIO) console.log(k?.log());
    await k?.stop();
    await rtp?.stop();
    await a?.dispose();
  });

  it('the caller hears ringing while the request is offered, with who the caller ID points to; hanging up abandons it', async () => {
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    const c = call('+447911123456');
    const started = performance.now();
    await c.invite();
    await until('the caller hears ringing', () => c.statuses().includes('180 Ringing'), {
      timeoutMs: 10_000,
    });
    const ringing = performance.now() - started;
    const o = await until('the call offered to the agent', offer, { timeoutMs: 10_000 });
    const offered = performance.now() - started;
    assert.equal(o.request.customerName, 'Alice Martin');
    assert.equal(o.request.level, 0);
    assert.equal(
      o.request.phone?.recognition,
      'Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)',
    );
    assert.equal(c.final(), undefined, 'the call is held, not answered');
    console.log(
      `# trunk INVITE -> 180 Ringing ${ringing.toFixed(0)} ms; -> offer seen by the agent ${offered.toFixed(0)} ms (loopback, polled)`,
    );

    c.cancel();
    await until('the INVITE answered 487', () => c.final()?.startsWith('SIP/2.0 487'), { timeoutMs: 10_000 });
    c.ack();
    assert.match(c.final('CANCEL') ?? '', /^SIP\/2\.0 200/);
    await until('the offer withdrawn', async () => (await offer()) === null, { timeoutMs: 10_000 });
    const [row] = await a.sql<{ state: string; end_reason: string }>`
      SELECT state, end_reason FROM requests WHERE id = ${o.requestId}`;
    assert.deepEqual({ ...row }, { state: 'abandoned', end_reason: 'caller_hung_up' });
    assert.match(k.log(), /trunk: caller \+447911123456 hung up while waiting \(authority 200\)/);
  });

  it('the agent who accepts puts the caller through: an incoming WebRTC call on the console, plain RTP to the carrier, BYE both ways', async () => {
    // The agent's console registration (a raw SIP-over-WebSocket client standing in for it).
    const sipUser = sipUserForAgent(agent.staffId);
    const console_ = await RawSipClient.open(k.wsUrl);
    console_.answerInvites = false;
    const creds = ephemeralCredentials(k.secret, sipUser, 300, Date.now());
    const reg = await rawRegister(console_, { ...creds, user: sipUser, domain: k.domain });
    assert.equal(reg.reply?.status, 200);
    try {
      const c = call('+447911123456');
      await c.invite();
      const o = await until('the call offered to the agent', offer, { timeoutMs: 10_000 });
      const accepted = await api(a.url, 'acceptOffer', {
        headers: bearer(agent.token),
        params: { requestId: o.requestId },
        json: { fence: o.fence },
      });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      const fence = accepted.body.fence as number;

      // A stale fence, or somebody else, does not put the call through.
      const stale = await api(a.url, 'connectPhoneCall', {
        headers: bearer(agent.token),
        params: { requestId: o.requestId },
        json: { fence: fence + 1 },
      });
      assert.equal(stale.status, 409);

      const put = await api(a.url, 'connectPhoneCall', {
        headers: bearer(agent.token),
        params: { requestId: o.requestId },
        json: { fence },
      });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body, { requestId: o.requestId, sipUser });

      const invite = await until(
        'the INVITE at the console',
        () => console_.incoming.find((m) => m.startsWith('INVITE ')),
        { timeoutMs: 10_000 },
      );
      assert.match(invite, new RegExp(`^X-VD-Request: ${o.requestId}\r$`, 'm'));
      assert.match(invite, /^X-VD-Media: anchored\r$/m);
      assert.match(
        invite,
        /^m=audio \d+ (UDP\/TLS\/)?RTP\/SAVPF /m,
        'WebRTC (DTLS-SRTP) on the console side',
      );
      assert.match(invite, /^a=fingerprint:/m);
      assert.match(invite, /^a=ice-ufrag:/m);

      // The console answers with a WebRTC answer (ICE, DTLS fingerprint, RTCP multiplexed).
      const head = invite.split('\r\n\r\n')[0]!.split('\r\n');
      const keep = head.filter((l) => /^(Via|v|From|f|Call-ID|i|CSeq|Record-Route)\s*:/i.test(l));
      const to = head.find((l) => /^(To|t)\s*:/i.test(l))!;
      const answerSdp = [
        'v=0',
        'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
        's=-',
        't=0 0',
        'a=group:BUNDLE 0',
        'm=audio 9 UDP/TLS/RTP/SAVPF 0',
        'c=IN IP4 127.0.0.1',
        'a=rtcp:9 IN IP4 0.0.0.0',
        'a=ice-ufrag:Ab3x',
        'a=ice-pwd:0123456789abcdefghijklmn',
        `a=fingerprint:sha-256 ${Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':')}`,
        'a=setup:active',
        'a=mid:0',
        'a=sendrecv',
        'a=rtcp-mux',
        'a=rtpmap:0 PCMU/8000',
        'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
        '',
      ].join('\r\n');
      console_.send(
        [
          'SIP/2.0 200 OK',
          ...keep,
          `${to};tag=console1`,
          `Contact: <sip:${sipUser}@${console_.host};transport=ws>`,
          'Content-Type: application/sdp',
          `Content-Length: ${Buffer.byteLength(answerSdp)}`,
          '',
          answerSdp,
        ].join('\r\n'),
      );

      // The carrier gets plain RTP: an RTP/AVP answer with no ICE nor DTLS.
      await until('the carrier answered 200', () => c.final()?.startsWith('SIP/2.0 200'), {
        timeoutMs: 10_000,
      });
      const ok = c.final()!;
      assert.match(ok, /^m=audio \d+ RTP\/AVP 0/m, 'plain RTP towards the phone network');
      assert.doesNotMatch(ok, /a=fingerprint|a=ice-ufrag|SAVPF/);
      assert.doesNotMatch(ok, /^X-VD-/m, 'nothing internal leaks to the carrier');
      c.inDialog('ACK');
      await until('the ACK at the console', () => console_.incoming.some((m) => m.startsWith('ACK ')), {
        timeoutMs: 10_000,
      });

      // A supervisor listens to the phone call, recorded or not (no recording here): one
      // send-only offer per party, the console labelled agent, the carrier customer.
      const supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
      const listen = await api(a.url, 'monitorListen', {
        params: { requestId: o.requestId },
        headers: bearer(supervisor),
      });
      assert.equal(listen.status, 200, JSON.stringify(listen.body));
      assert.deepEqual(
        (listen.body.legs as { leg: number; party: string; offer: string }[]).map(
          (l) => `${l.leg} ${l.party} ${/^a=sendonly/m.test(l.offer)}`,
        ),
        ['0 agent true', '1 customer true'],
      );
      const left = await api(a.url, 'monitorLeave', {
        params: { requestId: o.requestId },
        headers: bearer(supervisor),
      });
      assert.equal(left.status, 200, JSON.stringify(left.body));

      // Twice is refused: the call is no longer held.
      const again = await api(a.url, 'connectPhoneCall', {
        headers: bearer(agent.token),
        params: { requestId: o.requestId },
        json: { fence },
      });
      assert.equal(again.status, 409, JSON.stringify(again.body));
      assert.match(again.body.message, /no longer on the line/);

      // The caller hangs up: the BYE reaches the console (answered 200 by it), 200 to the carrier.
      console_.answerInvites = true;
      c.inDialog('BYE');
      await until('the BYE at the console', () => console_.incoming.some((m) => m.startsWith('BYE ')), {
        timeoutMs: 10_000,
      });
      await until('200 to the BYE', () => c.final('BYE')?.startsWith('SIP/2.0 200'), { timeoutMs: 10_000 });
      // The authority knows the call on the line ended (the request stays with the agent).
      const ended = await until('the call marked ended', async () => {
        const r = await api(a.url, 'getRequest', {
          params: { requestId: o.requestId },
          headers: bearer(agent.token),
        });
        return r.body.phone?.endedAt ? r.body : undefined;
      });
      assert.equal(ended.state, 'assigned');
      // The call ended: nothing left to monitor.
      const late = await api(a.url, 'monitorListen', {
        params: { requestId: o.requestId },
        headers: bearer(supervisor),
      });
      assert.equal(late.status, 409, JSON.stringify(late.body));
      const [line] = await a.sql<{
        end_reason: string;
      }>`SELECT end_reason FROM phone_calls WHERE request_id = ${o.requestId}`;
      assert.equal(line?.end_reason, 'call_ended');
      const audited = await a.sql<{ outcome: string }>`
        SELECT outcome FROM audit_log WHERE subject = ${`request:${o.requestId}`} AND action = 'phone.connect' ORDER BY seq`;
      assert.deepEqual(
        audited.map((r) => r.outcome),
        ['success', 'failure'],
      );
      const done = await api(a.url, 'completeRequest', {
        headers: bearer(agent.token),
        params: { requestId: o.requestId },
        json: { fence },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
    } finally {
      await console_.close();
    }
  });

  it("the control URL obeys only the authority's secret: none, a wrong one or one of another length is 401", async () => {
    const control = `${k.wsUrl.replace(/^ws/, 'http').replace(/\/$/, '')}/vd/phone-in/x@192.0.2.10/deliver/a-someone/req_1`;
    const post = (authorization?: string) =>
      // No kept-alive socket that Kamailio may have closed meanwhile (as the authority does).
      fetch(control, {
        method: 'POST',
        headers: { connection: 'close', ...(authorization ? { authorization } : {}) },
      });
    for (const wrong of [undefined, `Bearer ${SECRET.slice(0, -1)}x`, `Bearer ${SECRET}x`, 'Bearer ', SECRET])
      assert.equal((await post(wrong)).status, 401, String(wrong));
    // The right secret gets past the gate: an unknown held call is 404.
    assert.equal((await post(`Bearer ${SECRET}`)).status, 404);
  });

  it('a caller nobody puts through within the wait gets 480 and the request is abandoned', async () => {
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    const c = call('+447911123456');
    await c.invite();
    await until('the caller hears ringing', () => c.statuses().includes('180 Ringing'), {
      timeoutMs: 10_000,
    });
    const o = await until('the call offered to the agent', offer, { timeoutMs: 10_000 });
    const reject = await api(a.url, 'rejectOffer', {
      headers: bearer(agent.token),
      params: { requestId: o.requestId },
      json: { fence: o.fence },
    });
    assert.equal(reject.status, 200, JSON.stringify(reject.body));
    await until('the wait ends with a final answer', () => c.final(), {
      timeoutMs: (WAIT_SECONDS + 10) * 1000,
    });
    assert.match(c.final()!, /^SIP\/2\.0 480 Temporarily Unavailable \(no agent answered in time\)/);
    c.ack();
    await until('the request abandoned', async () => {
      const [row] = await a.sql<{ state: string; end_reason: string }>`
        SELECT state, end_reason FROM requests WHERE id = ${o.requestId}`;
      return row?.state === 'abandoned' && row.end_reason === 'sip_timeout';
    });
    assert.match(k.log(), /trunk: call \S+ waited too long, ended \(authority 200\)/);
  });

  it('a number not answered here is 404 from Kamailio with the authority’s word; an unknown caller hears ringing, queued as "Unknown caller"', async () => {
    const notOurs = call('+447911123456', '+442079460999');
    await notOurs.invite();
    await until('a final answer', () => notOurs.final(), { timeoutMs: 10_000 });
    assert.match(notOurs.final()!, /^SIP\/2\.0 404 Not Found \(number not in service\)/);
    notOurs.ack();
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.status, 200, JSON.stringify(av.body));
    const stranger = call('+447911123999');
    await stranger.invite();
    await until('the caller hears ringing', () => stranger.statuses().includes('180 Ringing'), {
      timeoutMs: 10_000,
    });
    const o = await until('the call offered to the agent', offer, { timeoutMs: 10_000 });
    assert.equal(o.request.customerName, 'Unknown caller');
    assert.equal(o.request.phone?.recognition, 'Phoned in from +44 7911 123999 — unknown caller');
    assert.equal(o.request.phone?.unknownCaller, true);
    stranger.cancel();
    await until('the INVITE answered 487', () => stranger.final()?.startsWith('SIP/2.0 487'), {
      timeoutMs: 10_000,
    });
    stranger.ack();
  });
});
