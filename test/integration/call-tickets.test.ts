import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CompactSign, createRemoteJWKSet, jwtVerify } from 'jose';
import { CALL_PROOF_TYP, CALL_TICKET_TYP } from '../../protocol/src/index.ts';
import { ticketHash } from '../../authority/src/calls/call-tickets.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';

const proofFor = (d: TestDevice, ticket: string, iat: number) =>
  new CompactSign(new TextEncoder().encode(JSON.stringify({ tkt: ticketHash(ticket), iat })))
    .setProtectedHeader({ alg: 'ES256', typ: CALL_PROOF_TYP })
    .sign(d.privateKey);

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
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    agentToken = (await staffLogin(a.url, 'agent2', 'demo-agent-2')).token;
    await call(a.url, 'PUT', '/v1/agent/presence', {
      headers: bearer(agentToken),
      json: { state: 'available' },
    });
    request = (await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } })).body.request;
    const me = await call(a.url, 'GET', '/v1/agent/me', { headers: bearer(agentToken) });
    fence = me.body.offer.fence;
    assert.equal(me.body.offer.requestId, request.requestId);
  });
  after(() => a.dispose());

  it('is refused before the offer is accepted, and with a stale fence', async () => {
    const early = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
      headers: bearer(agentToken),
      json: { fence },
    });
    assert.equal(early.status, 409);
    assert.equal(
      (
        await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/accept`, {
          headers: bearer(agentToken),
          json: { fence },
        })
      ).status,
      200,
    );
    const stale = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
      headers: bearer(agentToken),
      json: { fence: fence + 1 },
    });
    assert.equal(stale.status, 409);
    const other = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const notMine = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
      headers: bearer(other.token),
      json: { fence },
    });
    assert.equal(notMine.status, 409);
  });

  it('the ticket verifies against the published JWKS and names the session, device, agent and fence', async () => {
    const t = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
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
      await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
        headers: bearer(agentToken),
        json: { fence },
      })
    ).body;
    const nowS = Math.floor(clock.now() / 1000);
    const thief = new TestDevice(a.url, () => clock.now());
    const forged = await d.call('POST', '/v1/device/call-proofs', {
      json: { ticket: t.ticket, proof: await proofFor(thief, t.ticket, nowS) },
    });
    assert.equal(forged.status, 401);
    const otherTicket = (
      await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
        headers: bearer(agentToken),
        json: { fence },
      })
    ).body;
    const wrongTicket = await d.call('POST', '/v1/device/call-proofs', {
      json: { ticket: t.ticket, proof: await proofFor(d, otherTicket.ticket, nowS) },
    });
    assert.equal(wrongTicket.status, 401);
    const ok = await d.call('POST', '/v1/device/call-proofs', {
      json: { ticket: t.ticket, proof: await proofFor(d, t.ticket, nowS) },
    });
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.requestId, request.requestId);
    let f;
    do f = await ws.next();
    while (f.type !== 'call.verified');
    assert.equal(f.requestId, request.requestId);
    const replay = await d.call('POST', '/v1/device/call-proofs', {
      json: { ticket: t.ticket, proof: await proofFor(d, t.ticket, nowS) },
    });
    assert.equal(replay.status, 401);
    clock.advance(61_000);
    const expired = await d.call('POST', '/v1/device/call-proofs', {
      json: {
        ticket: otherTicket.ticket,
        proof: await proofFor(d, otherTicket.ticket, Math.floor(clock.now() / 1000)),
      },
    });
    assert.equal(expired.status, 401);
    assert.match(expired.body.message, /expired/);
    ws.close();
  });
});
