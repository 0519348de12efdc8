import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api } from '../support/http.ts';
import {
  signInAtProvider,
  startTestIdentityProvider,
  type TestIdentityProvider,
} from '../support/oidc-provider.ts';

/**
 * Single sign-on while the identity provider cannot be reached: the sign-in start (discovery)
 * and the callback (token endpoint) answer 503 `idp_unavailable`, audited, never a 500; the
 * next attempt once the provider is back works (discovery is tried again).
 */

const BROWSER_REDIRECT = 'http://127.0.0.1:9/sso-callback';
const ROLE_MAP = { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor', 'vd-admins': 'admin' } as const;

interface AuditRow {
  actor: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string | Record<string, unknown> | null;
}
const dataOf = (r: AuditRow): Record<string, unknown> =>
  typeof r.data === 'string' ? (JSON.parse(r.data) as Record<string, unknown>) : (r.data ?? {});

async function ssoAudit(a: TestAuthority): Promise<AuditRow[]> {
  return await a.sql<AuditRow>`SELECT actor, subject, outcome, reason, data FROM audit_log WHERE action = 'staff.sso' ORDER BY seq`;
}

function ssoConfig(issuer: string, clientId: string, clientSecret: string) {
  return {
    ssoIssuer: issuer,
    ssoName: 'Contoso ID',
    ssoClientId: clientId,
    ssoClientSecret: clientSecret,
    ssoRedirectUris: [BROWSER_REDIRECT],
    ssoRoleMap: { ...ROLE_MAP },
    ssoScopes: 'openid profile email groups',
    ssoProvisioning: 'provision' as const,
  };
}

describe('single sign-on while the identity provider is down', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  before(async () => {
    idp = await startTestIdentityProvider({ redirectUris: [BROWSER_REDIRECT] });
    await idp.stop(); // down before the authority ever reached it: discovery is refused
    a = await startTestAuthority(ssoConfig(idp.issuer, idp.clientId, idp.clientSecret));
  });
  after(async () => {
    await a.dispose();
    await idp.close();
  });

  it('discovery refused: the start answers 503 idp_unavailable (audited); the login screen and password login still work; once the provider is back the next start works', async () => {
    const down = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.code, 'idp_unavailable');
    assert.match(down.body.message, /Contoso ID/);
    assert.match(down.body.message, /password|again/i);
    const again = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(again.status, 503, 'still down: still 503, not a cached failure of another kind');
    const rows = await ssoAudit(a);
    assert.equal(rows.length, 2);
    const row = rows[1]!;
    assert.equal(row.outcome, 'failure');
    assert.equal(row.actor, 'anonymous');
    assert.equal(row.reason, 'identity provider unavailable');
    const data = dataOf(row);
    assert.equal(data.issuer, idp.issuer);
    assert.equal(data.step, 'start');
    assert.match(String(data.error), /ECONNREFUSED|fetch failed/);

    assert.deepEqual((await api(a.url, 'ssoSettings')).body, {
      enabled: true,
      name: 'Contoso ID',
      enforced: false,
    });
    assert.equal(
      (await api(a.url, 'login', { json: { username: 'agent1', password: 'demo-agent-1' } })).status,
      200,
    );

    await idp.resume();
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    const callbackUrl = await signInAtProvider(started.body.authorizationUrl, 'ann.sso');
    const signedIn = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.staff.role, 'agent');
  });

  it('the token endpoint refused at the callback: 503 idp_unavailable (audited), no session; a new sign-in works once the provider is back', async () => {
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(started.status, 200);
    const callbackUrl = await signInAtProvider(started.body.authorizationUrl, 'sue.sso');
    await idp.stop();
    const before = (await ssoAudit(a)).length;
    const r = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.code, 'idp_unavailable');
    assert.equal(r.body.accessToken, undefined);
    const rows = await ssoAudit(a);
    assert.equal(rows.length, before + 1);
    const row = rows[rows.length - 1]!;
    assert.equal(row.outcome, 'failure');
    assert.equal(row.reason, 'identity provider unavailable');
    assert.equal(dataOf(row).step, 'callback');
    assert.equal(dataOf(row).issuer, idp.issuer);

    // Back: the next sign-in (a new flow; the failed one's state is used up) works.
    await idp.resume();
    const next = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(next.status, 200);
    const ok = await api(a.url, 'ssoCallback', {
      json: { callbackUrl: await signInAtProvider(next.body.authorizationUrl, 'sue.sso') },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.staff.role, 'supervisor');
  });
});

describe('single sign-on behind a proxy whose provider is down (5xx)', () => {
  let proxy: Server;
  let a: TestAuthority;
  before(async () => {
    proxy = createServer((_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' }).end('<h1>502 Bad Gateway</h1>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const issuer = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    a = await startTestAuthority(
      ssoConfig(issuer, 'verified-desk', 'idp-client-secret-0123456789abcdefghijkl'),
    );
  });
  after(async () => {
    await a.dispose();
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  });

  it('discovery answered 502: the start answers 503 idp_unavailable, audited', async () => {
    const r = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.code, 'idp_unavailable');
    const [row] = await ssoAudit(a);
    assert.equal(row?.reason, 'identity provider unavailable');
    assert.match(String(dataOf(row!).error), /502/);
  });
});

describe('single sign-on: an authority restarted while the identity provider is down', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  before(async () => {
    idp = await startTestIdentityProvider({ redirectUris: [BROWSER_REDIRECT] });
  });
  after(async () => {
    await a.dispose();
    await idp.close();
  });

  it('the callback answers 503 (its discovery refused) without using up the flow: the same callback works once the provider is back', async () => {
    const config = ssoConfig(idp.issuer, idp.clientId, idp.clientSecret);
    a = await startTestAuthority(config, { keepData: true });
    const started = await api(a.url, 'ssoStart', { json: { redirectUri: BROWSER_REDIRECT } });
    assert.equal(started.status, 200);
    const callbackUrl = await signInAtProvider(started.body.authorizationUrl, 'ada.sso');
    await idp.stop();
    const dataDir = a.dataDir;
    await a.dispose();
    a = await startTestAuthority(config, { dataDir }); // knows nothing of the provider yet

    const down = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.code, 'idp_unavailable');
    const [row] = (await ssoAudit(a)).slice(-1);
    assert.equal(row?.reason, 'identity provider unavailable');
    assert.equal(dataOf(row!).step, 'callback');

    await idp.resume();
    const ok = await api(a.url, 'ssoCallback', { json: { callbackUrl } });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.staff.role, 'admin');
  });
});
