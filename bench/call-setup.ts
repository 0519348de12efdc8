/**
 * Call setup, console to verified device, through the embedded SIP edge and through
 * Kamailio in the same run: the agent (console in browser mode, Chromium, microphone
 * fed 440 Hz) has accepted a verified customer's request and clicks "Call customer";
 * the customer app (Chromium, microphone fed 1 kHz) rings; Answer; both sides hear
 * the other's tone (AnalyserNode on the remote audio, three polls of 100 ms above
 * -50 dB, so each "audio" figure includes ~300 ms of detection). The customer hangs
 * up; the next call follows. Printed: p50/p95 of click -> ringing on the device and
 * click -> two-way audio, per server, and the Kamailio/edge ratio.
 *
 *   npx tsx bench/call-setup.ts            (VD_BENCH_CALLS, default 20 calls per server)
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserMode } from '../main/core/browser-mode.ts';
import { detectTone, writeToneWav } from '../test/e2e/audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from '../test/e2e/console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
} from '../test/e2e/customer-app-harness.ts';
import { launchChromium, newTestPage } from '../test/support/browser.ts';
import { startKamailio } from '../test/support/kamailio.ts';

const CALLS = Number(process.env.VD_BENCH_CALLS ?? 20);
const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';

import { pct } from './console-support.ts';

export { pct };

export interface Figures {
  ring: number[];
  audio: number[];
}

async function run(server: 'edge' | 'kamailio', dir: string): Promise<Figures> {
  const kamailio = server === 'kamailio' ? await startKamailio({ secret: SECRET, domain: DOMAIN }) : null;
  const media = (wav: string) => [
    '--allow-loopback-in-peer-connection',
    `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
  ];
  const [app, customerBrowser, consoleBrowser] = await Promise.all([
    startAppAuthority({
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      ...(kamailio ? { sipWsUrl: kamailio.wsUrl } : {}),
    }),
    launchChromium({ extraArgs: media('tone-1000.wav') }),
    launchChromium({ extraArgs: media('tone-440.wav') }),
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-call-'));
  const mode = await startBrowserMode({
    authorityUrl: app.a.url,
    dataDir,
    rendererDir,
    ...(kamailio ? { sipUrl: kamailio.wsUrl } : {}),
  });
  const figures: Figures = { ring: [], audio: [] };
  try {
    const phone = await openPhone(customerBrowser, app, `bench-call-${server}-customer`);
    await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
    const c = await newTestPage(consoleBrowser, `bench-call-${server}`, {
      viewport: VIEWPORT,
      permissions: ['microphone'],
    });
    const page = c.page;
    await page.goto(mode.launchUrl);
    await signIn(page, 'agent1', 'demo-agent-1');
    await page.getByTestId('presence').waitFor();
    await page.getByLabel('Change presence').selectOption('available');
    await phone.page.getByRole('button', { name: 'Get help' }).click();
    await phone.page.getByRole('button', { name: /^Something else/ }).click();
    await page
      .getByRole('region', { name: /Bob Okafor/ })
      .filter({ hasText: 'New request' })
      .waitFor();
    await page.keyboard.press('Control+Enter');
    const status = page.getByTestId('call-status');
    await status.getByText('Ready to call').waitFor();
    const ringing = phone.page.getByRole('heading', {
      name: 'Verified call from Northwind Bank — Dana Reyes',
    });

    for (let i = 0; i < CALLS; i++) {
      const t0 = Date.now();
      await page.getByRole('button', { name: 'Call customer' }).click();
      await ringing.waitFor();
      figures.ring.push(Date.now() - t0);
      await phone.page.getByRole('button', { name: 'Answer call' }).click();
      const [a, b] = await Promise.all([
        detectTone(page, 'audio[data-testid="remote-audio"]'),
        detectTone(phone.page, '#vd-remote-audio'),
      ]);
      if (!a.hz || !b.hz) throw new Error(`call ${i + 1} through ${server}: no two-way audio`);
      figures.audio.push(Date.now() - t0);
      await phone.page.getByRole('button', { name: 'Hang up' }).click();
      await status.getByText('Ready to call').waitFor();
      await phone.page.getByRole('button', { name: 'Done' }).click();
    }
    await c.close();
    await phone.t.close();
  } finally {
    await customerBrowser.close();
    await consoleBrowser.close();
    await mode.close();
    await app.a.dispose();
    await kamailio?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return figures;
}

export async function benchCallSetup(): Promise<Record<'edge' | 'kamailio', Figures>> {
  await ensureRendererBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-tones-'));
  writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
  writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
  try {
    console.log(
      `\nCall setup: "Call customer" -> device ringing -> two-way audio, ${CALLS} calls per server`,
    );
    const results = {} as Record<'edge' | 'kamailio', Figures>;
    for (const server of ['edge', 'kamailio'] as const) {
      results[server] = await run(server, dir);
      const f = results[server]!;
      console.log(
        `  ${server.padEnd(9)} ringing p50 ${pct(f.ring, 50)} ms, p95 ${pct(f.ring, 95)} ms; ` +
          `two-way audio p50 ${pct(f.audio, 50)} ms, p95 ${pct(f.audio, 95)} ms`,
      );
    }
    const e = results.edge!;
    const k = results.kamailio!;
    console.log(
      `  ratio kamailio/edge: ringing p50 ${(pct(k.ring, 50) / pct(e.ring, 50)).toFixed(2)}, ` +
        `two-way audio p50 ${(pct(k.audio, 50) / pct(e.audio, 50)).toFixed(2)}`,
    );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCallSetup();
