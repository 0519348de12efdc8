/**
 * Issue 15 defect 4: a take-over or a reassign does not make the supervisor Available.
 *
 * After a take-over the supervisor holds the request; when it is finished they return to the
 * presence they had before (not offered the next customer unless they chose Available). A
 * reassign by the supervisor leaves the supervisor's own presence as it was. The presence to
 * return to is stored (agents.return_presence), not kept by one node: on PostgreSQL a second
 * node sharing the database completes a request taken over on the first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';

describe('issue 15 defect 4: supervisor presence after take-over and reassign', () => {
  let a: TestAuthority;
  /** a second node on the same database (PostgreSQL), else the same authority */
  let a2: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: string;
  let B: string;
  let S: string;
  let bId: string;

  const as = <K extends RouteId>(token: string, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(token), name, opts);
  const presence = async (token: string, state: 'available' | 'offline' | 'break') => {
    const r = await as(token, 'setPresence', {
      json: state === 'break' ? { state, reasonCode: 'lunch' } : { state },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const me = async (token: string) => (await as(token, 'agentMe')).body;

  /** A new customer (PIN verified) asking for "Something else": the request id. */
  async function customer(): Promise<string> {
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const setPin = await d.api('setPin', { json: { pin: '112358' } });
    assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request.requestId;
  }

  /** Agent A accepts a new customer's request (everyone else away): the request id. */
  async function heldByA(): Promise<string> {
    await presence(A, 'available');
    const requestId = await customer();
    const offer = (await me(A)).offer;
    assert.equal(offer?.requestId, requestId);
    const r = await as(A, 'acceptOffer', { params: { requestId }, json: { fence: offer!.fence } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return requestId;
  }

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 60 },
      { clock },
    );
    a2 =
      a.engine === 'postgres'
        ? await startTestAuthority(
            {
              accessTokenSeconds: 3600,
              agentTimeoutSeconds: 3600,
              wrapUpSeconds: 0,
              offerTimeoutSeconds: 60,
            },
            { clock, shareDatabaseOf: a },
          )
        : a;
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    A = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
    const b = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    B = b.token;
    bId = b.staffId;
    S = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    await presence(B, 'offline');
  });
  after(async () => {
    if (a2 && a2 !== a) await a2.dispose();
    await a?.dispose();
  });

  for (const before of ['offline', 'break'] as const) {
    it(`take-over by a supervisor who was ${before}: after completing they are ${before} again, not offered the next customer`, async () => {
      await presence(S, before);
      const requestId = await heldByA();
      const t = await as(S, 'takeOver', { params: { requestId }, json: {} });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal((await me(S)).presence, 'busy');
      // A leaves so that the next customer can only go to S if S were made available.
      await presence(A, 'offline');
      const done = await as(S, 'completeRequest', { params: { requestId }, json: { fence: t.body.fence } });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      const s = await me(S);
      assert.equal(s.presence, before);
      if (before === 'break') assert.equal(s.reasonCode, 'lunch');
      const next = await customer();
      const after = await me(S);
      assert.equal(after.offer, null, `S was offered ${next}`);
      assert.equal(after.presence, before);
      // Clean up: the waiting customer goes to A.
      await presence(A, 'available');
      const offer = (await me(A)).offer!;
      assert.equal(offer.requestId, next);
      await as(A, 'acceptOffer', { params: { requestId: next }, json: { fence: offer.fence } });
      await as(A, 'completeRequest', { params: { requestId: next }, json: { fence: offer.fence } });
    });
  }

  it('take-over by a supervisor who was available: available again after completing (their own choice)', async () => {
    await presence(S, 'available');
    await presence(A, 'offline');
    await presence(A, 'available');
    await presence(S, 'offline');
    const requestId = await heldByA();
    await presence(S, 'available');
    const t = await as(S, 'takeOver', { params: { requestId }, json: {} });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    const done = await as(S, 'completeRequest', { params: { requestId }, json: { fence: t.body.fence } });
    assert.equal(done.status, 200);
    assert.equal((await me(S)).presence, 'available');
    await presence(S, 'offline');
  });

  it('reassign by a supervisor leaves their own presence as it was (also after their take-over)', async () => {
    await presence(S, 'break');
    const requestId = await heldByA();
    await presence(B, 'available');
    const r = await as(S, 'reassign', { params: { requestId }, json: { staffId: bId } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await me(S)).presence, 'break');
    // B now has the offer; S takes it over after B accepts, then hands it back to A by reassign.
    const offer = (await me(B)).offer!;
    assert.equal(
      (await as(B, 'acceptOffer', { params: { requestId }, json: { fence: offer.fence } })).status,
      200,
    );
    const t = await as(S, 'takeOver', { params: { requestId }, json: {} });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    await presence(B, 'offline');
    await presence(A, 'available');
    const back = await as(S, 'reassign', { params: { requestId }, json: { staffId: (await me(A)).staffId } });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const s = await me(S);
    assert.equal(s.presence, 'break');
    assert.equal(s.reasonCode, 'lunch');
  });

  it('take-over on one node, completed on another: back on break there too (the return is stored)', async () => {
    // A finishes what the reassign above handed back
    const left = (await me(A)).offer;
    if (left) {
      const params = { requestId: left.requestId };
      assert.equal((await as(A, 'acceptOffer', { params, json: { fence: left.fence } })).status, 200);
      assert.equal((await as(A, 'completeRequest', { params, json: { fence: left.fence } })).status, 200);
    }
    await presence(S, 'break');
    const requestId = await heldByA();
    const t = await as(S, 'takeOver', { params: { requestId }, json: {} });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    await presence(A, 'offline');
    const done = await apiWith(a2.url, bearer(S), 'completeRequest', {
      params: { requestId },
      json: { fence: t.body.fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const s = (await apiWith(a2.url, bearer(S), 'agentMe')).body;
    assert.equal(s.presence, 'break');
    assert.equal(s.reasonCode, 'lunch');
  });
});
