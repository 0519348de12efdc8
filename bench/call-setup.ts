/**
 * Call setup, console to verified device, in the same run through: the embedded SIP edge
 * (peer to peer), the edge with media relayed by coturn (TURN REST credentials from the
 * authority, ICE transport policy "relay": both browsers' only candidates are relays),
 * Kamailio (peer to peer media), and Kamailio with the media anchored in rtpengine (ICE
 * and DTLS-SRTP on both legs, recorded as in production). The agent (console in browser mode, Chromium, microphone
 * fed 440 Hz) has accepted a verified customer's request and clicks "Call customer";
 * the customer app (Chromium, microphone fed 1 kHz) rings; Answer; both sides hear
 * the other's tone (AnalyserNode on the remote audio, three polls of 100 ms above
 * -50 dB, so each "audio" figure includes ~300 ms of detection). The customer hangs
 * up; the next call follows. Printed: p50/p95 of click -> ringing on the device and
 * click -> two-way audio, per path, and each path's ratio to the edge's (peer to peer).
 *
 *   npx tsx bench/call-setup.ts            (VD_BENCH_CALLS, default 20 calls per path;
 *                                          VD_BENCH_CALL_PATHS, default edge,turn,kamailio,anchored)
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
import { startCoturn } from '../test/support/coturn.ts';
import { startKamailio } from '../test/support/kamailio.ts';
import { startRtpengine } from '../test/support/rtpengine.ts';

const CALLS = Number(process.env.VD_BENCH_CALLS ?? 20);
const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';

import { pct } from './console-support.ts';

export { pct };

export interface Figures {
  ring: number[];
  audio: number[];
}

/** The ways a call's signalling and media can go. */
export const PATHS = ['edge', 'turn', 'kamailio', 'anchored'] as const;
export type CallPath = (typeof PATHS)[number];
const WANTED: CallPath[] = (process.env.VD_BENCH_CALL_PATHS ?? PATHS.join(','))
  .split(',')
  .map((x) => x.trim())
  .filter((x): x is CallPath => (PATHS as readonly string[]).includes(x));

async function run(server: CallPath, dir: string): Promise<Figures> {
  const rtpengine = server === 'anchored' ? await startRtpengine({ recording: true }) : null;
  const turn = server === 'turn' ? await startCoturn({ allowLoopbackPeers: true }) : null;
  const kamailio =
    server === 'kamailio' || server === 'anchored'
      ? await startKamailio({
          secret: SECRET,
          domain: DOMAIN,
          ...(rtpengine ? { rtpengineSock: rtpengine.ngSock } : {}),
        })
      : null;
  const media = (wav: string) => [
    '--allow-loopback-in-peer-connection',
    `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
  ];
  const [app, customerBrowser, consoleBrowser] = await Promise.all([
    startAppAuthority({
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      ...(kamailio ? { sipWsUrl: kamailio.wsUrl } : {}),
      ...(rtpengine ? { rtpengineNg: rtpengine.ngSock, recordingDir: rtpengine.recordingDir! } : {}),
      ...(turn
        ? { turnUrls: [turn.turnUrl], turnSecret: turn.secret, iceTransportPolicy: 'relay' as const }
        : {}),
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
    await rtpengine?.stop();
    await turn?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return figures;
}

export async function benchCallSetup(): Promise<Partial<Record<CallPath, Figures>>> {
  await ensureRendererBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-tones-'));
  writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
  writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
  try {
    console.log(`\nCall setup: "Call customer" -> device ringing -> two-way audio, ${CALLS} calls per path`);
    const results: Partial<Record<CallPath, Figures>> = {};
    for (const server of WANTED) {
      const f = (results[server] = await run(server, dir));
      console.log(
        `  ${server.padEnd(9)} ringing p50 ${pct(f.ring, 50)} ms, p95 ${pct(f.ring, 95)} ms; ` +
          `two-way audio p50 ${pct(f.audio, 50)} ms, p95 ${pct(f.audio, 95)} ms`,
      );
    }
    const e = results.edge;
    if (e)
      for (const [server, f] of Object.entries(results))
        if (server !== 'edge')
          console.log(
            `  ratio ${server}/edge: ringing p50 ${(pct(f.ring, 50) / pct(e.ring, 50)).toFixed(2)}, ` +
              `two-way audio p50 ${(pct(f.audio, 50) / pct(e.audio, 50)).toFixed(2)}`,
          );
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchCallSetup();
