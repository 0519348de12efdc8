import { EventEmitter } from 'node:events';
import type { Ctx } from '../context.ts';
import { conflict, DomainError, locked } from '../errors.ts';
import type { Authentications, AuthenticationRow } from './authentications.ts';
import type { DevicePrincipal } from './devices.ts';
import type { FactorSetup } from './factor-setup.ts';

/** After this many consecutive failures the PIN is locked until an admin unlocks it (NIST SP 800-63B: at most 10). */
export const PIN_MAX_FAILURES = 10;
/** From this many consecutive failures on, each further failure adds a growing delay (30 s, 60 s, 120 s, ...). */
export const PIN_DELAY_FROM = 5;
const HARD_LOCK = Number.MAX_SAFE_INTEGER;

export const pinDelayMs = (failures: number): number =>
  failures >= PIN_MAX_FAILURES
    ? HARD_LOCK
    : failures >= PIN_DELAY_FROM
      ? 30_000 * 2 ** (failures - PIN_DELAY_FROM)
      : 0;

export interface PinState {
  /** Wrong PINs in a row (reset by the right PIN). */
  failures: number;
  /** Until when the PIN is refused (ms), 'admin' when only an admin can unlock it, or null. */
  lockedUntil: number | 'admin' | null;
}

/** The customer's PIN failures and lock now (what the agent's panel shows). */
export async function pinState(ctx: Ctx, customerId: string): Promise<PinState> {
  return pinStateOf(await ctx.data.read.factors.pin(customerId), ctx.clock.now());
}

function pinStateOf(
  row: { failures: number; locked_until: number | null } | undefined,
  now: number,
): PinState {
  if (!row) return { failures: 0, lockedUntil: null };
  if (row.failures >= PIN_MAX_FAILURES || row.locked_until === HARD_LOCK)
    return { failures: row.failures, lockedUntil: 'admin' };
  const until = row.locked_until && row.locked_until > now ? row.locked_until : null;
  return { failures: row.failures, lockedUntil: until };
}

/**
 * PIN factor. An attempt first reserves itself by counting as a failure (one guarded
 * UPDATE in a unit of work of its own, committed before anything else happens), and only
 * then runs argon2, outside any unit; its outcome is recorded in a second unit. However
 * many requests arrive at once, at most PIN_MAX_FAILURES hashes are ever evaluated in a
 * row, and an attempt whose outcome never got recorded (a crash during argon2) stays
 * counted as a failure.
 */
export class PinFactor extends EventEmitter<{
  /** A wrong PIN, or a PIN refused while locked (`locked`: the PIN is now refused for a while or for good). */
  failure: [authenticationId: string, locked: boolean];
}> {
  constructor(
    private readonly ctx: Ctx,
    private readonly authentications: Authentications,
    private readonly setup: FactorSetup,
  ) {
    super();
  }

  async state(customerId: string): Promise<PinState> {
    return await pinState(this.ctx, customerId);
  }

  async set(p: DevicePrincipal, pin: string): Promise<void> {
    const customerId = p.device.customer_id;
    await this.setup.ensure(p, 'pin');
    const hash = await this.ctx.hasher.hash(pin);
    const refusal = await this.ctx.data.tx(async (r) => {
      // Checked again in the unit that writes: the grant may have lapsed while argon2 ran.
      const refused = await this.setup.checkIn(r, p, 'pin');
      if (refused) return refused;
      await r.factors.setPin(customerId, hash, this.ctx.clock.now());
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'pin.set',
        subject: `customer:${customerId}`,
        outcome: 'success',
      });
      await this.setup.doneIn(r, p, 'pin', `customer:${customerId}`);
      return null;
    });
    if (refusal) throw refusal;
  }

  async verify(p: DevicePrincipal, pin: string): Promise<AuthenticationRow> {
    const customerId = p.device.customer_id;
    const entry = (outcome: 'success' | 'failure', reason?: string) => ({
      actor: `device:${p.device.id}`,
      action: 'auth.pin',
      subject: `authentication:${p.authentication.id}`,
      outcome,
      reason: reason ?? null,
    });
    const now = this.ctx.clock.now();
    // Unit 1: reserve the attempt (or record why there is none). Committed before argon2 runs.
    const reservation = await this.ctx.data.tx(async (r) => {
      const reserved = await r.factors.reservePinAttempt(customerId, PIN_MAX_FAILURES, now);
      if (reserved) return { reserved };
      const row = await r.factors.pin(customerId);
      if (!row) {
        await r.audit.append(entry('failure', 'no PIN set'));
        return { refused: conflict('no PIN is set for this customer') };
      }
      const hard = row.failures >= PIN_MAX_FAILURES || row.locked_until === HARD_LOCK;
      await r.audit.append(entry('failure', hard ? 'locked until an admin unlocks' : 'locked (delay)'));
      const wait = Math.max(1, Math.ceil(((row.locked_until ?? now) - now) / 1000));
      return {
        locked: true,
        refused: locked(
          hard
            ? 'PIN locked after too many failures: contact support'
            : `too many PIN failures: try again in ${wait} s`,
          hard ? null : wait,
        ),
      };
    });
    if (!reservation.reserved) {
      if (reservation.locked) this.emit('failure', p.authentication.id, true);
      throw reservation.refused;
    }
    const { reserved } = reservation;
    const ok = await this.ctx.hasher.verify(reserved.hash, pin);
    // Unit 2: the outcome.
    if (ok) {
      const auth = await this.ctx.data.tx(async (r) => {
        await r.factors.clearPinFailures(customerId);
        const a = await this.authentications.addFactorIn(r, p.authentication.id, 'pin', p.device.id);
        await r.audit.append(entry('success'));
        return a;
      });
      return auth;
    }
    const delay = pinDelayMs(reserved.failures);
    await this.ctx.data.tx(async (r) => {
      if (delay > 0)
        await r.factors.lockPin(customerId, delay === HARD_LOCK ? HARD_LOCK : this.ctx.clock.now() + delay);
      await r.audit.append(entry('failure', `wrong PIN (${reserved.failures} consecutive)`));
    });
    this.emit('failure', p.authentication.id, delay > 0);
    const left = PIN_MAX_FAILURES - reserved.failures;
    const wait = delay > 0 && delay !== HARD_LOCK ? Math.ceil(delay / 1000) : null;
    throw new DomainError(
      'unauthenticated',
      'unauthorized',
      reserved.failures >= PIN_MAX_FAILURES
        ? 'wrong PIN: the PIN is now locked'
        : wait
          ? `wrong PIN (${left} attempts left): try again in ${wait} s`
          : `wrong PIN (${left} attempts left)`,
      { retryAfterSeconds: wait },
      wait,
    );
  }

  async unlock(customerId: string, actor: string): Promise<boolean> {
    return await this.ctx.data.tx(async (r) => {
      const unlocked = await r.factors.clearPinFailures(customerId);
      await r.audit.append({
        actor,
        action: 'pin.unlock',
        subject: `customer:${customerId}`,
        outcome: unlocked ? 'success' : 'failure',
        reason: unlocked ? null : 'no PIN',
      });
      return unlocked;
    });
  }
}
