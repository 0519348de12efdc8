import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { newP256KeyPair } from '../../node-common/keypairs.ts';
import { CompactSign, createLocalJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet } from 'jose';
import {
  CALL_PROOF_TYP,
  COMMAND_CLOCK_SKEW_SECONDS,
  COMMAND_TYP,
  CONFIRM_SIGNATURE_TYP,
  CommandClaims,
  confirmCanonical,
  DEVICE_PROOF_TYP,
  signedMessages,
  WS_PATH,
  type CommandOutcome,
  type Transaction,
} from '../../protocol/src/index.ts';
import { ticketHash } from '../../authority/src/calls/call-tickets.ts';
import { sha256b64url } from '../../authority/src/ids.ts';
import { routes, type RouteId } from '../../protocol/src/routes.ts';
import { api, call, routePath, type ApiArgs, type ApiOptions, type HttpResult } from './http.ts';

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
  /** Until when the enrolment's authentication may set up factors (ISO), from the enrolment answer. */
  setupUntil: string | null = null;

  constructor(
    readonly base: string,
    readonly now: () => number = Date.now,
  ) {
    const { privateKey, publicKey } = newP256KeyPair();
    this.privateKey = privateKey;
    const jwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
    this.publicJwk = { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y };
  }

  signMessage(message: string): string {
    return sign('sha256', Buffer.from(message), { key: this.privateKey, dsaEncoding: 'ieee-p1363' }).toString(
      'base64url',
    );
  }

  /** Enrol with a one-time code: the answer opens the first authentication (level 1, may set up factors until `setupUntil`). */
  async enrol(code: string, label?: string): Promise<HttpResult> {
    const ch = await api(this.base, 'challenge', { json: { purpose: 'enrol' } });
    const r = await api(this.base, 'enrol', {
      json: {
        code,
        publicKey: this.publicJwk,
        challengeId: ch.body.challengeId,
        signature: this.signMessage(signedMessages.enrolment(ch.body.challengeId, ch.body.nonce, code)),
        ...(label ? { label } : {}),
      },
    });
    if (r.status === 201) {
      this.deviceId = r.body.deviceId;
      this.customerId = r.body.customerId;
      this.token = r.body.deviceToken;
      this.authentication = r.body.authentication;
      this.setupUntil = r.body.setupUntil;
    }
    return r;
  }

  async authenticate(): Promise<HttpResult> {
    const ch = await api(this.base, 'challenge', {
      json: { purpose: 'authenticate', deviceId: this.deviceId },
    });
    const r = await api(this.base, 'authenticate', {
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

  /** Enrol with a code: authenticated at level 1 by the enrolment itself, factors may be set up (as the app does). */
  async enrolAndAuthenticate(code: string): Promise<this> {
    const e = await this.enrol(code);
    if (e.status !== 201) throw new Error(`enrol: ${e.status} ${JSON.stringify(e.body)}`);
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

  /**
   * The device's proof of a call ticket (what the customer app sends as it answers a ticketed
   * call): ES256 over the ticket's hash and `iat` (seconds; now by the device's clock).
   */
  ticketProof(ticket: string, iat = Math.floor(this.now() / 1000)): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify({ tkt: ticketHash(ticket), iat })))
      .setProtectedHeader({ alg: 'ES256', typ: CALL_PROOF_TYP })
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

  /**
   * A route of the table by name, device-authenticated with a fresh proof (bound to its
   * method and path with the query), e.g. `device.api('setPin', { json: { pin } })`.
   * `headers` are added to (and may replace) the device's own.
   */
  async api<K extends RouteId>(name: K, ...[opts]: ApiArgs<K>): Promise<HttpResult> {
    const o = (opts ?? {}) as ApiOptions<K> & { params?: Record<string, string | number> };
    const { method } = routes[name];
    const path = routePath(name, { params: o.params, query: o.query });
    return call(this.base, method, path, {
      json: o.json,
      raw: o.raw,
      contentType: o.contentType,
      headers: { ...(await this.headers(method, path)), ...o.headers },
    });
  }

  async wsHello(sessionId?: string) {
    return {
      type: 'hello',
      auth: { kind: 'device', token: this.token, proof: await this.proof('WS', WS_PATH) },
      ...(sessionId ? { sessionId } : {}),
    };
  }
}

/** Why the device refuses a command (the checks CommandClaims documents). */
export type CommandRefusal =
  | 'forged' // not signed by the authority's published key
  | 'wrong-type'
  | 'malformed' // claims outside the protocol
  | 'other-device'
  | 'other-session'
  | 'other-request'
  | 'expired'
  | 'from-the-future'
  | 'replayed' // a command id already executed (and not a newer revision of the one on screen)
  | 'out-of-order'; // (fence, seq) not greater than the last executed pair

export type CommandVerdict =
  | { verdict: 'execute'; claims: CommandClaims }
  | { verdict: 'update'; claims: CommandClaims }
  | { verdict: 'refuse'; reason: CommandRefusal; detail: string };

/**
 * What a device must check before it shows a command, done the way the SDK does it:
 * the authority's JWKS, typ, claims, device/session/request binding, expiry with 5 s
 * leeway, single use of the command id (a higher revision of the command on screen is
 * an update), and (fence, seq) strictly increasing.
 */
export class CommandGuard {
  private readonly seen = new Map<string, { rev: number; exp: number }>();
  private last: { fence: number; seq: number } | null = null;
  private keys: ReturnType<typeof createLocalJWKSet> | null = null;

  constructor(
    readonly base: string,
    readonly device: () => { deviceId: string; sessionId: string | null; requestId: string | null },
    readonly now: () => number = Date.now,
  ) {}

  async loadKeys(): Promise<void> {
    const jwks = (await api(this.base, 'jwks')).body as JSONWebKeySet;
    this.keys = createLocalJWKSet(jwks);
  }

  async check(jws: string): Promise<CommandVerdict> {
    if (!this.keys) await this.loadKeys();
    const refuse = (reason: CommandRefusal, detail: string): CommandVerdict => ({
      verdict: 'refuse',
      reason,
      detail,
    });
    let payload: unknown;
    try {
      ({ payload } = await jwtVerify(jws, this.keys!, {
        algorithms: ['ES256'],
        typ: COMMAND_TYP,
        currentDate: new Date(this.now()),
        clockTolerance: COMMAND_CLOCK_SKEW_SECONDS,
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) return refuse('expired', e.message);
      if (e instanceof joseErrors.JWTClaimValidationFailed && e.claim === 'typ')
        return refuse('wrong-type', e.message);
      if (e instanceof joseErrors.JWSSignatureVerificationFailed || e instanceof joseErrors.JWKSNoMatchingKey)
        return refuse('forged', (e as Error).message);
      return refuse('malformed', (e as Error).message);
    }
    const parsed = CommandClaims.safeParse(payload);
    if (!parsed.success) return refuse('malformed', parsed.error.issues[0]?.message ?? 'claims');
    const c = parsed.data;
    const me = this.device();
    if (c.dev !== me.deviceId) return refuse('other-device', c.dev);
    if (c.sid !== me.sessionId) return refuse('other-session', c.sid);
    if (c.rid !== me.requestId) return refuse('other-request', c.rid);
    const nowS = this.now() / 1000;
    if (c.iat > nowS + COMMAND_CLOCK_SKEW_SECONDS) return refuse('from-the-future', String(c.iat));
    if (c.exp + COMMAND_CLOCK_SKEW_SECONDS < nowS) return refuse('expired', String(c.exp));
    const known = this.seen.get(c.cid);
    if (known) {
      if (c.rev > known.rev) {
        known.rev = c.rev;
        return { verdict: 'update', claims: c };
      }
      return refuse('replayed', `${c.cid} rev ${c.rev}`);
    }
    if (this.last && (c.fence < this.last.fence || (c.fence === this.last.fence && c.seq <= this.last.seq)))
      return refuse('out-of-order', `(${c.fence}, ${c.seq}) after (${this.last.fence}, ${this.last.seq})`);
    this.seen.set(c.cid, { rev: c.rev, exp: c.exp });
    this.last = { fence: c.fence, seq: c.seq };
    return { verdict: 'execute', claims: c };
  }
}

/** Remote-control helpers of the simulated device: ack, answer, image, stop all, and the transaction signature. */
export class DeviceControl {
  readonly guard: CommandGuard;
  sessionId: string | null = null;
  requestId: string | null = null;

  constructor(readonly d: TestDevice) {
    this.guard = new CommandGuard(
      d.base,
      () => ({
        deviceId: d.deviceId,
        sessionId: this.sessionId,
        requestId: this.requestId,
      }),
      d.now,
    );
  }

  follow(request: { requestId: string; sessionId: string }): this {
    this.requestId = request.requestId;
    this.sessionId = request.sessionId;
    return this;
  }

  pending(): Promise<HttpResult> {
    return this.d.api('deviceCommands');
  }

  ack(commandId: string): Promise<HttpResult> {
    return this.d.api('ackCommand', { params: { commandId } });
  }

  answer(commandId: string, outcome: CommandOutcome): Promise<HttpResult> {
    return this.d.api('commandResult', { params: { commandId }, json: outcome });
  }

  image(commandId: string, bytes: Buffer, contentType = 'image/jpeg'): Promise<HttpResult> {
    return this.d.api('commandImage', { params: { commandId }, raw: bytes, contentType });
  }

  stopAll(): Promise<HttpResult> {
    return this.d.api('stopControl', { params: { requestId: this.requestId! } });
  }

  /** The device key's signature of a transaction command (CONFIRM_SIGNATURE_TYP over confirmCanonical). */
  signTransaction(claims: CommandClaims, transaction?: Transaction): Promise<string> {
    if (claims.cmd.kind !== 'confirm' && !transaction) throw new Error('not a confirm command');
    const t = transaction ?? (claims.cmd as { payload: { transaction: Transaction } }).payload.transaction;
    const canonical = confirmCanonical({
      commandId: claims.cid,
      requestId: claims.rid,
      sessionId: claims.sid,
      deviceId: claims.dev,
      transaction: t,
    });
    return new CompactSign(new TextEncoder().encode(canonical))
      .setProtectedHeader({ alg: 'ES256', typ: CONFIRM_SIGNATURE_TYP })
      .sign(this.d.privateKey);
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
