import { CompactSign } from 'jose';
import {
  CALL_PROOF_TYP,
  CONFIRM_SIGNATURE_TYP,
  DEVICE_PROOF_TYP,
  type DeviceProofClaims,
} from '../../protocol/src/index.ts';
import { randomId, sha256b64url, utf8Bytes } from './encoding.ts';

const signJws = (key: CryptoKey, typ: string, claims: object): Promise<string> =>
  new CompactSign(utf8Bytes(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256', typ }).sign(key);

/**
 * The per-request proof (DPoP-like, RFC 9449): a JWS by the device key binding the
 * method, the path and query, the time, a single-use id and the token's hash.
 */
export async function deviceProof(
  key: CryptoKey,
  token: string,
  htm: DeviceProofClaims['htm'],
  htu: string,
  nowMs: number,
): Promise<string> {
  const claims: DeviceProofClaims = {
    htm,
    htu,
    iat: Math.floor(nowMs / 1000),
    jti: randomId(16),
    ath: await sha256b64url(token),
  };
  return signJws(key, DEVICE_PROOF_TYP, claims);
}

/** The device's answer to a call ticket: it signs the ticket's SHA-256, which binds the voice call to this key. */
export async function callProof(key: CryptoKey, ticket: string, nowMs: number): Promise<string> {
  return signJws(key, CALL_PROOF_TYP, { tkt: await sha256b64url(ticket), iat: Math.floor(nowMs / 1000) });
}

/**
 * The device's signature of a transaction the customer confirmed: a compact JWS (ES256,
 * typ CONFIRM_SIGNATURE_TYP) whose payload is exactly the UTF-8 of `confirmCanonical(...)`.
 */
export function confirmationSignature(key: CryptoKey, canonical: string): Promise<string> {
  return new CompactSign(utf8Bytes(canonical))
    .setProtectedHeader({ alg: 'ES256', typ: CONFIRM_SIGNATURE_TYP })
    .sign(key);
}
