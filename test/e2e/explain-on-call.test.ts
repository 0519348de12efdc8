/**
 * "Explain on the call" in the real customer app (Chromium, phone viewport, real
 * authority): a phone verified by its key only (level 1, after a reload) asks for "A
 * payment failed" (level 2, the option allows it), chooses "Explain on the call instead",
 * and the waiting screen says the agent will ask security questions. The agent takes the
 * request and the customer's right answers raise the level to 2: the same screen, live,
 * says there are no more questions (the view's requiredLevel), never the stale line, and
 * "Verified: ..." names the security answers (never the level's "PIN or photo").
 * Screenshots: test/e2e/screenshots/explain-on-call-*.png.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/browser.ts';
import {
  agent,
  assertNamedControls,
  enrolmentCode,
  enrolThroughApp,
  openPhone,
  startAppAuthority,
  type AppAuthority,
} from './customer-app-harness.ts';

describe('customer app: explained on the call, then verified by the questions', () => {
  let app: AppAuthority;
  let browser: Browser;

  before(async () => {
    [app, browser] = await Promise.all([startAppAuthority({ offerTimeoutSeconds: 120 }), launchChromium()]);
  });
  after(async () => {
    await browser?.close();
    await app?.a.dispose();
  });

  it('the waiting screen asks for the questions while below the option’s level, and says they are done once reached', async () => {
    const phone = await openPhone(browser, app, 'explain-on-call');
    const { page, t } = { page: phone.page, t: phone.t };
    try {
      await enrolThroughApp(phone, await enrolmentCode(app, 'c_alice_martin_01'), '246810');
      // After a reload the phone is verified by its key only: level 1.
      await page.reload();
      await page.getByRole('heading', { name: 'Verified: this phone', exact: true }).waitFor();
      await page.getByRole('button', { name: 'Get help' }).click();
      await page.getByRole('button', { name: /^Payments/ }).click();
      await page.getByRole('button', { name: /A payment failed/ }).click();
      await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor();
      await page.getByRole('button', { name: 'Explain on the call instead' }).click();

      await page.getByRole('heading', { name: 'A payment failed' }).waitFor();
      const line = page.getByTestId('verify-on-call');
      await line.getByText('The agent will ask you some security questions to confirm it’s you.').waitFor();
      await assertNamedControls(t, 'waiting, explained on the call');
      await t.screenshot('1-waiting-questions-owed');

      // Dana takes it and asks the questions; the customer's answers are right: level 2.
      const dana = await agent(app, 'agent1', 'demo-agent-1');
      await dana.available();
      const offer = (await dana.me()).offer as { requestId: string } | null;
      assert.ok(offer, 'Dana is offered the request');
      const fence = await dana.acceptOffer(offer.requestId);
      const qs = await dana.api('requestKnowledgeQuestions', { params: { requestId: offer.requestId } });
      assert.equal(qs.status, 200, JSON.stringify(qs.body));
      const right = new Map([
        ['Name of your first school?', 'Riverside Primary'],
        ['City where you opened the account?', 'Leeds'],
      ]);
      const answers = qs.body.questions
        .slice(0, qs.body.answersNeeded)
        .map((q: { questionId: string; prompt: string }) => ({
          questionId: q.questionId,
          answer: right.get(q.prompt) ?? '',
        }));
      const checked = await dana.api('requestKnowledgeCheck', {
        params: { requestId: offer.requestId },
        json: { fence, answers, agentMs: 20_000 },
      });
      assert.equal(checked.status, 200, JSON.stringify(checked.body));
      assert.equal(checked.body.level, 2);

      // The phone's screen follows live: no stale "will ask you" line.
      await line.getByText('You are verified for this request now: no more security questions.').waitFor();
      assert.equal(await page.getByText(/will ask you some security questions/).count(), 0);
      // And the "Verified: ..." line names the answers, not the level's "PIN or photo".
      await page.getByText('Verified: this phone and your security answers.').waitFor();
      assert.equal(await page.getByText(/PIN or photo/).count(), 0);
      await t.screenshot('2-waiting-questions-done');
    } finally {
      await t.close();
    }
  });
});
