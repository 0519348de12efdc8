/**
 * Call recording through Kamailio + rtpengine, end to end in two Chromium processes:
 * the console (microphone fed 440 Hz) calls the customer app (1 kHz) through Kamailio,
 * whose rtpengine (userspace, recording-method pcap) anchors and records the ticketed
 * call (offered G.711 only). The phone says "This call is recorded" while ringing and on
 * the call; the console shows "Recording", the agent pauses ("Recording paused") for a
 * few seconds and resumes; a colleague's pause is refused. After the hang-up the
 * authority stores a WAV: the agent's tone in the left channel, the customer's in the
 * right, shorter than the call by the pause, with audit rows for start, pause, resume.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { peakHz, rms } from '../support/tone.ts';
import { until } from '../support/wait.ts';
import { detectTone, storedRecording, writeToneWav } from './audio-harness.ts';
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
/** How long each recorded span and the pause last (the call's own length, not a wait for something). */
const SPAN_MS = 3000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('call recording through Kamailio + rtpengine, with a pause', () => {
  let app: AppAuthority;
  let kamailio: RunningKamailio;
  let rtpengine: RunningRtpengine;
  let mode: BrowserMode;
  let customerBrowser: Browser;
  let consoleBrowser: Browser;
  const dirs: string[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-call-recording-'));
    dirs.push(dir);
    writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
    writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
    const media = (wav: string) => [
      '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
    ];
    rtpengine = await startRtpengine({ recording: true });
    kamailio = await startKamailio({ secret: SECRET, domain: DOMAIN, rtpengineSock: rtpengine.ngSock });
    [app, customerBrowser, consoleBrowser] = await Promise.all([
      startAppAuthority({
        sipSecret: SECRET,
        sipDomain: DOMAIN,
        sipWsUrl: kamailio.wsUrl,
        rtpengineNg: rtpengine.ngSock,
        recordingDir: rtpengine.recordingDir!,
        recordingSweepSeconds: 0.5,
      }),
      launchChromium({ extraArgs: media('tone-1000.wav') }),
      launchChromium({ extraArgs: media('tone-440.wav') }),
      ensureRendererBuilt(),
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-call-recording-data-'));
    dirs.push(dataDir);
    mode = await startBrowserMode({ authorityUrl: app.a.url, dataDir, rendererDir, sipUrl: kamailio.wsUrl });
  });
  after(async () => {
    await customerBrowser?.close();
    await consoleBrowser?.close();
    await mode?.close();
    await app?.a.dispose();
    await kamailio?.stop();
    await rtpengine?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('records each party in its channel, leaves the paused span out, tells both sides, audits it', async () => {
    const phone = await openPhone(customerBrowser, app, 'call-recording-customer');
    const c = await newTestPage(consoleBrowser, 'call-recording', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    const page = c.page;
    page.setDefaultTimeout(30_000);
    phone.page.setDefaultTimeout(30_000);
    const status = page.getByTestId('call-status');
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
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
      await status.getByText('Ready to call').waitFor();

      await page.getByRole('button', { name: 'Call customer' }).click();
      await phone.page
        .getByRole('heading', { name: 'Verified call from Northwind Bank — Dana Reyes' })
        .waitFor();
      await phone.page.getByTestId('call-recorded').getByText('This call is recorded').waitFor();
      await phone.t.screenshot('1-ringing-recorded');
      await phone.page.getByRole('button', { name: 'Answer call' }).click();
      await status.getByText(/^On the call/).waitFor();
      await page.getByTestId('recording-state').getByText('Recording').waitFor();
      const startedAt = Date.now();
      await phone.page.getByTestId('call-recorded').getByText('This call is recorded').waitFor();
      await phone.t.screenshot('2-in-call-recorded');
      await c.screenshot('1-recording');
      const [atAgent, atCustomer] = await Promise.all([
        detectTone(page, 'audio[data-testid="remote-audio"]'),
        detectTone(phone.page, '#vd-remote-audio'),
      ]);
      assert.ok(atAgent.hz && Math.abs(atAgent.hz - 1000) < 15, `console hears ${JSON.stringify(atAgent)}`);
      assert.ok(
        atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
        `customer hears ${JSON.stringify(atCustomer)}`,
      );

      const live = await until(
        'the authority keeps the recording',
        async () => (await app.a.services.ctx.data.read.recordings.allLive())[0],
      );
      const requestId = live.request_id;
      // A colleague cannot pause it.
      const colleague = (await staffLogin(app.a.url, 'agent2', 'demo-agent-2')).token;
      const refused = await api(app.a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(colleague),
        json: { fence: live.fence },
      });
      assert.equal(refused.status, 403);

      await sleep(Math.max(0, SPAN_MS - (Date.now() - startedAt)));
      await page.getByRole('button', { name: 'Pause recording' }).click();
      await page.getByTestId('recording-state').getByText('Recording paused').waitFor();
      const pausedAt = Date.now();
      await c.screenshot('2-recording-paused');
      await sleep(SPAN_MS);
      await page.getByRole('button', { name: 'Resume recording' }).click();
      await page
        .getByTestId('recording-state')
        .getByText(/^● Recording$/)
        .waitFor();
      const pauseMs = Date.now() - pausedAt;
      await sleep(SPAN_MS);
      await page.getByRole('button', { name: /^Hang up/ }).click();
      await status.getByText('Ready to call').waitFor();
      const callMs = Date.now() - startedAt;

      const { rec, wav } = await storedRecording(app, requestId);
      assert.equal(rec.spans.length, 2);
      const [left, right] = wav.channels as [Int16Array, Int16Array];
      const durationMs = (left.length * 1000) / wav.rate;
      const found: string[] = [];
      for (const s of rec.spans) {
        const from = Math.floor(((s.offsetMs + 300) * wav.rate) / 1000);
        const to = Math.floor(((s.offsetMs + s.durationMs - 300) * wav.rate) / 1000);
        const l = peakHz(left, wav.rate, from, to);
        const r = peakHz(right, wav.rate, from, to);
        found.push(
          `${l.hz} / ${r.hz} Hz (rms ${rms(left, from, to).toFixed(0)} / ${rms(right, from, to).toFixed(0)})`,
        );
        assert.ok(Math.abs(l.hz - 440) < 10, `agent channel ${l.hz} Hz`);
        assert.ok(Math.abs(r.hz - 1000) < 10, `customer channel ${r.hz} Hz`);
      }
      const gapMs = Date.parse(rec.spans[1].startedAt) - Date.parse(rec.spans[0].endedAt);
      assert.ok(
        Math.abs(durationMs - (callMs - pauseMs)) < 1000,
        `WAV ${durationMs} ms vs call ${callMs} - pause ${pauseMs} ms`,
      );
      // The supervisor finds it on the board, sees the pause on its timeline and plays it (audited).
      // (another console: its own shell, signed in as the supervisor)
      const supDir = mkdtempSync(join(tmpdir(), 'vd-call-recording-sup-'));
      dirs.push(supDir);
      const supMode = await startBrowserMode({
        authorityUrl: app.a.url,
        dataDir: supDir,
        rendererDir,
        sipUrl: kamailio.wsUrl,
      });
      const sup = await newTestPage(consoleBrowser, 'call-recording-supervisor', {
        viewport: VIEWPORT,
        locale: 'en-GB',
      });
      sup.page.setDefaultTimeout(30_000);
      await sup.page.goto(supMode.launchUrl);
      await signIn(sup.page, 'supervisor', 'demo-supervisor');
      await sup.page
        .getByRole('navigation', { name: 'Screens' })
        .getByRole('button', { name: 'Board' })
        .click();
      const card = sup.page.getByTestId('recordings');
      await card.getByLabel('Request id').fill(requestId);
      await card.getByRole('button', { name: 'Show recordings' }).click();
      await card.getByTestId('recording-timeline').waitFor();
      assert.equal(await card.getByTestId('recording-pause').count(), 1);
      await card.getByRole('button', { name: 'Play recording' }).click();
      const audio = card.getByTestId('recording-audio');
      await audio.waitFor();
      const playerSeconds = await audio.evaluate(
        (a: HTMLAudioElement) =>
          new Promise<number>((resolve) => {
            if (a.readyState >= 1) resolve(a.duration);
            else {
              a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
              a.addEventListener('error', () => resolve(Number.NaN), { once: true });
            }
          }),
      );
      assert.ok(
        Math.abs(playerSeconds * 1000 - durationMs) < 100,
        `player ${playerSeconds} s, WAV ${durationMs} ms`,
      );
      await card.scrollIntoViewIfNeeded();
      await sup.screenshot('playback');
      await sup.close();
      await supMode.close();

      const audit = await app.a.sql<{ action: string; outcome: string }>`
        SELECT action, outcome FROM audit_log
        WHERE subject = ${`request:${requestId}`} AND action LIKE ${'recording.%'} ORDER BY seq`;
      assert.deepEqual(
        audit.map((e) => `${e.action} ${e.outcome}`),
        [
          'recording.start success',
          'recording.pause failure',
          'recording.pause success',
          'recording.resume success',
          'recording.stored success',
          'recording.playback success',
        ],
      );
      console.log(
        `# recorded call through Kamailio + rtpengine: call ${callMs} ms, pause ${pauseMs} ms, WAV ${durationMs.toFixed(0)} ms ` +
          `(2 spans, gap ${gapMs} ms); agent / customer channel per span: ${found.join('; ')}; ` +
          `player ${playerSeconds.toFixed(2)} s; heard live: console ${atAgent.hz?.toFixed(1)} Hz, customer ${atCustomer.hz?.toFixed(1)} Hz`,
      );
    } finally {
      await c.close();
      await phone.t.close();
    }
  });
});
