import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WS_CLOSE } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';

const IDLE_S = 60;
const ABSOLUTE_S = 300;

describe('service sessions: unguessable ids, idle and absolute timeouts (RELIABILITY row 9)', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.now());
  let agentToken: string;
  let adminToken: string;
  const newDevice = async () => {
    const admin = adminToken;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    return new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
  };
  const open = async (d: TestDevice) => {
    const r = await d.api('openSession');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.sessionId as string;
  };
  /** Every way of using a session id: all must answer 401 once it is dead. */
  const allUses = async (d: TestDevice, id: string) => [
    (await d.api('getSession', { params: { sessionId: id } })).status,
    (await api(a.url, 'getSession', { params: { sessionId: id }, headers: bearer(agentToken) })).status,
    (await d.api('endSession', { params: { sessionId: id }, json: {} })).status,
  ];

  before(async () => {
    a = await startTestAuthority(
      {
        sessionIdleSeconds: IDLE_S,
        sessionAbsoluteSeconds: ABSOLUTE_S,
        authenticationTtlSeconds: 3600,
        accessTokenSeconds: 3600,
      },
      { clock },
    );
    adminToken = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agentToken = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
  });
  after(() => a.dispose());

  it('ids carry 256 random bits and never repeat', async () => {
    const d = await newDevice();
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) ids.add(await open(d));
    assert.equal(ids.size, 200);
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(id, 'base64url').length, 32);
    }
    // Bits look random: each of the 256 bit positions is set in roughly half of the ids.
    const counts = new Array(256).fill(0);
    for (const id of ids) {
      const b = Buffer.from(id, 'base64url');
      for (let i = 0; i < 256; i++) counts[i] += (b[i >> 3]! >> (i & 7)) & 1;
    }
    assert.ok(
      counts.every((c) => c > 50 && c < 150),
      'every bit varies',
    );
  });

  it('idle timeout holds to +-1 s: alive at idle-1 s, dead at idle+1 s; activity pushes it back', async () => {
    const d = await newDevice();
    const id = await open(d);
    clock.advance((IDLE_S - 1) * 1000);
    assert.equal((await d.api('getSession', { params: { sessionId: id } })).status, 200); // activity: idle restarts
    clock.advance((IDLE_S - 1) * 1000);
    assert.equal((await d.api('getSession', { params: { sessionId: id } })).status, 200);
    clock.advance((IDLE_S + 1) * 1000);
    assert.deepEqual(await allUses(d, id), [401, 401, 401]);
    clock.advance(IDLE_S * 1000 * 10);
    assert.deepEqual(await allUses(d, id), [401, 401, 401], 'still dead much later');
  });

  it('absolute lifetime holds to +-1 s even with constant activity', async () => {
    const d = await newDevice();
    const id = await open(d);
    let elapsed = 0;
    while (elapsed + 30 < ABSOLUTE_S - 1) {
      clock.advance(30_000);
      elapsed += 30;
      assert.equal((await d.api('getSession', { params: { sessionId: id } })).status, 200);
    }
    clock.advance((ABSOLUTE_S - 1 - elapsed) * 1000);
    const last = await d.api('getSession', { params: { sessionId: id } });
    assert.equal(last.status, 200);
    assert.equal(Date.parse(last.body.absoluteExpiresAt) - clock.now(), 1000);
    clock.advance(2000);
    assert.deepEqual(await allUses(d, id), [401, 401, 401]);
  });

  it('an ended session answers 401 everywhere, and its open sockets close (4001) promptly', async () => {
    const d = await newDevice();
    const id = await open(d);
    const sockets = await Promise.all([0, 1, 2].map(() => TestSocket.open(a.url)));
    for (const s of sockets) {
      s.send(await d.wsHello(id));
      assert.equal((await s.next()).type, 'welcome');
    }
    const t0 = performance.now();
    assert.equal(
      (await d.api('endSession', { params: { sessionId: id }, json: { reason: 'customer done' } })).status,
      200,
    );
    const closes = await Promise.all(sockets.map((s) => s.closed));
    console.log(
      `sockets closed after end: ${closes.map((c) => `${c.code} in ${(c.at - t0).toFixed(0)} ms`).join(', ')}`,
    );
    assert.ok(closes.every((c) => c.code === WS_CLOSE.sessionEnded));
    assert.ok(sockets.every((s) => s.frames.some((f) => f.type === 'session.ended' && f.reason === 'ended')));
    assert.deepEqual(await allUses(d, id), [401, 401, 401]);
    const late = await TestSocket.open(a.url);
    late.send(await d.wsHello(id));
    assert.equal((await late.closed).code, WS_CLOSE.unauthorized);
  });

  it('an expired session closes its sockets within the sweep (fake clock moved past idle)', async () => {
    const d = await newDevice();
    const id = await open(d);
    const s = await TestSocket.open(a.url);
    s.send(await d.wsHello(id));
    assert.equal((await s.next()).type, 'welcome');
    const t0 = performance.now();
    clock.advance((IDLE_S + 1) * 1000);
    const c = await s.closed;
    console.log(
      `socket closed ${(c.at - t0).toFixed(0)} ms after idle expiry (sweep every 200 ms; promise: within 1 s)`,
    );
    assert.equal(c.code, WS_CLOSE.sessionEnded);
    assert.ok(s.frames.some((f) => f.type === 'session.ended' && f.reason === 'idle_timeout'));
  });

  it('an admin ends any session; agents may not; the audit log records start and end', async () => {
    const d = await newDevice();
    const id = await open(d);
    const byAgent = await api(a.url, 'adminEndSession', {
      params: { sessionId: id },
      json: {},
      headers: bearer(agentToken),
    });
    assert.equal(byAgent.status, 403);
    const byAdmin = await api(a.url, 'adminEndSession', {
      params: { sessionId: id },
      json: { reason: 'fraud check' },
      headers: bearer(adminToken),
    });
    assert.equal(byAdmin.status, 200);
    assert.deepEqual(await allUses(d, id), [401, 401, 401]);
    const rows = await a.sql<{ action: string; reason: string | null }>`
      SELECT action, reason FROM audit_log WHERE subject = ${`session:${id.slice(0, 8)}`} ORDER BY seq`;
    assert.deepEqual(
      rows.map((r) => [r.action, r.reason]),
      [
        ['session.start', null],
        ['session.end', 'ended_by_admin'],
      ],
    );
  });
});
