/**
 * What the console benches (tap-to-offer, console-load, queue-view) share: percentiles,
 * process memory from /proc, the Chromium process tree, a verified device, the UI steps
 * of an agent, and the offset between the page's clock and this process's clock.
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { WS_PATH } from '../protocol/src/index.ts';
import { TestDevice } from '../test/support/device.ts';
import { bearer, call, staffLogin } from '../test/support/http.ts';

export const pct = (xs: readonly number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

export const fmt = (x: number, d = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '-';

export const mib = (kib: number): string => (Number.isFinite(kib) ? `${fmt(kib / 1024, 1)} MiB` : '-');

/** Epoch milliseconds with sub-millisecond resolution (monotonic within this process). */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/**
 * A table row maker for figures against a same-run baseline `raw`: the stage, p50, p95 and
 * max in ms, and the ratios to the baseline's p50 / p95 (or '-' for the baseline itself).
 */
export function rowsAgainst(raw: readonly number[]) {
  const rawP50 = pct(raw, 50);
  const rawP95 = pct(raw, 95);
  return (what: string, xs: number[], baseline = true): string[] => [
    what,
    fmt(pct(xs, 50), 1),
    fmt(pct(xs, 95), 1),
    fmt(Math.max(...xs), 1),
    baseline ? `${fmt(pct(xs, 50) / rawP50, 1)}x / ${fmt(pct(xs, 95) / rawP95, 1)}x` : '-',
  ];
}

/** A markdown-style table with padded columns. */
export function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => (c ?? '').padEnd(widths[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

// ---- memory ------------------------------------------------------------------

/** Resident set size (VmRSS) and proportional set size (Pss, shared pages split between their users) in KiB. */
export function processMemory(pid: number): { rssKiB: number; pssKiB: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    let pss = NaN;
    try {
      pss = Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? NaN);
    } catch {
      // smaps_rollup needs a 4.14+ kernel and permission; RSS is enough then.
    }
    return Number.isFinite(rss) ? { rssKiB: rss, pssKiB: pss } : null;
  } catch {
    return null; // the process is gone
  }
}

export interface ChromiumProcess {
  pid: number;
  /**
   * The --type= of the process: 'browser' for the root, 'renderer' for page renderers,
   * 'renderer-webui' for the browser's own UI renderer, 'gpu-process', 'utility', 'zygote'...
   */
  type: string;
  rssKiB: number;
  pssKiB: number;
}

const parentOf = (pid: number | string): number | null => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so cut after the last ')'.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null; // exited while we looked
  }
};

/** The command line as one string (Chromium's zygote children rewrite theirs to one space-separated string). */
const commandLine = (pid: number | string): string | null => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return null;
  }
};

/** Every process under `rootPid` (the browser), with its Chromium type and memory. */
export function chromiumTree(rootPid: number): ChromiumProcess[] {
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const ppid = parentOf(e);
    if (ppid !== null) parent.set(Number(e), ppid);
  }
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, i = 0; p && i < 64; p = parent.get(p), i++)
      if (p === rootPid) return true;
    return false;
  };
  const out: ChromiumProcess[] = [];
  for (const pid of parent.keys()) {
    if (!inTree(pid)) continue;
    const mem = processMemory(pid);
    const cmd = commandLine(pid);
    if (!mem || cmd === null) continue;
    let type = /--type=(\S+)/.exec(cmd)?.[1] ?? (pid === rootPid ? 'browser' : 'other');
    if (type === 'renderer' && cmd.includes('--top-chrome-webui')) type = 'renderer-webui';
    out.push({ pid, type, ...mem });
  }
  return out;
}

/** Sum of RSS and PSS by process type. */
export function memoryByType(
  tree: ChromiumProcess[],
): Map<string, { n: number; rssKiB: number; pssKiB: number }> {
  const out = new Map<string, { n: number; rssKiB: number; pssKiB: number }>();
  for (const p of tree) {
    const m = out.get(p.type) ?? { n: 0, rssKiB: 0, pssKiB: 0 };
    m.n++;
    m.rssKiB += p.rssKiB;
    m.pssKiB += p.pssKiB;
    out.set(p.type, m);
  }
  return out;
}

/** Chromium root processes (no --type=) that are children of this process. */
function chromiumRoots(): Set<number> {
  const roots = new Set<number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || parentOf(e) !== process.pid) continue;
    const cmd = commandLine(e) ?? '';
    if (/chrom/.test(cmd.split(' ')[0] ?? '') && !cmd.includes('--type=')) roots.add(Number(e));
  }
  return roots;
}

/**
 * Launch Chromium and find its root pid (playwright-core spawns it as a child of this
 * process; the new root is the one that was not there before).
 */
export async function launchTracked(
  launch: () => Promise<Browser>,
): Promise<{ browser: Browser; pid: number }> {
  const before = chromiumRoots();
  const browser = await launch();
  const added = [...chromiumRoots()].filter((p) => !before.has(p));
  if (added.length !== 1) {
    await browser.close();
    throw new Error(`expected one new Chromium process, found ${added.length}`);
  }
  return { browser, pid: added[0]! };
}

/**
 * tsx (esbuild, keepNames) compiles named inner functions to `__name(fn, 'name')` calls; a
 * function passed to page.evaluate runs in the page, where `__name` does not exist. Define
 * it there (before any script of the page, and in the current document).
 */
export async function allowNamedFunctions(page: Page): Promise<void> {
  const script = 'globalThis.__name = globalThis.__name || ((fn) => fn);';
  await page.context().addInitScript({ content: script });
  await page.evaluate(script);
}

// ---- clocks ------------------------------------------------------------------

/**
 * The page's epoch clock (performance.timeOrigin + now) minus this process's, estimated
 * from the quickest of `rounds` round trips: page time - offset = bench time, good to
 * +- uncertaintyMs.
 */
export async function pageClockOffset(
  page: Page,
  rounds = 15,
): Promise<{ offsetMs: number; uncertaintyMs: number }> {
  let best = { offsetMs: 0, uncertaintyMs: Infinity };
  for (let i = 0; i < rounds; i++) {
    const a = nowMs();
    const p = await page.evaluate(() => performance.timeOrigin + performance.now());
    const b = nowMs();
    if ((b - a) / 2 < best.uncertaintyMs) best = { offsetMs: p - (a + b) / 2, uncertaintyMs: (b - a) / 2 };
  }
  return best;
}

// ---- the authority side ----------------------------------------------------------

/** An enrolled device of a demo customer, authenticated by device key and PIN (level 2: "Verified" for level-2 options). */
export async function verifiedDevice(
  authorityUrl: string,
  customerId: string,
  pin: string,
): Promise<TestDevice> {
  const admin = (await staffLogin(authorityUrl, 'admin', 'demo-admin-1')).token;
  const code = await call(authorityUrl, 'POST', `/v1/admin/customers/${customerId}/enrolment-codes`, {
    headers: bearer(admin),
  });
  if (code.status !== 201 && code.status !== 200)
    throw new Error(`enrolment code: ${code.status} ${JSON.stringify(code.body)}`);
  const d = await new TestDevice(authorityUrl).enrolAndAuthenticate(code.body.code);
  const set = await d.call('PUT', '/v1/device/pin', { json: { pin } });
  if (set.status !== 200) throw new Error(`set PIN: ${set.status} ${JSON.stringify(set.body)}`);
  const step = await d.call('POST', '/v1/device/authentication/pin', { json: { pin } });
  if (step.body?.level !== 2) throw new Error(`PIN step-up: ${step.status} ${JSON.stringify(step.body)}`);
  return d;
}

// ---- the agent's UI steps -----------------------------------------------------------

/** The console's sign-in form, as the e2e tests fill it. */
export { signIn } from '../test/e2e/console-harness.ts';

/** Choose the first option at each disposition level until the path ends on a leaf, add notes, save. */
export async function saveFirstDisposition(page: Page, notes: string): Promise<void> {
  const save = page.getByRole('button', { name: 'Save wrap-up' });
  await save.waitFor();
  for (const level of ['Outcome', 'Detail', 'Reason', 'Sub-reason']) {
    if (await save.isEnabled()) break;
    const group = page.getByRole('group', { name: level });
    await group.waitFor();
    await group.getByRole('radio').first().check();
  }
  await page.getByLabel('Notes').fill(notes);
  await save.click();
}

/**
 * A raw agent WebSocket (a test client, no UI): the arrival time (this process's clock) of
 * the first frame `pick` names each request id in. `subscribe` asks for the queue feed.
 * The baseline of the console benches: what the authority sends, before any UI.
 */
export async function rawAgentFrames(
  authorityUrl: string,
  accessToken: string,
  pick: (frame: any) => readonly string[],
  opts: { subscribe?: 'queues' } = {},
) {
  const ws = new WebSocket(authorityUrl.replace(/^http/, 'ws') + WS_PATH);
  const arrivals = new Map<string, number>();
  const waiters = new Map<string, (t: number) => void>();
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken } })));
    ws.on('message', (data) => {
      const t = nowMs();
      const f = JSON.parse(String(data));
      if (f.type === 'welcome') {
        if (opts.subscribe) ws.send(JSON.stringify({ type: 'subscribe', topic: opts.subscribe }));
        resolve();
        return;
      }
      for (const id of pick(f))
        if (!arrivals.has(id)) {
          arrivals.set(id, t);
          waiters.get(id)?.(t);
        }
    });
  });
  return {
    at(requestId: string, timeoutMs = 20_000): Promise<number> {
      const t = arrivals.get(requestId);
      if (t !== undefined) return Promise.resolve(t);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no raw frame for ${requestId}`)), timeoutMs);
        waiters.set(requestId, (at) => {
          clearTimeout(timer);
          waiters.delete(requestId);
          resolve(at);
        });
      });
    },
    close: () => ws.terminate(),
  };
}
