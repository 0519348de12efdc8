/**
 * "Explain on the call": a customer whose phone cannot reach an option's level (no
 * fingerprint sensor, no PIN) may still ask for help where the option allows it
 * (the menu leaf's verifyOnCall; the demo's "A payment failed", level 2). The request
 * queues at the level the authentication has, its view says verifyOnCall and the option's
 * level (requiredLevel: the app says questions are owed while below it), the secure
 * fields of the option's level stay locked, and the agent holding it asks the customer's
 * security questions: right answers raise the level (device + knowledge: 2) and the fields
 * unlock. An option that does not allow it (the demo's "Lost or stolen card") refuses it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PipelineConfig } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const ALICE = 'c_alice_martin_01';

describe('verified on the call: a request queued below its level, the agent asks the security questions', () => {
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let a: TestAuthority;
  let device: TestDevice;

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: ALICE },
      headers: bearer(admin),
    });
    assert.equal(code.status, 201, JSON.stringify(code.body));
    // The device key alone: level 1 (no PIN, no biometric on this phone).
    device = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await device.authenticate()).status, 201);
  });
  after(() => a.dispose());

  const create = (json: Record<string, unknown>) => device.api('createRequest', { json });

  it('step_up_required says verifyOnCall only where the option allows it', async () => {
    const allowed = await create({ optionId: 'payment-failed' });
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.equal(allowed.body.status, 'step_up_required');
    assert.equal(allowed.body.requiredLevel, 2);
    assert.equal(allowed.body.currentLevel, 1);
    assert.equal(allowed.body.verifyOnCall, true);
    const not = await create({ optionId: 'lost-card' });
    assert.equal(not.body.status, 'step_up_required', JSON.stringify(not.body));
    assert.equal('verifyOnCall' in not.body, false, JSON.stringify(not.body));
  });

  it('verifyOnCall on an option that does not allow it is refused, nothing queued', async () => {
    const refused = await create({ optionId: 'lost-card', verifyOnCall: true });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.code, 'invalid_request');
    assert.match(refused.body.message, /does not allow being verified on the call/);
    const rows = await a.sql<{ n: number }>`SELECT COUNT(*) AS n FROM requests WHERE option_id = 'lost-card'`;
    assert.equal(Number(rows[0]!.n), 0);
  });

  it('allowed: queued at level 1 with verifyOnCall; secure fields locked until the right answers raise it to 2', async () => {
    const q = await create({
      optionId: 'payment-failed',
      verifyOnCall: true,
      idempotencyKey: 'explain-on-call-1',
    });
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId as string;
    assert.equal(q.body.request.level, 1);
    assert.equal(q.body.request.requiredLevel, 2, 'the view carries the option’s level: questions owed');
    assert.equal(q.body.request.verifyOnCall, true);
    const stored = await a.sql<{ verify_on_call: number; required_level: number }>`
      SELECT verify_on_call, required_level FROM requests WHERE id = ${requestId}`;
    assert.deepEqual(
      stored.map((r) => [Number(r.verify_on_call), Number(r.required_level)]),
      [[1, 2]],
    );

    // The agent is offered it and accepts: the view and the panel say so; level-2 fields locked.
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    const fence = av.body.offer.fence as number;
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const panel = async () => {
      const p = await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) });
      assert.equal(p.status, 200, JSON.stringify(p.body));
      return p.body;
    };
    const before = await panel();
    assert.equal(before.request.verifyOnCall, true);
    assert.equal(before.request.level, 1);
    assert.equal(before.request.requiredLevel, 2);
    assert.equal(before.verification.level, 1);
    assert.equal(before.verification.requiredLevel, 2);
    assert.equal(before.verification.state, 'partially_verified');
    const field = (p: any, f: string) => p.secure.find((x: { field: string }) => x.field === f);
    for (const f of ['balance', 'orders']) {
      assert.equal(field(before, f).locked, true, f);
      assert.equal('value' in field(before, f), false, `${f} sent without its value`);
    }

    // The security questions, answered right on the call: device + knowledge = level 2.
    const qs = await api(a.url, 'requestKnowledgeQuestions', {
      params: { requestId },
      headers: bearer(agent.token),
    });
    assert.equal(qs.status, 200, JSON.stringify(qs.body));
    const byPrompt = new Map<string, string>([
      ['Name of your first school?', 'Riverside Primary'],
      ['City where you opened the account?', 'Leeds'],
    ]);
    const answers = qs.body.questions
      .slice(0, qs.body.answersNeeded)
      .map((x: { questionId: string; prompt: string }) => ({
        questionId: x.questionId,
        answer: byPrompt.get(x.prompt),
      }));
    const checked = await api(a.url, 'requestKnowledgeCheck', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, answers, agentMs: 30_000 },
    });
    assert.equal(checked.status, 200, JSON.stringify(checked.body));
    assert.equal(checked.body.level, 2);
    const afterCheck = await panel();
    assert.equal(afterCheck.verification.level, 2);
    assert.equal(afterCheck.verification.state, 'verified');
    assert.equal(field(afterCheck, 'balance').locked, false);
    assert.notEqual(field(afterCheck, 'balance').value, undefined);
    assert.equal(field(afterCheck, 'orders').locked, false);
    // Level 3 is beyond what the questions reach: still locked.
    assert.equal(field(afterCheck, 'accountNumber').locked, true);

    // The device's own view carries it too.
    const mine = await device.api('deviceRequest', { params: { requestId } });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.verifyOnCall, true);
    assert.equal(mine.body.level, 2);
    assert.equal(mine.body.requiredLevel, 2, 'level reached the option’s: no more questions owed');

    // Audited: the request queued below its level for the call, then the right answers.
    const audit = await a.sql<{ action: string; outcome: string; subject: string; data: string }>`
      SELECT action, outcome, subject, data FROM audit_log
      WHERE (action = 'request.create' AND subject = ${`request:${requestId}`}) OR action = 'auth.knowledge'
      ORDER BY seq`;
    assert.deepEqual(
      audit.map((r) => [r.action, r.outcome]),
      [
        ['request.create', 'success'],
        ['auth.knowledge', 'success'],
      ],
    );
    const data = JSON.parse(audit[0]!.data) as Record<string, unknown>;
    assert.equal(data.verifyOnCall, true);
    assert.equal(data.level, 1);
    assert.equal(data.requiredLevel, 2);
  });

  it('a retry with the same key keeps the flag; a request that did not ask is not flagged', async () => {
    const q = await create({
      optionId: 'payment-failed',
      verifyOnCall: true,
      idempotencyKey: 'explain-on-call-1',
    });
    // the same key: the same request (a retry), still flagged
    assert.equal(q.body.request.verifyOnCall, true);
    const other = await create({ optionId: 'other', idempotencyKey: 'plain-request-1' });
    assert.equal(other.body.status, 'queued', JSON.stringify(other.body));
    assert.equal(other.body.request.verifyOnCall, false);
    assert.equal(other.body.request.requiredLevel, 1);
  });

  it('a configuration allowing it on an option above level 2 (beyond the security questions) is refused', () => {
    const file = JSON.parse(
      readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
    ) as { menu: { id: string; children?: Record<string, unknown>[] }[] };
    assert.equal(PipelineConfig.safeParse(file).success, true);
    const cardLimit = file.menu[0]!.children!.find((n) => n.id === 'card-limit')!;
    assert.equal(cardLimit.level, 3);
    cardLimit.verifyOnCall = true;
    const r = PipelineConfig.safeParse(file);
    assert.equal(r.success, false);
    assert.match(JSON.stringify(r.error?.issues), /verifyOnCall allows level 2 at most/);
  });
});
