/**
 * Issue 15 defect 5 and the supervisor board: "agents free" respects shifts and skills, and the
 * board says why a waiting request is not being offered (no agent with the skill, all off shift,
 * agents away, agents busy).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { Board } from '../../protocol/src/pipeline.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';

const FAR = [{ start: '2099-01-05T09:00:00.000Z', end: '2099-01-05T17:00:00.000Z' }];

describe('issue 15 defect 5: the board counts free agents by shift and skill, and says why a request waits', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let S: string;
  const staff = new Map<string, { token: string; staffId: string }>();

  const as = <K extends RouteId>(token: string, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(token), name, opts);
  const board = async (): Promise<Board> => {
    const r = await as(S, 'board');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body as Board;
  };
  const general = async () => (await board()).queues.find((q) => q.queueId === 'general')!;

  async function customer(optionId: string, customerId: string): Promise<string> {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const setPin = await d.api('setPin', { json: { pin: '112358' } });
    assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request.requestId;
  }

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 60 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    for (const [u, p] of [
      ['agent1', 'demo-agent-1'],
      ['agent2', 'demo-agent-2'],
      ['supervisor', 'demo-supervisor'],
    ] as const)
      staff.set(u, await staffLogin(a.url, u, p));
    S = staff.get('supervisor')!.token;
    for (const s of staff.values()) await as(s.token, 'setPresence', { json: { state: 'offline' } });
  });
  after(async () => {
    await a?.dispose();
  });

  it('an available agent off shift is not free, and the waiting request says "all agents off shift"', async () => {
    for (const s of staff.values()) {
      const r = await api(a.url, 'setAgentSchedule', {
        params: { staffId: s.staffId },
        headers: bearer(admin),
        json: { shifts: FAR },
      });
      assert.equal(r.status, 200);
      assert.equal(r.body.onShift, false);
    }
    const dana = staff.get('agent1')!;
    assert.equal((await as(dana.token, 'setPresence', { json: { state: 'available' } })).status, 200);
    const requestId = await customer('other', 'c_alice_martin_01');
    const b = await board();
    assert.equal(b.requests.find((r) => r.requestId === requestId)?.state, 'waiting');
    const q = b.queues.find((x) => x.queueId === 'general')!;
    assert.equal(q.agentsAvailable, 0);
    assert.deepEqual(q.notOffered, [
      { skills: [], channel: 'voice', waiting: 1, free: 0, reason: 'off_shift' },
    ]);
  });

  it('back on shift: the agent is free for the queue, and the request is offered (no reason left)', async () => {
    const dana = staff.get('agent1')!;
    await api(a.url, 'setAgentSchedule', {
      params: { staffId: dana.staffId },
      headers: bearer(admin),
      json: { shifts: [] },
    });
    // The schedule change reaches the dispatcher on its next pass; the board says the same meanwhile.
    const me = await as(dana.token, 'agentMe');
    assert.equal(me.body.onShift, true);
    const q = await general();
    assert.deepEqual(q.notOffered ?? [], []);
  });

  it('a request needing a skill no agent of the queue has: "no agent with the skill", 0 free for it', async () => {
    const sam = staff.get('agent2')!;
    const p = await api(a.url, 'setAgentProfile', {
      params: { staffId: sam.staffId },
      headers: bearer(admin),
      json: { skills: [{ skill: 'fx', level: 9 }], queues: ['payments', 'general', 'business'] },
    });
    assert.equal(p.status, 200);
    await customer('mortgage', 'c_bob_okafor_002');
    const q = await general();
    const m = q.notOffered?.find((x) => x.skills.includes('mortgages'));
    assert.deepEqual(m, { skills: ['mortgages'], channel: 'voice', waiting: 1, free: 0, reason: 'no_skill' });
  });

  it('the agents with the skill are on shift but away (offline or on a break): "agents away"', async () => {
    const sam = staff.get('agent2')!;
    await api(a.url, 'setAgentProfile', {
      params: { staffId: sam.staffId },
      headers: bearer(admin),
      json: { skills: [{ skill: 'mortgages', level: 7 }], queues: ['payments', 'general', 'business'] },
    });
    await api(a.url, 'setAgentSchedule', {
      params: { staffId: sam.staffId },
      headers: bearer(admin),
      json: { shifts: [] },
    });
    const m = (await general()).notOffered?.find((x) => x.skills.includes('mortgages'));
    assert.equal(m?.reason, 'away');
  });
});
