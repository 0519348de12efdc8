import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { Grammar } from 'sip.js/lib/grammar/grammar.js';
import { CALL_TICKET_HEADER } from '../../../protocol/src/calls.ts';
import { randomId } from '../ids.ts';
import { checkEphemeralDigest, Nonces } from './credentials.ts';
import {
  badRequestFor,
  bareLineBreak,
  headerLines,
  isRequest,
  oversize,
  parseSip,
  requestProblem,
  responseTo,
  serialize,
  splitList,
  type SipRequest,
  type SipResponse,
} from './message.ts';

export interface SipEdgeOptions {
  secret: string;
  domain: string;
  now: () => number;
  /** Longest registration granted. */
  maxExpires?: number;
  /**
   * WebSocket ping interval, ms (default 15,000): a connection that has not answered the
   * previous ping is closed, so a silent network cut ends its dialogs like a close does.
   */
  keepaliveMs?: number;
  /**
   * How long a confirmed call waits for a party whose connection went away, ms (default
   * 20,000): a softphone whose link blipped reconnects and sends an in-dialog request
   * (the ICE-restart re-INVITE) on its new connection, which takes the call back; after
   * this the other party gets a BYE (no ghost call after a crash or a network cut).
   */
  dialogGraceMs?: number;
}

interface Conn {
  id: string;
  socket: WebSocket;
  hosts: Set<string>;
  /** A pong (or any message) since the last ping. */
  alive: boolean;
}
/** One side of a confirmed INVITE dialog, as the other side addresses it. */
interface DialogSide {
  conn: Conn;
  /** Its Contact (the remote target of requests to it). */
  target: string;
  /** Its From/To header value, tag included. */
  header: string;
  /** Highest CSeq it has sent in the dialog (a request to it from us must go higher only for the other side). */
  cseq: number;
  /** Its tag: an in-dialog request whose From carries it comes from this side (on whatever connection). */
  tag: string | null;
}
interface Dialog {
  callId: string;
  caller: DialogSide;
  callee: DialogSide;
  /** The caller's call ticket (X-VD-Call-Ticket on its INVITE) and authenticated user: told when the dialog ends. */
  ticket?: { value: string; user: string };
  /** Set while a side's connection is gone: the BYE to the other side when nobody takes the call back. */
  grace?: { side: DialogSide; timer: ReturnType<typeof setTimeout> };
}

const tagOf = (header: string | undefined): string | null =>
  /;\s*tag=([^;\s>]+)/i.exec(header ?? '')?.[1] ?? null;
interface Binding {
  conn: Conn;
  contact: string;
  expiresAt: number;
}

const TXN_TTL_MS = 64 * 500 * 2;
/**
 * Identity headers a trusted network asserts (RFC 3325): every client of the edge is
 * untrusted, so what a client puts there is dropped, never relayed (a callee would
 * show it as the caller's verified identity).
 */
const UNTRUSTED_IDENTITY = ['p-asserted-identity', 'p-preferred-identity', 'x-vd-media'];
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER']);
const NO_AUTH = new Set(['ACK', 'CANCEL']);

/**
 * The embedded SIP-over-WebSocket edge (RFC 7118, subprotocol "sip") for a single
 * machine: a registrar with digest MD5 over ephemeral credentials (the
 * auth_ephemeral scheme), and a proxy that Record-Routes dialog-creating requests,
 * routes in-dialog requests by the remote target, and sends responses back by Via.
 * Media never passes through it (WebRTC peers talk directly).
 */
/** Why a dialog that carried a call ticket ended. */
export type CallEndCause = 'bye' | 'connection_lost';

export class SipEdge extends EventEmitter<{
  registered: [user: string];
  unregistered: [user: string];
  /**
   * A confirmed call whose INVITE carried a call ticket (CALL_TICKET_HEADER) ended: a BYE
   * passed through, or a party's connection went and did not come back within the grace.
   * `user` is the caller's authenticated SIP user (the ticket's agent, "a-<staff id>").
   */
  callEnded: [ticket: string, user: string, cause: CallEndCause];
}> {
  private readonly nonces: Nonces;
  private readonly conns = new Set<Conn>();
  private readonly byHost = new Map<string, Conn>();
  private readonly registrations = new Map<string, Map<string, Binding>>();
  /** Our Via branch -> where the request came from (responses go back there). */
  private readonly txns = new Map<
    string,
    {
      source: Conn;
      at: number;
      invite?: { target: string; from: string; cseq: number; ticket?: { value: string; user: string } };
    }
  >();
  /** Confirmed INVITE dialogs by Call-ID: when one side's connection goes, the other gets a BYE. */
  private readonly dialogs = new Map<string, Dialog>();
  /** Client INVITE branch -> the connection it was forwarded to (for CANCEL and the ACK of a failure). */
  private readonly inviteTargets = new Map<string, { target: Conn; ruri: string; at: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly pinger: NodeJS.Timeout;
  readonly host: string;
  stats = { received: 0, parseErrors: 0, badRequests: 0, forwarded: 0 };

  constructor(private readonly opts: SipEdgeOptions) {
    super();
    this.nonces = new Nonces();
    this.host = `edge.${opts.domain}`;
    this.sweeper = setInterval(() => this.sweep(), 1000);
    this.sweeper.unref();
    this.pinger = setInterval(() => this.ping(), opts.keepaliveMs ?? 15_000);
    this.pinger.unref();
  }

  /** Close the connections that did not answer the last ping; ping the others. */
  private ping(): void {
    for (const c of this.conns) {
      if (!c.alive) {
        c.socket.terminate();
        this.drop(c);
        continue;
      }
      c.alive = false;
      if (c.socket.readyState === c.socket.OPEN) c.socket.ping();
    }
  }

  get registeredUsers(): string[] {
    return [...this.registrations.keys()];
  }

  isRegistered(user: string): boolean {
    return (this.registrations.get(user)?.size ?? 0) > 0;
  }

  accept(socket: WebSocket): void {
    const conn: Conn = { id: randomId(9), socket, hosts: new Set(), alive: true };
    this.conns.add(conn);
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data, isBinary) => {
      conn.alive = true;
      try {
        this.onMessage(conn, isBinary ? Buffer.from(data as Buffer).toString('utf8') : String(data));
      } catch {
        // A message the proxy could not handle must never take the edge down.
        this.stats.parseErrors++;
      }
    });
    socket.on('close', () => this.drop(conn));
    socket.on('error', () => socket.terminate());
  }

  close(): void {
    clearInterval(this.sweeper);
    clearInterval(this.pinger);
    for (const d of this.dialogs.values()) if (d.grace) clearTimeout(d.grace.timer);
    for (const c of this.conns) c.socket.close(1001);
  }

  private send(conn: Conn, text: string): void {
    if (conn.socket.readyState === conn.socket.OPEN) conn.socket.send(text);
  }

  private drop(conn: Conn): void {
    if (!this.conns.delete(conn)) return;
    this.nonces.forget(conn.id);
    for (const h of conn.hosts) if (this.byHost.get(h) === conn) this.byHost.delete(h);
    this.endDialogsOf(conn);
    for (const [user, bindings] of this.registrations) {
      for (const [k, b] of bindings) if (b.conn === conn) bindings.delete(k);
      if (bindings.size === 0) {
        this.registrations.delete(user);
        this.emit('unregistered', user);
      }
    }
  }

  /**
   * A connection went away (page reloaded or closed, process killed, network cut): unless
   * the gone party takes the call back from a new connection within the grace period (a
   * link blip), the other party of each of its confirmed dialogs gets a BYE in the gone
   * party's name, so no call stays up with nobody on the far end.
   */
  private endDialogsOf(conn: Conn): void {
    const graceMs = this.opts.dialogGraceMs ?? 20_000;
    for (const d of this.dialogs.values()) {
      if (d.caller.conn !== conn && d.callee.conn !== conn) continue;
      const gone = d.caller.conn === conn ? d.caller : d.callee;
      if (d.grace) clearTimeout(d.grace.timer);
      d.grace = { side: gone, timer: setTimeout(() => this.hangUpFor(d, gone), graceMs) };
      d.grace.timer.unref?.();
    }
  }

  /** The call's other party gets a BYE in the name of `gone`, whose connection did not come back. */
  private hangUpFor(d: Dialog, gone: DialogSide): void {
    if (this.dialogs.get(d.callId) !== d) return;
    this.dialogs.delete(d.callId);
    this.callEnded(d, 'connection_lost');
    const other = gone === d.caller ? d.callee : d.caller;
    if (other.conn === gone.conn || !this.conns.has(other.conn)) return;
    this.send(
      other.conn,
      serialize(
        `BYE ${other.target} SIP/2.0`,
        [
          `Via: SIP/2.0/WSS ${this.host};branch=z9hG4bK${randomId(12)}`,
          'Max-Forwards: 70',
          `From: ${gone.header}`,
          `To: ${other.header}`,
          `Call-ID: ${d.callId}`,
          `CSeq: ${gone.cseq + 1} BYE`,
          'Reason: SIP;cause=480;text="The other party\'s connection to the SIP server closed"',
        ],
        '',
      ),
    );
  }

  /**
   * Keep the dialog's CSeq counts; a side that reconnected takes its call back with its
   * first in-dialog request on the new connection; a BYE passing through ends it.
   */
  private trackInDialog(conn: Conn, req: SipRequest): void {
    const d = this.dialogs.get(req.callId);
    if (!d) return;
    const tag = tagOf(req.getHeader('from'));
    const side =
      tag !== null && tag === d.caller.tag
        ? d.caller
        : tag !== null && tag === d.callee.tag
          ? d.callee
          : d.caller.conn === conn
            ? d.caller
            : d.callee.conn === conn
              ? d.callee
              : null;
    if (side && side.conn !== conn && d.grace?.side === side) side.conn = conn;
    if (side && d.grace?.side === side && side.conn === conn) {
      clearTimeout(d.grace.timer);
      delete d.grace;
    }
    if (side && req.cseq > side.cseq) side.cseq = req.cseq;
    if (req.method === 'BYE') {
      if (d.grace) clearTimeout(d.grace.timer);
      this.dialogs.delete(req.callId);
      this.callEnded(d, 'bye');
    }
  }

  private callEnded(d: Dialog, cause: CallEndCause): void {
    if (d.ticket) this.emit('callEnded', d.ticket.value, d.ticket.user, cause);
  }

  private sweep(): void {
    const now = this.opts.now();
    for (const [user, bindings] of this.registrations) {
      for (const [k, b] of bindings) if (b.expiresAt <= now) bindings.delete(k);
      if (bindings.size === 0) {
        this.registrations.delete(user);
        this.emit('unregistered', user);
      }
    }
    const wall = Date.now();
    for (const [k, t] of this.txns) if (wall - t.at > TXN_TTL_MS) this.txns.delete(k);
    for (const [k, t] of this.inviteTargets) if (wall - t.at > TXN_TTL_MS * 4) this.inviteTargets.delete(k);
  }

  onMessage(conn: Conn, text: string): void {
    this.stats.received++;
    // Too large to parse within the work bounds: 513 (RFC 3261 21.5.14), no parsing.
    const tooBig = oversize(text);
    const m = tooBig || bareLineBreak(text) ? undefined : parseSip(text);
    if (!m) {
      this.stats.parseErrors++;
      const bad = tooBig ? badRequestFor(text, 513, 'Message Too Large') : badRequestFor(text);
      if (bad) {
        this.stats.badRequests++;
        this.send(conn, bad);
      }
      return;
    }
    if (isRequest(m)) {
      const problem = requestProblem(text, m);
      if (problem) {
        this.stats.badRequests++;
        return this.reply(conn, m, problem.status, problem.reason, problem.extra);
      }
      this.onRequest(conn, m);
    } else this.onResponse(conn, m);
  }

  private reply(conn: Conn, req: SipRequest, status: number, reason: string, extra: string[] = []): void {
    if (req.method === 'ACK') return; // never answer an ACK
    const res = responseTo(req, status, reason, extra, status >= 200 && !req.toTag ? randomId(6) : undefined);
    if (res) this.send(conn, res);
  }

  private learnHosts(conn: Conn, req: SipRequest): void {
    if (req.via?.host) this.remember(conn, req.via.host);
    const contact = req.parseHeader('contact');
    const host = contact?.uri?.host;
    if (typeof host === 'string') this.remember(conn, host);
  }

  private remember(conn: Conn, host: string): void {
    // Only hosts a WebSocket client invents (RFC 7118: "*.invalid") identify a connection.
    if (!host.endsWith('.invalid') || host === this.host) return;
    conn.hosts.add(host);
    this.byHost.set(host, conn);
  }

  private authenticate(
    conn: Conn,
    req: SipRequest,
    header: 'authorization' | 'proxy-authorization',
  ): string | null {
    const r = checkEphemeralDigest(req.getHeader(header), {
      secret: this.opts.secret,
      realm: this.opts.domain,
      method: req.method,
      nonces: this.nonces,
      connection: conn.id,
      nowMs: this.opts.now(),
    });
    if (r.ok) return r.user;
    const challenge = `Digest realm="${this.opts.domain}", nonce="${this.nonces.issue(conn.id, this.opts.now())}", algorithm=MD5, qop="auth"${r.stale ? ', stale=true' : ''}`;
    if (header === 'authorization')
      this.reply(conn, req, 401, 'Unauthorized', [`WWW-Authenticate: ${challenge}`]);
    else this.reply(conn, req, 407, 'Proxy Authentication Required', [`Proxy-Authenticate: ${challenge}`]);
    return null;
  }

  private onRequest(conn: Conn, req: SipRequest): void {
    if (!req.ruri || !req.from || !req.to) return this.reply(conn, req, 400, 'Bad Request');
    this.learnHosts(conn, req);
    const mf = req.getHeader('max-forwards');
    if (mf !== undefined && Number(mf) <= 0) return this.reply(conn, req, 483, 'Too Many Hops');
    if (req.method === 'REGISTER') return this.register(conn, req);
    if (req.toTag) return this.inDialog(conn, req);
    if (req.method === 'CANCEL' || req.method === 'ACK') return this.hopByHop(conn, req);
    const user = NO_AUTH.has(req.method) ? null : this.authenticate(conn, req, 'proxy-authorization');
    if (!user) return;
    if (req.from.uri.user !== user)
      return this.reply(conn, req, 403, 'Forbidden (From does not match the credentials)');
    const targetUser = req.ruri!.user;
    if (!targetUser)
      return this.reply(
        conn,
        req,
        req.method === 'OPTIONS' ? 200 : 405,
        req.method === 'OPTIONS' ? 'OK' : 'Method Not Allowed',
        ['Allow: REGISTER, INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, UPDATE, REFER, NOTIFY, MESSAGE'],
      );
    const bindings = [...(this.registrations.get(targetUser)?.values() ?? [])].filter(
      (b) => b.expiresAt > this.opts.now(),
    );
    if (!bindings.length) return this.reply(conn, req, 480, 'Temporarily Unavailable');
    const target = bindings.sort((a, b) => b.expiresAt - a.expiresAt)[0]!;
    if (req.method === 'INVITE')
      this.inviteTargets.set(req.viaBranch, { target: target.conn, ruri: target.contact, at: Date.now() });
    const ticket = req.method === 'INVITE' ? req.getHeader(CALL_TICKET_HEADER) : undefined;
    this.forward(
      conn,
      target.conn,
      req,
      target.contact,
      DIALOG_CREATING.has(req.method),
      ticket ? { value: ticket, user } : undefined,
    );
  }

  /** CANCEL and the ACK of a non-2xx go where the INVITE of the same branch went. */
  private hopByHop(conn: Conn, req: SipRequest): void {
    const t = this.inviteTargets.get(req.viaBranch);
    if (!t)
      return req.method === 'CANCEL'
        ? this.reply(conn, req, 481, 'Call/Transaction Does Not Exist')
        : undefined;
    if (req.method === 'CANCEL') this.reply(conn, req, 200, 'OK');
    this.forward(conn, t.target, req, t.ruri, false);
  }

  private inDialog(conn: Conn, req: SipRequest): void {
    const host = req.ruri!.host;
    const target = typeof host === 'string' ? this.byHost.get(host) : undefined;
    if (!target) return this.reply(conn, req, 404, 'Not Found (remote target unknown)');
    this.trackInDialog(conn, req);
    this.forward(conn, target, req, req.ruri!.toString(), false);
  }

  private forward(
    from: Conn,
    to: Conn,
    req: SipRequest,
    ruri: string,
    recordRoute: boolean,
    ticket?: { value: string; user: string },
  ): void {
    const txnMethod = req.method === 'CANCEL' || (req.method === 'ACK' && !req.toTag) ? 'INVITE' : req.method;
    const branch = `z9hG4bK${createHash('sha1').update(`${from.id}|${req.viaBranch}|${txnMethod}`).digest('hex').slice(0, 24)}`;
    if (req.method !== 'ACK') {
      const contact = req.method === 'INVITE' && !req.toTag ? req.parseHeader('contact') : undefined;
      const from0 = req.getHeader('from');
      this.txns.set(branch, {
        source: from,
        at: Date.now(),
        ...(contact?.uri && from0
          ? {
              invite: {
                target: String(contact.uri),
                from: from0,
                cseq: req.cseq,
                ...(ticket ? { ticket } : {}),
              },
            }
          : {}),
      });
    }
    const lines = headerLines(req, new Set(['route', 'max-forwards', ...UNTRUSTED_IDENTITY]));
    const routes = (req.headers['Route'] ?? [])
      .flatMap((v) => splitList(v.raw))
      .filter((r) => !r.includes(this.host));
    const mf = Number(req.getHeader('max-forwards') ?? 70);
    const out = [
      `Via: SIP/2.0/WSS ${this.host};branch=${branch}`,
      ...lines,
      ...routes.map((r) => `Route: ${r}`),
      ...(recordRoute ? [`Record-Route: <sip:${this.host};transport=ws;lr>`] : []),
      `Max-Forwards: ${Math.max(0, mf - 1)}`,
    ];
    this.stats.forwarded++;
    this.send(to, serialize(`${req.method} ${ruri} SIP/2.0`, out, req.body ?? ''));
  }

  private onResponse(conn: Conn, res: SipResponse): void {
    const vias = (res.headers['Via'] ?? []).flatMap((v) => splitList(v.raw));
    const top = vias[0];
    if (!top?.includes(this.host)) return;
    const branch = /;\s*branch=([^;\s,]+)/i.exec(top)?.[1];
    const txn = branch ? this.txns.get(branch) : undefined;
    if (!txn) return;
    const contact = res.parseHeader('contact');
    if (typeof contact?.uri?.host === 'string') this.remember(conn, contact.uri.host);
    const to = res.getHeader('to');
    const status = res.statusCode ?? 0;
    if (txn.invite && status >= 200 && status < 300 && contact?.uri && to && res.toTag)
      this.dialogs.set(res.callId, {
        callId: res.callId,
        caller: {
          conn: txn.source,
          target: txn.invite.target,
          header: txn.invite.from,
          cseq: txn.invite.cseq,
          tag: tagOf(txn.invite.from),
        },
        callee: { conn, target: String(contact.uri), header: to, cseq: 0, tag: tagOf(to) },
        ...(txn.invite.ticket ? { ticket: txn.invite.ticket } : {}),
      });
    const lines = headerLines(res, new Set(['via', ...UNTRUSTED_IDENTITY]));
    this.send(
      txn.source,
      serialize(
        `SIP/2.0 ${res.statusCode} ${res.reasonPhrase}`,
        [...vias.slice(1).map((v) => `Via: ${v}`), ...lines],
        res.body ?? '',
      ),
    );
  }

  private register(conn: Conn, req: SipRequest): void {
    const user = this.authenticate(conn, req, 'authorization');
    if (!user) return;
    const aor = req.to.uri.user;
    if (aor !== user) return this.reply(conn, req, 403, 'Forbidden (AOR does not match the credentials)');
    const now = this.opts.now();
    const headerExpires = Number(req.getHeader('expires') ?? 600);
    let bindings = this.registrations.get(user);
    const contacts = (req.headers['Contact'] ?? []).flatMap((v) => splitList(v.raw));
    if (contacts.length === 1 && contacts[0] === '*') {
      if (headerExpires === 0) bindings?.clear();
    } else {
      for (const raw of contacts) {
        const parsed = Grammar.parse(raw, 'Contact') as
          | Array<{
              parsed: { uri: { toString(): string; host: string }; parameters: Record<string, string> };
            }>
          | -1;
        if (parsed === -1 || !parsed[0]) return this.reply(conn, req, 400, 'Bad Request (Contact)');
        const p = parsed[0].parsed;
        const expires = Math.min(this.opts.maxExpires ?? 3600, Number(p.parameters.expires ?? headerExpires));
        const key = p.uri.toString();
        if (!Number.isFinite(expires) || expires < 0)
          return this.reply(conn, req, 400, 'Bad Request (expires)');
        if (expires === 0) bindings?.delete(key);
        else {
          if (!bindings) this.registrations.set(user, (bindings = new Map()));
          bindings.set(key, { conn, contact: key, expiresAt: now + expires * 1000 });
          this.remember(conn, p.uri.host);
        }
      }
    }
    if (bindings && bindings.size === 0) this.registrations.delete(user);
    const current = [...(this.registrations.get(user)?.values() ?? [])];
    if (current.length) this.emit('registered', user);
    else this.emit('unregistered', user);
    this.reply(
      conn,
      req,
      200,
      'OK',
      current.map(
        (b) => `Contact: <${b.contact}>;expires=${Math.max(0, Math.round((b.expiresAt - now) / 1000))}`,
      ),
    );
  }
}
