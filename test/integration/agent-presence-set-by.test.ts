/**
 * Issue 15 (supervisor board): the agent is told who changed their state. A supervisor
 * sets an agent's presence: the agent's own view (GET agentMe, and the `agent.state`
 * frame on their socket) names the supervisor; when the agent then chooses a presence
 * themself, or the system moves them (an offer), the name goes. Audited as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

describe('the agent is told who changed their state', () => {
  let a: TestAuthority;
  let agent: { token: string; staffId: string };
  let supervisor: { token: string; staffId: string };
  let socket: TestSocket;
  let frames: FrameLog;

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 });
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    supervisor = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    socket = await TestSocket.open(a.url);
    socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent.token } });
    assert.equal((await socket.next()).type, 'welcome');
    frames = new FrameLog(socket);
    socket.send({ type: 'subscribe', topic: 'queues' }); // the console's feed: its own agent.state too
    await frames.take((f) => f.type === 'queue.snapshot');
  });
  after(async () => {
    socket?.close();
    await a?.dispose();
  });

  it("a supervisor's change names the supervisor; the agent's own choice clears it", async () => {
    const own = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(own.status, 200, JSON.stringify(own.body));
    assert.equal(own.body.setBy ?? null, null, 'the agent chose it');

    const set = await api(a.url, 'setAgentPresence', {
      params: { staffId: agent.staffId },
      headers: bearer(supervisor.token),
      json: { state: 'break', reasonCode: 'training' },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual(set.body.setBy, { staffId: supervisor.staffId, displayName: 'Morgan Lee' });

    const me = await api(a.url, 'agentMe', { headers: bearer(agent.token) });
    assert.equal(me.body.agent?.presence ?? me.body.presence, 'break', JSON.stringify(me.body));
    const view = me.body.agent ?? me.body;
    assert.deepEqual(view.setBy, { staffId: supervisor.staffId, displayName: 'Morgan Lee' });
    const frame = await frames.take(
      (f) => f.type === 'agent.state' && f.agent.staffId === agent.staffId && f.agent.presence === 'break',
    );
    assert.equal(frame.agent.setBy?.displayName, 'Morgan Lee', JSON.stringify(frame));

    const back = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'offline' },
    });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.setBy, null, 'the agent chose it again');
    const audit = await a.sql<{ actor: string }>`
      SELECT actor FROM audit_log WHERE action = ${'agent.presence'} AND subject = ${`staff:${agent.staffId}`} ORDER BY seq`;
    assert.deepEqual(
      audit.map((r) => r.actor),
      [`staff:${agent.staffId}`, `staff:${supervisor.staffId}`, `staff:${agent.staffId}`],
    );
  });
});
