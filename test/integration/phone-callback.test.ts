/**
 * Callbacks to a phone number through the trunk (issue 14 item 5), at the authority: staff
 * book a callback for a customer without the app (their registered number); it becomes a
 * voice request offered like any other; the holder dials and gets a phone call ticket
 * naming the number; the SIP server asks before it lets the INVITE out (the ticket, the
 * number, the agent, the holder and fence, once per call) and the request shows the call
 * was placed. Without an outbound caller ID, dialling is 503. Kamailio's side:
 * test/integration/kamailio-dial-out.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sipUserForAgent } from '../../protocol/src/sip.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { registerPhone } from '../support/phone-in.ts';
import { until } from '../support/wait.ts';

const SECRET = 'sip-server-secret-for-the-phone-callback-test-0123';
const CALLER_ID = '+442079460123';
const ALICE = 'c_alice_martin_01';
const BOB = 'c_bob_okafor_002';

describe('a callback to a customer’s phone number through the trunk', () => {
  let a: TestAuthority;
  let admin: string;
  let supervisor: string;
  let agent: { token: string; staffId: string };
  let other: { token: string; staffId: string };
  const sip = { authorization: `Bearer ${SECRET}` };

  before(async () => {
    a = await startTestAuthority({
      sipServerSecret: SECRET,
      outboundCallerId: CALLER_ID,
      accessTokenSeconds: 3600,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    other = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    await registerPhone(a.url, admin, ALICE, '07911 123456');
  });
  after(() => a.dispose());

  const book = (json: unknown, token = supervisor) =>
    api(a.url, 'bookPhoneCallback', { headers: bearer(token), json });

  it('booking: the customer’s number, or one chosen among theirs; refusals say why', async () => {
    assert.equal((await book({ customerId: 'c_nobody_00000000', optionId: 'other' })).status, 404);
    assert.equal((await book({ customerId: ALICE, optionId: 'no-such-option' })).status, 404);
    const noNumber = await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: BOB },
      json: { phones: [] },
    });
    assert.equal(noNumber.status, 200, JSON.stringify(noNumber.body));
    const none = await book({ customerId: BOB, optionId: 'other' });
    assert.equal(none.status, 409, JSON.stringify(none.body));
    assert.match(none.body.message, /no registered phone number/);
    const two = await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: BOB },
      json: {
        phones: [
          { number: '+44 7911 123457', label: 'mobile' },
          { number: '+44 20 7946 0958', label: 'home' },
        ],
      },
    });
    assert.equal(two.status, 200, JSON.stringify(two.body));
    const which = await book({ customerId: BOB, optionId: 'other' });
    assert.equal(which.status, 409);
    assert.match(which.body.message, /2 registered numbers: choose one/);
    const notHis = await book({ customerId: BOB, optionId: 'other', number: '+44 7911 123456' });
    assert.equal(notHis.status, 409);
    const junk = await book({ customerId: BOB, optionId: 'other', number: 'call me maybe' });
    assert.equal(junk.status, 400, JSON.stringify(junk.body));
    assert.equal((await book({ customerId: BOB, optionId: 'other', extra: 1 })).status, 400);
    // One of his, written nationally: booked (in the cards queue, nobody available: it waits).
    const ok = await book({ customerId: BOB, optionId: 'lost-card', number: '020 7946 0958' });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.number, '+442079460958');
    assert.equal(ok.body.state, 'waiting');
    const view = await api(a.url, 'getRequest', {
      headers: bearer(supervisor),
      params: { requestId: ok.body.requestId },
    });
    assert.equal(view.status, 200, JSON.stringify(view.body));
    assert.equal(view.body.channel ?? 'voice', 'voice', 'a call');
    assert.equal(view.body.level, 0);
    assert.equal(view.body.phoneCallback.number, '+442079460958');
    assert.equal(view.body.phoneCallback.shown, '+44 20 7946 0958');
    assert.equal(view.body.phoneCallback.placedAt, null);
    const [audit] = await a.sql<{ actor: string; data: string }>`
      SELECT actor, data FROM audit_log WHERE action = 'phone.callback.book' AND subject = ${`request:${ok.body.requestId}`}`;
    assert.ok(audit, 'booking audited');
    assert.doesNotMatch(String(audit.data), /2079460958/, 'the number is masked in the audit log');
  });

  it('offered like any other; the holder dials; the SIP server lets that one call out to that number only', async () => {
    const booked = await book({ customerId: ALICE, optionId: 'other' }, agent.token);
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    assert.equal(booked.body.number, '+447911123456');
    const requestId = booked.body.requestId as string;
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    const o = await until(
      'the callback offered to the agent',
      async () => (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer,
    );
    assert.equal(o.requestId, requestId);
    assert.equal(o.request.phoneCallback.number, '+447911123456');
    const accepted = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: o.fence },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const fence = accepted.body.fence as number;

    const dial = (token: string, f: number) =>
      api(a.url, 'dialPhoneCallback', { headers: bearer(token), params: { requestId }, json: { fence: f } });
    const notHolder = await dial(other.token, fence);
    assert.equal(notHolder.status, 403, JSON.stringify(notHolder.body));
    assert.equal(notHolder.body.code, 'not_assigned');
    const stale = await dial(agent.token, fence + 1);
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'stale_fence');
    const d = await dial(agent.token, fence);
    assert.equal(d.status, 200, JSON.stringify(d.body));
    assert.equal(d.body.number, '+447911123456');
    assert.equal(d.body.callerId, CALLER_ID);
    assert.match(d.body.target, /^sip:\+447911123456@/);

    const sipUser = sipUserForAgent(agent.staffId);
    const check = (json: Record<string, unknown>, headers: Record<string, string> = sip) =>
      api(a.url, 'authorizeDialOut', {
        headers,
        json: { ticket: d.body.ticket, number: '+447911123456', sipUser, callId: 'out-1@ws', ...json },
      });
    assert.equal((await check({}, {})).status, 401, 'only the SIP server asks');
    assert.equal((await check({}, bearer(agent.token))).status, 401);
    const elsewhere = await check({ number: '+447700900123' });
    assert.equal(elsewhere.status, 403, JSON.stringify(elsewhere.body));
    assert.match(elsewhere.body.message, /another number/);
    const someoneElse = await check({ sipUser: sipUserForAgent(other.staffId) });
    assert.equal(someoneElse.status, 403);
    const [h, p, s] = (d.body.ticket as string).split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forgedPayload = Buffer.from(JSON.stringify({ ...claims, tel: '+447700900123' })).toString(
      'base64url',
    );
    const forged = await check({ ticket: `${h}.${forgedPayload}.${s}`, number: '+447700900123' });
    assert.equal(forged.status, 403);
    assert.match(forged.body.message, /does not verify/);
    assert.equal((await check({ ticket: 'not-a-ticket' })).status, 403);

    const before = Date.now();
    const allowed = await check({});
    assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
    assert.deepEqual(allowed.body, { requestId, number: '+447911123456', callerId: CALLER_ID });
    assert.equal((await check({})).status, 200, 'the same call asking again');
    const secondCall = await check({ callId: 'out-2@ws' });
    assert.equal(secondCall.status, 403, 'one call per ticket');
    assert.match(secondCall.body.message, /used by another call/);

    const view = await api(a.url, 'getRequest', { headers: bearer(agent.token), params: { requestId } });
    assert.equal(view.body.phoneCallback.attempts, 1);
    assert.ok(Date.parse(view.body.phoneCallback.placedAt) >= before - 1000, 'the callback shows placed');

    // A new ticket after the request moved on (transfer, take-over...) proves nothing.
    const d2 = await dial(agent.token, fence);
    assert.equal(d2.status, 200);
    await a.sql`UPDATE requests SET fence = fence + 1 WHERE id = ${requestId}`;
    const moved = await check({ ticket: d2.body.ticket, callId: 'out-3@ws' });
    assert.equal(moved.status, 403);
    assert.match(moved.body.message, /moved on/);

    const audited = await a.sql<{ action: string; outcome: string }>`
      SELECT action, outcome FROM audit_log WHERE subject = ${`request:${requestId}`}
        AND action IN ('phone.dial', 'phone.dial.out') ORDER BY seq`;
    assert.deepEqual(
      audited.map((r) => `${r.action}:${r.outcome}`),
      [
        'phone.dial:success',
        'phone.dial.out:failure',
        'phone.dial.out:failure',
        'phone.dial.out:success',
        'phone.dial.out:success',
        'phone.dial.out:failure',
        'phone.dial:success',
        'phone.dial.out:failure',
      ],
    );
  });
});

describe('a callback where no call may go out to the phone network', () => {
  let a: TestAuthority;
  after(() => a?.dispose());

  it('dialling answers 503 and says what is missing', async () => {
    a = await startTestAuthority({ sipServerSecret: SECRET, accessTokenSeconds: 3600 });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await registerPhone(a.url, admin, ALICE, '+44 7911 123456');
    await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    const booked = await api(a.url, 'bookPhoneCallback', {
      headers: bearer(agent.token),
      json: { customerId: ALICE, optionId: 'other' },
    });
    assert.equal(booked.status, 201, JSON.stringify(booked.body));
    const requestId = booked.body.requestId as string;
    const o = await until(
      'the callback offered',
      async () => (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer,
    );
    const accepted = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: o.fence },
    });
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const d = await api(a.url, 'dialPhoneCallback', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: accepted.body.fence },
    });
    assert.equal(d.status, 503, JSON.stringify(d.body));
    assert.match(d.body.message, /VD_OUTBOUND_CALLER_ID/);
  });
});
