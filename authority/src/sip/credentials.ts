import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Ephemeral SIP credentials, the scheme Kamailio's auth_ephemeral module checks:
 * username = "<expiry unix seconds>:<user>", password = base64(HMAC-SHA1(secret, username)).
 * No long-term SIP password exists; the authority issues these to logged-in agents
 * and authenticated devices only.
 */
export function ephemeralCredentials(secret: string, user: string, ttlSeconds: number, nowMs: number) {
  const expiry = Math.floor(nowMs / 1000) + ttlSeconds;
  const username = `${expiry}:${user}`;
  return { username, password: ephemeralPassword(secret, username), expiresAt: expiry * 1000 };
}

export const ephemeralPassword = (secret: string, username: string): string =>
  createHmac('sha1', secret).update(username).digest('base64');

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

export interface DigestParams {
  username: string;
  realm: string;
  nonce: string;
  uri: string;
  response: string;
  qop?: string;
  nc?: string;
  cnonce?: string;
  algorithm?: string;
}

/** Parse `Digest k="v", k=v` (RFC 2617 section 3.2.2). Returns null when malformed. */
export function parseDigest(header: string | undefined): DigestParams | null {
  if (!header) return null;
  const m = /^\s*Digest\s+(.*)$/is.exec(header);
  if (!m) return null;
  const out: Record<string, string> = {};
  // Sticky: each parameter must start where the last ended. (A global regex retried at
  // every later offset, which took seconds on 64 KiB of letters.)
  const re = /\s*([a-zA-Z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,|$)/y;
  let part: RegExpExecArray | null;
  while ((part = re.exec(m[1]!))) {
    out[part[1]!.toLowerCase()] = part[2] ?? part[3] ?? '';
    if (re.lastIndex >= m[1]!.length) break;
  }
  if (!out.username || !out.realm || !out.nonce || !out.uri || !out.response) return null;
  return out as unknown as DigestParams;
}

/** MD5 digest response (RFC 2617), the only algorithm SIP.js answers. */
export function digestResponse(d: Omit<DigestParams, 'response'>, password: string, method: string): string {
  const ha1 = md5(`${d.username}:${d.realm}:${password}`);
  const ha2 = md5(`${method}:${d.uri}`);
  return d.qop
    ? md5(`${ha1}:${d.nonce}:${d.nc}:${d.cnonce}:${d.qop}:${ha2}`)
    : md5(`${ha1}:${d.nonce}:${ha2}`);
}

/**
 * Digest nonces, each bound to the connection it was issued on and answerable with a
 * strictly increasing nonce count (RFC 7616 section 3.4 "nc"): an Authorization header
 * captured on the wire and sent again, from another connection or the same one, is
 * refused. Kept in memory per connection (the edge's registrations are too): at most
 * `maxPerConnection` outstanding, the oldest forgotten first, each valid `ttlMs`.
 */
export class Nonces {
  private readonly byConnection = new Map<string, Map<string, { at: number; nc: number }>>();
  constructor(
    private readonly ttlMs = 300_000,
    private readonly maxPerConnection = 32,
  ) {}

  issue(connection: string, nowMs: number): string {
    let issued = this.byConnection.get(connection);
    if (!issued) this.byConnection.set(connection, (issued = new Map()));
    for (const [n, e] of issued) if (nowMs - e.at > this.ttlMs) issued.delete(n);
    while (issued.size >= this.maxPerConnection) issued.delete(issued.keys().next().value!);
    const nonce = `${nowMs.toString(36)}.${randomBytes(16).toString('base64url')}`;
    issued.set(nonce, { at: nowMs, nc: 0 });
    return nonce;
  }

  /** Whether `nonce` was issued on this connection and is still fresh. */
  valid(connection: string, nonce: string, nowMs: number): boolean {
    const e = this.byConnection.get(connection)?.get(nonce);
    return !!e && nowMs - e.at <= this.ttlMs;
  }

  /** Record an answer with count `nc`: false (a replay) unless it is above every count seen with this nonce. */
  use(connection: string, nonce: string, nc: number): boolean {
    const e = this.byConnection.get(connection)?.get(nonce);
    if (!e || !(nc > e.nc)) return false;
    e.nc = nc;
    return true;
  }

  /** The connection closed: its nonces are no good anywhere. */
  forget(connection: string): void {
    this.byConnection.delete(connection);
  }
}

/**
 * Check an Authorization/Proxy-Authorization header against ephemeral credentials and
 * the nonces issued on `connection`; returns the SIP user or why not (`stale` when a
 * fresh challenge lets an honest client answer without new credentials).
 */
export function checkEphemeralDigest(
  header: string | undefined,
  opts: { secret: string; realm: string; method: string; nonces: Nonces; connection: string; nowMs: number },
): { ok: true; user: string } | { ok: false; reason: string; stale?: boolean } {
  const d = parseDigest(header);
  if (!d) return { ok: false, reason: 'no credentials' };
  if (d.algorithm && d.algorithm.toUpperCase() !== 'MD5') return { ok: false, reason: 'only MD5 digest' };
  if (d.realm !== opts.realm) return { ok: false, reason: 'wrong realm' };
  const colon = d.username.indexOf(':');
  const expiry = Number(d.username.slice(0, colon));
  if (colon < 1 || !Number.isInteger(expiry)) return { ok: false, reason: 'not an ephemeral username' };
  if (expiry * 1000 < opts.nowMs) return { ok: false, reason: 'credentials expired' };
  if (!opts.nonces.valid(opts.connection, d.nonce, opts.nowMs))
    return { ok: false, reason: 'nonce unknown on this connection, or stale', stale: true };
  // Without qop (RFC 2069 style) there is no count: the nonce answers once.
  let nc = 1;
  if (d.qop !== undefined) {
    if (d.qop.toLowerCase() !== 'auth' || !d.cnonce || !/^[0-9a-f]{8}$/i.test(d.nc ?? ''))
      return { ok: false, reason: 'qop=auth needs cnonce and an 8-digit hex nc' };
    nc = parseInt(d.nc!, 16);
  }
  const expected = digestResponse(d, ephemeralPassword(opts.secret, d.username), opts.method);
  if (
    expected.length !== d.response.length ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(d.response.toLowerCase()))
  )
    return { ok: false, reason: 'wrong digest' };
  if (!opts.nonces.use(opts.connection, d.nonce, nc))
    return { ok: false, reason: 'nonce count not above the last one (a replay)', stale: true };
  return { ok: true, user: d.username.slice(colon + 1) };
}
