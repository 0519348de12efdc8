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

/** Stateless nonces: a timestamp and random bytes, signed, so any edge process can check them. */
export class Nonces {
  constructor(
    private readonly key: Buffer,
    private readonly ttlMs = 300_000,
  ) {}
  issue(nowMs: number): string {
    const body = `${nowMs.toString(36)}.${randomBytes(8).toString('hex')}`;
    return `${body}.${createHmac('sha256', this.key).update(body).digest('hex').slice(0, 32)}`;
  }
  valid(nonce: string, nowMs: number): boolean {
    const [t, r, mac] = nonce.split('.');
    if (!t || !r || !mac) return false;
    const expect = createHmac('sha256', this.key).update(`${t}.${r}`).digest('hex').slice(0, 32);
    if (mac.length !== expect.length || !timingSafeEqual(Buffer.from(mac), Buffer.from(expect))) return false;
    const at = parseInt(t, 36);
    return Number.isFinite(at) && nowMs - at >= -5_000 && nowMs - at <= this.ttlMs;
  }
}

/** Check an Authorization/Proxy-Authorization header against ephemeral credentials; returns the SIP user or why not. */
export function checkEphemeralDigest(
  header: string | undefined,
  opts: { secret: string; realm: string; method: string; nonces: Nonces; nowMs: number },
): { ok: true; user: string } | { ok: false; reason: string; stale?: boolean } {
  const d = parseDigest(header);
  if (!d) return { ok: false, reason: 'no credentials' };
  if (d.algorithm && d.algorithm.toUpperCase() !== 'MD5') return { ok: false, reason: 'only MD5 digest' };
  if (d.realm !== opts.realm) return { ok: false, reason: 'wrong realm' };
  const colon = d.username.indexOf(':');
  const expiry = Number(d.username.slice(0, colon));
  if (colon < 1 || !Number.isInteger(expiry)) return { ok: false, reason: 'not an ephemeral username' };
  if (expiry * 1000 < opts.nowMs) return { ok: false, reason: 'credentials expired' };
  if (!opts.nonces.valid(d.nonce, opts.nowMs)) return { ok: false, reason: 'stale nonce', stale: true };
  const expected = digestResponse(d, ephemeralPassword(opts.secret, d.username), opts.method);
  if (
    expected.length !== d.response.length ||
    !timingSafeEqual(Buffer.from(expected), Buffer.from(d.response.toLowerCase()))
  )
    return { ok: false, reason: 'wrong digest' };
  return { ok: true, user: d.username.slice(colon + 1) };
}
