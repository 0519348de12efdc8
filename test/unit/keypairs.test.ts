import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { sign, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { newP256KeyPair, newRsaKeyPair } from '../../node-common/keypairs.ts';

const root = new URL('../..', import.meta.url).pathname;
/** How many key pairs the child makes and exports (one export in about 20,000 deadlocked before). */
const EXPORTS = Number(process.env.VD_KEYPAIR_EXPORTS ?? 40_000);

describe('key pairs that are safe to export (node-common/keypairs.ts)', () => {
  it(`${EXPORTS} P-256 pairs exported as JWK under garbage-collection pressure: the process finishes`, async () => {
    // In a child: a deadlock would stop its event loop for good, and this test's timer ends it.
    const script = `
      import { newP256KeyPair } from ${JSON.stringify(`${root}node-common/keypairs.ts`)};
      const junk = [];
      for (let i = 0; i < ${EXPORTS}; i++) {
        const { privateKey, publicKey } = newP256KeyPair();
        publicKey.export({ format: 'jwk' });
        privateKey.export({ format: 'jwk' });
        junk.push(new Array(50).fill(i));
        if (junk.length > 2000) junk.length = 0;
      }
      console.log('exported ${EXPORTS}');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
    clearTimeout(limit);
    assert.equal(signal, null, `the child was still running after 180 s (deadlocked): ${out}`);
    assert.equal(code, 0);
    assert.match(out, new RegExp(`exported ${EXPORTS}`));
  });

  it('P-256: a working ES256 pair, its JWK with a 32-byte d, x and y', () => {
    for (let i = 0; i < 200; i++) {
      const { privateKey, publicKey } = newP256KeyPair();
      assert.equal(privateKey.asymmetricKeyType, 'ec');
      assert.equal(privateKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
      const jwk = privateKey.export({ format: 'jwk' });
      for (const part of [jwk.d, jwk.x, jwk.y]) assert.equal(Buffer.from(part!, 'base64url').length, 32);
      assert.deepEqual(publicKey.export({ format: 'jwk' }), { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y });
      const data = Buffer.from(`message ${i}`);
      const sig = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      assert.equal(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig), true);
      assert.equal(
        verify('sha256', Buffer.from('other'), { key: publicKey, dsaEncoding: 'ieee-p1363' }, sig),
        false,
      );
    }
  });

  it('RSA: a working pair of the asked size', () => {
    const { privateKey, publicKey } = newRsaKeyPair(2048);
    assert.equal(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
    const sig = sign('sha256', Buffer.from('m'), privateKey);
    assert.equal(verify('sha256', Buffer.from('m'), publicKey, sig), true);
    assert.equal(publicKey.export({ format: 'jwk' }).kty, 'RSA');
  });
});
