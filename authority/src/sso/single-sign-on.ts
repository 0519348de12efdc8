import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import * as oidc from 'openid-client';
import {
  type SsoSettings,
  type SsoStarted,
  type StaffRole,
  type TokenPair,
} from '../../../protocol/src/index.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, DomainError, forbidden, notFound } from '../errors.ts';
import { randomId, sha256b64url } from '../ids.ts';
import type { StaffAccounts, StaffRow } from '../staff/staff-accounts.ts';
import { isLoopbackRedirect, roleOfGroups, usernameFromClaim } from './claims.ts';

/** How long the ID token of an SSO login is kept for the logout's id_token_hint. */
const SESSION_KEEP_MS = 30 * 86_400_000;
/** OpenID Connect Back-Channel Logout 1.0: the event a logout token carries, and its age limit. */
const BACKCHANNEL_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const LOGOUT_TOKEN_MAX_AGE_S = 300;

/** Why a sign-in was refused, for the audit row and the answer. */
class Refusal extends Error {
  constructor(
    readonly error: DomainError,
    readonly reason: string,
    readonly data: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

/**
 * Single sign-on for staff with an OpenID Connect provider (authorization code + PKCE,
 * openid-client): the flow's state, nonce and code verifier stay here (sso_flows, single
 * use, short-lived); the callback's code is exchanged once, the ID token validated, the
 * groups claim mapped to a role, the subject linked to an account by (issuer, subject),
 * and the console gets the same tokens as a password login. Every attempt is audited
 * (`staff.sso`, with issuer and subject). Logout answers the provider's end_session URL.
 */
export class SingleSignOn {
  private discovered: Promise<oidc.Configuration> | undefined;
  private jwks: { uri: string; keys: ReturnType<typeof createRemoteJWKSet> } | undefined;

  constructor(
    private readonly ctx: Ctx,
    private readonly staff: StaffAccounts,
  ) {}

  get enabled(): boolean {
    return this.ctx.config.ssoIssuer !== undefined;
  }

  settings(): SsoSettings {
    const c = this.ctx.config;
    return { enabled: this.enabled, name: this.enabled ? c.ssoName : null, enforced: c.ssoEnforced };
  }

  /** A new flow: state, nonce and PKCE verifier kept (single use), the provider's authorization URL answered. */
  async start(redirectUri: string): Promise<SsoStarted> {
    const c = this.ctx.config;
    if (!this.enabled) throw notFound('single sign-on is not configured');
    if (
      !c.ssoRedirectUris.includes(redirectUri) &&
      !(c.ssoAllowLoopbackRedirect && isLoopbackRedirect(redirectUri))
    )
      throw badRequest(
        'the redirect URI is not one of the configured ones (VD_SSO_REDIRECT_URIS) nor a loopback URI http://127.0.0.1:<port>/<path>',
      );
    const provider = await this.provider().catch(async (e: unknown) => {
      if (!unreachable(e)) throw e;
      await this.ctx.data.tx((r) =>
        r.audit.append(
          this.entry('anonymous', 'failure', undefined, {
            reason: UNAVAILABLE,
            data: { issuer: c.ssoIssuer, step: 'start', error: describe(e) },
          }),
        ),
      );
      throw this.unavailable();
    });
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(provider, {
      redirect_uri: redirectUri,
      scope: c.ssoScopes,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const now = this.ctx.clock.now();
    const expiresAt = now + c.ssoFlowSeconds * 1000;
    await this.ctx.data.tx(async (r) => {
      await r.sso.prune(now);
      await r.sso.insertFlow({
        state_hash: sha256b64url(state),
        nonce,
        code_verifier: verifier,
        redirect_uri: redirectUri,
        created_at: now,
        expires_at: expiresAt,
      });
    });
    return { authorizationUrl: url.href, state, expiresAt: iso(expiresAt) };
  }

  /**
   * The provider sent the browser to `callbackUrl`: use up its state, exchange the code
   * (PKCE), validate the ID token, find or link the account, apply the groups' role and
   * issue the staff session. Refusals are audited and answered 400 (bad callback) or 403.
   */
  async complete(callbackUrl: string): Promise<TokenPair> {
    if (!this.enabled) throw notFound('single sign-on is not configured');
    const issuer = this.ctx.config.ssoIssuer!;
    const seen: { subject?: string; staffId?: string } = {};
    try {
      return await this.signIn(new URL(callbackUrl), seen);
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      await this.ctx.data.tx((r) =>
        r.audit.append(
          this.entry(seen.staffId ? `staff:${seen.staffId}` : 'anonymous', 'failure', seen.subject, {
            reason: e.reason,
            data: { issuer, ...(seen.subject ? { subject: seen.subject } : {}), ...e.data },
          }),
        ),
      );
      throw e.error;
    }
  }

  /**
   * After the logout of `familyId`: the provider's end_session URL with the login's ID token
   * as id_token_hint (once), or undefined for a password login or a provider without one.
   */
  async endSessionUrl(familyId: string): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    // The provider cannot be reached: our session is ended all the same (the refresh family
    // is revoked), without the provider's end_session URL; the kept ID token expires.
    const provider = await this.provider().catch((e: unknown) => {
      if (unreachable(e)) return undefined;
      throw e;
    });
    if (!provider) return undefined;
    const session = await this.ctx.data.tx((r) => r.sso.takeSession(familyId));
    if (!session) return undefined;
    if (!provider.serverMetadata().end_session_endpoint) return undefined;
    const post = this.ctx.config.ssoPostLogoutRedirectUri;
    return oidc.buildEndSessionUrl(provider, {
      id_token_hint: session.id_token,
      ...(post ? { post_logout_redirect_uri: post } : {}),
    }).href;
  }

  /**
   * The provider's back-channel logout (OpenID Connect Back-Channel Logout 1.0): check the
   * logout token (signature with the provider's keys, iss, aud, iat within 5 minutes, the
   * event, no nonce, sub or sid, typ), use its jti once, then revoke the console sessions
   * of its sid (or of every session of its sub) and close their sockets on every node.
   * Refusals are audited and answered 400; no matching session is not an error.
   */
  async backchannelLogout(logoutToken: string): Promise<{ sessions: number }> {
    if (!this.enabled) throw notFound('single sign-on is not configured');
    const c = this.ctx.config;
    const issuer = c.ssoIssuer!;
    const provider = await this.provider().catch((e: unknown) => {
      throw unreachable(e) ? this.unavailable() : e;
    });
    const meta = provider.serverMetadata();
    const refuse = async (reason: string, data: Record<string, unknown> = {}) => {
      await this.ctx.data.tx((r) =>
        r.audit.append({
          actor: 'anonymous',
          action: 'staff.sso.logout',
          outcome: 'failure',
          reason,
          data: { issuer, by: 'backchannel', ...data },
        }),
      );
      return badRequest(`logout token refused: ${reason}`);
    };
    if (!meta.jwks_uri) throw await refuse('the provider publishes no keys (jwks_uri)');
    if (this.jwks?.uri !== meta.jwks_uri)
      this.jwks = {
        uri: meta.jwks_uri,
        keys: createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: 10_000 }),
      };
    let claims: JWTPayload;
    try {
      const verified = await jwtVerify(logoutToken, this.jwks.keys, {
        issuer,
        audience: c.ssoClientId!,
        algorithms: (meta.id_token_signing_alg_values_supported ?? ['RS256']).filter((a) => a !== 'none'),
        requiredClaims: ['iat', 'jti'],
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_S,
        clockTolerance: 60,
        currentDate: new Date(this.ctx.clock.now()),
      });
      const typ = verified.protectedHeader.typ?.toLowerCase();
      if (typ !== undefined && typ !== 'logout+jwt' && typ !== 'application/logout+jwt')
        throw new Error(`typ ${typ} is not logout+jwt`);
      claims = verified.payload;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === 'ERR_JWKS_TIMEOUT' || (e instanceof TypeError && e.message === 'fetch failed'))
        throw this.unavailable();
      throw await refuse(describe(e));
    }
    const events = claims.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object' || !(BACKCHANNEL_EVENT in events))
      throw await refuse('no back-channel logout event');
    if (claims.nonce !== undefined) throw await refuse('a logout token has no nonce');
    const subject = typeof claims.sub === 'string' ? claims.sub : undefined;
    const sid = typeof claims.sid === 'string' ? claims.sid : undefined;
    if (subject === undefined && sid === undefined) throw await refuse('neither sub nor sid');
    const keepUntil = Math.max((claims.exp ?? 0) * 1000, (claims.iat! + LOGOUT_TOKEN_MAX_AGE_S + 60) * 1000);
    const ended = await this.ctx.data.tx(async (r) => {
      if (!(await r.sso.firstLogoutToken(issuer, claims.jti!, keepUntil))) return null;
      const sessions = await r.sso.takeSessionsOf(issuer, { sid, subject });
      for (const s of sessions) {
        await r.staff.revokeFamily(s.family_id);
        await r.audit.append({
          actor: `staff:${s.staff_id}`,
          action: 'staff.sso.logout',
          outcome: 'success',
          data: { issuer, by: 'backchannel', ...(subject ? { subject } : {}), ...(sid ? { sid } : {}) },
        });
      }
      if (sessions.length)
        await r.outbox.emit('staff.signed_out', { families: sessions.map((s) => s.family_id) });
      return sessions.length;
    });
    if (ended === null) throw await refuse('the logout token was used before (jti)', { jti: claims.jti });
    return { sessions: ended };
  }

  private async signIn(url: URL, seen: { subject?: string; staffId?: string }): Promise<TokenPair> {
    const c = this.ctx.config;
    const issuer = c.ssoIssuer!;
    const state = url.searchParams.get('state');
    if (!state) throw new Refusal(badRequest('the callback has no state'), 'no state in the callback');
    // The provider's metadata before the flow is used up: while it cannot be reached the
    // same callback may be tried again.
    const provider = await this.provider().catch((e: unknown) => {
      throw unreachable(e)
        ? new Refusal(this.unavailable(), UNAVAILABLE, { step: 'callback', error: describe(e) })
        : e;
    });
    const stateHash = sha256b64url(state);
    const flow = await this.ctx.data.tx((r) => r.sso.consumeFlow(stateHash));
    if (!flow) {
      const known = await this.ctx.data.read.sso.flow(stateHash);
      const reason = !known
        ? 'unknown state'
        : known.used_at !== null
          ? 'state already used (a replayed callback)'
          : 'the sign-in took too long (flow expired)';
      throw new Refusal(badRequest(`sign-in refused: ${reason}; start again`), reason);
    }
    const expected = new URL(flow.redirect_uri);
    if (url.origin !== expected.origin || url.pathname !== expected.pathname)
      throw new Refusal(
        badRequest('sign-in refused: the callback is not at the redirect URI its flow was started with'),
        'callback at another redirect URI',
      );
    const idpError = url.searchParams.get('error');
    if (idpError) {
      const description = (url.searchParams.get('error_description') ?? '').slice(0, 200);
      throw new Refusal(
        badRequest(
          `the identity provider refused the sign-in: ${idpError}${description ? ` (${description})` : ''}`,
        ),
        `provider error: ${idpError.slice(0, 60)}`,
      );
    }
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        provider,
        url,
        {
          pkceCodeVerifier: flow.code_verifier,
          expectedState: state,
          expectedNonce: flow.nonce,
          idTokenExpected: true,
        },
        { redirect_uri: flow.redirect_uri },
      );
    } catch (e) {
      const why = describe(e);
      if (unreachable(e))
        throw new Refusal(this.unavailable(), UNAVAILABLE, { step: 'callback', error: why });
      throw new Refusal(badRequest(`sign-in refused: ${why}`), why);
    }
    const idClaims = tokens.claims();
    if (!idClaims || !tokens.id_token)
      throw new Refusal(badRequest('sign-in refused: no ID token'), 'no ID token');
    const subject = idClaims.sub;
    seen.subject = subject;
    let claims: Record<string, unknown> = { ...idClaims };
    const wanted = [c.ssoGroupsClaim, c.ssoUsernameClaim, 'name'];
    if (wanted.some((k) => claims[k] === undefined) && provider.serverMetadata().userinfo_endpoint) {
      try {
        claims = { ...(await oidc.fetchUserInfo(provider, tokens.access_token, subject)), ...claims };
      } catch (e) {
        if (unreachable(e))
          throw new Refusal(this.unavailable(), UNAVAILABLE, { step: 'userinfo', error: describe(e) });
        const why = `userinfo refused: ${describe(e)}`;
        throw new Refusal(badRequest(`sign-in refused: ${why}`), why);
      }
    }
    const groups = asGroups(claims[c.ssoGroupsClaim]);
    const role = roleOfGroups(groups, c.ssoRoleMap);
    if (!role)
      throw new Refusal(
        forbidden('your groups at the identity provider give no role in Verified Desk: ask IT'),
        'no role for the groups',
        { groups: groups.slice(0, 20) },
      );
    const username = usernameFromClaim(claims[c.ssoUsernameClaim], c.ssoUsernameDomain);
    const displayName = (
      typeof claims.name === 'string' && claims.name.trim() !== ''
        ? claims.name.trim()
        : (username ?? subject)
    ).slice(0, 100);
    // argon2 outside any unit: the unusable password of an account that may be provisioned.
    const provisionHash =
      c.ssoProvisioning === 'provision' && !(await this.ctx.data.read.sso.link(issuer, subject))
        ? await this.ctx.hasher.hash(randomId(32))
        : undefined;

    const resolved = await this.ctx.data.tx(async (r) => {
      const found = await this.account(r, { issuer, subject, username, displayName, role, provisionHash });
      if ('refused' in found) return found;
      const before = found.staff;
      if (before.disabled_at !== null) return { refused: 'account disabled', staffId: before.id } as const;
      if (before.role !== role) {
        await r.staff.setRole(before.id, role);
        await r.audit.append({
          actor: `sso:${issuer}`,
          action: 'staff.role',
          subject: `staff:${before.id}`,
          outcome: 'success',
          reason: 'the groups claim at sign-in',
          data: { from: before.role, to: role },
        });
      }
      await r.sso.touchLink(issuer, subject);
      return { staff: { ...before, role }, first: found.first };
    });
    if ('refused' in resolved) {
      if (resolved.staffId) seen.staffId = resolved.staffId;
      const why = resolved.refused ?? 'refused';
      throw new Refusal(
        forbidden(
          why === 'account disabled'
            ? 'your Verified Desk account is disabled'
            : `no Verified Desk account for you: ${why}`,
        ),
        why,
        username ? { username } : {},
      );
    }
    const staff = resolved.staff;
    seen.staffId = staff.id;
    const family = randomId(12);
    const minted = await this.staff.mintPair(staff, family);
    const now = this.ctx.clock.now();
    await this.ctx.data.tx(async (r) => {
      await r.staff.insertRefreshToken(minted.stored);
      await r.sso.insertSession({
        family_id: family,
        staff_id: staff.id,
        issuer,
        id_token: tokens.id_token!,
        created_at: now,
        expires_at: now + SESSION_KEEP_MS,
        subject,
        sid: typeof idClaims.sid === 'string' ? idClaims.sid : null,
      });
      await r.audit.append(
        this.entry(`staff:${staff.id}`, 'success', subject, {
          data: { issuer, subject, role, ...(resolved.first ? { firstSignIn: resolved.first } : {}) },
        }),
      );
    });
    return minted.pair;
  }

  /** The account of (issuer, subject): linked before, or linked/provisioned now as the policy says. */
  private async account(
    r: Parameters<Parameters<Ctx['data']['tx']>[0]>[0],
    a: {
      issuer: string;
      subject: string;
      username: string | undefined;
      displayName: string;
      role: StaffRole;
      provisionHash: string | undefined;
    },
  ): Promise<{ staff: StaffRow; first?: 'linked' | 'provisioned' } | { refused: string; staffId?: string }> {
    const policy = this.ctx.config.ssoProvisioning;
    const link = await r.sso.link(a.issuer, a.subject);
    if (link) {
      const staff = await r.staff.byId(link.staff_id);
      return staff ? { staff } : { refused: 'the linked account no longer exists' };
    }
    if (policy === 'refuse')
      return { refused: 'this subject is not linked to an account (provisioning is off)' };
    if (!a.username)
      return {
        refused: `the claim ${this.ctx.config.ssoUsernameClaim} is missing or not a valid username${
          this.ctx.config.ssoUsernameDomain ? ` at ${this.ctx.config.ssoUsernameDomain}` : ''
        }`,
      };
    const now = this.ctx.clock.now();
    const existing = await r.staff.byUsername(a.username);
    if (existing) {
      if (await r.sso.linkOfStaff(a.issuer, existing.id))
        return { refused: 'the account is linked to another subject of this provider', staffId: existing.id };
      if (
        !(await r.sso.insertLink({
          issuer: a.issuer,
          subject: a.subject,
          staff_id: existing.id,
          created_at: now,
        }))
      )
        return { refused: 'a concurrent first sign-in linked it: try again', staffId: existing.id };
      await r.audit.append({
        actor: `sso:${a.issuer}`,
        action: 'staff.sso.link',
        subject: `staff:${existing.id}`,
        outcome: 'success',
        data: { issuer: a.issuer, subject: a.subject },
      });
      return { staff: existing, first: 'linked' };
    }
    if (policy !== 'provision' || !a.provisionHash)
      return { refused: `no account with the username ${a.username} (provisioning is off)` };
    const row = {
      id: randomId(12),
      username: a.username,
      display_name: a.displayName,
      role: a.role,
      password_hash: a.provisionHash,
      created_at: now,
    };
    if (!(await r.staff.insert(row)))
      return { refused: 'a concurrent first sign-in took the username: try again' };
    await r.sso.insertLink({ issuer: a.issuer, subject: a.subject, staff_id: row.id, created_at: now });
    await r.audit.append({
      actor: `sso:${a.issuer}`,
      action: 'staff.create',
      subject: `staff:${row.id}`,
      outcome: 'success',
      reason: 'provisioned at the first single sign-on',
      data: { role: a.role, issuer: a.issuer, subject: a.subject },
    });
    return { staff: { ...row, disabled_at: null }, first: 'provisioned' };
  }

  /** 503 idp_unavailable: the provider cannot be reached (a new sign-in may work later). */
  private unavailable(): DomainError {
    return new DomainError(
      'unavailable',
      'idp_unavailable',
      `${this.ctx.config.ssoName} cannot be reached now: try again in a moment${
        this.ctx.config.ssoEnforced ? '' : ', or sign in with your password'
      }`,
    );
  }

  private entry(
    actor: string,
    outcome: 'success' | 'failure',
    subject: string | undefined,
    more: { reason?: string; data?: Record<string, unknown> },
  ): AuditEntry {
    return {
      actor,
      action: 'staff.sso',
      ...(subject ? { subject: `oidc:${subject}` } : {}),
      outcome,
      ...(more.reason ? { reason: more.reason } : {}),
      ...(more.data ? { data: more.data } : {}),
    };
  }

  /** The provider's metadata (discovery), fetched once; a failed fetch is tried again at the next sign-in. */
  private provider(): Promise<oidc.Configuration> {
    const c = this.ctx.config;
    this.discovered ??= oidc
      .discovery(
        new URL(c.ssoIssuer!),
        c.ssoClientId!,
        c.ssoClientSecret ? { client_secret: c.ssoClientSecret } : undefined,
        c.ssoClientSecret ? oidc.ClientSecretBasic(c.ssoClientSecret) : oidc.None(),
        // http only on a loopback issuer (config.ts refuses any other): tests and the demo.
        { execute: c.ssoIssuer!.startsWith('http:') ? [oidc.allowInsecureRequests] : [], timeout: 10 },
      )
      .catch((e: unknown) => {
        this.discovered = undefined;
        throw e;
      });
    return this.discovered;
  }
}

/** The audit reason of a sign-in the provider could not be reached for. */
const UNAVAILABLE = 'identity provider unavailable';

/**
 * The provider could not be reached or is down, as opposed to refusing the sign-in: no
 * connection (refused, reset, DNS), the request timed out, or it answered a 5xx (a proxy in
 * front of it, or OAuth's `temporarily_unavailable` / `server_error`).
 */
function unreachable(e: unknown): boolean {
  if (e instanceof TypeError) return e.message === 'fetch failed'; // undici: no connection
  if (e instanceof oidc.ResponseBodyError)
    return e.status >= 500 || e.error === 'temporarily_unavailable' || e.error === 'server_error';
  if (e instanceof oidc.ClientError) {
    if (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT') return true;
    // a response that is not the expected JSON: a 5xx answer is the provider (or its proxy) down
    return e.cause instanceof Response && e.cause.status >= 500;
  }
  return false;
}

/** The groups claim as a list (an array of strings, or one string). */
function asGroups(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  return Array.isArray(v) ? v.filter((g): g is string => typeof g === 'string') : [];
}

/** openid-client's error as one line (its code, the provider's error, the message). */
function describe(e: unknown): string {
  if (e instanceof oidc.ResponseBodyError)
    return `${e.error}${e.error_description ? `: ${e.error_description}` : ''}`.slice(0, 200);
  const err = e as { code?: unknown; message?: unknown; cause?: unknown };
  let msg = typeof err.message === 'string' ? err.message : String(e);
  // openid-client wraps oauth4webapi's precise reason ('unexpected "iss" ...', nonce) in its cause.
  const cause = err.cause as { message?: unknown } | undefined;
  if (cause instanceof Response) msg = `${msg}: HTTP ${cause.status}`;
  else if (cause && typeof cause.message === 'string') msg = `${msg}: ${cause.message}`;
  return `${typeof err.code === 'string' ? `${err.code}: ` : ''}${msg}`.slice(0, 200);
}
