import { z } from 'zod';
import { Base64Url } from './common.ts';

/** A P-256 public key as a JWK (RFC 7517); only the members RFC 7638 thumbprints use. */
export const P256PublicJwk = z.strictObject({
  kty: z.literal('EC').describe('Key type: always "EC".'),
  crv: z.literal('P-256').describe('Curve: always "P-256".'),
  x: Base64Url.length(43).describe('The x coordinate (32 bytes, base64url).'),
  y: Base64Url.length(43).describe('The y coordinate (32 bytes, base64url).'),
  // Browsers add these when exporting a CryptoKey; they carry no key material.
  ext: z.boolean().optional().describe('Added by WebCrypto exports; ignored.'),
  key_ops: z
    .array(z.enum(['verify']))
    .max(1)
    .optional()
    .describe('Added by WebCrypto exports: at most ["verify"]; ignored.'),
  alg: z.literal('ES256').optional().describe('Added by some exports: "ES256"; ignored.'),
});
export type P256PublicJwk = z.infer<typeof P256PublicJwk>;

/** Device id: the RFC 7638 SHA-256 JWK thumbprint of the device key, base64url. */
export const DeviceId = Base64Url.length(43).describe(
  "The device id: the RFC 7638 SHA-256 thumbprint of the device's public key, base64url.",
);
export type DeviceId = z.infer<typeof DeviceId>;

/** Raw (IEEE P1363, r||s) ECDSA P-256 signature, as WebCrypto produces it. */
export const P256Signature = Base64Url.length(86).describe(
  'A raw (IEEE P1363, r || s) ECDSA P-256 SHA-256 signature, base64url, as WebCrypto makes it.',
);

/**
 * The exact byte strings a device signs. One function per purpose so a signature
 * made for one purpose can never be accepted for another.
 */
export const signedMessages = {
  enrolment: (challengeId: string, nonce: string, code: string) =>
    `verified-desk/v1/enrol\n${challengeId}\n${nonce}\n${code}`,
  authentication: (challengeId: string, nonce: string, deviceId: string) =>
    `verified-desk/v1/authenticate\n${challengeId}\n${nonce}\n${deviceId}`,
} as const;

/** Header a device sends on every request: a DPoP-style proof JWS (RFC 9449). */
export const DEVICE_PROOF_HEADER = 'device-proof';
export const DEVICE_PROOF_TYP = 'vd-device-proof+jwt';
export const DeviceProofClaims = z.strictObject({
  htm: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'WS']),
  htu: z.string().max(2048),
  iat: z.number().int(),
  jti: z.string().min(16).max(128),
  ath: Base64Url.max(64),
});
export type DeviceProofClaims = z.infer<typeof DeviceProofClaims>;
