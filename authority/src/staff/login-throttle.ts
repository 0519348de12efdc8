import { isIPv4, isIPv6 } from 'node:net';
import type { Ctx } from '../context.ts';
import { sha256b64url } from '../ids.ts';

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
 * Staff login throttling, in the store so a restart forgets nothing.
 *
 * - Per account (and per unknown username, so both answer alike): consecutive failures;
 *   from the 5th a growing delay, at the 10th a lock until an admin unlocks. An attempt
 *   reserves itself first, as a failure with its delay already applied, in one
 *   synchronous transaction, and only then is the password hashed: however many
 *   requests arrive at once, at most 5 hashes run before the first delay.
 * - Per source: at most `loginSourceMaxFailures` failed logins (refused ones included)
 *   in any `loginSourceWindowSeconds` (a sliding log), then 429 before any look-up.
 *   Refusals of a blocked source are audited summed up (the first at once, the rest
 *   when the source is let through again or a window has passed), not one row each.
 */
export class LoginThrottle {
  constructor(private readonly ctx: Ctx) {}

  private get windowMs(): number {
    return this.ctx.config.loginSourceWindowSeconds * 1000;
  }

  /** Reserve one login attempt for the source and the subject, or say why not. */
  async reserve(subject: LoginSubject, source: string): Promise<Reservation> {
    const { db } = this.ctx;
    const now = this.ctx.clock.now();
    return db.transaction((): Reservation => {
      const wait = this.sourceWait(source, now);
      if (wait !== null) {
        this.noteRefusal(source, now);
        return { outcome: 'source_limited', retryAfterSeconds: wait };
      }
      this.flushRefusals(source, now);
      // Every attempt that gets past the source bound counts against the source until it succeeds.
      const sourceFailureId = Number(
        db.prepare('INSERT INTO login_source_failures (source, at) VALUES (?, ?)').run(source, now)
          .lastInsertRowid,
      );
      const bumped = db
        .prepare<[number, string, number, number], { failures: number }>(
          `UPDATE login_throttle SET failures = failures + 1, updated_at = ?
           WHERE subject = ? AND failures < ? AND (locked_until IS NULL OR locked_until <= ?)
           RETURNING failures`,
        )
        .get(now, subject.key, STAFF_LOGIN_MAX_FAILURES, now);
      let failures: number;
      if (bumped) {
        failures = bumped.failures;
      } else {
        const cur = db
          .prepare<[string], { failures: number; locked_until: number | null }>(
            'SELECT failures, locked_until FROM login_throttle WHERE subject = ?',
          )
          .get(subject.key);
        if (cur) {
          const hard = cur.failures >= STAFF_LOGIN_MAX_FAILURES || cur.locked_until === HARD_LOCK;
          return {
            outcome: 'locked',
            hard,
            retryAfterSeconds: hard ? null : Math.max(1, Math.ceil(((cur.locked_until ?? now) - now) / 1000)),
          };
        }
        failures = 1;
        db.prepare(
          'INSERT INTO login_throttle (subject, staff_id, failures, locked_until, updated_at) VALUES (?, ?, 1, NULL, ?)',
        ).run(subject.key, subject.staffId, now);
        if (subject.staffId === null)
          db.prepare(
            `DELETE FROM login_throttle WHERE subject IN (
               SELECT subject FROM login_throttle WHERE staff_id IS NULL
               ORDER BY updated_at DESC LIMIT -1 OFFSET ?)`,
          ).run(UNKNOWN_NAMES_KEPT);
      }
      const delay = loginDelayMs(failures);
      if (delay > 0)
        db.prepare('UPDATE login_throttle SET locked_until = ? WHERE subject = ?').run(
          delay === HARD_LOCK ? HARD_LOCK : now + delay,
          subject.key,
        );
      return { outcome: 'reserved', failures, sourceFailureId };
    })();
  }

  /** The reserved attempt was a success: the account starts from 0 and the source is not charged. */
  async succeeded(subject: LoginSubject, sourceFailureId: number): Promise<void> {
    this.ctx.db.transaction(() => {
      this.ctx.db.prepare('DELETE FROM login_throttle WHERE subject = ?').run(subject.key);
      this.ctx.db.prepare('DELETE FROM login_source_failures WHERE id = ?').run(sourceFailureId);
    })();
  }

  /** Charge the source one failure (an unknown refresh token); the seconds to wait if it is at its bound. */
  async sourceFailure(source: string): Promise<number | null> {
    const now = this.ctx.clock.now();
    return this.ctx.db.transaction((): number | null => {
      const wait = this.sourceWait(source, now);
      if (wait !== null) {
        this.noteRefusal(source, now);
        return wait;
      }
      this.flushRefusals(source, now);
      this.ctx.db.prepare('INSERT INTO login_source_failures (source, at) VALUES (?, ?)').run(source, now);
      return null;
    })();
  }

  /** Locked until an admin unlocks (a delay is not a lock: the account's sessions may still refresh). */
  isHardLocked(staffId: string): boolean {
    const row = this.ctx.db
      .prepare<[string], { failures: number; locked_until: number | null }>(
        'SELECT failures, locked_until FROM login_throttle WHERE subject = ?',
      )
      .get(staffSubject(staffId).key);
    return !!row && (row.failures >= STAFF_LOGIN_MAX_FAILURES || row.locked_until === HARD_LOCK);
  }

  /** Clear an account's failures, delay and lock; what there was. */
  async unlock(staffId: string): Promise<{ wasLocked: boolean; failures: number }> {
    const row = this.ctx.db
      .prepare<[string], { failures: number; locked_until: number | null }>(
        'DELETE FROM login_throttle WHERE subject = ? RETURNING failures, locked_until',
      )
      .get(staffSubject(staffId).key);
    return {
      wasLocked: !!row && row.locked_until !== null && row.locked_until > this.ctx.clock.now(),
      failures: row?.failures ?? 0,
    };
  }

  /** Seconds until the source may try again, or null when it is under its bound. */
  private sourceWait(source: string, now: number): number | null {
    const { db } = this.ctx;
    const limit = this.ctx.config.loginSourceMaxFailures;
    db.prepare('DELETE FROM login_source_failures WHERE at <= ?').run(now - this.windowMs);
    const { n } = db
      .prepare<[string], { n: number }>('SELECT count(*) AS n FROM login_source_failures WHERE source = ?')
      .get(source)!;
    if (n < limit) return null;
    // The attempt that frees a slot: the oldest one of the last `limit` in the window.
    const { at } = db
      .prepare<[string, number], { at: number }>(
        'SELECT at FROM login_source_failures WHERE source = ? ORDER BY at LIMIT 1 OFFSET ?',
      )
      .get(source, n - limit)!;
    return Math.max(1, Math.ceil((at + this.windowMs - now) / 1000));
  }

  private noteRefusal(source: string, now: number): void {
    const { db } = this.ctx;
    const row = db
      .prepare<[string], { refused: number; audited_at: number }>(
        'SELECT refused, audited_at FROM login_source_refusals WHERE source = ?',
      )
      .get(source);
    if (row && now - row.audited_at < this.windowMs) {
      db.prepare('UPDATE login_source_refusals SET refused = refused + 1 WHERE source = ?').run(source);
      return;
    }
    this.auditRefusals(source, (row?.refused ?? 0) + 1);
    db.prepare(
      'INSERT INTO login_source_refusals (source, refused, audited_at) VALUES (?, 0, ?) ON CONFLICT(source) DO UPDATE SET refused = 0, audited_at = excluded.audited_at',
    ).run(source, now);
  }

  /** Sum up the refusals not yet audited: of this source (let through again) and of sources quiet for a window. */
  private flushRefusals(source: string, now: number): void {
    const { db } = this.ctx;
    const rows = db
      .prepare<[string, number], { source: string; refused: number }>(
        'DELETE FROM login_source_refusals WHERE source = ? OR audited_at <= ? RETURNING source, refused',
      )
      .all(source, now - this.windowMs);
    for (const r of rows) if (r.refused > 0) this.auditRefusals(r.source, r.refused);
  }

  private auditRefusals(source: string, refused: number): void {
    this.ctx.audit.append({
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
