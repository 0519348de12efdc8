/**
 * Only verified calls ring, in Chromium. A phone enrolled through the app waits for
 * help; call tickets reach its IncomingCallGuard through the app's automation entry
 * point (the path the sip.js delegate will take). Forged (another signing key),
 * expired, other-session, other-device, missing and replayed tickets never ring: the
 * app shows "Unverified call blocked" with the time. A ticket the agent got over the
 * real API rings as "Verified call from Northwind Bank — Dana Reyes"; answering it
 * posts the device's proof (201) and the agent's WebSocket gets 'call.verified'.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { CALL_TICKET_TYP } from '../../protocol/src/index.ts';
import { launchChromium } from '../support/browser.ts';
import { TestDevice } from '../support/device.ts';
import { routePath } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';
import {
  agent,
  assertNamedControls,
  deliverCall,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

/** The authority's clock, which the test can move back to issue an already-expired ticket through the real API. */
const clock = {
  offsetMs: 0,
  now() {
    return Date.now() + this.offsetMs;
  },
};

const ringing = (page: Page) => page.getByRole('heading', { name: /^Verified call from/ });

/** Deliver a ticket that must be refused: blocked with `reason`, shown with its time, never ringing. */
async function expectBlocked(page: Page, ticket: string | null, reason: string): Promise<void> {
  const out = await deliverCall(page, ticket);
  assert.deepEqual({ verdict: out.verdict, reason: out.reason }, { verdict: 'blocked', reason });
  const banner = page.getByRole('alert').filter({ hasText: 'Unverified call blocked' });
  const time = banner.locator(`time[datetime="${out.at}"]`);
  await time.waitFor();
  assert.match((await time.textContent()) ?? '', /^\d{2}:\d{2}:\d{2}$/, 'the time is visible');
  assert.equal(await ringing(page).count(), 0, `a ${reason} ticket must never ring`);
}

describe('incoming calls in Chromium: only a valid call ticket for this device and session rings', () => {
  let app: AppAuthority;
  let browser: Browser;

  before(async () => {
    app = await startAppAuthority({}, clock);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.a.dispose();
  });

  it('blocks forged, expired, other-session, other-device, missing and replayed tickets; a valid one rings and is proven on answer', async () => {
    const dana = await agent(app, 'agent1', 'demo-agent-1');
    const agentSocket = await TestSocket.open(app.a.url);
    agentSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: dana.token } });
    assert.equal((await agentSocket.next()).type, 'welcome');

    const phone = await openPhone(browser, app, 'customer-call');
    const { t, page } = phone;
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_bob_okafor_002'), '975310');

      /** "Get help" -> "Something else" (level 1): queued at once; Dana takes it. Returns request id and fence. */
      const askForHelp = async (): Promise<{ requestId: string; fence: number }> => {
        await dana.available();
        await page.getByRole('button', { name: 'Get help' }).click();
        await page.getByRole('button', { name: /^Something else/ }).click();
        await page.getByTestId('position').getByText('An agent is about to call you').waitFor();
        const offer = (await dana.me()).offer;
        const fence = await dana.acceptOffer(offer.requestId);
        await page.getByTestId('position').getByText('An agent has your request').waitFor();
        return { requestId: offer.requestId, fence };
      };

      // A first request, a ticket for its session, then the customer cancels it:
      // that ticket is now for a session that is no longer this device's.
      const first = await askForHelp();
      const oldSessionTicket = await dana.callTicket(first.requestId, first.fence);
      await page.getByRole('button', { name: 'Cancel request' }).click();
      await page.getByRole('button', { name: 'Yes, cancel request' }).click();
      await page.getByRole('status').getByText('Your request was cancelled.').waitFor();

      const current = await askForHelp();
      await t.screenshot('1-waiting-assigned');
      const valid = await dana.callTicket(current.requestId, current.fence);

      // Forged: the same claims, signed by a key that is not the authority's.
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT({ ...decodeJwt(valid), jti: 'forged-jti-0001' })
        .setProtectedHeader({ alg: 'ES256', typ: CALL_TICKET_TYP, kid: decodeProtectedHeader(valid).kid! })
        .sign(privateKey);
      await expectBlocked(page, forged, 'forged');
      await page.getByText('The ticket was not signed by the company.').waitFor();
      await assertNamedControls(t, 'blocked banner');
      await t.screenshot('2-blocked-forged');

      // Expired: issued by the real API with the authority's clock 90 s back (tickets live 60 s).
      clock.offsetMs = -90_000;
      const expired = await dana.callTicket(current.requestId, current.fence);
      clock.offsetMs = 0;
      assert.ok((decodeJwt(expired).exp as number) * 1000 < Date.now());
      await expectBlocked(page, expired, 'expired');

      // Other session: a genuine ticket for this phone, but for the request it cancelled.
      assert.equal(decodeJwt(oldSessionTicket).dev, decodeJwt(valid).dev, 'same device');
      await expectBlocked(page, oldSessionTicket, 'other-session');

      // Other device: a genuine ticket for someone else's phone and session.
      const morgan = await agent(app, 'supervisor', 'demo-supervisor');
      await morgan.available();
      const chen = await new TestDevice(app.a.url).enrolAndAuthenticate(
        await enrolmentCode(app, 'c_chen_wei_00003'),
      );
      const chenReq = (await chen.api('createRequest', { json: { optionId: 'other' } })).body.request;
      const chenFence = await morgan.acceptOffer(chenReq.requestId);
      await expectBlocked(page, await morgan.callTicket(chenReq.requestId, chenFence), 'other-device');

      // No ticket at all.
      await expectBlocked(page, null, 'missing');
      await t.screenshot('3-blocked-missing');

      // The valid ticket rings, with the company and the agent's name from the signed ticket.
      const rang = await deliverCall(page, valid);
      assert.deepEqual(rang, { verdict: 'ring' });
      await page.getByRole('heading', { name: 'Verified call from Northwind Bank — Dana Reyes' }).waitFor();
      await assertNamedControls(t, 'incoming call');
      await t.screenshot('4-incoming-verified');

      // Answer: the device signs the proof; the authority records it (201) and tells the agent.
      const proofResponse = page.waitForResponse(
        (r) => r.url().endsWith(routePath('callProof')) && r.request().method() === 'POST',
      );
      await page.getByRole('button', { name: 'Answer call' }).click();
      const proof = await proofResponse;
      assert.equal(proof.status(), 201);
      const recorded = await proof.json();
      assert.equal(recorded.requestId, current.requestId);
      let frame;
      do frame = await agentSocket.next();
      while (frame.type !== 'call.verified');
      assert.equal(frame.requestId, current.requestId);

      await page.getByRole('heading', { name: 'On a call with Dana Reyes' }).waitFor();
      await page.getByText('Your phone proved with its key that it answered this call.').waitFor();
      const mute = page.getByRole('button', { name: 'Mute' });
      await mute.click();
      await page.getByRole('button', { name: 'Mute', pressed: true }).waitFor();
      assert.equal(
        await page.evaluate(() =>
          navigator.mediaDevices.enumerateDevices().then((d) => d.some((x) => x.kind === 'audioinput')),
        ),
        true,
        'the fake microphone is there',
      );
      await assertNamedControls(t, 'in call');
      await t.screenshot('5-in-call-muted');

      // The same ticket again: a replay, blocked even during the call.
      await expectBlocked(page, valid, 'replayed');
      await t.screenshot('6-blocked-replay-in-call');

      await page.getByRole('button', { name: 'Hang up' }).click();
      await page.getByRole('heading', { name: 'Call ended' }).waitFor();
      await t.screenshot('7-call-ended');
      await page.getByRole('button', { name: 'Done' }).click();
      await page.getByRole('button', { name: 'Home' }).click();
      const list = page.getByRole('region', { name: 'Blocked calls' }).getByRole('listitem');
      await list.nth(5).waitFor();
      assert.equal(await list.count(), 6, 'forged, expired, other-session, other-device, missing, replayed');
      await t.screenshot('8-home-blocked-list');

      assert.deepEqual(t.consoleErrors, []);
    } finally {
      agentSocket.close();
      await t.close();
    }
  });
});
