/**
 * The customer hangs up (cancels the request, or the device ends its session) while
 * the agent holds the request: the agent's "Complete" still finishes their side. It
 * answers the request as the customer left it (state "abandoned", not rewritten as
 * completed), audited as the agent's completion after the customer left; the agent
 * stays in wrap-up and records it; a retry changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

describe('an agent completes a request whose customer already left', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let agent: { token: string; staffId: string };
  let other: { token: string; staffId: string };
  let keys = 0;

  const agentApi = <K extends RouteId>(name: K, opts?: ApiOptions<K>, token = agent.token) =>
    apiWith(a.url, bearer(token), name, opts);
  const presence = async () => (await agentApi('agentMe')).body.presence as string;
  const completions = (requestId: string) =>
    a.sql<{ actor: string; outcome: string; reason: string | null }>`
      SELECT actor, outcome, reason FROM audit_log
      WHERE subject = ${`request:${requestId}`} AND action = 'request.complete' ORDER BY seq`;
  const wrapUp = (requestId: string, fence: number) =>
    agentApi('wrapUp', {
      params: { requestId },
      json: {
        idempotencyKey: `complete-after-leave-${++keys}`,
        fence,
        disposition: ['resolved', 'information-given'],
        notes: 'customer hung up',
      },
    });

  /** A new device queues; the agent gets the offer and (unless `acceptIt` is false) accepts it. */
  async function request(acceptIt = true) {
    assert.equal((await agentApi('setPresence', { json: { state: 'available' } })).status, 200);
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const { requestId, sessionId } = q.body.request;
    const offer = (await agentApi('agentMe')).body.offer;
    assert.equal(offer?.requestId, requestId);
    if (acceptIt)
      assert.equal(
        (await agentApi('acceptOffer', { params: { requestId }, json: { fence: offer.fence } })).status,
        200,
      );
    return { d, requestId, sessionId: sessionId as string, fence: offer.fence as number };
  }

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 60, wrapUpRequired: true },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    other = await staffLogin(a.url, 'agent1', 'demo-agent-1');
  });
  after(() => a.dispose());

  it('the customer cancels: complete answers 200 with the request abandoned, and the wrap-up is still the agent’s', async () => {
    const { d, requestId, fence } = await request();
    const cancelled = await d.api('cancelRequest', { params: { requestId } });
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));

    const done = await agentApi('completeRequest', { params: { requestId }, json: { fence } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.requestId, requestId);
    assert.equal(done.body.state, 'abandoned', 'the answer says the customer left');
    assert.equal(done.body.agentId, agent.staffId);
    assert.equal(await presence(), 'wrap_up');
    const audited = await completions(requestId);
    assert.equal(audited.length, 1);
    assert.equal(audited[0]!.actor, `staff:${agent.staffId}`);
    assert.equal(audited[0]!.outcome, 'success');
    assert.match(audited[0]!.reason ?? '', /customer left/);

    // Somebody else, or a stale fence, is still refused.
    const notMine = await agentApi(
      'completeRequest',
      { params: { requestId }, json: { fence } },
      other.token,
    );
    assert.equal(notMine.status, 409, JSON.stringify(notMine.body));
    const stale = await agentApi('completeRequest', { params: { requestId }, json: { fence: fence + 1 } });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));

    const w = await wrapUp(requestId, fence);
    assert.equal(w.status, 201, JSON.stringify(w.body));
    assert.equal(await presence(), 'available');
    // A retried complete (the console's outbox) answers the same and leaves the agent available.
    const retry = await agentApi('completeRequest', { params: { requestId }, json: { fence } });
    assert.equal(retry.status, 200, JSON.stringify(retry.body));
    assert.equal(retry.body.state, 'abandoned');
    assert.equal(await presence(), 'available');
  });

  it('the customer’s device ends its session: complete answers 200 with the request abandoned', async () => {
    const { d, requestId, sessionId, fence } = await request();
    const ended = await d.api('endSession', { params: { sessionId }, json: {} });
    assert.equal(ended.status, 200, JSON.stringify(ended.body));
    // The request follows the durable `session.ended` event: at once in one process, after
    // the notification on PostgreSQL. The agent completes once it is abandoned (a complete
    // before that is an ordinary completion, which is not this test's case).
    await until('the request abandoned after its session ended', async () => {
      const [row] = await a.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${requestId}`;
      return row?.state === 'abandoned';
    });

    const done = await agentApi('completeRequest', { params: { requestId }, json: { fence } });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.equal(done.body.state, 'abandoned');
    assert.equal(await presence(), 'wrap_up');
    assert.match((await completions(requestId)).at(-1)?.reason ?? '', /customer left/);
    assert.equal((await wrapUp(requestId, fence)).status, 201);
    assert.equal(await presence(), 'available');
  });

  it('a customer who left while it was only offered leaves nothing to complete: 409 saying so', async () => {
    const { d, requestId, fence } = await request(false);
    assert.equal((await d.api('cancelRequest', { params: { requestId } })).status, 200);
    const done = await agentApi('completeRequest', { params: { requestId }, json: { fence } });
    assert.equal(done.status, 409, JSON.stringify(done.body));
    assert.equal(done.body.code, 'conflict');
    assert.match(done.body.message, /customer left before/);
    assert.equal(await presence(), 'available');
  });
});
