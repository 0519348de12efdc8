/**
 * No ghost call, no leaked consult (issue 15, defects 1 and 2), end to end: the real
 * customer app (1 kHz microphone) and consoles in browser mode (440 Hz) on the
 * authority's embedded SIP edge.
 *
 * - Warm transfer accepted: the consult leg ends on both consoles by itself (Sam never
 *   hangs it up), no page holds a live remote track (every media element's srcObject
 *   and every RTCPeerConnection's receivers are checked), and Sam calls the customer.
 * - Console reload mid-call, and the console's page closed (the process gone): the
 *   customer's phone leaves the call (the SIP edge BYEs the dialog of the connection
 *   that went away); the time it took is printed.
 * - The console's network cut for longer than the SIP server's grace, on the edge (3 s)
 *   and on Kamailio (its authority and SIP links through TCP proxies that reset them and
 *   refuse new ones): the phone leaves the call by itself ("Call ended", no ghost "On a
 *   call"; the grace, then the phone's 4 s wait for a hand-over); when the network comes
 *   back the desk says "Call lost — call again", and the agent calls again with tones
 *   both ways.
 * - The console reload again with Kamailio as the SIP server (CALL_GRACE 2 s). The
 *   reloading page's own BYE usually gets there first: the case of a WebSocket that goes
 *   away without one is test/integration/kamailio-dialog.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { launchChromium, newTestPage, saveScreenshot, type TestPage } from '../support/browser.ts';
import { startKamailio, type RunningKamailio } from '../support/kamailio.ts';
import { staffLogin } from '../support/http.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import {
  assertNoLiveRemoteTrack,
  detectTone,
  KEEP_PEER_CONNECTIONS,
  liveRemoteTracks,
  writeToneWav,
} from './audio-harness.ts';
import { ensureRendererBuilt, rendererDir, signIn, VIEWPORT } from './console-harness.ts';
import {
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

/** The embedded SIP edge's grace for a party whose connection went (VD_SIP_DIALOG_GRACE_SECONDS; 20 s by default). */
const GRACE_SECONDS = 3;
/** Kamailio's (its CALL_GRACE define). */
const KAMAILIO_GRACE_SECONDS = 2;

for (const server of ['edge', 'kamailio'] as const)
  describe(`calls that never drop, leak or lie: consult legs end, a console that goes away ends its call${server === 'kamailio' ? ' (Kamailio)' : ''}`, () => {
    let app: AppAuthority;
    let kamailio: RunningKamailio | null = null;
    let customerBrowser: Browser;
    let consoleBrowser: Browser;
    const modes: BrowserMode[] = [];
    const dirs: string[] = [];
    let samId: string;

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vd-continuity-'));
      dirs.push(dir);
      writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
      writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
      const media = (wav: string) => [
        '--allow-loopback-in-peer-connection',
        `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
      ];
      const secret = randomBytes(30).toString('base64url');
      const domain = 'verified-desk.local';
      if (server === 'kamailio')
        kamailio = await startKamailio({ secret, domain, defines: [`CALL_GRACE=${KAMAILIO_GRACE_SECONDS}`] });
      [app, customerBrowser, consoleBrowser] = await Promise.all([
        startAppAuthority({
          offerTimeoutSeconds: 120,
          sipDialogGraceSeconds: GRACE_SECONDS,
          ...(kamailio ? { sipSecret: secret, sipDomain: domain, sipWsUrl: kamailio.wsUrl } : {}),
        }),
        launchChromium({ extraArgs: media('tone-1000.wav') }),
        launchChromium({ extraArgs: media('tone-440.wav') }),
        ensureRendererBuilt(),
      ]);
      const sam = await staffLogin(app.a.url, 'agent2', 'demo-agent-2');
      samId = sam.staffId;
      await app.a.services.pipeline.agents.setSchedule(sam.staffId, []);
    });
    after(async () => {
      await customerBrowser?.close();
      await consoleBrowser?.close();
      for (const m of modes) await m.close();
      await app?.a.dispose();
      await kamailio?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    /** A console in browser mode; `via`: its links to the authority and to the SIP server go through these proxies (the network the test cuts). */
    const openConsole = async (
      name: string,
      username: string,
      password: string,
      via?: { authority: TcpProxy; sip: TcpProxy },
    ): Promise<TestPage & { mode: BrowserMode; dataDir: string }> => {
      const dataDir = mkdtempSync(join(tmpdir(), 'vd-continuity-console-'));
      dirs.push(dataDir);
      const mode = await startBrowserMode({
        authorityUrl: via ? `http://127.0.0.1:${via.authority.port}` : app.a.url,
        dataDir,
        rendererDir,
        ...(via
          ? { sipUrl: `ws://127.0.0.1:${via.sip.port}/${kamailio ? '' : 'sip'}` }
          : kamailio
            ? { sipUrl: kamailio.wsUrl }
            : {}),
      });
      modes.push(mode);
      const t = await newTestPage(consoleBrowser, name, { viewport: VIEWPORT, permissions: ['microphone'] });
      await t.page.addInitScript(KEEP_PEER_CONNECTIONS);
      await t.page.goto(mode.launchUrl);
      await signIn(t.page, username, password);
      await t.page.getByTestId('presence').waitFor();
      return Object.assign(t, { mode, dataDir });
    };

    /** The agent takes the customer's request (any other agent on a break first). */
    const takesTheRequest = async (pa: Page, others: Page[], pc: Page, customer: string) => {
      for (const o of others) await o.getByLabel('Change presence').selectOption('break:lunch');
      await pa.getByLabel('Change presence').selectOption('available');
      await pc.getByRole('button', { name: 'Get help' }).click();
      await pc.getByRole('button', { name: /^Something else/ }).click();
      await pa
        .getByRole('region', { name: new RegExp(customer) })
        .filter({ hasText: 'New request' })
        .waitFor();
      await pa.keyboard.press('Control+Enter');
      await pa.getByTestId('call-status').getByText('Ready to call').waitFor();
    };

    /** The agent calls and both hear each other; `continued`: the call replaces one ended by a transfer, so the phone answers by itself. */
    const callAndHear = async (agent: Page, agentName: string, customer: Page, continued = false) => {
      await agent.getByRole('button', { name: 'Call customer' }).click();
      if (continued) {
        await customer.getByTestId('call-continued').getByText(`You are now with ${agentName}`).waitFor();
      } else {
        await customer
          .getByRole('heading', { name: `Verified call from Northwind Bank — ${agentName}` })
          .waitFor();
        await customer.getByRole('button', { name: 'Answer call' }).click();
      }
      await customer.getByRole('heading', { name: `On a call with ${agentName}` }).waitFor();
      const [atAgent, atCustomer] = await Promise.all([
        detectTone(agent, 'audio[data-testid="remote-audio"]'),
        detectTone(customer, '#vd-remote-audio'),
      ]);
      assert.ok(atAgent.hz && Math.abs(atAgent.hz - 1000) < 15, `agent hears: ${JSON.stringify(atAgent)}`);
      assert.ok(
        atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
        `customer hears: ${JSON.stringify(atCustomer)}`,
      );
    };

    if (server === 'edge')
      it('warm transfer accepted: the consult leg ends on both consoles, no live remote track on Dana’s page, Sam calls the customer', async () => {
        const phone = await openPhone(customerBrowser, app, 'continuity-warm-customer');
        const dana = await openConsole('continuity-warm-dana', 'agent1', 'demo-agent-1');
        const sam = await openConsole('continuity-warm-sam', 'agent2', 'demo-agent-2');
        const [pa, pb, pc] = [dana.page, sam.page, phone.page];
        try {
          await enrolThroughApp(phone, await enrolmentCode(app, 'c_chen_wei_00003'), '975310');
          await takesTheRequest(pa, [pb], pc, 'Chen Wei');
          await callAndHear(pa, 'Dana Reyes', pc);

          await pb.getByLabel('Change presence').selectOption('available');
          await pa.getByRole('button', { name: /^Hold/ }).click();
          await pa
            .getByTestId('call-status')
            .getByText(/^On hold/)
            .waitFor();
          await pa.getByRole('button', { name: 'Transfer…' }).click();
          const dialog = pa.getByRole('form', { name: 'Transfer Chen Wei' });
          await dialog.getByLabel('Warm: talk to them first').check();
          await dialog.getByLabel('Agent', { exact: true }).selectOption(samId);
          await dialog.getByRole('button', { name: 'Start warm transfer' }).click();
          const consult = pa.getByRole('region', { name: 'Warm transfer to Sam Patel' });
          const offer = pb.getByRole('region', { name: 'Transfer offer from Dana Reyes' });
          await offer.getByRole('heading', { name: /Chen Wei/ }).waitFor();
          await consult.getByRole('button', { name: 'Call Sam Patel' }).click();
          const ringing = pb.getByRole('alertdialog', { name: 'Incoming call' });
          await ringing.getByRole('button', { name: 'Answer' }).click();
          const colleague = pb.getByRole('group', { name: 'Call with a colleague' });
          await colleague.getByText(/On a call with/).waitFor();
          const atDana = await detectTone(pa, 'audio[data-testid="remote-audio"]');
          assert.ok(atDana.hz && Math.abs(atDana.hz - 440) < 15, `Dana hears Sam: ${JSON.stringify(atDana)}`);

          // Sam accepts; nobody hangs up the consult leg by hand.
          await offer.getByRole('button', { name: 'Accept transfer' }).click();
          await pb
            .getByRole('region', { name: /Chen Wei/ })
            .filter({ hasText: 'In progress' })
            .waitFor();
          await colleague.waitFor({ state: 'detached' });
          await pa.getByTestId('softphone-status').getByText('ready').waitFor();
          await assertNoLiveRemoteTrack(pa, 'Dana');
          await dana.screenshot('continuity-1-dana-after-warm-accept');
          await sam.screenshot('continuity-2-sam-after-warm-accept');
          await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
          await pc.getByText(/You are now with Sam Patel/).waitFor();
          // The customer stays on the line: Sam's call continues Dana's without ringing.
          await callAndHear(pb, 'Sam Patel', pc, true);
          assert.deepEqual(
            await liveRemoteTracks(pa),
            [],
            'still none on Dana’s page while Sam talks to the customer',
          );
          await pc.getByRole('button', { name: 'Hang up' }).click();
          await pb.getByTestId('call-status').getByText('Ready to call').waitFor();
          // Sam completes, so he is free (and Dana takes the next tests' requests).
          await pb.getByRole('button', { name: 'Complete request' }).click();
          await pb
            .getByRole('region', { name: /Chen Wei/ })
            .filter({ hasText: 'In progress' })
            .waitFor({ state: 'detached' });
        } finally {
          await dana.close();
          await sam.close();
          await phone.t.close();
        }
      });

    const HOW = {
      reload: 'reloaded',
      close: 'page closed',
      crash: 'renderer process killed (no unload, no BYE)',
    } as const;
    for (const how of server === 'edge' ? (['reload', 'close', 'crash'] as const) : (['reload'] as const))
      it(`console ${HOW[how]} mid-call: the customer's phone leaves the call`, async () => {
        const phone = await openPhone(customerBrowser, app, `continuity-${how}-customer`);
        // Dana is reloaded; Sam's page is closed (each leaves a request behind).
        const [user, password, name] =
          how === 'close'
            ? ['agent2', 'demo-agent-2', 'Sam Patel']
            : ['agent1', 'demo-agent-1', 'Dana Reyes'];
        const dana = await openConsole(`continuity-${how}-agent`, user, password);
        const [pa, pc] = [dana.page, phone.page];
        try {
          const customer = how === 'close' ? 'Alice Martin' : 'Bob Okafor';
          const customerId = how === 'close' ? 'c_alice_martin_01' : 'c_bob_okafor_002';
          await enrolThroughApp(phone, await enrolmentCode(app, customerId), '975310');
          if (how === 'crash') await pa.getByLabel('Change presence').selectOption('available');
          await takesTheRequest(pa, [], pc, customer);
          await callAndHear(pa, name, pc);
          const inCall = pc.getByRole('heading', { name: `On a call with ${name}` });
          const started = Date.now();
          if (how === 'reload') await pa.reload();
          else if (how === 'close') await pa.close();
          else {
            // The console's renderer process dies: nothing of the page runs any more (no
            // unload handler, no BYE); its connections close with the process. Only the
            // SIP server can end the call, after its grace.
            const cdp = await pa.context().newCDPSession(pa);
            void cdp.send('Page.crash').catch(() => undefined);
          }
          await inCall.waitFor({ state: 'detached', timeout: 60_000 });
          console.log(`# console ${how}: the phone left the call after ${Date.now() - started} ms`);
          await phone.t.screenshot(`continuity-3-phone-after-console-${how}`);
          if (how !== 'close') {
            let desk = pa;
            if (how === 'crash') {
              // The whole console went, its host process too: it starts again on the same
              // local store and port, as the desktop app does, and opens in a new tab.
              modes.splice(modes.indexOf(dana.mode), 1);
              await dana.mode.close();
              const again = await startBrowserMode({
                authorityUrl: app.a.url,
                dataDir: dana.dataDir,
                rendererDir,
                port: Number(new URL(dana.mode.url).port),
                ...(kamailio ? { sipUrl: kamailio.wsUrl } : {}),
              });
              modes.push(again);
              desk = await dana.context.newPage();
              await desk.goto(again.launchUrl);
              await signIn(desk, user, password);
            }
            // The console comes back: it knows the call was lost; the request is still the
            // agent's, who can call again.
            await desk.getByTestId('call-status').getByText('Call lost — call again').waitFor();
            await saveScreenshot(
              desk,
              `continuity-4-console-call-lost-after-${how}`,
              `continuity-${how}-agent`,
            );
            await desk.getByRole('button', { name: 'Complete request' }).click();
            await desk
              .getByRole('region', { name: /Bob Okafor/ })
              .filter({ hasText: 'In progress' })
              .waitFor({ state: 'detached' });
            // Dana on a break: the next test's request goes to another agent.
            await desk.getByLabel('Change presence').selectOption('break:lunch');
          }
        } finally {
          await dana.close().catch(() => undefined);
          await phone.t.close();
        }
      });

    const grace = server === 'kamailio' ? KAMAILIO_GRACE_SECONDS : GRACE_SECONDS;
    it(`network cut for longer than the SIP server's grace (${grace} s): the phone leaves the call by itself, the desk says the call was lost and calls again`, async () => {
      const authority = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(app.a.url).port) });
      const sip = kamailio ? await TcpProxy.start({ host: '127.0.0.1', port: kamailio.port }) : authority;
      const proxies = [...new Set([authority, sip])];
      const shot = (name: string) => `${name}${kamailio ? '-kamailio' : ''}`;
      const phone = await openPhone(customerBrowser, app, shot('continuity-cut-customer'));
      const dana = await openConsole(shot('continuity-cut-dana'), 'agent1', 'demo-agent-1', {
        authority,
        sip,
      });
      const [pa, pc] = [dana.page, phone.page];
      try {
        await pc.addInitScript(KEEP_PEER_CONNECTIONS);
        await pc.reload();
        await enrolThroughApp(phone, await enrolmentCode(app, 'c_chen_wei_00003'), '975310');
        await takesTheRequest(pa, [], pc, 'Chen Wei');
        await callAndHear(pa, 'Dana Reyes', pc);

        // The console's network goes: every link to the authority and the SIP server is reset,
        // new ones are refused, until the phone has left the call.
        const started = Date.now();
        for (const p of proxies) p.cut();
        await pc.getByRole('heading', { name: 'Call ended' }).waitFor({ timeout: 30_000 });
        console.log(
          `# network cut (${server}): the phone left the call after ${Date.now() - started} ms (grace ${grace} s); proxies ${JSON.stringify(proxies.map((p) => p.counts))}`,
        );
        assert.equal(
          await pc.getByRole('heading', { name: /^On a call with/ }).count(),
          0,
          'no ghost "On a call" on the phone',
        );
        await assertNoLiveRemoteTrack(pc, 'the phone');
        await phone.t.screenshot('continuity-5-phone-after-network-cut');
        await dana.screenshot('continuity-6-console-during-network-cut');

        // The network comes back: the desk says the call was lost, and the request is still Dana's.
        for (const p of proxies) p.restore();
        await pa.getByTestId('call-status').getByText('Call lost — call again').waitFor({ timeout: 30_000 });
        await pa
          .getByRole('region', { name: /Chen Wei/ })
          .filter({ hasText: 'In progress' })
          .waitFor();
        await assertNoLiveRemoteTrack(pa, 'Dana');
        await dana.screenshot('continuity-7-console-call-lost-after-network-cut');

        // She calls again: the phone rings as a verified call and both hear each other.
        await pc.getByRole('button', { name: 'Done' }).click();
        await callAndHear(pa, 'Dana Reyes', pc);
        await dana.screenshot('continuity-8-console-called-again-after-network-cut');
        await pc.getByRole('button', { name: 'Hang up' }).click();
        await pa.getByTestId('call-status').getByText('Ready to call').waitFor();
        // The desk's own link to the authority is back too (its backoff is at most 10 s).
        await pa.getByText(/The authority is unreachable/).waitFor({ state: 'detached', timeout: 30_000 });
        await pa.getByRole('button', { name: 'Complete request' }).click();
        await pa
          .getByRole('region', { name: /Chen Wei/ })
          .filter({ hasText: 'In progress' })
          .waitFor({ state: 'detached' });
      } finally {
        await dana.close().catch(() => undefined);
        await phone.t.close();
        for (const p of proxies) await p.close();
      }
    });
  });
