/**
 * Retry and reconnect delays: exponential growth, full jitter, a cap. Pure and
 * dependency-free because both sides need the same policy: the browser (console
 * renderer, customer SDK) and Node (main/core, test support). The caller owns the
 * timer; this only says how long to wait.
 */

/** A caller's policy: the first delay's ceiling, the ceiling of every delay, how fast it grows. */
export interface BackoffPolicy {
  /** Ceiling of the first delay, ms (> 0). */
  initialMs: number;
  /** No delay exceeds this, ms (>= initialMs). */
  maxMs: number;
  /** Growth of the ceiling per attempt (default 2). */
  factor?: number;
}

/**
 * The delay before retry number `attempt` (0-based): uniformly random in
 * [0, min(maxMs, initialMs * factor^attempt)] ("full jitter", so many clients that
 * lost the same server do not come back in lock-step).
 */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const { initialMs, maxMs, factor = 2 } = policy;
  if (!(initialMs > 0) || !(maxMs >= initialMs) || !(factor >= 1))
    throw new RangeError(`invalid backoff policy ${JSON.stringify(policy)}`);
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`invalid attempt ${attempt}`);
  const ceiling = Math.min(maxMs, initialMs * factor ** attempt);
  const x = random();
  const r = x >= 0 && x <= 1 ? x : x > 1 ? 1 : 0; // a broken source (NaN, out of range) stays within bounds
  return Math.round(r * ceiling);
}

/** The attempt counter around backoffDelay: next() after each failure, reset() after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    readonly policy: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {
    backoffDelay(policy, 0, () => 0); // refuse an invalid policy at once
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.policy, this.attempt++, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
