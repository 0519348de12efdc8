import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { P256PublicJwk } from '../../../protocol/src/index.ts';

/** RFC 7638 SHA-256 thumbprint of the key's required members: the device id. */
export const deviceIdOf = (jwk: P256PublicJwk): Promise<string> =>
  calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'sha256');

/** Import a P-256 public JWK; throws when the point is not on the curve. */
export const importDeviceKey = (jwk: P256PublicJwk): KeyObject =>
  createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });

/** The arguments of node:crypto's verify for a raw r||s ECDSA P-256/SHA-256 signature, or undefined if it is not 64 bytes. */
function p1363(key: KeyObject, message: string, signatureB64url: string) {
  const sig = Buffer.from(signatureB64url, 'base64url');
  if (sig.length !== 64) return undefined;
  return ['sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, sig] as const;
}

/** Verify a raw r||s ECDSA P-256/SHA-256 signature (WebCrypto's format). */
export function verifyDeviceSignature(key: KeyObject, message: string, signatureB64url: string): boolean {
  const args = p1363(key, message, signatureB64url);
  return args !== undefined && verify(...args);
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/**
 * Verify a compact JWS signed by a device's key (request proofs, call proofs, confirmation
 * signatures) synchronously on node:crypto: alg ES256 only, header typ exactly `typ`, no
 * `crit` (no extension is understood), a 64-byte r||s signature over the header and payload
 * as sent. The payload's text, or undefined when anything fails. Each proof is single-use:
 * nothing is cached here but the caller's imported key.
 */
export function verifyDeviceJws(key: KeyObject, jws: string, typ: string): string | undefined {
  const c = checkedJws(jws, typ);
  if (c === undefined || !verifyDeviceSignature(key, c.signed, c.signature)) return undefined;
  return c.payload;
}

/**
 * verifyDeviceJws with the ECDSA verification on libuv's thread pool (node:crypto's
 * callback form): the event loop goes on serving other requests meanwhile. Same checks,
 * same answer.
 */
export async function verifyDeviceJwsOffLoop(
  key: KeyObject,
  jws: string,
  typ: string,
): Promise<string | undefined> {
  const c = checkedJws(jws, typ);
  const args = c && p1363(key, c.signed, c.signature);
  if (!c || !args) return undefined;
  const ok = await new Promise<boolean>((resolve) =>
    verify(...args, (e, valid) => resolve(e === null && valid)),
  );
  return ok ? c.payload : undefined;
}

/** The header checks of a device JWS: what was signed, the signature and the payload's text, or undefined. */
function checkedJws(
  jws: string,
  typ: string,
): { signed: string; signature: string; payload: string } | undefined {
  const parts = jws.split('.');
  if (parts.length !== 3) return undefined;
  const [h, p, s] = parts as [string, string, string];
  if (!h || !s || !B64URL.test(h) || !B64URL.test(p) || !B64URL.test(s)) return undefined;
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return undefined;
  const hd = header as Record<string, unknown>;
  if (hd.alg !== 'ES256' || hd.typ !== typ || 'crit' in hd || 'b64' in hd) return undefined;
  return { signed: `${h}.${p}`, signature: s, payload: Buffer.from(p, 'base64url').toString('utf8') };
}
