import { isIPv4, isIPv6 } from 'node:net';
import type { Ctx } from '../context.ts';
import { sha256b64url } from '../ids.ts';
import type { Repos } from '../store/repos/index.ts';

/** From this many consecutive failures on, each further failure adds a growing delay (30 s, 60 s, 120 s, ...). */
export const STAFF_LOGIN_DELAY_FROM = 5;
/** After this many consecutive failures the account is locked until an admin unlocks it (NIST SP 800-63B: at most 100). */
export const STAFF_LOGIN_MAX_FAILURES = 10;
/** Unknown usernames are counted like accounts (so they answer alike), in a table kept to this many rows. */
export const UNKNOWN_NAMES_KEPT = 10_000;
const HARD_LOCK = Number.MAX_SAFE_INTEGER;

export const loginDelayMs = (failures: number): number =>
  failures >= STAFF_LOGIN_MAX_FAILURES
    ? HARD_LOCK
    : failures >= STAFF_LOGIN_DELAY_FROM
      ? 30_000 * 2 ** (failures - STAFF_LOGIN_DELAY_FROM)
      : 0;

/**
 * The source a failed login is charged to: the IPv4 address (also when IPv4-mapped), or
 * the IPv6 /64 (one host usually holds a whole /64, so counting single addresses is no bound).
 */
export function sourceKey(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIPv4(ip)) return ip;
  const bare = ip.split('%')[0]!;
  if (!isIPv6(bare)) return `other:${ip.slice(0, 64)}`;
  const [head, tail] = bare.includes('::') ? bare.split('::') : [bare, undefined];
  const groups = (s: string | undefined) =>
    s ? s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : [];
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...Array<string>(tail === undefined ? 0 : 8 - h.length - t.length).fill('0'), ...t];
  return `${all
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

export interface LoginSubject {
  key: string;
  staffId: string | null;
}
export const staffSubject = (staffId: string): LoginSubject => ({ key: `staff:${staffId}`, staffId });
export const unknownNameSubject = (username: string): LoginSubject => ({
  key: `name:${sha256b64url(username)}`,
  staffId: null,
});

export type Reservation =
  | { outcome: 'source_limited'; retryAfterSeconds: number }
  | { outcome: 'locked'; hard: boolean; retryAfterSeconds: number | null }
  | { outcome: 'reserved'; failures: number; sourceFailureId: number };

/**
 * Staff login throttling, in the store so a restart forgets nothing. Every method runs
 * inside the caller's unit of work (`r`), so what it decides commits with what it counts.
 *
 * - Per account (and per unknown username, so both answer alike): consecutive failures;
 *   from the 5th a growing delay, at the 10th a lock until an admin unlocks. An attempt
 *   reserves itself first, as a failure with its delay already applied, in one unit
 *   (serialised per source and per subject: SQLite's one writer, PostgreSQL advisory
 *   locks), and only then is the password hashed: however many requests arrive at once,
 *   at most 5 hashes run before the first delay.
 * - Per source: at most `loginSourceMaxFailures` failed logins (refused ones included)
 *   in any `loginSourceWindowSeconds` (a sliding log), then 429 before any look-up.
 *   Refusals of a blocked source are audited summed up (the first at once, the rest
 *   when the source is let through again or a window has passed), not one row each.
 */
export class LoginThrottle {
  constructor(private readonly ctx: Pick<Ctx, 'clock' | 'config'>) {}

  private get windowMs(): number {
    return this.ctx.config.loginSourceWindowSeconds * 1000;
  }

  /** Reserve one login attempt for the source and the subject, or say why not. */
  async reserve(r: Repos, subject: LoginSubject, source: string): Promise<Reservation> {
    const now = this.ctx.clock.now();
    await r.staff.lockThrottle(`source:${source}`);
    const wait = await this.sourceWait(r, source, now);
    if (wait !== null) {
      await this.noteRefusal(r, source, now);
      return { outcome: 'source_limited', retryAfterSeconds: wait };
    }
    await this.flushRefusals(r, source, now);
    // Every attempt that gets past the source bound counts against the source until it succeeds.
    const sourceFailureId = await r.staff.addSourceFailure(source);
    await r.staff.lockThrottle(subject.key);
    let failures = await r.staff.bumpFailures(subject.key, STAFF_LOGIN_MAX_FAILURES);
    if (failures === undefined) {
      const cur = await r.staff.throttleRow(subject.key);
      if (cur) {
        const hard = cur.failures >= STAFF_LOGIN_MAX_FAILURES || cur.locked_until === HARD_LOCK;
        return {
          outcome: 'locked',
          hard,
          retryAfterSeconds: hard ? null : Math.max(1, Math.ceil(((cur.locked_until ?? now) - now) / 1000)),
        };
      }
      failures = 1;
      await r.staff.insertThrottle(subject.key, subject.staffId, 1);
      if (subject.staffId === null) await r.staff.pruneUnknownNames(UNKNOWN_NAMES_KEPT);
    }
    const delay = loginDelayMs(failures);
    if (delay > 0) await r.staff.setLockedUntil(subject.key, delay === HARD_LOCK ? HARD_LOCK : now + delay);
    return { outcome: 'reserved', failures, sourceFailureId };
  }

  /** The reserved attempt was a success: the account starts from 0 and the source is not charged. */
  async succeeded(r: Repos, subject: LoginSubject, sourceFailureId: number): Promise<void> {
    await r.staff.deleteThrottle(subject.key);
    await r.staff.deleteSourceFailure(sourceFailureId);
  }

  /** Charge the source one failure (an unknown refresh token); the seconds to wait if it is at its bound. */
  async sourceFailure(r: Repos, source: string): Promise<number | null> {
    const now = this.ctx.clock.now();
    await r.staff.lockThrottle(`source:${source}`);
    const wait = await this.sourceWait(r, source, now);
    if (wait !== null) {
      await this.noteRefusal(r, source, now);
      return wait;
    }
    await this.flushRefusals(r, source, now);
    await r.staff.addSourceFailure(source);
    return null;
  }

  /** Locked until an admin unlocks (a delay is not a lock: the account's sessions may still refresh). */
  async isHardLocked(r: Repos, staffId: string): Promise<boolean> {
    const row = await r.staff.throttleRow(staffSubject(staffId).key);
    return !!row && (row.failures >= STAFF_LOGIN_MAX_FAILURES || row.locked_until === HARD_LOCK);
  }

  /** Clear an account's failures, delay and lock; what there was. */
  async unlock(r: Repos, staffId: string): Promise<{ wasLocked: boolean; failures: number }> {
    const row = await r.staff.deleteThrottle(staffSubject(staffId).key);
    return {
      wasLocked: !!row && row.locked_until !== null && row.locked_until > this.ctx.clock.now(),
      failures: row?.failures ?? 0,
    };
  }

  /** Seconds until the source may try again, or null when it is under its bound. */
  private async sourceWait(r: Repos, source: string, now: number): Promise<number | null> {
    const limit = this.ctx.config.loginSourceMaxFailures;
    await r.staff.expireSourceFailures(now - this.windowMs);
    const n = await r.staff.countSourceFailures(source);
    if (n < limit) return null;
    // The attempt that frees a slot: the oldest one of the last `limit` in the window.
    const at = (await r.staff.sourceFailureAt(source, n - limit))!;
    return Math.max(1, Math.ceil((at + this.windowMs - now) / 1000));
  }

  private async noteRefusal(r: Repos, source: string, now: number): Promise<void> {
    const row = await r.staff.sourceRefusals(source);
    if (row && now - row.audited_at < this.windowMs) {
      await r.staff.countRefusal(source);
      return;
    }
    await this.auditRefusals(r, source, (row?.refused ?? 0) + 1);
    await r.staff.resetRefusals(source);
  }

  /** Sum up the refusals not yet audited: of this source (let through again) and of sources quiet for a window. */
  private async flushRefusals(r: Repos, source: string, now: number): Promise<void> {
    const rows = await r.staff.takeRefusals(source, now - this.windowMs);
    for (const x of rows) if (x.refused > 0) await this.auditRefusals(r, x.source, x.refused);
  }

  private async auditRefusals(r: Repos, source: string, refused: number): Promise<void> {
    await r.audit.append({
      actor: 'anonymous',
      action: 'staff.login.throttled',
      subject: `source:${source}`,
      outcome: 'failure',
      reason: 'too many failed logins from this source',
      data: {
        refused,
        limit: this.ctx.config.loginSourceMaxFailures,
        windowSeconds: this.ctx.config.loginSourceWindowSeconds,
      },
    });
  }
}
