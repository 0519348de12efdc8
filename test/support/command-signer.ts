import { randomBytes } from 'node:crypto';
import { createLocalJWKSet, SignJWT, type CryptoKey, type JWK } from 'jose';
import { newP256KeyPair } from '../../node-common/keypairs.ts';
import { COMMAND_TYP, type CommandClaims, type DeviceCommand } from '../../protocol/src/index.ts';

/**
 * Signs device commands the way the authority does (authority/src/keys/signing-keys.ts
 * `signExact`: ES256, kid, typ vd-command+jwt, claims exactly as given), with a fresh
 * key published as a local JWKS: the verifier under test sees real authority-shaped JWS.
 */
export class CommandSigner {
  private constructor(
    readonly kid: string,
    readonly privateKey: CryptoKey,
    readonly publicJwk: JWK,
  ) {}

  static async create(kid = randomBytes(9).toString('base64url')): Promise<CommandSigner> {
    // newP256KeyPair, imported into WebCrypto: a generated key can deadlock its JWK export on Node 20
    const pair = newP256KeyPair();
    const privateKey = (await crypto.subtle.importKey(
      'jwk',
      pair.privateKey.export({ format: 'jwk' }),
      { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign'],
    )) as unknown as CryptoKey;
    const { kty, crv, x, y } = pair.publicKey.export({ format: 'jwk' });
    return new CommandSigner(kid, privateKey, { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' });
  }

  jwks() {
    return { keys: [this.publicJwk] };
  }

  /** The `keys` option of the SDK verifier. */
  keys() {
    return createLocalJWKSet(this.jwks() as { keys: (JWK & { kty: string })[] });
  }

  /**
   * A compact JWS over exactly these header and payload texts, signed by the authority's
   * key (ES256, raw r||s): any header, any payload bytes, for the fuzz tests.
   */
  async signRaw(headerText: string, payloadText: string): Promise<string> {
    const enc = (t: string) => Buffer.from(t, 'utf8').toString('base64url');
    const input = `${enc(headerText)}.${enc(payloadText)}`;
    const sig = await crypto.subtle.sign(
      { name: 'ECDSA', hash: 'SHA-256' },
      this.privateKey as unknown as globalThis.CryptoKey,
      new TextEncoder().encode(input),
    );
    return `${input}.${Buffer.from(sig).toString('base64url')}`;
  }

  sign(claims: object, header: Record<string, unknown> = {}): Promise<string> {
    return new SignJWT(claims as Record<string, unknown>)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ: COMMAND_TYP, ...header })
      .sign(this.privateKey);
  }
}

export const opaqueId = (): string => randomBytes(16).toString('base64url');

/** Claims of a valid command for this device, session and request; override any field. */
export function commandClaims(
  base: { dev: string; sid: string; rid: string; nowMs: number },
  over: Partial<CommandClaims> & { cmd?: DeviceCommand } = {},
): CommandClaims {
  const cid = over.cid ?? opaqueId();
  const rev = over.rev ?? 1;
  const iat = Math.floor(base.nowMs / 1000);
  return {
    iss: 'verified-desk',
    jti: `${cid}.${rev}`,
    cid,
    rid: base.rid,
    sid: base.sid,
    dev: base.dev,
    agt: 'staff_agent1_000001',
    agn: 'Dana Reyes',
    fence: 1,
    seq: 1,
    rev,
    cmd: { kind: 'navigate', payload: { screen: 'account' } },
    iat,
    exp: iat + 120,
    ...over,
  };
}
