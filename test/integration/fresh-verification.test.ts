/**
 * Issue 15 defect 12: when the customer's verification expired during the request, the
 * agent can still ask for a fresh verification (a verify command); the device steps up
 * on a new authentication and the request then follows that new, live verification.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

describe('a fresh verification of an expired one (issue 15)', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const sockets: TestSocket[] = [];
  before(async () => {
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        authenticationTtlSeconds: 60,
        sessionIdleSeconds: 3600,
      },
      { clock },
    );
  });
  after(async () => {
    for (const s of sockets) s.close();
    await a.dispose();
  });

  it('Ask for PIN on an expired verification is sent; the PIN on a new authentication re-verifies the request', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '482913' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '482913' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId;
    const ctl = new DeviceControl(d).follow(q.body.request);
    await ctl.guard.loadKeys();
    const deviceSocket = await TestSocket.open(a.url);
    sockets.push(deviceSocket);
    deviceSocket.send(await d.wsHello(q.body.request.sessionId));
    assert.equal((await deviceSocket.next()).type, 'welcome');
    const deviceWs = new FrameLog(deviceSocket);
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    const fence = av.body.offer.fence;
    assert.equal(
      (
        await api(a.url, 'acceptOffer', {
          params: { requestId },
          headers: bearer(agent.token),
          json: { fence },
        })
      ).status,
      200,
    );
    const panel = async () =>
      (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) })).body;
    assert.equal((await panel()).verification.state, 'verified');

    clock.advance(61_000);
    const expired = await panel();
    assert.notEqual(expired.verification.state, 'verified');
    assert.ok(expired.secure.every((f: any) => f.locked));

    const sent = await api(a.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: {
        fence,
        seq: 1,
        command: { kind: 'verify', payload: { factor: 'pin', reason: 'Confirm it is you' } },
      },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === sent.body.commandId);
    assert.equal((await ctl.guard.check(f.jws)).verdict, 'execute');
    await ctl.ack(sent.body.commandId);

    // The phone's authentication expired too: it authenticates again and steps up with the PIN.
    assert.equal((await d.authenticate()).status, 201);
    assert.equal((await d.api('pinFactor', { json: { pin: '482913' } })).body.level, 2);
    const done = await ctl.answer(sent.body.commandId, {
      outcome: 'done',
      result: { kind: 'verify', factor: 'pin' },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const fresh = await panel();
    assert.equal(fresh.verification.state, 'verified');
    assert.equal(fresh.verification.level, 2);
    assert.ok(Date.parse(fresh.verification.expiresAt) > clock.now());
    assert.ok(fresh.secure.some((f: any) => f.level <= 2 && !f.locked));
    const [rows] = await a.sql<{ n: number }>`
      SELECT count(*) AS n FROM audit_log WHERE action = 'request.reverified' AND subject = ${`request:${requestId}`}`;
    assert.equal(rows!.n, 1);
  });
});
