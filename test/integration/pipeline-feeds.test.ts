import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';

/** Wait for the first frame matching `pred` (frames before it are dropped). */
async function frame(s: TestSocket, pred: (f: any) => boolean): Promise<any> {
  for (;;) {
    const f = await s.next();
    if (pred(f)) return f;
  }
}

describe('pipeline live feeds, abandonment, re-queue on disconnect, queue moves on step-up', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  const device = async (customerId: string) => {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    return new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
  };
  const staffSocket = async (token: string, topic: 'queues' | 'board') => {
    const s = await TestSocket.open(a.url);
    s.send({ type: 'hello', auth: { kind: 'staff', accessToken: token } });
    assert.equal((await s.next()).type, 'welcome');
    s.send({ type: 'subscribe', topic });
    return s;
  };

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 60, wrapUpSeconds: 0 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(() => a.dispose());

  it('agents get a snapshot then deltas; supervisors the board; devices their own position and wait, live', async () => {
    const agent1 = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const sup = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    const agentWs = await staffSocket(agent1.token, 'queues');
    const snap = await frame(agentWs, (f) => f.type === 'queue.snapshot');
    assert.deepEqual(snap.snapshot.queues.map((q: any) => q.queueId).sort(), [
      'cards',
      'general',
      'payments',
    ]);
    const boardWs = await staffSocket(sup.token, 'board');
    const board = await frame(boardWs, (f) => f.type === 'board.snapshot');
    assert.ok(board.board.agents.some((x: any) => x.displayName === 'Dana Reyes'));
    const agentOnlyBoard = await TestSocket.open(a.url);
    agentOnlyBoard.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent1.token } });
    await agentOnlyBoard.next();
    agentOnlyBoard.send({ type: 'subscribe', topic: 'board' });
    assert.equal((await agentOnlyBoard.next()).code, 'forbidden');
    agentOnlyBoard.close();

    // Two customers queue for "other" (general); nobody is available yet.
    const bob = await device('c_bob_okafor_002');
    const chen = await device('c_chen_wei_00003');
    const r1 = (await bob.api('createRequest', { json: { optionId: 'other' } })).body.request;
    const r2 = (await chen.api('createRequest', { json: { optionId: 'other' } })).body.request;
    // Chen is platinum (+20) and over the balance rule (+5): ahead of Bob.
    assert.equal(r2.priority, 25);
    const delta = await frame(
      agentWs,
      (f) => f.type === 'queue.delta' && f.upserts.some((u: any) => u.requestId === r2.requestId),
    );
    assert.equal(delta.queues.find((q: any) => q.queueId === 'general').waiting >= 1, true);
    await frame(
      boardWs,
      (f) => f.type === 'queue.delta' && f.upserts.some((u: any) => u.requestId === r1.requestId),
    );

    const bobWs = await TestSocket.open(a.url);
    bobWs.send(await bob.wsHello(r1.sessionId));
    assert.equal((await bobWs.next()).type, 'welcome');
    const first = await frame(bobWs, (f) => f.type === 'request.update');
    assert.equal(first.request.position, 2);
    assert.equal(first.request.estimatedWaitSeconds, null, 'nobody serving yet: no estimate');

    // agent1 goes available: Chen (higher priority) is offered first; Bob moves... and sees a wait estimate.
    const avail = await api(a.url, 'setPresence', {
      headers: bearer(agent1.token),
      json: { state: 'available' },
    });
    assert.equal(avail.body.offer.requestId, r2.requestId);
    const offerFrame = await frame(agentWs, (f) => f.type === 'offer');
    assert.equal(offerFrame.offer.requestId, r2.requestId);
    const update = await frame(bobWs, (f) => f.type === 'request.update' && f.request.position === 1);
    assert.equal(typeof update.request.estimatedWaitSeconds, 'number');
    for (const s of [agentWs, boardWs, bobWs]) s.close();
    await Promise.all([agentWs, boardWs, bobWs].map((s) => s.closed));
    await until('every closed socket gone from the hub', () => a.hub.size === 0);
  });

  it('an offered agent who disconnects: after the reconnect grace the offer returns to the queue, the agent goes offline', async () => {
    // No call as agent1 here: any request of the agent's counts as a sign of life.
    const [agent1] = (await a.sql<{ staffId: string }>`
      SELECT id AS "staffId" FROM staff WHERE username = 'agent1'`) as [{ staffId: string }];
    const offered = (await a.services.pipeline.requests.offerOf(agent1.staffId))!.id;
    // agent1's only socket (first test) is closed: within the grace nothing happens...
    clock.advance(4_000);
    await a.services.pipeline.tick();
    assert.equal((await a.services.pipeline.requests.get(offered))!.state, 'offered');
    // ...after it, the offer is withdrawn and the request waits for the next agent.
    clock.advance(2_000);
    await a.services.pipeline.tick();
    assert.equal((await a.services.pipeline.requests.get(offered))!.state, 'waiting');
    assert.equal((await a.services.pipeline.agents.get(agent1.staffId))!.presence, 'offline');
    const [lease] = await a.sql<any>`
      SELECT end_reason FROM leases WHERE request_id = ${offered} AND kind = 'offer' ORDER BY fence DESC`;
    assert.equal(lease.end_reason, 'agent_gone');
    const agent2 = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const avail = await api(a.url, 'setPresence', {
      headers: bearer(agent2.token),
      json: { state: 'available' },
    });
    assert.equal(
      avail.body.offer?.requestId,
      offered,
      'the next agent gets it, ahead of the lower-priority request',
    );
  });

  it('a customer who leaves abandons the request: the offer is withdrawn and the session ends', async () => {
    const agent2 = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const me = await api(a.url, 'agentMe', { headers: bearer(agent2.token) });
    const requestId = me.body.offer.requestId;
    const owner = (await a.services.pipeline.requests.get(requestId))!;
    const chenDevice = owner.device_id;
    assert.ok(chenDevice);
    // Cancel through the owning device: find it among the requests' devices by asking the store.
    const board = await api(a.url, 'board', { headers: bearer(admin) });
    assert.ok(board.body.requests.some((r: any) => r.requestId === requestId));
    const abandoned = await a.services.pipeline.abandon(requestId, 'customer_left');
    assert.equal(abandoned?.state, 'abandoned');
    const after2 = await api(a.url, 'agentMe', { headers: bearer(agent2.token) });
    assert.notEqual(after2.body.offer?.requestId, requestId);
    const [lease] = await a.sql<any>`
      SELECT end_reason FROM leases WHERE request_id = ${requestId} AND kind = 'offer' ORDER BY fence DESC`;
    assert.equal(lease.end_reason, 'customer_left');
  });

  it('the device cancels its own request over the API; another device cannot see or cancel it', async () => {
    const d = await device('c_bob_okafor_002');
    const other = await device('c_alice_martin_01');
    const r = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request;
    assert.equal((await other.api('deviceRequest', { params: { requestId: r.requestId } })).status, 404);
    assert.equal((await other.api('cancelRequest', { params: { requestId: r.requestId } })).status, 404);
    const c = await d.api('cancelRequest', { params: { requestId: r.requestId } });
    assert.equal(c.status, 200);
    assert.equal(c.body.state, 'abandoned');
    assert.equal((await d.api('getSession', { params: { sessionId: r.sessionId } })).status, 401);
  });

  it('a rule moves a request to another queue when its authentication changes (step-up)', async () => {
    // Business customers asking about payments go to the business queue; at level 3 they gain +3.
    await api(a.url, 'setAgentPresence', {
      params: { staffId: (await staffLogin(a.url, 'agent2', 'demo-agent-2')).staffId },
      headers: bearer(admin),
      json: { state: 'break', reasonCode: 'lunch' },
    });
    const chen = await device('c_chen_wei_00003');
    assert.equal((await chen.api('setPin', { json: { pin: '13579' } })).status, 200);
    assert.equal((await chen.api('pinFactor', { json: { pin: '13579' } })).body.level, 2);
    const q = await chen.api('createRequest', { json: { optionId: 'payment-failed' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    assert.equal(q.body.request.queueId, 'business');
    const before = q.body.request.priority;
    // A verification photo does not reach level 3; the PIN factor already gives 2: a biometric would. Simulate the step-up in-process.
    await a.services.authentications.addFactorAlone(
      chen.authentication.authenticationId,
      'biometric',
      chen.deviceId,
    );
    // The re-rule is the consumer of the step-up's event (outbox): the phone sees it shortly after.
    const now = await until('the request ruled again at level 3', async () => {
      const r = (await chen.api('deviceRequest', { params: { requestId: q.body.request.requestId } })).body;
      return r.priority === before + 3 ? r : undefined;
    });
    assert.equal(now.level, 3);
    assert.equal(now.queueId, 'business');
  });
});
