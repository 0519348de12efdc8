/**
 * A chat escalated to a call to its device ends on the server side too (issue 18): the
 * embedded SIP edge sees the end of the dialog whose INVITE carried the call ticket (a BYE
 * from either side, or the console's connection gone for good) and ends the call as the
 * console's report would (call_tickets.ended_at, audited call.end by system:sip-edge), so
 * the agent has room again without that report; the console's late report changes nothing.
 * Raw SIP over the edge's WebSocket plays the console's and the device's softphones.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CALL_TICKET_HEADER } from '../../protocol/src/index.ts';
import type { TestAuthority } from '../support/authority.ts';
import { ChatCallDesk, type DeskAgent } from '../support/chat-call.ts';
import { authorization, headerOf, nonceOf, RawSip, registerHeaders, statusOf } from '../support/sip-raw.ts';
import { until } from '../support/wait.ts';

type SipCreds = DeskAgent['sip'];
type Staff = DeskAgent;

describe('an escalated call ends when the SIP edge sees its end, without the console', () => {
  let a: TestAuthority;
  let desk: ChatCallDesk;
  let A: Staff;
  let B: Staff;
  let deviceSip: SipCreds;
  const raws: RawSip[] = [];

  /** A raw SIP connection registered as `creds`. */
  async function registered(creds: SipCreds): Promise<RawSip> {
    const c = await RawSip.open(creds.wsUrl ?? assert.fail('the embedded edge gives its WebSocket URL'));
    raws.push(c);
    const registrar = `sip:${creds.domain}`;
    const callId = randomBytes(8).toString('hex');
    const ch = await c.request('REGISTER', registrar, registerHeaders(c, creds, callId));
    const ok = await c.request(
      'REGISTER',
      registrar,
      registerHeaders(c, creds, callId, authorization(creds, 'REGISTER', registrar, nonceOf(ch)!, 1)),
    );
    assert.equal(statusOf(ok), 200);
    return c;
  }

  /**
   * The agent's console calls the device with the ticket through the edge (`caller` INVITEs
   * as `as`), the device answers 200 OK and proves the ticket: the call is live.
   */
  async function liveCall(as: Staff, caller: RawSip, callee: RawSip, ticket: string) {
    const callId = `esc-${randomBytes(6).toString('hex')}`;
    const invite = (authz?: string) => [
      `To: <${deviceSip.aor}>`,
      `From: <${as.sip.aor}>;tag=agenttag`,
      `Call-ID: ${callId}`,
      `Contact: <sip:agent@${caller.host};transport=ws>`,
      `${CALL_TICKET_HEADER}: ${ticket}`,
      ...(authz ? [`Proxy-Authorization: ${authz}`] : []),
    ];
    const c407 = await caller.request('INVITE', deviceSip.aor, invite());
    assert.equal(statusOf(c407), 407);
    const answered = caller.request(
      'INVITE',
      deviceSip.aor,
      invite(authorization(as.sip, 'INVITE', deviceSip.aor, nonceOf(c407)!, 1)),
    );
    const arrived = await callee.take((m) => m.startsWith('INVITE ') && m.includes(callId));
    assert.equal(headerOf(arrived, CALL_TICKET_HEADER), ticket, 'the device gets the ticket');
    callee.answerOk(arrived, `<${deviceSip.aor}>;tag=devicetag`);
    assert.equal(statusOf(await answered), 200);
    await desk.prove(ticket);
    return { callId };
  }

  before(async () => {
    desk = await ChatCallDesk.start({ sipSecret: 's'.repeat(40), sipDialogGraceSeconds: 0 });
    a = desk.a;
    deviceSip = await desk.deviceSip();
    A = await desk.login('agent1', 'demo-agent-1');
    B = await desk.login('agent2', 'demo-agent-2');
    await desk.call(B, 'setPresence', { json: { state: 'offline' } });
    await desk.call(A, 'setPresence', { json: { state: 'available' } });
  });
  after(async () => {
    for (const r of raws) r.close();
    await desk?.dispose();
  });

  it("a BYE through the edge frees the agent's chat capacity without the console's report; the late report changes nothing", async () => {
    const chat1 = await desk.ask();
    const fence1 = await desk.accept(A, chat1);
    const deviceLine = await registered(deviceSip);
    const agentLine = await registered(A.sip);
    const ticket = await desk.ticket(A, chat1, fence1);
    const { callId } = await liveCall(A, agentLine, deviceLine, ticket);
    assert.equal(await desk.onCall(A), true);
    const chat2 = await desk.ask();
    assert.equal(await desk.stateOf(A, chat2), 'waiting', 'on a call: no chat is offered');

    // The device hangs up: its BYE passes through the edge to the console.
    void deviceLine.request('BYE', `sip:agent@${agentLine.host};transport=ws`, [
      `To: <${A.sip.aor}>;tag=agenttag`,
      `From: <${deviceSip.aor}>;tag=devicetag`,
      `Call-ID: ${callId}`,
    ]);
    const bye = await agentLine.take((m) => m.startsWith('BYE '));
    assert.equal(headerOf(bye, 'Call-ID'), callId);
    // No call-ends report: the edge ended it, the waiting chat is offered at once.
    const fence2 = await desk.accept(A, chat2);
    assert.equal(await desk.onCall(A), false);
    const audit = await desk.callEnds(chat1);
    assert.equal(audit.length, 1, JSON.stringify(audit));
    assert.equal(audit[0]!.actor, 'system:sip-edge');
    assert.equal(audit[0]!.outcome, 'success');
    assert.equal(audit[0]!.data.cause, 'bye');

    // The console reports the end afterwards: nothing changes, the same end time.
    const [row] = await a.sql<{
      ended_at: number;
    }>`SELECT ended_at FROM call_tickets WHERE request_id = ${chat1}`;
    const late = await desk.call(A, 'callEnd', {
      params: { requestId: chat1 },
      json: { fence: fence1, ticket },
    });
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.deepEqual(late.body, { ended: false, at: new Date(Number(row!.ended_at)).toISOString() });
    assert.equal((await desk.callEnds(chat1)).length, 1, 'no second audit row');

    for (const [id, fence] of [
      [chat1, fence1],
      [chat2, fence2],
    ] as const)
      assert.ok(
        (await desk.call(A, 'completeRequest', { params: { requestId: id }, json: { fence } })).status < 300,
      );
    agentLine.close();
    deviceLine.close();
  });

  it("a console that vanished mid-call (its SIP connection gone) frees the agent too; another agent's INVITE with the ticket ends nothing", async () => {
    const chat1 = await desk.ask();
    const fence1 = await desk.accept(A, chat1);
    const deviceLine = await registered(deviceSip);
    const agentLine = await registered(A.sip);
    const ticket = await desk.ticket(A, chat1, fence1);

    // A colleague's line carrying A's ticket: the edge relays it, but its end is not A's call's.
    const colleague = await registered(B.sip);
    const stolen = await liveCallAttempt(B, colleague, deviceLine, ticket);
    void colleague.request('BYE', `sip:device@${deviceLine.host};transport=ws`, [
      `To: <${deviceSip.aor}>;tag=devicetag`,
      `From: <${B.sip.aor}>;tag=agenttag`,
      `Call-ID: ${stolen}`,
    ]);
    await deviceLine.take((m) => m.startsWith('BYE ') && m.includes(stolen));

    await liveCall(A, agentLine, deviceLine, ticket);
    assert.equal(await desk.onCall(A), true, "the colleague's hang-up did not end A's call");
    const chat2 = await desk.ask();
    assert.equal(await desk.stateOf(A, chat2), 'waiting');

    // The console's process dies: its connection closes, the device gets a BYE, the call ends.
    agentLine.ws.terminate();
    await deviceLine.take((m) => m.startsWith('BYE '));
    const fence2 = await desk.accept(A, chat2);
    assert.equal(await desk.onCall(A), false);
    const audit = await desk.callEnds(chat1);
    assert.deepEqual(
      audit.map((r) => [r.actor, r.data.cause]),
      [['system:sip-edge', 'connection_lost']],
    );
    await until('both chats completed', async () => {
      for (const [id, fence] of [
        [chat1, fence1],
        [chat2, fence2],
      ] as const)
        await desk.call(A, 'completeRequest', { params: { requestId: id }, json: { fence } });
      return (await desk.stateOf(A, chat1)) === 'completed' && (await desk.stateOf(A, chat2)) === 'completed';
    });
    deviceLine.close();
  });

  /** `as` INVITEs the device with `ticket` and the device answers 200 OK (no proof): the Call-ID. */
  async function liveCallAttempt(as: Staff, caller: RawSip, callee: RawSip, ticket: string): Promise<string> {
    const callId = `other-${randomBytes(6).toString('hex')}`;
    const invite = (authz?: string) => [
      `To: <${deviceSip.aor}>`,
      `From: <${as.sip.aor}>;tag=agenttag`,
      `Call-ID: ${callId}`,
      `Contact: <sip:agent@${caller.host};transport=ws>`,
      `${CALL_TICKET_HEADER}: ${ticket}`,
      ...(authz ? [`Proxy-Authorization: ${authz}`] : []),
    ];
    const c407 = await caller.request('INVITE', deviceSip.aor, invite());
    const answered = caller.request(
      'INVITE',
      deviceSip.aor,
      invite(authorization(as.sip, 'INVITE', deviceSip.aor, nonceOf(c407)!, 1)),
    );
    const arrived = await callee.take((m) => m.startsWith('INVITE ') && m.includes(callId));
    callee.answerOk(arrived, `<${deviceSip.aor}>;tag=devicetag`);
    assert.equal(statusOf(await answered), 200);
    return callId;
  }
});
