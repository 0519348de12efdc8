/**
 * Chromium for e2e tests: Debian's /usr/bin/chromium driven by playwright-core, headless,
 * with the flags below. One browser per test file, a fresh context (own
 * cookies, storage, permissions, CDP state) per test, console errors collected, and
 * screenshots saved under test/e2e/screenshots/.
 *
 *   const browser = await launchChromium();            // before()
 *   const t = await newTestPage(browser, 'my-test');    // in each test
 *   await t.page.goto(url); await t.screenshot('after-login');
 *   assert.deepEqual(t.consoleErrors, []);
 *   await t.close();                                    // in the test's finally / afterEach
 *   await browser.close();                              // after()
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type CDPSession,
  type ConsoleMessage,
  type Page,
  type Request,
} from 'playwright-core';

export const CHROMIUM_PATH = process.env.VD_CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Measured on the test machines: as root Chromium needs --no-sandbox; without the
 * background-networking/component-update/sync flags it keeps opening connections the
 * closed network refuses; fake media devices stand in for camera and microphone.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
];

export const SCREENSHOT_DIR = fileURLToPath(new URL('../e2e/screenshots/', import.meta.url));

export interface LaunchOptions {
  /** Added after CHROMIUM_ARGS, e.g. '--allow-loopback-in-peer-connection' or '--use-file-for-fake-audio-capture=tone.wav'. */
  extraArgs?: string[];
  /** Default true; set VD_HEADED=1 (under xvfb-run) to watch. */
  headless?: boolean;
}

/** Launch Debian's Chromium; throws a clear message when it is not installed. */
export async function launchChromium(opts: LaunchOptions = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(
      `Chromium not found at ${CHROMIUM_PATH}: apt-get install -y chromium (or set VD_CHROMIUM_PATH)`,
    );
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: opts.headless ?? process.env.VD_HEADED !== '1',
    args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
  });
}

const safeName = (s: string) =>
  s
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 100) || 'shot';

/** Save a full-page PNG under test/e2e/screenshots/<prefix>-<name>.png and return its path. */
export async function saveScreenshot(page: Page, name: string, prefix = ''): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = `${SCREENSHOT_DIR}${safeName(prefix ? `${prefix}-${name}` : name)}.png`;
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Collect what would show as red in DevTools: console.error messages, uncaught page
 * errors and failed requests. The arrays fill as events arrive.
 */
export function collectConsoleErrors(page: Page): { errors: string[]; stop(): void } {
  const errors: string[] = [];
  const onConsole = (m: ConsoleMessage) => {
    if (m.type() === 'error')
      errors.push(`console.error: ${m.text()}${m.location().url ? ` (${m.location().url})` : ''}`);
  };
  const onPageError = (e: Error) => errors.push(`pageerror: ${e.message}`);
  const onRequestFailed = (r: Request) =>
    errors.push(`requestfailed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
  page.on('console', onConsole);
  page.on('pageerror', onPageError);
  page.on('requestfailed', onRequestFailed);
  return {
    errors,
    stop() {
      page.off('console', onConsole);
      page.off('pageerror', onPageError);
      page.off('requestfailed', onRequestFailed);
    },
  };
}

export interface TestPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests seen so far on this page. */
  consoleErrors: string[];
  /** Screenshot named `<test name>-<step>`. */
  screenshot(step: string): Promise<string>;
  /** A CDP session to this page (for WebAuthn, Network emulation, ...). */
  cdp(): Promise<CDPSession>;
  close(): Promise<void>;
}

/** A fresh, isolated browser context with one page, for one test. */
export async function newTestPage(
  browser: Browser,
  testName: string,
  options: BrowserContextOptions = {},
): Promise<TestPage> {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const collector = collectConsoleErrors(page);
  let session: CDPSession | undefined;
  return {
    context,
    page,
    consoleErrors: collector.errors,
    screenshot: (step) => saveScreenshot(page, step, testName),
    async cdp() {
      session ??= await context.newCDPSession(page);
      return session;
    },
    async close() {
      collector.stop();
      await context.close();
    },
  };
}

export interface VirtualAuthenticatorOptions {
  protocol?: 'ctap2' | 'u2f';
  transport?: 'internal' | 'usb' | 'nfc' | 'ble' | 'cable';
  hasResidentKey?: boolean;
  hasUserVerification?: boolean;
  isUserVerified?: boolean;
}

export interface VirtualAuthenticator {
  authenticatorId: string;
  /** Whether the next ceremonies pass user verification (a matching "fingerprint"). */
  setUserVerified(isUserVerified: boolean): Promise<void>;
  /** The credentials the authenticator holds (id base64url, signCount). */
  credentials(): Promise<{ credentialId: string; signCount: number; rpId?: string }[]>;
  remove(): Promise<void>;
}

/**
 * Chromium's virtual WebAuthn authenticator over CDP (a platform authenticator with
 * user verification by default). It lives as long as the page's CDP session.
 */
export async function addVirtualAuthenticator(
  t: Pick<TestPage, 'cdp'>,
  opts: VirtualAuthenticatorOptions = {},
): Promise<VirtualAuthenticator> {
  const cdp = await t.cdp();
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: opts.protocol ?? 'ctap2',
      transport: opts.transport ?? 'internal',
      hasResidentKey: opts.hasResidentKey ?? true,
      hasUserVerification: opts.hasUserVerification ?? true,
      isUserVerified: opts.isUserVerified ?? true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    authenticatorId,
    async setUserVerified(isUserVerified) {
      await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified });
    },
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      // CDP gives the id as standard base64; WebAuthn JSON uses base64url.
      return credentials.map((c) => ({
        credentialId: Buffer.from(c.credentialId, 'base64').toString('base64url'),
        signCount: c.signCount,
        ...(c.rpId !== undefined ? { rpId: c.rpId } : {}),
      }));
    },
    async remove() {
      await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
    },
  };
}
