/**
 * WebAuthn end to end in Chromium (docs/reliability.md row 5 in a real browser): Chromium's
 * virtual platform authenticator over CDP registers a biometric and asserts it against a
 * real authority. With user verification the assertion is a biometric (level 3); with
 * the "fingerprint" failing (setUserVerified(false)) no biometric factor is ever added.
 *
 * The page is served on http://localhost:PORT (Chromium refuses 127.0.0.1 as an RP ID);
 * the authority runs with rpId 'localhost' and that origin. The Node side makes the
 * device-authenticated HTTP calls; the page runs @simplewebauthn/browser.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from '@simplewebauthn/server';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import {
  addVirtualAuthenticator,
  launchChromium,
  newTestPage,
  type TestPage,
  type VirtualAuthenticator,
} from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { FLAG } from '../support/webauthn-authenticator.ts';
import { startFixtureServer, type FixtureServer } from './fixtures/fixture-server.ts';
import type { CeremonyOutcome, FixtureWindow } from './fixtures/webauthn-page.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** The flags byte of a response's authenticatorData (byte 32). */
const flagsOf = (r: AuthenticationResponseJSON): number =>
  Buffer.from(r.response.authenticatorData, 'base64url')[32]!;

describe('WebAuthn in Chromium with the virtual authenticator (real authority)', () => {
  let web: FixtureServer;
  let a: TestAuthority;
  let browser: Browser;

  before(async () => {
    web = await startFixtureServer({
      html: { '/': fixture('webauthn-page.html') },
      scripts: { '/webauthn-page.js': fixture('webauthn-page.ts') },
    });
    a = await startTestAuthority({ rpId: 'localhost', origins: [web.origin] });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await a?.dispose();
    await web?.close();
  });

  /** A fresh context on the fixture page with a virtual platform authenticator (UV on). */
  async function openPage(name: string): Promise<{ t: TestPage; authr: VirtualAuthenticator }> {
    const t = await newTestPage(browser, name);
    await t.page.goto(`${web.origin}/`);
    await t.page.locator('#status').getByText('Ready').waitFor();
    assert.equal(await t.page.evaluate(() => window.location.origin), web.origin);
    const authr = await addVirtualAuthenticator(t, {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
    });
    return { t, authr };
  }

  /** Register a biometric for `device` through the page; returns the credential id. */
  async function registerInPage(
    t: TestPage,
    authr: VirtualAuthenticator,
    device: TestDevice,
  ): Promise<string> {
    const options = await device.api('webauthnRegistrationOptions');
    assert.equal(options.status, 200, JSON.stringify(options.body));
    assert.equal(options.body.authenticatorSelection.userVerification, 'required');
    const out = await t.page.evaluate(
      (o) => (window as unknown as FixtureWindow).vd.register(o),
      options.body,
    );
    assert.ok(out.ok, `registration ceremony failed in the page: ${JSON.stringify(out)}`);
    const r = await device.api('webauthnRegister', { json: { response: out.response } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await t.page.evaluate(
      (id) =>
        (window as unknown as FixtureWindow).vd.show(
          `Authority: fingerprint registered (${id.slice(0, 12)}...)`,
          'ok',
        ),
      r.body.credentialId as string,
    );
    const held = await authr.credentials();
    assert.deepEqual(
      held.map((c) => c.credentialId),
      [r.body.credentialId],
      'the authority stored the credential the virtual authenticator made',
    );
    assert.equal(held[0]!.rpId, 'localhost');
    return r.body.credentialId;
  }

  async function authentication(device: TestDevice): Promise<{ level: number; factors: { kind: string }[] }> {
    const me = await device.api('deviceMe');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    return me.body.authentication;
  }

  it('registers a biometric and an assertion with user verification steps up to level 3 (biometric)', async () => {
    const { t, authr } = await openPage('webauthn-uv');
    try {
      const device = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
      const credentialId = await registerInPage(t, authr, device);
      await t.screenshot('1-registered');

      const options = await device.api('webauthnAssertionOptions');
      assert.equal(options.status, 200, JSON.stringify(options.body));
      assert.equal(options.body.userVerification, 'required');
      const out = await t.page.evaluate(
        (o) => (window as unknown as FixtureWindow).vd.authenticate(o),
        options.body as PublicKeyCredentialRequestOptionsJSON,
      );
      assert.ok(out.ok, `assertion ceremony failed in the page: ${JSON.stringify(out)}`);
      assert.equal(out.response.id, credentialId);
      assert.ok(flagsOf(out.response) & FLAG.UV, 'Chromium reported user verification');
      const r = await device.api('webauthnFactor', { json: { response: out.response } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.level, 3);
      assert.deepEqual(
        r.body.factors.map((f: any) => f.kind),
        ['device', 'biometric'],
      );
      await t.page.evaluate(
        (lvl) =>
          (window as unknown as FixtureWindow).vd.show(
            `Authority: verified with fingerprint, level ${lvl}`,
            'ok',
          ),
        r.body.level as number,
      );
      await t.screenshot('2-asserted-level-3');
      const [stored] = await a.sql<{ counter: number }>`
        SELECT counter FROM webauthn_credentials WHERE id = ${credentialId}`;
      assert.equal(
        stored?.counter,
        Buffer.from(out.response.response.authenticatorData, 'base64url').readUInt32BE(33),
        'the authority moved its counter to the asserted one',
      );
      assert.equal(
        (await authr.credentials())[0]!.signCount,
        stored.counter,
        "and that is the virtual authenticator's count",
      );
      console.log(`Chromium assertion with UV: accepted as biometric, level ${r.body.level}`);
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });

  it('with the fingerprint failing (setUserVerified(false)) no biometric factor is added: refused in the browser and, without UV, at the authority', async () => {
    const { t, authr } = await openPage('webauthn-no-uv');
    try {
      const device = await new TestDevice(a.url).enrolAndAuthenticate('BOB-DEMO-2026');
      await registerInPage(t, authr, device);
      await authr.setUserVerified(false);

      // 1. The authority's own options (userVerification 'required'): the ceremony cannot
      //    succeed without UV. Either Chromium refuses it (what the user sees), or an
      //    answer reaches the authority and is refused there.
      const options = await device.api('webauthnAssertionOptions');
      assert.equal(options.status, 200);
      const required: CeremonyOutcome<AuthenticationResponseJSON> = await t.page.evaluate(
        (o) => (window as unknown as FixtureWindow).vd.authenticate(o),
        options.body as PublicKeyCredentialRequestOptionsJSON,
      );
      let requiredOutcome: string;
      if (required.ok) {
        const r = await device.api('webauthnFactor', { json: { response: required.response } });
        assert.equal(r.status, 401, `an assertion made without UV was accepted: ${JSON.stringify(r.body)}`);
        requiredOutcome = `reached the authority with flags 0x${flagsOf(required.response).toString(16)}, refused ${r.status}`;
      } else {
        assert.equal(required.name, 'NotAllowedError', JSON.stringify(required));
        await expectRefusalShown(t);
        requiredOutcome = `refused by Chromium (${required.name})`;
      }
      await t.screenshot('1-required-uv-refused');
      assert.equal((await authentication(device)).level, 1);

      // 2. An assertion without UV that does reach the authority: the page asks for
      //    userVerification 'discouraged' over a genuine server challenge.
      const fresh = await device.api('webauthnAssertionOptions');
      assert.equal(fresh.status, 200);
      const discouraged = {
        ...(fresh.body as PublicKeyCredentialRequestOptionsJSON),
        userVerification: 'discouraged' as const,
      };
      const noUv = await t.page.evaluate(
        (o) => (window as unknown as FixtureWindow).vd.authenticate(o),
        discouraged,
      );
      assert.ok(noUv.ok, `the discouraged-UV ceremony failed in the page: ${JSON.stringify(noUv)}`);
      const flags = flagsOf(noUv.response);
      assert.equal(flags & FLAG.UV, 0, 'the assertion carries UV=0');
      assert.ok(flags & FLAG.UP, 'the user was present');
      const refused = await device.api('webauthnFactor', { json: { response: noUv.response } });
      assert.equal(refused.status, 401, JSON.stringify(refused.body));
      assert.match(refused.body.message, /user verification|could not be verified/i);
      await t.page.evaluate(
        (m) => (window as unknown as FixtureWindow).vd.show(`Authority refused: ${m}`, 'refused'),
        refused.body.message as string,
      );
      await expectRefusalShown(t);
      await t.screenshot('2-no-uv-refused-by-authority');

      const auth = await authentication(device);
      assert.equal(auth.level, 1);
      assert.ok(!auth.factors.some((f) => f.kind === 'biometric'), 'no biometric factor');
      console.log(
        `Chromium without UV: required-UV ceremony ${requiredOutcome}; UV=0 assertion refused ${refused.status}; level ${auth.level}`,
      );

      // Control: the same credential with the fingerprint matching again is accepted,
      // so the refusals above were about user verification alone.
      await authr.setUserVerified(true);
      const again = await device.api('webauthnAssertionOptions');
      const ok = await t.page.evaluate(
        (o) => (window as unknown as FixtureWindow).vd.authenticate(o),
        again.body as PublicKeyCredentialRequestOptionsJSON,
      );
      assert.ok(ok.ok, JSON.stringify(ok));
      const accepted = await device.api('webauthnFactor', { json: { response: ok.response } });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      assert.equal(accepted.body.level, 3);
      await t.page.evaluate(() =>
        (window as unknown as FixtureWindow).vd.show('Authority: verified with fingerprint, level 3', 'ok'),
      );
      await t.screenshot('3-uv-restored-level-3');
      assert.deepEqual(
        t.consoleErrors.filter((e) => !/NotAllowedError|not allowed/i.test(e)),
        [],
      );
    } finally {
      await t.close();
    }
  });
});

async function expectRefusalShown(t: TestPage): Promise<void> {
  const status = t.page.locator('#status');
  await status.and(t.page.locator('.refused')).waitFor();
  assert.match((await status.textContent()) ?? '', /refused/i);
}
