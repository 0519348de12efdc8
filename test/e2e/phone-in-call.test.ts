/**
 * A customer phones the contact center from the phone network and talks to an agent
 * (issue 14): SIPp plays the carrier on loopback (plain SIP over UDP to Kamailio's trunk
 * port, plain RTP, echoing back what it hears: -rtp_echo); Kamailio reports the call to the
 * authority, which offers it to the agent with what the caller ID says; the caller hears
 * ringing meanwhile. The agent accepts in the console (Chromium, browser mode, registered
 * at Kamailio) and takes the call: Kamailio puts the held INVITE through with the media
 * bridged by rtpengine (RTP <-> WebRTC DTLS-SRTP). The console's 440 Hz tone crosses to the
 * carrier and comes back (its echo): audio both ways through the phone-network leg. The
 * agent holds and resumes (the carrier gets plain RTP in both re-INVITEs), the tone comes
 * back again; the agent hangs up: SIPp gets the BYE and ends cleanly.
 * Screenshots: test/e2e/screenshots/phone-in-call-*.png.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { readWav } from '../../authority/src/media/pcap-audio.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { freeTcpPort, startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { peakHz, rms } from '../support/tone.ts';
import { until } from '../support/wait.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';

const SECRET = randomBytes(30).toString('base64url');
const SIP_SERVER_SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';
const DIALLED = '+442079460000';
const CALLER = '+447911123457';

/**
 * A re-INVITE from the agent (hold or resume) as the carrier receives it: it must offer plain
 * RTP (RTP/AVP) and nothing of WebRTC (ICE, DTLS fingerprint, SAVPF), or SIPp fails the call;
 * answered with the carrier's own plain RTP in `direction`, then its ACK.
 */
const reInvite = (
  name: string,
  version: number,
  direction: string,
) => `  <recv request="INVITE" timeout="90000">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP " search_in="body" check_it="true" assign_to="plain_${name}"/>
      <ereg regexp="a=fingerprint|a=ice-ufrag|SAVPF" search_in="body" check_it_inverse="true" assign_to="webrtc_${name}"/>
    </action>
  </recv>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:${CALLER}@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=- 1 ${version} IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=${direction}

    ]]>
  </send>
  <recv request="ACK" timeout="90000"/>
`;

/**
 * The carrier's call: INVITE with plain RTP, ringing, answered, ACK along the route set; the
 * agent's hold and resume (re-INVITEs that must reach the carrier as plain RTP/AVP, no ICE
 * or DTLS: SIPp fails the call otherwise), then the agent's BYE.
 */
const CARRIER_SCENARIO = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="carrier call to the contact center">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:${CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:${CALLER}@[local_ip]:[local_port]>
      Max-Forwards: 70
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
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" timeout="90000"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:${CALLER}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0

    ]]>
  </send>
${reInvite('hold', 2, 'recvonly')}${reInvite('resume', 3, 'sendrecv')}  <recv request="BYE" timeout="90000"/>
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
  <Reference variables="plain_hold,webrtc_hold,plain_resume,webrtc_resume"/>
</scenario>
`;

describe('a caller from the phone network talks to the agent who takes the call', () => {
  let a: TestAuthority;
  let kamailio: RunningKamailio;
  let rtpengine: RunningRtpengine;
  let mode: BrowserMode;
  let browser: Browser;
  let trunkPort = 0;
  const dirs: string[] = [];

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-phone-in-call-'));
    dirs.push(dir);
    writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
    writeFileSync(join(dir, 'carrier.xml'), CARRIER_SCENARIO);
    rtpengine = await startRtpengine({ recording: true });
    a = await startTestAuthority({
      rtpengineNg: rtpengine.ngSock,
      recordingDir: rtpengine.recordingDir!,
      recordingSweepSeconds: 0.5,
      sipSecret: SECRET,
      sipDomain: DOMAIN,
      sipServerSecret: SIP_SERVER_SECRET,
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 120,
    });
    trunkPort = await freeTcpPort();
    kamailio = await startKamailio({
      secret: SECRET,
      domain: DOMAIN,
      rtpengineSock: rtpengine.ngSock,
      controlUrl: true,
      defines: [
        `TRUNK_PORT=${trunkPort}`,
        'TRUNK_ALLOW=127.0.0.1/32',
        `AUTHORITY_URL=${a.url}`,
        `SIP_SERVER_SECRET=${SIP_SERVER_SECRET}`,
      ],
    });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, 'c_bob_okafor_002', CALLER);
    [browser] = await Promise.all([
      launchChromium({
        extraArgs: [
          '--allow-loopback-in-peer-connection',
          `--use-file-for-fake-audio-capture=${join(dir, 'tone-440.wav')}`,
        ],
      }),
      ensureRendererBuilt(),
    ]);
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-phone-in-call-data-'));
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

  it('rings while offered, the agent takes the call, audio crosses the phone-network leg both ways, hold and resume, the agent hangs up', async () => {
    const c = await newTestPage(browser, 'phone-in-call', {
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
      await page.goto(mode.launchUrl);
      await signIn(page, 'agent2', 'demo-agent-2');
      await page.getByTestId('presence').waitFor();
      await page.getByLabel('Change presence').selectOption('available');

      const mediaPort = await freeTcpPort();
      carrier = spawn(
        'sipp',
        [
          `127.0.0.1:${trunkPort}`,
          '-sf',
          join(dirs[0]!, 'carrier.xml'),
          '-s',
          DIALLED,
          '-i',
          '127.0.0.1',
          '-p',
          String(await freeTcpPort()),
          '-mi',
          '127.0.0.1',
          '-mp',
          String(mediaPort),
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
      const dialled = performance.now();

      await page.getByTestId('offer-channel').getByText('New request · phone call').waitFor();
      const offeredMs = performance.now() - dialled;
      await page
        .getByTestId('phoned-in')
        .getByText('Phoned in from +44 7911 123457 — number registered to Bob Okafor (not verified)')
        .waitFor();
      await c.screenshot('1-offer');
      await page.keyboard.press('Control+Enter');
      await status.getByText(/^Phoned in: the caller is waiting on the phone line/).waitFor();
      await c.screenshot('2-accepted');

      const take = performance.now();
      await page.getByRole('button', { name: 'Take the call' }).click();
      await status.getByText(/^On the call/).waitFor();
      const connectedMs = performance.now() - take;
      await page
        .getByTestId('recording-state')
        .getByText(/^● Recording$/)
        .waitFor();
      const heard = await detectTone(page, 'audio[data-testid="remote-audio"]');
      assert.ok(
        heard.hz && Math.abs(heard.hz - 440) < 15,
        `the console hears its own tone back through the phone-network leg: ${JSON.stringify(heard)}`,
      );
      await c.screenshot('3-on-the-call');
      console.log(
        `# phone-in: trunk INVITE -> offer on the console ${offeredMs.toFixed(0)} ms; Take the call -> on the call ${connectedMs.toFixed(0)} ms; echo heard at ${heard.hz} Hz (${heard.db} dB)`,
      );

      // Hold and resume: re-INVITEs towards the phone network as plain RTP; the audio comes back.
      await page.getByRole('button', { name: /^Hold/ }).click();
      await status.getByText(/^On hold/).waitFor();
      await c.screenshot('4-on-hold');
      await page.getByRole('button', { name: /^Resume/ }).click();
      await status.getByText(/^On the call/).waitFor();
      const again = await detectTone(page, 'audio[data-testid="remote-audio"]');
      assert.ok(
        again.hz && Math.abs(again.hz - 440) < 15,
        `after hold and resume the tone still crosses the phone-network leg: ${JSON.stringify(again)}`,
      );

      await page.getByRole('button', { name: /^Hang up/ }).click();
      const [code] = (await carrierExit) as [number | null];
      assert.equal(code, 0, `the carrier's call ended cleanly (SIPp):\n${carrierOut}`);
      carrier = undefined;
      await status.getByText('The call on the phone line has ended.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Take the call' }).isDisabled(), true);
      await c.screenshot('5-call-ended');

      // The call was recorded by rtpengine and kept with the request: the customer (who
      // called) on channel 0, the agent on channel 1, each with audio (the tone and its echo).
      const supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
      const requestId = (
        await api(a.url, 'agentMe', {
          headers: bearer((await staffLogin(a.url, 'agent2', 'demo-agent-2')).token),
        })
      ).body.currentRequestId as string;
      const rec = await until(
        'the recording is stored',
        async () => {
          const l = await api(a.url, 'requestRecordings', {
            params: { requestId },
            headers: bearer(supervisor),
          });
          const r = l.body.recordings?.[0];
          return r && r.state !== 'recording' && r.state !== 'paused' ? r : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(rec.state, 'stored', JSON.stringify(rec));
      assert.deepEqual(rec.channels, ['customer', 'agent']);
      const row = await a.services.ctx.data.read.recordings.get(rec.id);
      const wav = readWav(readFileSync(row!.file_path!));
      const [customer, agentSide] = wav.channels as [Int16Array, Int16Array];
      const from = Math.floor(wav.rate / 2);
      const to = Math.min(customer.length, from + wav.rate * 2);
      const c0 = peakHz(customer, wav.rate, from, to);
      const c1 = peakHz(agentSide, wav.rate, from, to);
      console.log(
        `# phone call recording: customer channel ${c0.hz} Hz (rms ${rms(customer, from, to).toFixed(0)}), agent channel ${c1.hz} Hz (rms ${rms(agentSide, from, to).toFixed(0)})`,
      );
      assert.ok(Math.abs(c0.hz - 440) < 15 && Math.abs(c1.hz - 440) < 15, 'both sides recorded');
    } finally {
      carrier?.kill('SIGKILL');
      await c.close();
    }
  });
});
