/**
 * The agent console in browser mode for e2e tests: the renderer built when its
 * sources changed, a console page at 1280x800 with the microphone allowed, sign-in,
 * and the page-level checks every console test makes (no Node in the page, every
 * control named).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { build } from 'vite';
import type { BrowserMode } from '../../main/core/browser-mode.ts';
import { newTestPage, type TestPage } from '../support/browser.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const rendererDir = join(root, 'renderer/dist');
export const VIEWPORT = { width: 1280, height: 800 };

/** Newest modification time under these paths (files and folders, recursively). */
function newest(paths: string[]): number {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const s = statSync(p);
    t = Math.max(t, s.mtimeMs);
    if (s.isDirectory()) t = Math.max(t, newest(readdirSync(p).map((e) => join(p, e))));
  }
  return t;
}

/** `vite build` of renderer/ when renderer/dist is missing or older than its sources. */
export async function ensureRendererBuilt(): Promise<void> {
  const index = join(rendererDir, 'index.html');
  const sources = newest(
    ['renderer/src', 'renderer/index.html', 'renderer/vite.config.ts', 'protocol/src', 'browser-common'].map(
      (p) => join(root, p),
    ),
  );
  if (existsSync(index) && statSync(index).mtimeMs >= sources) return;
  await build({ configFile: join(root, 'renderer/vite.config.ts'), logLevel: 'warn' });
}

export async function assertNoNodeInPage(page: Page): Promise<void> {
  assert.deepEqual(
    await page.evaluate(() => [typeof (globalThis as any).require, typeof (globalThis as any).process]),
    ['undefined', 'undefined'],
    'the page has no Node: typeof require and typeof process are "undefined"',
  );
}

/** Every button, select, input and textarea on the page has an accessible name. */
export async function assertNamedControls(page: Page, where: string): Promise<void> {
  const unnamed = await page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>(
      'button, select, input, textarea, [role="button"]',
    )) {
      const labelled = el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      const viaLabel = (el as HTMLInputElement).labels?.length;
      const text = el.tagName === 'BUTTON' ? el.textContent?.trim() : '';
      if (!labelled && !viaLabel && !text) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  assert.deepEqual(unnamed, [], `controls without an accessible name on ${where}`);
}

export async function openConsole(browser: Browser, mode: BrowserMode, name: string): Promise<TestPage> {
  const t = await newTestPage(browser, name, {
    viewport: VIEWPORT,
    permissions: ['microphone'],
    locale: 'en-GB',
  });
  await t.page.goto(mode.launchUrl);
  return t;
}

export async function signIn(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
