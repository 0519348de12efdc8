import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import WebSocket from 'ws';
import { digestResponse } from '../../authority/src/sip/credentials.ts';

/**
 * A SIP client speaking raw SIP over the edge's WebSocket (subprotocol "sip"), for what
 * sip.js would never send: a replayed Authorization header, forged identity headers.
 */
export class RawSip {
  readonly inbox: string[] = [];
  private wake: (() => void)[] = [];
  readonly host = `${randomBytes(6).toString('hex')}.invalid`;
  private cseq = 1;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      this.inbox.push(String(d));
      for (const w of this.wake.splice(0)) w();
    });
  }
  static async open(wsUrl: string): Promise<RawSip> {
    const ws = new WebSocket(wsUrl, 'sip');
    const c = new RawSip(ws);
    await once(ws, 'open');
    return c;
  }
  /** Send a request (Via, CSeq and Content-Length filled in); resolve with the first response to it. */
  async request(method: string, ruri: string, headers: string[], body = ''): Promise<string> {
    const cseq = this.cseq++;
    const branch = `z9hG4bK${randomBytes(6).toString('hex')}`;
    this.ws.send(
      [
        `${method} ${ruri} SIP/2.0`,
        `Via: SIP/2.0/WSS ${this.host};branch=${branch}`,
        'Max-Forwards: 70',
        `CSeq: ${cseq} ${method}`,
        ...headers,
        `Content-Length: ${Buffer.byteLength(body)}`,
        '',
        body,
      ].join('\r\n'),
    );
    return this.take((m) => m.startsWith('SIP/2.0 ') && m.includes(branch));
  }
  /** Remove and return the first message matching (already arrived or arriving). */
  async take(match: (m: string) => boolean): Promise<string> {
    for (;;) {
      const i = this.inbox.findIndex(match);
      if (i >= 0) return this.inbox.splice(i, 1)[0]!;
      await new Promise<void>((r) => this.wake.push(r));
    }
  }
  /** Answer a request that arrived here with 200 OK (its Via, From, Call-ID, CSeq, Record-Route; `to` with our tag). */
  answerOk(request: string, to: string): void {
    const keep = request
      .split('\r\n\r\n')[0]!
      .split('\r\n')
      .filter((l) => /^(Via|From|Call-ID|CSeq|Record-Route):/i.test(l));
    this.ws.send(
      [
        'SIP/2.0 200 OK',
        ...keep,
        `To: ${to}`,
        `Contact: <sip:device@${this.host};transport=ws>`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  }
  close(): void {
    this.ws.close();
  }
}

export const statusOf = (m: string) => Number(m.split(' ')[1]);
export const headerOf = (m: string, name: string): string | undefined =>
  new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(m.split('\r\n\r\n')[0]!)?.[1];
export const nonceOf = (m: string) =>
  /nonce="([^"]+)"/.exec(headerOf(m, '(?:WWW|Proxy)-Authenticate') ?? '')?.[1];

/** A digest Authorization value for ephemeral credentials, answering `nonce` with count `nc`. */
export function authorization(
  creds: { username: string; password: string; domain: string },
  method: string,
  uri: string,
  nonce: string,
  nc: number,
): string {
  const d = {
    username: creds.username,
    realm: creds.domain,
    nonce,
    uri,
    qop: 'auth',
    nc: nc.toString(16).padStart(8, '0'),
    cnonce: randomBytes(6).toString('hex'),
    algorithm: 'MD5',
  };
  const response = digestResponse(d, creds.password, method);
  return `Digest algorithm=MD5, username="${d.username}", realm="${d.realm}", nonce="${d.nonce}", uri="${uri}", response="${response}", qop=auth, cnonce="${d.cnonce}", nc=${d.nc}`;
}

/** REGISTER's headers for `creds` binding the client's own contact. */
export const registerHeaders = (
  c: RawSip,
  creds: { aor: string },
  callId: string,
  authz?: string,
): string[] => [
  `To: <${creds.aor}>`,
  `From: <${creds.aor}>;tag=${callId.slice(0, 8)}`,
  `Call-ID: ${callId}`,
  `Contact: <sip:${c.host.split('.')[0]}@${c.host};transport=ws>;expires=300`,
  'Expires: 300',
  ...(authz ? [`Authorization: ${authz}`] : []),
];
