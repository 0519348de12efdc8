import type { StaffRole, StaffView, TokenPair } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { conflict, forbidden, locked, notFound, rateLimited, unauthorized } from '../errors.ts';
import { randomId, sha256b64url } from '../ids.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import type { StaffListing } from '../store/repos/staff.ts';
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
  /** The login (refresh token family) the access token belongs to. */
  family?: string;
  /** The agent's last sighting as read with the token (null: none; absent: not read), for Agents.touch. */
  lastSeenAt?: number | null;
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
    // A cheap answer for a name known to be taken; the insert below decides.
    if (await this.ctx.data.read.staff.byUsername(input.username)) throw conflict('username taken');
    const row = {
      id: randomId(12),
      username: input.username,
      display_name: input.displayName,
      role: input.role,
      password_hash: await this.ctx.hasher.hash(input.password), // before the unit: no argon2 inside one
      created_at: this.ctx.clock.now(),
    };
    const created = await this.ctx.data.tx(async (r) => {
      if (!(await r.staff.insert(row))) return false;
      await r.audit.append({
        actor,
        action: 'staff.create',
        subject: `staff:${row.id}`,
        outcome: 'success',
        data: { role: input.role },
      });
      return true;
    });
    if (!created) throw conflict('username taken');
    return { ...row, disabled_at: null };
  }

  async get(id: string): Promise<StaffRow | undefined> {
    return await this.ctx.data.read.staff.byId(id);
  }

  /** Enabled staff other than `staffId` (the transfer directory), by display name. */
  async colleagues(staffId: string): Promise<StaffListing[]> {
    return await this.ctx.data.read.staff.enabledExcept(staffId);
  }

  async setRole(id: string, role: StaffRole, actor: string): Promise<StaffRow> {
    const after = await this.ctx.data.tx(async (r) => {
      const before = await r.staff.setRole(id, role);
      if (!before) return undefined;
      await r.audit.append({
        actor,
        action: 'staff.role',
        subject: `staff:${id}`,
        outcome: 'success',
        data: { from: before.role, to: role },
      });
      return { ...before, role };
    });
    if (!after) throw notFound('no such staff member');
    return after;
  }

  /**
   * Password login from `ip`. The attempt is reserved against the source and the account
   * before any hashing; a source over its bound gets 429, an account (or unknown name)
   * in a delay or locked gets 423 without its password being looked at, so the right
   * password and a wrong one get the same answer. Unknown names hash a dummy.
   */
  async login(username: string, password: string, ip: string): Promise<TokenPair> {
    const { ssoEnforced, ssoBreakGlassUsernames, ssoName } = this.ctx.config;
    // SSO enforced: refused before anything is looked up, the same for every name but the break-glass ones.
    if (ssoEnforced && !ssoBreakGlassUsernames.includes(username)) {
      await this.ctx.data.tx((t) =>
        t.audit.append({
          actor: 'anonymous',
          action: 'staff.login',
          subject: `username:${username}`,
          outcome: 'failure',
          reason: 'password login refused: single sign-on is enforced',
        }),
      );
      throw forbidden(`password login is disabled: sign in with ${ssoName}`);
    }
    const row = await this.ctx.data.read.staff.byUsername(username);
    const subject = row ? staffSubject(row.id) : unknownNameSubject(username);
    const actor = row ? `staff:${row.id}` : 'anonymous';
    const failure = (reason: string, data?: Record<string, unknown>): AuditEntry => ({
      actor,
      action: 'staff.login',
      subject: `username:${username}`,
      outcome: 'failure',
      reason,
      ...(data ? { data } : {}),
    });
    const r = await this.ctx.data.tx(async (t) => {
      const r = await this.throttle.reserve(t, subject, sourceKey(ip));
      if (r.outcome === 'locked')
        await t.audit.append(
          failure(r.hard ? 'locked until an admin unlocks' : 'locked (delay)', {
            retryAfterSeconds: r.retryAfterSeconds,
          }),
        );
      return r;
    });
    if (r.outcome === 'source_limited')
      // Audited by the throttle, summed up per source.
      throw rateLimited(
        'too many failed logins from this address: wait before trying again',
        r.retryAfterSeconds,
      );
    if (r.outcome === 'locked')
      throw locked(
        r.hard ? ACCOUNT_LOCKED : 'too many failed logins: wait before trying again',
        r.retryAfterSeconds,
      );
    const ok = await this.ctx.hasher.verify(row?.password_hash ?? (await this.dummyHash), password);
    // A break-glass name logs in with its password only while it is an admin's.
    const breakGlassRefused = ssoEnforced && row?.role !== 'admin';
    if (row && ok && row.disabled_at === null && !breakGlassRefused) {
      const minted = await this.mintPair(row, randomId(12));
      await this.ctx.data.tx(async (t) => {
        await this.throttle.succeeded(t, subject, r.sourceFailureId);
        await t.staff.insertRefreshToken(minted.stored);
        await t.audit.append({ actor: `staff:${row.id}`, action: 'staff.login', outcome: 'success' });
      });
      return minted.pair;
    }
    const delay = loginDelayMs(r.failures);
    await this.ctx.data.tx(async (t) => {
      await t.audit.append(
        failure(
          !row
            ? 'unknown username'
            : row.disabled_at !== null
              ? 'account disabled'
              : !ok
                ? 'wrong password'
                : 'password login refused: single sign-on is enforced and the break-glass account is not an admin',
          {
            failures: r.failures,
            ...(delay > 0 && r.failures < STAFF_LOGIN_MAX_FAILURES ? { delaySeconds: delay / 1000 } : {}),
          },
        ),
      );
      if (r.failures >= STAFF_LOGIN_MAX_FAILURES)
        await t.audit.append({
          actor: 'system',
          action: 'staff.lock',
          subject: row ? `staff:${row.id}` : `username:${username}`,
          outcome: 'success',
          reason: 'too many failed logins: locked until an admin unlocks',
          data: { failures: r.failures },
        });
    });
    throw unauthorized('wrong username or password');
  }

  /** Lift an account's delay or lock (admin); audited. */
  async unlock(
    staffId: string,
    actor: string,
  ): Promise<{ staffId: string; wasLocked: boolean; failures: number }> {
    const done = await this.ctx.data.tx(async (r) => {
      if (!(await r.staff.byId(staffId))) return undefined;
      const was = await this.throttle.unlock(r, staffId);
      await r.audit.append({
        actor,
        action: 'staff.unlock',
        subject: `staff:${staffId}`,
        outcome: 'success',
        data: was,
      });
      return was;
    });
    if (!done) throw notFound('no such staff member');
    return { staffId, ...done };
  }

  /**
   * Rotate a refresh token: of any number of concurrent rotations of one token exactly one
   * wins; a token used again (or a loser of that race) revokes its family. Unknown tokens
   * count against the source's bound; a locked account gets no tokens.
   */
  async refresh(refreshToken: string, ip: string): Promise<TokenPair> {
    const hash = sha256b64url(refreshToken);
    // Signed before the unit (no signing inside one), for the account the token names; unused unless it wins.
    const seen = await this.ctx.data.read.staff.refreshToken(hash);
    const staff = seen ? await this.get(seen.staff_id) : undefined;
    const minted =
      staff && staff.disabled_at === null ? await this.mintPair(staff, seen!.family_id) : undefined;
    const result = await this.ctx.data.tx(async (r) => {
      const now = this.ctx.clock.now();
      const t = await r.staff.refreshToken(hash);
      if (!t) {
        const wait = await this.throttle.sourceFailure(r, sourceKey(ip));
        if (wait !== null) return { error: 'source_limited', wait } as const;
        await r.audit.append({
          actor: 'anonymous',
          action: 'staff.refresh',
          outcome: 'failure',
          reason: 'unknown refresh token',
        });
        return { error: 'unknown refresh token' } as const;
      }
      let error: string | null = null;
      if (t.revoked_at !== null) error = 'refresh token revoked';
      else if (t.rotated_at !== null) error = 'refresh token reused: family revoked';
      else if (t.expires_at <= now) error = 'refresh token expired';
      // Not used up: after an admin unlock the same token refreshes.
      else if (await this.throttle.isHardLocked(r, t.staff_id)) error = 'account locked';
      else if (!minted) error = 'account disabled';
      // A concurrent rotation of the same token got there first: that is a reuse too.
      else if (!(await r.staff.rotateRefreshToken(hash))) error = 'refresh token reused: family revoked';
      if (error === 'refresh token reused: family revoked') await r.staff.revokeFamily(t.family_id);
      if (error !== null) {
        await r.audit.append({
          actor: `staff:${t.staff_id}`,
          action: 'staff.refresh',
          outcome: 'failure',
          reason: error,
        });
        return { error } as const;
      }
      await r.staff.insertRefreshToken(minted!.stored);
      return { ok: true } as const;
    });
    if ('error' in result) {
      if (result.error === 'source_limited' && result.wait !== undefined)
        throw rateLimited('too many failed logins from this address: wait before trying again', result.wait);
      // 401, not 423: a client drops its tokens on 401 and shows the login, which says why.
      throw unauthorized(result.error === 'account locked' ? ACCOUNT_LOCKED : result.error);
    }
    return minted!.pair;
  }

  /** Revoke the token's family; the family id (an SSO login's logout continues at the provider). */
  async logout(refreshToken: string): Promise<{ familyId: string; staffId: string }> {
    const hash = sha256b64url(refreshToken);
    const found = await this.ctx.data.tx(async (r) => {
      const row = await r.staff.refreshToken(hash);
      if (!row) return undefined;
      await r.staff.revokeFamily(row.family_id);
      await r.outbox.emit('staff.signed_out', { families: [row.family_id] });
      await r.audit.append({ actor: `staff:${row.staff_id}`, action: 'staff.logout', outcome: 'success' });
      return { familyId: row.family_id, staffId: row.staff_id };
    });
    if (!found) throw unauthorized('unknown refresh token');
    return found;
  }

  /** Verify an access token and re-read the account: a role change or a disabled account takes effect at once. */
  async verifyAccess(authorization: string | undefined): Promise<StaffPrincipal> {
    const m = /^Bearer (\S{20,4096})$/.exec(authorization ?? '');
    if (!m) throw unauthorized('bearer token required');
    let sub: string;
    let family: string | undefined;
    try {
      const payload = this.keys.verify(m[1]!, ACCESS_TOKEN_TYP, { cached: true });
      if (typeof payload.sub !== 'string') throw new Error('no sub');
      sub = payload.sub;
      if (typeof payload.fam === 'string') family = payload.fam;
    } catch {
      throw unauthorized('access token invalid or expired');
    }
    const read = this.ctx.data.read.staff;
    if (family === undefined) {
      const staff = await read.byId(sub);
      if (!staff || staff.disabled_at !== null) throw unauthorized('account disabled');
      return { kind: 'staff', staff };
    }
    // The member, the login's family and the agent's last sighting in one statement.
    const found = await read.byIdInFamily(sub, family);
    if (!found || found.staff.disabled_at !== null) throw unauthorized('account disabled');
    // A login ended (logout here or at the identity provider, a reused refresh token): at once.
    if (found.familyRevoked) throw unauthorized('signed out');
    return { kind: 'staff', staff: found.staff, family, lastSeenAt: found.lastSeenAt };
  }

  /**
   * A token pair for `staff` in `family`, and the refresh token's row to store in the caller's
   * unit (password login here, single sign-on in sso/): signed before the unit.
   */
  async mintPair(
    staff: StaffRow,
    family: string,
  ): Promise<{
    pair: TokenPair;
    stored: { token_hash: string; family_id: string; staff_id: string; expires_at: number };
  }> {
    const now = this.ctx.clock.now();
    const { accessTokenSeconds, refreshTokenSeconds } = this.ctx.config;
    const accessToken = this.keys.sign(
      { sub: staff.id, role: staff.role, fam: family },
      ACCESS_TOKEN_TYP,
      accessTokenSeconds,
    );
    const refreshToken = randomId(32);
    const refreshExpiresAt = now + refreshTokenSeconds * 1000;
    return {
      pair: {
        accessToken,
        accessExpiresAt: iso(now + accessTokenSeconds * 1000),
        refreshToken,
        refreshExpiresAt: iso(refreshExpiresAt),
        staff: staffView(staff),
      },
      stored: {
        token_hash: sha256b64url(refreshToken),
        family_id: family,
        staff_id: staff.id,
        expires_at: refreshExpiresAt,
      },
    };
  }
}
