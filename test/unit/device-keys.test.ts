import assert from 'node:assert/strict';
import { sign } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { verifyDeviceJws, verifyDeviceJwsOffLoop } from '../../authority/src/identity/device-keys.ts';
import { newP256KeyPair } from '../../node-common/keypairs.ts';

// The device JWS check runs on the event loop (a request alone) or on the thread pool
// (requests in flight at once): both must give the same answer for every input.
const device = newP256KeyPair();
const other = newP256KeyPair();
const TYP = 'vd-device-proof+jwt';
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function jws(header: unknown, payload: unknown, key = device.privateKey): string {
  const signed = `${b64(header)}.${b64(payload)}`;
  const sig = sign('sha256', Buffer.from(signed), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${signed}.${sig}`;
}

async function both(token: string, typ = TYP): Promise<string | undefined> {
  const onLoop = verifyDeviceJws(device.publicKey, token, typ);
  const offLoop = await verifyDeviceJwsOffLoop(device.publicKey, token, typ);
  assert.equal(offLoop, onLoop, `same answer for ${token.slice(0, 60)}...`);
  return onLoop;
}

describe('device JWS: the same verdict on and off the event loop', () => {
  it('a good JWS gives its payload; forged, tampered or malformed ones give nothing', async () => {
    const payload = { htm: 'GET', htu: '/v1/device/me', jti: 'j1', iat: 1 };
    const good = jws({ alg: 'ES256', typ: TYP }, payload);
    assert.equal(await both(good), JSON.stringify(payload));
    const [h, p, s] = good.split('.') as [string, string, string];
    const cases = [
      jws({ alg: 'ES256', typ: TYP }, payload, other.privateKey), // another key
      `${h}.${b64({ ...payload, jti: 'j2' })}.${s}`, // payload changed after signing
      `${h}.${p}.${s.slice(0, -2)}`, // 63 bytes of signature
      `${h}.${p}.${Buffer.alloc(64).toString('base64url')}`, // zero signature
      jws({ alg: 'ES256', typ: 'JWT' }, payload), // wrong typ
      jws({ alg: 'ES256' }, payload), // no typ
      jws({ alg: 'none', typ: TYP }, payload),
      jws({ alg: 'ES256', typ: TYP, crit: ['exp'] }, payload),
      jws({ alg: 'ES256', typ: TYP, b64: false }, payload),
      jws([1, 2], payload),
      `${h}.${p}`,
      `${h}.${p}.${s}.x`,
      `${h}.${p}.${s}!`,
      '',
    ];
    for (const c of cases) assert.equal(await both(c), undefined, c.slice(0, 80));
  });

  it('random changes to a good JWS: never accepted unless unchanged (fast-check, 300 runs)', async () => {
    const good = jws({ alg: 'ES256', typ: TYP }, { jti: 'j', iat: 2 });
    await fc.assert(
      fc.asyncProperty(fc.nat(good.length - 1), fc.constantFrom(...'AQgw_-.=xZ09'), async (at, ch) => {
        const changed = good.slice(0, at) + ch + good.slice(at + 1);
        const verdict = await both(changed);
        // base64url's last character may carry unused bits: the same bytes, the same payload
        if (verdict !== undefined) assert.equal(verdict, await both(good));
      }),
      { numRuns: 300 },
    );
  });
});
