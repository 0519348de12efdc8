/**
 * A customer phones the contact center from the phone network, reaches an agent, gets a
 * text with a link, verifies on their phone while talking, and the agent sees it happen
 * (issue 14, the patent family's flow), end to end on loopback:
 *
 * - the carrier: baresip (test/support/baresip.ts) calls the demo's number over plain
 *   SIP/UDP to Kamailio's trunk port with Alice's number as caller ID; its microphone plays
 *   a 1 kHz tone, and it records what it hears;
 * - Kamailio reports the call to the authority, which offers it to the agent with who the
 *   caller ID points to; the console (Chromium, browser mode, registered at Kamailio, its
 *   microphone a 440 Hz tone) accepts and takes the call: Kamailio puts the held INVITE
 *   through, rtpengine bridges plain RTP to WebRTC (DTLS-SRTP) and records the call;
 * - the console hears the caller's 1 kHz; the caller's recording holds the console's 440 Hz;
 * - the authority texted the link as the call queued (the panel says so); the agent texts
 *   a new verification link (the text-message file sink); Alice's phone (the
 *   customer app in Chromium, a virtual platform authenticator, enrolled through the app
 *   beforehand) opens it and confirms with her fingerprint; the console's panel, in the
 *   page, turns verified while the call goes on (time from her tap to the panel printed);
 *   the link opened again is refused with a clear screen;
 * - the agent holds and resumes (the carrier gets plain RTP offers, no ICE or DTLS), the
 *   caller's tone comes back; the agent hangs up: the carrier gets the BYE and answers it;
 *   the recording keeps both sides (the customer's 1 kHz, the agent's 440 Hz).
 *
 * Screenshots: test/e2e/screenshots/phone-journey-console-*.png, phone-journey-phone-*.png.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startBaresip, type RunningBaresip } from '../support/baresip.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { freeTcpAndUdpPort } from '../support/ports.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { peakHz, readWavSamples, rms, toneWindows } from '../support/tone.ts';
import { until } from '../support/wait.ts';
import { detectTone, storedRecording, writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
  type Phone,
} from './customer-app-harness.ts';

const SECRET = randomBytes(30).toString('base64url');
const SIP_SERVER_SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';
const DIALLED = '+442079460000';
const CALLER = '+447911123456';
/** The caller's tone (baresip's microphone) and the agent's (Chromium's fake microphone). */
const CALLER_HZ = 1000;
const AGENT_HZ = 440;
/** What the caller hears of the agent before the first hold (baresip's dump ends there). */
const HEARD_BEFORE_HOLD_MS = 4000;
const near = (hz: number | null | undefined, want: number) => hz != null && Math.abs(hz - want) < 15;

describe('a caller from the phone network reaches an agent and verifies on their phone during the call', () => {
  let app: AppAuthority;
  let kamailio: RunningKamailio;
  let rtpengine: RunningRtpengine;
  let mode: BrowserMode;
  let browser: Browser;
  let trunkPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'vd-phone-journey-'));
  /** A carrier's call with Alice's number as caller ID, for `work` (baresip's log printed if it fails). */
  const asTheCarrier = async (work: (caller: RunningBaresip) => Promise<void>) => {
    const caller = await startBaresip({ caller: CALLER, microphone: join(dir, 'caller-1000.wav') });
    try {
      await work(caller);
    } catch (e) {
      console.log(`# baresip log:\n${caller.log().slice(-6000)}`);
      throw e;
    } finally {
      await caller.stop();
    }
  };
  /** A page of the console (its microphone the agent's tone). */
  const consolePage = async (name: string) => {
    const c = await newTestPage(browser, name, {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    c.page.setDefaultTimeout(30_000);
    return c;
  };
  /** Alice's phone: the customer app, enrolled (code, PIN, fingerprint, photo) once for both tests. */
  let enrolledPhone: Phone | undefined;
  const alicesPhone = async (): Promise<Phone> => {
    if (!enrolledPhone) {
      const p = await openPhone(browser, app, 'phone-journey-phone');
      await enrolThroughApp(p, await enrolmentCode(app, 'c_alice_martin_01'), '975310');
      enrolledPhone = p;
    }
    return enrolledPhone;
  };

  before(async () => {
    writeToneWav(join(dir, 'agent-440.wav'), AGENT_HZ, 60);
    // baresip's microphone: 8 kHz mono, played once from the start of the call.
    writeToneWav(join(dir, 'caller-1000.wav'), CALLER_HZ, 240, 8000);
    rtpengine = await startRtpengine({ recording: true });
    app = await startAppAuthority({
      rtpengineNg: rtpengine.ngSock,
      recordingDir: rtpengine.recordingDir!,
      recordingSweepSeconds: 0.5,
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      sipServerSecret: SIP_SERVER_SECRET,
      offerTimeoutSeconds: 120,
      textSinkFile: join(dir, 'texts.jsonl'),
      customerAppUrl: 'https://app.example.com/app/',
    });
    trunkPort = await freeTcpAndUdpPort();
    kamailio = await startKamailio({
      secret: SECRET,
      domain: DOMAIN,
      rtpengineSock: rtpengine.ngSock,
      controlUrl: true,
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        'TRUNK_ALLOW=127.0.0.1/32',
        `AUTHORITY_URL=${app.a.url}`,
        `SIP_SERVER_SECRET=${SIP_SERVER_SECRET}`,
      ],
    });
    await answerNumber(app.a.url, app.admin, DIALLED);
    await registerPhone(app.a.url, app.admin, 'c_alice_martin_01', '+44 7911 123456');
    [browser] = await Promise.all([
      launchChromium({
        extraArgs: [
          '--allow-loopback-in-peer-connection',
          `--use-file-for-fake-audio-capture=${join(dir, 'agent-440.wav')}`,
        ],
      }),
      ensureRendererBuilt(),
    ]);
    mode = await startBrowserMode({
      authorityUrl: app.a.url,
      dataDir: join(dir, 'console-data'),
      rendererDir,
      sipUrl: kamailio.wsUrl,
    });
  });
  after(async () => {
    await enrolledPhone?.t.close();
    await browser?.close();
    await mode?.close();
    await app?.a.dispose();
    await kamailio?.stop();
    await rtpengine?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('offered with the recognised customer, talks both ways, verified by the texted link while the call goes on, hold and resume, hung up, recorded', async () => {
    const c = await consolePage('phone-journey-console');
    const page = c.page;
    const status = page.getByTestId('call-status');
    const remote = 'audio[data-testid="remote-audio"]';
    try {
      await asTheCarrier(async (caller) => {
        // Alice has the app on her phone, enrolled (code, PIN, fingerprint, photo).
        const phone = await alicesPhone();
        await page.goto(mode.launchUrl);
        await signIn(page, 'agent2', 'demo-agent-2');
        await page.getByTestId('presence').waitFor();
        await page.getByLabel('Change presence').selectOption('available');

        // The carrier's call: Alice's number calling the demo's.
        const dialled = performance.now();
        await caller.dial(`sip:${DIALLED}@127.0.0.1:${trunkPort}`);

        await page.getByTestId('offer-channel').getByText('New request · phone call').waitFor();
        const offeredMs = performance.now() - dialled;
        await page
          .getByTestId('phoned-in')
          .getByText('Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)')
          .waitFor();
        await page
          .getByTestId('phoned-in-advice')
          .getByText(/^A caller ID can be forged: verify the caller with the security questions/)
          .waitFor();
        await caller.event('CALL_RINGING');
        await c.screenshot('1-offer');
        await page.keyboard.press('Control+Enter');
        await status.getByText(/^Phoned in: the caller is waiting on the phone line/).waitFor();
        await c.screenshot('2-accepted');

        // The agent takes the call: audio both ways across the phone-network leg.
        const take = performance.now();
        await page.getByRole('button', { name: 'Take the call' }).click();
        await status.getByText(/^On the call/).waitFor();
        const connectedMs = performance.now() - take;
        await caller.event('CALL_ESTABLISHED');
        const establishedAt = Date.now();
        await page
          .getByTestId('recording-state')
          .getByText(/^● Recording$/)
          .waitFor();
        const heard = await detectTone(page, remote);
        assert.ok(near(heard.hz, CALLER_HZ), `the console hears the caller's tone: ${JSON.stringify(heard)}`);
        await page
          .getByTestId('voice-state')
          .getByText(
            /^Voice: phone network, caller ID matches\. Phoned in from \+44 7911 123456 — number registered to Alice Martin \(not verified\)\. Weaker than a call bound to the verified device/,
          )
          .waitFor();
        await c.screenshot('3-on-the-call');
        console.log(
          `# phone journey: trunk INVITE -> offer on the console ${offeredMs.toFixed(0)} ms; Take the call -> on the call ${connectedMs.toFixed(0)} ms; the caller's tone heard in the console at ${heard.hz?.toFixed(0)} Hz (${heard.db?.toFixed(0)} dB) after ${heard.ms.toFixed(0)} ms`,
        );

        // The authority texted the link as the call queued: the panel says so. The agent
        // texts a new one; it reaches the number calling (the text-message sink).
        const linkSection = page.getByRole('group', { name: 'Verify in the app' });
        await linkSection
          .getByTestId('verification-link-texted')
          .getByText(
            /^A link was texted to \+44 7911 123456 at .+: waiting for the customer to verify in the app/,
          )
          .waitFor();
        const queuedText = readFileSync(join(dir, 'texts.jsonl'), 'utf8').trim().split('\n');
        assert.equal(queuedText.length, 1, 'one text as the call queued');
        assert.equal(JSON.parse(queuedText[0]!).to, CALLER);
        await linkSection.getByRole('button', { name: 'Text a verification link' }).click();
        await linkSection
          .getByTestId('verification-link-state')
          .getByText(/^Link sent to \+44 7911 123456 at .+: waiting for the customer to verify in the app/)
          .waitFor();
        const line = readFileSync(join(dir, 'texts.jsonl'), 'utf8').trim().split('\n').at(-1)!;
        assert.equal(JSON.parse(line).to, CALLER, line);
        // The path form (a native app opens it; a browser is sent on to the web app's screen).
        const link = /https:\/\/app\.example\.com(\/v\/[A-Za-z0-9_-]{32}) /.exec(line)?.[1];
        assert.ok(link, line);
        await linkSection.scrollIntoViewIfNeeded();
        await c.screenshot('4-link-sent');

        // She opens it on her phone (here the app at its test origin) and confirms with her
        // fingerprint; the console's panel turns verified by itself, in the page.
        await page.evaluate(`(() => {
        window.__vdVerifiedAt = new Promise((resolve) => {
          const sel = 'section[aria-labelledby="panel-name"] [aria-label="Verification: Verified"]';
          if (document.querySelector(sel)) return resolve(Date.now());
          const o = new MutationObserver(() => {
            if (document.querySelector(sel)) { o.disconnect(); resolve(Date.now()); }
          });
          o.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
        });
      })()`);
        await phone.page.goto(`${app.origin}${link}`);
        await phone.page.getByRole('heading', { name: 'Confirm it’s you for your call' }).waitFor();
        await phone.t.screenshot('1-confirm');
        const tapped = Date.now();
        await phone.page.getByRole('button', { name: 'Use fingerprint' }).click();
        const verifiedAt = (await page.evaluate('window.__vdVerifiedAt')) as number;
        await phone.page.getByRole('heading', { name: 'You are verified for your call' }).waitFor();
        const appVerifiedMs = Date.now() - tapped;
        await linkSection
          .getByTestId('verification-link-state')
          .getByText(/^Verified in the app at level 3 \(link sent to \+44 7911 123456\)\.$/)
          .waitFor();
        await page
          .getByTestId('level-line')
          .getByText(/^Level 3/)
          .waitFor();
        // ... while the call goes on: still on the call, the caller still heard, not hung up.
        await status.getByText(/^On the call/).waitFor();
        assert.ok(!caller.events.some((e) => e.type === 'CALL_CLOSED'), 'the caller is still on the line');
        const still = await detectTone(page, remote);
        assert.ok(near(still.hz, CALLER_HZ), `the call goes on: ${JSON.stringify(still)}`);
        await linkSection.scrollIntoViewIfNeeded();
        await c.screenshot('5-verified-during-the-call');
        await phone.t.screenshot('2-verified');
        const requestId = (
          await api(app.a.url, 'agentMe', {
            headers: bearer((await staffLogin(app.a.url, 'agent2', 'demo-agent-2')).token),
          })
        ).body.currentRequestId as string;
        const panel = await api(app.a.url, 'customerPanel', {
          params: { requestId },
          headers: bearer((await staffLogin(app.a.url, 'agent2', 'demo-agent-2')).token),
        });
        assert.equal(panel.body.verification.level, 3, JSON.stringify(panel.body.verification));
        assert.equal(panel.body.verification.state, 'verified');
        console.log(
          `# phone journey: link tapped -> the console's panel verified ${verifiedAt - tapped} ms (fingerprint included; the app's own "verified" screen after ${appVerifiedMs} ms), the call live throughout`,
        );

        // The same link again: refused, said plainly: by the authority's page for the texted
        // form, by the app for the web app's own form (older links).
        const usedPage = await phone.page.goto(`${app.origin}${link}`);
        assert.equal(usedPage?.status(), 410);
        await phone.page.getByRole('heading', { name: 'This link was used already' }).waitFor();
        await phone.t.screenshot('3-used-already-page');
        await phone.page.goto(`${app.appUrl}#/verify-call/${link.slice('/v/'.length)}`);
        await phone.page.getByRole('heading', { name: 'Confirm it’s you for your call' }).waitFor();
        await phone.page.getByRole('button', { name: 'Use fingerprint' }).click();
        await phone.page.getByRole('heading', { name: 'This link cannot be used' }).waitFor();
        await phone.page.getByText('This link was used already: ask the agent for a new one').waitFor();
        await phone.t.screenshot('4-used-already');
        await phone.page.getByRole('button', { name: 'Back home' }).click();
        await phone.page.getByRole('button', { name: 'Get help' }).waitFor();

        // Hold and resume: re-INVITEs towards the phone network as plain RTP; the caller comes back.
        // baresip 1.0 stops its dump at the first re-INVITE (below): the hold waits until the
        // caller has had a few seconds of the agent, however fast the steps above ran.
        await delay(Math.max(0, establishedAt + HEARD_BEFORE_HOLD_MS - Date.now()));
        await page.getByRole('button', { name: /^Hold/ }).click();
        await status.getByText(/^On hold/).waitFor();
        await c.screenshot('6-on-hold');
        await page.getByRole('button', { name: /^Resume/ }).click();
        await status.getByText(/^On the call/).waitFor();
        const again = await detectTone(page, remote);
        assert.ok(
          near(again.hz, CALLER_HZ),
          `after hold and resume the caller is heard again: ${JSON.stringify(again)}`,
        );
        const reInvites = caller
          .sip()
          .filter((m) => m.received && m.text.startsWith('INVITE '))
          .map((m) => m.text);
        assert.equal(reInvites.length, 2, `hold and resume reached the carrier:\n${reInvites.join('\n\n')}`);
        for (const r of reInvites) {
          assert.match(r, /^m=audio \d+ RTP\/AVP /m, `a plain RTP offer to the carrier:\n${r}`);
          assert.doesNotMatch(
            r,
            /a=fingerprint|a=ice-ufrag|SAVPF/,
            `nothing of WebRTC to the carrier:\n${r}`,
          );
        }

        // The agent hangs up: the carrier gets the BYE and answers it.
        await page.getByRole('button', { name: /^Hang up/ }).click();
        await caller.event('CALL_CLOSED');
        await status.getByText('The call on the phone line has ended.').waitFor();
        assert.equal(await page.getByRole('button', { name: 'Take the call' }).isDisabled(), true);
        await c.screenshot('7-call-ended');
        const sip = caller.sip();
        assert.ok(
          sip.some((m) => m.received && m.text.startsWith('BYE ')),
          `the carrier got the agent's BYE:\n${caller.log()}`,
        );
        await until('the carrier answered the BYE', () =>
          caller.sip().some((m) => !m.received && /^SIP\/2\.0 200 [\s\S]*^CSeq: \d+ BYE$/m.test(m.text)),
        );
        assert.ok(
          !sip.some((m) => !m.received && /^(BYE|CANCEL) /.test(m.text)),
          'the carrier never hung up itself',
        );

        // What the caller heard (baresip's recording, up to the agent's hold: baresip 1.0
        // stops its dump at the first re-INVITE): the console's 440 Hz and nothing else.
        const dumps = caller.recordings('dec').map((f) => readWavSamples(readFileSync(f)));
        const heardSeconds = dumps.reduce((s, d) => s + d.samples.length / d.rate, 0);
        const windows = dumps.flatMap((d) => toneWindows(d.samples, d.rate, 250)).filter((w) => w.rms > 300);
        const agentHeard = windows.filter((w) => near(w.hz, AGENT_HZ));
        assert.ok(
          agentHeard.length >= 8,
          `the caller heard the agent's ${AGENT_HZ} Hz (loud windows: ${JSON.stringify(windows.slice(0, 40))})`,
        );
        assert.deepEqual(
          windows.filter((w) => !near(w.hz, AGENT_HZ)),
          [],
          'nothing but the agent reached the caller',
        );
        // After it, through the hold and the resume, the agent's RTP kept reaching the caller
        // (50 packets a second): more than the dump holds.
        const packets = await until('the carrier printed its RTP summary', () => caller.rtpPackets());
        assert.ok(
          packets.received > heardSeconds * 50 + 25,
          `RTP reached the caller after the hold: ${JSON.stringify(packets)} for ${heardSeconds} s recorded`,
        );
        console.log(
          `# phone journey: the caller's recording holds ${AGENT_HZ} Hz for ${(agentHeard.length / 4).toFixed(2)} s of ${heardSeconds.toFixed(1)} s (up to the hold); RTP to the caller ${packets.received} packets in all, from the caller ${packets.sent}`,
        );

        // The call was recorded by rtpengine and kept with the request: the customer (who
        // called) on channel 0 with their tone, the agent on channel 1 with theirs.
        const { rec, wav } = await storedRecording(app, requestId);
        assert.deepEqual(rec.channels, ['customer', 'agent']);
        const [customer, agentSide] = wav.channels as [Int16Array, Int16Array];
        const from = Math.floor(wav.rate / 2);
        const to = Math.min(customer.length, from + wav.rate * 2);
        const c0 = peakHz(customer, wav.rate, from, to);
        const c1 = peakHz(agentSide, wav.rate, from, to);
        console.log(
          `# phone journey recording: customer channel ${c0.hz} Hz (rms ${rms(customer, from, to).toFixed(0)}), agent channel ${c1.hz} Hz (rms ${rms(agentSide, from, to).toFixed(0)})`,
        );
        assert.ok(near(c0.hz, CALLER_HZ), `the customer's side recorded: ${c0.hz} Hz`);
        assert.ok(near(c1.hz, AGENT_HZ), `the agent's side recorded: ${c1.hz} Hz`);
      });
    } finally {
      await c.close();
    }
  });

  it('the link texted while the call is still queued: she verifies before any agent is free, and the offer arrives showing her verified', async () => {
    // No agent is free: the agent of the first call goes offline; the other one is not signed in yet.
    const agent2 = (await staffLogin(app.a.url, 'agent2', 'demo-agent-2')).token;
    const off = await api(app.a.url, 'setPresence', { headers: bearer(agent2), json: { state: 'offline' } });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const sink = join(dir, 'texts.jsonl');
    const textsBefore = readFileSync(sink, 'utf8').trim().split('\n').length;
    const phone = await alicesPhone();
    const samMode = await startBrowserMode({
      authorityUrl: app.a.url,
      dataDir: join(dir, 'console-agent1'),
      rendererDir,
      sipUrl: kamailio.wsUrl,
    });
    const c = await consolePage('phone-queued-console');
    const page = c.page;
    try {
      await asTheCarrier(async (caller) => {
        await caller.dial(`sip:${DIALLED}@127.0.0.1:${trunkPort}`);
        await caller.event('CALL_RINGING');

        // The authority texts the link as the call queues, nobody holding it.
        const line = await until('the link texted as the call queued', () => {
          const lines = readFileSync(sink, 'utf8').trim().split('\n');
          return lines.length > textsBefore && lines.at(-1);
        });
        assert.equal(JSON.parse(line).to, CALLER);
        const link = /https:\/\/app\.example\.com(\/v\/[A-Za-z0-9_-]{32}) /.exec(line)?.[1];
        assert.ok(link, line);
        const [queued] = await app.a.sql<{ id: string; state: string }>`
        SELECT r.id, r.state FROM requests r JOIN phone_calls p ON p.request_id = r.id
        ORDER BY r.enqueued_at DESC LIMIT 1`;
        assert.equal(queued?.state, 'waiting', 'the call waits in the queue');

        // She taps it: the browser goes on to the app's screen; she confirms with her fingerprint.
        await phone.page.goto(`${app.origin}${link}`);
        assert.equal(phone.page.url(), `${app.appUrl}#/verify-call/${link.slice('/v/'.length)}`);
        await phone.page.getByRole('heading', { name: 'Confirm it’s you for your call' }).waitFor();
        await phone.t.screenshot('queued-1-confirm');
        await phone.page.getByRole('button', { name: 'Use fingerprint' }).click();
        await phone.page.getByRole('heading', { name: 'You are verified for your call' }).waitFor();
        await phone.t.screenshot('queued-2-verified');
        const [bound] = await app.a.sql<{ state: string; device_id: string | null }>`
        SELECT state, device_id FROM requests WHERE id = ${queued!.id}`;
        assert.equal(bound?.state, 'waiting', 'verified while still queued');
        assert.ok(bound?.device_id, 'the request carries her device');

        // An agent comes: the offer arrives with her verified, before anyone spoke to her.
        await page.goto(samMode.launchUrl);
        await signIn(page, 'agent1', 'demo-agent-1');
        await page.getByTestId('presence').waitFor();
        await page.getByLabel('Change presence').selectOption('available');
        const offer = page.getByRole('region', { name: 'Alice Martin · Something else' });
        await page.getByTestId('offer-channel').getByText('New request · phone call').waitFor();
        await offer.getByLabel('Verification level 3').waitFor();
        await page
          .locator('section[aria-labelledby="panel-name"] [aria-label="Verification: Verified"]')
          .waitFor();
        await page
          .getByTestId('level-line')
          .getByText(/^Level 3/)
          .waitFor();
        // The line under "Phoned in" no longer sends the agent to the security questions.
        await page
          .getByTestId('phoned-in-advice')
          .getByText(/^Verified at level 3 since the call came in .*not by the caller ID/)
          .waitFor();
        await c.screenshot('1-offer-verified');
        assert.ok(!caller.events.some((e) => e.type === 'CALL_CLOSED'), 'the caller still waits on the line');

        // Accepted: the request is hers, verified at level 3, still a call from the phone network.
        await page.keyboard.press('Control+Enter');
        await page
          .getByTestId('call-status')
          .getByText(/^Phoned in: the caller is waiting on the phone line/)
          .waitFor();
        await c.screenshot('2-accepted-verified');
        const agent1 = (await staffLogin(app.a.url, 'agent1', 'demo-agent-1')).token;
        const panel = await api(app.a.url, 'customerPanel', {
          params: { requestId: queued!.id },
          headers: bearer(agent1),
        });
        assert.equal(panel.body.verification.state, 'verified', JSON.stringify(panel.body.verification));
        assert.equal(panel.body.verification.level, 3);
        assert.ok(panel.body.request.phone, 'still a call from the phone network');
      });
    } finally {
      await c.close();
      await samMode.close();
    }
  });
});
