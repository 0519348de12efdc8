/**
 * The authority's own tokens (authority/src/keys/signing-keys.ts), on every engine of
 * VD_TEST_ENGINES (the key lives in the store): what it signs verifies with jose against
 * jwks() with the same header (alg, kid, typ) and claims; what it verifies refuses a wrong
 * typ, alg or kid, a tampered payload, an expired token and another key's signature; a
 * cached (access-token) verification still refuses the token once it has expired.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, sign as nodeSign, type JsonWebKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { FakeClock } from '../../authority/src/clock.ts';
import { SigningKeys } from '../../authority/src/keys/signing-keys.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';

const TYP = 'vd-test+jwt';
const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

for (const engine of testEngines()) {
  describe(`signing keys (${engine})`, () => {
    const clock = new FakeClock();
    let db: Awaited<ReturnType<typeof openTestData>>;
    let keys: SigningKeys;
    let privateJwk: JWK;
    let kid: string;
    before(async () => {
      db = await openTestData(engine, clock);
      keys = await SigningKeys.load({ data: db.data as Data, clock });
      const row = (await db.data.read.keys.latest())!;
      privateJwk = JSON.parse(row.private_jwk) as JWK;
      kid = row.kid;
    });
    after(() => db.close());

    /** A token signed with the authority's own private key, header and payload as given. */
    const signRaw = (header: object, payload: object): string => {
      const input = `${b64(header)}.${b64(payload)}`;
      const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' });
      const sig = nodeSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${sig.toString('base64url')}`;
    };
    const nowS = (): number => Math.floor(clock.now() / 1000);

    it('a second load uses the stored key: same kid and JWKS', async () => {
      const again = await SigningKeys.load({ data: db.data as Data, clock });
      assert.deepEqual(again.jwks(), keys.jwks());
      assert.equal(keys.jwks().keys[0]!.kid, kid);
      assert.equal(keys.jwks().keys[0]!.d, undefined);
    });

    it('sign: jose verifies it against jwks() with header {alg ES256, kid, typ} and iat/exp/jti set', async () => {
      const token = keys.sign({ sub: 's1', role: 'agent', fam: 'f1' }, TYP, 300);
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: TYP, kid });
      const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
        algorithms: ['ES256'],
        typ: TYP,
        currentDate: new Date(clock.now()),
      });
      assert.equal(protectedHeader.kid, kid);
      const { jti, ...rest } = payload;
      assert.deepEqual(rest, { sub: 's1', role: 'agent', fam: 'f1', iat: nowS(), exp: nowS() + 300 });
      assert.match(String(jti), /^\S{8,}$/);
      assert.equal(keys.sign({ jti: 'mine' }, TYP, 60).length > 0, true);
      assert.equal(decodeJwt(keys.sign({ jti: 'mine' }, TYP, 60)).jti, 'mine');
      assert.equal(keys.verify(token, TYP).sub, 's1');
    });

    it('signExact: exactly the given claims, verified by jose against jwks()', async () => {
      const claims = {
        iss: 'verified-desk',
        jti: 'c1.1',
        iat: nowS() - 5,
        exp: nowS() + 120,
        cmd: { kind: 'x' },
      };
      const token = keys.signExact(claims, TYP);
      assert.deepEqual(decodeProtectedHeader(token), { alg: 'ES256', typ: TYP, kid });
      assert.deepEqual(decodeJwt(token), claims);
      const { payload } = await jwtVerify(token, createLocalJWKSet(keys.jwks()), {
        typ: TYP,
        currentDate: new Date(clock.now()),
      });
      assert.deepEqual(payload, claims);
    });

    it('tokens signed by jose with the stored key (before this change) still verify', async () => {
      const token = await new SignJWT({ sub: 'old' })
        .setProtectedHeader({ alg: 'ES256', kid, typ: TYP })
        .setIssuedAt(nowS())
        .setExpirationTime(nowS() + 60)
        .sign(await importJWK(privateJwk, 'ES256'));
      assert.equal(keys.verify(token, TYP).sub, 'old');
      assert.equal(keys.verify(token, TYP, { cached: true }).sub, 'old');
    });

    it('refuses a wrong typ, alg none or HS256, another kid, a tampered payload, another key, a token without exp', async () => {
      const good = keys.sign({ sub: 's1' }, TYP, 300);
      const [h, p, s] = good.split('.') as [string, string, string];
      const claims = { sub: 's1', iat: nowS(), exp: nowS() + 300 };
      const other = await generateKeyPair('ES256');
      const bad: Record<string, string> = {
        'wrong typ': keys.sign({ sub: 's1' }, 'vd-other+jwt', 300),
        'no typ': signRaw({ alg: 'ES256', kid }, claims),
        'alg none': `${b64({ alg: 'none', kid, typ: TYP })}.${p}.`,
        'alg none with the signature': `${b64({ alg: 'none', kid, typ: TYP })}.${p}.${s}`,
        'HS256 keyed with the public JWK': `${b64({ alg: 'HS256', kid, typ: TYP })}.${p}.${s}`,
        'another kid, our key': signRaw({ alg: 'ES256', kid: 'someone-else', typ: TYP }, claims),
        'no kid, our key': signRaw({ alg: 'ES256', typ: TYP }, claims),
        'tampered payload': `${h}.${b64({ ...claims, sub: 'admin' })}.${s}`,
        'another key, same kid': await new SignJWT(claims)
          .setProtectedHeader({ alg: 'ES256', kid, typ: TYP })
          .sign(other.privateKey),
        'no exp': signRaw({ alg: 'ES256', kid, typ: TYP }, { sub: 's1', iat: nowS() }),
        'truncated signature': `${h}.${p}.${s.slice(0, -4)}`,
      };
      for (const [name, token] of Object.entries(bad)) {
        assert.throws(() => keys.verify(token, TYP), Error, name);
        assert.throws(() => keys.verify(token, TYP, { cached: true }), Error, `${name} (cached)`);
        // ...and a refused token is refused again (nothing cached as good).
        assert.throws(() => keys.verify(token, TYP, { cached: true }), Error, `${name} (cached, again)`);
      }
      assert.equal(keys.verify(good, TYP).sub, 's1');
    });

    it('expiry: refused at exp (jose rule), accepted within a tolerance; a cached verification expires too', () => {
      const token = keys.sign({ sub: 's2' }, TYP, 60);
      assert.equal(keys.verify(token, TYP, { cached: true }).sub, 's2');
      assert.equal(keys.verify(token, TYP, { cached: true }).sub, 's2');
      clock.advance(59_000);
      assert.equal(keys.verify(token, TYP, { cached: true }).sub, 's2');
      clock.advance(1_000);
      assert.throws(() => keys.verify(token, TYP, { cached: true }), /expired/);
      assert.throws(() => keys.verify(token, TYP), /expired/);
      assert.equal(keys.verify(token, TYP, { toleranceSeconds: 300 }).sub, 's2');
      clock.advance(300_000);
      assert.throws(() => keys.verify(token, TYP, { toleranceSeconds: 300 }), /expired/);
    });

    it('a token not yet valid (nbf after now) is refused', () => {
      const token = signRaw(
        { alg: 'ES256', kid, typ: TYP },
        { sub: 's3', nbf: nowS() + 60, exp: nowS() + 600 },
      );
      assert.throws(() => keys.verify(token, TYP), /not yet valid/);
    });
  });
}
