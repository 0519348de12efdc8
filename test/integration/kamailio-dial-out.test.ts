/**
 * A callback to a customer's phone number through the trunk (issue 14 item 5), end to end
 * at the SIP level: SIPp plays the carrier (a UAS on loopback, Kamailio's TRUNK_OUTBOUND);
 * a raw SIP-over-WebSocket client plays the agent's console. The agent holding the
 * callback request gets a phone call ticket from the authority and INVITEs the customer's
 * number with it; Kamailio asks the authority (POST /v1/sip/trunk/dial-outs) and sends the
 * INVITE to the carrier: Request-URI the customer's number, From and P-Asserted-Identity
 * the company's caller ID, plain RTP (RTP/AVP, G.711) without ICE or DTLS; the carrier's
 * answer reaches the console as WebRTC; BYE ends it. No ticket, a forged one, or a ticket
 * for another number: 403 from Kamailio. The request shows the callback was placed, and
 * ended by whoever hung up. A call out is recorded like every anchored call (rtpengine,
 * pcap method: the agent's and the customer's channels, pause and resume by the holder),
 * a supervisor listens to it (rtpengine's ng subscribe), and the carrier's BYE (the
 * customer hung up) is reported to the authority: the request shows the call ended.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ephemeralCredentials } from '../../authority/src/sip/credentials.ts';
import { sipUserForAgent } from '../../protocol/src/sip.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  digestAuthorization,
  parseChallenge,
  RawSipClient,
  rawRegister,
  startKamailio,
  type RunningKamailio,
  type SipReply,
} from '../support/kamailio.ts';
import { freeTcpAndUdpPort } from '../support/ports.ts';
import { CarrierUas } from '../support/carrier.ts';
import { registerPhone } from '../support/phone-in.ts';
import { peakHz, TonePhone } from '../support/tone.ts';
import { NgClient } from '../../authority/src/media/rtpengine-ng.ts';
import { readWav } from '../../authority/src/media/pcap-audio.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { until } from '../support/wait.ts';

const SECRET = 'sip-server-secret-for-the-kamailio-dial-out-test-01';
const CALLER_ID = '+442079460123';
const ALICE = 'c_alice_martin_01';
const NUMBER = '+447911123456';

/**
 * The carrier: SIPp as a UAS (its built-in uas, plus the Record-Route a carrier returns so
 * in-dialog requests keep to the proxy): 180, 200 with a plain RTP answer, ACK, then the BYE.
 */
const CARRIER_UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier answering a call out">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Record-Route:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=carrier 53655765 2353687637 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000

]]></send>
  <recv request="ACK" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
`;

/** The console's WebRTC offer (Opus and G.711, ICE, DTLS-SRTP, RTCP multiplexed). */
const WEBRTC_OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 101',
  'c=IN IP4 127.0.0.1',
  'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:Ab3x',
  'a=ice-pwd:0123456789abcdefghijklmn',
  `a=fingerprint:sha-256 ${Array.from({ length: 32 }, (_, i) => (i * 7).toString(16).padStart(2, '0').toUpperCase()).join(':')}`,
  'a=setup:actpass',
  'a=mid:0',
  'a=sendrecv',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host',
  '',
].join('\r\n');

/** A plain RTP answer (a supervisor's receive-only side; rtpengine takes it for signalling). */
const plainAnswer = (port: number) =>
  [
    'v=0',
    `o=- ${port} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=recvonly',
    '',
  ].join('\r\n');

describe('a callback dials out through Kamailio to the carrier with the company’s caller ID', () => {
  let a: TestAuthority;
  let k: RunningKamailio;
  let rtp: RunningRtpengine;
  let sipp: ChildProcess;
  let sippExit: Promise<number | null>;
  let dir: string;
  let carrierPort = 0;
  let trunkPort = 0;
  let agent: { token: string; staffId: string };
  let console_: RawSipClient;
  let sipUser: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-dial-out-'));
    rtp = await startRtpengine({ recording: true });
    a = await startTestAuthority({
      sipServerSecret: SECRET,
      outboundCallerId: CALLER_ID,
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      rtpengineNg: rtp.ngSock,
      recordingDir: rtp.recordingDir!,
      recordingSweepSeconds: 0.5,
    });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await registerPhone(a.url, admin, ALICE, NUMBER);
    carrierPort = await freeTcpAndUdpPort();
    writeFileSync(join(dir, 'carrier.xml'), CARRIER_UAS);
    // The carrier: SIPp as a UAS (CARRIER_UAS).
    sipp = spawn(
      'sipp',
      [
        '-sf',
        join(dir, 'carrier.xml'),
        '-i',
        '127.0.0.1',
        '-p',
        String(carrierPort),
        '-m',
        '1',
        '-trace_msg',
        '-message_file',
        join(dir, 'carrier.log'),
        '-timeout',
        '60s',
        '-timeout_error',
        '-nostdin',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    sipp.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    sipp.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    sippExit = new Promise((ok) =>
      sipp.once('exit', (code) => {
        if (code !== 0) console.log(out.slice(-4000));
        ok(code);
      }),
    );
    trunkPort = await freeTcpAndUdpPort();
    k = await startKamailio({
      secret: randomBytes(24).toString('base64url'),
      rtpengineSock: rtp.ngSock,
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        'TRUNK_ALLOW=127.0.0.1/32',
        `AUTHORITY_URL=${a.url}`,
        `SIP_SERVER_SECRET=${SECRET}`,
        `TRUNK_OUTBOUND=127.0.0.1:${carrierPort}`,
      ],
    });
    sipUser = sipUserForAgent(agent.staffId);
    console_ = await RawSipClient.open(k.wsUrl);
    const creds = ephemeralCredentials(k.secret, sipUser, 300, Date.now());
    const reg = await rawRegister(console_, { ...creds, user: sipUser, domain: k.domain });
    assert.equal(reg.reply?.status, 200);
  });
  after(async () => {
    await console_?.close();
    if (sipp && sipp.exitCode === null) sipp.kill();
    if (process.env.DEBUG_KAMAILIO) console.log(k?.log());
    await k?.stop();
    await rtp?.stop();
    await a?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** The console INVITEs `number` (answering the proxy's digest challenge), with `ticket` if given. */
  const invite = async (number: string, ticket: string | null) => {
    const callId = `${randomBytes(8).toString('hex')}@console`;
    const ruri = `sip:${number}@${k.domain}`;
    const fromTag = randomBytes(4).toString('hex');
    const creds = ephemeralCredentials(k.secret, sipUser, 300, Date.now());
    const send = (cseq: number, auth?: string) =>
      console_.request(
        [
          `INVITE ${ruri} SIP/2.0`,
          `Via: SIP/2.0/WS ${console_.host};branch=z9hG4bK${randomBytes(6).toString('hex')}`,
          'Max-Forwards: 70',
          `From: <sip:${sipUser}@${k.domain}>;tag=${fromTag}`,
          `To: <${ruri}>`,
          `Call-ID: ${callId}`,
          `CSeq: ${cseq} INVITE`,
          `Contact: <sip:${sipUser}@${console_.host};transport=ws>`,
          ...(ticket === null ? [] : [`X-VD-Call-Ticket: ${ticket}`]),
          ...(auth ? [`Proxy-Authorization: ${auth}`] : []),
          'Content-Type: application/sdp',
          `Content-Length: ${Buffer.byteLength(WEBRTC_OFFER)}`,
          '',
          WEBRTC_OFFER,
        ].join('\r\n'),
        callId,
        `${cseq} INVITE`,
        15_000,
      );
    const first = await send(1);
    assert.equal(first?.status, 407, 'the proxy asks for credentials first');
    const challenge = parseChallenge(first!.headers.get('proxy-authenticate')?.[0] ?? '');
    const reply = await send(2, digestAuthorization(challenge, creds, 'INVITE', ruri));
    return { reply, callId, fromTag, ruri };
  };

  /** rtpengine's monologues of a call: label and subscribers. */
  const ngQuery = async (callId: string) => {
    const ng = new NgClient(rtp.ngSock);
    try {
      const q = await ng.command('query', { 'call-id': callId });
      return q.tags as Record<string, { label?: string; subscribers?: { tag: string }[] }>;
    } finally {
      ng.close();
    }
  };

  let requestId = '';
  let fence = 0;
  const dial = async () => {
    const d = await api(a.url, 'dialPhoneCallback', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence },
    });
    assert.equal(d.status, 200, JSON.stringify(d.body));
    return d.body as { ticket: string; target: string; number: string };
  };

  it('the agent holding the callback gets a ticket; without it, forged, or for another number: 403 from Kamailio', async () => {
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    const booked = await api(a.url, 'bookPhoneCallback', {
      headers: bearer(agent.token),
      json: { customerId: ALICE, optionId: 'other' },
    });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    requestId = booked.body.requestId;
    const o = await until(
      'the callback offered',
      async () => (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer,
    );
    const accepted = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId: o.requestId },
      json: { fence: o.fence },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    fence = accepted.body.fence;

    const none = await invite(NUMBER, null);
    assert.equal(none.reply?.status, 403);
    assert.equal(none.reply?.reason, 'Forbidden (call ticket)');

    const t = await dial();
    assert.equal(t.target, `sip:${NUMBER}@${k.domain}`);
    const [h, p, s] = t.ticket.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, tel: '+447911123457' })).toString(
      'base64url',
    );
    const forged = await invite('+447911123457', `${h}.${forgedPayload}.${s}`);
    assert.equal(forged.reply?.status, 403);
    assert.equal(forged.reply?.reason, 'Forbidden (call ticket refused)');
    const elsewhere = await invite('+447911123457', t.ticket);
    assert.equal(elsewhere.reply?.status, 403);
    assert.match(k.log(), /dial-out: \S+ to \+447911123457 refused by the authority \(403\)/);
    const view = await api(a.url, 'getRequest', { headers: bearer(agent.token), params: { requestId } });
    assert.equal(view.body.phoneCallback.placedAt, null, 'nothing went out');
  });

  it('with the ticket the INVITE reaches the carrier: the number, the company’s caller ID, plain RTP; the answer comes back as WebRTC; BYE ends it', async () => {
    const t = await dial();
    const started = performance.now();
    const call = await invite(NUMBER, t.ticket);
    const ms = performance.now() - started;
    assert.equal(call.reply?.status, 200, call.reply?.raw);
    const ok = call.reply!;
    // The carrier's answer, turned into WebRTC for the console.
    assert.match(ok.raw, /^m=audio \d+ (UDP\/TLS\/)?RTP\/SAVPF /m);
    assert.match(ok.raw, /^a=fingerprint:/m);
    assert.match(ok.raw, /^a=ice-ufrag:/m);
    assert.match(ok.raw, /^X-VD-Media: anchored\r$/m);
    assert.match(
      ok.headers.get('from')?.[0] ?? '',
      new RegExp(`sip:${sipUser}@`),
      'the console’s own From back',
    );

    // What the carrier received.
    const log = readFileSync(join(dir, 'carrier.log'), 'utf8');
    const inviteAt = log.search(/^INVITE sip:/m);
    assert.ok(inviteAt >= 0, 'the carrier got an INVITE');
    const received = log.slice(inviteAt).split(/\n-{5,}/)[0]!;
    assert.match(received, new RegExp(`^INVITE sip:\\${NUMBER}@127\\.0\\.0\\.1:${carrierPort} SIP/2\\.0`));
    assert.match(received, new RegExp(`^From: <sip:\\${CALLER_ID}@127\\.0\\.0\\.1>;tag=`, 'mi'));
    assert.match(received, new RegExp(`^P-Asserted-Identity: <sip:\\${CALLER_ID}@127\\.0\\.0\\.1>`, 'mi'));
    assert.match(
      received,
      /^m=audio \d+ RTP\/AVP 0 8 101\r?$/m,
      'plain RTP in G.711 towards the phone network',
    );
    assert.doesNotMatch(received, /a=fingerprint|a=ice-|SAVPF|opus/);
    assert.doesNotMatch(received, /X-VD-|eyJ|Authorization/i, 'no ticket nor credentials reach the carrier');

    // ACK and BYE along the route set (the Record-Route reversed) to the carrier's Contact.
    const routes = (ok.headers.get('record-route') ?? [])
      .flatMap((h) => h.split(/,(?=\s*<)/))
      .map((r) => r.trim())
      .reverse();
    const contact = /<([^>]+)>/.exec(ok.headers.get('contact')?.[0] ?? '')?.[1] ?? '';
    const to = ok.headers.get('to')![0]!;
    const inDialog = (method: 'ACK' | 'BYE', cseq: number) =>
      [
        `${method} ${contact} SIP/2.0`,
        `Via: SIP/2.0/WS ${console_.host};branch=z9hG4bK${randomBytes(6).toString('hex')}`,
        'Max-Forwards: 70',
        ...routes.map((r) => `Route: ${r}`),
        `From: <sip:${sipUser}@${k.domain}>;tag=${call.fromTag}`,
        `To: ${to}`,
        `Call-ID: ${call.callId}`,
        `CSeq: ${cseq} ${method}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
    console_.send(inDialog('ACK', 2));
    const bye: SipReply | null = await console_.request(inDialog('BYE', 3), call.callId, '3 BYE', 10_000);
    assert.equal(bye?.status, 200, bye?.raw);
    assert.equal(await sippExit, 0, 'SIPp saw the whole call: INVITE, ACK, BYE');
    const byeAt = readFileSync(join(dir, 'carrier.log'), 'utf8').search(/^BYE sip:/m);
    const byeReceived = readFileSync(join(dir, 'carrier.log'), 'utf8')
      .slice(byeAt)
      .split(/\n-{5,}/)[0]!;
    assert.match(
      byeReceived,
      new RegExp(`^From: <sip:\\${CALLER_ID}@127\\.0\\.0\\.1>;tag=${call.fromTag}`, 'mi'),
      'the dialog keeps the caller ID towards the carrier',
    );

    // The console's BYE told the authority too: the request shows the call ended, by the agent.
    const view = await until('the callback shows the call ended', async () => {
      const r = await api(a.url, 'getRequest', { headers: bearer(agent.token), params: { requestId } });
      return r.body.phoneCallback?.endedAt ? r.body : undefined;
    });
    assert.ok(view.phoneCallback.placedAt);
    assert.equal(view.phoneCallback.endReason, 'agent_hung_up');
    assert.equal(view.phoneCallback.attempts, 1);
    assert.equal(view.phoneCallback.number, NUMBER);
    assert.equal(view.state, 'assigned', 'the request stays with the agent');
    console.log(
      `# INVITE with the ticket -> 200 from the carrier through Kamailio ${ms.toFixed(0)} ms (loopback)`,
    );
  });

  it('a call out is recorded (agent and customer channels, pause and resume), a supervisor listens, and the carrier’s hang-up ends it on the request', async () => {
    const tone = await TonePhone.open(1000);
    const carrier = await CarrierUas.listen(carrierPort, tone.port);
    const supervisor = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    try {
      const t = await dial();
      const call = await invite(NUMBER, t.ticket);
      assert.equal(call.reply?.status, 200, call.reply?.raw);
      assert.match(call.reply!.raw, /^X-VD-Recording: on\r$/m, 'the console is told the call is recorded');
      const received = carrier.inviteReceived!;
      assert.match(received, /^m=audio \d+ RTP\/AVP 0 8 101\r?$/m);
      assert.doesNotMatch(received, /^X-VD-/m, 'nothing internal reaches the carrier');
      // The customer's phone sends its 1 kHz tone to rtpengine's port for the carrier.
      tone.send(carrier.mediaTarget()!.port);
      const routes = (call.reply!.headers.get('record-route') ?? [])
        .flatMap((h) => h.split(/,(?=\s*<)/))
        .map((r) => r.trim())
        .reverse();
      const contact = /<([^>]+)>/.exec(call.reply!.headers.get('contact')?.[0] ?? '')?.[1] ?? '';
      console_.send(
        [
          `ACK ${contact} SIP/2.0`,
          `Via: SIP/2.0/WS ${console_.host};branch=z9hG4bK${randomBytes(6).toString('hex')}`,
          'Max-Forwards: 70',
          ...routes.map((r) => `Route: ${r}`),
          `From: <sip:${sipUser}@${k.domain}>;tag=${call.fromTag}`,
          `To: ${call.reply!.headers.get('to')![0]}`,
          `Call-ID: ${call.callId}`,
          'CSeq: 2 ACK',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      await until('the ACK at the carrier', () => carrier.requests('ACK').length > 0);

      // Kept with the request like any anchored call's recording: the agent (caller) on
      // channel 0, the customer on channel 1; the holder pauses and resumes it.
      const state = await api(a.url, 'recordingState', {
        params: { requestId },
        headers: bearer(agent.token),
      });
      assert.equal(state.body.state, 'recording', JSON.stringify(state.body));
      await new Promise((r) => setTimeout(r, 1500));
      const paused = await api(a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(agent.token),
        json: { fence },
      });
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      assert.equal(paused.body.state, 'paused');

      // A supervisor listens to the phone call: rtpengine forks each party to them.
      const listen = await api(a.url, 'monitorListen', {
        params: { requestId },
        headers: bearer(supervisor.token),
      });
      assert.equal(listen.status, 200, JSON.stringify(listen.body));
      const legs = listen.body.legs as { leg: number; party: string; offer: string }[];
      assert.deepEqual(
        legs.map((l) => `${l.leg} ${l.party}`),
        ['0 agent', '1 customer'],
      );
      for (const l of legs) {
        assert.match(l.offer, /^a=sendonly/m);
        const answered = await api(a.url, 'monitorListenAnswer', {
          params: { requestId },
          headers: bearer(supervisor.token),
          json: { leg: l.leg, answer: plainAnswer(44_000 + l.leg * 2) },
        });
        assert.equal(answered.status, 200, JSON.stringify(answered.body));
      }
      const q = await ngQuery(call.callId);
      const forked = Object.values(q).flatMap((m) =>
        (m.subscribers ?? []).map((s) => `${m.label ?? '?'} -> ${s.tag}`),
      );
      for (const [leg, party] of ['agent', 'customer'].entries())
        assert.ok(
          forked.includes(`${party} -> vdmon.${supervisor.staffId}.listen.${leg}`),
          `${party} forked to the supervisor: ${forked.join(', ')}`,
        );
      const left = await api(a.url, 'monitorLeave', {
        params: { requestId },
        headers: bearer(supervisor.token),
      });
      assert.equal(left.status, 200, JSON.stringify(left.body));

      await new Promise((r) => setTimeout(r, 1000));
      const resumed = await api(a.url, 'resumeRecording', {
        params: { requestId },
        headers: bearer(agent.token),
        json: { fence },
      });
      assert.equal(resumed.status, 200, JSON.stringify(resumed.body));
      await new Promise((r) => setTimeout(r, 1500));

      // The customer hangs up: the BYE reaches the console, and the authority is told.
      carrier.bye(trunkPort);
      await until('the BYE at the console', () =>
        console_.incoming.some((m) => m.startsWith('BYE ') && m.includes(call.callId)),
      );
      await until('200 to the carrier’s BYE', () => carrier.byeReply()?.startsWith('SIP/2.0 200'));
      const ended = await until('the request shows the call ended', async () => {
        const r = await api(a.url, 'getRequest', { headers: bearer(agent.token), params: { requestId } });
        return r.body.phoneCallback?.endedAt && r.body.phoneCallback.attempts === 2 ? r.body : undefined;
      });
      assert.equal(ended.phoneCallback.endReason, 'customer_hung_up');
      assert.equal(ended.state, 'assigned', 'the request stays with the agent to complete');
      assert.match(k.log(), /dial-out: call \S+ ended, \{"reason":"carrier_bye"\} \(authority 200\)/);
      // Nothing left to monitor once the call ended.
      const late = await api(a.url, 'monitorListen', {
        params: { requestId },
        headers: bearer(supervisor.token),
      });
      assert.equal(late.status, 409, JSON.stringify(late.body));

      // After the call the recording is converted and stored with the request.
      const rec = await until(
        'the recording stored',
        async () => {
          const [row] = await a.sql<{ id: string; state: string }>`
          SELECT id, state FROM recordings WHERE call_id = ${call.callId}`;
          return row && row.state !== 'recording' && row.state !== 'paused' ? row : undefined;
        },
        { timeoutMs: 20_000 },
      );
      assert.equal(rec.state, 'stored');
      const list = await api(a.url, 'requestRecordings', {
        params: { requestId },
        headers: bearer(supervisor.token),
      });
      const view = (list.body.recordings as { id: string; channels: string[]; spans: unknown[] }[]).find(
        (r) => r.id === rec.id,
      )!;
      assert.deepEqual(view.channels, ['agent', 'customer']);
      assert.equal(view.spans.length, 2, 'two recorded spans: before and after the pause');
      const stored = await a.services.ctx.data.read.recordings.get(rec.id);
      const wav = readWav(readFileSync(stored!.file_path!));
      assert.equal(wav.channels.length, 2, 'a channel per party');
      const customer = wav.channels[1]!;
      const peak = peakHz(
        customer,
        wav.rate,
        Math.floor(wav.rate * 0.2),
        customer.length - Math.floor(wav.rate * 0.2),
      );
      assert.ok(Math.abs(peak.hz - 1000) < 5, `the customer's channel holds their 1 kHz tone: ${peak.hz} Hz`);
      const audit = await a.sql<{ action: string; actor: string }>`
        SELECT action, actor FROM audit_log WHERE subject = ${`request:${requestId}`}
          AND action IN ('recording.start', 'recording.pause', 'recording.resume', 'recording.stored', 'phone.dial.end')
        ORDER BY seq`;
      assert.deepEqual(
        audit.slice(-5).map((e) => `${e.actor} ${e.action}`),
        [
          `staff:${agent.staffId} recording.start`,
          `staff:${agent.staffId} recording.pause`,
          `staff:${agent.staffId} recording.resume`,
          'sip:trunk phone.dial.end',
          'system recording.stored',
        ],
      );
    } finally {
      tone.close();
      carrier.close();
    }
  });
});
