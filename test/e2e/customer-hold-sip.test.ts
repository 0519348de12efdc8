/**
 * "You are on hold" from the real SIP path (issue 15, "the customer is not told when on
 * hold"): the customer app answers a ticketed call over the authority's embedded SIP
 * edge; the agent's sip.js phone (the fixture page) puts the call on hold with a
 * re-INVITE offering sendonly audio, as the console's softphone does, and the phone says
 * "You are on hold"; the resume (sendrecv) takes it away. Screenshots customer-hold-sip-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer } from '../support/http.ts';
import {
  agent,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';
import { startFixtureServer, type FixtureServer } from './fixtures/fixture-server.ts';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

type AgentPhone = {
  register(c: unknown): Promise<number>;
  call(target: string, ticket: string | null): Promise<{ outcome: string }>;
  hold(on: boolean): Promise<void>;
  stop(): Promise<void>;
};
const agentPhone = <K extends keyof AgentPhone>(page: Page, name: K, ...args: Parameters<AgentPhone[K]>) =>
  page.evaluate(
    ([n, a]) =>
      (
        (window as unknown as { agentPhone: Record<string, (...x: unknown[]) => Promise<unknown>> })
          .agentPhone[n as string] as (...x: unknown[]) => Promise<unknown>
      )(...(a as unknown[])),
    [name, args] as const,
  );

describe('the customer app says "You are on hold" when the agent’s phone holds the call over SIP', () => {
  let app: AppAuthority;
  let customerBrowser: Browser;
  let agentBrowser: Browser;
  let server: FixtureServer;

  before(async () => {
    const args = { extraArgs: ['--allow-loopback-in-peer-connection'] };
    [app, customerBrowser, agentBrowser, server] = await Promise.all([
      startAppAuthority(),
      launchChromium(args),
      launchChromium(args),
      startFixtureServer({
        html: { '/': fixture('agent-phone.html') },
        scripts: { '/agent-phone.js': fixture('agent-phone.ts') },
      }),
    ]);
  });
  after(async () => {
    await customerBrowser?.close();
    await agentBrowser?.close();
    await server?.close();
    await app?.a.dispose();
  });

  it('hold (sendonly re-INVITE) shows "You are on hold"; resume removes it', async () => {
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    const deviceRegistered = new Promise<string>((resolve) => {
      const on = (user: string) => {
        if (!user.startsWith('d-')) return;
        app.a.sipEdge.off('registered', on);
        resolve(user);
      };
      app.a.sipEdge.on('registered', on);
    });
    const phone = await openPhone(customerBrowser, app, 'customer-hold-sip');
    const { t, page } = phone;
    const agentT = await newTestPage(agentBrowser, 'agent-phone-hold');
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
      const deviceUser = await deviceRegistered;
      await agentT.page.goto(`${server.origin}/`);
      await agentT.page.waitForFunction(() => 'agentPhone' in window);
      const creds = (await api(app.a.url, 'sipCredentials', { headers: bearer(dana.token) })).body;
      await agentPhone(agentT.page, 'register', creds);

      await dana.available();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Something else/ }).click();
      const offer = (await dana.me()).offer;
      const fence = await dana.acceptOffer(offer.requestId);
      const ticket = await dana.callTicket(offer.requestId, fence);

      const outcome = agentPhone(agentT.page, 'call', `sip:${deviceUser}@${creds.domain}`, ticket);
      await page.getByRole('button', { name: 'Answer call' }).click();
      assert.equal(((await outcome) as { outcome: string }).outcome, 'established');
      await page.getByRole('heading', { name: 'On a call with Dana Reyes' }).waitFor();
      assert.equal(await page.getByTestId('hold-status').count(), 0);

      await agentPhone(agentT.page, 'hold', true);
      const hold = page.getByTestId('hold-status');
      await hold.getByText('You are on hold').waitFor();
      await t.screenshot('1-held-over-sip');

      await agentPhone(agentT.page, 'hold', false);
      await hold.waitFor({ state: 'detached' });
      await t.screenshot('2-resumed');
      assert.deepEqual(t.consoleErrors, []);
    } finally {
      await agentPhone(agentT.page, 'stop').catch(() => undefined);
      await agentT.close();
      await t.close();
    }
  });
});
