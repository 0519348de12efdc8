/**
 * The customer SDK's IncomingCallGuard under Node's WebCrypto, with a local
 * "authority" key set: which tickets ring and which are blocked, and why.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { CALL_TICKET_TYP } from '../../protocol/src/index.ts';
import {
  IncomingCallGuard,
  screenInvitation,
  type BlockedCall,
  type InvitationLike,
} from '../../customer/sdk/index.ts';

const DEVICE = 'd'.repeat(43);
const SESSION = 's'.repeat(43);
const NOW = Date.parse('2026-03-02T10:00:00Z');

async function authority() {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'authority-key-1', alg: 'ES256', use: 'sig' };
  return { privateKey, jwks: createLocalJWKSet({ keys: [jwk] }) };
}

let jtiCounter = 0;
const claims = (over: Record<string, unknown> = {}) => ({
  iss: 'verified-desk',
  sid: SESSION,
  dev: DEVICE,
  rid: 'request-0000000001',
  agt: 'agent-00000000001',
  agn: 'Dana Reyes',
  org: 'Northwind Bank',
  fence: 3,
  jti: `ticket-${String(++jtiCounter).padStart(8, '0')}`,
  iat: Math.floor(NOW / 1000),
  exp: Math.floor(NOW / 1000) + 60,
  ...over,
});

const sign = (key: CryptoKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: CALL_TICKET_TYP, kid: 'authority-key-1', ...header })
    .sign(key);

async function setup(now = NOW) {
  const a = await authority();
  const proved: string[] = [];
  const guard = new IncomingCallGuard({
    keys: a.jwks,
    now: () => now,
    device: {
      deviceId: () => DEVICE,
      isLiveSession: (sid) => sid === SESSION,
      proveCall: async (ticket) => {
        proved.push(ticket);
        return {
          proof: 'proof',
          result: {
            verified: true,
            requestId: 'request-0000000001',
            sessionId: SESSION,
            at: new Date(now).toISOString(),
          },
        };
      },
    },
  });
  const blocked: BlockedCall[] = [];
  const rang: string[] = [];
  guard.on('blocked', (b) => blocked.push(b));
  guard.on('ringing', (c) => rang.push(c.agentName));
  return { ...a, guard, blocked, rang, proved };
}

describe('IncomingCallGuard: only a valid ticket for this device and one of its live sessions rings', () => {
  it('a valid ticket rings once with the company and agent name; the same ticket again is a replay', async () => {
    const s = await setup();
    const ticket = await sign(s.privateKey, claims());
    const first = await s.guard.screen(ticket);
    assert.equal(first.verdict, 'ring');
    assert.ok(first.verdict === 'ring');
    assert.equal(first.call.company, 'Northwind Bank');
    assert.equal(first.call.agentName, 'Dana Reyes');
    const again = await s.guard.screen(ticket);
    assert.ok(again.verdict === 'blocked');
    assert.equal(again.blocked.reason, 'replayed');
    assert.equal(again.blocked.at.getTime(), NOW, 'the block carries the time');
    assert.deepEqual(s.rang, ['Dana Reyes']);
    await s.guard.answer(first.call);
    assert.deepEqual(s.proved, [ticket], 'answering proves exactly that ticket');
  });

  it('two deliveries of one ticket at the same moment: exactly one rings', async () => {
    const s = await setup();
    const ticket = await sign(s.privateKey, claims());
    const results = await Promise.all([
      s.guard.screen(ticket),
      s.guard.screen(ticket),
      s.guard.screen(ticket),
    ]);
    assert.equal(results.filter((r) => r.verdict === 'ring').length, 1);
    assert.equal(s.blocked.length, 2);
  });

  const cases: [string, (s: Awaited<ReturnType<typeof setup>>) => Promise<string | null>, string][] = [
    ['no ticket', async () => null, 'missing'],
    ['not a JWS', async () => 'hello.world', 'malformed'],
    [
      'signed by another key with the authority kid',
      async () => sign((await generateKeyPair('ES256')).privateKey, claims()),
      'forged',
    ],
    [
      'signed by an unknown kid',
      async () => sign((await generateKeyPair('ES256')).privateKey, claims(), { kid: 'nope' }),
      'forged',
    ],
    [
      'signed with HS256',
      async () =>
        new SignJWT(claims())
          .setProtectedHeader({ alg: 'HS256', typ: CALL_TICKET_TYP })
          .sign(new Uint8Array(32)),
      'forged',
    ],
    [
      'expired (beyond 5 s of tolerance)',
      async (s) => sign(s.privateKey, claims({ exp: Math.floor(NOW / 1000) - 6 })),
      'expired',
    ],
    [
      'another JWT type (an access token)',
      async (s) => sign(s.privateKey, claims(), { typ: 'at+jwt' }),
      'wrong-type',
    ],
    ['another issuer', async (s) => sign(s.privateKey, claims({ iss: 'someone-else' })), 'forged'],
    [
      'claims outside the protocol (no agent name)',
      async (s) => sign(s.privateKey, claims({ agn: undefined })),
      'malformed',
    ],
    ['another device', async (s) => sign(s.privateKey, claims({ dev: 'x'.repeat(43) })), 'other-device'],
    [
      'a session that is not live on this device',
      async (s) => sign(s.privateKey, claims({ sid: 'z'.repeat(43) })),
      'other-session',
    ],
  ];
  for (const [name, make, reason] of cases) {
    it(`blocks ${name}: "${reason}"`, async () => {
      const s = await setup();
      const r = await s.guard.screen(await make(s));
      assert.ok(r.verdict === 'blocked', `rang: ${JSON.stringify(r)}`);
      assert.equal(r.blocked.reason, reason);
      assert.deepEqual(s.rang, []);
      assert.equal(s.blocked.length, 1);
      assert.ok(r.blocked.detail.length > 0);
    });
  }

  it('fails closed when the authority keys cannot be fetched', async () => {
    const guard = new IncomingCallGuard({
      keys: async () => {
        throw new TypeError('fetch failed');
      },
      device: {
        deviceId: () => DEVICE,
        isLiveSession: () => true,
        proveCall: () => Promise.reject(new Error('no')),
      },
    });
    const { privateKey } = await authority();
    const r = await guard.screen(
      await sign(
        privateKey,
        claims({ iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 60 }),
      ),
    );
    assert.ok(r.verdict === 'blocked');
    assert.equal(r.blocked.reason, 'unverifiable');
  });

  it('screenInvitation (for the sip.js delegate) rejects a blocked INVITE with 403 and leaves a verified one to ring', async () => {
    const s = await setup();
    const rejected: unknown[] = [];
    const invite = (ticket: string | undefined): InvitationLike => ({
      request: { getHeader: (name) => (name === 'X-VD-Call-Ticket' ? ticket : undefined) },
      reject: async (o) => {
        rejected.push(o);
      },
    });
    assert.equal((await screenInvitation(s.guard, invite(undefined))).verdict, 'blocked');
    assert.deepEqual(rejected, [{ statusCode: 403, reasonPhrase: 'Unverified call' }]);
    assert.equal(
      (await screenInvitation(s.guard, invite(await sign(s.privateKey, claims())))).verdict,
      'ring',
    );
    assert.equal(rejected.length, 1);
  });
});
