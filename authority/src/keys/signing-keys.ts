import { createPrivateKey, createPublicKey, type JsonWebKey } from 'node:crypto';
import { newP256KeyPair } from '../../../node-common/keypairs.ts';
import { createSigner, createVerifier } from 'fast-jwt';
import type { JWK, JWTPayload } from 'jose';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';

type Signer = (payload: JWTPayload) => string;
type Verifier = (token: string) => { header: Record<string, unknown>; payload: JWTPayload };

/** Verified access tokens kept (bounded LRU): a hit skips the signature, never the expiry. */
const VERIFIED_CACHE_SIZE = 4096;
/** How long (real time) a cached verification is kept at most; expiry is still checked at each use. */
const VERIFIED_CACHE_MS = 10 * 60_000;

/**
 * The authority's ES256 signing key (access tokens, call tickets, device commands), kept in
 * the database and published as a JWKS. Created on first start.
 *
 * Signing and verifying are synchronous node:crypto work through fast-jwt (no WebCrypto job
 * per token). fast-jwt reads its clock once, when a verifier is made; the authority's clock
 * is injected (tests move it), so fast-jwt only checks signature, alg and typ here and the
 * time claims are checked below against `clockNow` (jose's rules: exp strictly after now
 * minus the tolerance, nbf not after now plus it). Tokens are plain compact JWS: the console,
 * the SDK and tests verify them with jose against `jwks()`.
 */
export class SigningKeys {
  private readonly signers = new Map<string, Signer>();
  private readonly verifiers = new Map<string, Verifier>();

  private constructor(
    private readonly kid: string,
    private readonly privatePem: string,
    private readonly publicPem: string,
    private readonly publicJwk: JWK,
    private readonly clockNow: () => number,
  ) {}

  static async load(ctx: Pick<Ctx, 'data' | 'clock'>): Promise<SigningKeys> {
    let row = await ctx.data.read.keys.latest();
    if (!row) {
      // Generated outside the unit (no crypto in a unit); a node that lost the race uses the winner's key.
      // newP256KeyPair: a key from generateKeyPairSync can deadlock its JWK export on Node 20
      const { privateKey } = newP256KeyPair();
      const mine = { kid: randomId(12), private_jwk: JSON.stringify(privateKey.export({ format: 'jwk' })) };
      row = await ctx.data.tx(async (r) => await r.keys.latestOrInsert(mine));
    }
    const priv = JSON.parse(row.private_jwk) as JWK;
    const { d: _d, ...pub } = priv;
    const publicJwk = { ...pub, kid: row.kid, alg: 'ES256', use: 'sig' };
    const key = createPrivateKey({ key: priv as JsonWebKey, format: 'jwk' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1')
      throw new Error('the signing key is not a P-256 key');
    return new SigningKeys(
      row.kid,
      key.export({ format: 'pem', type: 'pkcs8' }) as string,
      createPublicKey(key).export({ format: 'pem', type: 'spki' }) as string,
      publicJwk,
      () => ctx.clock.now(),
    );
  }

  jwks(): { keys: (JWK & { kid: string; kty: string })[] } {
    return { keys: [this.publicJwk as JWK & { kid: string; kty: string }] };
  }

  /** Header `{alg: ES256, typ, kid}`; fast-jwt keeps a payload's own `iat` (it adds one only when absent). */
  private signer(typ: string): Signer {
    let s = this.signers.get(typ);
    if (!s) {
      s = createSigner({
        key: this.privatePem,
        algorithm: 'ES256',
        kid: this.kid,
        header: { alg: 'ES256', typ },
      }) as Signer;
      this.signers.set(typ, s);
    }
    return s;
  }

  sign(payload: JWTPayload, typ: string, ttlSeconds: number): string {
    const iat = Math.floor(this.clockNow() / 1000);
    const jti = typeof payload.jti === 'string' ? payload.jti : randomId(12);
    return this.signer(typ)({ ...payload, iat, exp: iat + ttlSeconds, jti });
  }

  /**
   * Sign claims exactly as given: the caller sets iat, exp and jti (device commands carry an
   * absolute expiry). `iat` is required: fast-jwt would add one to a payload without it.
   */
  signExact(payload: JWTPayload & { iat: number }, typ: string): string {
    return this.signer(typ)(payload);
  }

  private verifier(typ: string, cached: boolean): Verifier {
    const k = `${cached ? 'cached' : 'fresh'} ${typ}`;
    let v = this.verifiers.get(k);
    if (!v) {
      v = createVerifier({
        key: this.publicPem,
        algorithms: ['ES256'],
        checkTyp: typ,
        complete: true,
        // Time claims are checked in verify() against the authority's clock.
        ignoreExpiration: true,
        ignoreNotBefore: true,
        ...(cached ? { cache: VERIFIED_CACHE_SIZE, cacheTTL: VERIFIED_CACHE_MS } : {}),
      }) as Verifier;
      this.verifiers.set(k, v);
    }
    return v;
  }

  /**
   * Verify a token of `typ` signed by this key; throws when it does not verify or is expired.
   * `toleranceSeconds`: accept a token this long after its expiry (e.g. a call answered while
   * ringing). `cached`: a token verified before is not verified again (access tokens on every
   * staff request); its expiry is checked at each use all the same.
   */
  verify(token: string, typ: string, opts: { toleranceSeconds?: number; cached?: boolean } = {}): JWTPayload {
    const { header, payload } = this.verifier(typ, opts.cached === true)(token);
    if (header.kid !== this.kid) throw new Error('token signed under another key id');
    const now = Math.floor(this.clockNow() / 1000);
    const tolerance = opts.toleranceSeconds ?? 0;
    if (typeof payload.exp !== 'number' || payload.exp <= now - tolerance) throw new Error('token expired');
    if (payload.nbf !== undefined && (typeof payload.nbf !== 'number' || payload.nbf > now + tolerance))
      throw new Error('token not yet valid');
    if (payload.iat !== undefined && typeof payload.iat !== 'number') throw new Error('token iat invalid');
    return payload;
  }
}
