/**
 * The login's single sign-on in browser mode without a browser: SessionStore over a fake
 * bridge and a fake page address. Going to the provider, coming back at /sso-callback
 * (the code and state leave the address bar), a refusal shown on the login, and logout
 * going to the provider's end_session page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BridgeCallError } from '../../renderer/src/bridge/types.ts';
import { SessionStore, type SsoPage } from '../../renderer/src/state/session.ts';
import { FakeBridge } from '../support/fake-bridge.ts';

const STAFF = {
  staffId: 'stf_0123456789abcdef',
  username: 'sue.sso',
  displayName: 'Sue',
  role: 'supervisor' as const,
};

function fakePage(href: string): SsoPage & { assigned: string[]; replaced: string[] } {
  const u = new URL(href);
  const page = {
    href,
    origin: u.origin,
    pathname: u.pathname,
    assigned: [] as string[],
    replaced: [] as string[],
    assign: (url: string) => void page.assigned.push(url),
    replace: (path: string) => void page.replaced.push(path),
  };
  return page;
}

describe('renderer: single sign-on in browser mode', () => {
  it('the button goes to the provider with this console as the way back', async () => {
    const bridge = new FakeBridge({
      'sso.settings': () => ({ enabled: true, name: 'Contoso ID', enforced: false }),
      'sso.begin': () => ({ authorizationUrl: 'https://idp.example/authorize?state=s' }),
    });
    const page = fakePage('http://127.0.0.1:8790/');
    const s = new SessionStore(bridge, page);
    await s.loadSso();
    assert.deepEqual(s.sso.getState(), { enabled: true, name: 'Contoso ID', enforced: false });
    await s.ssoSignIn();
    assert.deepEqual(bridge.last('sso.begin'), { returnTo: 'http://127.0.0.1:8790/sso-callback' });
    assert.deepEqual(page.assigned, ['https://idp.example/authorize?state=s']);
    assert.equal(s.getState().status, 'signing_in');
  });

  it('back at /sso-callback: the sign-in finishes, the code leaves the address bar; a refusal is shown', async () => {
    const callback = 'http://127.0.0.1:8790/sso-callback?code=c&state=s&iss=https%3A%2F%2Fidp.example';
    const ok = new FakeBridge({ 'sso.complete': () => STAFF });
    const page = fakePage(callback);
    const s = new SessionStore(ok, page);
    await s.restore();
    assert.deepEqual(ok.last('sso.complete'), { callbackUrl: callback });
    assert.deepEqual(page.replaced, ['/']);
    assert.deepEqual(s.getState(), { status: 'signed_in', staff: STAFF });
    assert.equal(ok.count('session.current'), 0);

    const refused = new FakeBridge({
      'sso.complete': () => {
        throw new BridgeCallError(
          'forbidden',
          'your groups at the identity provider give no role in Verified Desk: ask IT',
        );
      },
    });
    const s2 = new SessionStore(refused, fakePage(callback));
    await s2.restore();
    assert.deepEqual(s2.getState(), {
      status: 'signed_out',
      error: 'your groups at the identity provider give no role in Verified Desk: ask IT',
    });
  });

  it('a provider that cannot be reached is said plainly, with the way around it (not "Single sign-on failed")', async () => {
    const callback = 'http://127.0.0.1:8790/sso-callback?code=c&state=s&iss=https%3A%2F%2Fidp.example';
    const down = new FakeBridge({
      'sso.complete': () => {
        throw new BridgeCallError(
          'idp_unavailable',
          'Contoso ID cannot be reached now: try again in a moment, or sign in with your password',
        );
      },
    });
    const s = new SessionStore(down, fakePage(callback));
    await s.restore();
    assert.deepEqual(s.getState(), {
      status: 'signed_out',
      error: 'Contoso ID cannot be reached now: try again in a moment, or sign in with your password.',
    });
  });

  it('logout after a single sign-on goes to the provider logout page', async () => {
    const bridge = new FakeBridge({
      'session.current': () => STAFF,
      'session.logout': () => ({ ok: true, endSessionUrl: 'https://idp.example/logout?id_token_hint=x' }),
    });
    const page = fakePage('http://127.0.0.1:8790/');
    const s = new SessionStore(bridge, page);
    await s.restore();
    await s.logout();
    assert.equal(s.getState().status, 'signed_out');
    assert.deepEqual(page.assigned, ['https://idp.example/logout?id_token_hint=x']);
  });
});
