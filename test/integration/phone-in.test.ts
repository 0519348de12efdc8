/**
 * Calls from the phone network (issue 14), at the authority's boundary: the SIP server in
 * front of the trunk (Kamailio) reports a call that passed its gate, and the call becomes
 * a service request in the queue of the number dialled, recognised by its caller ID (never
 * verified by it), offered to agents like any other; the caller hanging up while waiting
 * abandons it. Only the SIP server (the shared secret) may call these routes.
 * Kamailio's side is test/integration/kamailio-trunk.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';

const SECRET = 'sip-server-secret-for-the-phone-in-test-0123456789';
const DIALLED = '+442079460000';
const ALICE = 'c_alice_martin_01';

describe('calls from the phone network become service requests', () => {
  let a: TestAuthority;
  let admin: string;
  let agent: { token: string; staffId: string };
  let calls = 0;
  const sip = { authorization: `Bearer ${SECRET}` };
  const arrive = (caller: string, dialled = DIALLED, callId = `trunk-${++calls}@192.0.2.10`) =>
    api(a.url, 'trunkCallArrived', { headers: sip, json: { callId, caller, dialled } });

  before(async () => {
    a = await startTestAuthority({ sipServerSecret: SECRET, accessTokenSeconds: 3600 });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, ALICE, '07911 123456');
  });
  after(() => a.dispose());

  it('only the SIP server may report calls: no secret or a wrong one is 401', async () => {
    const body = { callId: 'x@192.0.2.10', caller: '+447911123456', dialled: DIALLED };
    const none = await api(a.url, 'trunkCallArrived', { json: body });
    assert.equal(none.status, 401, JSON.stringify(none.body));
    const wrong = await api(a.url, 'trunkCallArrived', {
      headers: { authorization: `Bearer ${SECRET.slice(0, -1)}x` },
      json: body,
    });
    assert.equal(wrong.status, 401);
    const agentToken = await api(a.url, 'trunkCallArrived', { headers: bearer(agent.token), json: body });
    assert.equal(agentToken.status, 401, 'a staff token is not the SIP server');
  });

  it('a recognised caller joins the queue of the number dialled at level 0, offered with what the caller ID says', async () => {
    assert.equal(
      (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
        .status,
      200,
    );
    // The trunk delivers the caller's number as international digits without "+".
    const callId = 'carrier-call-1@192.0.2.10';
    const q = await arrive('447911123456', '442079460000', callId);
    assert.equal(q.status, 201, JSON.stringify(q.body));
    assert.equal(q.body.queueId, 'general');
    assert.equal(
      q.body.recognition,
      'Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)',
    );
    // A retried report of the same call (same Call-ID) is the same request, not a second caller.
    const again = await arrive('447911123456', '442079460000', callId);
    assert.equal(again.status, 201);
    assert.equal(again.body.requestId, q.body.requestId);

    const me = await api(a.url, 'agentMe', { headers: bearer(agent.token) });
    const offer = me.body.offer;
    assert.equal(offer?.requestId, q.body.requestId, 'offered to the available agent');
    assert.equal(offer.request.customerName, 'Alice Martin');
    assert.equal(offer.request.level, 0, 'a caller ID is not a verification');
    assert.deepEqual(offer.request.phone, {
      caller: '+447911123456',
      dialled: '442079460000',
      recognition: 'Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)',
      callerIdVerified: false,
      unknownCaller: false,
      identifiedByAgent: false,
      endedAt: null,
    });
    const [created] = await a.sql<{ actor: string; reason: string }>`
      SELECT actor, reason FROM audit_log WHERE subject = ${`request:${q.body.requestId}`} AND action = 'request.create'`;
    assert.deepEqual({ ...created }, { actor: 'sip:trunk', reason: 'phoned in' });

    // The caller hangs up while it is offered: abandoned, the offer withdrawn.
    const gone = await api(a.url, 'trunkCallEnded', {
      headers: sip,
      params: { callId },
      json: { reason: 'cancel' },
    });
    assert.equal(gone.status, 200, JSON.stringify(gone.body));
    assert.deepEqual(gone.body, { requestId: q.body.requestId, state: 'abandoned' });
    const after = await api(a.url, 'agentMe', { headers: bearer(agent.token) });
    assert.equal(after.body.offer, null, 'the offer is withdrawn');
    const [abandoned] = await a.sql<{ reason: string }>`
      SELECT reason FROM audit_log WHERE subject = ${`request:${q.body.requestId}`} AND action = 'request.abandon'`;
    assert.match(abandoned?.reason ?? '', /caller_hung_up/);
    // Said twice (a retransmitted CANCEL): the same answer, nothing more.
    const twice = await api(a.url, 'trunkCallEnded', {
      headers: sip,
      params: { callId },
      json: { reason: 'cancel' },
    });
    assert.deepEqual(twice.body, { requestId: q.body.requestId, state: 'abandoned' });
  });

  it('a number nobody configured is 404; a hang-up of no call is 404', async () => {
    const notOurs = await arrive('+447911123456', '+442079460999');
    assert.equal(notOurs.status, 404, JSON.stringify(notOurs.body));
    assert.match(notOurs.body.message, /not a number this contact center answers/);
    const noCall = await api(a.url, 'trunkCallEnded', {
      headers: sip,
      params: { callId: 'never@192.0.2.10' },
      json: { reason: 'cancel' },
    });
    assert.equal(noCall.status, 404);
  });

  it('an unknown caller queues as "Unknown caller"; the holder identifies them by a number or reference they give, then the questions verify them', async () => {
    await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: ALICE },
      json: { externalRef: 'CRM-ALICE-0042' },
    });
    const offered = async (caller: string) => {
      const q = await arrive(caller);
      assert.equal(q.status, 201, JSON.stringify(q.body));
      const av = await api(a.url, 'setPresence', {
        headers: bearer(agent.token),
        json: { state: 'available' },
      });
      const offer =
        av.body.offer ?? (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
      assert.equal(offer?.requestId, q.body.requestId, JSON.stringify(av.body));
      return { q: q.body, offer };
    };
    const identify = (requestId: string, json: Record<string, unknown>) =>
      api(a.url, 'identifyCaller', { headers: bearer(agent.token), params: { requestId }, json });

    // A number no customer has.
    const { q, offer } = await offered('+447911123999');
    assert.equal(q.recognition, 'Phoned in from +44 7911 123999 — unknown caller');
    assert.equal(offer.request.customerName, 'Unknown caller');
    assert.equal(offer.request.level, 0);
    assert.equal(offer.request.phone.unknownCaller, true);
    assert.equal(offer.request.phone.identifiedByAgent, false);
    // The placeholder is nobody's customer record: not in the directory.
    const listed = await api(a.url, 'listCustomers', { headers: bearer(admin), query: { name: 'Unknown' } });
    assert.equal(listed.status, 200, JSON.stringify(listed.body));
    assert.deepEqual(listed.body.customers, []);
    // Not before accepting (the holder only), and no questions to ask an unknown caller.
    assert.equal((await identify(q.requestId, { fence: offer.fence, number: '07911 123456' })).status, 403);
    const ok = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId: q.requestId },
      json: { fence: offer.fence },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const fence = ok.body.fence as number;
    const noQuestions = await api(a.url, 'requestKnowledgeQuestions', {
      headers: bearer(agent.token),
      params: { requestId: q.requestId },
    });
    assert.equal(noQuestions.status, 200, JSON.stringify(noQuestions.body));
    assert.deepEqual(noQuestions.body.questions, [], 'nobody to ask questions of yet');

    // Bad input: neither or both, a number that is not one; nobody has it: 404, audited.
    assert.equal((await identify(q.requestId, { fence })).status, 400);
    assert.equal(
      (await identify(q.requestId, { fence, number: '07911 123456', reference: 'CRM-ALICE-0042' })).status,
      400,
    );
    const notANumber = await identify(q.requestId, { fence, number: 'call me' });
    assert.equal(notANumber.status, 400, JSON.stringify(notANumber.body));
    assert.match(notANumber.body.message, /number/);
    const nobody = await identify(q.requestId, { fence, reference: 'CRM-NOBODY' });
    assert.equal(nobody.status, 404, JSON.stringify(nobody.body));
    assert.match(nobody.body.message, /no active customer has that reference/);
    assert.equal(
      (await identify(q.requestId, { fence: fence + 1, reference: 'CRM-ALICE-0042' })).status,
      409,
    );

    // The caller gives their registered number: the request is Alice's, still at level 0.
    const said = await identify(q.requestId, { fence, number: '07911 123456' });
    assert.equal(said.status, 200, JSON.stringify(said.body));
    assert.deepEqual(said.body, {
      requestId: q.requestId,
      customerName: 'Alice Martin',
      recognition:
        'Phoned in from +44 7911 123999 — the caller says they are Alice Martin (identified by the agent, not verified)',
    });
    const again = await identify(q.requestId, { fence, reference: 'CRM-ALICE-0042' });
    assert.equal(again.status, 409);
    assert.match(again.body.message, /identified already/);
    const view = (
      await api(a.url, 'getRequest', { headers: bearer(agent.token), params: { requestId: q.requestId } })
    ).body;
    assert.equal(view.customerName, 'Alice Martin');
    assert.equal(view.level, 0, 'what a caller says is not a verification');
    assert.equal(view.phone.unknownCaller, false);
    assert.equal(view.phone.identifiedByAgent, true);
    const [placeholders] = await a.sql<{ n: number }>`
      SELECT COUNT(*) AS n FROM customers WHERE kind = 'unknown_caller' AND id = ${offer.request.customerId ?? ''}`;
    assert.equal(Number(placeholders!.n), 0, 'the placeholder is gone');
    const audits = await a.sql<{ outcome: string; reason: string | null }>`
      SELECT outcome, reason FROM audit_log WHERE action = 'phone.identify' AND subject = ${`request:${q.requestId}`} ORDER BY seq`;
    assert.deepEqual(
      audits.map((x) => x.outcome),
      ['failure', 'success'],
      'the attempt that found nobody is audited too',
    );

    // Now the customer's own security questions verify the caller.
    const questions = await api(a.url, 'requestKnowledgeQuestions', {
      headers: bearer(agent.token),
      params: { requestId: q.requestId },
    });
    assert.equal(questions.status, 200, JSON.stringify(questions.body));
    const [school, city] = questions.body.questions.map((x: { questionId: string }) => x.questionId);
    const check = await api(a.url, 'requestKnowledgeCheck', {
      headers: bearer(agent.token),
      params: { requestId: q.requestId },
      json: {
        fence,
        answers: [
          { questionId: school, answer: 'Riverside Primary' },
          { questionId: city, answer: 'Leeds' },
        ],
        agentMs: 15_000,
      },
    });
    assert.equal(check.status, 200, JSON.stringify(check.body));
    assert.equal(check.body.passed, true);
    assert.ok(check.body.level >= 1, JSON.stringify(check.body));
    const done = await api(a.url, 'completeRequest', {
      headers: bearer(agent.token),
      params: { requestId: q.requestId },
      json: { fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  });

  it('a withheld caller queues too and is identified by reference', async () => {
    const q = await arrive('anonymous');
    assert.equal(q.status, 201, JSON.stringify(q.body));
    assert.equal(q.body.recognition, 'Phoned in from a withheld number — unknown caller');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    const offer = av.body.offer ?? (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
    assert.equal(offer?.requestId, q.body.requestId);
    assert.equal(offer.request.phone.caller, null);
    const ok = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId: q.body.requestId },
      json: { fence: offer.fence },
    });
    const said = await api(a.url, 'identifyCaller', {
      headers: bearer(agent.token),
      params: { requestId: q.body.requestId },
      json: { fence: ok.body.fence, reference: 'CRM-ALICE-0042' },
    });
    assert.equal(said.status, 200, JSON.stringify(said.body));
    assert.equal(said.body.customerName, 'Alice Martin');
    // No number to text a link to.
    const link = await api(a.url, 'sendVerificationLink', {
      headers: bearer(agent.token),
      params: { requestId: q.body.requestId },
      json: { fence: ok.body.fence },
    });
    assert.equal(link.status, 409);
    assert.match(link.body.message, /withheld/);
    const done = await api(a.url, 'completeRequest', {
      headers: bearer(agent.token),
      params: { requestId: q.body.requestId },
      json: { fence: ok.body.fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  });

  it('putting the caller through: 409 without a SIP server to ask, 503 when it cannot be reached', async () => {
    const take = async (sipServer?: string) => {
      assert.equal(
        (await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } }))
          .status,
        200,
      );
      const q = await api(a.url, 'trunkCallArrived', {
        headers: sip,
        json: {
          callId: `connect-${++calls}@192.0.2.10`,
          caller: '+447911123456',
          dialled: DIALLED,
          ...(sipServer ? { sipServer } : {}),
        },
      });
      assert.equal(q.status, 201, JSON.stringify(q.body));
      const offer = (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
      const ok = await api(a.url, 'acceptOffer', {
        headers: bearer(agent.token),
        params: { requestId: offer.requestId },
        json: { fence: offer.fence },
      });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      const connect = await api(a.url, 'connectPhoneCall', {
        headers: bearer(agent.token),
        params: { requestId: offer.requestId },
        json: { fence: ok.body.fence },
      });
      const done = await api(a.url, 'completeRequest', {
        headers: bearer(agent.token),
        params: { requestId: offer.requestId },
        json: { fence: ok.body.fence },
      });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      return connect;
    };
    const nowhere = await take();
    assert.equal(nowhere.status, 409);
    assert.match(nowhere.body.message, /did not say where to reach it/);
    const down = await take('http://127.0.0.1:1');
    assert.equal(down.status, 503, JSON.stringify(down.body));
    assert.equal(down.body.code, 'target_unavailable');
    assert.match(down.body.message, /SIP server holding the call/);
  });

  it('bad input is a 400 naming the field: a dialled number that is not digits, a Call-ID with quotes', async () => {
    const letters = await api(a.url, 'trunkCallArrived', {
      headers: sip,
      json: { callId: 'c@192.0.2.10', caller: '+447911123456', dialled: 'sales' },
    });
    assert.equal(letters.status, 400);
    assert.match(letters.body.message, /dialled/);
    const quoted = await api(a.url, 'trunkCallArrived', {
      headers: sip,
      json: { callId: 'c"d@192.0.2.10', caller: '+447911123456', dialled: DIALLED },
    });
    assert.equal(quoted.status, 400);
    assert.match(quoted.body.message, /callId/);
  });

  it('the configuration refuses a phone number naming an unknown option, and the same number twice', async () => {
    const cfg = (await api(a.url, 'getPipelineConfig', { headers: bearer(admin) })).body;
    const unknownOption = await api(a.url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: { ...cfg, phoneNumbers: [{ number: '+442079460001', optionId: 'nope' }] },
    });
    assert.equal(unknownOption.status, 400);
    assert.match(unknownOption.body.message, /not a menu option/);
    const twice = await api(a.url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: {
        ...cfg,
        phoneNumbers: [
          { number: DIALLED, optionId: 'other' },
          { number: DIALLED, optionId: 'mortgage' },
        ],
      },
    });
    assert.equal(twice.status, 400);
    assert.match(twice.body.message, /listed twice/);
  });
});
