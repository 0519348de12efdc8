/** base64url without padding (RFC 4648 section 5), the encoding of every id and signature on the wire. */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = '';
  for (const b of u8) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const utf8 = new TextEncoder();

export const utf8Bytes = (text: string): Uint8Array<ArrayBuffer> => utf8.encode(text);

/** SHA-256 of a UTF-8 string, base64url: the `ath` of device proofs and the `tkt` of call proofs. */
export async function sha256b64url(text: string): Promise<string> {
  return base64url(await crypto.subtle.digest('SHA-256', utf8Bytes(text)));
}

/** `n` random bytes, base64url: proof ids and idempotency keys. */
export const randomId = (n = 16): string => base64url(crypto.getRandomValues(new Uint8Array(n)));
