/**
 * SIP without a server, for softphone state-machine tests in node: a sip.js
 * Transport that hands every message to a scripted far end (registrar + the device
 * being called), a far end that answers like the authority's edge and a customer
 * phone would (or refuses, when told to), and a session description handler with no
 * WebRTC that records what sip.js asked of it (hold, ICE restart, DTMF).
 *
 * Messages are parsed with sip.js's own parser (the edge's parseSip) and answered
 * with the edge's responseTo, so what the softphone sees is real SIP text.
 */
import { randomBytes } from 'node:crypto';
import type { Session, SessionDescriptionHandler, SessionDescriptionHandlerOptions, Transport } from 'sip.js';
import { TransportState } from 'sip.js';
import { EmitterImpl } from 'sip.js/lib/api/emitter.js';
import { isRequest, parseSip, responseTo, type SipRequest } from '../../authority/src/sip/message.ts';

const tag = () => randomBytes(5).toString('hex');

/** Replace the empty body of a serialized response with `body` (Content-Type added). */
function withBody(response: string, contentType: string, body: string): string {
  const head = response.replace(/Content-Length: 0\r\n\r\n$/, '');
  return `${head}Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

const SDP = (ufrag: string) =>
  [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 126',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${ufrag}`,
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:126 telephone-event/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');

export interface FarEndDialog {
  invite: SipRequest;
  localTag: string;
  cseq: number;
}

/**
 * The other side: registrar for REGISTER, the called device for INVITE (100, 180,
 * 200 with the proof header), answers re-INVITE / INFO / BYE, and can hang up.
 */
export class FarEnd {
  /** Every request received, in order (method and the parsed message). */
  readonly received: SipRequest[] = [];
  /** Set to a status (e.g. 488) to refuse re-INVITEs; null accepts them. */
  rejectReinvite: number | null = null;
  /** Set to a status (e.g. 403) to refuse REGISTER. */
  rejectRegister: number | null = null;
  /** How a REGISTER is answered otherwise: 'ok' (200 with the binding), 'no-binding' (200 without Contact), 'silent' (never). */
  registerAnswer: 'ok' | 'no-binding' | 'silent' = 'ok';
  /** Final answer to an initial INVITE: 200 (with the proof) or a failure status. */
  answerInvite: number = 200;
  proof: string | null = 'device-proof-jws';
  /** Whether the device answers on its own (else call `answer()`). */
  autoAnswer = true;
  dialog: FarEndDialog | null = null;
  private transport: MemoryTransport | null = null;

  attach(t: MemoryTransport): void {
    this.transport = t;
  }

  private send(text: string | null): void {
    if (text) queueMicrotask(() => this.transport?.deliver(text));
  }

  count(method: string): number {
    return this.received.filter((r) => r.method === method).length;
  }

  handle(text: string): void {
    const m = parseSip(text);
    if (!m) return;
    if (!isRequest(m)) {
      // A 2xx to an INVITE we sent (a colleague's call) is acknowledged; other responses need nothing.
      if (m.cseq && m.method === 'INVITE' && m.statusCode! >= 200 && m.statusCode! < 300) {
        const target = /<([^>]+)>/.exec(m.getHeader('contact') ?? '')?.[1];
        this.send(
          [
            `ACK ${target} SIP/2.0`,
            `Via: SIP/2.0/WSS far.invalid;branch=z9hG4bK${tag()}`,
            'Max-Forwards: 70',
            `From: ${m.getHeader('from')}`,
            `To: ${m.getHeader('to')}`,
            `Call-ID: ${m.callId}`,
            `CSeq: ${m.cseq} ACK`,
            'Content-Length: 0',
            '',
            '',
          ].join('\r\n'),
        );
      }
      return;
    }
    this.received.push(m);
    const inDialog = !!m.toTag;
    switch (m.method) {
      case 'REGISTER': {
        if (this.rejectRegister) return this.send(responseTo(m, this.rejectRegister, 'Forbidden', [], tag()));
        if (this.registerAnswer === 'silent') return;
        if (this.registerAnswer === 'no-binding') return this.send(responseTo(m, 200, 'OK', [], tag()));
        const contact = m.getHeader('contact') ?? '';
        return this.send(responseTo(m, 200, 'OK', [`Contact: ${contact};expires=300`], tag()));
      }
      case 'INVITE': {
        if (inDialog) {
          if (this.rejectReinvite)
            return this.send(responseTo(m, this.rejectReinvite, 'Not Acceptable Here', [], undefined));
          const ok = responseTo(m, 200, 'OK', ['Contact: <sip:device@far.invalid;transport=ws>']);
          return this.send(ok && withBody(ok, 'application/sdp', SDP('far2')));
        }
        const localTag = tag();
        this.dialog = { invite: m, localTag, cseq: 1 };
        this.send(responseTo(m, 100, 'Trying'));
        this.send(
          responseTo(m, 180, 'Ringing', ['Contact: <sip:device@far.invalid;transport=ws>'], localTag),
        );
        if (this.autoAnswer) this.answer();
        return;
      }
      case 'ACK':
        return;
      case 'CANCEL': {
        this.send(responseTo(m, 200, 'OK'));
        const inv = this.dialog?.invite;
        if (inv) this.send(responseTo(inv, 487, 'Request Terminated', [], this.dialog!.localTag));
        this.dialog = null;
        return;
      }
      case 'BYE':
        this.dialog = null;
        return this.send(responseTo(m, 200, 'OK'));
      case 'INFO':
        return this.send(responseTo(m, 200, 'OK'));
      default:
        return this.send(responseTo(m, 405, 'Method Not Allowed'));
    }
  }

  /** The device answers the ringing INVITE (200 with SDP and the proof header) or fails it. */
  answer(): void {
    const d = this.dialog;
    if (!d) throw new Error('nothing ringing');
    if (this.answerInvite !== 200) {
      this.send(responseTo(d.invite, this.answerInvite, 'Busy Here', [], d.localTag));
      this.dialog = null;
      return;
    }
    const extra = ['Contact: <sip:device@far.invalid;transport=ws>'];
    if (this.proof) extra.push(`X-VD-Device-Proof: ${this.proof}`);
    const ok = responseTo(d.invite, 200, 'OK', extra, d.localTag);
    this.send(ok && withBody(ok, 'application/sdp', SDP('far1')));
  }

  /** The device hangs up: a BYE to the softphone's Contact inside the dialog (with these header lines). */
  hangUp(extraHeaders: string[] = []): void {
    const d = this.dialog;
    if (!d) throw new Error('no call');
    const inv = d.invite;
    const target = /<([^>]+)>/.exec(inv.getHeader('contact') ?? '')?.[1];
    const from = `${inv.getHeader('to')};tag=${d.localTag}`;
    this.dialog = null;
    this.send(
      [
        `BYE ${target} SIP/2.0`,
        `Via: SIP/2.0/WSS far.invalid;branch=z9hG4bK${tag()}`,
        'Max-Forwards: 70',
        `From: ${from}`,
        `To: ${inv.getHeader('from')}`,
        `Call-ID: ${inv.callId}`,
        `CSeq: ${++d.cseq + 100} BYE`,
        ...extraHeaders,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }

  /** A colleague calls the softphone (an incoming INVITE). */
  call(toAor: string): void {
    const callId = tag();
    this.send(
      [
        `INVITE ${toAor} SIP/2.0`,
        `Via: SIP/2.0/WSS far.invalid;branch=z9hG4bK${tag()}`,
        'Max-Forwards: 70',
        `From: "Sam Colleague" <sip:a-colleague@verified-desk.local>;tag=${tag()}`,
        `To: <${toAor}>`,
        `Call-ID: ${callId}`,
        'CSeq: 1 INVITE',
        'Contact: <sip:a-colleague@far.invalid;transport=ws>',
        'Content-Type: application/sdp',
        `Content-Length: ${Buffer.byteLength(SDP('col1'))}`,
        '',
        SDP('col1'),
      ].join('\r\n'),
    );
  }
}

/** A network the test controls: drop the link, refuse reconnects for a while. */
export class MemoryNetwork {
  readonly far = new FarEnd();
  current: MemoryTransport | null = null;
  /** While true, connect() fails (the server is unreachable). */
  down = false;
  connects = 0;

  /** The link dies (no close handshake): the softphone sees onDisconnect(error). */
  drop(): void {
    this.current?.fail(new Error('network link lost'));
  }

  /** The transport class to hand to sip.js (UserAgentOptions.transportConstructor). */
  transportClass(): new () => Transport {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const network = this;
    return class extends MemoryTransport {
      constructor() {
        super(network);
      }
    };
  }
}

export class MemoryTransport implements Transport {
  private _state: TransportState = TransportState.Disconnected;
  private readonly emitter = new EmitterImpl<TransportState>();
  onConnect: (() => void) | undefined;
  onDisconnect: ((error?: Error) => void) | undefined;
  onMessage: ((message: string) => void) | undefined;
  readonly protocol = 'WS';

  constructor(private readonly network: MemoryNetwork) {
    network.current = this;
    network.far.attach(this);
  }

  get state(): TransportState {
    return this._state;
  }
  get stateChange() {
    return this.emitter;
  }

  private to(s: TransportState, error?: Error): void {
    const old = this._state;
    this._state = s;
    this.emitter.emit(s);
    if (s === TransportState.Connected) this.onConnect?.();
    if (old === TransportState.Connected && s !== TransportState.Connected) this.onDisconnect?.(error);
  }

  connect(): Promise<void> {
    this.network.connects++;
    if (this._state === TransportState.Connected) return Promise.resolve();
    this.to(TransportState.Connecting);
    if (this.network.down) {
      this.to(TransportState.Disconnected);
      return Promise.reject(new Error('connection refused'));
    }
    this.network.current = this;
    this.network.far.attach(this);
    this.to(TransportState.Connected);
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    if (this._state === TransportState.Disconnected) return Promise.resolve();
    this.to(TransportState.Disconnecting);
    this.to(TransportState.Disconnected);
    return Promise.resolve();
  }

  fail(error: Error): void {
    if (this._state !== TransportState.Connected) return;
    this.to(TransportState.Disconnected, error);
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected;
  }

  send(message: string): Promise<void> {
    if (this._state !== TransportState.Connected) return Promise.reject(new Error('not connected'));
    this.network.far.handle(message);
    return Promise.resolve();
  }

  /** A message from the far end. */
  deliver(text: string): void {
    if (this._state === TransportState.Connected) this.onMessage?.(text);
  }

  dispose(): Promise<void> {
    return this.disconnect();
  }
}

/** What the fake media recorded for one session. */
/** The web SDH's options sip.js passes through (hold, offerOptions.iceRestart). */
export type WebSdhOptions = SessionDescriptionHandlerOptions & {
  hold?: boolean;
  offerOptions?: RTCOfferOptions;
};

export interface FakeMedia {
  offers: WebSdhOptions[];
  dtmf: string;
  closed: boolean;
  peerConnection: undefined;
  remoteMediaStream: MediaStream;
  sendDtmf(tones: string): boolean;
}

/** A session description handler without WebRTC; `media` maps each session to what it recorded. */
export function fakeMediaFactory(): {
  factory: (session: Session, options?: object) => SessionDescriptionHandler;
  media: Map<Session, FakeMedia>;
} {
  const media = new Map<Session, FakeMedia>();
  let n = 0;
  const factory = (session: Session): SessionDescriptionHandler => {
    const m: FakeMedia = {
      offers: [],
      dtmf: '',
      closed: false,
      peerConnection: undefined,
      remoteMediaStream: { id: `remote-${++n}` } as unknown as MediaStream,
      sendDtmf(tones: string) {
        m.dtmf += tones;
        return true;
      },
    };
    media.set(session, m);
    let ufrag = 0;
    return {
      close: () => {
        m.closed = true;
      },
      getDescription: (options?: SessionDescriptionHandlerOptions) => {
        m.offers.push({ ...((options ?? {}) as WebSdhOptions) });
        const restart = (options as { offerOptions?: RTCOfferOptions } | undefined)?.offerOptions?.iceRestart;
        if (restart || ufrag === 0) ufrag++;
        return Promise.resolve({ body: SDP(`near${ufrag}`), contentType: 'application/sdp' });
      },
      hasDescription: (contentType: string) => contentType === 'application/sdp',
      setDescription: () => Promise.resolve(),
      sendDtmf: (tones: string) => m.sendDtmf(tones),
    };
  };
  return { factory, media };
}
