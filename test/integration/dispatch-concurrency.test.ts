/**
 * Issue 12, coordination: an agent holds at most one open offer, however many dispatches
 * run at once. On PostgreSQL several units run concurrently (the pipeline's timer, every
 * presence change and every new request dispatch, on every node): two dispatches that
 * both read "Morgan is free" before either commits must not both offer Morgan a
 * customer. The database holds the rule (a partial unique index on offered requests per
 * agent) and dispatches take turns (an advisory lock held to their commit), so the
 * second one reads the first one's offers. Rounds: VD_DISPATCH_ROUNDS (default 4).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const ROUNDS = Number(process.env.VD_DISPATCH_ROUNDS ?? 4);
const CUSTOMERS = ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'];

describe('dispatch under concurrency: one open offer per agent', () => {
  let a: TestAuthority;
  let admin: string;
  const devices: TestDevice[] = [];
  const staff: { token: string; staffId: string }[] = [];

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    for (let i = 0; i < 6; i++) {
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: CUSTOMERS[i % CUSTOMERS.length]! },
        headers: bearer(admin),
      });
      devices.push(await new TestDevice(a.url).enrolAndAuthenticate(code.body.code));
    }
    // Both work every queue of "other" all day (agent2's shift depends on the hour).
    for (const [u, p] of [
      ['agent1', 'demo-agent-1'],
      ['supervisor', 'demo-supervisor'],
    ] as const)
      staff.push(await staffLogin(a.url, u, p));
  });
  after(() => a?.dispose());

  it('six customers wait, two agents become available while dispatches race: each agent gets one offer', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const ids: string[] = [];
      for (const d of devices) {
        const r = await d.api('createRequest', { json: { optionId: 'other' } });
        assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
        ids.push(r.body.request.requestId);
      }
      // Every presence change dispatches; so do the extra dispatches (the timer's, another node's).
      const presences = staff.map((s) =>
        api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } }),
      );
      const extra = Array.from({ length: 6 }, () => a.services.pipeline.dispatch());
      for (const r of await Promise.all(presences)) assert.equal(r.status, 200, JSON.stringify(r.body));
      await Promise.all(extra);
      const offers = await a.sql<{ agent_id: string; n: number | string }>`
        SELECT agent_id, count(*) AS n FROM requests WHERE state = 'offered' GROUP BY agent_id ORDER BY agent_id`;
      assert.deepEqual(
        offers.map((o) => [o.agent_id, Number(o.n)]),
        staff.map((s) => [s.staffId, 1]).sort(),
        `round ${round}: one offer per agent`,
      );
      // Each agent's console shows the offer it holds.
      for (const s of staff) {
        const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
        assert.ok(ids.includes(me.body.offer?.requestId), JSON.stringify(me.body));
      }
      for (const s of staff) {
        const r = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'offline' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const id of ids) await a.services.pipeline.abandon(id, 'test');
    }
  });
});
