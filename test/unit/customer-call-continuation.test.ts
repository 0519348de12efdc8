/**
 * The customer SDK's continuation rule (CallContinuation) with calls the real
 * IncomingCallGuard verified (tickets signed by a local "authority" key): after the
 * far end hung up because the request moved, only a ticket for the same request, the
 * same session and a higher fence continues the call without ringing; anything else
 * rings; a customer who hung up, or a request that ended, gets no auto-answer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, createLocalJWKSet, type JWK } from 'jose';
import { CALL_TICKET_TYP, RequestView } from '../../protocol/src/index.ts';
import {
  CallContinuation,
  IncomingCallGuard,
  type ContinuationEnd,
  type VerifiedCall,
} from '../../customer/sdk/index.ts';

const DEVICE = 'd'.repeat(43);
const SESSION = 's'.repeat(43);
const OTHER_SESSION = 't'.repeat(43);
const REQUEST = 'request-0000000001';
const NOW = Date.parse('2026-03-02T10:00:00Z');

let jti = 0;
async function setup(graceMs = 5_000) {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  const guard = new IncomingCallGuard({
    keys: createLocalJWKSet({ keys: [jwk] }),
    now: () => NOW,
    device: {
      deviceId: () => DEVICE,
      isLiveSession: (sid) => sid === SESSION || sid === OTHER_SESSION,
      proveCall: () => Promise.reject(new Error('not used')),
    },
  });
  /** A call the guard let ring, from `agn` at `fence`. */
  const call = async (over: { fence: number; agn?: string; rid?: string; sid?: string }) => {
    const ticket = await new SignJWT({
      iss: 'verified-desk',
      sid: over.sid ?? SESSION,
      dev: DEVICE,
      rid: over.rid ?? REQUEST,
      agt: 'agent-00000000001',
      agn: over.agn ?? 'Dana Reyes',
      org: 'Northwind Bank',
      fence: over.fence,
      jti: `ticket-${String(++jti).padStart(8, '0')}`,
      iat: Math.floor(NOW / 1000),
      exp: Math.floor(NOW / 1000) + 60,
    })
      .setProtectedHeader({ alg: 'ES256', typ: CALL_TICKET_TYP, kid: 'k1' })
      .sign(privateKey);
    const r = await guard.screen(ticket);
    assert.equal(r.verdict, 'ring');
    return (r as { call: VerifiedCall }).call;
  };
  let request: RequestView | null = view(3, 'assigned', 'Dana Reyes');
  const continuation = new CallContinuation({ request: () => request, graceMs });
  const ended: ContinuationEnd[] = [];
  continuation.on('ended', (e) => ended.push(e.reason));
  /** The feed shows a new view of the request. */
  const feed = (r: RequestView | null) => {
    request = r;
    continuation.requestChanged(r);
  };
  return { call, continuation, feed, ended };
}

function view(fence: number, state: RequestView['state'], agentName: string | null): RequestView {
  return RequestView.parse({
    requestId: REQUEST,
    sessionId: SESSION,
    customerId: 'c_bob_okafor_002',
    customerName: 'Bob Okafor',
    queueId: 'general',
    optionId: 'other',
    optionLabel: 'Something else',
    level: 2,
    priority: 0,
    state,
    enqueuedAt: new Date(NOW).toISOString(),
    position: null,
    estimatedWaitSeconds: null,
    callback: { mode: 'keep_place', window: null },
    fence,
    agentId: agentName ? 'agent-00000000002' : null,
    offerExpiresAt: null,
    agentName,
  });
}

describe('CallContinuation: the new holder continues the call, nothing else does', () => {
  it('a remote hang-up after the request moved: continuing with the next agent; only same request + session + higher fence is admitted', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(4, 'offered', 'Sam Patel')); // the transfer: offered to Sam under a higher fence
    s.continuation.callEnded(dana, 'remote', 'transferred');
    assert.equal(s.continuation.current?.phase, 'continuing');
    assert.equal(s.continuation.current?.toAgent, 'Sam Patel');
    assert.equal(s.continuation.current?.fromAgent, 'Dana Reyes');
    s.feed(view(5, 'assigned', 'Sam Patel'));

    assert.equal(s.continuation.admits(await s.call({ fence: 5, rid: 'request-0000000002' })), false);
    assert.equal(s.continuation.admits(await s.call({ fence: 5, sid: OTHER_SESSION })), false);
    assert.equal(s.continuation.admits(await s.call({ fence: 3 })), false, 'same fence: the old holder');
    assert.equal(s.continuation.admits(await s.call({ fence: 2 })), false, 'lower fence');
    assert.equal(s.continuation.admits(await s.call({ fence: 5, agn: 'Sam Patel' })), true);
    s.continuation.stop('resumed');
    assert.equal(s.continuation.admits(await s.call({ fence: 6, agn: 'Sam Patel' })), false);
    assert.deepEqual(s.ended, ['resumed']);
  });

  it('the customer hung up: no continuing state, the next call rings', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(4, 'offered', 'Sam Patel'));
    s.continuation.callEnded(dana, 'local');
    assert.equal(s.continuation.current, null);
    assert.equal(s.continuation.admits(await s.call({ fence: 5, agn: 'Sam Patel' })), false);
  });

  it('a missed (never answered) call does not start it', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(4, 'offered', 'Sam Patel'));
    s.continuation.callEnded(dana, 'cancelled');
    assert.equal(s.continuation.admits(await s.call({ fence: 5 })), false);
  });

  it('the customer ends the continuing state with Hang up: the next call rings', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(4, 'waiting', null)); // transferred back to a queue
    s.continuation.callEnded(dana, 'remote');
    assert.equal(s.continuation.current?.toAgent, null);
    s.continuation.stop('customer');
    assert.equal(s.continuation.admits(await s.call({ fence: 5 })), false);
    assert.deepEqual(s.ended, ['customer']);
  });

  it('the request ends: the continuing state ends and nothing is admitted', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(4, 'offered', 'Sam Patel'));
    s.continuation.callEnded(dana, 'remote');
    s.feed(view(4, 'abandoned', null));
    assert.equal(s.continuation.current, null);
    assert.equal(s.continuation.admits(await s.call({ fence: 5 })), false);
    assert.deepEqual(s.ended, ['request-ended']);
  });

  it('a hang-up of a request that is already over does not start it', async () => {
    const s = await setup();
    const dana = await s.call({ fence: 3 });
    s.feed(view(3, 'completed', 'Dana Reyes'));
    s.continuation.callEnded(dana, 'remote');
    assert.equal(s.continuation.current, null);
  });

  it('the BYE before the feed: pending, confirmed by the move; an agent who just hung up is an ordinary end', async () => {
    const s = await setup(30);
    const dana = await s.call({ fence: 3 });
    // The old console's Reason header: kept as wording, it decides nothing.
    s.continuation.callEnded(dana, 'remote', 'SIP;cause=200;text="transferred"');
    assert.equal(s.continuation.current?.phase, 'pending');
    assert.equal(s.continuation.current?.hint, 'transferred');
    assert.equal(s.continuation.current?.toAgent, null);
    s.feed(view(4, 'offered', 'Sam Patel'));
    assert.equal(s.continuation.current?.phase, 'continuing');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(s.continuation.current?.phase, 'continuing', 'a confirmed state does not lapse');

    const t = await setup(30);
    const dana2 = await t.call({ fence: 3 });
    t.continuation.callEnded(dana2, 'remote', 'SIP;cause=200;text="transferred"');
    await new Promise((r) => setTimeout(r, 60));
    assert.equal(t.continuation.current, null);
    assert.deepEqual(t.ended, ['not-moved']);
    assert.equal(t.continuation.admits(await t.call({ fence: 3 })), false, 'Dana calls again: it rings');
  });
});
