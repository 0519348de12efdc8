/**
 * Supervisor "Listen" click -> first audio heard (issue 13), through Kamailio with the media
 * anchored in rtpengine (as in production). The agent (console in browser mode, Chromium,
 * microphone fed 440 Hz) calls a verified customer (customer app, Chromium, 1 kHz); a
 * supervisor (console, Chromium, 700 Hz) on the board clicks Listen on the call; t1 is when
 * the agent's tone is heard in the supervisor's monitor audio (AnalyserNode, three polls of
 * 100 ms above -50 dB, so each figure includes ~300 ms of detection); then Leave, hang up,
 * and the next call. Baseline in the same run and on the same media path: the customer's
 * Answer click -> the agent hears the customer (a new anchored WebRTC leg, same detector).
 * Printed: p50/p95 of both and their ratio (what a monitoring subscription costs over a leg).
 *
 *   npx tsx bench/monitor-listen.ts        (VD_BENCH_LISTEN_N, default 10 calls)
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
import { startRtpengine } from '../test/support/rtpengine.ts';
import { pct } from './console-support.ts';

const N = Number(process.env.VD_BENCH_LISTEN_N ?? 10);
const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';

export interface ListenFigures {
  /** Listen click -> the agent's tone heard by the supervisor (ms). */
  listen: number[];
  /** Answer click -> the customer's tone heard by the agent (ms): the baseline. */
  leg: number[];
}

export async function benchMonitorListen(): Promise<ListenFigures> {
  await ensureRendererBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-listen-'));
  const media = (hz: number) => {
    writeToneWav(join(dir, `tone-${hz}.wav`), hz, 60);
    return [
      '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${join(dir, `tone-${hz}.wav`)}`,
    ];
  };
  const rtpengine = await startRtpengine({ recording: true });
  const kamailio = await startKamailio({ secret: SECRET, domain: DOMAIN, rtpengineSock: rtpengine.ngSock });
  const [app, customerBrowser, agentBrowser, supBrowser] = await Promise.all([
    startAppAuthority({
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      sipWsUrl: kamailio.wsUrl,
      rtpengineNg: rtpengine.ngSock,
      recordingDir: rtpengine.recordingDir!,
    }),
    launchChromium({ extraArgs: media(1000) }),
    launchChromium({ extraArgs: media(440) }),
    launchChromium({ extraArgs: media(700) }),
  ]);
  const dataDirs = ['agent', 'supervisor'].map((who) =>
    mkdtempSync(join(tmpdir(), `vd-bench-listen-${who}-`)),
  );
  const [agentMode, supMode] = await Promise.all(
    dataDirs.map((dataDir) =>
      startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir, sipUrl: kamailio.wsUrl }),
    ),
  );
  const figures: ListenFigures = { listen: [], leg: [] };
  try {
    const phone = await openPhone(customerBrowser, app, 'bench-listen-customer');
    await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
    const agentTab = await newTestPage(agentBrowser, 'bench-listen-agent', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
    });
    const supTab = await newTestPage(supBrowser, 'bench-listen-supervisor', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
    });
    const agent = agentTab.page;
    const sup = supTab.page;
    await agent.goto(agentMode!.launchUrl);
    await signIn(agent, 'agent1', 'demo-agent-1');
    await agent.getByTestId('presence').waitFor();
    await agent.getByLabel('Change presence').selectOption('available');
    await phone.page.getByRole('button', { name: 'Get help' }).click();
    await phone.page.getByRole('button', { name: /^Something else/ }).click();
    await agent
      .getByRole('region', { name: /Bob Okafor/ })
      .filter({ hasText: 'New request' })
      .waitFor();
    await agent.keyboard.press('Control+Enter');
    const status = agent.getByTestId('call-status');
    await status.getByText('Ready to call').waitFor();
    await sup.goto(supMode!.launchUrl);
    await signIn(sup, 'supervisor', 'demo-supervisor');
    await sup.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Board' }).click();
    const listen = sup.getByRole('button', { name: "Listen to Bob Okafor's call" });

    for (let i = 0; i < N; i++) {
      await agent.getByRole('button', { name: 'Call customer' }).click();
      const answer = phone.page.getByRole('button', { name: 'Answer call' });
      await answer.waitFor();
      const t0 = Date.now();
      await answer.click();
      const heard = await detectTone(agent, 'audio[data-testid="remote-audio"]');
      if (!heard.hz) throw new Error(`call ${i + 1}: the agent hears nothing (${heard.why})`);
      figures.leg.push(Date.now() - t0);
      await status.getByText(/^On the call/).waitFor();

      await listen.waitFor();
      const t1 = Date.now();
      await listen.click();
      const tone = await detectTone(sup, 'audio[data-testid="monitor-audio-agent"]');
      if (!tone.hz) throw new Error(`call ${i + 1}: the supervisor hears nothing (${tone.why})`);
      figures.listen.push(Date.now() - t1);

      await sup.getByRole('button', { name: "Leave Bob Okafor's call" }).click();
      await listen.waitFor();
      await agent.getByRole('button', { name: /^Hang up/ }).click();
      await status.getByText('Ready to call').waitFor();
      await phone.page.getByRole('button', { name: 'Done' }).click();
    }
    await agentTab.close();
    await supTab.close();
    await phone.t.close();
  } finally {
    await customerBrowser.close();
    await agentBrowser.close();
    await supBrowser.close();
    await agentMode?.close();
    await supMode?.close();
    await app.a.dispose();
    await kamailio.stop();
    await rtpengine.stop();
    for (const d of [dir, ...dataDirs]) rmSync(d, { recursive: true, force: true });
  }
  console.log(`\nSupervisor Listen, Kamailio + rtpengine, ${N} calls`);
  console.log(
    `  Listen click -> agent heard:   p50 ${pct(figures.listen, 50)} ms, p95 ${pct(figures.listen, 95)} ms\n` +
      `  Answer click -> customer heard (baseline leg): p50 ${pct(figures.leg, 50)} ms, p95 ${pct(figures.leg, 95)} ms\n` +
      `  ratio listen / leg: p50 ${(pct(figures.listen, 50) / pct(figures.leg, 50)).toFixed(2)}, ` +
      `p95 ${(pct(figures.listen, 95) / pct(figures.leg, 95)).toFixed(2)}`,
  );
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await benchMonitorListen();
