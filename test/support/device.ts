import { generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import { DEVICE_PROOF_TYP, signedMessages, WS_PATH } from '../../protocol/src/index.ts';
import { sha256b64url } from '../../authority/src/ids.ts';
import { call, type HttpResult } from './http.ts';

/**
 * A simulated access device in Node: a P-256 key, enrolment and authentication by
 * signed challenges, and a per-request proof JWS on every call, exactly as the
 * customer SDK does with WebCrypto.
 */
export class TestDevice {
  readonly privateKey: KeyObject;
  readonly publicJwk: { kty: 'EC'; crv: 'P-256'; x: string; y: string };
  deviceId = '';
  customerId = '';
  token = '';
  authentication: any = null;

  constructor(
    readonly base: string,
    readonly now: () => number = Date.now,
  ) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    this.publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }

  signMessage(message: string): string {
    return sign('sha256', Buffer.from(message), { key: this.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
      'base64url',
    );
  }

  async enrol(code: string): Promise<HttpResult> {
    const ch = await call(this.base, 'POST', '/v1/device/challenges', { json: { purpose: 'enrol' } });
    const r = await call(this.base, 'POST', '/v1/device/enrol', {
      json: {
        code,
        publicKey: this.publicJwk,
        challengeId: ch.body.challengeId,
        signature: this.signMessage(signedMessages.enrolment(ch.body.challengeId, ch.body.nonce, code)),
      },
    });
    if (r.status === 201) {
      this.deviceId = r.body.deviceId;
      this.customerId = r.body.customerId;
    }
    return r;
  }

  async authenticate(): Promise<HttpResult> {
    const ch = await call(this.base, 'POST', '/v1/device/challenges', {
      json: { purpose: 'authenticate', deviceId: this.deviceId },
    });
    const r = await call(this.base, 'POST', '/v1/device/authenticate', {
      json: {
        deviceId: this.deviceId,
        challengeId: ch.body.challengeId,
        signature: this.signMessage(
          signedMessages.authentication(ch.body.challengeId, ch.body.nonce, this.deviceId),
        ),
      },
    });
    if (r.status === 201) {
      this.token = r.body.deviceToken;
      this.authentication = r.body.authentication;
    }
    return r;
  }

  /** Enrol with a code and authenticate (level 1). */
  async enrolAndAuthenticate(code: string): Promise<this> {
    const e = await this.enrol(code);
    if (e.status !== 201) throw new Error(`enrol: ${e.status} ${JSON.stringify(e.body)}`);
    const a = await this.authenticate();
    if (a.status !== 201) throw new Error(`authenticate: ${a.status} ${JSON.stringify(a.body)}`);
    return this;
  }

  async proof(htm: string, htu: string, overrides: Record<string, unknown> = {}): Promise<string> {
    const claims = {
      htm,
      htu,
      iat: Math.floor(this.now() / 1000),
      jti: randomBytes(16).toString('base64url'),
      ath: sha256b64url(this.token),
      ...overrides,
    };
    return new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'ES256', typ: DEVICE_PROOF_TYP })
      .sign(this.privateKey);
  }

  async headers(method: string, path: string): Promise<Record<string, string>> {
    return { authorization: `Device ${this.token}`, 'device-proof': await this.proof(method, path) };
  }

  /** A device-authenticated request with a fresh proof. */
  async call(
    method: string,
    path: string,
    opts: { json?: unknown; raw?: Buffer; contentType?: string } = {},
  ): Promise<HttpResult> {
    return call(this.base, method, path, { ...opts, headers: await this.headers(method, path) });
  }

  async wsHello(sessionId?: string) {
    return {
      type: 'hello',
      auth: { kind: 'device', token: this.token, proof: await this.proof('WS', WS_PATH) },
      ...(sessionId ? { sessionId } : {}),
    };
  }
}

/** The smallest valid-looking JPEG and PNG bodies for photo tests (magic bytes + padding). */
export const FAKE_JPEG = Buffer.concat([
  Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  randomBytes(200),
  Buffer.from([0xff, 0xd9]),
]);
export const FAKE_PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
  randomBytes(200),
]);
