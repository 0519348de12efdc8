import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { freeTcpPort, freeUdpPort } from './ports.ts';
import { eventOrDelay, until } from './wait.ts';

/**
 * Kamailio for tests and benches: deploy/kamailio/kamailio.cfg run in the foreground
 * by scripts/kamailio.sh on loopback (a random port, a temp run dir), and a raw SIP
 * over WebSocket client with precomputed digest responses (RawSipClient) usable
 * against Kamailio and the embedded edge alike.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KAMAILIO_SCRIPT = join(ROOT, 'scripts', 'kamailio.sh');
export const KAMAILIO_CFG = join(ROOT, 'deploy', 'kamailio', 'kamailio.cfg');

export interface KamailioOptions {
  /** The auth_ephemeral secret (the authority's sipSecret). Passed by environment, not argv. */
  secret: string;
  /** SIP domain = digest realm (the authority's sipDomain). */
  domain?: string;
  listenIp?: string;
  /** Requests per 2 s per source address before pike bans it (the config's default when unset). */
  pikeDensity?: number;
  authFailLimit?: number;
  /** PEM paths: with both, a WSS listener runs too. */
  tls?: { cert: string; key: string };
  /** Kamailio's debug level (-1..3); env VD_KAMAILIO_LOG_LEVEL also works. */
  logLevel?: number;
  readyTimeoutMs?: number;
  /** rtpengine's ng control socket ("udp:127.0.0.1:PORT"): calls' media anchored through it. */
  rtpengineSock?: string;
  /** More NAME=VALUE defines for scripts/kamailio.sh (e.g. TRUNK_PORT, TRUNK_ALLOW). */
  defines?: string[];
  /** CONTROL_URL = this server's WS listener (where the authority puts held phone calls through). */
  controlUrl?: boolean;
}

export interface RunningKamailio {
  wsUrl: string;
  wssUrl: string | null;
  port: number;
  wssPort: number | null;
  /** The UDP port for the other Kamailio servers (DMQ), when started as one of a pair. */
  dmqPort: number | null;
  domain: string;
  secret: string;
  runDir: string;
  ctlSocket: string;
  pid: number;
  child: ChildProcess;
  /** The last 64 KiB of Kamailio's log (stderr). */
  log(): string;
  /** `kamcmd -s CTL ARGS...` (e.g. ul.dump). */
  kamcmd(...args: string[]): string;
  /** SIGTERM the main process (its children follow) and delete the run dir. */
  stop(): Promise<void>;
}

/** `kamailio -c` on the configuration (through scripts/kamailio.sh check). */
export function checkKamailioConfig(
  defines: string[] = [],
  env: NodeJS.ProcessEnv = {},
): { ok: boolean; output: string } {
  const r = spawnSync('bash', [KAMAILIO_SCRIPT, 'check', ...defines], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 300_000,
  });
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** Resolve when a WebSocket with subprotocol "sip" opens at `url` (then close it); reject on error. */
function tryWs(url: string): Promise<void> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(url, 'sip', { rejectUnauthorized: false, handshakeTimeout: 2000 });
    ws.once('open', () => {
      ws.close();
      ok();
    });
    ws.once('error', (e) => {
      ws.terminate();
      fail(e);
    });
  });
}

export async function startKamailio(opts: KamailioOptions): Promise<RunningKamailio> {
  const listenIp = opts.listenIp ?? '127.0.0.1';
  const domain = opts.domain ?? 'verified-desk.local';
  const port = await freeTcpPort(listenIp);
  const wssPort = opts.tls ? await freeTcpPort(listenIp) : null;
  const runDir = mkdtempSync(join(tmpdir(), 'vd-kamailio-'));
  const defines = [`LISTEN_IP=${listenIp}`, `WS_PORT=${port}`, `SIP_DOMAIN=${domain}`];
  if (wssPort && opts.tls)
    defines.push(`WSS_PORT=${wssPort}`, `TLS_CERT=${opts.tls.cert}`, `TLS_KEY=${opts.tls.key}`);
  if (opts.pikeDensity !== undefined) defines.push(`PIKE_DENSITY=${opts.pikeDensity}`);
  if (opts.authFailLimit !== undefined) defines.push(`AUTH_FAIL_LIMIT=${opts.authFailLimit}`);
  if (opts.logLevel !== undefined) defines.push(`LOG_LEVEL=${opts.logLevel}`);
  if (opts.rtpengineSock !== undefined) defines.push(`RTPENGINE_SOCK=${opts.rtpengineSock}`);
  if (opts.controlUrl) defines.push(`CONTROL_URL=http://${listenIp}:${port}`);
  if (opts.defines) defines.push(...opts.defines);
  const child = spawn('bash', [KAMAILIO_SCRIPT, 'run', runDir, ...defines], {
    env: { ...process.env, VD_SIP_SECRET: opts.secret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = once(child, 'exit');

  const wsUrl = `ws://${listenIp}:${port}/`;
  const wssUrl = wssPort ? `wss://${listenIp}:${wssPort}/` : null;
  // Readiness: the WS listener (and WSS when configured) completes a "sip" handshake.
  // Installing the packages on a fresh machine happens inside the script, hence the bound.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 240_000);
  for (const url of [wsUrl, ...(wssUrl ? [wssUrl] : [])]) {
    for (let attempt = 0; ; attempt++) {
      if (child.exitCode !== null || child.signalCode !== null) {
        rmSync(runDir, { recursive: true, force: true });
        throw new Error(
          `kamailio exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${log}`,
        );
      }
      try {
        await tryWs(url);
        break;
      } catch (e) {
        if (Date.now() > deadline) {
          child.kill('SIGKILL');
          rmSync(runDir, { recursive: true, force: true });
          throw new Error(`kamailio at ${url} not ready (${(e as Error).message}):\n${log}`, { cause: e });
        }
        // Retry on the next log line or after a short backoff, whichever comes first (no
        // listener left on stderr when the backoff wins).
        await eventOrDelay(child.stderr!, 'data', Math.min(25 * (attempt + 1), 250), exited);
      }
    }
  }

  const ctlSocket = `unix:${join(runDir, 'kamailio_ctl')}`;
  return {
    wsUrl,
    wssUrl,
    port,
    wssPort,
    dmqPort:
      Number(/^DMQ_PORT=(\d+)$/.exec(defines.find((d) => d.startsWith('DMQ_PORT=')) ?? '')?.[1]) || null,
    domain,
    secret: opts.secret,
    runDir,
    ctlSocket,
    pid: child.pid!,
    child,
    log: () => log,
    kamcmd: (...args: string[]) => {
      const r = spawnSync('kamcmd', ['-s', ctlSocket, ...args], { encoding: 'utf8', timeout: 10_000 });
      return `${r.stdout ?? ''}${r.stderr ?? ''}`;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * Two Kamailio servers that share their registrations through DMQ (dmq_usrloc), as in
 * deploy/README.md's topology: a client registered at one is reached through the
 * other. Each gets its own WS port and a UDP port for DMQ and calls between them.
 */
export async function startKamailioPair(opts: KamailioOptions): Promise<[RunningKamailio, RunningKamailio]> {
  const ip = opts.listenIp ?? '127.0.0.1';
  const ports = [await freeUdpPort(ip), await freeUdpPort(ip)];
  const dmq = (i: number) => [
    `DMQ_PORT=${ports[i]}`,
    `DMQ_SELF=sip:${ip}:${ports[i]}`,
    `DMQ_PEER=sip:${ip}:${ports[1 - i]}`,
    `DMQ_ALLOW=${ip}/32`,
  ];
  const a = await startKamailio({ ...opts, defines: [...(opts.defines ?? []), ...dmq(0)] });
  try {
    const b = await startKamailio({ ...opts, defines: [...(opts.defines ?? []), ...dmq(1)] });
    return [a, b];
  } catch (e) {
    await a.stop();
    throw e;
  }
}

/** A self-signed certificate for WSS on loopback (Debian's openssl CLI); null when openssl is missing. */
export function selfSignedCert(dir: string): { cert: string; key: string } | null {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const r = spawnSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  return r.status === 0 ? { cert, key } : null;
}

// ---------------------------------------------------------------------------------
// Raw SIP over WebSocket (RFC 7118) with precomputed digest responses.

const md5 = (s: string) => createHash('md5').update(s).digest('hex');
const token = (n = 8) => randomBytes(n).toString('hex');

export interface SipReply {
  status: number;
  reason: string;
  headers: Map<string, string[]>;
  raw: string;
  at: number;
}

/** Parse a response's status line and headers (enough for tests: no folding, no compact forms beyond the common ones). */
export function parseReply(text: string): SipReply | null {
  const [head = ''] = text.split('\r\n\r\n', 1);
  const lines = head.split('\r\n');
  const m = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
  if (!m) return null;
  const compact: Record<string, string> = {
    v: 'via',
    f: 'from',
    t: 'to',
    i: 'call-id',
    m: 'contact',
    l: 'content-length',
  };
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const c = line.indexOf(':');
    if (c < 1) continue;
    let name = line.slice(0, c).trim().toLowerCase();
    name = compact[name] ?? name;
    const list = headers.get(name) ?? [];
    list.push(line.slice(c + 1).trim());
    headers.set(name, list);
  }
  return { status: Number(m[1]), reason: m[2] ?? '', headers, raw: text, at: performance.now() };
}

/** The parameters of a `Digest ...` challenge. */
export function parseChallenge(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of value.replace(/^\s*Digest\s+/i, '').matchAll(/([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g))
    out[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  return out;
}

/** An Authorization header value answering `challenge` (MD5, qop=auth when offered). */
export function digestAuthorization(
  challenge: Record<string, string>,
  creds: { username: string; password: string },
  method: string,
  uri: string,
  nc = 1,
): string {
  const ha1 = md5(`${creds.username}:${challenge.realm}:${creds.password}`);
  const ha2 = md5(`${method}:${uri}`);
  const qop = challenge.qop
    ?.split(',')
    .map((s) => s.trim())
    .includes('auth')
    ? 'auth'
    : undefined;
  const ncs = nc.toString(16).padStart(8, '0');
  const cnonce = token(8);
  const response = qop
    ? md5(`${ha1}:${challenge.nonce}:${ncs}:${cnonce}:${qop}:${ha2}`)
    : md5(`${ha1}:${challenge.nonce}:${ha2}`);
  const parts = [
    `username="${creds.username}"`,
    `realm="${challenge.realm}"`,
    `nonce="${challenge.nonce}"`,
    `uri="${uri}"`,
    `response="${response}"`,
    'algorithm=MD5',
    ...(qop ? [`qop=${qop}`, `nc=${ncs}`, `cnonce="${cnonce}"`] : []),
    ...(challenge.opaque !== undefined ? [`opaque="${challenge.opaque}"`] : []),
  ];
  return `Digest ${parts.join(', ')}`;
}

export interface RawSipOptions {
  /** Bind the client socket to this local address (127.0.0.x: a distinct source for pike). */
  localAddress?: string;
  rejectUnauthorized?: boolean;
}

/**
 * One SIP-over-WebSocket connection sending requests and matching responses by
 * Call-ID + CSeq. No retransmissions (WebSocket is reliable). Incoming requests are
 * answered 200 (MESSAGE, OPTIONS) so a peer's MESSAGE completes.
 */
export class RawSipClient {
  readonly host = `${token(6)}.invalid`;
  private readonly pending = new Map<string, (r: SipReply) => void>();
  readonly incoming: string[] = [];
  private cseq = 1;
  closed = false;
  closeCode: number | null = null;
  sent = 0;
  received = 0;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const text = String(data);
      this.received++;
      const reply = parseReply(text);
      if (!reply) {
        this.incoming.push(text);
        this.answerIncoming(text);
        return;
      }
      const key = `${reply.headers.get('call-id')?.[0]}|${reply.headers.get('cseq')?.[0]}`;
      if (reply.status >= 200) {
        const resolve = this.pending.get(key);
        this.pending.delete(key);
        resolve?.(reply);
      }
    });
    ws.on('close', (code) => {
      this.closed = true;
      this.closeCode = code;
    });
    ws.on('error', () => undefined);
  }

  static async open(url: string, opts: RawSipOptions = {}): Promise<RawSipClient> {
    const ws = new WebSocket(url, 'sip', {
      rejectUnauthorized: opts.rejectUnauthorized ?? false,
      ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
      perMessageDeflate: false,
    });
    const client = new RawSipClient(ws);
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
      ws.once('unexpected-response', (_req, res) =>
        fail(new Error(`WebSocket handshake refused: ${res.statusCode}`)),
      );
    });
    return client;
  }

  nextCseq(): number {
    return this.cseq++;
  }

  /** Send raw text; resolves with the final response for (callId, cseq) or null after `timeoutMs`. */
  request(text: string, callId: string, cseq: string, timeoutMs = 2000): Promise<SipReply | null> {
    const key = `${callId}|${cseq}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(null);
      }, timeoutMs);
      this.pending.set(key, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      if (!this.send(text)) {
        clearTimeout(timer);
        this.pending.delete(key);
        resolve(null);
      }
    });
  }

  send(text: string): boolean {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.sent++;
    this.ws.send(text);
    return true;
  }

  /** Build a request with the headers every proxy wants. */
  build(
    method: string,
    ruri: string,
    o: {
      from: string;
      to: string;
      callId: string;
      cseq: number;
      extra?: string[];
      body?: string;
      contact?: boolean;
      fromTag?: string;
    },
  ): string {
    const body = o.body ?? '';
    return [
      `${method} ${ruri} SIP/2.0`,
      `Via: SIP/2.0/WS ${this.host};branch=z9hG4bK${token(8)}`,
      'Max-Forwards: 70',
      `From: <${o.from}>;tag=${o.fromTag ?? token(5)}`,
      `To: <${o.to}>`,
      `Call-ID: ${o.callId}`,
      `CSeq: ${o.cseq} ${method}`,
      ...(o.contact ? [`Contact: <sip:${token(4)}@${this.host};transport=ws>`] : []),
      ...(o.extra ?? []),
      ...(body ? ['Content-Type: text/plain'] : []),
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');
  }

  /** Answer incoming INVITEs 200 with no body (false: the test answers them itself). */
  answerInvites = true;

  private answerIncoming(text: string): void {
    const first = text.slice(0, text.indexOf('\r\n'));
    const method = first.split(' ')[0];
    if (method === 'ACK' || !/ SIP\/2\.0$/.test(first)) return;
    if (method === 'INVITE' && !this.answerInvites) return;
    const [head = ''] = text.split('\r\n\r\n', 1);
    const keep = head.split('\r\n').filter((l) => /^(via|v|from|f|to|t|call-id|i|cseq)\s*:/i.test(l));
    const lines = keep.map((l) =>
      /^(to|t)\s*:/i.test(l) && !/;\s*tag=/i.test(l) ? `${l};tag=${token(4)}` : l,
    );
    this.send(['SIP/2.0 200 OK', ...lines, 'Content-Length: 0', '', ''].join('\r\n'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    const done = once(this.ws, 'close');
    this.ws.close();
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    await done;
    clearTimeout(timer);
  }
}

/**
 * REGISTER `creds` over `client`: the first request gets a 401 challenge, the answer
 * is computed once; `authorization` (reusable until the nonce expires) is returned
 * with the final reply so later REGISTERs can skip the challenge.
 */
export async function rawRegister(
  client: RawSipClient,
  creds: { username: string; password: string; user: string; domain: string },
  expires = 300,
): Promise<{ reply: SipReply | null; authorization: string | null; callId: string }> {
  const callId = token(10);
  const aor = `sip:${creds.user}@${creds.domain}`;
  const ruri = `sip:${creds.domain}`;
  const fromTag = token(5);
  const send = (authorization?: string) => {
    const cseq = client.nextCseq();
    const text = client.build('REGISTER', ruri, {
      from: aor,
      to: aor,
      callId,
      cseq,
      fromTag,
      contact: false,
      extra: [
        `Contact: <sip:${creds.user}@${client.host};transport=ws>;expires=${expires}`,
        `Expires: ${expires}`,
        ...(authorization ? [`Authorization: ${authorization}`] : []),
      ],
    });
    return client.request(text, callId, `${cseq} REGISTER`);
  };
  const first = await send();
  if (!first || first.status !== 401) return { reply: first, authorization: null, callId };
  const challenge = parseChallenge(first.headers.get('www-authenticate')?.[0] ?? '');
  const authorization = digestAuthorization(challenge, creds, 'REGISTER', ruri);
  return { reply: await send(authorization), authorization, callId };
}

/** A raw client registered as `user` (its credentials answer the proxy's challenges). */
export interface RawParty {
  client: RawSipClient;
  user: string;
  domain: string;
  creds: { username: string; password: string };
}

/** A call set up by rawCall: what each side needs for its in-dialog requests. */
export interface RawCall {
  callId: string;
  /** The caller's From tag and the callee's To tag. */
  fromTag: string;
  calleeTag: string;
  /** The caller's Contact and the Record-Route as the callee got it (the callee's route set). */
  callerTarget: string;
  calleeRoutes: string[];
  /** The callee's Contact and the route set as the caller uses it (reversed). */
  calleeTarget: string;
  callerRoutes: string[];
}

/** The values of header `name` in a SIP message (no compact forms). */
export function sipHeader(text: string, name: string): string[] {
  const [head = ''] = text.split('\r\n\r\n', 1);
  return head
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(l.indexOf(':') + 1).trim());
}

/** The incoming requests of `method` for `callId` that `client` got, in arrival order. */
export function incomingRequests(client: RawSipClient, method: string, callId: string): string[] {
  return client.incoming.filter(
    (t) => t.startsWith(`${method} `) && new RegExp(`^(Call-ID|i):\\s*${callId}\\s*$`, 'mi').test(t),
  );
}

/**
 * `caller` calls `callee` through the proxy (digest challenge answered, `extra` headers on
 * the INVITE); the callee (answerInvites false) answers 200 with its Contact, the caller
 * ACKs along the recorded route.
 */
export async function rawCall(caller: RawParty, callee: RawParty, extra: string[] = []): Promise<RawCall> {
  const callId = token(5) + token(5);
  const fromTag = token(5);
  const ruri = `sip:${callee.user}@${callee.domain}`;
  const invite = (cseq: number, auth?: string) =>
    caller.client.build('INVITE', ruri, {
      from: `sip:${caller.user}@${caller.domain}`,
      to: ruri,
      callId,
      cseq,
      fromTag,
      extra: [
        `Contact: <sip:${caller.user}@${caller.client.host};transport=ws>`,
        ...extra,
        ...(auth ? [`Proxy-Authorization: ${auth}`] : []),
      ],
    });
  const first = await caller.client.request(invite(1), callId, '1 INVITE');
  if (first?.status !== 407) throw new Error(`the INVITE was not challenged: ${first?.status}`);
  const challenge = parseChallenge(first.headers.get('proxy-authenticate')?.[0] ?? '');
  const answered = caller.client.request(
    invite(2, digestAuthorization(challenge, caller.creds, 'INVITE', ruri)),
    callId,
    '2 INVITE',
  );
  // The callee answers 200 with its Contact and the Record-Route it was given.
  const incoming = await until(
    'the callee gets the INVITE',
    () => incomingRequests(callee.client, 'INVITE', callId)[0],
  );
  const keep = incoming
    .split('\r\n\r\n', 1)[0]!
    .split('\r\n')
    .filter((l) => /^(via|v|from|f|call-id|i|cseq|record-route)\s*:/i.test(l));
  const to = sipHeader(incoming, 'To')[0] ?? sipHeader(incoming, 't')[0]!;
  const calleeTag = token(5);
  callee.client.send(
    [
      'SIP/2.0 200 OK',
      ...keep,
      `To: ${to};tag=${calleeTag}`,
      `Contact: <sip:${callee.user}@${callee.client.host};transport=ws>`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  const ok = await answered;
  if (ok?.status !== 200) throw new Error(`the caller got ${ok?.status ?? 'nothing'}, not 200`);
  // ACK to the callee's Contact along the recorded route (reversed for the caller).
  const callerRoutes = [...(ok.headers.get('record-route') ?? [])]
    .flatMap((v) => v.split(/,\s*(?=<)/))
    .reverse();
  const calleeTarget = /<([^>]+)>/.exec(ok.headers.get('contact')?.[0] ?? '')?.[1];
  if (!calleeTarget) throw new Error('the 200 has no Contact');
  caller.client.send(
    [
      `ACK ${calleeTarget} SIP/2.0`,
      `Via: SIP/2.0/WS ${caller.client.host};branch=z9hG4bK${token(5)}`,
      'Max-Forwards: 70',
      ...callerRoutes.map((r) => `Route: ${r}`),
      `From: <sip:${caller.user}@${caller.domain}>;tag=${fromTag}`,
      `To: ${ok.headers.get('to')![0]!}`,
      `Call-ID: ${callId}`,
      'CSeq: 2 ACK',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
  await until('the callee gets the ACK', () => incomingRequests(callee.client, 'ACK', callId)[0]);
  return {
    callId,
    fromTag,
    calleeTag,
    callerTarget: /<([^>]+)>/.exec(sipHeader(incoming, 'Contact')[0] ?? '')![1]!,
    calleeRoutes: sipHeader(incoming, 'Record-Route').flatMap((v) => v.split(/,\s*(?=<)/)),
    calleeTarget,
    callerRoutes,
  };
}

/**
 * An in-dialog request of `call` from one side (`by`) to the other along its route set,
 * sent over `over` (that side's connection, or a new one after a blip); resolves with the
 * final answer (null: none within 5 s).
 */
export function rawInDialog(
  method: string,
  call: RawCall,
  by: { side: 'caller' | 'callee'; party: RawParty; over?: RawSipClient },
  other: RawParty,
  cseq = 10,
): Promise<SipReply | null> {
  const client = by.over ?? by.party.client;
  const caller = by.side === 'caller';
  const text = [
    `${method} ${caller ? call.calleeTarget : call.callerTarget} SIP/2.0`,
    `Via: SIP/2.0/WS ${client.host};branch=z9hG4bK${token(5)}`,
    'Max-Forwards: 70',
    ...(caller ? call.callerRoutes : call.calleeRoutes).map((r) => `Route: ${r}`),
    `From: <sip:${by.party.user}@${by.party.domain}>;tag=${caller ? call.fromTag : call.calleeTag}`,
    `To: <sip:${other.user}@${other.domain}>;tag=${caller ? call.calleeTag : call.fromTag}`,
    `Call-ID: ${call.callId}`,
    `CSeq: ${cseq} ${method}`,
    `Contact: <sip:${by.party.user}@${client.host};transport=ws>`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  return client.request(text, call.callId, `${cseq} ${method}`, 5000);
}
