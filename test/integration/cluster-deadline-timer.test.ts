/**
 * Issue 12 item 3 across nodes: an expiry is run by whichever node is alive when its
 * deadline passes. Two nodes on one PostgreSQL database, the safety poll an hour away
 * (VD_SWEEP_POLL_SECONDS=3600), a 3 s accept window. The agent and the customer talk to
 * node 1, which makes the offer; node 1 is then SIGKILLed. Node 2 was already running
 * when the offer was made: its deadline timer (events/deadline-timer.ts) reads the nearest
 * deadline again when the bus wakes it (the outbox row's NOTIFY) and after each of its own
 * units (its heartbeat), fires, and the offer expires: the request waits again and the
 * agent is "missed", with nobody polling. Without node 2's timer the test fails (checked
 * by not starting it: the offer stays open for the hour of the safety poll).
 *
 * PostgreSQL only: skipped in the SQLite pass.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testEngine } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

const skip = testEngine() !== 'postgres' && 'nodes share one PostgreSQL database (VD_TEST_ENGINE=postgres)';

describe(
  'issue 12: the nearest deadline fires on another node when the node that set it dies',
  { skip },
  () => {
    let cluster: AuthorityCluster;

    before(async () => {
      cluster = new AuthorityCluster({
        dir: mkdtempSync(join(tmpdir(), 'vd-cluster-deadline-')),
        nodes: 2,
        env: {
          VD_OFFER_TIMEOUT_SECONDS: '3',
          VD_SWEEP_POLL_SECONDS: '3600',
          VD_AGENT_TIMEOUT_SECONDS: '3600',
          VD_ACCESS_TOKEN_SECONDS: '3600',
          VD_LOG_LEVEL: 'warn',
        },
      });
      await cluster.start();
    });
    after(async () => {
      await cluster?.stop();
    });

    it('an offer made on node 1 expires on node 2 after node 1 is killed: waiting again, the agent "missed"', async () => {
      const [n1, n2] = cluster.nodes;
      const admin = (await staffLogin(n1!.url, 'admin', 'demo-admin-1')).token;
      const agent = await staffLogin(n1!.url, 'agent1', 'demo-agent-1');
      const ready = await api(n1!.url, 'setPresence', {
        headers: bearer(agent.token),
        json: { state: 'available' },
      });
      assert.equal(ready.status, 200, JSON.stringify(ready.body));
      const code = await api(n1!.url, 'issueEnrolmentCode', {
        params: { customerId: 'c_bob_okafor_002' },
        headers: bearer(admin),
      });
      const d = await new TestDevice(n1!.url, () => Date.now()).enrolAndAuthenticate(code.body.code);
      const q = await d.api('createRequest', { json: { optionId: 'other' } });
      assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
      const requestId = q.body.request.requestId;
      const offered = await api(n1!.url, 'agentMe', { headers: bearer(agent.token) });
      assert.equal(offered.body.offer?.requestId, requestId, 'offered at once, by node 1');

      await n1!.kill();
      const missed = await until(
        'node 2 expired the offer',
        async () => {
          const m = await api(n2!.url, 'agentMe', { headers: bearer(agent.token) });
          return m.body.presence === 'missed' ? m.body : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.equal(missed.offer, null);
      const view = await api(n2!.url, 'getRequest', {
        params: { requestId },
        headers: bearer(agent.token),
      });
      assert.equal(view.status, 200, JSON.stringify(view.body));
      assert.equal(view.body.state, 'waiting', 'the request waits again');
    });
  },
);
