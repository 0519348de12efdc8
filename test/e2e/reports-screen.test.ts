/**
 * The supervisor's Reports screen and the CRM screen pop, in Chromium (browser mode)
 * against a real authority: a few days of calls made through the API (the authority's
 * clock shifted into the past), then an agent accepts a verified customer in the console
 * and the queue's CRM record opens in a new tab; the supervisor opens Reports, sees the
 * figures and the chart, sorts a table and downloads its CSV. Last, the queue is set to
 * open its CRM record in the console's side panel: a local test CRM on 127.0.0.1 (the only
 * origin the console's managed screenPopOrigins allow) shows there in a sandboxed frame that
 * cannot navigate the console, and a frame from another origin is refused by the CSP.
 * Screenshots: test/e2e/screenshots/reports-*.png (1280x800).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import type { ManagedConfig } from '../../main/core/settings.ts';
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

/** A stand-in CRM on 127.0.0.1: each customer's record page; it remembers what was asked. */
async function startTestCrm(name: string): Promise<{ origin: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const u = new URL(req.url ?? '/', 'http://x');
    const ref = decodeURIComponent(u.pathname.split('/').pop() ?? '');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(
      `<!doctype html><title>${name}</title><style>body{font:15px sans-serif;margin:16px}</style>` +
        `<h1>Customer record ${ref}</h1><p>Request ${u.searchParams.get('request') ?? ''}</p>` +
        `<button id="escape" onclick="try{top.location.href='/escaped'}catch(e){}document.getElementById('after').textContent='tried'">Leave the console</button>` +
        `<p id="after"></p>`,
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server };
}

describe('Reports screen and CRM screen pop in the console (browser mode)', () => {
  let a: TestAuthority;
  let browser: Browser;
  const shift = { ms: -3 * DAY };
  const clock = { now: () => Date.now() + shift.ms };
  const modes: BrowserMode[] = [];
  const dirs: string[] = [];

  let crm: Awaited<ReturnType<typeof startTestCrm>>;
  let other: Awaited<ReturnType<typeof startTestCrm>>;

  const startConsole = async (managed?: ManagedConfig) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-reports-e2e-'));
    dirs.push(dataDir);
    const mode = await startBrowserMode({
      authorityUrl: a.url,
      dataDir,
      rendererDir,
      ...(managed ? { managed } : {}),
    });
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

  /** Dana signs in to the console and goes available; Alice asks for help; her offer is on the screen. */
  const offerToDana = async (page: Page) => {
    await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('presence').waitFor();
    await page.getByLabel('Change presence').selectOption('available');
    const d = await device();
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    const requestId: string = q.body.request.requestId;
    const offer = page.getByRole('region', { name: /Alice Martin/ }).filter({ hasText: 'New request' });
    await offer.waitFor();
    return { d, requestId, offer };
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
    crm = await startTestCrm('CRM');
    other = await startTestCrm('Elsewhere');
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        offerTimeoutSeconds: 300,
        pipelineFile: file,
        siteTimeZone: 'Europe/Paris',
        // `other` is allowed by the authority but not by the console (the side-panel test's refusal).
        screenPopOrigins: ['https://crm.example', crm.origin, other.origin],
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
    for (const c of [crm, other]) await new Promise((r) => c?.server.close(r));
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("accepting a verified customer opens the queue's CRM record in a new tab", async () => {
    const t = await openConsole(browser, await startConsole(), 'reports-screen-pop');
    const { page } = t;
    try {
      const { requestId } = await offerToDana(page);
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

  it('a queue set to the side panel: accepting opens the CRM record beside the desk; nothing else can be framed', async () => {
    // Dana still holds the request accepted in the first test: it ends (via the API) so she is free again.
    const dana = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const me = await api(a.url, 'agentMe', { headers: bearer(dana.token) });
    for (const id of me.body.heldRequestIds ?? []) {
      const r = await api(a.url, 'getRequest', { params: { requestId: id }, headers: bearer(dana.token) });
      await api(a.url, 'completeRequest', {
        params: { requestId: id },
        headers: bearer(dana.token),
        json: { fence: r.body.fence },
      });
    }
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    const changed = structuredClone(cfg.body.config ?? cfg.body);
    const general = changed.queues.find((q: any) => q.id === 'general');
    general.screenPopUrl = `${crm.origin}/customers/{externalRef}?request={requestId}`;
    general.screenPopOpensIn = 'sidePanel';
    const put = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: changed });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    const t = await openConsole(
      browser,
      await startConsole({ screenPopOrigins: [crm.origin] }),
      'reports-side-panel',
    );
    const { page } = t;
    try {
      const csp = (await page.request.get(page.url())).headers()['content-security-policy'] ?? '';
      assert.ok(csp.includes(`frame-src ${crm.origin}`), csp);
      const { d, requestId, offer } = await offerToDana(page);
      await page.keyboard.press('Control+Enter');

      const panel = page.getByRole('complementary', { name: 'CRM record' });
      await panel.waitFor();
      const frameEl = panel.locator('iframe');
      assert.equal(
        await frameEl.getAttribute('src'),
        `${crm.origin}/customers/CRM-1001?request=${requestId}`,
      );
      assert.equal(
        await frameEl.getAttribute('sandbox'),
        'allow-scripts allow-same-origin allow-forms allow-popups',
      );
      assert.equal(await frameEl.getAttribute('title'), 'CRM record of Alice Martin');
      const record = page.frameLocator('iframe[title="CRM record of Alice Martin"]');
      await record.getByRole('heading', { name: 'Customer record CRM-1001' }).waitFor();
      await record.getByText(`Request ${requestId}`).waitFor();
      assert.deepEqual(crm.hits, [`/customers/CRM-1001?request=${requestId}`]);
      assert.equal(t.context.pages().length, 1, 'no tab opened: the record is in the side panel');
      await page
        .getByRole('region', { name: /Alice Martin/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      await assertNamedControls(page, 'side panel');
      await t.screenshot('side-panel');

      // The record cannot take the console away (no allow-top-navigation in the sandbox).
      const consoleUrl = page.url();
      await record.getByRole('button', { name: 'Leave the console' }).click();
      await record.getByText('tried').waitFor();
      assert.equal(page.url(), consoleUrl);
      await panel.waitFor();

      // Any other origin is refused by the page's CSP (frame-src), before a request leaves.
      const refused = await page.evaluate(
        (src) =>
          new Promise<{ directive: string; blocked: string }>((resolve) => {
            const f = document.createElement('iframe');
            document.addEventListener(
              'securitypolicyviolation',
              (e) => {
                f.remove();
                resolve({ directive: e.effectiveDirective, blocked: e.blockedURI });
              },
              { once: true },
            );
            f.src = src;
            document.body.append(f);
          }),
        `${other.origin}/customers/CRM-1001`,
      );
      assert.equal(refused.directive, 'frame-src');
      assert.ok(refused.blocked.startsWith(other.origin), refused.blocked);
      assert.deepEqual(other.hits, [], 'the other origin was never asked');
      assert.ok(!crm.hits.includes('/escaped'), 'the record never navigated the console');

      await panel.getByRole('button', { name: 'Close the CRM record' }).click();
      await panel.waitFor({ state: 'detached' });
      await t.screenshot('side-panel-closed');

      // An origin the authority allows but this console does not: refused by its configuration, with a notice.
      const fence = (await api(a.url, 'getRequest', { params: { requestId }, headers: bearer(dana.token) }))
        .body.fence;
      await api(a.url, 'completeRequest', {
        params: { requestId },
        headers: bearer(dana.token),
        json: { fence },
      });
      general.screenPopUrl = `${other.origin}/customers/{externalRef}?request={requestId}`;
      const put2 = await api(a.url, 'putPipelineConfig', { headers: bearer(admin), json: changed });
      assert.equal(put2.status, 200, JSON.stringify(put2.body));
      await api(a.url, 'setPresence', { headers: bearer(dana.token), json: { state: 'available' } });
      const q2 = await d.api('createRequest', { json: { optionId: 'other' } });
      assert.equal(q2.body.status, 'queued', JSON.stringify(q2.body));
      await offer.waitFor();
      await page.keyboard.press('Control+Enter');
      await page.getByText(/not allowed in the side panel/).waitFor();
      assert.equal(await panel.count(), 0, 'the side panel stays closed');
      assert.deepEqual(other.hits, [], 'the other origin was never asked');
      await t.screenshot('side-panel-refused');
      // The only errors: Chromium reporting the two refusals above.
      assert.equal(t.consoleErrors.length, 2, JSON.stringify(t.consoleErrors));
      assert.match(t.consoleErrors[0]!, /Unsafe attempt to initiate navigation .* sandboxed/);
      assert.match(
        t.consoleErrors[1]!,
        /Framing '.*' violates the following Content Security Policy directive: "frame-src /,
      );
    } finally {
      await t.close();
    }
  });
});
