/**
 * Issue 15: the customer is told when their agent consults a colleague (a warm
 * transfer is open) — also when the app was away as the consult began. The device's
 * socket closes, the agent starts a warm transfer, the app reconnects: right after its
 * request.update the new socket gets `request.consult` active (with when it began);
 * the consult cancelled, it gets `active: false` as before.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

describe('a consult that began while the customer app was away is shown when it reconnects', () => {
  let a: TestAuthority;
  let d: TestDevice;
  let agent: { token: string; staffId: string };
  let colleague: { token: string; staffId: string };
  let requestId: string;
  let sessionId: string;
  let fence: number;
  const sockets: TestSocket[] = [];

  const openApp = async () => {
    const s = await TestSocket.open(a.url);
    sockets.push(s);
    s.send(await d.wsHello(sessionId));
    assert.equal((await s.next()).type, 'welcome');
    return { socket: s, frames: new FrameLog(s) };
  };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '135790' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '135790' } })).status, 200);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    requestId = q.body.request.requestId;
    sessionId = q.body.request.sessionId;
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    colleague = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    fence = av.body.offer.fence;
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const c = await api(a.url, 'setPresence', {
      headers: bearer(colleague.token),
      json: { state: 'available' },
    });
    assert.equal(c.status, 200, JSON.stringify(c.body));
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a?.dispose();
  });

  it('the app away when the consult begins: on reconnect it is told at once; then the end as before', async () => {
    const first = await openApp();
    first.socket.close();
    await first.socket.closed;
    const t = await api(a.url, 'transfer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, mode: 'warm', target: { kind: 'agent', staffId: colleague.staffId } },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));

    const back = await openApp();
    await back.frames.take((f) => f.type === 'request.update' && f.request.requestId === requestId);
    const consult = await back.frames.take((f) => f.type === 'request.consult' && f.requestId === requestId);
    assert.equal(consult.active, true);
    assert.ok(Date.parse(consult.at) > 0, JSON.stringify(consult));

    const cancel = await api(a.url, 'cancelTransfer', {
      params: { transferId: t.body.transferId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    // The transfer's own event may still be on its way (on PostgreSQL it crosses the event bus), so
    // the reconnected socket can hear "active" twice before the end: wait for the end itself.
    const over = await back.frames.take(
      (f) => f.type === 'request.consult' && f.requestId === requestId && f.active === false,
    );
    assert.equal(over.active, false);
    assert.ok(
      !back.frames.has((f) => f.type === 'request.consult' && f.active === false),
      'the end is said once',
    );

    // Reconnecting with no consult open says nothing of one.
    const again = await openApp();
    await again.frames.take((f) => f.type === 'request.update' && f.request.requestId === requestId);
    await assert.rejects(
      again.frames.take((f) => f.type === 'request.consult', 500),
      /no matching frame/,
    );
  });
});
