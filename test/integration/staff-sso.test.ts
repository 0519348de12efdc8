import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  IDP_OTHER_CLIENT_ID,
  signInAtProvider,
  startTestIdentityProvider,
  type TestIdentityProvider,
} from '../support/oidc-provider.ts';

/** The console's page in browser mode (never fetched here: the provider's last redirect goes there). */
const BROWSER_REDIRECT = 'http://127.0.0.1:9/sso-callback';
/** Registered once; the desktop app's listener uses any port (RFC 8252). */
const LOOPBACK_REGISTERED = 'http://127.0.0.1/callback';
const ROLE_MAP = { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor', 'vd-admins': 'admin' } as const;

interface AuditRow {
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string | Record<string, unknown> | null;
}
const dataOf = (r: AuditRow): Record<string, unknown> =>
  typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : (r.data ?? {});

async function ssoAudit(a: TestAuthority): Promise<AuditRow[]> {
  return await a.sql<AuditRow>`SELECT actor, action, subject, outcome, reason, data FROM audit_log WHERE action = 'staff.sso' ORDER BY seq`;
}
async function lastSsoAudit(a: TestAuthority): Promise<AuditRow> {
  const rows = await ssoAudit(a);
  return rows[rows.length - 1]!;
}

async function startIdp(): Promise<TestIdentityProvider> {
  return await startTestIdentityProvider({
    redirectUris: [BROWSER_REDIRECT, LOOPBACK_REGISTERED],
    postLogoutRedirectUris: ['http://127.0.0.1:9/signed-out'],
  });
}

function ssoConfig(idp: TestIdentityProvider, more: Record<string, unknown> = {}) {
  return {
    ssoIssuer: idp.issuer,
    ssoName: 'Contoso ID',
    ssoClientId: idp.clientId,
    ssoClientSecret: idp.clientSecret,
    ssoRedirectUris: [BROWSER_REDIRECT],
    ssoRoleMap: { ...ROLE_MAP },
    ssoScopes: 'openid profile email groups',
    ...more,
  };
}

/** Start a flow, sign `login` in at the provider: the callback URL the console would receive. */
async function throughProvider(
  a: TestAuthority,
  login: string,
  opts: { redirectUri?: string; tamper?: (u: URL) => void } = {},
): Promise<{ callbackUrl: string; state: string; authorizationUrl: string }> {
  const started = await api(a.url, 'ssoStart', {
    json: { redirectUri: opts.redirectUri ?? BROWSER_REDIRECT },
  });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  const auth = new URL(started.body.authorizationUrl);
  opts.tamper?.(auth);
  const callbackUrl = await signInAtProvider(auth.href, login);
  return { callbackUrl, state: started.body.state, authorizationUrl: started.body.authorizationUrl };
}

async function signIn(a: TestAuthority, login: string, redirectUri?: string) {
  const { callbackUrl } = await throughProvider(a, login, redirectUri ? { redirectUri } : {});
  return await api(a.url, 'ssoCallback', { json: { callbackUrl } });
}

describe('single sign-on (OpenID Connect) with provisioning', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  before(async () => {
    idp = await startIdp();
    a = await startTestAuthority(
      ssoConfig(idp, {
        ssoProvisioning: 'provision',
        ssoPostLogoutRedirectUri: 'http://127.0.0.1:9/signed-out',
      }),
      { clock },
    );
  });
  after(async () => {
    await a.dispose();
    await idp.close();
  });

  it('the login screen learns the provider name; the flow is code + PKCE S256 with state and nonce', async () => {
    const s = await api(a.url, 'ssoSettings');
    assert.deepEqual(s.body, { enabled: true, name: 'Contoso ID', enforced: false });
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(started.status, 200);
    const u = new URL(started.body.authorizationUrl);
    assert.equal(u.origin, idp.issuer);
    const q = Object.fromEntries(u.searchParams);
    assert.equal(q.response_type, 'code');
    assert.equal(q.code_challenge_method, 'S256');
    assert.ok(q.code_challenge && q.code_challenge.length >= 43);
    assert.ok(q.nonce && q.nonce.length >= 20);
    assert.equal(q.state, started.body.state);
    assert.equal(q.redirect_uri, BROWSER_REDIRECT);
    assert.equal(q.client_id, idp.clientId);
  });

  it('a first sign-in provisions the account with the role of its groups, audited with issuer and subject', async () => {
    const r = await signIn(a, 'ann.sso');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.staff.username, 'ann.sso');
    assert.equal(r.body.staff.displayName, 'Ann Agent');
    assert.equal(r.body.staff.role, 'agent');
    const me = await api(a.url, 'staffMe', { headers: bearer(r.body.accessToken) });
    assert.equal(me.status, 200);
    assert.equal(me.body.staffId, r.body.staff.staffId);
    const refreshed = await api(a.url, 'refresh', { json: { refreshToken: r.body.refreshToken } });
    assert.equal(refreshed.status, 200, 'the same refresh tokens as a password login');
    const audit = await lastSsoAudit(a);
    assert.equal(audit.outcome, 'success');
    assert.equal(audit.actor, `staff:${r.body.staff.staffId}`);
    assert.deepEqual(dataOf(audit), {
      issuer: idp.issuer,
      subject: 'ann.sso',
      role: 'agent',
      firstSignIn: 'provisioned',
    });
    const [created] =
      await a.sql<AuditRow>`SELECT actor, action, subject, outcome, reason, data FROM audit_log WHERE action = 'staff.create' AND subject = ${`staff:${r.body.staff.staffId}`}`;
    assert.equal(created?.actor, `sso:${idp.issuer}`);
    // The second sign-in finds the same account by (issuer, subject).
    const again = await signIn(a, 'ann.sso');
    assert.equal(again.body.staff.staffId, r.body.staff.staffId);
    assert.equal(dataOf(await lastSsoAudit(a)).firstSignIn, undefined);
  });

  it('an existing account is linked by its username on first sign-in; a change of groups changes the role at the next sign-in', async () => {
    const password = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    idp.users.set('agent2', {
      name: 'Agent Two',
      preferred_username: 'agent2',
      email: 'a2@example.com',
      groups: ['vd-supervisors'],
    });
    const first = await signIn(a, 'agent2');
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.staff.staffId, password.staffId, 'linked, not a new account');
    assert.equal(first.body.staff.role, 'supervisor');
    assert.equal(dataOf(await lastSsoAudit(a)).firstSignIn, 'linked');
    const [role] =
      await a.sql<AuditRow>`SELECT actor, action, subject, outcome, reason, data FROM audit_log WHERE action = 'staff.role' AND subject = ${`staff:${password.staffId}`} ORDER BY seq DESC`;
    assert.deepEqual(dataOf(role!), { from: 'agent', to: 'supervisor' });
    assert.equal(role!.reason, 'the groups claim at sign-in');
    // IT moves the user back to the agents: nothing changes until the next sign-in...
    idp.users.get('agent2')!.groups = ['vd-agents'];
    assert.equal(
      (await api(a.url, 'staffMe', { headers: bearer(first.body.accessToken) })).body.role,
      'supervisor',
    );
    // ...which applies it.
    const second = await signIn(a, 'agent2');
    assert.equal(second.body.staff.role, 'agent');
    assert.equal((await api(a.url, 'board', { headers: bearer(second.body.accessToken) })).status, 403);
  });

  it('groups that map to no role are refused (403), audited with the subject', async () => {
    const r = await signIn(a, 'mark.sso');
    assert.equal(r.status, 403);
    assert.match(r.body.message, /no role/);
    const audit = await lastSsoAudit(a);
    assert.equal(audit.outcome, 'failure');
    assert.equal(audit.subject, 'oidc:mark.sso');
    assert.equal(audit.reason, 'no role for the groups');
    assert.deepEqual(dataOf(audit), { issuer: idp.issuer, subject: 'mark.sso', groups: ['marketing'] });
  });

  it('a replayed callback and a replayed code are refused (400), audited', async () => {
    const { callbackUrl } = await throughProvider(a, 'ada.sso');
    assert.equal((await api(a.url, 'ssoCallback', { json: { callbackUrl } })).status, 200);
    const replay = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(replay.status, 400);
    assert.match(replay.body.message, /already used/);
    assert.equal((await lastSsoAudit(a)).reason, 'state already used (a replayed callback)');
    // The same code under a fresh flow's state: the provider refuses it. A flow is used once,
    // so a replayed code always comes with another flow's PKCE verifier: that is what the
    // provider finds first (before it would find the code used).
    const fresh = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    const forged = new URL(callbackUrl);
    forged.searchParams.set('state', fresh.body.state);
    const refusedBefore = idp.grantErrors.length;
    const r = await api(a.url, 'ssoCallback', { json: { callbackUrl: forged.href } });
    assert.equal(r.status, 400);
    assert.match(r.body.message, /invalid_grant/);
    assert.deepEqual(idp.grantErrors.slice(refusedBefore), ['code_verifier does not match code_challenge']);
    const audit = await lastSsoAudit(a);
    assert.equal(audit.outcome, 'failure');
    assert.match(audit.reason ?? '', /invalid_grant/);
  });

  it('an unknown state, a forged issuer, a wrong nonce, a code for another client: all refused (400) and audited', async () => {
    const unknown = await api(a.url, 'ssoCallback', {
      json: { callbackUrl: `${BROWSER_REDIRECT}?code=abc&state=${'x'.repeat(43)}` },
    });
    assert.equal(unknown.status, 400);
    assert.equal((await lastSsoAudit(a)).reason, 'unknown state');

    const { callbackUrl } = await throughProvider(a, 'sue.sso');
    const wrongIss = new URL(callbackUrl);
    wrongIss.searchParams.set('iss', 'https://idp.attacker.example');
    const iss = await api(a.url, 'ssoCallback', { json: { callbackUrl: wrongIss.href } });
    assert.equal(iss.status, 400);
    assert.match(iss.body.message, /iss/i);
    assert.match((await lastSsoAudit(a)).reason ?? '', /iss/i);

    const nonce = await throughProvider(a, 'sue.sso', {
      tamper: (u) => u.searchParams.set('nonce', 'not-the-nonce-we-keep'),
    });
    const n = await api(a.url, 'ssoCallback', { json: { callbackUrl: nonce.callbackUrl } });
    assert.equal(n.status, 400);
    assert.match(n.body.message, /nonce/);
    const nAudit = await lastSsoAudit(a);
    assert.match(nAudit.reason ?? '', /nonce/);
    assert.equal(nAudit.outcome, 'failure');

    const other = await throughProvider(a, 'sue.sso', {
      tamper: (u) => u.searchParams.set('client_id', IDP_OTHER_CLIENT_ID),
    });
    const o = await api(a.url, 'ssoCallback', { json: { callbackUrl: other.callbackUrl } });
    assert.equal(o.status, 400);
    assert.match((await lastSsoAudit(a)).reason ?? '', /invalid_grant/);

    const denied = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    const err = await api(a.url, 'ssoCallback', {
      json: { callbackUrl: `${BROWSER_REDIRECT}?error=access_denied&state=${denied.body.state}` },
    });
    assert.equal(err.status, 400);
    assert.match(err.body.message, /access_denied/);
  });

  it('an ID token for another audience, from another issuer or expired is refused: a clear 400, audited, no session', async () => {
    const count = async () => {
      const [s] = await a.sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM sso_sessions`;
      const [t] = await a.sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM refresh_tokens`;
      return { sessions: Number(s!.n), refreshTokens: Number(t!.n) };
    };
    const cases: { change: (c: JWTPayload) => JWTPayload; message: RegExp }[] = [
      { change: (c) => ({ ...c, aud: IDP_OTHER_CLIENT_ID }), message: /"aud" \(audience\)/ },
      {
        change: (c) => ({ ...c, aud: [IDP_OTHER_CLIENT_ID, 'a-third-client'] }),
        message: /"aud" \(audience\)/,
      },
      { change: (c) => ({ ...c, iss: 'https://idp.attacker.example' }), message: /"iss" \(issuer\)/ },
      { change: (c) => ({ ...c, exp: Math.floor(Date.now() / 1000) - 3600 }), message: /"exp"/ },
    ];
    try {
      for (const { change, message } of cases) {
        const { callbackUrl } = await throughProvider(a, 'sue.sso');
        const before = await count();
        const audits = (await ssoAudit(a)).length;
        idp.idTokenClaims = change;
        const r = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
        idp.idTokenClaims = undefined;
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.match(r.body.message, /^sign-in refused: /);
        assert.match(r.body.message, message);
        assert.equal(r.body.accessToken, undefined);
        assert.deepEqual(await count(), before, 'no console session');
        const rows = await ssoAudit(a);
        assert.equal(rows.length, audits + 1);
        const audit = rows[rows.length - 1]!;
        assert.equal(audit.outcome, 'failure');
        assert.equal(audit.actor, 'anonymous');
        assert.match(audit.reason ?? '', message);
        assert.equal(dataOf(audit).issuer, idp.issuer);
      }
    } finally {
      idp.idTokenClaims = undefined;
    }
    // The same provider, its ID tokens unchanged: the sign-in goes through (the refusals were the claims).
    assert.equal((await signIn(a, 'sue.sso')).status, 200);
  });

  it('an expired authorization code is refused by the provider: 400, audited, no session', async () => {
    const [before] = await a.sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM sso_sessions`;
    const { callbackUrl } = await throughProvider(a, 'ann.sso');
    assert.ok(idp.expireCodes() >= 1, 'the code of this sign-in, not exchanged yet');
    const refusedBefore = idp.grantErrors.length;
    const r = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(r.status, 400, JSON.stringify(r.body));
    assert.match(r.body.message, /^sign-in refused: invalid_grant/);
    // The provider's own reason (clients only see invalid_grant).
    assert.deepEqual(idp.grantErrors.slice(refusedBefore), ['authorization code is expired']);
    const audit = await lastSsoAudit(a);
    assert.equal(audit.outcome, 'failure');
    assert.match(audit.reason ?? '', /invalid_grant/);
    const [after] = await a.sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM sso_sessions`;
    assert.equal(Number(after!.n), Number(before!.n));
    // Its flow is used up: the same callback again is a replay.
    const again = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(again.status, 400);
    assert.match(again.body.message, /already used/);
  });

  it('redirect URIs: the configured ones and loopback ones (any port) only; the callback must come back to its own', async () => {
    const evil = await api(a.url, 'ssoStart', { json: { redirectUri: 'https://evil.example/cb' } });
    assert.equal(evil.status, 400);
    const localhost = await api(a.url, 'ssoStart', {
      json: { redirectUri: 'http://localhost:5555/callback' },
    });
    assert.equal(localhost.status, 400, 'RFC 8252: 127.0.0.1, not localhost');
    const desktop = await signIn(a, 'sue.sso', 'http://127.0.0.1:54321/callback');
    assert.equal(desktop.status, 200, JSON.stringify(desktop.body));
    assert.equal(desktop.body.staff.role, 'supervisor');
    const { callbackUrl } = await throughProvider(a, 'sue.sso', {
      redirectUri: 'http://127.0.0.1:54322/callback',
    });
    const moved = new URL(callbackUrl);
    moved.port = '54323';
    const r = await api(a.url, 'ssoCallback', { json: { callbackUrl: moved.href } });
    assert.equal(r.status, 400);
    assert.equal((await lastSsoAudit(a)).reason, 'callback at another redirect URI');
  });

  it('a flow expires', async () => {
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    const callbackUrl = await signInAtProvider(started.body.authorizationUrl, 'ann.sso');
    clock.advance(601_000);
    const r = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(r.status, 400);
    assert.equal((await lastSsoAudit(a)).reason, 'the sign-in took too long (flow expired)');
  });

  it("logout ends our session and answers the provider's end_session URL with id_token_hint (once); a password login has none", async () => {
    const r = await signIn(a, 'ann.sso');
    const out = await api(a.url, 'logout', { json: { refreshToken: r.body.refreshToken } });
    assert.equal(out.status, 200);
    const end = new URL(out.body.endSessionUrl);
    assert.equal(`${end.origin}${end.pathname}`, `${idp.issuer}/session/end`);
    assert.ok((end.searchParams.get('id_token_hint') ?? '').split('.').length === 3);
    assert.equal(end.searchParams.get('post_logout_redirect_uri'), 'http://127.0.0.1:9/signed-out');
    assert.equal((await api(a.url, 'refresh', { json: { refreshToken: r.body.refreshToken } })).status, 401);
    // The provider accepts the hint (its logout page answers).
    assert.equal((await fetch(end)).status, 200);
    const pw = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const pwOut = await api(a.url, 'logout', { json: { refreshToken: pw.refreshToken } });
    assert.deepEqual(pwOut.body, { ok: true });
  });
});

describe('single sign-on enforced (link only)', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  before(async () => {
    idp = await startIdp();
    a = await startTestAuthority(
      ssoConfig(idp, {
        ssoEnforced: true,
        ssoBreakGlassUsernames: ['admin', 'agent2'],
        ssoProvisioning: 'link',
      }),
    );
  });
  after(async () => {
    await a.dispose();
    await idp.close();
  });

  it('password login is refused (403, audited); a break-glass admin still logs in; a break-glass name that is no admin does not', async () => {
    assert.deepEqual((await api(a.url, 'ssoSettings')).body, {
      enabled: true,
      name: 'Contoso ID',
      enforced: true,
    });
    const r = await api(a.url, 'login', { json: { username: 'agent1', password: 'demo-agent-1' } });
    assert.equal(r.status, 403);
    assert.match(r.body.message, /Contoso ID/);
    const [audit] =
      await a.sql<AuditRow>`SELECT actor, action, subject, outcome, reason, data FROM audit_log WHERE action = 'staff.login' ORDER BY seq DESC`;
    assert.equal(audit?.reason, 'password login refused: single sign-on is enforced');
    assert.equal(audit?.subject, 'username:agent1');
    assert.equal(
      (await api(a.url, 'login', { json: { username: 'admin', password: 'demo-admin-1' } })).status,
      200,
    );
    assert.equal(
      (await api(a.url, 'login', { json: { username: 'agent2', password: 'demo-agent-2' } })).status,
      401,
    );
  });

  it('an existing account signs in with SSO; an unknown one is refused (provisioning off), audited', async () => {
    idp.users.set('agent1', {
      name: 'Agent One',
      preferred_username: 'agent1',
      email: 'a1@example.com',
      groups: ['vd-agents'],
    });
    const ok = await signIn(a, 'agent1');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.staff.username, 'agent1');
    const no = await signIn(a, 'ann.sso');
    assert.equal(no.status, 403);
    assert.match(no.body.message, /no account with the username ann\.sso/);
    const audit = await lastSsoAudit(a);
    assert.equal(audit.outcome, 'failure');
    assert.equal(audit.subject, 'oidc:ann.sso');
  });
});

describe('single sign-on, unknown subjects refused', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  before(async () => {
    idp = await startIdp();
    a = await startTestAuthority(ssoConfig(idp, { ssoProvisioning: 'refuse' }));
  });
  after(async () => {
    await a.dispose();
    await idp.close();
  });

  it('a subject not linked before is refused even when an account has its username', async () => {
    idp.users.set('agent1', {
      name: 'Agent One',
      preferred_username: 'agent1',
      email: 'a1@example.com',
      groups: ['vd-agents'],
    });
    const r = await signIn(a, 'agent1');
    assert.equal(r.status, 403);
    assert.equal(
      (await lastSsoAudit(a)).reason,
      'this subject is not linked to an account (provisioning is off)',
    );
  });
});

describe('single sign-on not configured', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority();
  });
  after(() => a.dispose());

  it('says so, and its routes answer 404', async () => {
    assert.deepEqual((await api(a.url, 'ssoSettings')).body, { enabled: false, name: null, enforced: false });
    assert.equal((await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } })).status, 404);
  });
});
