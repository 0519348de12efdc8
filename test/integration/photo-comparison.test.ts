/**
 * A verification photo counts only when it is compared: by the agent holding the request,
 * against the enrolment photo on file, recorded as such. It never counts when there is no
 * enrolment photo, nor while another factor of the customer is locked out (unless the
 * pipeline's verification policy says so).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pinDelayMs, PIN_MAX_FAILURES } from '../../authority/src/identity/pin.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, FAKE_PNG, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin, type HttpResult } from '../support/http.ts';

const ALICE = 'c_alice_martin_01';
const BOB = 'c_bob_okafor_002';
const CHEN = 'c_chen_wei_00003';

describe('verification photos count only when compared with the enrolment photo', () => {
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let a: TestAuthority;
  let adminToken = '';
  const admin = async () => (adminToken = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token);

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    await admin();
  });
  after(() => a.dispose());

  /** Enrolled with a PIN (and an enrolment photo unless told otherwise), then authenticated again the next day: level 1. */
  const customer = async (customerId: string, withEnrolmentPhoto = true): Promise<TestDevice> => {
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId },
      headers: bearer(adminToken),
    });
    assert.equal(code.status, 201, JSON.stringify(code.body));
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '314159' } })).status, 200);
    if (withEnrolmentPhoto)
      assert.equal(
        (await d.api('photo', { query: { purpose: 'enrolment' }, raw: FAKE_PNG, contentType: 'image/png' }))
          .status,
        201,
      );
    assert.equal((await d.authenticate()).status, 201);
    return d;
  };
  const verificationPhoto = (d: TestDevice): Promise<HttpResult> =>
    d.api('photo', { query: { purpose: 'verification' }, raw: FAKE_JPEG, contentType: 'image/jpeg' });
  const ask = (d: TestDevice, optionId = 'lost-card') => d.api('createRequest', { json: { optionId } });
  const panel = async (token: string, requestId: string) => {
    const p = await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(token) });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    return p.body;
  };
  const compare = (token: string, requestId: string, photoId: string, fence: number, verdict: string) =>
    api(a.url, 'comparePhoto', {
      params: { requestId, photoId },
      headers: bearer(token),
      json: { fence, verdict },
    });
  const lockPin = async (d: TestDevice) => {
    for (let i = 1; i <= PIN_MAX_FAILURES; i++) {
      const r = await d.api('pinFactor', { json: { pin: '000000' } });
      assert.equal(r.status, 401, JSON.stringify(r.body));
      if (i < PIN_MAX_FAILURES) clock.advance(pinDelayMs(i) + 1_000);
    }
    assert.equal((await d.api('pinFactor', { json: { pin: '314159' } })).status, 423);
  };

  it('a verification photo alone does not raise the level: it waits for a comparison', async () => {
    const d = await customer(ALICE);
    const r = await verificationPhoto(d);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.authentication.level, 1);
    assert.equal(r.body.pendingComparison, true);
    const me = await d.api('deviceMe');
    assert.equal(me.body.authentication.level, 1);
    assert.ok(!me.body.authentication.factors.some((f: { kind: string }) => f.kind === 'photo'));
  });

  it('with no enrolment photo on file a photo is neither offered as a step-up nor accepted as one', async () => {
    const d = await customer(BOB, false);
    const step = await ask(d);
    assert.equal(step.body.status, 'step_up_required');
    assert.ok(!step.body.factorsNeeded.includes('photo'), JSON.stringify(step.body));
    const r = await verificationPhoto(d);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.code, 'factor_unavailable');
    assert.match(r.body.message, /no enrolment photo/);
  });

  it('while the PIN is locked a photo does not verify, unless the verification policy allows it', async () => {
    const d = await customer(CHEN);
    assert.ok((await ask(d)).body.factorsNeeded.includes('photo'));
    await lockPin(d);
    const step = await ask(d);
    assert.ok(!step.body.factorsNeeded.includes('photo'), JSON.stringify(step.body));
    const r = await verificationPhoto(d);
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.body.code, 'factor_unavailable');
    assert.match(r.body.message, /PIN is locked/);
    // The policy may allow it (e.g. a branch with an agent trained to compare faces).
    await admin();
    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(adminToken) });
    assert.deepEqual(cfg.body.verification, { photoWhileFactorLocked: false });
    const put = await api(a.url, 'putPipelineConfig', {
      headers: bearer(adminToken),
      json: { ...cfg.body, verification: { photoWhileFactorLocked: true } },
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const allowed = await verificationPhoto(d);
    assert.equal(allowed.status, 201, JSON.stringify(allowed.body));
    assert.equal(allowed.body.pendingComparison, true);
    const back = await api(a.url, 'putPipelineConfig', {
      headers: bearer(adminToken),
      json: { ...cfg.body, verification: { photoWhileFactorLocked: false } },
    });
    assert.equal(back.status, 200);
  });

  it('the holder compares the photo with the enrolment photo: a match gives level 2, recorded with who compared', async () => {
    const d = await customer(ALICE);
    const photo = await verificationPhoto(d);
    const photoId = photo.body.photoId as string;
    // The request queues with the photo awaiting comparison (level 1 of 2).
    const q = await ask(d);
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId as string;
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    const fence = av.body.offer.fence as number;
    const before = await panel(agent.token, requestId);
    assert.equal(before.verification.level, 1);
    assert.equal(before.verification.state, 'partially_verified');
    assert.deepEqual(before.photos.comparison, {
      photoId,
      verdict: 'pending',
      comparedBy: null,
      comparedAt: null,
      unavailable: null,
    });
    assert.ok(before.secure.find((f: { field: string }) => f.field === 'balance').locked);
    // Only the holder, under the current fence, once the offer is accepted.
    assert.equal((await compare(agent.token, requestId, photoId, fence, 'match')).status, 403);
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    assert.equal((await compare(agent.token, requestId, photoId, fence + 1, 'match')).status, 409);
    const other = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    assert.equal((await compare(other.token, requestId, photoId, fence, 'match')).status, 403);
    const bad = await compare(agent.token, requestId, photoId, fence, 'looks fine');
    assert.equal(bad.status, 400);
    const ok = await compare(agent.token, requestId, photoId, fence, 'match');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.verdict, 'match');
    assert.equal(ok.body.comparedBy, 'Dana Reyes');
    const after = await panel(agent.token, requestId);
    assert.equal(after.verification.level, 2);
    assert.equal(after.verification.state, 'verified');
    const factor = after.verification.factors.find((f: { kind: string }) => f.kind === 'photo');
    assert.match(factor.detail, /compared with the enrolment photo by Dana Reyes/);
    assert.equal(after.secure.find((f: { field: string }) => f.field === 'balance').locked, false);
    assert.equal((await d.api('deviceMe')).body.authentication.level, 2);
    // Compared once: a second verdict is refused.
    const again = await compare(agent.token, requestId, photoId, fence, 'no_match');
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const audit = await a.sql<{ outcome: string; actor: string }>`
      SELECT outcome, actor FROM audit_log WHERE action = 'photo.compare' AND subject = ${`photo:${photoId}`}`;
    assert.deepEqual(audit, [{ outcome: 'success', actor: `staff:${agent.staffId}` }]);
    await api(a.url, 'completeRequest', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
  });

  it('"not the same person" leaves the level where it was and shows as a failed verification', async () => {
    const d = await customer(BOB);
    const photoId = (await verificationPhoto(d)).body.photoId as string;
    const q = await ask(d, 'payment-failed');
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId as string;
    const agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    const fence = av.body.offer.fence as number;
    await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(agent.token), json: { fence } });
    const r = await compare(agent.token, requestId, photoId, fence, 'no_match');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const p = await panel(agent.token, requestId);
    assert.equal(p.verification.level, 1);
    assert.equal(p.verification.state, 'failed');
    assert.equal(p.photos.comparison.verdict, 'no_match');
  });
});
