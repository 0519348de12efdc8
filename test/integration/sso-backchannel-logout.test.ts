/**
 * The identity provider's logout ends the console session (issue 17, OpenID Connect
 * Back-Channel Logout 1.0). A real provider (oidc-provider) with back-channel logout posts
 * its logout token when a user signs out there; the authority checks it (signature, issuer,
 * audience, age, event, no nonce, sub/sid, used once), revokes the console session of that
 * provider session at once (refresh and access token refused, its WebSocket closed) and
 * leaves the user's other sessions alone. Forged, replayed and malformed logouts: 400, audited.
 */
import assert from 'node:assert/strict';
import { generateKeyPair, SignJWT } from 'jose';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, call } from '../support/http.ts';
import {
  logoutAtProvider,
  signInAtProvider,
  startTestIdentityProvider,
  type TestIdentityProvider,
} from '../support/oidc-provider.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';

const REDIRECT = 'http://127.0.0.1:9/sso-callback';
const ROLE_MAP = { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor', 'vd-admins': 'admin' } as const;
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

describe("single sign-on: the provider's back-channel logout ends the console session", () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  const route = () => `${a.url}/v1/staff/sso/backchannel-logout`;
  const post = (body: string, type = 'application/x-www-form-urlencoded') =>
    fetch(route(), { method: 'POST', headers: { 'content-type': type }, body });

  /** Sign `login` in through the provider with a cookie jar of its own (one provider session). */
  async function signIn(login: string) {
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: REDIRECT } });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const jar = new Map<string, string>();
    const callbackUrl = await signInAtProvider(started.body.authorizationUrl, login, jar);
    const done = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    return { jar, tokens: done.body as { accessToken: string; refreshToken: string } };
  }

  const logoutAudit = () =>
    a.sql<{ actor: string; outcome: string; reason: string | null }>`
      SELECT actor, outcome, reason FROM audit_log WHERE action = 'staff.sso.logout' ORDER BY seq`;

  before(async () => {
    idp = await startTestIdentityProvider({ redirectUris: [REDIRECT], backchannelLogout: true });
    a = await startTestAuthority({
      ssoIssuer: idp.issuer,
      ssoName: 'Contoso ID',
      ssoClientId: idp.clientId,
      ssoClientSecret: idp.clientSecret,
      ssoRedirectUris: [REDIRECT],
      ssoRoleMap: { ...ROLE_MAP },
      ssoScopes: 'openid profile email groups',
      ssoProvisioning: 'provision',
      accessTokenSeconds: 3600,
    });
    idp.backchannel!.target = route();
  });
  after(async () => {
    await a?.dispose();
    await idp?.close();
  });

  it('signing out at the provider: that console session ends at once (tokens refused, socket closed); another session of the same user stays', async () => {
    const first = await signIn('ann.sso');
    const second = await signIn('ann.sso'); // another browser: another provider session
    const socket = await TestSocket.open(a.url);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: first.tokens.accessToken } });
    assert.equal((await socket.next()).type, 'welcome');
    assert.equal((await api(a.url, 'agentMe', { headers: bearer(first.tokens.accessToken) })).status, 200);

    await logoutAtProvider(idp.issuer, first.jar);
    await until('the provider posted its logout token', () => idp.backchannel!.answers.length === 1);
    assert.deepEqual(idp.backchannel!.answers, [200]);

    const closed = await socket.closed;
    assert.equal(closed.code, 4401, JSON.stringify(closed));
    assert.equal((await api(a.url, 'agentMe', { headers: bearer(first.tokens.accessToken) })).status, 401);
    assert.equal(
      (await api(a.url, 'refresh', { json: { refreshToken: first.tokens.refreshToken } })).status,
      401,
    );
    // The other provider session (sid) is not ended: its console works on.
    assert.equal((await api(a.url, 'agentMe', { headers: bearer(second.tokens.accessToken) })).status, 200);
    assert.equal(
      (await api(a.url, 'refresh', { json: { refreshToken: second.tokens.refreshToken } })).status,
      200,
    );
    const audit = await logoutAudit();
    assert.equal(audit.length, 1, JSON.stringify(audit));
    assert.equal(audit[0]!.outcome, 'success');
    assert.match(audit[0]!.actor, /^staff:/);
  });

  it('a replayed, forged or malformed logout token is refused (400, audited); a form is required (415)', async () => {
    const token = new URLSearchParams(idp.backchannel!.bodies.at(-1)!).get('logout_token')!;
    assert.ok(token.split('.').length === 3);
    const replay = await post(new URLSearchParams({ logout_token: token }).toString());
    assert.equal(replay.status, 400);
    assert.match(((await replay.json()) as { message: string }).message, /used before/);

    // Signed by someone else's key, with every claim right.
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ events: { [EVENT]: {} }, sid: 'any' })
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: 'forged' })
      .setIssuer(idp.issuer)
      .setAudience(idp.clientId)
      .setSubject('ann.sso')
      .setIssuedAt()
      .setJti('forged-1')
      .sign(privateKey);
    const f = await post(new URLSearchParams({ logout_token: forged }).toString());
    assert.equal(f.status, 400);

    assert.equal((await post('logout_token=not-a-jwt-at-all-xxxxxxxx')).status, 400);
    assert.equal((await post('nothing=here')).status, 400);
    assert.equal((await post(JSON.stringify({ logout_token: token }), 'application/json')).status, 415);
    const refused = (await logoutAudit()).filter((r) => r.outcome === 'failure');
    assert.ok(refused.length >= 3, JSON.stringify(refused));
    assert.ok(refused.some((r) => /used before/.test(r.reason ?? '')));
  });

  it('without single sign-on configured the route is 404', async () => {
    const plain = await startTestAuthority({});
    try {
      const r = await call(plain.url, 'POST', '/v1/staff/sso/backchannel-logout', {
        raw: 'logout_token=abcdefghijklmnopqrstuvwxyz',
        contentType: 'application/x-www-form-urlencoded',
      });
      assert.equal(r.status, 404, JSON.stringify(r.body));
    } finally {
      await plain.dispose();
    }
  });
});
