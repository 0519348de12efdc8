/**
 * The queue view with VD_BENCH_QUEUE_ROWS (default 10,000) waiting requests while
 * VD_BENCH_QUEUE_RATE (default 100) updates per second stream in, for
 * VD_BENCH_QUEUE_SECONDS (default 10) s, the list scrolling all the time: frame times
 * (requestAnimationFrame deltas p50/p95/p99/max) and long tasks (PerformanceObserver
 * 'longtask', count and total). Figures are printed, never asserted.
 *
 * Feed: real requests. The authority runs in this process (startTestAuthority, demo
 * data, its SQLite file on tmpfs when /dev/shm exists, so that its durable commits do not
 * throttle the feed below the asked rate) and the rows are created through Pipeline.createRequest for three verified
 * devices (Alice, Bob, Chen; options "Something else" and "Lost or stolen card"), one
 * outer transaction. The updates are Pipeline.createRequest and Pipeline.abandon in turn
 * (a customer arrives, the longest-waiting one leaves), so the list keeps its size. They
 * reach the page the way every change does: the authority's agent WebSocket feed
 * (queue.delta, batched every 50 ms), main/core in the console host process
 * (bench/console-host.ts), the web host's bridge WebSocket, the page's QueueStore. The
 * page counts the upserts it received, so the printed rate is the one that arrived.
 *
 * Scrolling: a requestAnimationFrame loop in the page moves the list by
 * VD_BENCH_QUEUE_SCROLL_PX (default 30) px per frame, turning at either end.
 * Baseline, same run, same page: the same scrolling for the same time with the queue idle.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Page } from 'playwright-core';
import type { DevicePrincipal } from '../authority/src/identity/devices.ts';
import { ensureRendererBuilt } from '../test/e2e/console-harness.ts';
import { startTestAuthority } from '../test/support/authority.ts';
import { launchChromium, newTestPage } from '../test/support/browser.ts';
import { startConsoleHost } from './console-host.ts';
import { allowNamedFunctions, fmt, pct, printTable, signIn, verifiedDevice } from './console-support.ts';

export interface FrameStats {
  frames: number;
  seconds: number;
  deltas: number[];
  longTasks: number;
  longTaskMs: number;
  longestTaskMs: number;
  upserts: number;
  deltasReceived: number;
  scrolledPx: number;
  domRows: number;
}

export interface QueueViewFigures {
  /** Where the authority's SQLite file lived (tmpfs when available). */
  storeDir: string;
  rows: number;
  rate: number;
  seconds: number;
  seedSeconds: number;
  loadSeconds: number;
  updatesSent: number;
  idle: FrameStats;
  streaming: FrameStats;
  finalCount: string;
}

/** In the page: scroll the queue list every frame for `ms`, recording frame deltas, long tasks and the deltas received. */
function measureFrames(arg: { ms: number; scrollPx: number }): Promise<FrameStats> {
  const w = window as any;
  const list = document.querySelector<HTMLElement>('.queue-pane .vlist');
  if (!list) throw new Error('no queue list on the page');
  return new Promise((resolve) => {
    const deltas: number[] = [];
    let longTasks = 0;
    let longTaskMs = 0;
    let longestTaskMs = 0;
    let upserts = 0;
    let deltasReceived = 0;
    let scrolledPx = 0;
    let direction = 1;
    const off = w.agentDesk.on('queue.delta', (d: { upserts: unknown[] }) => {
      deltasReceived++;
      upserts += d.upserts.length;
    });
    const observer = new PerformanceObserver((entries) => {
      for (const e of entries.getEntries()) {
        longTasks++;
        longTaskMs += e.duration;
        longestTaskMs = Math.max(longestTaskMs, e.duration);
      }
    });
    observer.observe({ type: 'longtask' });
    let last = 0;
    let end = 0;
    const frame = (t: number) => {
      deltas.push(t - last);
      last = t;
      const max = list.scrollHeight - list.clientHeight;
      if ((direction > 0 && list.scrollTop >= max) || (direction < 0 && list.scrollTop <= 0))
        direction = -direction;
      const before = list.scrollTop;
      list.scrollTop = before + direction * arg.scrollPx;
      scrolledPx += Math.abs(list.scrollTop - before);
      if (t < end) requestAnimationFrame(frame);
      else {
        observer.disconnect();
        off();
        resolve({
          frames: deltas.length,
          seconds: arg.ms / 1000,
          deltas,
          longTasks,
          longTaskMs,
          longestTaskMs,
          upserts,
          deltasReceived,
          scrolledPx,
          domRows: list.querySelectorAll('[role="listitem"]').length,
        });
      }
    };
    requestAnimationFrame((t) => {
      last = t;
      end = t + arg.ms;
      requestAnimationFrame(frame);
    });
  });
}

async function frames(page: Page, ms: number, scrollPx: number): Promise<FrameStats> {
  await page.evaluate(() => {
    const list = document.querySelector<HTMLElement>('.queue-pane .vlist');
    if (list) list.scrollTop = 0;
  });
  await sleep(500);
  return page.evaluate(measureFrames, { ms, scrollPx });
}

export async function benchQueueView(
  opts: { rows?: number; rate?: number; seconds?: number; scrollPx?: number } = {},
): Promise<QueueViewFigures> {
  const rows = opts.rows ?? Number(process.env.VD_BENCH_QUEUE_ROWS ?? 10_000);
  const rate = opts.rate ?? Number(process.env.VD_BENCH_QUEUE_RATE ?? 100);
  const seconds = opts.seconds ?? Number(process.env.VD_BENCH_QUEUE_SECONDS ?? 10);
  const scrollPx = opts.scrollPx ?? Number(process.env.VD_BENCH_QUEUE_SCROLL_PX ?? 30);
  await ensureRendererBuilt();
  // The feed must keep up with the rate: on a disk every create/abandon costs its durable
  // commits (~25 ms here at 10,000 rows), on tmpfs ~2 ms. This bench measures the console.
  const storeDir = mkdtempSync(
    join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'vd-bench-queue-authority-'),
  );
  const a = await startTestAuthority(
    {
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      sessionIdleSeconds: 86_400,
      sessionAbsoluteSeconds: 86_400,
      authenticationTtlSeconds: 86_400,
    },
    { dataDir: storeDir },
  );
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-queue-'));
  let host: Awaited<ReturnType<typeof startConsoleHost>> | null = null;
  const browser = await launchChromium();
  try {
    const p = a.services.pipeline;
    const principals: DevicePrincipal[] = [];
    for (const [i, c] of ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'].entries()) {
      const d = await verifiedDevice(a.url, c, `13579${i}`);
      principals.push(
        await a.services.devices.verifyRequest(`Device ${d.token}`, await d.proof('GET', '/x'), 'GET', '/x'),
      );
    }
    let next = 0;
    const create = async () => {
      const r = await p.createRequest(principals[next % 3]!, next % 2 ? 'other' : 'lost-card');
      next++;
      if (r.status !== 'queued') throw new Error(`not queued: ${JSON.stringify(r)}`);
      return r.request.requestId;
    };
    console.log(`  creating ${rows.toLocaleString('en-US')} requests through Pipeline.createRequest…`);
    const t0 = performance.now();
    const live: string[] = [];
    for (let i = 0; i < rows; i++) live.push(await create());
    const seedSeconds = (performance.now() - t0) / 1000;

    host = await startConsoleHost(a.url, join(dir, 'console'));
    const t = await newTestPage(browser, 'bench-queue-view', { viewport: { width: 1280, height: 800 } });
    const { page } = t;
    await allowNamedFunctions(page);
    await page.goto(host.launchUrl);
    const t1 = performance.now();
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('queue-count').getByText(`${rows} waiting`).waitFor({ timeout: 300_000 });
    const loadSeconds = (performance.now() - t1) / 1000;
    await sleep(2000);

    console.log(
      `  ${seconds} s of frames with the queue idle (baseline), then ${seconds} s at ${rate} updates/s`,
    );
    const idle = await frames(page, seconds * 1000, scrollPx);

    // The stream: every 10 ms the updates due by now, alternating a new request and the oldest one leaving.
    let sent = 0;
    let streaming = true;
    const started = performance.now();
    const stream = (async () => {
      while (streaming) {
        const due = Math.floor(((performance.now() - started) / 1000) * rate);
        for (; sent < due; sent++) {
          if (sent % 2 === 0) live.push(await create());
          else await p.abandon(live.shift()!, 'customer_left');
        }
        await sleep(10);
      }
    })();
    const measured = await frames(page, seconds * 1000, scrollPx);
    streaming = false;
    await stream;
    const finalCount = (await page.getByTestId('queue-count').textContent()) ?? '';
    if (t.consoleErrors.length) console.log(`  console errors in the page: ${t.consoleErrors.join('; ')}`);
    await t.close();
    return {
      storeDir,
      rows,
      rate,
      seconds,
      seedSeconds,
      loadSeconds,
      updatesSent: sent,
      idle,
      streaming: measured,
      finalCount,
    };
  } finally {
    await browser.close();
    await host?.stop();
    await a.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printQueueView(f: QueueViewFigures): void {
  console.log(
    `\n  queue view: ${f.rows.toLocaleString('en-US')} waiting requests (real, created through Pipeline.createRequest in ` +
      `${fmt(f.seedSeconds, 1)} s; sign-in to the full list on screen ${fmt(f.loadSeconds, 1)} s), scrolling, ` +
      `${f.seconds} s per phase; the authority's store in ${f.storeDir.startsWith('/dev/shm') ? 'tmpfs (/dev/shm)' : f.storeDir}`,
  );
  const row = (what: string, s: FrameStats) => [
    what,
    `${s.frames} (${fmt(s.frames / s.seconds, 1)}/s)`,
    fmt(pct(s.deltas, 50), 1),
    fmt(pct(s.deltas, 95), 1),
    fmt(pct(s.deltas, 99), 1),
    fmt(Math.max(...s.deltas), 1),
    `${s.longTasks} (${fmt(s.longTaskMs, 0)} ms, longest ${fmt(s.longestTaskMs, 0)})`,
    `${fmt(s.upserts / s.seconds, 1)}/s in ${s.deltasReceived} deltas`,
    String(s.domRows),
  ];
  printTable(
    [
      'phase',
      'frames',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'max ms',
      'long tasks',
      'updates received',
      'rows in DOM',
    ],
    [row('baseline: queue idle', f.idle), row(`${f.rate} updates/s streaming in`, f.streaming)],
  );
  console.log(
    `  updates sent by the authority: ${f.updatesSent} (Pipeline.createRequest / Pipeline.abandon in turn); ` +
      `ratio streaming / idle: p95 ${fmt(pct(f.streaming.deltas, 95) / pct(f.idle.deltas, 95), 2)}x, ` +
      `p99 ${fmt(pct(f.streaming.deltas, 99) / pct(f.idle.deltas, 99), 2)}x; the page shows "${f.finalCount}"`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) printQueueView(await benchQueueView());
