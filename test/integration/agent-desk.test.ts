import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, FAKE_PNG, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

describe('console API: verified-customer panel, photos, dispositions, wrap-ups', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let agent: { token: string; staffId: string };
  let d: TestDevice;
  let requestId: string;
  let fence: number;

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpRequired: true, wrapUpSeconds: 60 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal(
      (await d.api('photo', { query: { purpose: 'enrolment' }, raw: FAKE_JPEG, contentType: 'image/jpeg' }))
        .status,
      201,
    );
    assert.equal((await d.api('setPin', { json: { pin: '112358' } })).status, 200);
    // One wrong PIN, then the right one: a failure the panel reports, and level 2.
    assert.equal((await d.api('pinFactor', { json: { pin: '000000' } })).status, 401);
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    requestId = q.body.request.requestId;
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    fence = av.body.offer.fence;
  });
  after(() => a.dispose());

  it('the offered agent sees the verification before accepting; other agents get 403', async () => {
    const p = await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.customer.name, 'Alice Martin');
    assert.equal(p.body.verification.state, 'verified');
    assert.equal(p.body.verification.level, 2);
    assert.deepEqual(
      p.body.verification.factors.map((f: any) => f.kind),
      ['device', 'pin'],
    );
    assert.equal(p.body.risk.newDevice, true);
    assert.equal(p.body.risk.recentFailures, 1);
    assert.ok(p.body.photos.enrolment);
    assert.equal(p.body.photos.latest, null);
    assert.equal(p.body.voice.verified, false);
    const other = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    assert.equal(
      (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(other.token) })).status,
      403,
    );
    const sup = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    assert.equal(
      (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(sup.token) })).status,
      200,
    );
  });

  it('secure fields above the level are locked and carry no value; a step-up unlocks them', async () => {
    const before = (
      await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) })
    ).body;
    const byField = (p: any) => Object.fromEntries(p.secure.map((f: any) => [f.field, f]));
    const f1 = byField(before);
    assert.equal(f1.balance.locked, false);
    assert.equal(f1.balance.value.amount, 18250.42);
    assert.equal(f1.accountNumber.locked, true);
    assert.equal('value' in f1.accountNumber, false);
    assert.ok(
      !JSON.stringify(before).includes('NWBK'),
      'the locked account number never leaves the authority',
    );
    await a.services.authentications.addFactorAlone(
      d.authentication.authenticationId,
      'biometric',
      d.deviceId,
    );
    const after = (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) }))
      .body;
    assert.equal(byField(after).accountNumber.locked, false);
    assert.equal(byField(after).accountNumber.value, 'GB29 NWBK 6016 1331 9268 19');
    assert.equal(after.verification.level, 3);
  });

  it('photos are served as images to the agent; a verification photo becomes the latest', async () => {
    assert.equal(
      (await d.api('photo', { query: { purpose: 'verification' }, raw: FAKE_PNG, contentType: 'image/png' }))
        .status,
      201,
    );
    const p = (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) }))
      .body;
    const res = await fetch(`${a.url}/v1/agent/requests/${requestId}/photos/${p.photos.latest.photoId}`, {
      headers: bearer(agent.token),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), FAKE_PNG);
    const enrol = await fetch(
      `${a.url}/v1/agent/requests/${requestId}/photos/${p.photos.enrolment.photoId}`,
      { headers: bearer(agent.token) },
    );
    assert.deepEqual(Buffer.from(await enrol.arrayBuffer()), FAKE_JPEG);
  });

  it('a required wrap-up holds the agent in wrap-up; it is recorded once whatever the replays', async () => {
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
    assert.equal(
      (
        await api(a.url, 'completeRequest', {
          params: { requestId },
          headers: bearer(agent.token),
          json: { fence },
        })
      ).status,
      200,
    );
    const tree = await api(a.url, 'dispositions', { headers: bearer(agent.token) });
    assert.equal(tree.body.dispositions[0].code, 'resolved');
    const early = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(early.status, 409);
    assert.match(early.body.message, /wrap-up first/);
    clock.advance(10 * 60_000);
    await a.services.pipeline.tick();
    assert.equal(
      (await a.services.pipeline.agents.get(agent.staffId))!.presence,
      'wrap_up',
      'no timeout while the wrap-up is required',
    );
    const body = {
      idempotencyKey: 'wrapup-key-0000000001',
      fence,
      disposition: ['resolved', 'card-blocked'],
      notes: 'Card blocked, replacement ordered.',
    };
    const bad = await api(a.url, 'wrapUp', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { ...body, disposition: ['resolved', 'nope'] },
    });
    assert.equal(bad.status, 400);
    const first = await api(a.url, 'wrapUp', {
      params: { requestId },
      headers: bearer(agent.token),
      json: body,
    });
    assert.equal(first.status, 201);
    assert.equal(first.body.duplicate, false);
    const replays = await Promise.all(
      Array.from({ length: 20 }, () =>
        api(a.url, 'wrapUp', { params: { requestId }, headers: bearer(agent.token), json: body }),
      ),
    );
    assert.ok(
      replays.every((r) => r.status === 201 && r.body.duplicate && r.body.wrapUpId === first.body.wrapUpId),
    );
    const [n] = await a.sql<{
      n: number;
    }>`SELECT count(*) AS n FROM wrap_ups WHERE request_id = ${requestId}`;
    assert.equal(n!.n, 1);
    assert.equal((await a.services.pipeline.agents.get(agent.staffId))!.presence, 'available');
    const other = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const foreign = await api(a.url, 'wrapUp', {
      params: { requestId },
      headers: bearer(other.token),
      json: { ...body, idempotencyKey: 'wrapup-key-0000000002' },
    });
    assert.equal(foreign.status, 409);
  });
});
