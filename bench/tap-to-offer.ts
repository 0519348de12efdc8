/**
 * "The customer taps Get help (already verified) -> the offer with the verification is on
 * the agent's screen", p50/p95 on loopback. Figures are printed, never asserted.
 *
 * Real parts, each in its own process: the authority (bench/authority-process.ts, demo
 * data), the console in browser mode (main/core + web host serving renderer/dist,
 * bench/console-host.ts), Debian's Chromium driven by playwright-core with agent1 signed
 * in and available; in this process a device of Alice Martin, enrolled and verified by
 * device key + PIN (level 2), and a raw agent WebSocket.
 *
 * Each sample: t0 = just before the device's POST /v1/device/requests leaves (the proof
 * is signed before). In the page a MutationObserver, armed before t0, stamps
 * performance.timeOrigin + now() when the offer card appears, and when the customer
 * panel's verification badge ("Verified") appears; each also gets the time of the next
 * animation frame (the frame that paints it). Page stamps are moved to this process's
 * clock by an offset measured over round trips. Between samples the agent accepts,
 * completes and saves the wrap-up in the UI (the authority requires it), which makes
 * them available again: the agent's real loop.
 *
 * Baseline, same samples: the raw `offer` frame on a second WebSocket of agent1 (a test
 * client, no UI), which the authority sends at the same moment as to the console's
 * main/core. The ratio UI / raw is what the console adds (main/core -> web host bridge ->
 * page -> React -> the panel's own fetch of the verification).
 *
 * Size: VD_BENCH_TAP_N (default 50) samples after VD_BENCH_TAP_WARMUP (default 3).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchChromium, newTestPage } from '../test/support/browser.ts';
import { call, staffLogin } from '../test/support/http.ts';
import { ensureRendererBuilt } from '../test/e2e/console-harness.ts';
import { startBenchAuthority } from './authority-process.ts';
import { startConsoleHost } from './console-host.ts';
import {
  allowNamedFunctions,
  fmt,
  nowMs,
  pageClockOffset,
  pct,
  printTable,
  rawAgentFrames,
  rowsAgainst,
  saveFirstDisposition,
  signIn,
  verifiedDevice,
} from './console-support.ts';

interface PageStamps {
  offerDom: number;
  offerFrame: number;
  verifiedDom: number;
  verifiedFrame: number;
  verifiedText: string;
}

export interface TapToOfferFigures {
  n: number;
  raw: number[];
  offerDom: number[];
  offerFrame: number[];
  verifiedDom: number[];
  verifiedFrame: number[];
  postAnswered: number[];
  clockUncertaintyMs: number;
  badge: string;
}

/** In the page: resolve with the stamps of the next offer card and verification badge to appear. */
function armInPage(timeoutMs: number): void {
  const w = window as any;
  const now = () => performance.timeOrigin + performance.now();
  const offerSel = '.offer-card';
  const badgeSel = 'section.panel [data-testid="verification-state"]';
  if (document.querySelector(offerSel) || document.querySelector(badgeSel))
    throw new Error('an offer is already on screen before the sample');
  w.__vdTap = new Promise((resolve, reject) => {
    const r: Record<string, number | string> = {};
    const finish = () => {
      if (r.offerFrame === undefined || r.verifiedFrame === undefined) return;
      observer.disconnect();
      clearTimeout(timer);
      resolve(r);
    };
    const check = () => {
      const t = now();
      const offer = document.querySelector(offerSel);
      if (r.offerDom === undefined && offer?.checkVisibility()) {
        r.offerDom = t;
        requestAnimationFrame(() => {
          r.offerFrame = now();
          finish();
        });
      }
      const badge = document.querySelector(badgeSel);
      if (r.verifiedDom === undefined && badge?.checkVisibility()) {
        r.verifiedDom = t;
        r.verifiedText = badge.textContent ?? '';
        requestAnimationFrame(() => {
          r.verifiedFrame = now();
          finish();
        });
      }
    };
    const observer = new MutationObserver(check);
    observer.observe(document.body, { childList: true, subtree: true, characterData: true });
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`no offer with its verification within ${timeoutMs} ms: ${JSON.stringify(r)}`));
    }, timeoutMs);
  });
}

export async function benchTapToOffer(
  opts: { n?: number; warmup?: number } = {},
): Promise<TapToOfferFigures> {
  const n = opts.n ?? Number(process.env.VD_BENCH_TAP_N ?? 50);
  const warmup = opts.warmup ?? Number(process.env.VD_BENCH_TAP_WARMUP ?? 3);
  await ensureRendererBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-tap-'));
  const authority = await startBenchAuthority(join(dir, 'authority'), {
    VD_PIN_PEPPER: 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz',
    VD_ACCESS_TOKEN_SECONDS: '3600',
    VD_AGENT_TIMEOUT_SECONDS: '3600',
    VD_AUTHENTICATION_TTL_SECONDS: '86400',
    VD_OFFER_TIMEOUT_SECONDS: '120',
    VD_WRAP_UP_REQUIRED: 'true',
    VD_WRAP_UP_SECONDS: '60',
  });
  const host = await startConsoleHost(authority.url, join(dir, 'console'));
  const browser = await launchChromium();
  let raw: Awaited<ReturnType<typeof rawAgentFrames>> | null = null;
  try {
    const t = await newTestPage(browser, 'bench-tap-to-offer', { viewport: { width: 1280, height: 800 } });
    const { page } = t;
    await allowNamedFunctions(page);
    await page.goto(host.launchUrl);
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('presence').waitFor();
    await page.getByLabel('Change presence').selectOption('available');
    await page.getByTestId('presence').getByText('Available').waitFor();
    await page.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();

    const device = await verifiedDevice(authority.url, 'c_alice_martin_01', '246810');
    raw = await rawAgentFrames(
      authority.url,
      (await staffLogin(authority.url, 'agent1', 'demo-agent-1')).token,
      (f) => (f.type === 'offer' ? [f.offer.requestId as string] : []),
    );
    const clock = await pageClockOffset(page);
    const toBench = (pageMs: number) => pageMs - clock.offsetMs;
    console.log(
      `  page clock offset ${fmt(clock.offsetMs, 2)} ms (+- ${fmt(clock.uncertaintyMs, 2)} ms); ` +
        `${warmup} warm-up samples, then ${n}`,
    );

    const f: TapToOfferFigures = {
      n,
      raw: [],
      offerDom: [],
      offerFrame: [],
      verifiedDom: [],
      verifiedFrame: [],
      postAnswered: [],
      clockUncertaintyMs: clock.uncertaintyMs,
      badge: '',
    };
    for (let i = 0; i < warmup + n; i++) {
      await page.evaluate(armInPage, 20_000);
      const path = '/v1/device/requests';
      const headers = await device.headers('POST', path);
      const t0 = nowMs();
      const posted = await call(authority.url, 'POST', path, { json: { optionId: 'other' }, headers });
      const answered = nowMs();
      if (posted.body?.status !== 'queued')
        throw new Error(`request not queued: ${posted.status} ${JSON.stringify(posted.body)}`);
      const requestId: string = posted.body.request.requestId;
      const [rawAt, stamps] = await Promise.all([
        raw.at(requestId),
        page.evaluate(() => (window as any).__vdTap as Promise<PageStamps>),
      ]);
      if (i >= warmup) {
        f.raw.push(rawAt - t0);
        f.postAnswered.push(answered - t0);
        f.offerDom.push(toBench(stamps.offerDom) - t0);
        f.offerFrame.push(toBench(stamps.offerFrame) - t0);
        f.verifiedDom.push(toBench(stamps.verifiedDom) - t0);
        f.verifiedFrame.push(toBench(stamps.verifiedFrame) - t0);
        f.badge = stamps.verifiedText;
      }
      // Back to available the way an agent does: accept, complete, wrap-up.
      await page.getByRole('button', { name: /^Accept/ }).click();
      await page.getByRole('button', { name: 'Complete request' }).click();
      await saveFirstDisposition(page, `bench sample ${i}`);
      await page.getByTestId('presence').getByText('Available').waitFor();
      await page.getByRole('heading', { name: 'Waiting for the next customer' }).waitFor();
      const state = (await call(authority.url, 'GET', `/v1/device/requests/${requestId}`, {
        headers: await device.headers('GET', `/v1/device/requests/${requestId}`),
      })) as { body: { state: string } };
      if (state.body.state !== 'completed') throw new Error(`request ${requestId} is ${state.body.state}`);
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

export function printTapToOffer(f: TapToOfferFigures): void {
  const row = rowsAgainst(f.raw);
  console.log(
    `\n  tap -> offer, ${f.n} samples (ms from the device's POST; page clock +- ${fmt(f.clockUncertaintyMs, 2)} ms)`,
  );
  printTable(
    ['stage', 'p50 ms', 'p95 ms', 'max ms', 'vs raw offer p50 / p95'],
    [
      row('baseline: raw `offer` frame on an agent WebSocket', f.raw, false),
      row("device's POST answered (201)", f.postAnswered),
      row('UI: offer card in the DOM', f.offerDom),
      row('UI: offer card, next frame', f.offerFrame),
      row(`UI: verification badge ("${f.badge}") in the DOM`, f.verifiedDom),
      row('UI: offer + verification, next frame (headline)', f.verifiedFrame),
    ],
  );
  const overhead = f.verifiedFrame.map((v, i) => v - f.raw[i]!);
  console.log(
    `  UI overhead over the raw frame, per sample: p50 ${fmt(pct(overhead, 50), 1)} ms, p95 ${fmt(pct(overhead, 95), 1)} ms`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printTapToOffer(await benchTapToOffer());
