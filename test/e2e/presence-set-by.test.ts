/**
 * Issue 15 (supervisor board): the agent is told who changed their state. Dana is
 * Available in the console; the supervisor puts her on a break through the API the board
 * uses: Dana's presence says "On break: Training" and "Set by Morgan Lee at HH:MM" at once
 * (the agent.state frame); Dana choosing Available herself clears the line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { ensureRendererBuilt, openConsole, rendererDir, signIn } from './console-harness.ts';

describe("the console says who changed the agent's state", () => {
  let a: TestAuthority;
  let mode: BrowserMode;
  let browser: Browser;
  let dataDir: string;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vd-set-by-'));
    [a, browser] = await Promise.all([
      startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }),
      launchChromium(),
      ensureRendererBuilt(),
    ]);
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await a?.dispose();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a supervisor puts Dana on a break: "Set by Morgan Lee"; her own choice clears it', async () => {
    const t = await openConsole(browser, mode, 'presence-set-by');
    try {
      const page = t.page;
      await signIn(page, 'agent1', 'demo-agent-1');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      await page.getByTestId('presence').getByText('Available').waitFor();

      const supervisor = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
      const dana = await staffLogin(a.url, 'agent1', 'demo-agent-1');
      const r = await api(a.url, 'setAgentPresence', {
        params: { staffId: dana.staffId },
        headers: bearer(supervisor.token),
        json: { state: 'break', reasonCode: 'training' },
      });
      if (r.status !== 200) throw new Error(JSON.stringify(r.body));
      await page
        .getByTestId('presence')
        .getByText(/^On break/)
        .waitFor();
      await page
        .getByTestId('presence-set-by')
        .getByText(/^Set by Morgan Lee at \d{2}:\d{2}$/)
        .waitFor();
      await t.screenshot('1-set-by-supervisor');

      await page.getByLabel('Change presence').selectOption('available');
      await page.getByTestId('presence').getByText('Available').waitFor();
      await page.getByTestId('presence-set-by').waitFor({ state: 'detached' });
      await t.screenshot('2-own-choice');
    } finally {
      await t.close();
    }
  });
});
