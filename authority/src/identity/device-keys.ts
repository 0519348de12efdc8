import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint } from 'jose';
import type { P256PublicJwk } from '../../../protocol/src/index.ts';

/** RFC 7638 SHA-256 thumbprint of the key's required members: the device id. */
export const deviceIdOf = (jwk: P256PublicJwk): Promise<string> =>
  calculateJwkThumbprint({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, 'sha256');

/** Import a P-256 public JWK; throws when the point is not on the curve. */
export const importDeviceKey = (jwk: P256PublicJwk): KeyObject =>
  createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: 'jwk' });

/** Verify a raw r||s ECDSA P-256/SHA-256 signature (WebCrypto's format). */
export function verifyDeviceSignature(key: KeyObject, message: string, signatureB64url: string): boolean {
  const sig = Buffer.from(signatureB64url, 'base64url');
  if (sig.length !== 64) return false;
  return verify('sha256', Buffer.from(message, 'utf8'), { key, dsaEncoding: 'ieee-p1363' }, sig);
}
