import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import { badRequest, unauthorized } from '../errors.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { Challenges } from './challenges.ts';
import type { DevicePrincipal } from './devices.ts';
import type { FactorSetup } from './factor-setup.ts';

const CEREMONY_TIMEOUT_MS = 120_000;

interface CredentialRow {
  id: string;
  customer_id: string;
  device_id: string;
  public_key: Buffer;
  counter: number;
  transports: string;
}

/**
 * WebAuthn L3 §7.1 step 11 / §7.2 step 13: a ceremony run inside a cross-origin iframe
 * says so with crossOrigin true. The customer app is never framed by another site, so
 * such a response is refused (the library only checks topOrigin, which not every
 * browser sends).
 */
const isCrossOrigin = (clientDataJSON: string): boolean => {
  try {
    return (
      (JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as { crossOrigin?: unknown })
        .crossOrigin === true
    );
  } catch {
    return false;
  }
};

const challengeOf = (clientDataJSON: string): string | null => {
  try {
    const c = JSON.parse(Buffer.from(clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown;
    };
    return typeof c.challenge === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(c.challenge)
      ? c.challenge
      : null;
  } catch {
    return null;
  }
};

/**
 * Biometric factor: a WebAuthn credential bound to one enrolled device, registered
 * and asserted with userVerification 'required' (an assertion without UV is never a
 * biometric). The challenge is the row id of a single-use challenge, consumed before
 * any verification; the signature counter moves only by compare-and-swap.
 */
export class WebAuthnFactor {
  constructor(
    private readonly ctx: Ctx,
    private readonly challenges: Challenges,
    private readonly authentications: Authentications,
    private readonly setup: FactorSetup,
  ) {}

  private async credentialsOf(deviceId: string): Promise<CredentialRow[]> {
    return this.ctx.db
      .prepare<[string], CredentialRow>('SELECT * FROM webauthn_credentials WHERE device_id = ?')
      .all(deviceId);
  }

  async hasCredential(customerId: string): Promise<boolean> {
    return !!this.ctx.db.prepare('SELECT 1 FROM webauthn_credentials WHERE customer_id = ?').get(customerId);
  }

  async registrationOptions(p: DevicePrincipal) {
    this.setup.require(p, 'biometric');
    const customer = this.ctx.db
      .prepare<[string], { display_name: string }>('SELECT display_name FROM customers WHERE id = ?')
      .get(p.device.customer_id)!;
    const challenge = await this.challenges.issue('webauthn-register', {
      deviceId: p.device.id,
      authenticationId: p.authentication.id,
      ttlMs: CEREMONY_TIMEOUT_MS,
      id: randomId(32),
    });
    return generateRegistrationOptions({
      rpName: this.ctx.config.rpName,
      rpID: this.ctx.config.rpId,
      userName: customer.display_name,
      userID: new TextEncoder().encode(p.device.customer_id),
      challenge: Buffer.from(challenge.id, 'base64url'),
      timeout: CEREMONY_TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: (await this.credentialsOf(p.device.id)).map((c) => ({ id: c.id })),
      authenticatorSelection: {
        residentKey: 'preferred',
        userVerification: 'required',
        authenticatorAttachment: 'platform',
      },
    });
  }

  async register(p: DevicePrincipal, response: RegistrationResponseJSON): Promise<string> {
    const challengeId = challengeOf(response.response.clientDataJSON);
    const fail = (reason: string): never => {
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'webauthn.register',
        outcome: 'failure',
        reason,
      });
      throw unauthorized(reason);
    };
    if (!challengeId) return fail('clientDataJSON has no usable challenge');
    const challenge = await this.challenges.consume(challengeId, 'webauthn-register');
    if (
      !challenge ||
      challenge.device_id !== p.device.id ||
      challenge.authentication_id !== p.authentication.id
    )
      return fail('challenge unknown, used, expired or not this device and authentication');
    // The grant is checked again now: options fetched under it do not outlive it.
    this.setup.require(p, 'biometric');
    if (isCrossOrigin(response.response.clientDataJSON))
      return fail('registration made in a cross-origin frame');
    let verification;
    try {
      verification = await verifyRegistrationResponse({
        response,
        expectedChallenge: challengeId,
        expectedOrigin: this.ctx.config.origins,
        expectedRPID: this.ctx.config.rpId,
        requireUserVerification: true,
      });
    } catch (e) {
      return fail(`registration rejected: ${(e as Error).message}`);
    }
    if (!verification.verified || !verification.registrationInfo) return fail('registration not verified');
    const { credential } = verification.registrationInfo;
    const exists = this.ctx.db.prepare('SELECT 1 FROM webauthn_credentials WHERE id = ?').get(credential.id);
    if (exists) return fail('credential already registered');
    this.ctx.db.transaction(() => {
      this.ctx.db
        .prepare(
          'INSERT INTO webauthn_credentials (id, customer_id, device_id, public_key, counter, transports, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          credential.id,
          p.device.customer_id,
          p.device.id,
          Buffer.from(credential.publicKey),
          credential.counter,
          JSON.stringify(credential.transports ?? []),
          this.ctx.clock.now(),
        );
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'webauthn.register',
        subject: `credential:${credential.id}`,
        outcome: 'success',
      });
      this.setup.done(p, 'biometric', `credential:${credential.id}`);
    })();
    return credential.id;
  }

  async assertionOptions(p: DevicePrincipal) {
    const creds = await this.credentialsOf(p.device.id);
    if (creds.length === 0) throw badRequest('no biometric is registered on this device');
    const challenge = await this.challenges.issue('webauthn-assert', {
      deviceId: p.device.id,
      authenticationId: p.authentication.id,
      ttlMs: CEREMONY_TIMEOUT_MS,
      id: randomId(32),
    });
    return generateAuthenticationOptions({
      rpID: this.ctx.config.rpId,
      challenge: Buffer.from(challenge.id, 'base64url'),
      timeout: CEREMONY_TIMEOUT_MS,
      userVerification: 'required',
      allowCredentials: creds.map((c) => ({ id: c.id, transports: JSON.parse(c.transports) })),
    });
  }

  async assert(p: DevicePrincipal, response: AuthenticationResponseJSON): Promise<AuthenticationRow> {
    const fail = (reason: string): never => {
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'auth.biometric',
        subject: `authentication:${p.authentication.id}`,
        outcome: 'failure',
        reason,
      });
      throw unauthorized(reason);
    };
    const challengeId = challengeOf(response.response.clientDataJSON);
    if (!challengeId) return fail('clientDataJSON has no usable challenge');
    // Consumed first: whatever happens next, this challenge is spent.
    const challenge = await this.challenges.consume(challengeId, 'webauthn-assert');
    if (!challenge) return fail('challenge unknown, used or expired');
    if (challenge.device_id !== p.device.id || challenge.authentication_id !== p.authentication.id)
      return fail('challenge was issued for another device or authentication');
    const cred = this.ctx.db
      .prepare<[string, string], CredentialRow>(
        'SELECT * FROM webauthn_credentials WHERE id = ? AND device_id = ?',
      )
      .get(response.id, p.device.id);
    if (!cred) return fail('credential not registered on this device');
    if (isCrossOrigin(response.response.clientDataJSON))
      return fail('assertion made in a cross-origin frame');
    const verify = (counter: number) =>
      verifyAuthenticationResponse({
        response,
        expectedChallenge: challengeId,
        expectedOrigin: this.ctx.config.origins,
        expectedRPID: this.ctx.config.rpId,
        credential: { id: cred.id, publicKey: new Uint8Array(cred.public_key), counter },
        requireUserVerification: true,
      });
    let verification;
    try {
      verification = await verify(cred.counter);
    } catch (e) {
      const msg = (e as Error).message;
      // The library checks the counter before the signature: flag a clone only when the
      // authenticator really signed the lower counter (re-verified without the counter rule).
      if (
        /counter/i.test(msg) &&
        (await verify(0).then(
          (v) => v.verified,
          () => false,
        ))
      )
        this.ctx.db
          .prepare('UPDATE webauthn_credentials SET counter_anomaly_at = ? WHERE id = ?')
          .run(this.ctx.clock.now(), cred.id);
      return fail(`assertion rejected: ${msg}`);
    }
    if (!verification.verified || !verification.authenticationInfo.userVerified)
      return fail('user verification missing');
    const cas = this.ctx.db
      .prepare('UPDATE webauthn_credentials SET counter = ? WHERE id = ? AND counter = ?')
      .run(verification.authenticationInfo.newCounter, cred.id, cred.counter);
    if (cas.changes !== 1) return fail('signature counter changed concurrently');
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'auth.biometric',
      subject: `authentication:${p.authentication.id}`,
      outcome: 'success',
    });
    return this.authentications.addFactor(
      p.authentication.id,
      'biometric',
      p.device.id,
      `credential ${cred.id.slice(0, 12)}`,
    );
  }
}
