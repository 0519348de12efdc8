import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { newP256KeyPair } from '../../node-common/keypairs.ts';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * A software WebAuthn authenticator (and the browser's client-data part) in Node:
 * one P-256 / ES256 credential, 'none' attestation, and knobs to produce exactly the
 * malformed or hostile responses the authority must refuse.
 */

// ---------------------------------------------------------------------------------------
// A tiny CBOR encoder (RFC 8949): unsigned/negative integers, byte strings, text strings,
// arrays and maps (Map keeps key order; plain objects are encoded as text-keyed maps).
// Enough for a COSE_Key and a 'none' attestation object.
// ---------------------------------------------------------------------------------------
export type CborValue =
  | number
  | string
  | Uint8Array
  | boolean
  | null
  | CborValue[]
  | Map<number | string, CborValue>
  | { [k: string]: CborValue };

function cborHead(major: number, n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`CBOR length/value out of range: ${n}`);
  const m = major << 5;
  if (n < 24) return Buffer.from([m | n]);
  if (n < 0x100) return Buffer.from([m | 24, n]);
  if (n < 0x10000) {
    const b = Buffer.alloc(3);
    b[0] = m | 25;
    b.writeUInt16BE(n, 1);
    return b;
  }
  if (n < 0x100000000) {
    const b = Buffer.alloc(5);
    b[0] = m | 26;
    b.writeUInt32BE(n, 1);
    return b;
  }
  const b = Buffer.alloc(9);
  b[0] = m | 27;
  b.writeBigUInt64BE(BigInt(n), 1);
  return b;
}

export function cborEncode(v: CborValue): Buffer {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new TypeError('this CBOR encoder writes integers only');
    return v >= 0 ? cborHead(0, v) : cborHead(1, -1 - v);
  }
  if (typeof v === 'string') {
    const bytes = Buffer.from(v, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (v instanceof Uint8Array) return Buffer.concat([cborHead(2, v.length), Buffer.from(v)]);
  if (v === false) return Buffer.from([0xf4]);
  if (v === true) return Buffer.from([0xf5]);
  if (v === null) return Buffer.from([0xf6]);
  if (Array.isArray(v)) return Buffer.concat([cborHead(4, v.length), ...v.map(cborEncode)]);
  const entries: [number | string, CborValue][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
  return Buffer.concat([
    cborHead(5, entries.length),
    ...entries.flatMap(([k, val]) => [cborEncode(k), cborEncode(val)]),
  ]);
}

// ---------------------------------------------------------------------------------------

/** Authenticator data flags (WebAuthn L3 §6.1). */
export const FLAG = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40, ED: 0x80 } as const;

export const sha256 = (data: string | Uint8Array): Buffer => createHash('sha256').update(data).digest();

/** What a ceremony should look like; every field defaults to the honest value. */
export interface CeremonyKnobs {
  /** clientDataJSON.origin (default: the authenticator's origin). */
  origin?: string;
  /** RP ID whose SHA-256 goes into authenticatorData (default: options' rpId / rp.id, else the authenticator's rpId). */
  rpId?: string;
  /** Raw 32-byte rpIdHash, overriding rpId. */
  rpIdHash?: Uint8Array;
  /** UV flag (default true). */
  userVerified?: boolean;
  /** UP flag (default true). */
  userPresent?: boolean;
  /** Signature counter to report (default: the authenticator's counter, incremented per assertion). */
  counter?: number;
  /** clientDataJSON.challenge (default: options.challenge). */
  challenge?: string;
  /** clientDataJSON.crossOrigin (default false). */
  crossOrigin?: boolean;
  /** clientDataJSON.topOrigin (omitted by default). */
  topOrigin?: string;
  /** clientDataJSON.type (default webauthn.create / webauthn.get). */
  type?: string;
  /** Sign with this key instead of the credential's (a forged assertion). */
  signingKey?: KeyObject;
}

export interface SoftwareAuthenticatorOptions {
  /** The origin the simulated page runs on, e.g. "http://localhost:5173". */
  origin: string;
  /** Default RP ID when options carry none (default: the origin's host name). */
  rpId?: string;
  /** Signature counter before the first ceremony (default 0). */
  initialCounter?: number;
  /** Counter step per assertion (default 1; 0 models authenticators that always report 0). */
  counterStep?: number;
}

/** A single-credential software authenticator: create it, register once, then assert as often as needed. */
export class SoftwareAuthenticator {
  readonly origin: string;
  readonly rpId: string;
  readonly credentialId: Buffer = randomBytes(32);
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** The last counter value reported by the authenticator. */
  counter: number;
  private readonly counterStep: number;
  private userHandle: string | undefined;

  constructor(opts: SoftwareAuthenticatorOptions) {
    this.origin = opts.origin;
    this.rpId = opts.rpId ?? new URL(opts.origin).hostname;
    this.counter = opts.initialCounter ?? 0;
    this.counterStep = opts.counterStep ?? 1;
    const { privateKey, publicKey } = newP256KeyPair();
    this.privateKey = privateKey;
    this.publicKey = publicKey;
  }

  get id(): string {
    return this.credentialId.toString('base64url');
  }

  /** The credential public key as a COSE_Key (EC2, P-256, ES256). */
  coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    return cborEncode(
      new Map<number, CborValue>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, Buffer.from(jwk.x, 'base64url')],
        [-3, Buffer.from(jwk.y, 'base64url')],
      ]),
    );
  }

  clientData(type: string, challenge: string, k: CeremonyKnobs): Buffer {
    const c: Record<string, unknown> = {
      type: k.type ?? type,
      challenge: k.challenge ?? challenge,
      origin: k.origin ?? this.origin,
      crossOrigin: k.crossOrigin ?? false,
    };
    if (k.topOrigin !== undefined) c.topOrigin = k.topOrigin;
    return Buffer.from(JSON.stringify(c), 'utf8');
  }

  private authDataHead(rpId: string, k: CeremonyKnobs, counter: number, extra: number): Buffer {
    const head = Buffer.alloc(37);
    Buffer.from(k.rpIdHash ?? sha256(k.rpId ?? rpId)).copy(head, 0, 0, 32);
    head[32] = ((k.userPresent ?? true) ? FLAG.UP : 0) | ((k.userVerified ?? true) ? FLAG.UV : 0) | extra;
    head.writeUInt32BE(counter >>> 0, 33);
    return head;
  }

  /** navigator.credentials.create() + the authenticator's makeCredential, as RegistrationResponseJSON. */
  register(options: PublicKeyCredentialCreationOptionsJSON, k: CeremonyKnobs = {}): RegistrationResponseJSON {
    if (!options.pubKeyCredParams.some((p) => p.alg === -7))
      throw new Error('options do not allow ES256 (-7)');
    this.userHandle = options.user.id;
    const counter = k.counter ?? this.counter;
    const credIdLen = Buffer.alloc(2);
    credIdLen.writeUInt16BE(this.credentialId.length);
    const authData = Buffer.concat([
      this.authDataHead(options.rp.id ?? this.rpId, k, counter, FLAG.AT),
      Buffer.alloc(16), // AAGUID: all zero for 'none'
      credIdLen,
      this.credentialId,
      this.coseKey(),
    ]);
    const attestationObject = cborEncode(
      new Map<string, CborValue>([
        ['fmt', 'none'],
        ['attStmt', new Map()],
        ['authData', authData],
      ]),
    );
    const clientDataJSON = this.clientData('webauthn.create', options.challenge, k);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        attestationObject: attestationObject.toString('base64url'),
        transports: ['internal'],
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get() + the authenticator's getAssertion, as AuthenticationResponseJSON. */
  assert(options: PublicKeyCredentialRequestOptionsJSON, k: CeremonyKnobs = {}): AuthenticationResponseJSON {
    if (options.allowCredentials?.length && !options.allowCredentials.some((c) => c.id === this.id))
      throw new Error('options do not allow this credential');
    let counter: number;
    if (k.counter !== undefined) counter = k.counter;
    else {
      this.counter += this.counterStep;
      counter = this.counter;
    }
    const authData = this.authDataHead(options.rpId ?? this.rpId, k, counter, 0);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, k);
    const signature = sign(
      'sha256',
      Buffer.concat([authData, sha256(clientDataJSON)]),
      k.signingKey ?? this.privateKey,
    );
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: {
        clientDataJSON: clientDataJSON.toString('base64url'),
        authenticatorData: authData.toString('base64url'),
        signature: signature.toString('base64url'),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      authenticatorAttachment: 'platform',
      clientExtensionResults: {},
    };
  }
}
