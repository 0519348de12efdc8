import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { CALL_TICKET_TYP } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';

describe('call tickets and the device proof that binds voice to the verified device', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let agentToken: string;
  let d: TestDevice;
  let request: { requestId: string; sessionId: string };
  let fence: number;

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    agentToken = (await staffLogin(a.url, 'agent2', 'demo-agent-2')).token;
    await api(a.url, 'setPresence', { headers: bearer(agentToken), json: { state: 'available' } });
    request = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request;
    const me = await api(a.url, 'agentMe', { headers: bearer(agentToken) });
    fence = me.body.offer.fence;
    assert.equal(me.body.offer.requestId, request.requestId);
  });
  after(() => a.dispose());

  it('is refused before the offer is accepted, and with a stale fence', async () => {
    const early = await api(a.url, 'callTicket', {
      params: { requestId: request.requestId },
      headers: bearer(agentToken),
      json: { fence },
    });
    assert.equal(early.status, 409);
    assert.equal(
      (
        await api(a.url, 'acceptOffer', {
          params: { requestId: request.requestId },
          headers: bearer(agentToken),
          json: { fence },
        })
      ).status,
      200,
    );
    const stale = await api(a.url, 'callTicket', {
      params: { requestId: request.requestId },
      headers: bearer(agentToken),
      json: { fence: fence + 1 },
    });
    assert.equal(stale.status, 409);
    const other = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const notMine = await api(a.url, 'callTicket', {
      params: { requestId: request.requestId },
      headers: bearer(other.token),
      json: { fence },
    });
    assert.equal(notMine.status, 409);
  });

  it('the ticket verifies against the published JWKS and names the session, device, agent and fence', async () => {
    const t = await api(a.url, 'callTicket', {
      params: { requestId: request.requestId },
      headers: bearer(agentToken),
      json: { fence },
    });
    assert.equal(t.status, 201);
    const jwks = createRemoteJWKSet(new URL(`${a.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(t.body.ticket, jwks, {
      typ: CALL_TICKET_TYP,
      currentDate: new Date(clock.now()),
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.equal(payload.sid, request.sessionId);
    assert.equal(payload.dev, d.deviceId);
    assert.equal(payload.agn, 'Sam Patel');
    assert.equal(payload.org, 'Northwind Bank');
    assert.equal(payload.fence, fence);
    assert.equal((payload.exp as number) - (payload.iat as number), 60);
  });

  it('the device proof is accepted once, reaches the agent live, and forged or replayed proofs are refused', async () => {
    const ws = await TestSocket.open(a.url);
    ws.send({ type: 'hello', auth: { kind: 'staff', accessToken: agentToken } });
    assert.equal((await ws.next()).type, 'welcome');
    const t = (
      await api(a.url, 'callTicket', {
        params: { requestId: request.requestId },
        headers: bearer(agentToken),
        json: { fence },
      })
    ).body;
    const nowS = Math.floor(clock.now() / 1000);
    const thief = new TestDevice(a.url, () => clock.now());
    const forged = await d.api('callProof', {
      json: { ticket: t.ticket, proof: await thief.ticketProof(t.ticket, nowS) },
    });
    assert.equal(forged.status, 401);
    const otherTicket = (
      await api(a.url, 'callTicket', {
        params: { requestId: request.requestId },
        headers: bearer(agentToken),
        json: { fence },
      })
    ).body;
    const wrongTicket = await d.api('callProof', {
      json: { ticket: t.ticket, proof: await d.ticketProof(otherTicket.ticket, nowS) },
    });
    assert.equal(wrongTicket.status, 401);
    const ok = await d.api('callProof', {
      json: { ticket: t.ticket, proof: await d.ticketProof(t.ticket, nowS) },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.requestId, request.requestId);
    let f;
    do f = await ws.next();
    while (f.type !== 'call.verified');
    assert.equal(f.requestId, request.requestId);
    const replay = await d.api('callProof', {
      json: { ticket: t.ticket, proof: await d.ticketProof(t.ticket, nowS) },
    });
    assert.equal(replay.status, 401);
    clock.advance(61_000);
    const expired = await d.api('callProof', {
      json: {
        ticket: otherTicket.ticket,
        proof: await d.ticketProof(otherTicket.ticket, Math.floor(clock.now() / 1000)),
      },
    });
    assert.equal(expired.status, 401);
    assert.match(expired.body.message, /expired/);
    ws.close();
  });
});

/**
 * A call ticket is bound to the holder and fencing number of its issue: once ownership
 * moves (blind transfer, supervisor take-over), the previous holder's tickets prove
 * nothing, on the console's report (call-answers) and on the device's own POST
 * (call-proofs) alike, and the new holder's panel shows voice only from their own call.
 */
describe('a call ticket proves voice only for the holder and fencing number it was issued under', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  type Who = { token: string; staffId: string };
  let A: Who;
  let B: Who;
  let S: Who;

  const staffApi = <K extends RouteId>(who: Who, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(who.token), name, opts);
  const nowS = () => Math.floor(clock.now() / 1000);
  const ticketOf = async (who: Who, requestId: string, fence: number): Promise<string> => {
    const t = await staffApi(who, 'callTicket', { params: { requestId }, json: { fence } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    return t.body.ticket;
  };
  const voiceOf = async (who: Who, requestId: string) => {
    const p = await staffApi(who, 'customerPanel', { params: { requestId } });
    assert.equal(p.status, 200, JSON.stringify(p.body));
    return p.body.voice.verified as boolean;
  };
  const failures = (requestId: string, action: string) =>
    a.sql<{ actor: string; reason: string }>`
      SELECT actor, reason FROM audit_log
      WHERE subject = ${`request:${requestId}`} AND action = ${action} AND outcome = 'failure' ORDER BY seq`;

  /** A new device of Alice queues; A (the only agent available) accepts it and is issued a ticket. */
  async function heldByA(): Promise<{ d: TestDevice; requestId: string; fenceA: number }> {
    for (const who of [B, S]) await staffApi(who, 'setPresence', { json: { state: 'offline' } });
    assert.equal((await staffApi(A, 'setPresence', { json: { state: 'available' } })).status, 200);
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const requestId = q.body.request.requestId;
    const me = await staffApi(A, 'agentMe');
    assert.equal(me.body.offer?.requestId, requestId, JSON.stringify(me.body));
    const fenceA = me.body.offer.fence;
    const acc = await staffApi(A, 'acceptOffer', { params: { requestId }, json: { fence: fenceA } });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    return { d, requestId, fenceA };
  }

  /** Both routes refuse `ticket` (issued to A under fenceA): 409 stale_fence, audited, voice not proven. */
  async function oldTicketRefused(d: TestDevice, requestId: string, fenceA: number, ticket: string) {
    const answerFailuresBefore = (await failures(requestId, 'call.answer')).length;
    const proofFailuresBefore = (await failures(requestId, 'call.proof')).length;
    const byConsole = await staffApi(A, 'callAnswer', {
      params: { requestId },
      json: {
        fence: fenceA,
        ticket,
        proof: await d.ticketProof(ticket, nowS()),
      },
    });
    assert.equal(byConsole.status, 409, JSON.stringify(byConsole.body));
    assert.equal(byConsole.body.code, 'stale_fence');
    assert.match(byConsole.body.message, /fencing number/);
    const byDevice = await d.api('callProof', {
      json: { ticket, proof: await d.ticketProof(ticket, nowS()) },
    });
    assert.equal(byDevice.status, 409, JSON.stringify(byDevice.body));
    assert.equal(byDevice.body.code, 'stale_fence');
    assert.match(byDevice.body.message, /fencing number/);
    const answers = (await failures(requestId, 'call.answer')).slice(answerFailuresBefore);
    assert.equal(answers.length, 1, 'the console’s report is audited as a failure');
    assert.equal(answers[0]!.actor, `staff:${A.staffId}`);
    assert.match(answers[0]!.reason, /fencing number/);
    const proofs = (await failures(requestId, 'call.proof')).slice(proofFailuresBefore);
    assert.equal(proofs.length, 1, 'the device’s proof is audited as a failure');
    assert.equal(proofs[0]!.actor, `device:${d.deviceId}`);
    assert.match(proofs[0]!.reason, /fencing number/);
  }

  /** The new holder's own ticket still proves voice, and their panel says so. */
  async function newHolderProves(d: TestDevice, holder: Who, requestId: string, fence: number) {
    const ticket = await ticketOf(holder, requestId, fence);
    const ok = await d.api('callProof', { json: { ticket, proof: await d.ticketProof(ticket, nowS()) } });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(await voiceOf(holder, requestId), true);
  }

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0, offerTimeoutSeconds: 60 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    A = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    B = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    S = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
  });
  after(() => a.dispose());

  it('after a blind transfer, the old holder’s ticket is refused on both routes and B’s voice stays unproven', async () => {
    const { d, requestId, fenceA } = await heldByA();
    const ticketA = await ticketOf(A, requestId, fenceA);
    assert.equal((await staffApi(B, 'setPresence', { json: { state: 'available' } })).status, 200);
    const t = await staffApi(A, 'transfer', {
      params: { requestId },
      json: {
        fence: fenceA,
        mode: 'blind',
        target: { kind: 'agent', staffId: B.staffId },
      },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const offer = (await staffApi(B, 'agentMe')).body.offer;
    assert.equal(offer?.requestId, requestId);
    assert.ok(offer.fence > fenceA);
    const acc = await staffApi(B, 'acceptOffer', { params: { requestId }, json: { fence: offer.fence } });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));

    await oldTicketRefused(d, requestId, fenceA, ticketA);
    assert.equal(await voiceOf(B, requestId), false, 'an old ticket does not prove voice for B');
    await newHolderProves(d, B, requestId, offer.fence);
  });

  it('after a supervisor take-over, the old holder’s ticket is refused and the voice A proved does not carry over', async () => {
    const { d, requestId, fenceA } = await heldByA();
    // A's call was answered and proven before the take-over: A's panel shows it.
    const answered = await ticketOf(A, requestId, fenceA);
    const proven = await d.api('callProof', {
      json: { ticket: answered, proof: await d.ticketProof(answered, nowS()) },
    });
    assert.equal(proven.status, 201, JSON.stringify(proven.body));
    assert.equal(await voiceOf(A, requestId), true);
    const ticketA = await ticketOf(A, requestId, fenceA);
    const t = await staffApi(S, 'takeOver', { params: { requestId }, json: { fence: fenceA } });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.ok(t.body.fence > fenceA);

    await oldTicketRefused(d, requestId, fenceA, ticketA);
    assert.equal(await voiceOf(S, requestId), false, 'voice proven on A’s call is not the supervisor’s call');
    await newHolderProves(d, S, requestId, t.body.fence);
  });
});
