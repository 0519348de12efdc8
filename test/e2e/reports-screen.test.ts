/**
 * The supervisor's Reports screen and the CRM screen pop, in Chromium (browser mode)
 * against a real authority: a few days of calls made through the API (the authority's
 * clock shifted into the past), then an agent accepts a verified customer in the console
 * and the queue's CRM record opens in a new tab; the supervisor opens Reports, sees the
 * figures and the chart, sorts a table and downloads its CSV.
 * Screenshots: test/e2e/screenshots/reports-*.png (1280x800).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

const DAY = 86_400_000;

describe('Reports screen and CRM screen pop in the console (browser mode)', () => {
  let a: TestAuthority;
  let browser: Browser;
  const shift = { ms: -3 * DAY };
  const clock = { now: () => Date.now() + shift.ms };
  const modes: BrowserMode[] = [];
  const dirs: string[] = [];

  const startConsole = async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-reports-e2e-'));
    dirs.push(dataDir);
    const mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir });
    modes.push(mode);
    return mode;
  };
  const device = async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    return new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
  };
  /** One call through the API in the shifted past: answered after `answerS` or abandoned after `abandonS`. */
  const call = async (p: { answerS?: number; abandonS?: number; talkS?: number }) => {
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    const d = await device();
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId: string = q.body.request.requestId;
    const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    const fence: number = me.body.offer.fence;
    if (p.abandonS !== undefined) {
      shift.ms += p.abandonS * 1000;
      await d.api('endSession', { params: { sessionId: q.body.request.sessionId }, json: {} });
      return;
    }
    shift.ms += p.answerS! * 1000;
    assert.equal(
      (await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(s.token), json: { fence } }))
        .status,
      200,
    );
    shift.ms += p.talkS! * 1000;
    await api(a.url, 'completeRequest', { params: { requestId }, headers: bearer(s.token), json: { fence } });
  };

  before(async () => {
    await ensureRendererBuilt();
    const pipeline = JSON.parse(
      readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
    );
    const general = pipeline.queues.find((q: any) => q.id === 'general');
    general.targetAnswerSeconds = 30;
    general.screenPopUrl = 'https://crm.example/customers/{externalRef}?request={requestId}';
    const file = join(tmpdir(), `vd-pipeline-reports-e2e-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(pipeline));
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        offerTimeoutSeconds: 300,
        pipelineFile: file,
        siteTimeZone: 'Europe/Paris',
        screenPopOrigins: ['https://crm.example'],
      },
      { clock },
    );
    await a.sql`UPDATE customers SET external_ref = ${'CRM-1001'} WHERE id = ${'c_alice_martin_01'}`;
    // Three days ago: four calls; two days ago: three. Then the clock is back to now.
    for (const p of [
      { answerS: 12, talkS: 240 },
      { answerS: 45, talkS: 180 },
      { abandonS: 6 },
      { answerS: 20, talkS: 300 },
    ])
      await call(p);
    shift.ms = -2 * DAY;
    for (const p of [{ answerS: 8, talkS: 200 }, { abandonS: 50 }, { answerS: 70, talkS: 90 }]) await call(p);
    shift.ms = 0;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    for (const m of modes) await m.close();
    await a?.dispose();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("accepting a verified customer opens the queue's CRM record in a new tab", async () => {
    const t = await openConsole(browser, await startConsole(), 'reports-screen-pop');
    const { page } = t;
    try {
      await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      await signIn(page, 'agent1', 'demo-agent-1');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');
      const d = await device();
      const q = await d.api('createRequest', { json: { optionId: 'other' } });
      const requestId: string = q.body.request.requestId;
      const offer = page.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
      await offer.waitFor();
      // The CRM (no network here): the tab gets a stand-in page for the record.
      await t.context.route('https://crm.example/**', (r) =>
        r.fulfill({ contentType: 'text/html', body: '<title>CRM</title><h1>Customer record</h1>' }),
      );
      const popup = t.context.waitForEvent('page');
      await page.keyboard.press('Control+Enter');
      const crm = await popup;
      await crm.waitForLoadState();
      assert.equal(crm.url(), `https://crm.example/customers/CRM-1001?request=${requestId}`);
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await t.screenshot('accepted');
    } finally {
      await t.close();
    }
  });

  it('the supervisor opens Reports: totals, chart, sortable tables, CSV download', async () => {
    const t = await openConsole(browser, await startConsole(), 'reports');
    const { page } = t;
    try {
      await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
      await signIn(page, 'supervisor', 'demo-supervisor');
      await page.getByRole('button', { name: 'Reports' }).click();
      await page.getByRole('heading', { name: 'Reports' }).waitFor();
      const totals = page.getByLabel('Totals');
      // Seven calls in the range: five answered (three within the 30 s target), two abandoned (one within 10 s).
      await totals.getByText('Offered').waitFor();
      assert.match(
        (await totals.textContent()) ?? '',
        /Offered7Answered5Abandoned2 \(1 ≤ 10 s\)Service level42\.9 %/,
      );
      await page.getByRole('img', { name: 'Requests chart' }).waitFor();
      assert.ok(
        await page
          .locator('.report-chart canvas')
          .evaluate((c: HTMLCanvasElement) => c.width > 0 && c.height > 0),
        'chart.js drew on its canvas',
      );
      await assertNamedControls(page, 'reports');
      await t.screenshot('1-days');

      // Sort the queue table by answered; the agent table has Dana Reyes with five answered.
      const agents = page.locator('.card', { has: page.getByRole('heading', { name: 'By agent' }) });
      await agents.getByRole('button', { name: 'Sort by Answered' }).click();
      assert.equal(
        await agents.getByRole('columnheader', { name: /Answered/ }).getAttribute('aria-sort'),
        'descending',
      );
      await agents
        .getByRole('row', { name: /Dana Reyes/ })
        .getByRole('cell', { name: '5', exact: true })
        .first()
        .waitFor();

      // CSV of the queue table.
      const queues = page.locator('.card', { has: page.getByRole('heading', { name: 'By queue' }) });
      const download = page.waitForEvent('download');
      await queues.getByRole('button', { name: /Download CSV/ }).click();
      const file = await download;
      assert.match(file.suggestedFilename(), /^report-queues-all-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-day\.csv$/);
      const csv = readFileSync((await file.path())!, 'utf8');
      const [header, row] = csv.split('\r\n');
      assert.match(header!, /^channel,queueId,queueName,targetAnswerSeconds,offered,answered,abandoned,/);
      assert.match(row!, /^all,general,General,30,7,5,2,1,/);

      // By hour.
      await page.getByLabel('Granularity').selectOption('hour');
      await page.getByRole('button', { name: 'Show report' }).click();
      await page.getByRole('heading', { name: 'Requests by hour' }).waitFor();
      await t.screenshot('2-hours');

      // Chats only: the seven requests are calls; the channel table has the chat row alone.
      await page.getByLabel('Channel', { exact: true }).selectOption('chat');
      await page.getByRole('button', { name: 'Show report' }).click();
      await page.getByRole('heading', { name: 'Chats: requests by hour' }).waitFor();
      assert.match((await totals.textContent()) ?? '', /^Offered0Answered0/);
      const channels = page.locator('.card', { has: page.getByRole('heading', { name: 'By channel' }) });
      assert.deepEqual(await channels.locator('tbody tr th, tbody tr td:first-child').allTextContents(), [
        'Chats',
      ]);
      await t.screenshot('3-chats');
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await t.close();
    }
  });
});
