/**
 * The console's sip.js Softphone as a state machine, over an in-memory SIP transport
 * and a scripted far end (no server, no WebRTC): registration and its refusal, a
 * ticketed call answered with the device proof, refused calls, hold that changes the
 * line only when the re-INVITE is accepted (and not when it is refused), mute, DTMF
 * both ways of sending, far-end BYE, an incoming consult call, a warm-transfer consult
 * leg while the customer is held, and the link dropping mid-call and while idle:
 * reconnect with backoff, a fresh REGISTER, an ICE-restart re-INVITE for the live
 * call (refused 481 when the call ended meanwhile: the call ends and stays marked
 * lost), no unhandled rejection anywhere.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { CallTicket } from '../../protocol/src/calls.ts';
import type { SipCredentials } from '../../protocol/src/sip.ts';
import {
  SipJsSoftphone,
  type AudioSink,
  type MediaSession,
} from '../../renderer/src/softphone/sipjs-softphone.ts';
import { lostCallRequestId } from '../../renderer/src/softphone/lost-call.ts';
import type { LineState } from '../../renderer/src/softphone/softphone.ts';
import { fakeMediaFactory, MemoryNetwork, type FakeMedia } from '../support/sip-memory.ts';
import { until } from '../support/wait.ts';

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown) => unhandled.push(e);

function sink(): AudioSink & { plays: number; pauses: number; sinkIds: string[] } {
  return {
    srcObject: null,
    src: '',
    loop: false,
    autoplay: false,
    plays: 0,
    pauses: 0,
    sinkIds: [],
    play() {
      this.plays++;
      return Promise.resolve();
    },
    pause() {
      this.pauses++;
    },
    setSinkId(id: string) {
      this.sinkIds.push(id);
      return Promise.resolve();
    },
  };
}

const CREDS: SipCredentials = {
  username: '1999999999:a-s_dana',
  password: 'secret',
  user: 'a-s_dana',
  domain: 'verified-desk.local',
  aor: 'sip:a-s_dana@verified-desk.local',
  wsUrl: 'ws://memory.invalid/sip',
  expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
  ice: { servers: [], transportPolicy: 'all', expiresAt: null },
};

const TICKET = {
  ticket: 'eyJ.ticket.jws',
  expiresAt: new Date(Date.now() + 60_000).toISOString(),
  claims: { dev: 'dev_bob_1', rid: 'r1' },
} as unknown as CallTicket;

/** A peer connection's state, driven by the test (what media-path watching reads). */
class FakePeerConnection extends EventTarget {
  connectionState: RTCPeerConnectionState = 'new';
  iceConnectionState: RTCIceConnectionState = 'new';
  getSenders(): RTCRtpSender[] {
    return [];
  }
  getReceivers(): RTCRtpReceiver[] {
    return [];
  }
  getStats(): Promise<RTCStatsReport> {
    return Promise.resolve(new Map() as unknown as RTCStatsReport);
  }
  set(ice: RTCIceConnectionState, conn: RTCPeerConnectionState): void {
    this.iceConnectionState = ice;
    this.dispatchEvent(new Event('iceconnectionstatechange'));
    this.connectionState = conn;
    this.dispatchEvent(new Event('connectionstatechange'));
  }
}

function setup(
  opts: { credentials?: () => Promise<SipCredentials>; peerConnection?: FakePeerConnection } = {},
) {
  const net = new MemoryNetwork();
  const { factory, media } = fakeMediaFactory();
  const remote = sink();
  const ringer = sink();
  const lines: LineState[] = [];
  const phone = new SipJsSoftphone({
    credentials: opts.credentials ?? (() => Promise.resolve(CREDS)),
    remoteAudio: remote,
    ringer,
    ringTone: () => 'blob:ring',
    media: null,
    transportConstructor: net.transportClass() as never,
    sessionDescriptionHandlerFactory: factory,
    mediaOf: (s) => {
      const m = media.get(s) as unknown as MediaSession | undefined;
      if (m && opts.peerConnection) m.peerConnection = opts.peerConnection as unknown as RTCPeerConnection;
      return m ?? null;
    },
    reconnectDelayMs: { first: 10, max: 40 },
    statsIntervalMs: 50,
  });
  phone.subscribe(() => {
    const l = phone.getSnapshot().line;
    if (lines.at(-1) !== l) lines.push(l);
  });
  const mediaOf = (): FakeMedia => [...media.values()].at(-1)!;
  return { net, far: net.far, phone, remote, ringer, lines, mediaOf };
}

describe('softphone (sip.js) state machine over an in-memory transport', () => {
  before(() => process.on('unhandledRejection', onUnhandled));
  after(() => {
    process.off('unhandledRejection', onUnhandled);
  });
  let phones: SipJsSoftphone[] = [];
  afterEach(async () => {
    for (const p of phones) await p.disconnect();
    phones = [];
    assert.deepEqual(unhandled, [], 'no unhandled rejection');
  });
  const track = <T extends { phone: SipJsSoftphone }>(s: T): T => {
    phones.push(s.phone);
    return s;
  };

  it('registers, calls the device with the ticket, gets the proof, hangs up', async () => {
    const { far, phone, lines, remote } = track(setup());
    await phone.connect();
    assert.equal(phone.getSnapshot().registration, 'registered');
    const reg = far.received.find((r) => r.method === 'REGISTER')!;
    assert.match(reg.getHeader('contact') ?? '', /transport=ws/);
    assert.match(reg.getHeader('expires') ?? reg.getHeader('contact') ?? '', /300/);

    const answer = await phone.call({ requestId: 'r1', ticket: TICKET, peer: 'Bob’s device' });
    // The proof, the call's SIP Call-ID (recorded calls are kept by it), and no recording without X-VD-Recording.
    assert.deepEqual(answer, { proof: 'device-proof-jws', callId: answer.callId, recorded: false });
    assert.match(answer.callId ?? '', /^\S+$/);
    const invite = far.received.find((r) => r.method === 'INVITE')!;
    assert.equal(invite.ruri?.toString(), 'sip:d-dev_bob_1@verified-desk.local');
    assert.equal(invite.getHeader('x-vd-call-ticket'), 'eyJ.ticket.jws');
    await until('connected', () => phone.getSnapshot().line === 'connected');
    assert.equal(phone.getSnapshot().requestId, 'r1');
    assert.equal(phone.getSnapshot().peer, 'Bob’s device');
    assert.ok(remote.srcObject, 'remote audio attached');

    await phone.hangUp();
    await until('ready after BYE', () => phone.getSnapshot().line === 'ready');
    assert.equal(far.count('BYE'), 1);
    assert.deepEqual(lines, ['connecting', 'ready', 'calling', 'connected', 'ending', 'ready']);
  });

  it('ICE failing (no media path) ends the call with the reason; a mere disconnect does not', async () => {
    const pc = new FakePeerConnection();
    const { far, phone, lines } = track(setup({ peerConnection: pc }));
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    pc.set('checking', 'connecting');
    pc.set('disconnected', 'disconnected');
    assert.equal(phone.getSnapshot().line, 'connected', 'disconnected may recover: the call stays');
    pc.set('failed', 'failed');
    await until('ready after BYE', () => phone.getSnapshot().line === 'ready');
    assert.equal(far.count('BYE'), 1);
    // The customer's phone says why too (its own ICE may not have given up yet).
    assert.equal(
      far.received.find((r) => r.method === 'BYE')?.getHeader('reason'),
      'SIP;cause=488;text="no media path"',
    );
    assert.equal(
      phone.getSnapshot().reason,
      'No media path to the customer: the network blocks direct audio and no TURN relay is available',
    );
    assert.deepEqual(lines, ['connecting', 'ready', 'calling', 'connected', 'ending', 'ready']);

    // The next call starts without the old reason, and its own failure is seen again.
    // The customer's phone gave up first: its BYE's Reason says why, and the line says it too.
    Object.assign(pc, { connectionState: 'new', iceConnectionState: 'new' });
    await phone.call({ requestId: 'r3', ticket: TICKET });
    assert.equal(phone.getSnapshot().reason, null);
    far.hangUp(['Reason: SIP;cause=488;text="no media path"']);
    await until('ready after the far-end BYE', () => phone.getSnapshot().line === 'ready');
    assert.match(phone.getSnapshot().reason ?? '', /^No media path to the customer/);
    // A plain far-end BYE ends a call without a reason.
    await phone.call({ requestId: 'r4', ticket: TICKET });
    far.hangUp();
    await until('ready again', () => phone.getSnapshot().line === 'ready');
    assert.equal(phone.getSnapshot().reason, null);

    await phone.call({ requestId: 'r2', ticket: TICKET });
    assert.equal(phone.getSnapshot().reason, null);
    pc.set('failed', 'failed');
    await until('second call ended', () => far.count('BYE') === 2);
  });

  it('gives its calls’ ICE settings (TURN, relay policy) to the page’s other peer connections', async () => {
    const ice = {
      servers: [{ urls: ['turn:198.51.100.7:3478?transport=udp'], username: '1:a-s_dana', credential: 'c' }],
      transportPolicy: 'relay' as const,
      expiresAt: null,
    };
    const { phone } = track(setup({ credentials: () => Promise.resolve({ ...CREDS, ice }) }));
    assert.equal(phone.iceConfiguration(), undefined, 'nothing before the credentials');
    await phone.connect();
    assert.deepEqual(phone.iceConfiguration(), { iceServers: ice.servers, iceTransportPolicy: 'relay' });
  });

  it('a refused REGISTER fails the line with the reason; a refused call returns to ready', async () => {
    const a = track(setup());
    a.far.rejectRegister = 403;
    await assert.rejects(a.phone.connect(), /could not register: REGISTER refused: 403/);
    assert.equal(a.phone.getSnapshot().line, 'failed');

    const b = track(setup());
    await b.phone.connect();
    b.far.answerInvite = 486;
    await assert.rejects(b.phone.call({ requestId: 'r1', ticket: TICKET }), /busy/);
    assert.equal(b.phone.getSnapshot().line, 'ready');
    assert.deepEqual(b.lines, ['connecting', 'ready', 'calling', 'ready']);
  });

  it('an answer without the proof header resolves with proof null (the console shows it in red)', async () => {
    const { far, phone } = track(setup());
    far.proof = null;
    await phone.connect();
    const answer = await phone.call({ requestId: 'r1', ticket: TICKET });
    assert.deepEqual(answer, { proof: null, callId: answer.callId, recorded: false });
  });

  it('hold changes the line only when the re-INVITE is accepted', async () => {
    const { far, phone, mediaOf } = track(setup());
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');

    far.rejectReinvite = 488;
    await assert.rejects(phone.hold(true), /Hold refused by the other side \(488/);
    assert.equal(phone.getSnapshot().line, 'connected', 'a refused hold does not pretend');
    assert.equal(mediaOf().offers.at(-1)?.hold, true, 'the re-INVITE offered hold');

    const connectedAt = phone.getSnapshot().connectedAt;
    assert.ok(connectedAt && connectedAt <= Date.now(), 'the line says when the call connected');
    far.rejectReinvite = null;
    await phone.hold(true);
    assert.equal(phone.getSnapshot().line, 'held');
    assert.equal(phone.getSnapshot().connectedAt, connectedAt, 'the call timer runs on through hold');
    assert.ok(phone.getSnapshot().heldAt, 'the line says when it was held');
    await phone.hold(false);
    assert.equal(phone.getSnapshot().line, 'connected');
    assert.equal(phone.getSnapshot().heldAt, null);
    assert.equal(phone.getSnapshot().connectedAt, connectedAt);
    assert.equal(mediaOf().offers.at(-1)?.hold, false);
    assert.equal(far.count('INVITE'), 4, 'initial + refused hold + hold + resume');
  });

  it('mute, DTMF as RFC 4733 events and as SIP INFO', async () => {
    const { far, phone, mediaOf } = track(setup());
    await phone.connect();
    assert.throws(() => phone.mute(true), /No call to mute/);
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    phone.mute(true);
    assert.equal(phone.getSnapshot().muted, true);
    phone.mute(false);

    await phone.sendDtmf('12#', 'rfc4733');
    assert.equal(mediaOf().dtmf, '12#');
    await phone.sendDtmf('5*', 'info');
    const infos = far.received.filter((r) => r.method === 'INFO');
    assert.deepEqual(
      infos.map((i) => [i.getHeader('content-type'), i.body]),
      [
        ['application/dtmf-relay', 'Signal=5\r\nDuration=120\r\n'],
        ['application/dtmf-relay', 'Signal=*\r\nDuration=120\r\n'],
      ],
    );
    assert.equal(phone.getSnapshot().dtmf, '12#5*');
    await assert.rejects(phone.sendDtmf('x'), /DTMF digits/);
  });

  it('hanging up because the request moved: the BYE says "transferred" (Reason), an ordinary one says nothing', async () => {
    const { far, phone } = track(setup());
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    await phone.hangUp('transferred');
    await until('ready after BYE', () => phone.getSnapshot().line === 'ready');
    const byes = far.received.filter((r) => r.method === 'BYE');
    assert.equal(byes[0]?.getHeader('reason'), 'SIP;cause=200;text="transferred"');
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected again', () => phone.getSnapshot().line === 'connected');
    await phone.hangUp();
    await until('ready after the second BYE', () => phone.getSnapshot().line === 'ready');
    assert.equal(far.received.filter((r) => r.method === 'BYE')[1]?.getHeader('reason'), undefined);
  });

  it('the far end hangs up: the line returns to ready', async () => {
    const { far, phone } = track(setup());
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    far.hangUp();
    await until('ready after the far-end BYE', () => phone.getSnapshot().line === 'ready');
    assert.equal(phone.getSnapshot().requestId, null);
  });

  it('cancelling a ringing call sends CANCEL and the call() promise says so', async () => {
    const { far, phone } = track(setup());
    far.autoAnswer = false;
    await phone.connect();
    const calling = phone.call({ requestId: 'r1', ticket: TICKET });
    await until('ringing', () => far.dialog !== null);
    await phone.hangUp();
    await assert.rejects(calling, /cancelled|ended before it was answered/);
    await until('ready', () => phone.getSnapshot().line === 'ready');
    assert.equal(far.count('CANCEL'), 1);
  });

  it('an incoming consult call rings on the ringer, is answered, and busy is refused', async () => {
    const { far, phone, ringer } = track(setup());
    await phone.connect();
    await phone.setDevices({ microphoneId: null, speakerId: 'spk-1', ringerId: 'ring-2' });
    assert.deepEqual(ringer.sinkIds, ['ring-2']);
    far.call(CREDS.aor);
    await until('incoming', () => phone.getSnapshot().line === 'incoming');
    assert.equal(phone.getSnapshot().peer, 'Sam Colleague');
    assert.equal(ringer.src, 'blob:ring');
    assert.ok(ringer.plays >= 1, 'ringing');
    await phone.answer();
    await until('connected', () => phone.getSnapshot().line === 'connected');
    assert.ok(ringer.pauses >= 1, 'the ring stops');
    await assert.rejects(phone.call({ requestId: 'r1', ticket: TICKET }), /Already on a call/);
  });

  it('warm transfer consult: a second leg while the customer is held; the line stays held', async () => {
    const { far, phone, remote, lines } = track(setup());
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET, peer: 'Bob’s device' });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    const customerAudio = remote.srcObject;
    await assert.rejects(phone.consult('a-s_sam', 'Sam Patel'), /on hold before the consult/);
    await phone.hold(true);
    await phone.consult('a-s_sam', 'Sam Patel');
    const invite = far.received.filter((r) => r.method === 'INVITE').at(-1)!;
    assert.equal(invite.ruri?.toString(), 'sip:a-s_sam@verified-desk.local');
    assert.equal(invite.getHeader('x-vd-call-ticket'), undefined, 'a colleague needs no ticket');
    assert.deepEqual(phone.getSnapshot().consult, { peer: 'Sam Patel', state: 'connected' });
    assert.equal(phone.getSnapshot().line, 'held');
    assert.equal(phone.getSnapshot().requestId, 'r1', 'the line still belongs to the customer');
    assert.notEqual(remote.srcObject, customerAudio, 'the speaker plays the consult leg');
    await assert.rejects(phone.consult('a-s_sam'), /already open/);
    const byes = far.count('BYE');
    await phone.endConsult();
    await until('consult ended', () => !phone.getSnapshot().consult);
    assert.equal(far.count('BYE'), byes + 1);
    assert.equal(remote.srcObject, customerAudio, 'back to the held call');
    assert.equal(phone.getSnapshot().line, 'held');
    await phone.hold(false);
    assert.deepEqual(lines, ['connecting', 'ready', 'calling', 'connected', 'held', 'connected']);
  });

  it('the link drops mid-call: reconnect, re-REGISTER, ICE-restart re-INVITE; the call stays up', async () => {
    const { net, far, phone, mediaOf } = track(setup());
    await phone.connect();
    await phone.call({ requestId: 'r1', ticket: TICKET });
    await until('connected', () => phone.getSnapshot().line === 'connected');
    const registersBefore = far.count('REGISTER');

    net.down = true;
    net.drop();
    assert.equal(phone.getSnapshot().registration, 'reconnecting');
    assert.equal(phone.getSnapshot().line, 'connected', 'the call keeps its line state');
    const connectsBefore = net.connects;
    await until(
      '3 refused reconnect attempts while the link is down',
      () => net.connects >= connectsBefore + 3,
    );
    assert.equal(phone.getSnapshot().registration, 'reconnecting', 'refused attempts leave it reconnecting');
    net.down = false;
    await until('re-registered', () => phone.getSnapshot().registration === 'registered');
    assert.equal(far.count('REGISTER'), registersBefore + 1);
    await until('ICE restart accepted', () => phone.counters.iceRestarts === 1);
    const restart = mediaOf().offers.find(
      (o) => (o as { offerOptions?: RTCOfferOptions }).offerOptions?.iceRestart,
    );
    assert.ok(restart, 'the re-INVITE offer asked for an ICE restart');
    assert.equal(phone.getSnapshot().line, 'connected');

    // The next re-INVITE (hold) does not repeat the ICE restart.
    await phone.hold(true);
    assert.equal((mediaOf().offers.at(-1) as { offerOptions?: RTCOfferOptions }).offerOptions, undefined);
    // And the far end's BYE still arrives over the new link.
    far.hangUp();
    await until('ready after BYE', () => phone.getSnapshot().line === 'ready');
  });

  it('the link comes back after the call ended meanwhile (481 to the ICE-restart re-INVITE): the call ends, marked lost', async () => {
    // A page's localStorage: where the lost call is kept for the desk (lost-call.ts).
    const kept = new Map<string, string>();
    const storage = {
      getItem: (k: string) => kept.get(k) ?? null,
      setItem: (k: string, v: string) => void kept.set(k, v),
      removeItem: (k: string) => void kept.delete(k),
    };
    Object.assign(globalThis, { localStorage: storage });
    try {
      const { net, far, phone, lines } = track(setup());
      await phone.connect();
      await phone.call({ requestId: 'r1', ticket: TICKET });
      await until('connected', () => phone.getSnapshot().line === 'connected');
      assert.equal(lostCallRequestId(), 'r1', 'the call on the line is remembered');

      // The network is cut for longer than the SIP server's grace: it hung the customer up.
      net.down = true;
      net.drop();
      far.rejectReinvite = 481;
      net.down = false;
      await until('the line is ready again', () => phone.getSnapshot().line === 'ready');
      assert.deepEqual(lines.slice(-3), ['connected', 'ending', 'ready']);
      assert.equal(phone.getSnapshot().registration, 'registered');
      assert.equal(
        lostCallRequestId(),
        'r1',
        'the call stays marked lost: the desk says "Call lost — call again"',
      );
      assert.equal(phone.counters.iceRestarts, 0);
    } finally {
      Reflect.deleteProperty(globalThis, 'localStorage');
    }
  });

  it('the link drops while idle: connecting, then ready again; repeated drops never leave it stuck', async () => {
    const { net, phone, lines } = track(setup());
    await phone.connect();
    for (let i = 0; i < 20; i++) {
      net.drop();
      assert.equal(phone.getSnapshot().line, 'connecting');
      await until(`ready after drop ${i + 1}`, () => phone.getSnapshot().line === 'ready');
    }
    assert.equal(phone.counters.reconnects, 20);
    assert.deepEqual(lines.slice(0, 4), ['connecting', 'ready', 'connecting', 'ready']);
  });

  it('disconnect unregisters and stops every timer', async () => {
    const { far, phone } = setup();
    await phone.connect();
    await phone.disconnect();
    assert.equal(phone.getSnapshot().line, 'disconnected');
    const last = far.received.filter((r) => r.method === 'REGISTER').at(-1)!;
    assert.match(last.getHeader('contact') ?? '', /expires=0/);
  });
});
