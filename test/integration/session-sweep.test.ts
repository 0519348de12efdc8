/**
 * Issue 12 item 3: session expiry is a database-wide sweep any node may run
 * (ServiceSessions.sweepExpired), not only of the sessions whose sockets a node holds.
 * Two sessions pass their absolute lifetime: one whose device has a socket on node 1,
 * one nobody is connected to. Both nodes sweep at once (and their timers too): each
 * session ends once (one audit row, one `session.ended` event), its request is abandoned,
 * and the socket on node 1 gets "session.ended" and closes, once. On PostgreSQL the two
 * nodes share one database; on SQLite one node sweeps twice at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WS_CLOSE } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

describe('session expiry: a database-wide sweep any node may run', () => {
  const clock = new FakeClock(Date.now());
  let n1: TestAuthority;
  let n2: TestAuthority;

  before(async () => {
    const config = { accessTokenSeconds: 3600, sessionAbsoluteSeconds: 60, sessionIdleSeconds: 60 };
    n1 = await startTestAuthority(config, { clock });
    n2 = n1.engine === 'postgres' ? await startTestAuthority(config, { clock, shareDatabaseOf: n1 }) : n1;
  });
  after(async () => {
    if (n2 !== n1) await n2?.dispose();
    await n1?.dispose();
  });

  it('two sessions past their lifetime (one with a socket on node 1, one with none) end once each, everywhere', async () => {
    const admin = (await staffLogin(n1.url, 'admin', 'demo-admin-1')).token;
    const open = async (customerId: string) => {
      const code = await api(n1.url, 'issueEnrolmentCode', {
        params: { customerId },
        headers: bearer(admin),
      });
      const d = await new TestDevice(n1.url).enrolAndAuthenticate(code.body.code);
      const q = await d.api('createRequest', { json: { optionId: 'other' } });
      assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
      return {
        d,
        requestId: q.body.request.requestId as string,
        sessionId: q.body.request.sessionId as string,
      };
    };
    const connected = await open('c_alice_martin_01');
    const alone = await open('c_bob_okafor_002');
    const socket = await TestSocket.open(n1.url);
    let endedFrames = 0;
    socket.ws.on('message', (data) => {
      if (JSON.parse(String(data)).type === 'session.ended') endedFrames++;
    });
    socket.send(await connected.d.wsHello(connected.sessionId));
    assert.equal((await socket.next()).type, 'welcome');
    const log = new FrameLog(socket);

    clock.advance(61_000);
    await Promise.all([n1.services.sessions.sweepExpired(), n2.services.sessions.sweepExpired()]);

    const ended = await log.take((x) => x.type === 'session.ended' && x.sessionId === connected.sessionId);
    assert.equal(ended.reason, 'absolute_timeout');
    assert.equal((await socket.closed).code, WS_CLOSE.sessionEnded);
    for (const s of [connected, alone]) {
      const [row] = await n2.sql<{ end_reason: string | null }>`SELECT end_reason FROM service_sessions
        WHERE id = ${s.sessionId}`;
      assert.equal(row?.end_reason, 'absolute_timeout');
      // Its request abandoned (the session.ended consumer, on whichever node).
      await until(`request ${s.requestId} abandoned`, async () => {
        const [r] = await n2.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${s.requestId}`;
        return r?.state === 'abandoned';
      });
    }
    await n1.services.ctx.events.settled();
    await n2.services.ctx.events.settled();
    // Once each, though both nodes (and their timers) swept at once.
    for (const s of [connected, alone]) {
      const audit = await n2.sql<{ n: number | string }>`SELECT count(*) AS n FROM audit_log
        WHERE action = 'session.end' AND subject = ${`session:${s.sessionId.slice(0, 8)}`}`;
      assert.equal(Number(audit[0]!.n), 1, 'one session.end audit row');
    }
    const events = await n2.sql<{
      payload: string | { sessionId: string };
    }>`SELECT payload FROM outbox WHERE topic = 'session.ended'`;
    for (const s of [connected, alone])
      assert.equal(
        events.filter(
          (e) =>
            (typeof e.payload === 'string' ? (JSON.parse(e.payload) as { sessionId: string }) : e.payload)
              .sessionId === s.sessionId,
        ).length,
        1,
        'one session.ended event',
      );
    assert.equal(endedFrames, 1, 'the socket was told once');
  });
});
