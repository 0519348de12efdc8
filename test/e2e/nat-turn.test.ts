/**
 * NAT for real (issue 13): the agent's Chromium and the customer's Chromium each run in a
 * network namespace of its own (test/support/netns.ts), on private subnets that cannot
 * reach each other; the only address both reach is the "public" one, where coturn
 * (deploy/coturn/turnserver.conf as shipped, minus TLS) listens and relays, and where the
 * authority and the console host are published. The real console (browser mode) calls
 * the real customer app through the authority's embedded SIP edge.
 *
 * - With TURN credentials from the authority: the call connects through the relay (the
 *   selected candidate pair's local candidate is `relay` on both sides, its remote address
 *   the public one), and each side hears the other's tone.
 * - Without TURN (no TURN URLs: no ICE servers): ICE finds no path, the console ends the
 *   call and says why ("No media path to the customer…"), and the customer app's
 *   "Call ended" says the call could not carry any sound: not a silent call.
 *
 * Skipped, with the reason, only where `ip netns` is not permitted (not root).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { addVirtualAuthenticator, newTestPage, type TestPage } from '../support/browser.ts';
import { startCoturn, type RunningCoturn } from '../support/coturn.ts';
import { NatNetworks, netnsUnavailable } from '../support/netns.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  PHONE,
  startAppAuthority,
  type AppAuthority,
  type Phone,
} from './customer-app-harness.ts';

const SECRET = randomBytes(30).toString('base64url');
const DOMAIN = 'verified-desk.local';
const unavailable = netnsUnavailable();
if (unavailable) console.log(`# NAT test skipped: ${unavailable}`);

/** Every RTCPeerConnection the page makes, kept for getStats. */
const RECORD_PCS = `(() => {
  const Original = window.RTCPeerConnection;
  const pcs = (window.__vdPcs = []);
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); pcs.push(this); }
  };
})()`;

interface SelectedPair {
  state: string;
  localType: string | null;
  localAddress: string | null;
  remoteType: string | null;
  remoteAddress: string | null;
}

/** The newest connected peer connection's selected candidate pair. */
const selectedPair = (page: Page): Promise<SelectedPair | null> =>
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
    const local = pair ? stats.get(pair.localCandidateId) : undefined;
    const remote = pair ? stats.get(pair.remoteCandidateId) : undefined;
    return {
      state: String(pair?.state ?? 'none'),
      localType: local?.candidateType ?? null,
      localAddress: local?.address ?? null,
      remoteType: remote?.candidateType ?? null,
      remoteAddress: remote?.address ?? null,
    };
  });

describe(
  'NAT for real: agent and customer in two private networks, coturn on the only shared address',
  {
    skip: unavailable ?? false,
  },
  () => {
    let nets: NatNetworks;
    let turn: RunningCoturn;
    let agentBrowser: Browser;
    let customerBrowser: Browser;
    const dirs: string[] = [];
    const stops: (() => Promise<unknown>)[] = [];

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vd-nat-'));
      dirs.push(dir);
      writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
      writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
      const media = (wav: string) => [`--use-file-for-fake-audio-capture=${join(dir, wav)}`];
      nets = await NatNetworks.create();
      [turn, agentBrowser, customerBrowser] = await Promise.all([
        startCoturn({ ip: nets.publicIp }),
        nets.launchChromium('agent', { extraArgs: media('tone-440.wav') }),
        nets.launchChromium('customer', { extraArgs: media('tone-1000.wav') }),
        ensureRendererBuilt(),
      ]);
    });
    after(async () => {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      await nets?.remove();
      await turn?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /** An authority (with or without TURN) and a console host, both published to the namespaces. */
    async function desk(withTurn: boolean): Promise<{ app: AppAuthority; mode: BrowserMode }> {
      const app = await startAppAuthority({
        sipSecret: SECRET,
        sipDomain: DOMAIN,
        ...(withTurn ? { turnUrls: [turn.turnUrl], turnSecret: turn.secret } : {}),
      });
      stops.push(() => app.a.dispose());
      const authorityPort = Number(new URL(app.a.url).port);
      const dataDir = mkdtempSync(join(tmpdir(), 'vd-nat-data-'));
      dirs.push(dataDir);
      const mode = await startBrowserMode({
        authorityUrl: app.a.url,
        dataDir,
        rendererDir,
        sipUrl: `ws://127.0.0.1:${authorityPort}/sip`,
      });
      stops.push(() => mode.close());
      await nets.publish(authorityPort, Number(new URL(mode.url).port));
      return { app, mode };
    }

    /** The customer's phone (in its namespace) enrolled, and Dana's console (in hers) with the request accepted. */
    async function upToTheCall(app: AppAuthority, mode: BrowserMode, shot: string) {
      const t: TestPage = await newTestPage(customerBrowser, `${shot}-customer`, {
        ...PHONE,
        permissions: ['camera', 'microphone'],
        locale: 'en-GB',
      });
      const c = await newTestPage(agentBrowser, shot, {
        viewport: VIEWPORT,
        permissions: ['microphone'],
        locale: 'en-GB',
      });
      await t.page.addInitScript(RECORD_PCS);
      await c.page.addInitScript(RECORD_PCS);
      const authenticator = await addVirtualAuthenticator(t);
      await t.page.goto(app.appUrl);
      const phone: Phone = { t, page: t.page, authenticator };
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
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
      await page
        .getByRole('region', { name: /Bob Okafor/ })
        .filter({ hasText: 'In progress' })
        .waitFor();
      const status = page.getByTestId('call-status');
      await status.getByText('Ready to call').waitFor();
      await page.getByRole('button', { name: 'Call customer' }).click();
      await phone.page
        .getByRole('heading', { name: 'Verified call from Northwind Bank — Dana Reyes' })
        .waitFor();
      await phone.page.getByRole('button', { name: 'Answer call' }).click();
      return { phone, c, page, status };
    }

    it('the call connects through the TURN relay (selected pair relay on both sides), tones both ways', async () => {
      const { app, mode } = await desk(true);
      const { phone, c, page, status } = await upToTheCall(app, mode, 'nat-turn-relay');
      try {
        await status.getByText(/^On the call/).waitFor();
        const [atAgent, atCustomer] = await Promise.all([
          detectTone(page, 'audio[data-testid="remote-audio"]', 30_000),
          detectTone(phone.page, '#vd-remote-audio', 30_000),
        ]);
        assert.ok(
          atAgent.hz && Math.abs(atAgent.hz - 1000) < 15,
          `console hears: ${JSON.stringify(atAgent)}`,
        );
        assert.ok(
          atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
          `customer hears: ${JSON.stringify(atCustomer)}`,
        );
        const [agentPair, customerPair] = await Promise.all([selectedPair(page), selectedPair(phone.page)]);
        for (const [who, pair] of [
          ['console', agentPair],
          ['customer', customerPair],
        ] as const) {
          assert.ok(pair, `${who}: a connected call with a selected candidate pair`);
          assert.equal(pair.localType, 'relay', `${who}'s pair: ${JSON.stringify(pair)}`);
          assert.equal(
            pair.localAddress,
            nets.publicIp,
            `${who} relays through coturn: ${JSON.stringify(pair)}`,
          );
          assert.equal(
            pair.remoteAddress,
            nets.publicIp,
            `${who}'s peer is the other relay: ${JSON.stringify(pair)}`,
          );
        }
        await page
          .getByTestId('media-path')
          .getByText(/TURN relay/)
          .waitFor();
        await c.screenshot('in-call-relayed');
        console.log(
          `# NAT + TURN: agent ${nets.address('agent')}, customer ${nets.address('customer')}, coturn ${turn.turnUrl}; ` +
            `console hears ${atAgent.hz?.toFixed(1)} Hz, customer ${atCustomer.hz?.toFixed(1)} Hz; pairs ${JSON.stringify([agentPair, customerPair])}`,
        );
        await page.getByRole('button', { name: /^Hang up/ }).click();
        await status.getByText('Ready to call').waitFor();
        assert.deepEqual(
          c.consoleErrors.filter((e) => !/WebSocket|net::/.test(e)),
          [],
        );
      } finally {
        await c.close();
        await phone.t.close();
      }
    });

    it('without TURN the call cannot connect: the console ends it and says why, and so does the customer app', async () => {
      const { app, mode } = await desk(false);
      const { phone, c, page, status } = await upToTheCall(app, mode, 'nat-no-turn');
      try {
        // ICE gives up (Chromium: some 30 s of failed checks); not a silent call left open.
        await status
          .getByText(
            'No media path to the customer: the network blocks direct audio and no TURN relay is available. Ready to call',
          )
          .waitFor({ timeout: 90_000 });
        await phone.page.getByRole('heading', { name: 'Call ended' }).waitFor();
        await phone.page
          .getByText(
            /^The call could not carry any sound: your network and the bank’s could not reach each other/,
          )
          .waitFor();
        assert.equal(await selectedPair(page), null, 'no peer connection ever connected');
        await c.screenshot('no-media-path');
      } finally {
        await c.close();
        await phone.t.close();
      }
    });
  },
);
