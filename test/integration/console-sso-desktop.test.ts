/**
 * Single sign-on in the desktop app: the real shell (fake Electron) and DeskCore against
 * a real authority and a real OpenID Provider. The sign-in page opens in the "system
 * browser" (the fake's shell.openExternal, played here by signInAtProvider), which comes
 * back to a one-shot listener on 127.0.0.1 (RFC 8252); logout opens the provider's
 * end_session page the same way.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requestChannel, type BridgeAnswer } from '../../preload/channels.ts';
import { APP_ORIGIN } from '../../main/shell/app-origin.ts';
import { isSignInUrl } from '../../main/shell/external-links.ts';
import { listenForRedirect } from '../../main/core/sso-loopback.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { ipcEventFrom } from '../support/fake-electron.ts';
import {
  signInAtProvider,
  startTestIdentityProvider,
  type TestIdentityProvider,
} from '../support/oidc-provider.ts';
import { startShellHarness, type ShellHarness } from '../support/shell-harness.ts';
import { until } from '../support/wait.ts';

describe('desktop single sign-on: system browser and loopback redirect', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  let h: ShellHarness;
  before(async () => {
    idp = await startTestIdentityProvider({ redirectUris: ['http://127.0.0.1/sso-callback'] });
    a = await startTestAuthority({
      ssoIssuer: idp.issuer,
      ssoName: 'Contoso ID',
      ssoClientId: idp.clientId,
      ssoClientSecret: idp.clientSecret,
      ssoRoleMap: { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor' },
      ssoScopes: 'openid profile email groups',
      ssoProvisioning: 'provision',
    });
    h = await startShellHarness(
      {},
      { defaultAuthorityUrl: a.url, managed: { authorityUrl: a.url, sipUrl: 'wss://127.0.0.1:9/sip' } },
    );
  });
  after(async () => {
    h.dispose();
    await a.dispose();
    await idp.close();
  });

  const invoke = async (channel: Parameters<typeof requestChannel>[0], args: unknown = {}) => {
    const handler = h.fake.state.ipcHandlers.get(requestChannel(channel))!;
    return (await handler(ipcEventFrom(h.contents, `${APP_ORIGIN}/index.html`), args)) as BridgeAnswer;
  };

  it('signs in through the system browser, back on a one-shot 127.0.0.1 listener; logout opens the provider logout', async () => {
    const settings = await invoke('sso.settings');
    assert.deepEqual(settings, { ok: true, result: { enabled: true, name: 'Contoso ID', enforced: false } });
    const answer = invoke('sso.signIn');
    await until('the sign-in page opened in the system browser', () => h.fake.state.openedExternally[0]);
    const page = new URL(h.fake.state.openedExternally[0]!);
    assert.equal(page.origin, idp.issuer);
    const redirect = new URL(page.searchParams.get('redirect_uri')!);
    assert.equal(redirect.hostname, '127.0.0.1');
    assert.equal(redirect.pathname, '/sso-callback');
    assert.notEqual(redirect.port, '');
    // The user signs in at the provider; the browser comes back to the listener.
    const callbackUrl = await signInAtProvider(page.href, 'sue.sso');
    assert.equal(new URL(callbackUrl).origin, redirect.origin);
    const back = await fetch(callbackUrl);
    assert.equal(back.status, 200);
    assert.match(await back.text(), /Return to Verified Desk/);
    const signedIn = await answer;
    assert.equal(signedIn.ok, true, JSON.stringify(signedIn));
    assert.deepEqual((signedIn as { result: { username: string; role: string } }).result.role, 'supervisor');
    // One shot: the listener is gone.
    await assert.rejects(fetch(callbackUrl));
    const current = await invoke('session.current');
    assert.equal((current as { result: { username: string } }).result.username, 'sue.sso');

    const out = await invoke('session.logout');
    assert.deepEqual(
      out,
      { ok: true, result: { ok: true } },
      'the desktop app opened the logout page itself',
    );
    const logout = new URL(h.fake.state.openedExternally[1]!);
    assert.equal(`${logout.origin}${logout.pathname}`, `${idp.issuer}/session/end`);
    assert.ok(logout.searchParams.get('id_token_hint'));
    assert.equal((await invoke('session.current')).ok, true);
    assert.equal(((await invoke('session.current')) as { result: unknown }).result, null);
  });

  it('browser mode channels refuse a callback this console did not start (login CSRF)', async () => {
    const r = await invoke('sso.complete', {
      callbackUrl: `http://127.0.0.1:9/sso-callback?code=attackers-code&state=${'s'.repeat(43)}`,
    });
    assert.equal(r.ok, false);
    assert.equal((r as { error: { code: string } }).error.code, 'sso_not_started');
  });

  it('the shell opens only https or loopback http sign-in pages', () => {
    assert.equal(isSignInUrl('https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize?x=1'), true);
    assert.equal(isSignInUrl('http://127.0.0.1:5556/auth'), true);
    assert.equal(isSignInUrl('http://idp.example/auth'), false);
    assert.equal(isSignInUrl('file:///etc/passwd'), false);
    assert.equal(isSignInUrl('https://user:pw@idp.example/'), false);
    assert.equal(isSignInUrl('ms-msdt:/id'), false);
  });

  it('the loopback listener answers only its callback, once', async () => {
    const l = await listenForRedirect(60_000);
    const base = new URL(l.redirectUri);
    assert.equal((await fetch(`${base.origin}/other`)).status, 404);
    assert.equal(
      (await fetch(`${base.origin}/sso-callback`)).status,
      404,
      'no state, no error: not a callback',
    );
    assert.equal((await fetch(`${l.redirectUri}?error=access_denied&state=x`)).status, 200);
    assert.equal(await l.callback, `${l.redirectUri}?error=access_denied&state=x`);
    l.close();
  });
});
