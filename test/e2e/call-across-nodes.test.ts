/**
 * Issue 12 item 5: a call works when the agent's console and the customer's app are
 * attached to different authority nodes and registered at different Kamailio servers.
 * Two nodes on one PostgreSQL database; two Kamailio servers sharing their registrations
 * through DMQ (deploy/kamailio: dmq_usrloc, Path): the customer app (phone viewport,
 * microphone fed 1 kHz) talks to node 1 and registers at Kamailio A, the console
 * (browser mode, 440 Hz) talks to node 2 and registers at Kamailio B; the INVITE goes
 * console -> B -> A -> app. The request queued at node 1 is offered on node 2; Dana accepts and
 * calls: the ticket node 2 signed is checked by the app (keys from the shared store),
 * the app's proof on the 200 OK is checked by node 2, the panel says "Voice from the
 * verified device", each side hears the other's tone, and the customer's hang-up
 * reaches the console. PostgreSQL only (nodes share a database).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { startBrowserMode, type BrowserMode } from '../../main/core/browser-mode.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { startKamailioPair, type RunningKamailio } from '../support/kamailio.ts';
import { testEngines } from '../support/postgres.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
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

const skip = testEngines().includes('postgres')
  ? false
  : 'PostgreSQL only (two nodes share one database): VD_TEST_ENGINES excludes postgres';

describe(
  'a call across nodes and Kamailio servers: console on node 2 and Kamailio B, app on node 1 and Kamailio A',
  { skip },
  () => {
    let node1: AppAuthority;
    let node2: TestAuthority;
    let kamailioA: RunningKamailio;
    let kamailioB: RunningKamailio;
    let mode: BrowserMode;
    let customerBrowser: Browser;
    let consoleBrowser: Browser;
    const dirs: string[] = [];

    before(async () => {
      const dir = mkdtempSync(join(tmpdir(), 'vd-call-nodes-'));
      dirs.push(dir);
      writeToneWav(join(dir, 'tone-1000.wav'), 1000, 60);
      writeToneWav(join(dir, 'tone-440.wav'), 440, 60);
      const media = (wav: string) => [
        '--allow-loopback-in-peer-connection',
        `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
      ];
      [kamailioA, kamailioB] = await startKamailioPair({ secret: SECRET, domain: DOMAIN });
      const sip = { sipSecret: SECRET, sipDomain: DOMAIN };
      [node1, customerBrowser, consoleBrowser] = await Promise.all([
        startAppAuthority({ ...sip, sipWsUrl: kamailioA.wsUrl }, undefined, { engine: 'postgres' }),
        launchChromium({ extraArgs: media('tone-1000.wav') }),
        launchChromium({ extraArgs: media('tone-440.wav') }),
        ensureRendererBuilt(),
      ]);
      node2 = await startTestAuthority(
        {
          ...sip,
          sipWsUrl: kamailioB.wsUrl,
          accessTokenSeconds: 3600,
          agentTimeoutSeconds: 3600,
          wrapUpSeconds: 0,
        },
        { shareDatabaseOf: node1.a },
      );
      const dataDir = mkdtempSync(join(tmpdir(), 'vd-call-nodes-console-'));
      dirs.push(dataDir);
      mode = await startBrowserMode({
        authorityUrl: node2.url,
        dataDir,
        rendererDir,
        sipUrl: kamailioB.wsUrl,
      });
    });
    after(async () => {
      await customerBrowser?.close();
      await consoleBrowser?.close();
      await mode?.close();
      await node2?.dispose();
      await node1?.a.dispose();
      await kamailioB?.stop();
      await kamailioA?.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });

    it('offer, verified call with tones both ways, far-end hang-up: each side on its own node', async () => {
      const phone = await openPhone(customerBrowser, node1, 'call-across-nodes-customer');
      const c = await newTestPage(consoleBrowser, 'call-across-nodes', {
        viewport: VIEWPORT,
        permissions: ['microphone'],
        locale: 'en-GB',
      });
      const page = c.page;
      const status = page.getByTestId('call-status');
      try {
        await enrolThroughApp(phone, await enrolmentCode(node1, 'c_bob_okafor_002'), '975310');
        await page.goto(mode.launchUrl);
        await signIn(page, 'agent1', 'demo-agent-1');
        await page.getByTestId('presence').waitFor();
        await page.getByLabel('Change presence').selectOption('available');

        // Queued at node 1, offered on node 2.
        await phone.page.getByRole('button', { name: 'Get help' }).click();
        await phone.page.getByRole('button', { name: /^Something else/ }).click();
        await page
          .getByRole('region', { name: /Bob Okafor/ })
          .filter({ hasText: 'New request' })
          .waitFor();
        await c.screenshot('1-offer-on-node-2');
        await page.keyboard.press('Control+Enter');
        await status.getByText('Ready to call').waitFor();

        const t0 = Date.now();
        await page.getByRole('button', { name: 'Call customer' }).click();
        await phone.page
          .getByRole('heading', { name: 'Verified call from Northwind Bank — Dana Reyes' })
          .waitFor();
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
        const audioMs = Date.now() - t0;
        assert.ok(
          atAgent.hz && Math.abs(atAgent.hz - 1000) < 15,
          `console hears: ${JSON.stringify(atAgent)}`,
        );
        assert.ok(
          atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
          `customer hears: ${JSON.stringify(atCustomer)}`,
        );
        await c.screenshot('2-in-call-across-nodes');
        await phone.t.screenshot('2-in-call-across-nodes');

        await phone.page.getByRole('button', { name: 'Hang up' }).click();
        await status.getByText('Ready to call').waitFor();
        await phone.page.getByRole('heading', { name: 'Call ended' }).waitFor();
        await c.screenshot('3-after-far-end-bye');
        console.log(
          `# across nodes: Call customer -> tones both ways ${audioMs} ms (console ${atAgent.hz?.toFixed(1)} Hz, customer ${atCustomer.hz?.toFixed(1)} Hz)`,
        );
        const errors = c.consoleErrors.filter((e) => !/WebSocket|ERR_CONNECTION|net::/.test(e));
        assert.deepEqual(errors, []);
        assert.deepEqual(phone.t.consoleErrors, []);
      } finally {
        await c.close();
        await phone.t.close();
      }
    });
  },
);
