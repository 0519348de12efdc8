/**
 * The agent console's softphone calls the customer app, end to end in two Chromium
 * processes, once through the authority's embedded SIP edge and once through
 * Kamailio. The console (browser mode, microphone fed 440 Hz) registers its sip.js
 * Softphone with Dana's ephemeral credentials through a loopback TCP proxy (so the
 * test can cut its link); the customer app (phone viewport, microphone fed 1 kHz)
 * enrols and asks for help. Dana accepts and clicks "Call customer": the INVITE
 * carries the call ticket, the app rings as a verified call, Answer sends the proof
 * on the 200 OK, the console checks it with the authority and the panel says "Voice
 * from the verified device". Each side hears the other's tone (AnalyserNode on the
 * remote audio). Hold is shown only once its re-INVITE is accepted and the customer
 * then hears silence; resume brings the voice back. DTMF: SIP INFO digits reach the
 * app; an RFC 4733 digit is accepted by the negotiated telephone-event sender. The
 * link is cut for 5 s mid-call: the console shows "reconnecting", re-registers,
 * re-INVITEs with an ICE restart (a new ICE ufrag in its offer), the audio is still
 * there both ways, and the customer's BYE still reaches the console.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { detectSilence, detectTone, writeToneWav } from './audio-harness.ts';
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
/** Calls cut mid-call, and for how long (RELIABILITY rows 15-16: 50 x 5 s). */
const BLIPS = Number(process.env.VD_SIP_BLIPS ?? 2);
const BLIP_MS = Number(process.env.VD_SIP_BLIP_MS ?? 5000);

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** Resolves when the console's status no longer says "reconnecting" (re-registered). */
const reRegistered = (page: Page) =>
  page.waitForFunction(
    () => !/reconnecting/.test(document.querySelector('[data-testid="call-status"]')?.textContent ?? ''),
    undefined,
    { timeout: 30_000, polling: 50 },
  );

/** Records the ICE ufrag of every local description the page sets (an ICE restart changes it). */
const RECORD_UFRAGS = `(() => {
  const ufrags = (window.__vdUfrags = []);
  const pcs = (window.__vdPcs = []);
  const original = RTCPeerConnection.prototype.setLocalDescription;
  RTCPeerConnection.prototype.setLocalDescription = function (d) {
    if (!pcs.includes(this)) pcs.push(this);
    const result = original.apply(this, arguments);
    Promise.resolve(result).then(() => {
      const m = /a=ice-ufrag:(\\S+)/.exec(this.localDescription ? this.localDescription.sdp : '');
      if (m) ufrags.push(m[1]);
    }, () => undefined);
    return result;
  };
})()`;

/** The address the page's newest connected call sends its media to (the selected ICE pair's remote candidate). */
const mediaPeer = (page: Page) =>
  page.evaluate(async () => {
    const pcs = (window as unknown as { __vdPcs: RTCPeerConnection[] }).__vdPcs;
    const pc = [...pcs].reverse().find((p) => p.connectionState === 'connected');
    if (!pc) return null;
    const stats = await pc.getStats();
    let pairId: string | undefined;
    stats.forEach((s) => {
      if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
    });
    const pair = pairId ? stats.get(pairId) : undefined;
    const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
    return remote ? { address: String(remote.address), port: Number(remote.port) } : null;
  });

const ufrags = (page: Page) =>
  page.evaluate(() => [...new Set((window as unknown as { __vdUfrags: string[] }).__vdUfrags)]);

const SERVER_NAMES = {
  edge: 'the embedded SIP edge',
  kamailio: 'Kamailio',
  rtpengine: 'Kamailio with its media anchored in rtpengine',
} as const;

for (const server of ['edge', 'kamailio', 'rtpengine'] as const) {
  describe(`console softphone <-> customer app through ${SERVER_NAMES[server]}`, () => {
    let app: AppAuthority;
    let kamailio: RunningKamailio | null = null;
    let rtpengine: RunningRtpengine | null = null;
    let proxy: TcpProxy;
    let mode: BrowserMode;
    let customerBrowser: Browser;
    let consoleBrowser: Browser;
    const dirs: string[] = [];

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vd-console-call-'));
      dirs.push(dir);
      writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
      writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
      const media = (wav: string) => [
        '--allow-loopback-in-peer-connection',
        `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
      ];
      if (server === 'rtpengine') rtpengine = await startRtpengine();
      if (server !== 'edge')
        kamailio = await startKamailio({
          secret: SECRET,
          domain: DOMAIN,
          ...(rtpengine ? { rtpengineSock: rtpengine.ngSock } : {}),
        });
      [app, customerBrowser, consoleBrowser] = await Promise.all([
        startAppAuthority({
          sipSecret: SECRET,
          sipDomain: DOMAIN,
          ...(kamailio ? { sipWsUrl: kamailio.wsUrl } : {}),
        }),
        launchChromium({ extraArgs: media('tone-1000.wav') }),
        launchChromium({ extraArgs: media('tone-440.wav') }),
        ensureRendererBuilt(),
      ]);
      const authorityPort = Number(new URL(app.a.url).port);
      proxy = await TcpProxy.start({ host: '127.0.0.1', port: kamailio ? kamailio.port : authorityPort });
      const dataDir = mkdtempSync(join(tmpdir(), 'vd-console-call-data-'));
      dirs.push(dataDir);
      mode = await startBrowserMode({
        authorityUrl: app.a.url,
        dataDir,
        rendererDir,
        sipUrl: kamailio ? `ws://127.0.0.1:${proxy.port}/` : `ws://127.0.0.1:${proxy.port}/sip`,
      });
    });
    after(async () => {
      await customerBrowser?.close();
      await consoleBrowser?.close();
      await mode?.close();
      await proxy?.close();
      await app?.a.dispose();
      await kamailio?.stop();
      await rtpengine?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('calls the verified device: proof, tones both ways, hold, DTMF, a 5 s link cut survived, far-end BYE', async () => {
      const shot = `console-call-${server}`;
      const phone = await openPhone(customerBrowser, app, `${shot}-customer`);
      const c = await newTestPage(consoleBrowser, shot, {
        viewport: VIEWPORT,
        permissions: ['microphone'],
        locale: 'en-GB',
      });
      const page = c.page;
      const status = page.getByTestId('call-status');
      try {
        await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
        await page.addInitScript(RECORD_UFRAGS);
        await page.goto(mode.launchUrl);
        await signIn(page, 'agent1', 'demo-agent-1');
        await page.getByTestId('presence').waitFor();
        await page.getByLabel('Change presence').selectOption('available');

        // The customer asks for help; Dana accepts the offer.
        await phone.page.getByRole('button', { name: 'Get help' }).click();
        await phone.page.getByRole('button', { name: /^Something else/ }).click();
        const offer = page.getByRole('region', { name: /Bob Okafor/ }).filter({ hasText: 'New request' });
        await offer.waitFor();
        await page.keyboard.press('Control+Enter');
        await page
          .getByRole('region', { name: /Bob Okafor/ })
          .filter({ hasText: 'In progress' })
          .waitFor();
        await status.getByText('Ready to call').waitFor();

        // Call: the app rings as a verified call; answer; the proof is checked.
        const t0 = Date.now();
        await page.getByRole('button', { name: 'Call customer' }).click();
        const ringing = phone.page.getByRole('heading', {
          name: 'Verified call from Northwind Bank — Dana Reyes',
        });
        await ringing.waitFor();
        const ringMs = Date.now() - t0;
        await status.getByText(/^Ringing/).waitFor();
        await c.screenshot('1-ringing');
        await phone.page.getByRole('button', { name: 'Answer call' }).click();
        await status.getByText(/^On the call/).waitFor();
        await page
          .getByTestId('voice-state')
          .getByText(/^Voice from the verified device/)
          .waitFor();

        const [atAgent, atCustomer] = await Promise.all([
          detectTone(page, 'audio[data-testid="remote-audio"]'),
          detectTone(phone.page, '#vd-remote-audio'),
        ]);
        const answerToAudioMs = Date.now() - t0;
        assert.ok(
          atAgent.hz && Math.abs(atAgent.hz - 1000) < 15,
          `console hears: ${JSON.stringify(atAgent)}`,
        );
        assert.ok(
          atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
          `customer hears: ${JSON.stringify(atCustomer)}`,
        );
        await page
          .getByTestId('call-quality')
          .getByText(/^MOS \d/)
          .waitFor();
        const quality = await page.getByTestId('call-quality').textContent();
        // Where the media goes: rtpengine's own address and ports when anchored, the
        // other browser's otherwise; the console says which.
        const peer = await mediaPeer(page);
        assert.ok(peer, 'the console has a connected call with a selected ICE pair');
        if (rtpengine) {
          assert.equal(peer.address, '127.0.0.1');
          assert.ok(
            peer.port >= rtpengine.ports[0] && peer.port <= rtpengine.ports[1],
            `media to ${peer.port}, rtpengine's ports are ${rtpengine.ports.join('-')}`,
          );
          await page.getByTestId('media-path').getByText('Media via the media server').waitFor();
        } else {
          await page.getByTestId('media-path').getByText('Media direct').waitFor();
        }
        // The call timer runs from when the line connected (mm:ss), read as a timer.
        await page.getByRole('timer', { name: /^On the call for \d+ (second|minute)/ }).waitFor();
        assert.match((await page.getByTestId('call-timer').textContent()) ?? '', /^Call \d\d:\d\d$/);
        await c.screenshot('2-in-call-verified');

        // Hold: the button says so only after the re-INVITE is accepted; the customer hears nothing.
        await page.getByRole('button', { name: /^Hold/ }).click();
        await status.getByText('On hold').waitFor();
        await page.getByRole('button', { name: /^Resume/ }).waitFor();
        assert.equal(await detectSilence(phone.page, '#vd-remote-audio'), true, 'silence on hold');
        await page.getByRole('timer', { name: /^On hold for / }).waitFor();
        await c.screenshot('3-on-hold');
        await page.getByRole('button', { name: /^Resume/ }).click();
        await status.getByText(/^On the call/).waitFor();
        const resumed = await detectTone(phone.page, '#vd-remote-audio');
        assert.ok(resumed.hz && Math.abs(resumed.hz - 440) < 15, `after resume: ${JSON.stringify(resumed)}`);

        // DTMF as SIP INFO reaches the app; an RFC 4733 digit goes out on the telephone-event sender.
        // The keypad is behind its toggle, closed by default.
        const keypad = page.getByRole('button', { name: 'Keypad', exact: true });
        assert.equal(await keypad.getAttribute('aria-expanded'), 'false');
        assert.equal(await page.getByRole('button', { name: 'Send DTMF 1', exact: true }).count(), 0);
        await keypad.click();
        assert.equal(await keypad.getAttribute('aria-expanded'), 'true');
        await page
          .getByTestId('dtmf-method')
          .getByText(/RFC 4733/)
          .waitFor();
        await page.getByLabel('DTMF method').selectOption('info');
        await page
          .getByTestId('dtmf-method')
          .getByText(/SIP INFO/)
          .waitFor();
        for (const k of ['1', '2', '#'])
          await page.getByRole('button', { name: `Send DTMF ${k}`, exact: true }).click();
        await phone.page.getByTestId('dtmf-received').getByText('12#').waitFor();
        await page.getByLabel('DTMF method').selectOption('rfc4733');
        await page.getByRole('button', { name: 'Send DTMF 5', exact: true }).click();
        await page.getByTestId('dtmf-sent').getByText('Sent: 12#5').waitFor();
        assert.match((await status.textContent()) ?? '', /^On the call/, 'no DTMF error');
        await c.screenshot('4-dtmf');

        // Network blips on the console's SIP link, mid-call (RELIABILITY rows 15-16): each call is cut
        // for BLIP_MS, then must be re-registered, ICE-restarted, heard both ways, and ended by the
        // customer's BYE. CI runs BLIPS calls; VD_SIP_BLIPS=50 is the full size.
        const reRegisteredMs: number[] = [];
        const healthyMs: number[] = [];
        for (let i = 0; i < BLIPS; i++) {
          if (i > 0) {
            await page.getByRole('button', { name: 'Call customer' }).click();
            await ringing.waitFor();
            await phone.page.getByRole('button', { name: 'Answer call' }).click();
            await status.getByText(/^On the call/).waitFor();
          }
          const before = (await ufrags(page)).length;
          proxy.cut(BLIP_MS);
          const restoredAt = Date.now() + BLIP_MS;
          await status.getByText(/reconnecting/).waitFor();
          if (i === 0) await c.screenshot('5-reconnecting');
          await reRegistered(page);
          reRegisteredMs.push(Date.now() - restoredAt);
          await page.waitForFunction(
            (n) => new Set((window as unknown as { __vdUfrags: string[] }).__vdUfrags).size > n,
            before,
            { timeout: 15_000 },
          );
          const [afterAgent, afterCustomer] = await Promise.all([
            detectTone(page, 'audio[data-testid="remote-audio"]'),
            detectTone(phone.page, '#vd-remote-audio'),
          ]);
          healthyMs.push(Date.now() - restoredAt);
          assert.ok(
            afterAgent.hz && Math.abs(afterAgent.hz - 1000) < 15,
            `blip ${i + 1}, console: ${JSON.stringify(afterAgent)}`,
          );
          assert.ok(
            afterCustomer.hz && Math.abs(afterCustomer.hz - 440) < 15,
            `blip ${i + 1}, customer: ${JSON.stringify(afterCustomer)}`,
          );
          assert.doesNotMatch((await status.textContent()) ?? '', /reconnecting/);

          // The customer hangs up: the BYE reaches the console over the new link.
          await phone.page.getByRole('button', { name: 'Hang up' }).click();
          await status.getByText('Ready to call').waitFor();
          if (i === 0) await c.screenshot('6-after-far-end-bye');
          await phone.page.getByRole('heading', { name: 'Call ended' }).waitFor();
          await phone.page.getByRole('button', { name: 'Done' }).click();
        }
        const recoveredMs = healthyMs[0]!;
        console.log(
          `# ${server}: Call customer -> app ringing ${ringMs} ms; -> tones both ways ${answerToAudioMs} ms ` +
            `(console ${atAgent.hz?.toFixed(1)} Hz ${atAgent.db?.toFixed(1)} dB, customer ${atCustomer.hz?.toFixed(1)} Hz); ` +
            `quality "${quality}"; ${BLIPS} calls cut ${BLIP_MS} ms each: re-registered after the link returned ` +
            `p50 ${pct(reRegisteredMs, 50)} / p95 ${pct(reRegisteredMs, 95)} ms, audio checked both ways p50 ${pct(healthyMs, 50)} / ` +
            `p95 ${pct(healthyMs, 95)} ms (first ${recoveredMs} ms), far-end BYE ${BLIPS}/${BLIPS}; proxy ${JSON.stringify(proxy.counts)}`,
        );
        const errors = c.consoleErrors.filter((e) => !/WebSocket|ERR_CONNECTION|net::/.test(e));
        assert.deepEqual(errors, []);
        assert.deepEqual(phone.t.consoleErrors, []);
      } finally {
        await c.close();
        await phone.t.close();
      }
    });
  });
}
