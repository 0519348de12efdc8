import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { AuditEntry } from '../audit/audit-log.ts';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import { badRequest, unauthorized, type DomainError } from '../errors.ts';
import type { CredentialRow } from '../store/repos/factors.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { Challenges } from './challenges.ts';
import type { DevicePrincipal } from './devices.ts';
import type { FactorSetup } from './factor-setup.ts';

const CEREMONY_TIMEOUT_MS = 120_000;

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
    return await this.ctx.data.read.factors.credentialsOfDevice(deviceId);
  }

  /** A failure row in a unit of its own, then the refusal. */
  private async fail(entry: Omit<AuditEntry, 'outcome' | 'reason'>, reason: string): Promise<never> {
    await this.ctx.data.statement((r) => r.audit.append({ ...entry, outcome: 'failure', reason }));
    throw unauthorized(reason);
  }

  async registrationOptions(p: DevicePrincipal) {
    await this.setup.ensure(p, 'biometric');
    const userName = (await this.ctx.data.read.factors.holderName(p.device.customer_id))!;
    const challenge = await this.challenges.issue('webauthn-register', {
      deviceId: p.device.id,
      authenticationId: p.authentication.id,
      ttlMs: CEREMONY_TIMEOUT_MS,
      id: randomId(32),
    });
    return generateRegistrationOptions({
      rpName: this.ctx.config.rpName,
      rpID: this.ctx.config.rpId,
      userName,
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
    const fail = (reason: string): Promise<never> =>
      this.fail({ actor: `device:${p.device.id}`, action: 'webauthn.register' }, reason);
    if (!challengeId) return await fail('clientDataJSON has no usable challenge');
    const challenge = await this.challenges.consume(challengeId, 'webauthn-register');
    if (
      !challenge ||
      challenge.device_id !== p.device.id ||
      challenge.authentication_id !== p.authentication.id
    )
      return await fail('challenge unknown, used, expired or not this device and authentication');
    // The grant is checked again now: options fetched under it do not outlive it.
    await this.setup.ensure(p, 'biometric');
    if (isCrossOrigin(response.response.clientDataJSON))
      return await fail('registration made in a cross-origin frame');
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
      return await fail(`registration rejected: ${(e as Error).message}`);
    }
    if (!verification.verified || !verification.registrationInfo)
      return await fail('registration not verified');
    const { credential } = verification.registrationInfo;
    const outcome = await this.ctx.data.tx(
      async (r): Promise<{ refused: DomainError } | { failed: string } | null> => {
        // The grant and the credential id are decided in the unit that writes.
        const refused = await this.setup.checkIn(r, p, 'biometric');
        if (refused) return { refused };
        const inserted = await r.factors.insertCredential({
          id: credential.id,
          customer_id: p.device.customer_id,
          device_id: p.device.id,
          public_key: Buffer.from(credential.publicKey),
          counter: credential.counter,
          transports: JSON.stringify(credential.transports ?? []),
          created_at: this.ctx.clock.now(),
        });
        if (!inserted) {
          const reason = 'credential already registered';
          await r.audit.append({
            actor: `device:${p.device.id}`,
            action: 'webauthn.register',
            outcome: 'failure',
            reason,
          });
          return { failed: reason };
        }
        await r.audit.append({
          actor: `device:${p.device.id}`,
          action: 'webauthn.register',
          subject: `credential:${credential.id}`,
          outcome: 'success',
        });
        await this.setup.doneIn(r, p, 'biometric', `credential:${credential.id}`);
        return null;
      },
    );
    if (outcome && 'refused' in outcome) throw outcome.refused;
    if (outcome) throw unauthorized(outcome.failed);
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
    const failure = {
      actor: `device:${p.device.id}`,
      action: 'auth.biometric',
      subject: `authentication:${p.authentication.id}`,
    };
    const fail = (reason: string): Promise<never> => this.fail(failure, reason);
    const challengeId = challengeOf(response.response.clientDataJSON);
    if (!challengeId) return await fail('clientDataJSON has no usable challenge');
    // Consumed first (committed in a unit of its own): whatever happens next, this challenge is spent.
    const challenge = await this.challenges.consume(challengeId, 'webauthn-assert');
    if (!challenge) return await fail('challenge unknown, used or expired');
    if (challenge.device_id !== p.device.id || challenge.authentication_id !== p.authentication.id)
      return await fail('challenge was issued for another device or authentication');
    const cred = await this.ctx.data.read.factors.credentialOnDevice(response.id, p.device.id);
    if (!cred) return await fail('credential not registered on this device');
    if (isCrossOrigin(response.response.clientDataJSON))
      return await fail('assertion made in a cross-origin frame');
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
      const reason = `assertion rejected: ${msg}`;
      // The library checks the counter before the signature: flag a clone only when the
      // authenticator really signed the lower counter (re-verified without the counter rule).
      if (
        /counter/i.test(msg) &&
        (await verify(0).then(
          (v) => v.verified,
          () => false,
        ))
      ) {
        const at = this.ctx.clock.now();
        await this.ctx.data.tx(async (r) => {
          await r.factors.markCounterAnomaly(cred.id, at);
          await r.audit.append({ ...failure, outcome: 'failure', reason });
        });
        throw unauthorized(reason);
      }
      return await fail(reason);
    }
    if (!verification.verified || !verification.authenticationInfo.userVerified)
      return await fail('user verification missing');
    const { newCounter } = verification.authenticationInfo;
    const auth = await this.ctx.data.tx(async (r) => {
      // Compare-and-swap: of two assertions verified against the same counter, one counts.
      if (!(await r.factors.advanceCounter(cred.id, cred.counter, newCounter))) {
        await r.audit.append({
          ...failure,
          outcome: 'failure',
          reason: 'signature counter changed concurrently',
        });
        return null;
      }
      await r.audit.append({ ...failure, outcome: 'success' });
      return await this.authentications.addFactorIn(
        r,
        p.authentication.id,
        'biometric',
        p.device.id,
        `credential ${cred.id.slice(0, 12)}`,
      );
    });
    if (!auth) throw unauthorized('signature counter changed concurrently');
    return auth;
  }
}
