/**
 * A callback to a customer's phone number (issue 14 item 5) from the console: a supervisor
 * books a callback for a customer without the app; the agent is offered it, accepts, and
 * presses "Call +44 7911 123456". The console gets a phone call ticket from the authority
 * and INVITEs the number with it; Kamailio checks the ticket with the authority and sends
 * the call to the carrier (SIPp on loopback, echoing the audio it hears: -rtp_echo) with
 * the company's caller ID, media bridged by rtpengine (WebRTC <-> plain RTP). The
 * console's 440 Hz tone comes back through the phone-network leg; the agent hangs up and
 * the carrier's call ends cleanly; the request shows the callback placed.
 * Screenshots: test/e2e/screenshots/phone-callback-call-*.png.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { freeTcpAndUdpPort } from '../support/ports.ts';
import { registerPhone } from '../support/phone-in.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { until } from '../support/wait.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';

const SECRET = randomBytes(30).toString('base64url');
const SIP_SERVER_SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';
const CALLER_ID = '+442079460123';
const NUMBER = '+447911123457';

/**
 * The carrier answering the call out: the INVITE must name the customer's number, show the
 * company's caller ID and offer plain RTP (no ICE, no DTLS), or SIPp fails the call; it
 * rings, answers with its own plain RTP (echoing what it hears), then takes the agent's BYE.
 */
const CARRIER_UAS = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier answering a callback">
  <recv request="INVITE" timeout="90000">
    <action>
      <ereg regexp="^INVITE sip:\\\\${NUMBER}@" search_in="msg" check_it="true" assign_to="ruri"/>
      <ereg regexp="From: *.sip:\\\\${CALLER_ID}@" search_in="msg" check_it="true" assign_to="from"/>
      <ereg regexp="m=audio [0-9]+ RTP/AVP " search_in="body" check_it="true" assign_to="plain"/>
      <ereg regexp="a=fingerprint|a=ice-ufrag|SAVPF" search_in="body" check_it_inverse="true" assign_to="webrtc"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 180 Ringing
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:${NUMBER}@[local_ip]:[local_port]>
      Content-Length: 0

    ]]>
  </send>
  <send retrans="500">
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:];tag=[pid]SIPpTag01[call_number]
      [last_Call-ID:]
      [last_CSeq:]
      [last_Record-Route:]
      Contact: <sip:${NUMBER}@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000

    ]]>
  </send>
  <recv request="ACK" timeout="90000"/>
  <recv request="BYE" timeout="90000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0

    ]]>
  </send>
  <Reference variables="ruri,from,plain,webrtc"/>
</scenario>
`;

describe('the agent calls a customer back on their phone number from the console', () => {
  let a: TestAuthority;
  let kamailio: RunningKamailio;
  let rtpengine: RunningRtpengine;
  let mode: BrowserMode;
  let browser: Browser;
  let carrierPort = 0;
  const dirs: string[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-phone-callback-'));
    dirs.push(dir);
    writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
    writeFileSync(join(dir, 'carrier.xml'), CARRIER_UAS);
    rtpengine = await startRtpengine();
    a = await startTestAuthority({
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      sipServerSecret: SIP_SERVER_SECRET,
      outboundCallerId: CALLER_ID,
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 120,
    });
    carrierPort = await freeTcpAndUdpPort();
    const trunkPort = await freeTcpAndUdpPort();
    kamailio = await startKamailio({
      secret: SECRET,
      domain: DOMAIN,
      rtpengineSock: rtpengine.ngSock,
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        'TRUNK_ALLOW=127.0.0.1/32',
        `AUTHORITY_URL=${a.url}`,
        `SIP_SERVER_SECRET=${SIP_SERVER_SECRET}`,
        `TRUNK_OUTBOUND=127.0.0.1:${carrierPort}`,
      ],
    });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await registerPhone(a.url, admin, 'c_bob_okafor_002', NUMBER);
    [browser] = await Promise.all([
      launchChromium({
        extraArgs: [
          '--allow-loopback-in-peer-connection',
          `--use-file-for-fake-audio-capture=${join(dir, 'tone-440.wav')}`,
        ],
      }),
      ensureRendererBuilt(),
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-phone-callback-data-'));
    dirs.push(dataDir);
    mode = await startBrowserMode({ authorityUrl: a.url, dataDir, rendererDir, sipUrl: kamailio.wsUrl });
  });
  after(async () => {
    await browser?.close();
    await mode?.close();
    await a?.dispose();
    await kamailio?.stop();
    await rtpengine?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('booked by a supervisor, offered, "Call +44 7911 123457": the carrier answers, audio both ways, the agent hangs up', async () => {
    const c = await newTestPage(browser, 'phone-callback-call', {
      viewport: VIEWPORT,
      permissions: ['microphone'],
      locale: 'en-GB',
    });
    const page = c.page;
    page.setDefaultTimeout(30_000);
    const status = page.getByTestId('call-status');
    let carrier: ChildProcess | undefined;
    let carrierOut = '';
    try {
      // The carrier waits for the call (SIPp as a UAS on TRUNK_OUTBOUND).
      carrier = spawn(
        'sipp',
        [
          '-sf',
          join(dirs[0]!, 'carrier.xml'),
          '-i',
          '127.0.0.1',
          '-p',
          String(carrierPort),
          '-mi',
          '127.0.0.1',
          '-mp',
          String(await freeTcpAndUdpPort()),
          '-rtp_echo',
          '-m',
          '1',
          '-timeout',
          '120s',
          '-timeout_error',
          '-nostdin',
          '-trace_err',
        ],
        { cwd: dirs[0]!, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      carrier.stdout!.on('data', (d: Buffer) => (carrierOut = (carrierOut + d.toString()).slice(-8000)));
      carrier.stderr!.on('data', (d: Buffer) => (carrierOut = (carrierOut + d.toString()).slice(-8000)));
      const carrierExit = once(carrier, 'exit');

      await page.goto(mode.launchUrl);
      await signIn(page, 'agent2', 'demo-agent-2');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');

      const supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
      const booked = await api(a.url, 'bookPhoneCallback', {
        headers: bearer(supervisor),
        json: { customerId: 'c_bob_okafor_002', optionId: 'other' },
      });
      assert.equal(booked.status, 201, JSON.stringify(booked.body));
      const requestId = booked.body.requestId as string;

      await page.getByTestId('offer-channel').waitFor();
      await c.screenshot('1-offer');
      await page.keyboard.press('Control+Enter');
      await status.getByText(/^A callback: the customer has no app\. Call \+44 7911 123457/).waitFor();
      await c.screenshot('2-accepted');

      const pressed = performance.now();
      await page.getByRole('button', { name: 'Call +44 7911 123457' }).click();
      await status.getByText(/^On the call/).waitFor();
      const connectedMs = performance.now() - pressed;
      const heard = await detectTone(page, 'audio[data-testid="remote-audio"]');
      assert.ok(
        heard.hz && Math.abs(heard.hz - 440) < 15,
        `the console hears its own tone back through the phone-network leg: ${JSON.stringify(heard)}`,
      );
      await c.screenshot('3-on-the-call');
      console.log(
        `# callback: "Call +44 7911 123457" -> on the call ${connectedMs.toFixed(0)} ms; echo heard at ${heard.hz} Hz (${heard.db} dB)`,
      );

      await page.getByRole('button', { name: /^Hang up/ }).click();
      const [code] = (await carrierExit) as [number | null];
      assert.equal(code, 0, `the carrier's call ended cleanly (SIPp):\n${carrierOut}`);
      carrier = undefined;
      // Kamailio told the authority the call ended (the console's BYE): the request says so.
      await status.getByText(/^The call to \+44 7911 123457 has ended: you hung up \(1×\)/).waitFor();
      await c.screenshot('4-called-back');
      const view = await until('the callback shows the call ended', async () => {
        const r = await api(a.url, 'getRequest', { params: { requestId }, headers: bearer(supervisor) });
        return r.body.phoneCallback?.endedAt ? r.body : undefined;
      });
      assert.ok(view.phoneCallback.placedAt);
      assert.equal(view.phoneCallback.endReason, 'agent_hung_up');
      assert.equal(view.phoneCallback.attempts, 1);
    } catch (e) {
      if (process.env.DEBUG_CALLBACK)
        console.log(await status.textContent(), carrierOut, kamailio.log().slice(-6000));
      throw e;
    } finally {
      carrier?.kill('SIGKILL');
      await c.close();
    }
  });
});
