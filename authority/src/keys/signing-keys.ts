import {
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';

/**
 * The authority's ES256 signing key (access tokens now, call tickets later), kept in
 * the database and published as a JWKS. Created on first start.
 */
export class SigningKeys {
  private constructor(
    private readonly kid: string,
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    private readonly publicJwk: JWK,
    private readonly clockNow: () => number,
  ) {}

  static async load(ctx: Pick<Ctx, 'data' | 'clock'>): Promise<SigningKeys> {
    let row = await ctx.data.read.keys.latest();
    if (!row) {
      // Generated outside the unit (no crypto in a unit); a node that lost the race uses the winner's key.
      const { privateKey } = await generateKeyPair('ES256', { extractable: true });
      const mine = { kid: randomId(12), private_jwk: JSON.stringify(await exportJWK(privateKey)) };
      row = await ctx.data.tx(async (r) => await r.keys.latestOrInsert(mine));
    }
    const priv = JSON.parse(row.private_jwk) as JWK;
    const { d: _d, ...pub } = priv;
    const publicJwk = { ...pub, kid: row.kid, alg: 'ES256', use: 'sig' };
    return new SigningKeys(
      row.kid,
      (await importJWK(priv, 'ES256')) as CryptoKey,
      (await importJWK(publicJwk, 'ES256')) as CryptoKey,
      publicJwk,
      () => ctx.clock.now(),
    );
  }

  jwks(): { keys: (JWK & { kid: string; kty: string })[] } {
    return { keys: [this.publicJwk as JWK & { kid: string; kty: string }] };
  }

  sign(payload: JWTPayload, typ: string, ttlSeconds: number): Promise<string> {
    const now = Math.floor(this.clockNow() / 1000);
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ })
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(typeof payload.jti === 'string' ? payload.jti : randomId(12))
      .sign(this.privateKey);
  }

  /** Sign claims exactly as given: the caller sets iat, exp and jti (device commands carry an absolute expiry). */
  signExact(payload: JWTPayload, typ: string): Promise<string> {
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid, typ })
      .sign(this.privateKey);
  }

  /** `toleranceSeconds`: accept a token this long after its expiry (e.g. a call answered while ringing). */
  async verify(token: string, typ: string, opts: { toleranceSeconds?: number } = {}): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.publicKey, {
      algorithms: ['ES256'],
      typ,
      currentDate: new Date(this.clockNow()),
      clockTolerance: opts.toleranceSeconds ?? 0,
    });
    return payload;
  }
}
