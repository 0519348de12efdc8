import type { KeyObject } from 'node:crypto';
import { compactVerify } from 'jose';
import {
  DEVICE_PROOF_TYP,
  DeviceProofClaims,
  SETUP_WINDOW_MS,
  signedMessages,
  type AuthenticateRequest,
  type EnrolRequest,
} from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { badRequest, DomainError, unauthorized } from '../errors.ts';
import { randomId, sha256b64url } from '../ids.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { Challenges } from './challenges.ts';
import { deviceIdOf, importDeviceKey, verifyDeviceSignature } from './device-keys.ts';
import type { FactorSetup } from './factor-setup.ts';

export interface DeviceRow {
  id: string;
  customer_id: string;
  public_jwk: string;
  label: string | null;
  enrolled_at: number;
  revoked_at: number | null;
}

/** A device request that passed token and proof checks. */
export interface DevicePrincipal {
  kind: 'device';
  device: DeviceRow;
  authentication: AuthenticationRow;
  tokenHash: string;
}

const ENROLMENT_CODE_TTL_MS = 7 * 86_400_000;
const PROOF_MAX_SKEW_S = 60;

/**
 * Device enrolment (one-time code + proof of key possession), device authentication
 * (challenge signature -> authentication at level 1 + device-bound token), and the
 * per-request proof: a JWS by the device key naming method, path, time, a single-use
 * id and the token hash (the RFC 9449 DPoP pattern).
 */
export class Devices {
  private readonly keyCache = new Map<string, KeyObject>();
  private readonly getDevice;
  private readonly insertProof;
  private readonly tokenStmt;
  private readonly customerDeactivated;
  constructor(
    private readonly ctx: Ctx,
    private readonly challenges: Challenges,
    private readonly authentications: Authentications,
    private readonly setup: FactorSetup,
  ) {
    this.getDevice = ctx.db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?');
    this.tokenStmt = ctx.db.prepare<
      [string],
      { device_id: string; authentication_id: string; expires_at: number; revoked_at: number | null }
    >('SELECT device_id, authentication_id, expires_at, revoked_at FROM device_tokens WHERE token_hash = ?');
    this.insertProof = ctx.db.prepare('INSERT OR IGNORE INTO used_proofs (jti, expires_at) VALUES (?, ?)');
    this.customerDeactivated = ctx.db.prepare<[string], { id: string }>(
      'SELECT id FROM customers WHERE id = ? AND deactivated_at IS NOT NULL',
    );
  }

  async issueEnrolmentCode(
    customerId: string,
    code = randomCode(),
  ): Promise<{ code: string; expiresAt: number }> {
    const expiresAt = this.ctx.clock.now() + ENROLMENT_CODE_TTL_MS;
    this.ctx.db
      .prepare(
        'INSERT OR REPLACE INTO enrolment_codes (code_hash, customer_id, expires_at, used_at) VALUES (?, ?, ?, NULL)',
      )
      .run(sha256b64url(code), customerId, expiresAt);
    return { code, expiresAt };
  }

  /**
   * Enrol the key with a one-time code. The same step opens the device's first
   * authentication (level 1) with its token: the only authentication that may set up
   * factors below their level, until SETUP_WINDOW_MS after enrolment.
   */
  async enrol(req: EnrolRequest): Promise<{
    device: DeviceRow;
    customerName: string;
    authentication: AuthenticationRow;
    token: string;
  }> {
    const challenge = await this.challenges.consume(req.challengeId, 'enrol');
    if (!challenge) throw unauthorized('challenge unknown, used or expired');
    let key: KeyObject;
    try {
      key = importDeviceKey(req.publicKey);
    } catch {
      throw badRequest('publicKey is not a valid P-256 public key');
    }
    const deviceId = await deviceIdOf(req.publicKey);
    const message = signedMessages.enrolment(challenge.id, challenge.nonce, req.code);
    if (!verifyDeviceSignature(key, message, req.signature)) {
      this.ctx.audit.append({
        actor: `device:${deviceId}`,
        action: 'device.enrol',
        outcome: 'failure',
        reason: 'bad signature',
      });
      throw unauthorized('signature does not verify with the presented key');
    }
    const now = this.ctx.clock.now();
    const result = this.ctx.db.transaction(() => {
      const used = this.ctx.db
        .prepare<[number, string, number], { customer_id: string }>(
          // A deactivated customer's code enrols nothing (the demo seed re-arms codes at every start).
          `UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ?
             AND customer_id IN (SELECT id FROM customers WHERE deactivated_at IS NULL) RETURNING customer_id`,
        )
        .get(now, sha256b64url(req.code), now);
      if (!used) return null;
      if (this.getDevice.get(deviceId))
        throw new DomainError('conflict', 'conflict', 'this device key is already enrolled');
      this.ctx.db
        .prepare(
          'INSERT INTO devices (id, customer_id, public_jwk, label, enrolled_at) VALUES (?, ?, ?, ?, ?)',
        )
        .run(
          deviceId,
          used.customer_id,
          JSON.stringify({ kty: 'EC', crv: 'P-256', x: req.publicKey.x, y: req.publicKey.y }),
          req.label ?? null,
          now,
        );
      this.setup.notify(used.customer_id, deviceId, 'device.enrolled');
      return used.customer_id;
    })();
    if (!result) {
      this.ctx.audit.append({
        actor: `device:${deviceId}`,
        action: 'device.enrol',
        outcome: 'failure',
        reason: 'enrolment code unknown, used or expired',
      });
      throw unauthorized('enrolment code unknown, used or expired');
    }
    this.ctx.audit.append({
      actor: `device:${deviceId}`,
      action: 'device.enrol',
      subject: `customer:${result}`,
      outcome: 'success',
    });
    const name = this.ctx.db
      .prepare<[string], { display_name: string }>('SELECT display_name FROM customers WHERE id = ?')
      .get(result)!;
    const device = this.getDevice.get(deviceId)!;
    const authentication = await this.authentications.create(
      result,
      device.id,
      'device',
      'enrolment code',
      now + SETUP_WINDOW_MS,
    );
    const token = await this.issueToken(device, authentication);
    return { device, customerName: name.display_name, authentication, token };
  }

  private async issueToken(device: DeviceRow, authentication: AuthenticationRow): Promise<string> {
    const token = randomId(32);
    this.ctx.db
      .prepare(
        'INSERT INTO device_tokens (token_hash, device_id, authentication_id, expires_at) VALUES (?, ?, ?, ?)',
      )
      .run(sha256b64url(token), device.id, authentication.id, authentication.expires_at);
    this.ctx.audit.append({
      actor: `device:${device.id}`,
      action: 'auth.device',
      subject: `authentication:${authentication.id}`,
      outcome: 'success',
    });
    return token;
  }

  /** Challenge signature -> new authentication (factor "device") and a token bound to the device key. */
  async authenticate(
    req: AuthenticateRequest,
  ): Promise<{ authentication: AuthenticationRow; token: string }> {
    const challenge = await this.challenges.consume(req.challengeId, 'authenticate');
    const device = this.getDevice.get(req.deviceId);
    const fail = (reason: string): never => {
      this.ctx.audit.append({
        actor: `device:${req.deviceId}`,
        action: 'auth.device',
        outcome: 'failure',
        reason,
      });
      throw unauthorized(reason);
    };
    if (!challenge) return fail('challenge unknown, used or expired');
    if (challenge.device_id !== req.deviceId) return fail('challenge was issued for another device');
    if (!device || device.revoked_at !== null) return fail('device unknown or revoked');
    const message = signedMessages.authentication(challenge.id, challenge.nonce, device.id);
    if (!verifyDeviceSignature(this.keyOf(device), message, req.signature)) return fail('bad signature');
    if (this.customerDeactivated.get(device.customer_id)) return fail('customer account deactivated');
    const authentication = await this.authentications.create(device.customer_id, device.id, 'device');
    return { authentication, token: await this.issueToken(device, authentication) };
  }

  async get(id: string): Promise<DeviceRow | undefined> {
    return this.getDevice.get(id);
  }

  keyOf(device: DeviceRow): KeyObject {
    let key = this.keyCache.get(device.id);
    if (!key) {
      key = importDeviceKey(JSON.parse(device.public_jwk));
      if (this.keyCache.size > 10_000) this.keyCache.clear();
      this.keyCache.set(device.id, key);
    }
    return key;
  }

  /**
   * Check "Device <token>" plus the proof JWS for this method and path. Any failure is
   * a 401: unknown/expired token, wrong key, stale or future iat, replayed jti.
   */
  async verifyRequest(
    authorization: string | undefined,
    proof: string | undefined,
    htm: string,
    htu: string,
  ): Promise<DevicePrincipal> {
    const m = /^Device ([A-Za-z0-9_-]{16,128})$/.exec(authorization ?? '');
    if (!m) throw unauthorized('device token required');
    if (!proof || proof.length > 4096) throw unauthorized('device proof required');
    const tokenHash = sha256b64url(m[1]!);
    const now = this.ctx.clock.now();
    const tok = this.tokenStmt.get(tokenHash);
    if (!tok || tok.revoked_at !== null || tok.expires_at <= now)
      throw unauthorized('device token unknown or expired');
    const device = this.getDevice.get(tok.device_id);
    if (!device || device.revoked_at !== null) throw unauthorized('device revoked');
    let payload: unknown;
    try {
      const r = await compactVerify(proof, this.keyOf(device), { algorithms: ['ES256'] });
      if (r.protectedHeader.typ !== DEVICE_PROOF_TYP) throw new Error('typ');
      payload = JSON.parse(new TextDecoder().decode(r.payload));
    } catch {
      throw unauthorized('device proof does not verify');
    }
    const claims = DeviceProofClaims.safeParse(payload);
    if (!claims.success) throw unauthorized('device proof claims invalid');
    const c = claims.data;
    if (c.htm !== htm || c.htu !== htu) throw unauthorized('device proof is for another request');
    if (c.ath !== tokenHash) throw unauthorized('device proof is for another token');
    if (Math.abs(c.iat - now / 1000) > PROOF_MAX_SKEW_S)
      throw unauthorized('device proof too old or from the future');
    const fresh =
      this.insertProof.run(`${device.id}:${c.jti}`, now + 2 * PROOF_MAX_SKEW_S * 1000).changes === 1;
    if (!fresh) throw unauthorized('device proof replayed');
    const authentication = this.authentications.get(tok.authentication_id)!;
    return { kind: 'device', device, authentication, tokenHash };
  }

  async prune(): Promise<void> {
    this.ctx.db.prepare('DELETE FROM used_proofs WHERE expires_at < ?').run(this.ctx.clock.now());
  }
}

function randomCode(): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  const chars = Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  return `${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}
