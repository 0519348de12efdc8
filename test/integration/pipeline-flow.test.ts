import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';

describe('pipeline over the real API: menu, step-up, queue, offer under a lease, accept, complete', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  const device = async (customerId = 'c_alice_martin_01') => {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    return new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
  };
  const agent = async (username: string, password: string) => {
    const s = await staffLogin(a.url, username, password);
    const r = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return s;
  };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(() => a.dispose());

  it('the live menu hides options nobody can serve and shows the others with an estimated wait', async () => {
    const d = await device();
    const menu = await d.api('deviceMenu');
    assert.equal(menu.status, 200, JSON.stringify(menu.body));
    assert.equal(menu.body.company, 'Northwind Bank');
    const flat = JSON.stringify(menu.body);
    assert.match(flat, /lost-card/);
    // Nobody is available yet: on shift but offline agents make options callback only.
    const lost = menu.body.menu[0].children.find((c: any) => c.id === 'lost-card');
    assert.equal(lost.availability, 'callback_only');
  });

  it('a request below the option level names the factors needed and queues nothing; after the PIN it queues', async () => {
    const d = await device();
    assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
    const r = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {
      status: 'step_up_required',
      optionId: 'lost-card',
      requiredLevel: 2,
      currentLevel: 1,
      // No photo: there is no enrolment photo on file to compare one with.
      factorsNeeded: ['pin', 'biometric'],
    });
    const board = await api(a.url, 'board', { headers: bearer(admin) });
    assert.equal(board.body.requests.length, 0);
    assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    const q = await d.api('createRequest', {
      json: { optionId: 'lost-card', idempotencyKey: 'key-00000001' },
    });
    assert.equal(q.body.status, 'queued');
    assert.equal(q.body.request.state, 'waiting');
    assert.equal(q.body.request.position, 1);
    assert.equal(q.body.request.priority, 10, 'gold tier rule');
    const again = await d.api('createRequest', {
      json: { optionId: 'lost-card', idempotencyKey: 'key-00000001' },
    });
    assert.equal(again.body.request.requestId, q.body.request.requestId, 'idempotent retry');
  });

  it('an available agent gets the offer at once (lease + fence), accepts, completes; stale fences are refused', async () => {
    const s = await agent('agent1', 'demo-agent-1');
    const ws = await TestSocket.open(a.url);
    ws.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    assert.equal((await ws.next()).type, 'welcome');
    const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    assert.ok(me.body.offer, JSON.stringify(me.body));
    const { requestId, fence } = me.body.offer;
    assert.equal(me.body.offer.request.state, 'offered');
    const stale = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence: fence + 5 },
    });
    assert.equal(stale.status, 409);
    const other = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    const thief = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(other.token),
      json: { fence },
    });
    assert.equal(thief.status, 409);
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    assert.equal(acc.body.state, 'assigned');
    const retry = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence },
    });
    assert.equal(retry.status, 200, 'a retried accept is idempotent');
    assert.equal((await api(a.url, 'agentMe', { headers: bearer(s.token) })).body.presence, 'busy');
    const done = await api(a.url, 'completeRequest', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence },
    });
    assert.equal(done.body.state, 'completed');
    const after = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    assert.equal(after.body.presence, 'wrap_up');
    const sess = await api(a.url, 'getSession', {
      params: { sessionId: acc.body.sessionId },
      headers: bearer(s.token),
    });
    assert.equal(sess.status, 401, 'the session ended with the request');
    ws.close();
  });

  it('an offer not accepted in time goes to the next agent; the first goes to "missed"', async () => {
    const s1 = await agent('agent1', 'demo-agent-1'); // back from wrap-up by hand
    const d = await device('c_bob_okafor_002');
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued');
    const me1 = await api(a.url, 'agentMe', { headers: bearer(s1.token) });
    assert.equal(me1.body.offer?.requestId, q.body.request.requestId);
    const s2 = await agent('agent2', 'demo-agent-2');
    clock.advance(16_000);
    await a.services.pipeline.tick();
    const after1 = await api(a.url, 'agentMe', { headers: bearer(s1.token) });
    assert.equal(after1.body.presence, 'missed');
    assert.equal(after1.body.offer, null);
    const me2 = await api(a.url, 'agentMe', { headers: bearer(s2.token) });
    assert.equal(me2.body.offer?.requestId, q.body.request.requestId);
    assert.equal(me2.body.offer.fence, me1.body.offer.fence + 1);
    const late = await api(a.url, 'acceptOffer', {
      params: { requestId: q.body.request.requestId },
      headers: bearer(s1.token),
      json: { fence: me1.body.offer.fence },
    });
    assert.equal(late.status, 409);
    const leases = await a.sql<any>`
      SELECT agent_id, fence, kind, end_reason FROM leases WHERE request_id = ${q.body.request.requestId} ORDER BY fence`;
    assert.deepEqual(
      leases.map((l) => [l.fence, l.kind, l.end_reason]),
      [
        [1, 'offer', 'timeout'],
        [2, 'offer', null],
      ],
    );
  });
});
