import {
  createECDH,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';

/**
 * New key pairs whose KeyObjects share nothing with a key-generation job.
 *
 * Why: on Node 20 (seen on 20.20.2) a key pair straight from `generateKeyPair(Sync)` (and
 * WebCrypto's `generateKey`, which runs the same job) can deadlock the process for good.
 * Exporting such a key as JWK holds the key's mutex while it allocates strings; when that
 * allocation runs a garbage collection that collects the finished generation job, the job's
 * destructor locks the same mutex on the same thread and waits forever (the main thread
 * sleeps in a futex; timers, the test runner's watchdog included, never run again). About
 * one export in 20,000 hits it; `test/unit/keypairs.test.ts` reproduces it in a child process.
 *
 * P-256 keys come from an ECDH key generation (no job, no shared mutex) turned into a JWK and
 * imported; RSA keys are generated already encoded (DER, inside the job) and imported anew.
 */
export function newP256KeyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  const ecdh = createECDH('prime256v1');
  const point = ecdh.generateKeys(); // uncompressed: 0x04 || x || y
  const x = point.subarray(1, 33).toString('base64url');
  const y = point.subarray(33, 65).toString('base64url');
  const scalar = ecdh.getPrivateKey();
  const d = Buffer.concat([Buffer.alloc(32 - scalar.length), scalar]).toString('base64url');
  return {
    privateKey: createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x, y, d }, format: 'jwk' }),
    publicKey: createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' }),
  };
}

/** An RSA key pair (`bits` long) that is safe to export as JWK on Node 20 (see above). */
export function newRsaKeyPair(bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  const der = generateKeyPairSync('rsa', {
    modulusLength: bits,
    privateKeyEncoding: { type: 'pkcs8', format: 'der' },
    publicKeyEncoding: { type: 'spki', format: 'der' },
  });
  return {
    privateKey: createPrivateKey({ key: der.privateKey, format: 'der', type: 'pkcs8' }),
    publicKey: createPublicKey({ key: der.publicKey, format: 'der', type: 'spki' }),
  };
}
