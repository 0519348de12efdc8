/**
 * "The caller taps the texted link in the app -> the agent's panel turns verified", p50/p95
 * on loopback (issue 14). Figures are printed, never asserted.
 *
 * Real parts, each in its own process: the authority (bench/authority-process.ts, demo data,
 * the text-message file sink), the console in browser mode (main/core + web host serving
 * renderer/dist, bench/console-host.ts), Debian's Chromium driven by playwright-core with
 * agent1 signed in and available; in this process the SIP server's report of each call
 * (POST /v1/sip/trunk/calls, as Kamailio's http_client sends it: no media is needed to
 * measure the panel), Alice Martin's enrolled device, and a raw agent WebSocket.
 *
 * Each sample, as the agent and the caller do it: a call from Alice's registered number
 * arrives, the agent accepts it in the UI and presses "Text a verification link"; the link
 * is read from the sink; the device verifies (device key + PIN, level 2: not timed). Then
 * t0 = just before the device's POST /v1/device/verification-links/:token leaves (the
 * "tap"). In the page a MutationObserver armed before t0 stamps when the panel's level line
 * says "Level 2", and the next animation frame. Page stamps are moved to this process's
 * clock by an offset measured over round trips. Then the agent completes the request and
 * saves the wrap-up in the UI (back to available).
 *
 * Baseline, same samples: the raw `queue.delta` frame carrying the request at level 2 on a
 * second WebSocket of agent1 (a test client, no UI). The ratio UI / raw is what the console
 * adds (main/core -> bridge -> page -> the panel's own fetch of the verification -> React).
 *
 * Size: VD_BENCH_LINK_N (default 30) samples after VD_BENCH_LINK_WARMUP (default 2).
 *
 *   npx tsx bench/link-to-verified.ts      (or `npm run bench -- link-to-verified`)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, newTestPage } from '../test/support/browser.ts';
import { bearer, call, staffLogin } from '../test/support/http.ts';
import { answerNumber, registerPhone } from '../test/support/phone-in.ts';
import { ensureRendererBuilt } from '../test/e2e/console-harness.ts';
import { startBenchAuthority } from './authority-process.ts';
import { startConsoleHost } from './console-host.ts';
import {
  allowNamedFunctions,
  fmt,
  nowMs,
  pageClockOffset,
  printTable,
  rawAgentFrames,
  rowsAgainst,
  saveFirstDisposition,
  signIn,
  verifiedDevice,
} from './console-support.ts';

const ALICE = 'c_alice_martin_01';
const ALICE_NUMBER = '+447911123456';
const DIALLED = '+442079460000';
const PIN = '246810';

interface PageStamps {
  dom: number;
  frame: number;
  text: string;
}

export interface LinkToVerifiedFigures {
  n: number;
  raw: number[];
  posted: number[];
  dom: number[];
  frame: number[];
  clockUncertaintyMs: number;
  line: string;
}

/** In the page: resolve with the stamps of the panel's level line turning "Level 2". */
function armInPage(timeoutMs: number): void {
  const w = window as any;
  const now = () => performance.timeOrigin + performance.now();
  const sel = 'section.panel [data-testid="level-line"]';
  const reached = () => /^Level 2/.test(document.querySelector(sel)?.textContent ?? '');
  if (reached()) throw new Error('the panel is at level 2 before the sample');
  w.__vdLink = new Promise((resolve, reject) => {
    const check = () => {
      if (!reached()) return;
      observer.disconnect();
      clearTimeout(timer);
      const dom = now();
      const text = document.querySelector(sel)?.textContent ?? '';
      requestAnimationFrame(() => resolve({ dom, frame: now(), text }));
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`the panel did not reach level 2 within ${timeoutMs} ms`));
    }, timeoutMs);
  });
}

export async function benchLinkToVerified(
  opts: { n?: number; warmup?: number } = {},
): Promise<LinkToVerifiedFigures> {
  const n = opts.n ?? Number(process.env.VD_BENCH_LINK_N ?? 30);
  const warmup = opts.warmup ?? Number(process.env.VD_BENCH_LINK_WARMUP ?? 2);
  await ensureRendererBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-link-'));
  const sink = join(dir, 'texts.jsonl');
  const sipSecret = randomBytes(30).toString('base64url');
  const authority = await startBenchAuthority(join(dir, 'authority'), {
    VD_PIN_PEPPER: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    VD_ACCESS_TOKEN_SECONDS: '3600',
    VD_AGENT_TIMEOUT_SECONDS: '3600',
    VD_AUTHENTICATION_TTL_SECONDS: '86400',
    VD_OFFER_TIMEOUT_SECONDS: '120',
    VD_WRAP_UP_REQUIRED: 'true',
    VD_WRAP_UP_SECONDS: '60',
    VD_SIP_SERVER_SECRET: sipSecret,
    VD_TEXT_SINK_FILE: sink,
    VD_CUSTOMER_APP_URL: 'http://127.0.0.1:9/app/',
  });
  const host = await startConsoleHost(authority.url, join(dir, 'console'));
  const browser = await launchChromium();
  let raw: Awaited<ReturnType<typeof rawAgentFrames>> | null = null;
  try {
    const admin = (await staffLogin(authority.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(authority.url, admin, DIALLED);
    await registerPhone(authority.url, admin, ALICE, ALICE_NUMBER);
    const device = await verifiedDevice(authority.url, ALICE, PIN);

    const t = await newTestPage(browser, 'bench-link-to-verified', {
      viewport: { width: 1280, height: 800 },
    });
    const { page } = t;
    await allowNamedFunctions(page);
    await page.goto(host.launchUrl);
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('presence').waitFor();
    await page.getByLabel('Change presence').selectOption('available');
    await page.getByTestId('presence').getByText('Available').waitFor();
    await page.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();
    raw = await rawAgentFrames(
      authority.url,
      (await staffLogin(authority.url, 'agent1', 'demo-agent-1')).token,
      (f) =>
        f.type === 'queue.delta'
          ? (f.upserts as { requestId: string; level: number }[])
              .filter((r) => r.level >= 2)
              .map((r) => r.requestId)
          : [],
      { subscribe: 'queues' },
    );
    const clock = await pageClockOffset(page);
    const toBench = (pageMs: number) => pageMs - clock.offsetMs;
    console.log(
      `  page clock offset ${fmt(clock.offsetMs, 2)} ms (+- ${fmt(clock.uncertaintyMs, 2)} ms); ` +
        `${warmup} warm-up samples, then ${n}`,
    );

    const f: LinkToVerifiedFigures = {
      n,
      raw: [],
      posted: [],
      dom: [],
      frame: [],
      clockUncertaintyMs: clock.uncertaintyMs,
      line: '',
    };
    for (let i = 0; i < warmup + n; i++) {
      const arrived = await call(authority.url, 'POST', '/v1/sip/trunk/calls', {
        headers: bearer(sipSecret),
        json: { callId: `bench-link-${i}-${Date.now()}@192.0.2.10`, caller: ALICE_NUMBER, dialled: DIALLED },
      });
      if (arrived.status !== 201)
        throw new Error(`call not queued: ${arrived.status} ${JSON.stringify(arrived.body)}`);
      const requestId: string = arrived.body.requestId;
      await page.getByRole('button', { name: /^Accept/ }).click();
      const section = page.getByRole('group', { name: 'Verify in the app' });
      await section.getByRole('button', { name: 'Text a verification link' }).click();
      await section
        .getByTestId('verification-link-state')
        .getByText(/^Link sent to /)
        .waitFor();
      const text = readFileSync(sink, 'utf8').trim().split('\n').at(-1)!;
      const token = /\/v\/([A-Za-z0-9_-]+)/.exec(text)?.[1];
      if (!token) throw new Error(`no link in the text: ${text}`);
      // The caller opens the app and confirms it is them (a fresh level-2 authentication).
      if ((await device.authenticate()).status !== 201) throw new Error('device authentication failed');
      const step = await device.call('POST', '/v1/device/authentication/pin', { json: { pin: PIN } });
      if (step.body?.level !== 2) throw new Error(`PIN step-up: ${step.status} ${JSON.stringify(step.body)}`);
      const path = `/v1/device/verification-links/${token}`;
      const headers = await device.headers('POST', path);
      await page.evaluate(armInPage, 20_000);
      const t0 = nowMs();
      const used = await call(authority.url, 'POST', path, { headers });
      const answered = nowMs();
      if (used.status !== 200) throw new Error(`link refused: ${used.status} ${JSON.stringify(used.body)}`);
      const [rawAt, stamps] = await Promise.all([
        raw.at(requestId),
        page.evaluate(() => (window as any).__vdLink as Promise<PageStamps>),
      ]);
      if (i >= warmup) {
        f.raw.push(rawAt - t0);
        f.posted.push(answered - t0);
        f.dom.push(toBench(stamps.dom) - t0);
        f.frame.push(toBench(stamps.frame) - t0);
        f.line = stamps.text;
      }
      // Back to available the way an agent does: complete, wrap-up.
      await page.getByRole('button', { name: 'Complete request' }).click();
      await saveFirstDisposition(page, `bench sample ${i}`);
      await page.getByTestId('presence').getByText('Available').waitFor();
      await page.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();
    }
    if (t.consoleErrors.length) console.log(`  console errors in the page: ${t.consoleErrors.join('; ')}`);
    await t.close();
    return f;
  } finally {
    raw?.close();
    await browser.close();
    await host.stop();
    await authority.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printLinkToVerified(f: LinkToVerifiedFigures): void {
  const row = rowsAgainst(f.raw);
  console.log(
    `\n  link tapped -> panel verified, ${f.n} samples (ms from the device's POST; page clock +- ${fmt(f.clockUncertaintyMs, 2)} ms)`,
  );
  printTable(
    ['stage', 'p50 ms', 'p95 ms', 'max ms', 'vs raw frame p50 / p95'],
    [
      row('baseline: raw `queue.delta` at level 2 on an agent WebSocket', f.raw, false),
      row("device's POST answered (200)", f.posted),
      row(`UI: the panel's level line ("${f.line}") in the DOM`, f.dom),
      row('UI: the panel verified, next frame (headline)', f.frame),
    ],
  );
  console.log('  agent time spent verifying by the link: 0 s (the caller verifies in the app)');
}

if (import.meta.url === `file://${process.argv[1]}`) printLinkToVerified(await benchLinkToVerified());
