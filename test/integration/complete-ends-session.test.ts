/**
 * Issue 11 item 4: an agent's complete ends the request's service session in the same
 * unit of work as the completion (its audit row and `session.ended` event with it), so no
 * failure in between (a crash, a lost connection) leaves a completed request whose
 * session is still open. The failure is made by the database itself: a trigger refuses
 * to end that session. The complete then fails whole (the request stays assigned, the
 * session open) and a retry once the trigger is gone completes both. Both engines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

describe("complete: the request's session ends in the same unit", () => {
  let a: TestAuthority;

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 });
  });
  after(() => a?.dispose());

  /** The database refuses to end any service session (as if the unit failed there). */
  const refuseSessionEnds = async () => {
    if (a.engine === 'postgres') {
      await a.sql`CREATE FUNCTION vd_test_refuse_end() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL THEN
            RAISE EXCEPTION 'test: this session may not end';
          END IF;
          RETURN NEW;
        END $$`;
      await a.sql`CREATE TRIGGER vd_test_refuse_end BEFORE UPDATE ON service_sessions
        FOR EACH ROW EXECUTE FUNCTION vd_test_refuse_end()`;
    } else
      await a.sql`CREATE TRIGGER vd_test_refuse_end BEFORE UPDATE ON service_sessions
        WHEN NEW.ended_at IS NOT NULL AND OLD.ended_at IS NULL
        BEGIN SELECT RAISE(ABORT, 'test: this session may not end'); END`;
  };
  const allowSessionEnds = async () => {
    if (a.engine === 'postgres') await a.sql`DROP TRIGGER vd_test_refuse_end ON service_sessions`;
    else await a.sql`DROP TRIGGER vd_test_refuse_end`;
  };

  it('a complete whose session cannot end changes nothing; retried, it completes and ends the session', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const { requestId, sessionId } = q.body.request;
    const agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    const fence: number = av.body.offer.fence;
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));

    const state = async () => {
      const [r] = await a.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${requestId}`;
      const [s] = await a.sql<{ ended_at: number | string | null }>`SELECT ended_at FROM service_sessions
        WHERE id = ${sessionId}`;
      return { request: r?.state, sessionEnded: s?.ended_at !== null };
    };

    await refuseSessionEnds();
    try {
      const failed = await api(a.url, 'completeRequest', {
        params: { requestId },
        headers: bearer(agent.token),
        json: { fence },
      });
      assert.ok(failed.status >= 500, JSON.stringify(failed.body));
      // Nothing of the complete committed: not a completed request with an open session.
      assert.deepEqual(await state(), { request: 'assigned', sessionEnded: false });
    } finally {
      await allowSessionEnds();
    }

    const done = await api(a.url, 'completeRequest', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual(await state(), { request: 'completed', sessionEnded: true });
    const audit = await a.sql<{ action: string }>`SELECT action FROM audit_log
      WHERE action IN ('request.complete', 'session.end') ORDER BY seq`;
    assert.deepEqual(
      audit.map((x) => x.action),
      ['request.complete', 'session.end'],
    );
  });
});
