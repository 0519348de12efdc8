import type { P256PublicJwk } from '../../protocol/src/index.ts';
import { base64url, sha256b64url, utf8Bytes } from './encoding.ts';

/**
 * The hardware identifier: a P-256 key pair made by WebCrypto with a
 * non-extractable private key. Its RFC 7638 thumbprint is the device id.
 * Signatures are raw IEEE P1363 (r||s), which is what WebCrypto's ECDSA produces
 * and what the authority expects.
 */
export class DeviceKey {
  private constructor(readonly keyPair: CryptoKeyPair) {}

  static async generate(): Promise<DeviceKey> {
    const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
      'verify',
    ]);
    return new DeviceKey(pair);
  }

  /** A key pair restored from storage; refuses an extractable private key. */
  static fromStored(pair: CryptoKeyPair): DeviceKey {
    if (pair.privateKey.extractable) throw new Error('the stored device key is extractable: refusing it');
    return new DeviceKey(pair);
  }

  get privateKey(): CryptoKey {
    return this.keyPair.privateKey;
  }

  async publicJwk(): Promise<P256PublicJwk> {
    const jwk = await crypto.subtle.exportKey('jwk', this.keyPair.publicKey);
    if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y)
      throw new Error('not a P-256 public key');
    return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }

  /** RFC 7638 thumbprint: SHA-256 over the required members in lexical order. */
  async thumbprint(): Promise<string> {
    const { crv, kty, x, y } = await this.publicJwk();
    return sha256b64url(JSON.stringify({ crv, kty, x, y }));
  }

  /** Sign a UTF-8 message: base64url of the 64-byte r||s signature. */
  async signText(message: string): Promise<string> {
    const sig = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      this.privateKey,
      utf8Bytes(message),
    );
    return base64url(sig);
  }
}
