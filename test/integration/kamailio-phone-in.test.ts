/**
 * A call from the phone network through Kamailio to the authority (issue 14 item 1): a
 * "carrier" on loopback sends a plain SIP INVITE over UDP to the trunk port; Kamailio asks
 * the authority (POST /v1/sip/trunk/calls with the shared secret), which queues a request
 * for the customer the caller ID points to (level 0, "not verified") and offers it to the
 * available agent; the caller hears ringing (180) while the INVITE is held. The caller
 * hanging up (CANCEL) abandons the request: the offer is withdrawn, the CANCEL gets 200 and
 * the INVITE 487. A number not answered here gets 404, an unknown caller 480.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { freeTcpPort, startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { until } from '../support/wait.ts';

const SECRET = 'sip-server-secret-for-the-kamailio-phone-in-test-0123';
const DIALLED = '+442079460000';
const CARRIER = '127.0.0.1';

/** A carrier's side of one call over UDP: the INVITE, every reply kept, CANCEL and ACK of the same transaction. */
class CarrierCall {
  readonly callId = `${randomBytes(8).toString('hex')}@${CARRIER}`;
  readonly replies: string[] = [];
  private readonly branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  private readonly tag = randomBytes(4).toString('hex');
  private socket!: Socket;
  private localPort = 0;

  constructor(
    private readonly trunkPort: number,
    readonly from: string,
    readonly to = DIALLED,
  ) {}

  async invite(): Promise<void> {
    this.socket = createSocket('udp4');
    this.socket.on('message', (m) => this.replies.push(m.toString('utf8')));
    await new Promise<void>((r) => this.socket.bind(0, CARRIER, r));
    this.localPort = this.socket.address().port;
    const sdp = [
      'v=0',
      `o=- 1 1 IN IP4 ${CARRIER}`,
      's=-',
      `c=IN IP4 ${CARRIER}`,
      't=0 0',
      'm=audio 40000 RTP/AVP 0',
      'a=rtpmap:0 PCMU/8000',
      '',
    ].join('\r\n');
    this.send('INVITE', ['Content-Type: application/sdp'], sdp);
  }

  cancel(): void {
    this.send('CANCEL');
  }

  ack(): void {
    const toTag = /^To:.*;tag=([^;\r\n]+)/im.exec(this.final() ?? '')?.[1];
    this.send('ACK', [], '', toTag);
  }

  /** Status lines received so far ("180 Ringing", "487 Request Terminated"...), for CSeq method `method`. */
  statuses(method = 'INVITE'): string[] {
    return this.replies
      .filter((r) => new RegExp(`^CSeq: 1 ${method}`, 'im').test(r))
      .map((r) => r.split('\r\n')[0]!.replace('SIP/2.0 ', ''));
  }

  final(method = 'INVITE'): string | undefined {
    return this.replies.find(
      (r) => new RegExp(`^CSeq: 1 ${method}`, 'im').test(r) && /^SIP\/2\.0 [2-6]\d\d/.test(r),
    );
  }

  close(): void {
    this.socket?.close();
  }

  private send(method: string, extra: string[] = [], body = '', toTag?: string): void {
    const text = [
      `${method} sip:${this.to}@127.0.0.1:${this.trunkPort} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CARRIER}:${this.localPort};branch=${this.branch};rport`,
      `From: <sip:${this.from}@${CARRIER}>;tag=${this.tag}`,
      `To: <sip:${this.to}@127.0.0.1>${toTag ? `;tag=${toTag}` : ''}`,
      `Call-ID: ${this.callId}`,
      `CSeq: 1 ${method}`,
      `Contact: <sip:${this.from}@${CARRIER}:${this.localPort}>`,
      'Max-Forwards: 70',
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
    this.socket.send(text, this.trunkPort, '127.0.0.1');
  }
}

describe('a call from the phone network through Kamailio becomes a request the agent is offered', () => {
  let a: TestAuthority;
  let k: RunningKamailio;
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
    a = await startTestAuthority({ sipServerSecret: SECRET, accessTokenSeconds: 3600 });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    const put = await api(a.url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: { ...cfg.body, phoneNumbers: [{ number: DIALLED, optionId: 'other' }] },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const phones = await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: 'c_alice_martin_01' },
      json: { phones: [{ number: '+44 7911 123456', label: 'mobile' }] },
    });
    assert.equal(phones.status, 200, JSON.stringify(phones.body));
    trunkPort = await freeTcpPort();
    k = await startKamailio({
      secret: randomBytes(24).toString('base64url'),
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        `TRUNK_ALLOW=${CARRIER}/32`,
        `AUTHORITY_URL=${a.url}`,
        `SIP_SERVER_SECRET=${SECRET}`,
      ],
    });
  });
  after(async () => {
    for (const c of calls) c.close();
    await k?.stop();
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

  it('a number not answered here is 404, an unknown caller 480, from Kamailio with the authority’s word', async () => {
    const notOurs = call('+447911123456', '+442079460999');
    await notOurs.invite();
    await until('a final answer', () => notOurs.final(), { timeoutMs: 10_000 });
    assert.match(notOurs.final()!, /^SIP\/2\.0 404 Not Found \(number not in service\)/);
    notOurs.ack();
    const stranger = call('+447700900999');
    await stranger.invite();
    await until('a final answer', () => stranger.final(), { timeoutMs: 10_000 });
    assert.match(stranger.final()!, /^SIP\/2\.0 480 Temporarily Unavailable \(caller not recognised\)/);
    stranger.ack();
  });
});
