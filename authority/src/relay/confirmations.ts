import { randomInt } from 'node:crypto';
import { verifyAuthenticationResponse } from '@simplewebauthn/server';
import {
  confirmChallenge,
  type CommandOf,
  type ConfirmFactor,
  type ConfirmReceipt,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, DomainError } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { PinFactor } from '../identity/pin.ts';
import type { Repos } from '../store/repos/index.ts';
import type { ReceiptRow } from '../store/repos/commands.ts';

/** "GB29 NWBK 6016 1331 9268 19" -> "GB29 •••• 6819": enough to recognise it, not to use it. */
export function maskAccount(accountNumber: string): string {
  const compact = accountNumber.replace(/\s+/g, '');
  return compact.length <= 8
    ? `•••• ${compact.slice(-4)}`
    : `${compact.slice(0, 4)} •••• ${compact.slice(-4)}`;
}

const RECEIPT_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const receiptId = () =>
  `R-${Array.from({ length: 10 }, () => RECEIPT_ALPHABET[randomInt(RECEIPT_ALPHABET.length)]).join('')}`;

/** A stored receipt as the customer and the agent see it. */
export const receiptView = (r: ReceiptRow): ConfirmReceipt => ({
  receiptId: r.id,
  commandId: r.command_id,
  requestId: r.request_id,
  at: iso(r.created_at),
  payee: r.payee,
  amount: r.amount,
  currency: r.currency,
  reference: r.reference,
  account: r.account,
  factor: r.factor,
});

/** What a verified user-verifying factor leaves as evidence. */
export interface FactorEvidence {
  factor: 'biometric' | 'pin';
  challenge: string;
  evidence: Record<string, unknown>;
  /** A WebAuthn assertion's signature counter: moved on in the unit that stores the receipt. */
  counter?: { credentialId: string; from: number; to: number };
}

const refused = (message: string) => new DomainError('invalid', 'signature_invalid', message);

/**
 * Strong customer authentication of a transaction (PSD2 RTS Art. 4/5): the confirm command
 * carries the payee, amount, currency and the debited account (masked, from the customer's
 * account data) and a nonce set here; the device answers with its key's signature AND a
 * user-verifying factor given at that moment: a WebAuthn assertion (UV required) whose
 * challenge is SHA-256 over the transaction (dynamic linking: another amount or payee is
 * another challenge), or the PIN (counted towards the PIN lockout). Each challenge is used
 * once (receipts.challenge is unique); the receipt is stored with the evidence.
 */
export class Confirmations {
  constructor(
    private readonly ctx: Ctx,
    private readonly pin: PinFactor,
  ) {}

  /** The command as the device gets it: the agent's transaction + the debited account + a nonce (read in `r`'s unit). */
  async forDeviceIn(
    r: Repos,
    customerId: string,
    deviceId: string,
    cmd: CommandOf<'confirm'>,
  ): Promise<CommandOf<'confirm'>> {
    if (cmd.payload.account !== undefined || cmd.payload.nonce !== undefined)
      throw badRequest('the debited account and the nonce of a confirmation are set by the authority');
    const account = await r.commands.customerAccount(customerId);
    const number = account ? (JSON.parse(account) as { accountNumber?: unknown }).accountNumber : undefined;
    if (typeof number !== 'string' || number.trim() === '')
      throw new DomainError('conflict', 'conflict', 'the customer has no account on record to debit');
    const hasBiometric = await r.commands.hasBiometric(deviceId);
    if (!hasBiometric && !(await r.factors.hasPin(customerId)))
      throw new DomainError(
        'conflict',
        'factor_unavailable',
        'the customer has neither a fingerprint on this device nor a PIN to confirm with',
      );
    return {
      kind: 'confirm',
      payload: { ...cmd.payload, account: maskAccount(number), nonce: randomId(24) },
    };
  }

  /** Verify the factor given now against this transaction; throws a 4xx when it does not hold. */
  async verifyFactor(
    p: DevicePrincipal,
    commandId: string,
    cmd: CommandOf<'confirm'>,
    factor: ConfirmFactor | undefined,
  ): Promise<FactorEvidence> {
    if (!factor)
      throw new DomainError(
        'conflict',
        'factor_missing',
        'a payment is confirmed with the fingerprint or the PIN given now, not with a tap',
      );
    const { transaction, account, nonce } = cmd.payload;
    if (account === undefined || nonce === undefined)
      throw new DomainError(
        'conflict',
        'conflict',
        'this confirmation was sent before dynamic linking: send it again',
      );
    const challenge = await confirmChallenge({ commandId, transaction, account, nonce });
    const read = this.ctx.data.read;
    if (await read.commands.challengeUsed(challenge)) throw refused('this confirmation was already used');
    if (factor.kind === 'pin') {
      // Counts towards the PIN lockout like any other attempt (401 wrong, 423 locked).
      await this.pin.verify(p, factor.pin);
      return { factor: 'pin', challenge, evidence: { pin: 'verified', nonce } };
    }
    const cred = await read.commands.credential(factor.assertion.id, p.device.id);
    if (!cred) {
      if (!(await read.commands.hasBiometric(p.device.id)))
        throw new DomainError(
          'conflict',
          'factor_unavailable',
          'no fingerprint is registered on this device',
        );
      throw refused('the fingerprint credential is not registered on this device');
    }
    let verification;
    try {
      verification = await verifyAuthenticationResponse({
        response: factor.assertion,
        expectedChallenge: challenge,
        expectedOrigin: this.ctx.config.origins,
        expectedRPID: this.ctx.config.rpId,
        credential: { id: cred.id, publicKey: new Uint8Array(cred.public_key), counter: cred.counter },
        requireUserVerification: true,
      });
    } catch (e) {
      const msg = (e as Error).message;
      throw refused(
        /challenge/i.test(msg)
          ? 'the fingerprint confirmation does not cover this transaction'
          : /user verification|userVerified|UV/i.test(msg)
            ? 'the fingerprint was not verified (user verification required)'
            : `the fingerprint confirmation was refused: ${msg}`,
      );
    }
    if (!verification.verified || !verification.authenticationInfo.userVerified)
      throw refused('the fingerprint was not verified (user verification required)');
    return {
      factor: 'biometric',
      challenge,
      evidence: { credentialId: cred.id, assertion: factor.assertion },
      counter: { credentialId: cred.id, from: cred.counter, to: verification.authenticationInfo.newCounter },
    };
  }

  /**
   * Store the receipt inside the caller's unit: the unique challenge makes it single use;
   * a fingerprint's signature counter moves on in the same unit (an assertion used
   * concurrently is refused, and nothing of it is kept).
   */
  async recordIn(
    r: Repos,
    p: DevicePrincipal,
    c: { id: string; request_id: string },
    cmd: CommandOf<'confirm'>,
    f: FactorEvidence,
    deviceEvidence: { signature: string; canonical: string },
    at: number,
  ): Promise<ConfirmReceipt> {
    const t = cmd.payload.transaction;
    const row: ReceiptRow = {
      id: receiptId(),
      command_id: c.id,
      request_id: c.request_id,
      customer_id: p.device.customer_id,
      device_id: p.device.id,
      payee: t.payee,
      amount: t.amount,
      currency: t.currency,
      reference: t.reference,
      account: cmd.payload.account!,
      factor: f.factor,
      challenge: f.challenge,
      evidence: JSON.stringify({ ...deviceEvidence, ...f.evidence }),
      created_at: at,
    };
    if (f.counter && !(await r.commands.bumpCounter(f.counter.credentialId, f.counter.from, f.counter.to)))
      throw refused('the fingerprint confirmation was used concurrently');
    if (!(await r.commands.insertReceipt(row))) throw refused('this confirmation was already used');
    return receiptView(row);
  }

  /** The customer's receipts, newest first. */
  async list(p: DevicePrincipal): Promise<ConfirmReceipt[]> {
    return (await this.ctx.data.read.commands.receiptsOf(p.device.customer_id)).map(receiptView);
  }
}
