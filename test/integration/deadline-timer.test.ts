/**
 * Issue 12 item 3: expiry sweeps are woken by a timer for the nearest stored deadline
 * (events/deadline-timer.ts, `DeadlinesRepo.next`), not only by the safety poll. The
 * safety poll is set to an hour here (`sweepPollSeconds`): an offer with a 3 s accept
 * window still goes back to the queue on its own, the agent to "missed". Real clock;
 * both engines.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

describe('expiry sweeps woken at the nearest deadline, with the safety poll an hour away', () => {
  let a: TestAuthority;
  let admin: string;

  before(async () => {
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      offerTimeoutSeconds: 3,
      sweepPollSeconds: 3600,
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(() => a.dispose());

  it('an offer nobody accepts expires after its window: the request waits again, the agent is "missed"', async () => {
    const s = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const ready = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } });
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => Date.now()).enrolAndAuthenticate(code.body.code);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
    assert.equal(me.body.offer?.requestId, q.body.request.requestId, 'offered at once');
    const after = await until(
      'the offer expired',
      async () => {
        const m = await api(a.url, 'agentMe', { headers: bearer(s.token) });
        return m.body.presence === 'missed' ? m.body : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.equal(after.offer, null);
    const row = await a.services.ctx.data.read.requests.get(q.body.request.requestId);
    assert.equal(row?.state, 'waiting');
  });
});
