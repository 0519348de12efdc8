/**
 * The console's renderer: cold load to interactive, and memory. Figures are printed,
 * never asserted.
 *
 * Real parts: the authority (in this process: it also serves the customer app built from
 * today's sources, on http://localhost:PORT, the WebAuthn origin, with its embedded SIP
 * edge), VD_BENCH_LOAD_ROWS verified customers' requests waiting (simulated devices over
 * the API), the console in browser mode in its own process (bench/console-host.ts:
 * main/core + web host serving renderer/dist), Debian's Chromium driven by
 * playwright-core; for the call, the customer app in a second Chromium (its own process
 * tree, not counted).
 *
 * (a) Load, over VD_BENCH_LOAD_N (default 10) fresh browser contexts (empty cache and
 *     storage): navigation start -> the login form is usable (username field and an
 *     enabled Sign in button in the DOM, stamped by a MutationObserver installed before
 *     any page script), and Sign in submitted -> the desk is interactive (presence control
 *     enabled, the queue list rendered with every waiting request counted). The agent
 *     signs out after each sample, so the next context starts at the login form.
 *     Baseline: the same fresh-context navigation with JavaScript disabled (the same
 *     HTML and stylesheet from the same host, no script), navigation start -> load event.
 * (b) Memory: RSS (and PSS, which splits shared pages) of the web host process and of
 *     Chromium's page renderer processes, idle on the desk (the waiting requests listed),
 *     then with an accepted request and its customer panel on screen (the waiting
 *     requests are cancelled first; a customer enrolled in the customer app asks for
 *     help and the agent accepts), then during the call: "Call customer", the app rings
 *     as a verified call, Answer, "On the call". When the button stays disabled (no
 *     softphone) or the call does not connect, the phase prints "skipped" and why.
 *     Baseline: the same browser with one about:blank page.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { ensureRendererBuilt } from '../test/e2e/console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
} from '../test/e2e/customer-app-harness.ts';
import { launchChromium } from '../test/support/browser.ts';
import { HOST_RUN, startConsoleHost, type ConsoleHost } from './console-host.ts';
import {
  allowNamedFunctions,
  chromiumTree,
  launchTracked,
  fmt,
  memoryByType,
  mib,
  pct,
  printTable,
  processMemory,
  signIn,
  verifiedDevice,
} from './console-support.ts';

const VIEWPORT = { width: 1280, height: 800 };
const SETTLE_MS = 3000;

interface LoadStamps {
  loginUsable?: number;
  submitted?: number;
  deskReady?: number;
  domContentLoaded?: number;
  responseEnd?: number;
}

export interface MemoryPoint {
  hostRssKiB: number;
  hostPssKiB: number;
  rendererRssKiB: number;
  rendererPssKiB: number;
  renderers: number;
  browserRssKiB: number;
  browserPssKiB: number;
  processes: number;
}

export interface ConsoleLoadFigures {
  n: number;
  rows: number;
  toLoginForm: number[];
  htmlArrived: number[];
  domContentLoaded: number[];
  loginToDesk: number[];
  noScript: number[];
  blank: MemoryPoint;
  idle: MemoryPoint;
  active: MemoryPoint;
  call: MemoryPoint | null;
  callSkipped: string | null;
}

/** Runs in the page before any of its scripts: stamps (ms since navigation start) when the login form and the desk become usable. */
function installLoadProbe(expectedRows: number): void {
  const w = window as any;
  const s: Record<string, number> = {};
  w.__vdLoad = s;
  const now = () => performance.now();
  const check = () => {
    if (s.loginUsable === undefined) {
      const user = document.querySelector<HTMLInputElement>('input[name="username"]');
      const submit = document.querySelector<HTMLButtonElement>('form button[type="submit"]');
      if (user && !user.disabled && submit && !submit.disabled) s.loginUsable = now();
    }
    if (s.submitted !== undefined && s.deskReady === undefined) {
      const presence = document.querySelector<HTMLSelectElement>('select[aria-label="Change presence"]');
      const count = document.querySelector('[data-testid="queue-count"]')?.textContent ?? '';
      const rows = document.querySelectorAll(
        '[role="list"][aria-label="Requests in your queues"] [role="listitem"]',
      ).length;
      const waiting = Number(/^(\d+) waiting/.exec(count)?.[1] ?? -1);
      if (presence && !presence.disabled && waiting === expectedRows && rows > 0) s.deskReady = now();
    }
  };
  document.addEventListener('submit', () => (s.submitted ??= now()), true);
  new MutationObserver(check).observe(document, {
    childList: true,
    subtree: true,
    attributes: true,
    characterData: true,
  });
}

async function memoryPoint(browserRoot: number, host: ConsoleHost): Promise<MemoryPoint> {
  const tree = chromiumTree(browserRoot);
  const r = memoryByType(tree).get('renderer') ?? { n: 0, rssKiB: 0, pssKiB: 0 };
  const h = processMemory(host.pid) ?? { rssKiB: NaN, pssKiB: NaN };
  return {
    hostRssKiB: h.rssKiB,
    hostPssKiB: h.pssKiB,
    rendererRssKiB: r.rssKiB,
    rendererPssKiB: r.pssKiB,
    renderers: r.n,
    browserRssKiB: tree.reduce((a, p) => a + p.rssKiB, 0),
    browserPssKiB: tree.reduce((a, p) => a + p.pssKiB, 0),
    processes: tree.length,
  };
}

/** Renderer processes outlive a closed context for a moment: wait until their count stops changing. */
async function settledRenderers(browserRoot: number): Promise<void> {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const n = chromiumTree(browserRoot).filter((p) => p.type === 'renderer').length;
    if (n === last) return;
    last = n;
    await sleep(500);
  }
}

/**
 * The launch link is single-use, bound to the first page's secret (sessionStorage): each
 * fresh context of a run plays the same page reloaded cold, with the same secret.
 */
const SAME_PAGE = {
  content:
    "sessionStorage.getItem('vd.pageSecret') || sessionStorage.setItem('vd.pageSecret', 'bench-console-load-page-0001');",
};

async function loadSample(
  browser: Browser,
  host: ConsoleHost,
  rows: number,
): Promise<Required<Omit<LoadStamps, 'submitted'>> & { submitted: number }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addInitScript({ content: 'globalThis.__name = globalThis.__name || ((fn) => fn);' });
    await context.addInitScript(installLoadProbe, rows);
    await context.addInitScript(SAME_PAGE);
    const page = await context.newPage();
    await page.goto(host.launchUrl);
    await page.waitForFunction(() => (window as any).__vdLoad.loginUsable !== undefined);
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.waitForFunction(() => (window as any).__vdLoad.deskReady !== undefined, undefined, {
      timeout: 60_000,
    });
    const s = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return {
        ...((window as any).__vdLoad as Record<string, number>),
        responseEnd: nav.responseEnd,
        domContentLoaded: nav.domContentLoadedEventEnd,
      };
    });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the agent console' }).waitFor();
    return s as Required<LoadStamps> & { submitted: number };
  } finally {
    await context.close();
  }
}

/**
 * Baseline: a fresh context loading the same launch URL with JavaScript disabled (the
 * same HTML and stylesheet from the same host, no script run), navigation start -> load event.
 */
async function noScriptSample(browser: Browser, host: ConsoleHost): Promise<number> {
  const context = await browser.newContext({ viewport: VIEWPORT, javaScriptEnabled: false });
  try {
    const page = await context.newPage();
    await page.goto(host.launchUrl, { waitUntil: 'load' });
    return await page.evaluate(
      () => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd,
    );
  } finally {
    await context.close();
  }
}

async function consolePage(browser: Browser, host: ConsoleHost, rows: number): Promise<Page> {
  const context = await browser.newContext({ viewport: VIEWPORT, permissions: ['microphone'] });
  await context.addInitScript(SAME_PAGE);
  const page = await context.newPage();
  await allowNamedFunctions(page);
  await page.goto(host.launchUrl);
  await signIn(page, 'agent1', 'demo-agent-1');
  await page.getByTestId('queue-count').getByText(`${rows} waiting`).waitFor();
  return page;
}

/** Whether a button named `name` becomes enabled within `timeoutMs`. */
const becomesEnabled = (page: Page, name: string, timeoutMs: number): Promise<boolean> =>
  page
    .waitForFunction(
      (n) => {
        const b = [...document.querySelectorAll('button')].find((x) => x.textContent?.trim() === n);
        return !!b && !b.disabled;
      },
      name,
      { timeout: timeoutMs },
    )
    .then(
      () => true,
      () => false,
    );

export async function benchConsoleLoad(
  opts: { n?: number; rows?: number } = {},
): Promise<ConsoleLoadFigures> {
  const n = opts.n ?? Number(process.env.VD_BENCH_LOAD_N ?? 10);
  const rows = opts.rows ?? Number(process.env.VD_BENCH_LOAD_ROWS ?? 20);
  await ensureRendererBuilt();
  const app = await startAppAuthority({ offerTimeoutSeconds: 120, wrapUpSeconds: 60 });
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-load-'));
  const host = await startConsoleHost(app.a.url, dir);
  const media = ['--allow-loopback-in-peer-connection'];
  const { browser, pid: browserRoot } = await launchTracked(() => launchChromium({ extraArgs: media }));
  let customerBrowser: Browser | null = null;
  try {
    // Verified customers waiting (agent1 is offline until it goes available, so they stay in the queue).
    // Bob Okafor is left for the customer app (it sets his PIN itself).
    const customers = ['c_alice_martin_01', 'c_chen_wei_00003'];
    const devices = [];
    for (const [i, c] of customers.entries()) devices.push(await verifiedDevice(app.a.url, c, `24681${i}`));
    const waiting: { device: (typeof devices)[number]; requestId: string }[] = [];
    for (let i = 0; i < rows; i++) {
      const device = devices[i % devices.length]!;
      const r = await device.call('POST', '/v1/device/requests', {
        json: { optionId: i % 2 ? 'other' : 'lost-card' },
      });
      if (r.body?.status !== 'queued') throw new Error(`request not queued: ${JSON.stringify(r.body)}`);
      waiting.push({ device, requestId: r.body.request.requestId });
    }

    const f: ConsoleLoadFigures = {
      n,
      rows,
      toLoginForm: [],
      htmlArrived: [],
      domContentLoaded: [],
      loginToDesk: [],
      noScript: [],
      blank: null as unknown as MemoryPoint,
      idle: null as unknown as MemoryPoint,
      active: null as unknown as MemoryPoint,
      call: null,
      callSkipped: null,
    };
    console.log(`  ${rows} requests waiting; loading the console in ${n} + 1 (warm-up) fresh contexts`);
    await loadSample(browser, host, rows); // warm-up: the web host's first requests
    for (let i = 0; i < n; i++) {
      const s = await loadSample(browser, host, rows);
      f.toLoginForm.push(s.loginUsable);
      f.htmlArrived.push(s.responseEnd);
      f.domContentLoaded.push(s.domContentLoaded);
      f.loginToDesk.push(s.deskReady - s.submitted);
      f.noScript.push(await noScriptSample(browser, host));
    }

    // Memory: about:blank alone, then the console idle on the desk.
    await settledRenderers(browserRoot);
    const blankContext = await browser.newContext({ viewport: VIEWPORT });
    await (await blankContext.newPage()).goto('about:blank');
    await sleep(SETTLE_MS);
    f.blank = await memoryPoint(browserRoot, host);
    await blankContext.close();
    await settledRenderers(browserRoot);
    const page = await consolePage(browser, host, rows);
    await sleep(SETTLE_MS);
    f.idle = await memoryPoint(browserRoot, host);

    // A request in hand: the waiting customers leave; Bob asks for help in the customer app; accept.
    for (const w of waiting) {
      const path = `/v1/device/requests/${w.requestId}/cancel`;
      const r = await w.device.call('POST', path);
      if (r.status !== 200) throw new Error(`cancel: ${r.status} ${JSON.stringify(r.body)}`);
    }
    await page.getByText('Nobody is waiting in these queues.').waitFor();
    // The call needs the customer app on the other end; without it the accepted request comes from the API device.
    let phone: Awaited<ReturnType<typeof openPhone>> | null = null;
    try {
      customerBrowser = await launchChromium({ extraArgs: media });
      phone = await openPhone(customerBrowser, app, 'bench-console-load-customer');
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
    } catch (e) {
      f.callSkipped = `the customer app could not be set up: ${String((e as Error).message).split('\n')[0]}`;
      if (phone?.t.consoleErrors.length) f.callSkipped += ` (page: ${phone.t.consoleErrors.join('; ')})`;
      phone = null;
    }
    await page.getByLabel('Change presence').selectOption('available');
    if (phone) {
      await phone.page.getByRole('button', { name: 'Get help' }).click();
      await phone.page.getByRole('button', { name: /^Something else/ }).click();
    } else {
      const r = await devices[0]!.call('POST', '/v1/device/requests', { json: { optionId: 'other' } });
      if (r.body?.status !== 'queued') throw new Error(`request not queued: ${JSON.stringify(r.body)}`);
    }
    await page.getByRole('button', { name: /^Accept/ }).click();
    await page.getByRole('button', { name: 'Complete request' }).waitFor();
    await page.locator('section.panel [data-testid="verification-state"]').waitFor();
    await sleep(SETTLE_MS);
    f.active = await memoryPoint(browserRoot, host);

    // During the call, when the console has a softphone that can call and the customer app answers.
    if (!(await becomesEnabled(page, 'Call customer', 10_000))) f.callSkipped = 'no softphone';
    else if (phone) {
      await page.getByRole('button', { name: 'Call customer' }).click();
      const answer = phone.page.getByRole('button', { name: 'Answer call' });
      const rang = await answer.waitFor({ timeout: 20_000 }).then(
        () => true,
        () => false,
      );
      if (rang) await answer.click();
      const status = page.getByTestId('call-status');
      const connected = await status
        .getByText(/^On the call/)
        .waitFor({ timeout: 20_000 })
        .then(
          () => true,
          () => false,
        );
      if (!connected) f.callSkipped = `the call did not connect (${(await status.textContent()) ?? ''})`;
      else {
        await sleep(SETTLE_MS);
        f.call = await memoryPoint(browserRoot, host);
        await page.getByRole('button', { name: /^Hang up/ }).click();
      }
    }
    await page.context().close();
    await phone?.t.close();
    return f;
  } finally {
    await customerBrowser?.close();
    await browser.close();
    await host.stop();
    await app.a.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The renderer's chunks: what index.html loads before the login (its entry script and
 * modulepreloads) and what loads after sign-in. Before the split (issue 15) the console
 * was one 684 kB chunk and the login usable at 1.34 s p50 on this machine.
 */
function printChunks(): void {
  const dist = join(import.meta.dirname, '../renderer/dist');
  const html = readFileSync(join(dist, 'index.html'), 'utf8');
  const first = new Set([...html.matchAll(/(?:src|href)="\.\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!));
  const rows = readdirSync(join(dist, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => ({ f, kB: statSync(join(dist, 'assets', f)).size / 1000 }))
    .sort((a, b) => b.kB - a.kB);
  const sum = (xs: typeof rows) => xs.reduce((t, r) => t + r.kB, 0);
  const before = rows.filter((r) => first.has(r.f));
  const after = rows.filter((r) => !first.has(r.f));
  console.log(
    `\n  renderer chunks: ${fmt(sum(before), 0)} kB before the login (${before.length} files), ` +
      `${fmt(sum(after), 0)} kB after sign-in (${after.length} files); ` +
      'baseline before the split: one 684 kB chunk, login usable 1.34 s p50',
  );
  printTable(
    ['chunk', 'kB', 'loaded'],
    rows.map((r) => [r.f, fmt(r.kB, 1), first.has(r.f) ? 'before login' : 'after sign-in']),
  );
}

export function printConsoleLoad(f: ConsoleLoadFigures): void {
  printChunks();
  const noScriptP50 = pct(f.noScript, 50);
  const noScriptP95 = pct(f.noScript, 95);
  const row = (what: string, xs: number[], ratio = true) => [
    what,
    fmt(pct(xs, 50), 1),
    fmt(pct(xs, 95), 1),
    fmt(Math.max(...xs), 1),
    ratio ? `${fmt(pct(xs, 50) / noScriptP50, 1)}x / ${fmt(pct(xs, 95) / noScriptP95, 1)}x` : '-',
  ];
  console.log(
    `\n  renderer cold load, ${f.n} fresh browser contexts, ${f.rows} requests waiting in the queue`,
  );
  printTable(
    [
      'step (ms from navigation start unless said)',
      'p50 ms',
      'p95 ms',
      'max ms',
      'vs no-script page p50 / p95',
    ],
    [
      row('baseline: same page, JavaScript off: load event', f.noScript, false),
      row('console HTML arrived (responseEnd)', f.htmlArrived),
      row('DOMContentLoaded (bundle executed)', f.domContentLoaded),
      row('login form usable', f.toLoginForm),
      row('Sign in -> desk interactive, queue rendered', f.loginToDesk, false),
    ],
  );
  const mem = (what: string, m: MemoryPoint | null, note = '') =>
    m
      ? [
          what,
          `${mib(m.hostRssKiB)} (PSS ${mib(m.hostPssKiB)})`,
          `${mib(m.rendererRssKiB)} (PSS ${mib(m.rendererPssKiB)}), ${m.renderers} proc`,
          `${mib(m.browserRssKiB)} (PSS ${mib(m.browserPssKiB)}), ${m.processes} proc`,
          `+${mib(m.rendererRssKiB - f.blank.rendererRssKiB)}`,
        ]
      : [what, note, '-', '-', '-'];
  console.log('\n  memory (RSS counts shared pages in every process; PSS splits them)');
  printTable(
    [
      'phase',
      `web host (node, ${HOST_RUN === 'tsx' ? 'tsx loader' : 'bundled'})`,
      'Chromium renderer(s)',
      'whole Chromium',
      'renderer vs about:blank',
    ],
    [
      mem('baseline: about:blank, same browser', { ...f.blank, hostRssKiB: NaN, hostPssKiB: NaN }),
      mem('console idle on the desk', f.idle),
      mem('request accepted, panel shown', f.active),
      mem('during call', f.call, 'skipped (see below)'),
    ],
  );
  if (!f.call) console.log(`  during call: skipped (${f.callSkipped})`);
}

if (import.meta.url === `file://${process.argv[1]}`) printConsoleLoad(await benchConsoleLoad());
