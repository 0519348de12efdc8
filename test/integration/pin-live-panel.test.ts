/**
 * Issue 15 defect 10: PIN failures reach the agent's open panel while they happen
 * (a panel.changed frame, the risk says how many wrong PINs and whether the PIN is
 * locked), and the phone is told how long to wait (Retry-After / retryAfterSeconds).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

describe('PIN failures are live on the agent panel and timed on the phone (issue 15)', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
  });
  after(() => a.dispose());

  it('each wrong PIN pushes panel.changed to the holder; the panel counts them and shows the lock; the phone gets the wait', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '482913' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '482913' } })).body.level, 2);
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    const ws = await TestSocket.open(a.url);
    const frames = new FrameLog(ws);
    ws.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
    await frames.take((f) => f.type === 'welcome');
    const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId;
    const offer = await frames.take((f) => f.type === 'offer');
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(s.token),
      json: { fence: offer.offer.fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const panel = async () =>
      (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(s.token) })).body;
    assert.equal((await panel()).risk.pinFailures, 0);

    for (let i = 1; i <= 3; i++) {
      assert.equal((await d.api('pinFactor', { json: { pin: '000001' } })).status, 401);
      const f = await frames.take((x) => x.type === 'panel.changed' && x.reason === 'pin.failed');
      assert.equal(f.requestId, requestId);
    }
    const p3 = await panel();
    assert.equal(p3.risk.pinFailures, 3);
    assert.equal(p3.risk.pinLockedUntil, null);

    assert.equal((await d.api('pinFactor', { json: { pin: '000001' } })).status, 401);
    const fifth = await d.api('pinFactor', { json: { pin: '000001' } });
    assert.equal(fifth.status, 401);
    assert.equal(fifth.body.details.retryAfterSeconds, 30, JSON.stringify(fifth.body));
    assert.match(fifth.body.message, /try again in 30 s/);
    await frames.take((x) => x.type === 'panel.changed' && x.reason === 'pin.locked');
    const p5 = await panel();
    assert.equal(p5.risk.pinFailures, 5);
    assert.equal(p5.risk.pinLockedUntil, '2026-03-02T10:00:30.000Z');

    // The right PIN while locked: refused, with how long to wait.
    clock.advance(10_000);
    const early = await d.api('pinFactor', { json: { pin: '482913' } });
    assert.equal(early.status, 423);
    assert.equal(early.body.details.retryAfterSeconds, 20);
    assert.equal(early.headers.get('retry-after'), '20');
    ws.close();
  });
});
