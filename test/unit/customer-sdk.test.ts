/**
 * The customer SDK's building blocks under Node's WebCrypto, with no server: the
 * device key, the per-request proofs the AuthorityClient adds, schema validation of
 * what goes out and comes back, the WebSocket feed's reconnect/backoff, and the IndexedDB-shaped store
 * (agent commands: device-commands.test.ts).
 */
import assert from 'node:assert/strict';
import { createPublicKey, verify } from 'node:crypto';
import { describe, it } from 'node:test';
import { calculateJwkThumbprint, compactVerify, importJWK } from 'jose';
import { DEVICE_PROOF_TYP, WS_CLOSE, type ServerFrame } from '../../protocol/src/index.ts';
import {
  AuthorityClient,
  AuthorityError,
  DeviceKey,
  MemoryStore,
  ProtocolError,
  RequestFeed,
  type WebSocketLike,
} from '../../customer/sdk/index.ts';
import { sha256b64url } from '../../customer/sdk/encoding.ts';

describe('DeviceKey (WebCrypto P-256)', () => {
  it('is non-extractable, its id is the RFC 7638 thumbprint, and it signs raw P1363 signatures', async () => {
    const key = await DeviceKey.generate();
    assert.equal(key.privateKey.extractable, false);
    await assert.rejects(crypto.subtle.exportKey('jwk', key.privateKey));
    const jwk = await key.publicJwk();
    assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y']);
    assert.equal(await key.thumbprint(), await calculateJwkThumbprint(jwk, 'sha256'));
    const sig = await key.signText('verified-desk/v1/enrol\nabc');
    assert.equal(sig.length, 86, '64 bytes r||s, base64url');
    const ok = verify(
      'sha256',
      Buffer.from('verified-desk/v1/enrol\nabc'),
      { key: createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
      Buffer.from(sig, 'base64url'),
    );
    assert.ok(ok, 'the authority (node:crypto, ieee-p1363) verifies it');
    assert.throws(() =>
      DeviceKey.fromStored({
        ...key.keyPair,
        privateKey: { ...key.privateKey, extractable: true } as CryptoKey,
      }),
    );
  });

  it('a stored key pair survives a structured clone (as IndexedDB stores it): the clone signs for the original', async () => {
    const key = await DeviceKey.generate();
    const store = new MemoryStore();
    await store.set('enrolment', structuredClone({ keyPair: key.keyPair }));
    const back = DeviceKey.fromStored((await store.get<{ keyPair: CryptoKeyPair }>('enrolment'))!.keyPair);
    assert.equal(back.privateKey.extractable, false, 'the clone stays non-extractable');
    /** Verified as the authority does (node:crypto, ieee-p1363) against a public key. */
    const verifies = async (publicOf: DeviceKey, message: string, sig: string) =>
      verify(
        'sha256',
        Buffer.from(message),
        {
          key: createPublicKey({ key: await publicOf.publicJwk(), format: 'jwk' }),
          dsaEncoding: 'ieee-p1363',
        },
        Buffer.from(sig, 'base64url'),
      );
    const m1 = 'verified-desk/v1/authenticate\nsigned by the clone';
    const byClone = await back.signText(m1);
    assert.ok(
      await verifies(key, m1, byClone),
      "the clone's signature verifies with the original's public key",
    );
    assert.ok(!(await verifies(key, `${m1}!`, byClone)), 'and only for the message it signed');
    const m2 = 'verified-desk/v1/authenticate\nsigned by the original';
    const byOriginal = await key.signText(m2);
    assert.ok(
      await verifies(back, m2, byOriginal),
      "the original's signature verifies with the clone's public key",
    );
    const stranger = await DeviceKey.generate();
    assert.ok(!(await verifies(stranger, m1, byClone)), "another key's public half does not verify it");
  });
});

/** A fetch that records requests and answers from a table. */
function fakeFetch(answer: (url: URL, init: RequestInit) => { status: number; body: unknown }) {
  const seen: { url: URL; init: RequestInit }[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    seen.push({ url, init: init ?? {} });
    const a = answer(url, init ?? {});
    return new Response(a.body === undefined ? '' : JSON.stringify(a.body), { status: a.status });
  }) as typeof fetch;
  return { f, seen };
}

const authView = {
  authenticationId: 'auth-000000000001',
  customerId: 'c_alice_martin_01',
  deviceId: 'd'.repeat(43),
  level: 2,
  factors: [{ kind: 'pin', at: '2026-03-02T10:00:00.000Z', deviceId: 'd'.repeat(43), detail: null }],
  createdAt: '2026-03-02T10:00:00.000Z',
  expiresAt: '2026-03-02T11:00:00.000Z',
};

describe('AuthorityClient', () => {
  it('signs every device request with a proof bound to method, path+query, time and token', async () => {
    const key = await DeviceKey.generate();
    const { f, seen } = fakeFetch(() => ({
      status: 200,
      body: { day: '2026-03-02', slotSeconds: 900, slots: [] },
    }));
    const now = Date.parse('2026-03-02T10:00:00Z');
    const client = new AuthorityClient({ baseUrl: 'http://authority.test/', fetch: f, now: () => now });
    client.credentials = { token: 'device-token-0000000001', key: key.privateKey };
    const out = await client.call('callbackSlots', {
      params: { requestId: 'request-0000000001' },
      query: { day: '2026-03-02' },
    });
    assert.equal(out.slotSeconds, 900);
    const { url, init } = seen[0]!;
    assert.equal(
      url.pathname + url.search,
      '/v1/device/requests/request-0000000001/callback-slots?day=2026-03-02',
    );
    const headers = init.headers as Record<string, string>;
    assert.equal(headers.authorization, 'Device device-token-0000000001');
    const pub = await importJWK({ ...(await key.publicJwk()), alg: 'ES256' }, 'ES256');
    const v = await compactVerify(headers['device-proof']!, pub);
    assert.equal(v.protectedHeader.typ, DEVICE_PROOF_TYP);
    const claims = JSON.parse(new TextDecoder().decode(v.payload));
    assert.equal(claims.htm, 'GET');
    assert.equal(claims.htu, '/v1/device/requests/request-0000000001/callback-slots?day=2026-03-02');
    assert.equal(claims.iat, now / 1000);
    assert.equal(claims.ath, await sha256b64url('device-token-0000000001'));
    assert.ok(claims.jti.length >= 16);
  });

  it('validates the input before sending and never sends a public request with credentials', async () => {
    const { f, seen } = fakeFetch(() => ({ status: 200, body: { ok: true } }));
    const client = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: f });
    client.credentials = { token: 'device-token-0000000001', key: (await DeviceKey.generate()).privateKey };
    await assert.rejects(client.call('setPin', { body: { pin: '12a4' } }), /PIN/);
    assert.equal(seen.length, 0, 'nothing left the device');
    const ch = fakeFetch(() => ({
      status: 201,
      body: {
        challengeId: 'challenge-000000001',
        nonce: 'nonce-000000000001',
        expiresAt: '2026-03-02T10:01:00.000Z',
      },
    }));
    const pub = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: ch.f });
    pub.credentials = client.credentials;
    await pub.call('challenge', { body: { purpose: 'enrol' } });
    assert.equal((ch.seen[0]!.init.headers as Record<string, string>).authorization, undefined);
  });

  it('refuses an answer outside the protocol and turns ApiError bodies into AuthorityError', async () => {
    const key = await DeviceKey.generate();
    const bad = fakeFetch(() => ({ status: 200, body: { ...authView, level: 7 } }));
    const c1 = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: bad.f });
    c1.credentials = { token: 'device-token-0000000001', key: key.privateKey };
    await assert.rejects(c1.call('pinFactor', { body: { pin: '1234' } }), ProtocolError);

    const locked = fakeFetch(() => ({
      status: 423,
      body: { code: 'locked', message: 'PIN locked', details: { retryAfterSeconds: 30 } },
    }));
    const c2 = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: locked.f });
    c2.credentials = c1.credentials;
    const e = await c2.call('pinFactor', { body: { pin: '1234' } }).catch((x: unknown) => x);
    assert.ok(e instanceof AuthorityError);
    assert.equal(e.status, 423);
    assert.equal(e.code, 'locked');
    assert.deepEqual(e.details, { retryAfterSeconds: 30 });

    const ok = fakeFetch(() => ({ status: 200, body: authView }));
    const c3 = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: ok.f });
    c3.credentials = c1.credentials;
    assert.equal((await c3.call('pinFactor', { body: { pin: '1234' } })).level, 2);
  });

  it('sends a photo as its own media type to ?purpose=', async () => {
    const key = await DeviceKey.generate();
    const { f, seen } = fakeFetch(() => ({
      status: 201,
      body: {
        photoId: 'photo-00000000001',
        purpose: 'enrolment',
        authentication: null,
        pendingComparison: false,
      },
    }));
    const client = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: f });
    client.credentials = { token: 'device-token-0000000001', key: key.privateKey };
    await client.call('photo', {
      query: { purpose: 'enrolment' },
      body: new Blob([new Uint8Array([0xff, 0xd8, 0xff])], { type: 'image/jpeg' }),
    });
    assert.equal(seen[0]!.url.search, '?purpose=enrolment');
    assert.equal((seen[0]!.init.headers as Record<string, string>)['content-type'], 'image/jpeg');
    assert.ok(seen[0]!.init.body instanceof Blob);
  });
});

/** A fake WebSocket the test drives by hand. */
class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: unknown[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  private sentWaiters: (() => void)[] = [];
  send(data: string) {
    this.sent.push(JSON.parse(data));
    for (const w of this.sentWaiters.splice(0)) w();
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame: ServerFrame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  /** The server side closes. */
  drop(code: number) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  nextSent(): Promise<void> {
    return new Promise((r) => this.sentWaiters.push(r));
  }
}

function feedHarness() {
  const sockets: FakeSocket[] = [];
  const waiters: ((s: FakeSocket) => void)[] = [];
  const frames: ServerFrame[] = [];
  const statuses: string[] = [];
  let hellos = 0;
  let unauthorized = 0;
  const feed = new RequestFeed({
    url: 'ws://authority.test/v1/ws',
    hello: async () => ({
      type: 'hello',
      auth: { kind: 'device', token: 'device-token-0000000001', proof: `proof-${++hellos}` },
    }),
    onFrame: (f) => frames.push(f),
    onStatus: (s) => statuses.push(s),
    onUnauthorized: async () => {
      unauthorized++;
    },
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      waiters.shift()?.(s);
      return s;
    },
    backoff: { initialMs: 1, maxMs: 8 },
    random: () => 1,
  });
  const nextSocket = () => new Promise<FakeSocket>((r) => waiters.push(r));
  return { feed, sockets, frames, statuses, nextSocket, counts: () => ({ hellos, unauthorized }) };
}

const welcome: ServerFrame = { type: 'welcome', connectionId: 'connection-000001', principal: 'device' };

describe('RequestFeed (live position over the WebSocket)', () => {
  it('backs off exponentially with jitter, capped', () => {
    const { feed } = feedHarness();
    const lows = new RequestFeed({
      url: 'ws://x',
      hello: async () => ({ type: 'ping', id: '1' }),
      onFrame: () => {},
      random: () => 0.5,
    });
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((n) => feed.delayFor(n)),
      [1, 2, 4, 8, 8, 8],
    );
    assert.deepEqual(
      [0, 1, 2].map((n) => lows.delayFor(n)),
      [250, 500, 1000],
      'full jitter: half the ceiling at random 0.5',
    );
    assert.equal(lows.delayFor(20), 15_000, 'the ceiling is capped at 30 s');
  });

  it('says hello with a fresh proof on each connection, reconnects after a drop, and stops for good when the session ends', async () => {
    const h = feedHarness();
    h.feed.start();
    const s1 = h.sockets[0]!;
    const hello1 = s1.nextSent();
    s1.open();
    await hello1;
    assert.deepEqual(s1.sent[0], {
      type: 'hello',
      auth: { kind: 'device', token: 'device-token-0000000001', proof: 'proof-1' },
    });
    s1.receive(welcome);
    assert.equal(h.feed.status, 'open');

    const second = h.nextSocket();
    s1.drop(1006);
    assert.equal(h.feed.status, 'reconnecting');
    const s2 = await second;
    const hello2 = s2.nextSent();
    s2.open();
    await hello2;
    assert.equal(
      (s2.sent[0] as { auth: { proof: string } }).auth.proof,
      'proof-2',
      'a proof is never reused',
    );
    s2.receive(welcome);
    assert.equal(h.feed.reconnects, 1);

    s2.receive({ type: 'session.ended', sessionId: 's'.repeat(43), reason: 'ended' });
    assert.equal(h.feed.status, 'closed');
    s2.drop(WS_CLOSE.sessionEnded);
    assert.equal(h.sockets.length, 2, 'no reconnect after the session ended');
    assert.deepEqual(h.statuses, ['open', 'reconnecting', 'open', 'closed']);
    assert.deepEqual(
      h.frames.map((f) => f.type),
      ['welcome', 'welcome', 'session.ended'],
    );
  });

  it('a refused hello (4401) asks the device to re-authenticate before the next attempt; frames outside the protocol are ignored', async () => {
    const h = feedHarness();
    h.feed.start();
    const s1 = h.sockets[0]!;
    s1.open();
    s1.onmessage?.({ data: '{"type":"request.update","request":{"nope":1}}' });
    s1.onmessage?.({ data: 'not json' });
    assert.deepEqual(h.frames, []);
    const second = h.nextSocket();
    s1.drop(WS_CLOSE.unauthorized);
    await second;
    assert.equal(h.counts().unauthorized, 1);
    h.feed.stop();
    assert.equal(h.feed.status, 'closed');
  });
});
