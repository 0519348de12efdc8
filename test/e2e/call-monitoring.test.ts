/**
 * Supervisor monitoring of an anchored call, end to end in three Chromium processes
 * (each with its own fake microphone): the agent's console (440 Hz) calls the customer
 * app (1 kHz) through Kamailio + rtpengine (recorded, so the authority knows the call),
 * and a supervisor's console (700 Hz) on the board:
 *
 * - Listen: the supervisor hears the agent's tone and the customer's, each in its own
 *   <audio> element (rtpengine `subscribe request`, one m= per party); the agent sees
 *   "… is listening to this call" (the site's policy VD_MONITOR_NOTICE is on here);
 * - an agent trying to monitor is refused (403, audited);
 * - Whisper: the agent hears the supervisor's tone, the customer does not;
 * - Barge: all three hear each other (the agent's console mixes the supervisor's audio
 *   into what it sends the customer);
 * - Leave: the supervisor's streams stop (no element plays, rtpengine forks nothing to
 *   them), the customer no longer hears the supervisor, the agent's marker goes;
 * - audit rows for every step. Prints Listen click -> first tone heard.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { NgClient } from '../../authority/src/media/rtpengine-ng.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { until } from '../support/wait.ts';
import { writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';
const AGENT_HZ = 440;
const CUSTOMER_HZ = 1000;
const SUPERVISOR_HZ = 700;
/** Heard: above -50 dB; not heard: never above -60 dB while the window lasts. */
const HEARD_DB = -50;
const SILENT_DB = -60;
/** How long a "does not hear" is listened for (the other tone of the same stream is heard meanwhile). */
const WINDOW_MS = 3000;

/**
 * Runs in the page (plain JavaScript text): the level of each frequency (dB, the
 * loudest of ±3 FFT bins around it) in the stream of the <audio> element `selector`.
 * mode "heard": resolves once every frequency was above HEARD_DB for three polls in a
 * row (or at the deadline with what was missing); mode "window": listens for windowMs
 * and reports each frequency's loudest level and how many polls heard it.
 */
const LEVELS = `async (selector, freqs, mode, heardDb, ms) => {
  const t0 = performance.now();
  const deadline = t0 + ms;
  const pause = () => new Promise((r) => setTimeout(r, 100));
  let el = document.querySelector(selector);
  while (!(el && el.srcObject && el.srcObject.getAudioTracks().length > 0)) {
    if (performance.now() > deadline) return { ok: false, why: 'no stream in ' + selector, max: {}, hits: {}, polls: 0, ms };
    await pause();
    el = document.querySelector(selector);
  }
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 16384;
  analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(el.srcObject).connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  const max = {}, hits = {}, run = {};
  for (const f of freqs) { max[f] = -Infinity; hits[f] = 0; run[f] = 0; }
  let polls = 0;
  while (performance.now() < deadline) {
    await pause();
    analyser.getFloatFrequencyData(bins);
    polls++;
    for (const f of freqs) {
      const i = Math.round((f * analyser.fftSize) / ctx.sampleRate);
      let db = -Infinity;
      for (let j = i - 3; j <= i + 3; j++) if (bins[j] > db) db = bins[j];
      if (db > max[f]) max[f] = db;
      if (db > heardDb) { hits[f]++; run[f]++; } else run[f] = 0;
    }
    if (mode === 'heard' && freqs.every((f) => run[f] >= 3)) {
      await ctx.close();
      return { ok: true, max, hits, polls, ms: performance.now() - t0 };
    }
  }
  await ctx.close();
  return { ok: mode === 'window', why: mode === 'heard' ? 'not every tone heard' : undefined, max, hits, polls, ms: performance.now() - t0 };
}`;

interface Levels {
  ok: boolean;
  why?: string;
  max: Record<string, number | null>;
  hits: Record<string, number>;
  polls: number;
  ms: number;
}
const levels = (page: Page, selector: string, freqs: number[], mode: 'heard' | 'window', ms: number) =>
  page.evaluate(
    `(${LEVELS})(${JSON.stringify(selector)}, ${JSON.stringify(freqs)}, ${JSON.stringify(mode)}, ${HEARD_DB}, ${ms})`,
  ) as Promise<Levels>;

/** Every tone in `freqs` is heard in `selector` (within 20 s). */
async function hears(page: Page, who: string, selector: string, freqs: number[]): Promise<Levels> {
  const l = await levels(page, selector, freqs, 'heard', 20_000);
  assert.ok(l.ok, `${who} should hear ${freqs.join(' + ')} Hz in ${selector}: ${JSON.stringify(l)}`);
  return l;
}

/** `heard` is heard and `not` never rises above SILENT_DB in `selector` over WINDOW_MS. */
async function hearsOnly(page: Page, who: string, selector: string, heard: number, not: number) {
  await hears(page, who, selector, [heard]);
  const l = await levels(page, selector, [heard, not], 'window', WINDOW_MS);
  assert.ok(l.hits[heard]! > l.polls / 2, `${who} keeps hearing ${heard} Hz: ${JSON.stringify(l)}`);
  assert.ok((l.max[not] ?? -Infinity) < SILENT_DB, `${who} must not hear ${not} Hz: ${JSON.stringify(l)}`);
  return l;
}

const fmt = (l: Levels) =>
  Object.entries(l.max)
    .map(([f, db]) => `${f} Hz ${db === null || !Number.isFinite(db) ? '-inf' : db.toFixed(0)} dB`)
    .join(', ');

describe('supervisor monitoring through Kamailio + rtpengine: listen, whisper, barge, leave', () => {
  let app: AppAuthority;
  let kamailio: RunningKamailio;
  let rtpengine: RunningRtpengine;
  let agentMode: BrowserMode;
  let supervisorMode: BrowserMode;
  let customerBrowser: Browser;
  let agentBrowser: Browser;
  let supervisorBrowser: Browser;
  const dirs: string[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-call-monitoring-'));
    dirs.push(dir);
    const media = (hz: number) => {
      writeToneWav(join(dir, `tone-${hz}.wav`), hz, 60);
      return [
        '--allow-loopback-in-peer-connection',
        `--use-file-for-fake-audio-capture=${join(dir, `tone-${hz}.wav`)}`,
      ];
    };
    rtpengine = await startRtpengine({ recording: true });
    kamailio = await startKamailio({ secret: SECRET, domain: DOMAIN, rtpengineSock: rtpengine.ngSock });
    [app, customerBrowser, agentBrowser, supervisorBrowser] = await Promise.all([
      startAppAuthority({
        sipSecret: SECRET,
        sipDomain: DOMAIN,
        sipWsUrl: kamailio.wsUrl,
        rtpengineNg: rtpengine.ngSock,
        recordingDir: rtpengine.recordingDir!,
        recordingSweepSeconds: 1,
        // The site's policy here: the agent is told when a supervisor listens.
        monitorNotice: true,
      }),
      launchChromium({ extraArgs: media(CUSTOMER_HZ) }),
      launchChromium({ extraArgs: media(AGENT_HZ) }),
      launchChromium({ extraArgs: media(SUPERVISOR_HZ) }),
      ensureRendererBuilt(),
    ]);
    const modes = await Promise.all(
      ['agent', 'supervisor'].map((who) => {
        const dataDir = mkdtempSync(join(tmpdir(), `vd-call-monitoring-${who}-`));
        dirs.push(dataDir);
        return startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir, sipUrl: kamailio.wsUrl });
      }),
    );
    [agentMode, supervisorMode] = modes as [BrowserMode, BrowserMode];
  });
  after(async () => {
    await customerBrowser?.close();
    await agentBrowser?.close();
    await supervisorBrowser?.close();
    await agentMode?.close();
    await supervisorMode?.close();
    await app?.a.dispose();
    await kamailio?.stop();
    await rtpengine?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('the supervisor listens, whispers to the agent only, barges in, and leaves; agents are refused; audited', async () => {
    const phone = await openPhone(customerBrowser, app, 'call-monitoring-customer');
    const agentTab = await newTestPage(agentBrowser, 'call-monitoring-agent', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    const supTab = await newTestPage(supervisorBrowser, 'call-monitoring-supervisor', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    const agent = agentTab.page;
    const sup = supTab.page;
    for (const p of [agent, sup, phone.page]) p.setDefaultTimeout(30_000);
    const ng = new NgClient(rtpengine.ngSock);
    const pageLog: string[] = [];
    for (const [who, p] of [
      ['supervisor', sup],
      ['agent', agent],
    ] as const)
      p.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') pageLog.push(`${who}: ${m.text()}`);
      });
    try {
      // The agent calls the customer through Kamailio + rtpengine (recorded: the authority knows the call).
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
      await agent.goto(agentMode.launchUrl);
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
      await agent.getByRole('button', { name: 'Call customer' }).click();
      await phone.page.getByRole('button', { name: 'Answer call' }).click();
      await status.getByText(/^On the call/).waitFor();
      await agent.getByTestId('recording-state').getByText('Recording').waitFor();
      const live = await until(
        'the authority knows the call',
        async () => (await app.a.services.ctx.data.read.recordings.allLive())[0],
      );
      const requestId = live.request_id;
      const callId = live.call_id;
      await hears(agent, 'the agent', 'audio[data-testid="remote-audio"]', [CUSTOMER_HZ]);
      await hears(phone.page, 'the customer', '#vd-remote-audio', [AGENT_HZ]);

      // An agent cannot monitor (the holder nor a colleague): 403, audited.
      const colleague = (await staffLogin(app.a.url, 'agent2', 'demo-agent-2')).token;
      const refused = await api(app.a.url, 'monitorListen', {
        params: { requestId },
        headers: bearer(colleague),
      });
      assert.equal(refused.status, 403, JSON.stringify(refused.body));

      // The supervisor's board: Listen on the request's row.
      await sup.goto(supervisorMode.launchUrl);
      await signIn(sup, 'supervisor', 'demo-supervisor');
      await sup.getByRole('navigation', { name: 'Screens' }).getByRole('button', { name: 'Board' }).click();
      const listenButton = sup.getByRole('button', { name: "Listen to Bob Okafor's call" });
      await listenButton.waitFor();
      await supTab.screenshot('1-board-before');
      const clicked = Date.now();
      await listenButton.click();
      const state = sup.getByTestId('monitor-state');
      await state.getByText('Listening').waitFor();
      const atSupAgent = await hears(sup, 'the supervisor', 'audio[data-testid="monitor-audio-agent"]', [
        AGENT_HZ,
      ]);
      const listenMs = Date.now() - clicked;
      const atSupCustomer = await hears(
        sup,
        'the supervisor',
        'audio[data-testid="monitor-audio-customer"]',
        [CUSTOMER_HZ],
      );
      await supTab.screenshot('2-listening');
      // The site's policy tells the agent that a supervisor listens.
      await agent.getByTestId('monitor-coached').getByText('Morgan Lee is listening to this call').waitFor();
      await agentTab.screenshot('0-listened-to');
      // Listening changes nothing for the parties: the customer hears the agent only.
      await hearsOnly(phone.page, 'the customer (listen)', '#vd-remote-audio', AGENT_HZ, SUPERVISOR_HZ);

      // Whisper: the agent hears the supervisor, the customer does not.
      await sup.getByRole('button', { name: "Whisper to the agent on Bob Okafor's call" }).click();
      await state.getByText('Whispering to the agent').waitFor();
      await agent
        .getByTestId('monitor-coached')
        .getByText(/is whispering to you/)
        .waitFor();
      const whisperAtAgent = await hears(
        agent,
        'the agent (whisper)',
        'audio[data-testid="monitor-audio-supervisor"]',
        [SUPERVISOR_HZ],
      );
      await hears(agent, 'the agent (whisper)', 'audio[data-testid="remote-audio"]', [CUSTOMER_HZ]);
      const whisperAtCustomer = await hearsOnly(
        phone.page,
        'the customer (whisper)',
        '#vd-remote-audio',
        AGENT_HZ,
        SUPERVISOR_HZ,
      );
      await agentTab.screenshot('1-whispered-to');
      await supTab.screenshot('3-whispering');

      // Barge: all three hear each other.
      await sup.getByRole('button', { name: "Barge into Bob Okafor's call" }).click();
      await state.getByText('On the call (barge)').waitFor();
      await agent
        .getByTestId('monitor-coached')
        .getByText(/joined the call/)
        .waitFor();
      const bargeAtCustomer = await hears(phone.page, 'the customer (barge)', '#vd-remote-audio', [
        AGENT_HZ,
        SUPERVISOR_HZ,
      ]);
      await hears(agent, 'the agent (barge)', 'audio[data-testid="monitor-audio-supervisor"]', [
        SUPERVISOR_HZ,
      ]);
      await hears(agent, 'the agent (barge)', 'audio[data-testid="remote-audio"]', [CUSTOMER_HZ]);
      await hears(sup, 'the supervisor (barge)', 'audio[data-testid="monitor-audio-agent"]', [AGENT_HZ]);
      await hears(sup, 'the supervisor (barge)', 'audio[data-testid="monitor-audio-customer"]', [
        CUSTOMER_HZ,
      ]);
      await supTab.screenshot('4-barging');
      await agentTab.screenshot('2-barged');
      await phone.t.screenshot('1-barge');

      // Leave: the supervisor's streams stop, nobody hears them any more.
      await sup.getByRole('button', { name: "Leave Bob Okafor's call" }).click();
      await listenButton.waitFor();
      assert.equal(await sup.locator('audio[data-testid^="monitor-audio-"]').count(), 0);
      const forked = await until('rtpengine forks nothing to the supervisor', async () => {
        const q = await ng.command('query', { 'call-id': callId });
        const tags = Object.values(q.tags as Record<string, { tag: string; subscriptions: unknown[] }>);
        const subscribed = tags.filter((t) => t.tag.startsWith('vdmon.') && t.subscriptions.length > 0);
        return subscribed.length === 0 ? tags.length : undefined;
      });
      await agent.getByTestId('monitor-coached').waitFor({ state: 'detached' });
      assert.equal(await agent.locator('audio[data-testid="monitor-audio-supervisor"]').count(), 0);
      const afterLeave = await hearsOnly(
        phone.page,
        'the customer (after leave)',
        '#vd-remote-audio',
        AGENT_HZ,
        SUPERVISOR_HZ,
      );
      await supTab.screenshot('5-left');
      await status.getByText(/^On the call/).waitFor();

      await agent.getByRole('button', { name: /^Hang up/ }).click();
      await status.getByText('Ready to call').waitFor();

      const supervisorId = (await staffLogin(app.a.url, 'supervisor', 'demo-supervisor')).staffId;
      const audit = await app.a.sql<{ action: string; outcome: string; actor: string }>`
        SELECT action, outcome, actor FROM audit_log
        WHERE subject = ${`request:${requestId}`} AND action LIKE ${'monitor.%'} ORDER BY seq`;
      assert.deepEqual(
        audit.map(
          (e) => `${e.actor === `staff:${supervisorId}` ? 'supervisor' : 'agent'} ${e.action} ${e.outcome}`,
        ),
        [
          'agent monitor.listen failure',
          'supervisor monitor.listen success',
          'supervisor monitor.whisper success',
          'supervisor monitor.barge success',
          'supervisor monitor.leave success',
        ],
      );
      console.log(
        `# supervisor monitoring through Kamailio + rtpengine: Listen click -> agent's tone heard ${listenMs} ms ` +
          `(tone detected ${atSupAgent.ms.toFixed(0)} ms after the stream showed); listen: ${fmt(atSupAgent)} / ${fmt(atSupCustomer)}; ` +
          `whisper: agent hears ${fmt(whisperAtAgent)}, customer ${fmt(whisperAtCustomer)}; barge: customer ${fmt(bargeAtCustomer)}; ` +
          `after leave: customer ${fmt(afterLeave)}; rtpengine tags left on the call: ${forked}`,
      );
    } catch (e) {
      await supTab.screenshot('failed').catch(() => undefined);
      await agentTab.screenshot('failed').catch(() => undefined);
      console.log(`# page errors:\n${pageLog.join('\n')}`);
      throw e;
    } finally {
      ng.close();
      await agentTab.close();
      await supTab.close();
      await phone.t.close();
    }
  });
});
