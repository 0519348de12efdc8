/**
 * A verified call over SIP, end to end in two Chromium processes. The customer app
 * (phone viewport, microphone fed a 1 kHz tone) enrols, registers its sip.js phone
 * with ephemeral credentials on the authority's embedded SIP edge and asks for help.
 * The agent side (a fixture page bundling sip.js, microphone fed 440 Hz) registers
 * with Dana's credentials. An INVITE without a ticket is refused 403 and the app
 * shows "Unverified call blocked". With the ticket Dana got over the API, the app
 * rings "Verified call from Northwind Bank — Dana Reyes"; Answer sends the 200 OK
 * with the device's proof; each side hears the other's tone (AnalyserNode on the
 * remote audio); the authority records the proof; hang up sends BYE.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { CALL_TICKET_TYP } from '../../protocol/src/index.ts';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, newTestPage } from '../support/browser.ts';
import { api, bearer, routePath } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';
import {
  agent,
  assertNamedControls,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';
import { detectTone, writeToneWav } from './audio-harness.ts';
import { startFixtureServer, type FixtureServer } from './fixtures/fixture-server.ts';
import type { CallOutcome } from './fixtures/agent-phone.ts';

const fixture = (f: string) => fileURLToPath(new URL(`./fixtures/${f}`, import.meta.url));

type AgentPhoneApi = {
  register(c: unknown): Promise<number>;
  call(target: string, ticket: string | null): Promise<CallOutcome>;
  ended(): Promise<void>;
  stop(): Promise<void>;
};
const agentPhone = (page: Page) => ({
  register: (c: unknown) =>
    page.evaluate((x) => (window as unknown as { agentPhone: AgentPhoneApi }).agentPhone.register(x), c),
  call: (target: string, ticket: string | null) =>
    page.evaluate(
      ([t, k]) => (window as unknown as { agentPhone: AgentPhoneApi }).agentPhone.call(t!, k ?? null),
      [target, ticket] as const,
    ),
  ended: () => page.evaluate(() => (window as unknown as { agentPhone: AgentPhoneApi }).agentPhone.ended()),
  stop: () => page.evaluate(() => (window as unknown as { agentPhone: AgentPhoneApi }).agentPhone.stop()),
});

describe('a verified call over SIP reaches the customer app through the embedded edge, with audio both ways', () => {
  let app: AppAuthority;
  let customerBrowser: Browser;
  let agentBrowser: Browser;
  let server: FixtureServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-sip-tones-'));
    writeToneWav(join(dir, 'tone-1000.wav'), 1000);
    writeToneWav(join(dir, 'tone-440.wav'), 440);
    const media = (wav: string) => [
      '--allow-loopback-in-peer-connection',
      `--use-file-for-fake-audio-capture=${join(dir, wav)}`,
    ];
    [app, customerBrowser, agentBrowser, server] = await Promise.all([
      startAppAuthority(),
      launchChromium({ extraArgs: media('tone-1000.wav') }),
      launchChromium({ extraArgs: media('tone-440.wav') }),
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('blocks an INVITE without a ticket (403), rings a ticketed one, answers with the proof, two-way audio, BYE', async () => {
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    const agentSocket = await TestSocket.open(app.a.url);
    agentSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: dana.token } });
    assert.equal((await agentSocket.next()).type, 'welcome');

    // The device's phone registers as soon as the app has authenticated (after enrolment).
    const deviceRegistered = new Promise<string>((resolve) => {
      const on = (user: string) => {
        if (!user.startsWith('d-')) return;
        app.a.sipEdge.off('registered', on);
        resolve(user);
      };
      app.a.sipEdge.on('registered', on);
    });

    const phone = await openPhone(customerBrowser, app, 'customer-sip');
    const { t, page } = phone;
    const agentT = await newTestPage(agentBrowser, 'agent-phone');
    const ap = agentPhone(agentT.page);
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');
      const deviceUser = await deviceRegistered;

      await agentT.page.goto(`${server.origin}/`);
      await agentT.page.waitForFunction(() => 'agentPhone' in window);
      const creds = (await api(app.a.url, 'sipCredentials', { headers: bearer(dana.token) })).body;
      assert.match(creds.user, /^a-/);
      const registerMs = await ap.register(creds);
      const target = `sip:${deviceUser}@${creds.domain}`;

      // No ticket: refused before ringing, 403 to the caller, "Unverified call blocked" on the phone.
      const blocked = await ap.call(target, null);
      assert.equal(blocked.outcome, 'rejected');
      assert.equal((blocked as { status: number }).status, 403);
      const banner = page.getByRole('alert').filter({ hasText: 'Unverified call blocked' });
      await banner.waitFor();
      await banner.locator('time').waitFor();
      await page.getByText('The call carried no ticket from the company.', { exact: true }).waitFor();
      assert.equal(await page.getByRole('heading', { name: /^Verified call from/ }).count(), 0);
      await t.screenshot('1-blocked-no-ticket');

      // A request Dana takes; she gets a call ticket for it over the API.
      await dana.available();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Something else/ }).click();
      await page.getByTestId('position').getByText('An agent is about to call you').waitFor();
      const offer = (await dana.me()).offer;
      const fence = await dana.acceptOffer(offer.requestId);
      await page.getByTestId('position').getByText('An agent has your request').waitFor();
      const ticket = await dana.callTicket(offer.requestId, fence);
      await t.screenshot('2-waiting-assigned');

      // Forged: the real ticket's claims signed by a key that is not the authority's: 403 too.
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ ...decodeJwt(ticket), jti: 'forged-sip-jti-01' })
        .setProtectedHeader({ alg: 'ES256', typ: CALL_TICKET_TYP, kid: decodeProtectedHeader(ticket).kid! })
        .sign(privateKey);
      const forgedOutcome = await ap.call(target, forged);
      assert.deepEqual(
        { outcome: forgedOutcome.outcome, status: (forgedOutcome as { status?: number }).status },
        { outcome: 'rejected', status: 403 },
      );
      await page
        .getByRole('alert')
        .filter({ hasText: 'Unverified call blocked' })
        .filter({ hasText: 'The ticket was not signed by the company.' })
        .waitFor();
      await page.getByTestId('position').waitFor();
      assert.equal(await page.getByRole('heading', { name: /^Verified call from/ }).count(), 0);
      await t.screenshot('2b-blocked-forged');

      // INVITE with the ticket: the app rings with the company and agent from the signed ticket.
      const t0 = performance.now();
      const outcome = ap.call(target, ticket);
      const ringing = page.getByRole('heading', { name: 'Verified call from Northwind Bank — Dana Reyes' });
      await ringing.waitFor();
      const inviteToRingUiMs = performance.now() - t0;
      await assertNamedControls(t, 'incoming SIP call');
      await t.screenshot('3-incoming-verified');
      await agentT.page.getByRole('status').getByText('ringing').waitFor();

      const proofResponse = page.waitForResponse(
        (r) => r.url().endsWith(routePath('callProof')) && r.request().method() === 'POST',
      );
      await page.getByRole('button', { name: 'Answer call' }).click();
      const proofPosted = await proofResponse;
      assert.equal(proofPosted.status(), 201);
      const answered = await outcome;
      assert.equal(answered.outcome, 'established', JSON.stringify(answered));
      if (answered.outcome !== 'established') return;
      assert.ok(answered.proof, 'the 200 OK carries X-VD-Device-Proof');
      assert.equal(
        answered.proof,
        JSON.parse(proofPosted.request().postData() ?? '{}').proof,
        'the proof posted',
      );
      await page.getByRole('heading', { name: 'On a call with Dana Reyes' }).waitFor();
      await agentT.page.getByRole('status').getByText('in call').waitFor();

      // The authority has the proof: the agent is told, the ticket is marked proven.
      let frame;
      do frame = await agentSocket.next();
      while (frame.type !== 'call.verified');
      assert.equal(frame.requestId, offer.requestId);
      const jti = decodeJwt(ticket).jti!;
      const [row] = await app.a.sql<{ proven_at: number | null }>`
        SELECT proven_at FROM call_tickets WHERE jti = ${jti}`;
      assert.ok(row?.proven_at, 'call_tickets.proven_at is set');

      // Audio both ways: the agent hears the phone's 1 kHz, the phone hears the agent's 440 Hz.
      const [atAgent, atCustomer] = await Promise.all([
        detectTone(agentT.page, '#remote'),
        detectTone(page, '#vd-remote-audio'),
      ]);
      assert.ok(atAgent.hz && Math.abs(atAgent.hz - 1000) < 15, `agent side: ${JSON.stringify(atAgent)}`);
      assert.ok(
        atCustomer.hz && Math.abs(atCustomer.hz - 440) < 15,
        `customer side: ${JSON.stringify(atCustomer)}`,
      );
      await assertNamedControls(t, 'in SIP call');
      await t.screenshot('4-in-call');

      // Hang up on the phone: BYE ends the agent's session too.
      const agentEnded = ap.ended();
      await page.getByRole('button', { name: 'Hang up' }).click();
      await page.getByRole('heading', { name: 'Call ended' }).waitFor();
      await agentEnded;
      await agentT.page.getByRole('status').getByText('call ended').waitFor();
      await t.screenshot('5-call-ended');

      console.log(
        `# SIP figures: agent REGISTER ${registerMs.toFixed(0)} ms; blocked INVITE -> 403 ${(blocked as { ms: number }).ms.toFixed(0)} ms; ` +
          `INVITE -> 180 ${answered.ringingMs?.toFixed(0)} ms, INVITE -> ringing screen ${inviteToRingUiMs.toFixed(0)} ms; ` +
          `peak at agent ${atAgent.hz?.toFixed(1)} Hz (${atAgent.db?.toFixed(1)} dB, ${atAgent.ms.toFixed(0)} ms), ` +
          `peak at customer ${atCustomer.hz?.toFixed(1)} Hz (${atCustomer.db?.toFixed(1)} dB, ${atCustomer.ms.toFixed(0)} ms)`,
      );
      assert.deepEqual(t.consoleErrors, []);
      assert.deepEqual(agentT.consoleErrors, []);
    } finally {
      await ap.stop().catch(() => undefined);
      agentSocket.close();
      await agentT.close();
      await t.close();
    }
  });
});
