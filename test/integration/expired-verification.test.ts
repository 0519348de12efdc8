/**
 * A verification that has expired counts as none: the agent's panel stops showing the
 * customer as verified and locks every secure field again, and device commands that
 * need a level are refused with the reason, while the request and its session go on.
 * (Fake clock; authentication TTL 60 s, session idle 600 s.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

describe('an expired verification unlocks nothing and authorises no command', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let agent: { token: string; staffId: string };
  let requestId: string;
  let fence: number;
  let seq = 0;

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, authenticationTtlSeconds: 60 },
      { clock },
    );
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '112358' } })).status, 200);
    const pin = await d.api('pinFactor', { json: { pin: '112358' } });
    assert.equal(pin.body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    requestId = q.body.request.requestId;
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    fence = av.body.offer.fence;
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
  });
  after(() => a?.dispose());

  const panel = async () =>
    (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) })).body;
  const command = (kind: 'navigate' | 'confirm') =>
    api(a.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: {
        fence,
        seq: ++seq,
        command:
          kind === 'navigate'
            ? { kind, payload: { screen: 'home' } }
            : {
                kind,
                payload: {
                  transaction: {
                    amount: 1000,
                    currency: 'GBP',
                    payee: 'Northwind Energy',
                    reference: 'INV-1',
                    terms: 'One payment.',
                  },
                },
              },
      },
    });

  it('before expiry: verified, level-2 fields unlocked, a confirm command accepted', async () => {
    const p = await panel();
    assert.equal(p.verification.state, 'verified');
    assert.equal(p.verification.level, 2);
    assert.ok(p.secure.some((f: { locked: boolean }) => !f.locked));
    assert.equal((await command('confirm')).status, 201);
  });

  it('after expiry: not verified, every level-gated field locked, commands refused with the reason', async () => {
    clock.advance(61_000);
    const p = await panel();
    assert.equal(p.verification.state, 'not_verified');
    assert.equal(p.verification.level, 0);
    for (const f of p.secure as { level: number; locked: boolean; value?: unknown }[])
      if (f.level > 0) assert.deepEqual([f.locked, 'value' in f], [true, false], JSON.stringify(f));
    for (const kind of ['confirm', 'navigate'] as const) {
      const r = await command(kind);
      assert.equal(r.status, 403, JSON.stringify(r.body));
      assert.equal(r.body.code, 'level_too_low');
      assert.match(r.body.message, /verification has expired/);
    }
  });
});
