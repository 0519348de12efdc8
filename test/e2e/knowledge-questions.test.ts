/**
 * Security questions in the agent console (Chromium, browser mode, real authority): a
 * caller whose device only reached level 1 is verified by the agent asking the customer's
 * questions. The panel lists the prompts (the answers never reach the page), the agent
 * types what the caller says (scripted typing), a wrong answer counts towards the lockout,
 * the right ones raise the level to 2 and the balance unlocks live. The agent time the
 * console measured is printed (the cost the device path saves).
 * Screenshots: test/e2e/screenshots/knowledge-*.png.
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
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import {
  assertNamedControls,
  ensureRendererBuilt,
  openConsole,
  rendererDir,
  signIn,
} from './console-harness.ts';

describe('security questions in the console', () => {
  let a: TestAuthority;
  let browser: Browser;
  let mode: BrowserMode;
  let dataDir: string;

  before(async () => {
    await ensureRendererBuilt();
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 120,
    });
    browser = await launchChromium();
    dataDir = mkdtempSync(join(tmpdir(), 'vd-knowledge-e2e-'));
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await a?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('the agent asks, types what the caller says, a wrong answer counts, the right ones give level 2 live', async () => {
    const t = await openConsole(browser, mode, 'knowledge');
    const { page } = t;
    try {
      await signIn(page, 'agent1', 'demo-agent-1');
      await page.getByTestId('presence').waitFor();

      // Alice's device key alone (level 1) asks for "Something else" (level 1).
      const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_alice_martin_01' },
        headers: bearer(admin),
      });
      const alice = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
      assert.equal((await alice.authenticate()).status, 201);
      const created = await alice.api('createRequest', { json: { optionId: 'other' } });
      assert.equal(created.body.status, 'queued', JSON.stringify(created.body));

      await page.getByLabel('Change presence').selectOption('available');
      await page.getByRole('heading', { name: 'Alice Martin', exact: true }).waitFor();
      const section = page.getByRole('group', { name: 'Security questions' });
      await section.getByText('Accept the request to ask the questions.').waitFor();
      await page.keyboard.press('Control+Enter');
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await page
        .getByTestId('level-line')
        .getByText(/^Level 1/)
        .waitFor();
      const balance = page.locator('[data-field="balance"]');
      assert.equal(await balance.getAttribute('data-locked'), 'true');

      await section.getByRole('button', { name: 'Ask security questions' }).click();
      const school = section.getByLabel('Name of your first school?');
      const city = section.getByLabel('City where you opened the account?');
      await school.waitFor();
      await assertNamedControls(page, 'knowledge questions');
      const html = await page.content();
      for (const answer of ['Riverside Primary', 'Leeds'])
        assert.ok(!html.includes(answer), 'an answer never reaches the page');
      await t.screenshot('1-questions');

      // Scripted typing at a caller's pace: a wrong city first.
      const typed = Date.now();
      await school.pressSequentially('riverside primary', { delay: 40 });
      await city.pressSequentially('York', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      await section
        .getByTestId('knowledge-result')
        .getByText('Not every answer was right (1 of 5 wrong checks before the questions lock).')
        .waitFor();
      assert.equal(await school.inputValue(), '', 'what was typed is not kept');
      await t.screenshot('2-wrong-answer');

      await school.pressSequentially('Riverside Primary', { delay: 40 });
      await city.pressSequentially('leeds', { delay: 40 });
      await section.getByRole('button', { name: 'Check answers' }).click();
      const result = section.getByTestId('knowledge-result');
      await result.getByText('Answers right: verified to level 2.').waitFor();
      const wall = (Date.now() - typed) / 1000;
      await page
        .getByTestId('level-line')
        .getByText(/^Level 2/)
        .waitFor();
      await page
        .getByRole('list', { name: 'Verification factors' })
        .getByRole('listitem')
        .filter({ hasText: 'Knowledge questions' })
        .waitFor();
      await balance.getByText('£18,250.42').waitFor();
      assert.equal(await balance.getAttribute('data-locked'), 'false');
      const agentSeconds = Number(/Agent time ([\d.]+) s/.exec((await result.textContent()) ?? '')?.[1]);
      assert.ok(agentSeconds > 0, 'the agent time is shown');
      await t.screenshot('3-verified-by-questions');

      const audit = await a.sql<{ outcome: string; reason: string }>`
        SELECT outcome, reason FROM audit_log WHERE action = 'auth.knowledge' ORDER BY seq`;
      assert.deepEqual(
        audit.map((r) => r.outcome),
        ['failure', 'success'],
      );
      for (const r of audit) assert.match(r.reason, /agent time [\d.]+ s/);
      console.log(
        `# agent time verifying by knowledge questions (scripted typing, two checks): ${agentSeconds.toFixed(1)} s measured by the console (${wall.toFixed(1)} s wall clock); by the device link: 0 s of agent time`,
      );
    } finally {
      await t.close();
    }
  });
});
