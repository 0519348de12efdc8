/**
 * Shared pieces of the customer-app e2e tests: the app built from the current
 * sources into a temp dir, a real authority that serves it at
 * http://localhost:PORT/app/ (the WebAuthn origin), a phone-sized page with a
 * virtual authenticator, enrolment through the UI, and agents driven over the API.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import type { Clock } from '../../authority/src/clock.ts';
import type { ConfigInput } from '../../authority/src/config.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { startTestAuthority, type StartOptions, type TestAuthority } from '../support/authority.ts';
import {
  addVirtualAuthenticator,
  newTestPage,
  type TestPage,
  type VirtualAuthenticator,
} from '../support/browser.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { freeTcpPort } from '../support/ports.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

let built: Promise<string> | null = null;

/** `vite build` of customer/ into a fresh temp dir (once per test process), so tests run today's sources. */
export function buildCustomerApp(): Promise<string> {
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'vd-customer-app-'));
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    await build({
      configFile: join(root, 'customer/vite.config.ts'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, sourcemap: false },
    });
    return outDir;
  })();
  return built;
}

export interface AppAuthority {
  a: TestAuthority;
  /** http://localhost:PORT: the page origin, the WebAuthn origin and the API origin. */
  origin: string;
  appUrl: string;
  admin: string;
}

/** A real authority on a free port that serves the freshly built app; WebAuthn bound to http://localhost:PORT. */
export async function startAppAuthority(
  overrides: Partial<ConfigInput> = {},
  clock?: Clock,
  store: Pick<StartOptions, 'engine' | 'shareDatabaseOf'> = {},
): Promise<AppAuthority> {
  const customerAppDir = await buildCustomerApp();
  for (let attempt = 0; ; attempt++) {
    const port = await freeTcpPort();
    const origin = `http://localhost:${port}`;
    try {
      const a = await startTestAuthority(
        {
          port,
          rpId: 'localhost',
          origins: [origin],
          customerAppDir,
          accessTokenSeconds: 3600,
          agentTimeoutSeconds: 3600,
          wrapUpSeconds: 0,
          ...overrides,
        },
        { ...store, ...(clock ? { clock } : {}) },
      );
      const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
      return { a, origin, appUrl: `${origin}/app/`, admin };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 3) throw e;
    }
  }
}

/** A fresh one-time enrolment code for a demo customer (admin API). */
export async function enrolmentCode(app: AppAuthority, customerId: string): Promise<string> {
  const r = await api(app.a.url, 'issueEnrolmentCode', {
    params: { customerId },
    headers: bearer(app.admin),
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.code;
}

export const PHONE = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

export interface Phone {
  t: TestPage;
  page: Page;
  authenticator: VirtualAuthenticator;
}

/** A phone: 390x844 touch viewport, camera and microphone allowed (fake devices), a virtual platform authenticator. */
export async function openPhone(browser: Browser, app: AppAuthority, name: string): Promise<Phone> {
  const t = await newTestPage(browser, name, {
    ...PHONE,
    permissions: ['camera', 'microphone'],
    locale: 'en-GB',
  });
  const authenticator = await addVirtualAuthenticator(t);
  await t.page.goto(app.appUrl);
  return { t, page: t.page, authenticator };
}

/** Enrol through the UI: code, PIN (then verified with it), fingerprint, photo; ends on the home screen. */
export async function enrolThroughApp(
  phone: Phone,
  code: string,
  pin: string,
  shots: ((step: string) => Promise<unknown>) | null = null,
): Promise<void> {
  const { page } = phone;
  await page.getByRole('heading', { name: 'Set up verified help' }).waitFor();
  await page.getByLabel('Enrolment code').fill(code);
  await shots?.('1-enrol-code');
  await page.getByRole('button', { name: 'Continue' }).click();

  await page.getByRole('heading', { name: 'Choose a PIN' }).waitFor();
  await page.getByLabel('New PIN').fill(pin);
  await page.getByLabel('Repeat PIN').fill(pin);
  await shots?.('2-enrol-pin');
  await page.getByRole('button', { name: 'Save PIN' }).click();

  await page.getByRole('heading', { name: 'Add your fingerprint' }).waitFor();
  await shots?.('3-enrol-fingerprint');
  await page.getByRole('button', { name: 'Add fingerprint' }).click();

  await page.getByRole('heading', { name: 'Add a photo of yourself' }).waitFor();
  await page.getByRole('button', { name: 'Start camera' }).click();
  await page.getByRole('button', { name: 'Take photo' }).click();
  await page.getByRole('img', { name: 'Your photo' }).waitFor();
  await shots?.('4-enrol-photo');
  await page.getByRole('button', { name: 'Use this photo' }).click();
  await page.getByRole('button', { name: 'Get help' }).waitFor();
}

/** An agent logged in over the API. */
export async function agent(app: AppAuthority, username: string, password: string) {
  const s = await staffLogin(app.a.url, username, password);
  const h = bearer(s.token);
  const staffApi = <K extends RouteId>(name: K, opts?: ApiOptions<K>) => apiWith(app.a.url, h, name, opts);
  return {
    ...s,
    api: staffApi,
    async available() {
      const r = await staffApi('setPresence', { json: { state: 'available' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
    async me() {
      return (await staffApi('agentMe')).body;
    },
    /** Accept the current offer (it must be for `requestId`); returns the fence. */
    async acceptOffer(requestId: string): Promise<number> {
      const me = (await staffApi('agentMe')).body;
      assert.equal(me.offer?.requestId, requestId, JSON.stringify(me));
      const fence = me.offer.fence as number;
      const r = await staffApi('acceptOffer', { params: { requestId }, json: { fence } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return fence;
    },
    async callTicket(requestId: string, fence: number): Promise<string> {
      const r = await staffApi('callTicket', { params: { requestId }, json: { fence } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.ticket;
    },
  };
}

/** Deliver an incoming call's ticket through the app's automation entry point (the sip.js delegate's path). */
export function deliverCall(page: Page, ticket: string | null) {
  return page.evaluate(
    (t) =>
      (
        window as unknown as {
          __vdTest: {
            incomingCall(t: string | null): Promise<{ verdict: string; reason?: string; at?: string }>;
          };
        }
      ).__vdTest.incomingCall(t),
    ticket,
  );
}

const CONTROL_ROLES = new Set([
  'button',
  'textbox',
  'link',
  'checkbox',
  'radio',
  'combobox',
  'tab',
  'switch',
  'slider',
]);

/** Every interactive control on the page has an accessible name (Chromium's own accessibility tree). */
export async function assertNamedControls(t: TestPage, where: string): Promise<void> {
  const cdp = await t.cdp();
  const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as {
    nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[];
  };
  assert.ok(
    nodes.some((n) => n.role?.value === 'button'),
    `${where}: the accessibility tree has no button at all`,
  );
  const unnamed = nodes.filter(
    (n) => !n.ignored && CONTROL_ROLES.has(n.role?.value ?? '') && !(n.name?.value ?? '').trim(),
  );
  assert.deepEqual(
    unnamed.map((n) => n.role?.value),
    [],
    `${where}: controls without an accessible name`,
  );
}
