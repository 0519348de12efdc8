/**
 * Single sign-on in Chromium (browser mode): the console's "Sign in with Contoso ID" goes
 * to a real OpenID Provider (oidc-provider on loopback), the user signs in on its login
 * page, the provider sends the page back to the console's /sso-callback, and the console
 * is signed in with the role of the user's groups (supervisor: the board). Sign out goes
 * to the provider's logout page (RP-initiated logout) and back to the console's login.
 * Screenshots: test/e2e/screenshots/sso-*.png.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium } from '../support/browser.ts';
import { startTestIdentityProvider, type TestIdentityProvider } from '../support/oidc-provider.ts';
import { assertNamedControls, ensureRendererBuilt, openConsole, rendererDir } from './console-harness.ts';
import { freeTcpPort } from '../support/ports.ts';

describe('console single sign-on in Chromium (browser mode)', () => {
  let idp: TestIdentityProvider;
  let a: TestAuthority;
  let browser: Browser;
  let mode: BrowserMode;
  let dataDir: string;

  before(async () => {
    await ensureRendererBuilt();
    const port = await freeTcpPort();
    const consoleOrigin = `http://127.0.0.1:${port}`;
    idp = await startTestIdentityProvider({
      redirectUris: ['http://127.0.0.1/sso-callback'],
      postLogoutRedirectUris: [`${consoleOrigin}/`],
    });
    a = await startTestAuthority({
      ssoIssuer: idp.issuer,
      ssoName: 'Contoso ID',
      ssoClientId: idp.clientId,
      ssoClientSecret: idp.clientSecret,
      ssoRoleMap: { 'vd-agents': 'agent', 'vd-supervisors': 'supervisor', 'vd-admins': 'admin' },
      ssoScopes: 'openid profile email groups',
      ssoProvisioning: 'provision',
      ssoPostLogoutRedirectUri: `${consoleOrigin}/`,
      agentTimeoutSeconds: 3600,
    });
    dataDir = mkdtempSync(join(tmpdir(), 'vd-console-sso-'));
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir, port });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await a?.dispose();
    await idp?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs in at the provider and comes back signed in with the role of the groups; sign out ends the provider session', async () => {
    const t = await openConsole(browser, mode, 'sso');
    const { page } = t;
    try {
      const ssoButton = page.getByRole('button', { name: 'Sign in with Contoso ID' });
      await ssoButton.waitFor();
      await assertNamedControls(page, 'the login screen with single sign-on');
      await t.screenshot('1-login-with-sso');

      await ssoButton.click();
      // The provider's own login page.
      await page.waitForURL((u) => u.origin === idp.issuer);
      await page.locator('input[name="login"]').waitFor();
      await t.screenshot('2-provider-login');
      await page.locator('input[name="login"]').fill('sue.sso');
      await page.locator('input[name="password"]').fill('correct horse battery staple');
      await page.locator('button[type="submit"]').first().click();
      // Consent for the console's scopes (first sign-in of this user).
      await page.getByRole('button', { name: 'Continue' }).waitFor();
      await t.screenshot('3-provider-consent');
      await page.getByRole('button', { name: 'Continue' }).click();

      // Back at the console: signed in, the code and state gone from the address bar.
      await page.waitForURL((u) => u.origin === new URL(mode.url).origin);
      await page.getByRole('button', { name: 'Sign out' }).waitFor({ timeout: 15_000 });
      assert.equal(new URL(page.url()).pathname, '/');
      assert.equal(new URL(page.url()).search, '');
      await page.getByText('Sue Supervisor').first().waitFor();
      // Supervisor by the groups claim: the board is there.
      await page
        .getByRole('navigation', { name: 'Screens' })
        .getByRole('button', { name: 'Board' })
        .waitFor();
      await t.screenshot('4-signed-in-as-supervisor');
      const [audit] = await a.sql<{
        outcome: string;
        data: unknown;
      }>`SELECT outcome, data FROM audit_log WHERE action = 'staff.sso' ORDER BY seq DESC`;
      assert.equal(audit?.outcome, 'success');

      // Sign out: the provider asks to end its session too, then sends the page back to the console.
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((u) => u.origin === idp.issuer);
      await page.getByRole('button', { name: 'Yes, sign me out' }).waitFor();
      await t.screenshot('5-provider-logout');
      await page.getByRole('button', { name: 'Yes, sign me out' }).click();
      await page.waitForURL((u) => u.origin === new URL(mode.url).origin);
      await page.getByRole('button', { name: 'Sign in with Contoso ID' }).waitFor();
      await t.screenshot('6-signed-out');
      const [refresh] = await a.sql<{
        n: number;
      }>`SELECT count(*) AS n FROM refresh_tokens WHERE revoked_at IS NULL`;
      assert.equal(Number(refresh?.n), 0, 'the console session ended on our side');
    } catch (e) {
      await t.screenshot('failed');
      throw e;
    } finally {
      await t.close();
    }
  });
});
