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
  const row = ctx.db
    .prepare<[string], { failures: number; locked_until: number | null }>(
      'SELECT failures, locked_until FROM pins WHERE customer_id = ?',
    )
    .get(customerId);
  if (!row) return { failures: 0, lockedUntil: null };
  if (row.failures >= PIN_MAX_FAILURES || row.locked_until === HARD_LOCK)
    return { failures: row.failures, lockedUntil: 'admin' };
  const until = row.locked_until && row.locked_until > ctx.clock.now() ? row.locked_until : null;
  return { failures: row.failures, lockedUntil: until };
}

/**
 * PIN factor. An attempt first reserves itself by counting as a failure (one atomic
 * UPDATE guarded by the lock), and only then runs argon2: however many requests
 * arrive at once, at most PIN_MAX_FAILURES hashes are ever evaluated in a row.
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

  async hasPin(customerId: string): Promise<boolean> {
    return !!this.ctx.db.prepare('SELECT 1 FROM pins WHERE customer_id = ?').get(customerId);
  }

  async set(p: DevicePrincipal, pin: string): Promise<void> {
    const customerId = p.device.customer_id;
    this.setup.require(p, 'pin');
    const hash = await this.ctx.hasher.hash(pin);
    // Checked again after the hash: the grant may have lapsed while argon2 ran.
    this.setup.require(p, 'pin');
    this.ctx.db.transaction(() => {
      this.ctx.db
        .prepare(
          'INSERT INTO pins (customer_id, hash, failures, locked_until, updated_at) VALUES (?, ?, 0, NULL, ?) ON CONFLICT(customer_id) DO UPDATE SET hash = excluded.hash, failures = 0, locked_until = NULL, updated_at = excluded.updated_at',
        )
        .run(customerId, hash, this.ctx.clock.now());
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'pin.set',
        subject: `customer:${customerId}`,
        outcome: 'success',
      });
      this.setup.done(p, 'pin', `customer:${customerId}`);
    })();
  }

  async verify(p: DevicePrincipal, pin: string): Promise<AuthenticationRow> {
    const customerId = p.device.customer_id;
    const audit = (outcome: 'success' | 'failure', reason?: string) =>
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'auth.pin',
        subject: `authentication:${p.authentication.id}`,
        outcome,
        reason: reason ?? null,
      });
    const now = this.ctx.clock.now();
    const reserved = this.ctx.db
      .prepare<[number, string, number, number], { hash: string; failures: number }>(
        `UPDATE pins SET failures = failures + 1, updated_at = ?
         WHERE customer_id = ? AND failures < ? AND (locked_until IS NULL OR locked_until <= ?)
         RETURNING hash, failures`,
      )
      .get(now, customerId, PIN_MAX_FAILURES, now);
    if (!reserved) {
      const row = this.ctx.db
        .prepare<[string], { locked_until: number | null; failures: number }>(
          'SELECT locked_until, failures FROM pins WHERE customer_id = ?',
        )
        .get(customerId);
      if (!row) {
        audit('failure', 'no PIN set');
        throw conflict('no PIN is set for this customer');
      }
      const hard = row.failures >= PIN_MAX_FAILURES || row.locked_until === HARD_LOCK;
      audit('failure', hard ? 'locked until an admin unlocks' : 'locked (delay)');
      this.emit('failure', p.authentication.id, true);
      const wait = Math.max(1, Math.ceil(((row.locked_until ?? now) - now) / 1000));
      throw locked(
        hard
          ? 'PIN locked after too many failures: contact support'
          : `too many PIN failures: try again in ${wait} s`,
        hard ? null : wait,
      );
    }
    const ok = await this.ctx.hasher.verify(reserved.hash, pin);
    if (ok) {
      this.ctx.db
        .prepare('UPDATE pins SET failures = 0, locked_until = NULL WHERE customer_id = ?')
        .run(customerId);
      audit('success');
      return this.authentications.addFactor(p.authentication.id, 'pin', p.device.id);
    }
    const delay = pinDelayMs(reserved.failures);
    if (delay > 0)
      this.ctx.db
        .prepare('UPDATE pins SET locked_until = ? WHERE customer_id = ?')
        .run(delay === HARD_LOCK ? HARD_LOCK : this.ctx.clock.now() + delay, customerId);
    audit('failure', `wrong PIN (${reserved.failures} consecutive)`);
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
    const r = this.ctx.db
      .prepare('UPDATE pins SET failures = 0, locked_until = NULL WHERE customer_id = ?')
      .run(customerId);
    this.ctx.audit.append({
      actor,
      action: 'pin.unlock',
      subject: `customer:${customerId}`,
      outcome: r.changes ? 'success' : 'failure',
      reason: r.changes ? null : 'no PIN',
    });
    return r.changes === 1;
  }
}
