import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../authority/src/config.ts';
import { isLoopbackRedirect, roleOfGroups, usernameFromClaim } from '../../authority/src/sso/claims.ts';

const MAP = { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor', 'vd-admins': 'admin' } as const;

describe('single sign-on rules', () => {
  it('the highest role of the groups wins; groups that map to nothing give no role', () => {
    assert.equal(roleOfGroups(['vd-agents'], MAP), 'agent');
    assert.equal(roleOfGroups(['vd-agents', 'vd-admins', 'vd-supervisors'], MAP), 'admin');
    assert.equal(roleOfGroups(['marketing'], MAP), undefined);
    assert.equal(roleOfGroups(['toString', '__proto__'], MAP), undefined);
    assert.equal(roleOfGroups([], MAP), undefined);
  });

  it('the username claim: lower-cased, the configured domain stripped, another domain refused', () => {
    assert.equal(usernameFromClaim('Alice.Smith', undefined), 'alice.smith');
    assert.equal(usernameFromClaim('alice@example.com', 'example.com'), 'alice');
    assert.equal(usernameFromClaim('alice@evil.example', 'example.com'), undefined);
    assert.equal(usernameFromClaim('alice@example.com', undefined), undefined, 'not a username');
    assert.equal(usernameFromClaim(42, undefined), undefined);
    assert.equal(usernameFromClaim('a b', undefined), undefined);
  });

  it('loopback redirects (RFC 8252): http on 127.0.0.1 or [::1] with a port, nothing else', () => {
    assert.equal(isLoopbackRedirect('http://127.0.0.1:54321/sso-callback'), true);
    assert.equal(isLoopbackRedirect('http://[::1]:54321/sso-callback'), true);
    assert.equal(isLoopbackRedirect('http://localhost:54321/sso-callback'), false);
    assert.equal(isLoopbackRedirect('http://127.0.0.1/sso-callback'), false);
    assert.equal(isLoopbackRedirect('https://127.0.0.1:1/cb'), false);
    assert.equal(isLoopbackRedirect('http://127.0.0.1:1/cb?x=1'), false);
    assert.equal(isLoopbackRedirect('http://user@127.0.0.1:1/cb'), false);
    assert.equal(isLoopbackRedirect('http://127.0.0.1.evil.example:1/cb'), false);
  });

  it('configuration from the environment: the role map, lists, flags; SSO settings checked together', () => {
    const c = loadConfig([], {
      VD_SSO_ISSUER: 'https://login.example.com/tenant/v2.0',
      VD_SSO_CLIENT_ID: 'desk',
      VD_SSO_ROLE_MAP: 'vd-agents=agent, Desk Supervisors=supervisor',
      VD_SSO_REDIRECT_URIS: 'https://desk.example.com/sso-callback',
      VD_SSO_ENFORCED: 'true',
      VD_SSO_BREAK_GLASS_USERNAMES: 'admin,root.admin',
    });
    assert.deepEqual(c.ssoRoleMap, { 'vd-agents': 'agent', 'Desk Supervisors': 'supervisor' });
    assert.deepEqual(c.ssoRedirectUris, ['https://desk.example.com/sso-callback']);
    assert.equal(c.ssoEnforced, true);
    assert.deepEqual(c.ssoBreakGlassUsernames, ['admin', 'root.admin']);
    assert.equal(c.ssoProvisioning, 'link');
    assert.throws(
      () =>
        loadConfig([], {
          VD_SSO_ISSUER: 'https://idp.example',
          VD_SSO_CLIENT_ID: 'x',
          VD_SSO_ROLE_MAP: 'g=owner',
        }),
      ConfigError,
    );
    assert.throws(
      () => loadConfig([], { VD_SSO_ISSUER: 'https://idp.example', VD_SSO_ROLE_MAP: 'g=agent' }),
      /client id/,
    );
    assert.throws(
      () =>
        loadConfig([], {
          VD_SSO_ISSUER: 'http://idp.example',
          VD_SSO_CLIENT_ID: 'x',
          VD_SSO_ROLE_MAP: 'g=agent',
        }),
      /https/,
    );
    assert.throws(() => loadConfig([], { VD_SSO_ENFORCED: 'true' }), /without an issuer/);
  });
});
