/**
 * Knowledge questions in the console: the holder of a request asks the caller the
 * customer's security questions (the authority lists the prompts, never the answers), types
 * what the caller says, and the authority checks it (hashed, normalised). Right answers add
 * the factor knowledge to the request's authentication and its level rises; wrong ones lock
 * the checks out after the configured count. Every attempt is audited with the agent time
 * the console measured; the answers appear in no response and no audit row.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const ALICE = 'c_alice_martin_01';
const BOB = 'c_bob_okafor_002';
const ANSWERS = ['Riverside Primary', 'Leeds', 'Arsenal'];

describe('knowledge questions asked by the agent holding the request', () => {
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let a: TestAuthority;
  let adminToken = '';

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, knowledgeMaxFailures: 3 },
      { clock },
    );
    adminToken = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(() => a.dispose());

  /** The customer's device at level 1 (device key only) asks for "Something else" (level 1). */
  const queued = async (customerId: string): Promise<{ device: TestDevice; requestId: string }> => {
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId },
      headers: bearer(adminToken),
    });
    assert.equal(code.status, 201, JSON.stringify(code.body));
    const device = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await device.authenticate()).status, 201);
    const q = await device.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return { device, requestId: q.body.request.requestId as string };
  };
  /** `username` goes available, is offered the request and accepts it: the fence. */
  const take = async (username: string, password: string, requestId: string) => {
    const agent = await staffLogin(a.url, username, password);
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    const fence = av.body.offer.fence as number;
    return { agent, fence };
  };
  const accept = async (token: string, requestId: string, fence: number) => {
    const r = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(token),
      json: { fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const questions = (token: string, requestId: string) =>
    api(a.url, 'requestKnowledgeQuestions', { params: { requestId }, headers: bearer(token) });
  const check = (token: string, requestId: string, fence: number, answers: unknown[], agentMs = 20_000) =>
    api(a.url, 'requestKnowledgeCheck', {
      params: { requestId },
      headers: bearer(token),
      json: { fence, answers, agentMs },
    });
  const panel = async (token: string, requestId: string) => {
    const p = await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(token) });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    return p.body;
  };
  const noAnswerIn = (what: string, text: string) => {
    for (const answer of ANSWERS)
      assert.ok(!text.toLowerCase().includes(answer.toLowerCase()), `${what} contains an answer: ${text}`);
  };

  it('right answers (as the caller says them) add the factor knowledge: level 1 -> 2, the balance unlocks', async () => {
    const { device, requestId } = await queued(ALICE);
    const { agent, fence } = await take('agent1', 'demo-agent-1', requestId);
    // Offered: the questions can be read before accepting, the check only by the holder.
    const q = await questions(agent.token, requestId);
    assert.equal(q.status, 200, JSON.stringify(q.body));
    assert.deepEqual(
      q.body.questions.map((x: { prompt: string }) => x.prompt),
      ['Name of your first school?', 'City where you opened the account?'],
    );
    assert.equal(q.body.answersNeeded, 2);
    assert.equal(q.body.failures, 0);
    assert.equal(q.body.maxFailures, 3);
    assert.equal(q.body.lockedUntil, null);
    noAnswerIn('the questions', JSON.stringify(q.body));
    const [school, city] = q.body.questions.map((x: { questionId: string }) => x.questionId) as string[];
    const right = [
      { questionId: school, answer: '  riverside   PRIMARY ' },
      { questionId: city, answer: 'leeds' },
    ];
    const early = await check(agent.token, requestId, fence, right);
    assert.equal(early.status, 403, JSON.stringify(early.body));
    await accept(agent.token, requestId, fence);
    const before = await panel(agent.token, requestId);
    assert.equal(before.verification.level, 1);
    assert.ok(before.secure.find((f: { field: string }) => f.field === 'balance').locked);

    // Bad input is refused before anything is counted.
    const one = await check(agent.token, requestId, fence, right.slice(0, 1));
    assert.equal(one.status, 400, JSON.stringify(one.body));
    assert.match(one.body.message, /2 answers are needed/);
    const twice = await check(agent.token, requestId, fence, [right[0], right[0]]);
    assert.equal(twice.status, 400, JSON.stringify(twice.body));
    const stale = await check(agent.token, requestId, fence + 1, right);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    const other = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    assert.equal((await check(other.token, requestId, fence, right)).status, 403);
    assert.equal((await questions(other.token, requestId)).status, 404);

    const ok = await check(agent.token, requestId, fence, right, 23_456);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body, {
      passed: true,
      level: 2,
      failures: 0,
      maxFailures: 3,
      lockedUntil: null,
      agentSeconds: 23.5,
    });
    const after = await panel(agent.token, requestId);
    assert.equal(after.verification.level, 2);
    assert.equal(after.verification.state, 'verified');
    assert.ok(after.verification.factors.some((f: { kind: string }) => f.kind === 'knowledge'));
    assert.equal(after.secure.find((f: { field: string }) => f.field === 'balance').locked, false);
    assert.equal((await device.api('deviceMe')).body.authentication.level, 2);
    noAnswerIn('the panel', JSON.stringify(after));

    const audit = await a.sql<{ outcome: string; actor: string; reason: string | null }>`
      SELECT outcome, actor, reason FROM audit_log WHERE action = 'auth.knowledge' AND reason LIKE ${`%request ${requestId}%`}`;
    assert.equal(audit.length, 1, JSON.stringify(audit));
    assert.equal(audit[0]!.outcome, 'success');
    assert.equal(audit[0]!.actor, `staff:${agent.staffId}`);
    assert.match(audit[0]!.reason!, /agent time 23\.5 s/);
    console.log(
      `# agent time on knowledge questions (as the console measured it): ${ok.body.agentSeconds} s`,
    );
    await api(a.url, 'completeRequest', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
  });

  it('wrong answers lock the checks out after the configured count (3); every attempt audited, no answer logged', async () => {
    const { requestId } = await queued(BOB);
    const { agent, fence } = await take('agent2', 'demo-agent-2', requestId);
    await accept(agent.token, requestId, fence);
    const q = await questions(agent.token, requestId);
    assert.equal(q.body.answersNeeded, 1, 'Bob has one question: one answer is enough');
    const questionId = q.body.questions[0].questionId as string;
    for (let i = 1; i <= 3; i++) {
      const r = await check(agent.token, requestId, fence, [{ questionId, answer: `Chelsea ${i}` }]);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.passed, false);
      assert.equal(r.body.level, 1);
      assert.equal(r.body.failures, i);
      assert.equal(r.body.lockedUntil === null, i < 3, JSON.stringify(r.body));
    }
    const shown = await questions(agent.token, requestId);
    assert.equal(shown.body.failures, 3);
    assert.ok(shown.body.lockedUntil, JSON.stringify(shown.body));
    // Locked: even the right answer is refused, with when to try again.
    const refused = await check(agent.token, requestId, fence, [{ questionId, answer: 'Arsenal' }]);
    assert.equal(refused.status, 423, JSON.stringify(refused.body));
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.equal((await panel(agent.token, requestId)).verification.level, 1);

    const audit = await a.sql<{ outcome: string; reason: string | null }>`
      SELECT outcome, reason FROM audit_log WHERE action = 'auth.knowledge' AND subject = ${`customer:${BOB}`} ORDER BY seq`;
    assert.deepEqual(
      audit.map((r) => r.outcome),
      ['failure', 'failure', 'failure', 'failure'],
    );
    assert.match(audit[3]!.reason!, /^locked/);
    for (const r of audit)
      assert.match(r.reason!, new RegExp(`request ${requestId}, 1 answers, agent time 20 s`));
    const everything = await a.sql<Record<string, unknown>>`SELECT * FROM audit_log`;
    noAnswerIn('the audit log', JSON.stringify(everything));
    assert.ok(!JSON.stringify(everything).includes('Chelsea'), 'the wrong answers are not logged either');

    // The lock runs out: the right answer passes and the level rises.
    clock.advance(15 * 60_000 + 1_000);
    const ok = await check(agent.token, requestId, fence, [{ questionId, answer: 'arsenal' }]);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.passed, true);
    assert.equal(ok.body.level, 2);
  });
});
