import type { StaffRole, StaffView, TokenPair } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { conflict, locked, notFound, rateLimited, unauthorized } from '../errors.ts';
import { randomId, sha256b64url } from '../ids.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import {
  LoginThrottle,
  STAFF_LOGIN_MAX_FAILURES,
  loginDelayMs,
  sourceKey,
  staffSubject,
  unknownNameSubject,
} from './login-throttle.ts';

export interface StaffRow {
  id: string;
  username: string;
  display_name: string;
  role: StaffRole;
  password_hash: string;
  disabled_at: number | null;
}
export interface StaffPrincipal {
  kind: 'staff';
  staff: StaffRow;
}

export const ACCESS_TOKEN_TYP = 'vd-access+jwt';

export const staffView = (s: StaffRow): StaffView => ({
  staffId: s.id,
  username: s.username,
  displayName: s.display_name,
  role: s.role,
});

const ACCOUNT_LOCKED = 'account locked after too many failed logins: ask an administrator to unlock it';

/**
 * Staff accounts: argon2id passwords, short-lived access JWTs, rotating refresh
 * tokens in families (a refresh token used twice revokes its family: a stolen
 * token is only good until its owner refreshes). Logins are throttled per account
 * and per source (login-throttle.ts); an unknown username answers like an account.
 */
export class StaffAccounts {
  // Verified against when the username is unknown, so timing does not reveal which usernames exist.
  private dummyHash: Promise<string>;
  private readonly throttle: LoginThrottle;
  constructor(
    private readonly ctx: Ctx,
    private readonly keys: SigningKeys,
  ) {
    this.dummyHash = ctx.hasher.hash(randomId(16));
    this.throttle = new LoginThrottle(ctx);
  }

  async create(
    input: { username: string; displayName: string; role: StaffRole; password: string },
    actor: string,
  ): Promise<StaffRow> {
    if (this.ctx.db.prepare('SELECT 1 FROM staff WHERE username = ?').get(input.username))
      throw conflict('username taken');
    const id = randomId(12);
    const hash = await this.ctx.hasher.hash(input.password);
    this.ctx.db
      .prepare(
        'INSERT INTO staff (id, username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(id, input.username, input.displayName, input.role, hash, this.ctx.clock.now());
    this.ctx.audit.append({
      actor,
      action: 'staff.create',
      subject: `staff:${id}`,
      outcome: 'success',
      data: { role: input.role },
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<StaffRow | undefined> {
    return this.ctx.db.prepare<[string], StaffRow>('SELECT * FROM staff WHERE id = ?').get(id);
  }

  async setRole(id: string, role: StaffRole, actor: string): Promise<StaffRow> {
    const before = await this.get(id);
    if (!before) throw notFound('no such staff member');
    this.ctx.db.prepare('UPDATE staff SET role = ? WHERE id = ?').run(role, id);
    this.ctx.audit.append({
      actor,
      action: 'staff.role',
      subject: `staff:${id}`,
      outcome: 'success',
      data: { from: before.role, to: role },
    });
    return (await this.get(id))!;
  }

  /**
   * Password login from `ip`. The attempt is reserved against the source and the account
   * before any hashing; a source over its bound gets 429, an account (or unknown name)
   * in a delay or locked gets 423 without its password being looked at, so the right
   * password and a wrong one get the same answer. Unknown names hash a dummy.
   */
  async login(username: string, password: string, ip: string): Promise<TokenPair> {
    const row = this.ctx.db
      .prepare<[string], StaffRow>('SELECT * FROM staff WHERE username = ?')
      .get(username);
    const subject = row ? staffSubject(row.id) : unknownNameSubject(username);
    const actor = row ? `staff:${row.id}` : 'anonymous';
    const failure = (reason: string, data?: Record<string, unknown>) =>
      this.ctx.audit.append({
        actor,
        action: 'staff.login',
        subject: `username:${username}`,
        outcome: 'failure',
        reason,
        ...(data ? { data } : {}),
      });
    const r = await this.throttle.reserve(subject, sourceKey(ip));
    if (r.outcome === 'source_limited')
      // Audited by the throttle, summed up per source.
      throw rateLimited(
        'too many failed logins from this address: wait before trying again',
        r.retryAfterSeconds,
      );
    if (r.outcome === 'locked') {
      failure(r.hard ? 'locked until an admin unlocks' : 'locked (delay)', {
        retryAfterSeconds: r.retryAfterSeconds,
      });
      throw locked(
        r.hard ? ACCOUNT_LOCKED : 'too many failed logins: wait before trying again',
        r.retryAfterSeconds,
      );
    }
    const ok = await this.ctx.hasher.verify(row?.password_hash ?? (await this.dummyHash), password);
    if (row && ok && row.disabled_at === null) {
      await this.throttle.succeeded(subject, r.sourceFailureId);
      this.ctx.audit.append({ actor: `staff:${row.id}`, action: 'staff.login', outcome: 'success' });
      return await this.issuePair(row, randomId(12));
    }
    const delay = loginDelayMs(r.failures);
    failure(!row ? 'unknown username' : row.disabled_at !== null ? 'account disabled' : 'wrong password', {
      failures: r.failures,
      ...(delay > 0 && r.failures < STAFF_LOGIN_MAX_FAILURES ? { delaySeconds: delay / 1000 } : {}),
    });
    if (r.failures >= STAFF_LOGIN_MAX_FAILURES)
      this.ctx.audit.append({
        actor: 'system',
        action: 'staff.lock',
        subject: row ? `staff:${row.id}` : `username:${username}`,
        outcome: 'success',
        reason: 'too many failed logins: locked until an admin unlocks',
        data: { failures: r.failures },
      });
    throw unauthorized('wrong username or password');
  }

  /** Lift an account's delay or lock (admin); audited. */
  async unlock(
    staffId: string,
    actor: string,
  ): Promise<{ staffId: string; wasLocked: boolean; failures: number }> {
    if (!(await this.get(staffId))) throw notFound('no such staff member');
    const r = await this.throttle.unlock(staffId);
    this.ctx.audit.append({
      actor,
      action: 'staff.unlock',
      subject: `staff:${staffId}`,
      outcome: 'success',
      data: r,
    });
    return { staffId, ...r };
  }

  /** Rotate a refresh token. Unknown tokens count against the source's bound; a locked account gets no tokens. */
  async refresh(refreshToken: string, ip: string): Promise<TokenPair> {
    const now = this.ctx.clock.now();
    const result = this.ctx.db.transaction(() => {
      const t = this.ctx.db
        .prepare<
          [string],
          {
            family_id: string;
            staff_id: string;
            expires_at: number;
            rotated_at: number | null;
            revoked_at: number | null;
          }
        >(
          'SELECT family_id, staff_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = ?',
        )
        .get(sha256b64url(refreshToken));
      if (!t) return { error: 'unknown refresh token' } as const;
      if (t.revoked_at !== null) return { error: 'refresh token revoked', staffId: t.staff_id } as const;
      if (t.rotated_at !== null) {
        this.ctx.db
          .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL')
          .run(now, t.family_id);
        return { error: 'refresh token reused: family revoked', staffId: t.staff_id } as const;
      }
      if (t.expires_at <= now) return { error: 'refresh token expired', staffId: t.staff_id } as const;
      // Not used up: after an admin unlock the same token refreshes.
      if (this.throttle.isHardLocked(t.staff_id))
        return { error: 'account locked', staffId: t.staff_id } as const;
      this.ctx.db
        .prepare('UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ?')
        .run(now, sha256b64url(refreshToken));
      return { family: t.family_id, staffId: t.staff_id } as const;
    })();
    if ('error' in result) {
      if (!result.staffId) {
        const wait = await this.throttle.sourceFailure(sourceKey(ip));
        if (wait !== null)
          throw rateLimited('too many failed logins from this address: wait before trying again', wait);
      }
      this.ctx.audit.append({
        actor: result.staffId ? `staff:${result.staffId}` : 'anonymous',
        action: 'staff.refresh',
        outcome: 'failure',
        reason: result.error,
      });
      // 401, not 423: a client drops its tokens on 401 and shows the login, which says why.
      throw unauthorized(result.error === 'account locked' ? ACCOUNT_LOCKED : result.error);
    }
    const staff = await this.get(result.staffId);
    if (!staff || staff.disabled_at !== null) throw unauthorized('account disabled');
    return await this.issuePair(staff, result.family);
  }

  async logout(refreshToken: string): Promise<void> {
    const row = this.ctx.db
      .prepare<[string], { family_id: string; staff_id: string }>(
        'SELECT family_id, staff_id FROM refresh_tokens WHERE token_hash = ?',
      )
      .get(sha256b64url(refreshToken));
    if (!row) throw unauthorized('unknown refresh token');
    this.ctx.db
      .prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL')
      .run(this.ctx.clock.now(), row.family_id);
    this.ctx.audit.append({ actor: `staff:${row.staff_id}`, action: 'staff.logout', outcome: 'success' });
  }

  /** Verify an access token and re-read the account: a role change or a disabled account takes effect at once. */
  async verifyAccess(authorization: string | undefined): Promise<StaffPrincipal> {
    const m = /^Bearer (\S{20,4096})$/.exec(authorization ?? '');
    if (!m) throw unauthorized('bearer token required');
    let sub: string;
    try {
      const payload = await this.keys.verify(m[1]!, ACCESS_TOKEN_TYP);
      if (typeof payload.sub !== 'string') throw new Error('no sub');
      sub = payload.sub;
    } catch {
      throw unauthorized('access token invalid or expired');
    }
    const staff = await this.get(sub);
    if (!staff || staff.disabled_at !== null) throw unauthorized('account disabled');
    return { kind: 'staff', staff };
  }

  private async issuePair(staff: StaffRow, family: string): Promise<TokenPair> {
    const now = this.ctx.clock.now();
    const { accessTokenSeconds, refreshTokenSeconds } = this.ctx.config;
    const accessToken = await this.keys.sign(
      { sub: staff.id, role: staff.role },
      ACCESS_TOKEN_TYP,
      accessTokenSeconds,
    );
    const refreshToken = randomId(32);
    const refreshExpiresAt = now + refreshTokenSeconds * 1000;
    this.ctx.db
      .prepare('INSERT INTO refresh_tokens (token_hash, family_id, staff_id, expires_at) VALUES (?, ?, ?, ?)')
      .run(sha256b64url(refreshToken), family, staff.id, refreshExpiresAt);
    return {
      accessToken,
      accessExpiresAt: iso(now + accessTokenSeconds * 1000),
      refreshToken,
      refreshExpiresAt: iso(refreshExpiresAt),
      staff: staffView(staff),
    };
  }
}
