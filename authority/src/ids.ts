import { createHash, randomBytes } from 'node:crypto';

/** Random opaque id: `bytes` random bytes, base64url (16 bytes = 128 bits by default). */
export const randomId = (bytes = 16): string => randomBytes(bytes).toString('base64url');

export const sha256b64url = (data: string | Buffer): string =>
  createHash('sha256').update(data).digest('base64url');
