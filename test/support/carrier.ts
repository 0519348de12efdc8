/**
 * A carrier's side of a call from the phone network (plain SIP over UDP to Kamailio's
 * trunk port): the INVITE with a plain RTP offer, every reply kept, CANCEL and ACK of the
 * same transaction, and in-dialog requests along the answer's route set. Used by the
 * phone-in tests and bench/phone-in.ts.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';

export const CARRIER = '127.0.0.1';

/** A carrier's side of one call over UDP: the INVITE, every reply kept, CANCEL and ACK of the same transaction. */
export class CarrierCall {
  readonly callId = `${randomBytes(8).toString('hex')}@${CARRIER}`;
  readonly replies: string[] = [];
  private readonly branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
  private readonly tag = randomBytes(4).toString('hex');
  private socket!: Socket;
  private localPort = 0;

  constructor(
    private readonly trunkPort: number,
    readonly from: string,
    readonly to: string,
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

  /**
   * An in-dialog request after a 2xx (ACK, BYE): to the answer's Contact, along its
   * Record-Route (reversed: the caller's route set), its own CSeq.
   */
  inDialog(method: 'ACK' | 'BYE'): void {
    const ok = this.final()!;
    const headers = ok.split('\r\n\r\n')[0]!.split('\r\n');
    const toTag = /;tag=([^;>\s]+)/.exec(headers.find((h) => /^(To|t):/i.test(h)) ?? '')?.[1];
    const routes = headers
      .filter((h) => /^Record-Route:/i.test(h))
      .flatMap((h) => h.replace(/^Record-Route:\s*/i, '').split(/,(?=\s*<)/))
      .map((r) => r.trim())
      .reverse();
    const contact = /<([^>]+)>/.exec(headers.find((h) => /^(Contact|m):/i.test(h)) ?? '')?.[1] ?? '';
    const cseq = method === 'ACK' ? 1 : 2;
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    const text = [
      `${method} ${contact} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CARRIER}:${this.localPort};branch=${branch};rport`,
      ...routes.map((r) => `Route: ${r}`),
      `From: <sip:${this.from}@${CARRIER}>;tag=${this.tag}`,
      `To: <sip:${this.to}@127.0.0.1>;tag=${toTag}`,
      `Call-ID: ${this.callId}`,
      `CSeq: ${cseq} ${method}`,
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.socket.send(text, this.trunkPort, '127.0.0.1');
  }

  /** Status lines received so far ("180 Ringing", "487 Request Terminated"...), for CSeq method `method`. */
  statuses(method = 'INVITE'): string[] {
    return this.replies
      .filter((r) => new RegExp(`^CSeq: \\d+ ${method}`, 'im').test(r))
      .map((r) => r.split('\r\n')[0]!.replace('SIP/2.0 ', ''));
  }

  final(method = 'INVITE'): string | undefined {
    return this.replies.find(
      (r) => new RegExp(`^CSeq: \\d+ ${method}`, 'im').test(r) && /^SIP\/2\.0 [2-6]\d\d/.test(r),
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

/**
 * A carrier's side of a call out (Kamailio's TRUNK_OUTBOUND): a UAS on a UDP port that
 * answers the first INVITE 180 then 200 with a plain RTP answer naming `mediaPort` (where
 * the test's RTP source listens), keeps every message, and can hang up itself: a BYE
 * along the INVITE's Record-Route to the caller's Contact, as a carrier does when the
 * customer puts the phone down. Used by kamailio-dial-out.
 */
export class CarrierUas {
  readonly received: string[] = [];
  private invite: string | null = null;
  private readonly tag = randomBytes(4).toString('hex');
  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    private readonly mediaPort: number,
  ) {
    socket.on('message', (m, from) => this.onMessage(m.toString('utf8'), from.port, from.address));
  }

  static async listen(port: number, mediaPort: number): Promise<CarrierUas> {
    const s = createSocket('udp4');
    await new Promise<void>((ok, fail) => {
      s.once('error', fail);
      s.bind(port, CARRIER, () => ok());
    });
    return new CarrierUas(s, port, mediaPort);
  }

  /** The INVITE received (null before one came). */
  get inviteReceived(): string | null {
    return this.invite;
  }

  /** rtpengine's address for the carrier's media: the INVITE's c= and m= port. */
  mediaTarget(): { host: string; port: number } | null {
    const body = this.invite?.split('\r\n\r\n')[1] ?? '';
    const host = /^c=IN IP4 (\S+)/m.exec(body)?.[1];
    const port = /^m=audio (\d+)/m.exec(body)?.[1];
    return host && port ? { host, port: Number(port) } : null;
  }

  /** Requests received with this method (BYE, ACK ...). */
  requests(method: string): string[] {
    return this.received.filter((m) => m.startsWith(`${method} `));
  }

  /** The customer hangs up: a BYE in the dialog of the INVITE answered. */
  bye(proxyPort: number): void {
    const inv = this.invite!;
    const head = inv.split('\r\n\r\n')[0]!.split('\r\n');
    const get = (name: RegExp) => head.filter((h) => name.test(h)).map((h) => h.replace(/^[^:]+:\s*/, ''));
    // The callee's route set: the INVITE's Record-Route in its own order.
    const routes = get(/^Record-Route:/i).flatMap((h) => h.split(/,(?=\s*<)/).map((r) => r.trim()));
    const contact = /<([^>]+)>/.exec(get(/^(Contact|m):/i)[0] ?? '')?.[1] ?? '';
    const from = get(/^(From|f):/i)[0]!;
    const to = get(/^(To|t):/i)[0]!;
    const text = [
      `BYE ${contact} SIP/2.0`,
      `Via: SIP/2.0/UDP ${CARRIER}:${this.port};branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
      ...routes.map((r) => `Route: ${r}`),
      `From: ${to};tag=${this.tag}`,
      `To: ${from}`,
      `Call-ID: ${get(/^(Call-ID|i):/i)[0]}`,
      'CSeq: 1 BYE',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    this.socket.send(text, proxyPort, CARRIER);
  }

  /** The final reply the carrier got to its BYE, if any. */
  byeReply(): string | undefined {
    return this.received.find((m) => /^SIP\/2\.0 [2-6]\d\d/.test(m) && /^CSeq: 1 BYE/im.test(m));
  }

  close(): void {
    this.socket.close();
  }

  private onMessage(text: string, port: number, address: string): void {
    this.received.push(text);
    if (!text.startsWith('INVITE ')) return;
    if (this.invite && !text.includes(this.callIdOf(this.invite))) return;
    this.invite = text;
    const head = text.split('\r\n\r\n')[0]!.split('\r\n');
    const keep = head.filter((l) => /^(Via|v|From|f|Call-ID|i|CSeq|Record-Route)\s*:/i.test(l));
    const to = head.find((l) => /^(To|t)\s*:/i.test(l))!;
    const sdp = [
      'v=0',
      `o=carrier 1 1 IN IP4 ${CARRIER}`,
      's=-',
      `c=IN IP4 ${CARRIER}`,
      't=0 0',
      `m=audio ${this.mediaPort} RTP/AVP 0`,
      'a=rtpmap:0 PCMU/8000',
      'a=sendrecv',
      '',
    ].join('\r\n');
    const reply = (status: string, body = '') =>
      [
        `SIP/2.0 ${status}`,
        ...keep,
        `${to};tag=${this.tag}`,
        `Contact: <sip:carrier@${CARRIER}:${this.port}>`,
        ...(body ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n');
    this.socket.send(reply('180 Ringing'), port, address);
    this.socket.send(reply('200 OK', sdp), port, address);
  }

  private callIdOf(text: string): string {
    return /^(?:Call-ID|i)\s*:\s*(\S+)/im.exec(text)?.[1] ?? '';
  }
}
