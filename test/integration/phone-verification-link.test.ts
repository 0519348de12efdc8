/**
 * Verification during a phone call by a link (issue 14 item 3): Alice phones in from her
 * registered number (reported as Kamailio does); the agent who accepts texts her a
 * single-use link (the text-message file sink; the number's route leaves the link to the
 * agent, `linkWhileQueued: false`: phone-link-while-queued.test.ts has the link texted as
 * the call queues); her app, authenticated with the device key
 * plus PIN (level 2), presents it: the request now carries that device and level, the
 * panel says verified. A second use, an expired link, another customer's device and a
 * level-1 authentication are refused, each audited; the link's token is never stored.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { answerNumber, enrolWithPin, registerPhone } from '../support/phone-in.ts';

const SECRET = 'sip-server-secret-for-the-verification-link-test-01';
const DIALLED = '+442079460000';
const ALICE = 'c_alice_martin_01';

describe('a caller from the phone network verifies on their app with a texted link', () => {
  let a: TestAuthority;
  let dir: string;
  let admin: string;
  let agent: { token: string; staffId: string };
  let alice: TestDevice;
  let calls = 0;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const sip = { authorization: `Bearer ${SECRET}` };
  const texts = () =>
    readFileSync(join(dir, 'texts.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { to: string; text: string });
  const tokenOf = (text: string) => /\/v\/([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';

  /** Alice phones in and the agent accepts: the request and its fence. */
  async function phoneIn(caller = '447911123456') {
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    const q = await api(a.url, 'trunkCallArrived', {
      headers: sip,
      json: { callId: `link-${++calls}@192.0.2.10`, caller, dialled: DIALLED },
    });
    assert.equal(q.status, 201, JSON.stringify(q.body));
    const offer = (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
    const ok = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId: offer.requestId },
      json: { fence: offer.fence },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    return { requestId: offer.requestId as string, fence: ok.body.fence as number };
  }
  const send = (requestId: string, fence: number) =>
    api(a.url, 'sendVerificationLink', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence },
    });
  const complete = (requestId: string, fence: number) =>
    api(a.url, 'completeRequest', { headers: bearer(agent.token), params: { requestId }, json: { fence } });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-link-'));
    a = await startTestAuthority(
      {
        sipServerSecret: SECRET,
        textSinkFile: join(dir, 'texts.jsonl'),
        customerAppUrl: 'https://app.example.com/app/',
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
      },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED, 'other', { linkWhileQueued: false });
    await registerPhone(a.url, admin, ALICE, '+44 7911 123456');
    alice = await enrolWithPin(a.url, admin, ALICE, () => clock.now());
  });
  after(() => {
    a.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the agent texts the link; the app at level 2 presents it; the request carries the device and its level', async () => {
    const { requestId, fence } = await phoneIn();
    const sent = await send(requestId, fence);
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    assert.equal(sent.body.sentTo, '+44 7911 123456');
    const [text] = texts().slice(-1);
    assert.equal(text!.to, '+447911123456');
    assert.match(
      text!.text,
      /^Northwind Bank: to verify yourself for your call, open https:\/\/app\.example\.com\/v\/[A-Za-z0-9_-]{32} /,
    );
    const token = tokenOf(text!.text);
    const stored = await a.sql<{ token_hash: string }>`SELECT token_hash FROM verification_links`;
    assert.ok(
      stored.every((r) => r.token_hash !== token),
      'only the hash is kept',
    );

    // Level 1 (the device key alone) is not enough.
    assert.equal((await alice.authenticate()).status, 201);
    const low = await alice.api('useVerificationLink', { params: { token } });
    assert.equal(low.status, 403, JSON.stringify(low.body));
    assert.equal(low.body.code, 'level_too_low');

    assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const used = await alice.api('useVerificationLink', { params: { token } });
    assert.equal(used.status, 200, JSON.stringify(used.body));
    assert.deepEqual(used.body, { requestId, level: 2 });

    const panel = await api(a.url, 'customerPanel', { headers: bearer(agent.token), params: { requestId } });
    assert.equal(panel.status, 200);
    assert.equal(panel.body.verification.level, 2);
    assert.equal(panel.body.verification.state, 'verified');
    assert.ok(panel.body.request.phone, 'still a call from the phone network');

    // Once only.
    const again = await alice.api('useVerificationLink', { params: { token } });
    assert.equal(again.status, 410);
    assert.match(again.body.message, /used already/);
    const audited = await a.sql<{ action: string; outcome: string }>`
      SELECT action, outcome FROM audit_log WHERE action LIKE 'phone.link.%' ORDER BY seq`;
    assert.deepEqual(
      audited.map((r) => `${r.action} ${r.outcome}`),
      [
        'phone.link.send success',
        'phone.link.use failure',
        'phone.link.use success',
        'phone.link.use failure',
      ],
    );
    assert.equal((await complete(requestId, fence)).status, 200);
  });

  it('an expired link, another customer, a stale holder and an unknown token are refused', async () => {
    const { requestId, fence } = await phoneIn();
    assert.equal((await send(requestId, fence + 1)).status, 409, 'a stale fence sends nothing');
    assert.equal((await send(requestId, fence)).status, 200);
    const token = tokenOf(texts().at(-1)!.text);

    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const bob = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await bob.api('setPin', { json: { pin: '112358' } })).status, 200);
    assert.equal((await bob.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const other = await bob.api('useVerificationLink', { params: { token } });
    assert.equal(other.status, 403);
    assert.match(other.body.message, /sent to someone else/);

    const unknown = await alice.api('useVerificationLink', { params: { token: 'x'.repeat(32) } });
    assert.equal(unknown.status, 404);

    clock.advance(11 * 60_000);
    assert.equal((await alice.authenticate()).status, 201);
    assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const late = await alice.api('useVerificationLink', { params: { token } });
    assert.equal(late.status, 410);
    assert.match(late.body.message, /expired/);
    assert.equal((await complete(requestId, fence)).status, 200);
  });

  it('no link for a number not registered to the customer', async () => {
    // The number she called from is no longer hers (changed during the call): no link to it.
    const { requestId, fence } = await phoneIn();
    const changed = await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: ALICE },
      json: { phones: [{ number: '+44 7911 123457', label: 'new mobile' }] },
    });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const refused = await send(requestId, fence);
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /not registered to this customer/);
    assert.equal((await complete(requestId, fence)).status, 200);
  });
});
