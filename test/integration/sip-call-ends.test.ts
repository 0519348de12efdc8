/**
 * POST /v1/sip/call-ends (issue 18): the SIP server (Kamailio's event_route[dialog:end])
 * says the dialog of a call to a device ended. Only the SIP server may say so (its shared
 * secret); bad bodies get 400; a current ticket's call is ended once (audited call.end by
 * system:sip-server), which frees the agent's capacity (a waiting chat is offered); a repeat
 * and the console's late report change nothing; another agent's ticket, a ticket whose
 * request moved on and an unknown one are refused and end nothing. No SIP here: the call is
 * made live by the device's proof over HTTP (test/integration/kamailio-call-ends.test.ts has
 * Kamailio report real dialogs).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sipUserForAgent } from '../../protocol/src/sip.ts';
import type { TestAuthority } from '../support/authority.ts';
import { ChatCallDesk, type DeskAgent } from '../support/chat-call.ts';
import { api, bearer } from '../support/http.ts';

const SECRET = 'sip-server-secret-for-the-sip-call-ends-test-01';
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('the SIP server reports the end of a call to a device (POST /v1/sip/call-ends)', () => {
  let a: TestAuthority;
  let desk: ChatCallDesk;
  let A: DeskAgent;
  let B: DeskAgent;
  const sip = { authorization: `Bearer ${SECRET}` };
  const report = (json: unknown, headers: Record<string, string> = sip) =>
    api(a.url, 'sipCallEnd', { headers, json });
  const ended = (ticket: string, who = A, extra: Record<string, unknown> = {}) =>
    report({ ticket, sipUser: sipUserForAgent(who.staffId), cause: 'bye', ...extra });

  before(async () => {
    desk = await ChatCallDesk.start({ sipServerSecret: SECRET });
    a = desk.a;
    A = await desk.login('agent1', 'demo-agent-1');
    B = await desk.login('agent2', 'demo-agent-2');
    await desk.call(B, 'setPresence', { json: { state: 'offline' } });
    await desk.call(A, 'setPresence', { json: { state: 'available' } });
  });
  after(async () => {
    await desk?.dispose();
  });

  /** A chat A accepted and escalated to a live call: its id, fence and ticket. */
  async function liveCall() {
    const chat = await desk.ask();
    const fence = await desk.accept(A, chat);
    const ticket = await desk.ticket(A, chat, fence);
    await desk.prove(ticket);
    assert.equal(await desk.onCall(A), true);
    return { chat, fence, ticket };
  }

  it('only the SIP server may report (401), a malformed report is 400: nothing ends', async () => {
    const { chat, fence, ticket } = await liveCall();
    const body = { ticket, sipUser: sipUserForAgent(A.staffId), cause: 'bye' };
    assert.equal((await report(body, {})).status, 401, 'no secret');
    assert.equal((await report(body, { authorization: `Bearer ${SECRET.slice(0, -1)}x` })).status, 401);
    assert.equal(
      (await report(body, bearer(A.token))).status,
      401,
      "the agent's own token is not the SIP server",
    );
    const bad: unknown[] = [
      {},
      { ticket, cause: 'bye' },
      { ticket, sipUser: body.sipUser },
      { ...body, cause: 'hangup' },
      { ...body, ticket: 'not-a-ticket' },
      { ...body, ticket: `${ticket}"` },
      { ...body, ticket: `${'a'.repeat(4096)}.b.c` },
      { ...body, sipUser: 'a-x"y' },
      { ...body, sipUser: '' },
      { ...body, callId: 'with space' },
      { ...body, fence },
      [body],
      'bye',
    ];
    for (const json of bad) {
      const r = await report(json);
      assert.equal(r.status, 400, `${JSON.stringify(json).slice(0, 80)}: ${JSON.stringify(r.body)}`);
    }
    assert.deepEqual(await desk.ticketEnds(chat), [null], 'the call goes on');
    assert.equal(await desk.onCall(A), true);
    assert.deepEqual(await desk.callEnds(chat), []);
    assert.equal(
      (await desk.call(A, 'callEnd', { params: { requestId: chat }, json: { fence, ticket } })).status,
      200,
    );
    await desk.complete(A, [[chat, fence]]);
  });

  it("ends a current ticket's call once: the waiting chat is offered; a repeat and the console's late report change nothing", async () => {
    const { chat, fence, ticket } = await liveCall();
    const chat2 = await desk.ask();
    assert.equal(await desk.stateOf(A, chat2), 'waiting', 'on a call: no chat is offered');

    // A colleague's INVITE carrying A's ticket: its end is not A's call's (409, audited).
    const colleague = await ended(ticket, B);
    assert.equal(colleague.status, 409, JSON.stringify(colleague.body));
    assert.equal(colleague.body.code, 'conflict');
    assert.equal(await desk.onCall(A), true);

    const first = await ended(ticket, A, { callId: 'a84b4c76e66710@console.invalid' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.requestId, chat);
    assert.equal(first.body.ended, true);
    const fence2 = await desk.accept(A, chat2);
    assert.equal(await desk.onCall(A), false);
    const [endedAt] = await desk.ticketEnds(chat);
    assert.equal(first.body.at, new Date(endedAt!).toISOString());

    const again = await report({ ticket, sipUser: sipUserForAgent(A.staffId), cause: 'timeout' });
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, { requestId: chat, ended: false, at: first.body.at });
    const late = await desk.call(A, 'callEnd', { params: { requestId: chat }, json: { fence, ticket } });
    assert.deepEqual(late.body, { ended: false, at: first.body.at });

    const audit = await desk.callEnds(chat);
    assert.deepEqual(
      audit.map((r) => [r.actor, r.outcome]),
      [
        ['system:sip-server', 'failure'],
        ['system:sip-server', 'success'],
      ],
    );
    assert.equal(audit[0]!.data.sipUser, sipUserForAgent(B.staffId));
    assert.equal(audit[1]!.data.cause, 'bye');
    assert.equal(audit[1]!.data.callId, 'a84b4c76e66710@console.invalid');
    assert.equal(audit[1]!.data.agentId, A.staffId);
    await desk.complete(A, [
      [chat, fence],
      [chat2, fence2],
    ]);
  });

  it('a stale ticket (its request completed) and an unknown one end nothing; an unproven one never becomes live', async () => {
    const { chat, fence, ticket } = await liveCall();
    await desk.complete(A, [[chat, fence]]);
    const stale = await ended(ticket);
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.deepEqual(await desk.ticketEnds(chat), [null], 'a stale ticket is not marked ended');
    const audit = await desk.callEnds(chat);
    assert.equal(audit.at(-1)?.outcome, 'failure');
    assert.match(audit.at(-1)?.reason ?? '', /no longer holds/);

    const unknown = `${b64({ alg: 'ES256', typ: 'vd-call+jwt' })}.${b64({ jti: 'never-issued-0001' })}.c2ln`;
    assert.equal((await ended(unknown)).status, 404);

    // The dialog ends before the device's proof arrives: the proof then never makes it live.
    const chat3 = await desk.ask();
    const fence3 = await desk.accept(A, chat3);
    const ticket3 = await desk.ticket(A, chat3, fence3);
    const early = await ended(ticket3);
    assert.equal(early.status, 200, JSON.stringify(early.body));
    assert.equal(early.body.ended, true);
    await desk.prove(ticket3);
    assert.equal(await desk.onCall(A), false);
    await desk.complete(A, [[chat3, fence3]]);
  });
});
