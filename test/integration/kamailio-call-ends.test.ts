/**
 * A chat escalated to a call ends at the authority when Kamailio sees its dialog end (issue
 * 18), without the console's report: Kamailio keeps the call ticket (X-VD-Call-Ticket) and
 * the authenticated caller of an INVITE's dialog, and its event_route[dialog:end] posts them
 * to the authority (POST /v1/sip/call-ends, the SIP server's secret). The ticket's call is
 * then recorded ended (call_tickets.ended_at, audited call.end by system:sip-server) and the
 * agent's waiting chat is offered: after the device's BYE, the console's BYE, and when the
 * console's connection is gone (Kamailio ends the dialog after CALL_GRACE, BYE to the device).
 *
 * The real Kamailio (deploy/kamailio/kamailio.cfg) with AUTHORITY_URL; raw SIP-over-WebSocket
 * clients play the console's and the device's softphones, registered with the credentials the
 * authority issues; the device proves the ticket over HTTP as the app does.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CALL_TICKET_HEADER } from '../../protocol/src/calls.ts';
import type { SipCredentials } from '../../protocol/src/sip.ts';
import { ChatCallDesk, type DeskAgent } from '../support/chat-call.ts';
import {
  incomingRequests,
  rawCall,
  rawInDialog,
  RawSipClient,
  rawRegister,
  sipHeader,
  startKamailio,
  type RawParty,
  type RunningKamailio,
} from '../support/kamailio.ts';
import { until } from '../support/wait.ts';

const SIP_SECRET = 'sip-secret-shared-by-the-authority-and-kamailio-01';
const SERVER_SECRET = 'sip-server-secret-for-the-kamailio-call-ends-test';
/** Seconds Kamailio waits for a party whose connection closed before it ends the call. */
const GRACE = 1;

describe('Kamailio tells the authority when an escalated call’s dialog ends', () => {
  let k: RunningKamailio;
  let desk: ChatCallDesk;
  let A: DeskAgent;
  let deviceSip: SipCredentials;
  let device: RawParty;
  const lines: RawSipClient[] = [];

  /** A softphone registered at Kamailio with the authority's credentials `creds`. */
  async function line(creds: SipCredentials): Promise<RawParty> {
    const client = await RawSipClient.open(k.wsUrl);
    lines.push(client);
    client.answerInvites = false;
    const reg = await rawRegister(client, creds);
    assert.equal(reg.reply?.status, 200, `${creds.user} registers at Kamailio`);
    return { client, user: creds.user, domain: creds.domain, creds };
  }

  before(async () => {
    desk = await ChatCallDesk.start({ sipSecret: SIP_SECRET, sipServerSecret: SERVER_SECRET });
    A = await desk.login('agent1', 'demo-agent-1');
    const B = await desk.login('agent2', 'demo-agent-2');
    await desk.call(B, 'setPresence', { json: { state: 'offline' } });
    await desk.call(A, 'setPresence', { json: { state: 'available' } });
    deviceSip = await desk.deviceSip();
    k = await startKamailio({
      secret: SIP_SECRET,
      domain: deviceSip.domain,
      defines: [`AUTHORITY_URL=${desk.a.url}`, `SIP_SERVER_SECRET=${SERVER_SECRET}`, `CALL_GRACE=${GRACE}`],
    });
    device = await line(deviceSip);
  });
  after(async () => {
    for (const c of lines) await c.close().catch(() => undefined);
    if (process.env.DEBUG_KAMAILIO) console.log(k?.log());
    await k?.stop();
    await desk?.dispose();
  });

  /**
   * A accepts a chat and calls its device through Kamailio with a call ticket; the device
   * answers and proves the ticket: the call is live, and a second chat waits.
   */
  async function escalated() {
    const chat = await desk.ask();
    const fence = await desk.accept(A, chat);
    const console_ = await line(A.sip);
    const ticket = await desk.ticket(A, chat, fence);
    const call = await rawCall(console_, device, [`${CALL_TICKET_HEADER}: ${ticket}`]);
    const invite = incomingRequests(device.client, 'INVITE', call.callId)[0]!;
    assert.equal(sipHeader(invite, CALL_TICKET_HEADER)[0], ticket, 'the device gets the ticket');
    await desk.prove(ticket);
    assert.equal(await desk.onCall(A), true);
    const waiting = await desk.ask();
    assert.equal(await desk.stateOf(A, waiting), 'waiting', 'on a call: no chat is offered');
    return { chat, fence, ticket, call, console_, waiting };
  }

  /** The one call.end row of `chat`: Kamailio's, with `cause`; the ticket's end recorded. */
  async function endedByKamailio(chat: string, callId: string, cause: string) {
    const audit = await desk.callEnds(chat);
    assert.deepEqual(
      audit.map((r) => [r.actor, r.outcome, r.data.cause, r.data.callId]),
      [['system:sip-server', 'success', cause, callId]],
    );
    const [endedAt] = await desk.ticketEnds(chat);
    assert.ok(endedAt, 'call_tickets.ended_at is set');
    return endedAt;
  }

  it("the device hangs up: its BYE through Kamailio frees the agent (the waiting chat is offered); the console's late report changes nothing", async () => {
    const { chat, fence, ticket, call, console_, waiting } = await escalated();
    const bye = await rawInDialog('BYE', call, { side: 'callee', party: device }, console_);
    assert.equal(bye?.status, 200, 'the console answers the BYE');
    // No call-ends report from the console: Kamailio's report frees the agent.
    const fence2 = await desk.accept(A, waiting);
    assert.equal(await desk.onCall(A), false);
    const endedAt = await endedByKamailio(chat, call.callId, 'bye');

    const late = await desk.call(A, 'callEnd', { params: { requestId: chat }, json: { fence, ticket } });
    assert.equal(late.status, 200, JSON.stringify(late.body));
    assert.deepEqual(late.body, { ended: false, at: new Date(endedAt).toISOString() });
    assert.equal((await desk.callEnds(chat)).length, 1, 'no second audit row');
    await desk.complete(A, [
      [chat, fence],
      [waiting, fence2],
    ]);
    await console_.client.close();
  });

  it('the console hangs up: its BYE frees the agent the same way', async () => {
    const { chat, fence, call, console_, waiting } = await escalated();
    const bye = await rawInDialog('BYE', call, { side: 'caller', party: console_ }, device);
    assert.equal(bye?.status, 200, 'the device answers the BYE');
    const fence2 = await desk.accept(A, waiting);
    assert.equal(await desk.onCall(A), false);
    await endedByKamailio(chat, call.callId, 'bye');
    await desk.complete(A, [
      [chat, fence],
      [waiting, fence2],
    ]);
    await console_.client.close();
  });

  it('the console vanishes mid-call (its connection gone): Kamailio ends the dialog after the grace and the agent is freed', async () => {
    const { chat, fence, call, console_, waiting } = await escalated();
    console_.client.ws.terminate();
    await until(
      'the device gets Kamailio’s BYE',
      () => incomingRequests(device.client, 'BYE', call.callId)[0],
      {
        timeoutMs: 15_000,
      },
    );
    const fence2 = await desk.accept(A, waiting, 15_000);
    assert.equal(await desk.onCall(A), false);
    await endedByKamailio(chat, call.callId, 'timeout');
    await desk.complete(A, [
      [chat, fence],
      [waiting, fence2],
    ]);
  });
});
