/**
 * Issue 12, coordination: an agent holds at most one open offer, however many dispatches
 * run at once. On PostgreSQL several units run concurrently (the pipeline's timer, every
 * presence change and every new request dispatch, on every node): two dispatches that
 * both read "Morgan is free" before either commits must not both offer Morgan a
 * customer. The database holds the rule (a partial unique index on offered requests per
 * agent); dispatches never wait for each other (a try-lock per queue, agent rows locked
 * with SKIP LOCKED) and what one passes over it tries again, so nothing is left waiting
 * beside a free agent. On PostgreSQL the race also runs on two nodes of one database,
 * and a queue whose dispatch lock is held elsewhere does not hold up the other queues.
 * Rounds: VD_DISPATCH_ROUNDS (default 4).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LOCK_CLASS_DISPATCH_QUEUE } from '../../authority/src/store/schema-migrations.ts';
import { startTestAuthority, testDatabaseFor, testEngine, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

const ROUNDS = Number(process.env.VD_DISPATCH_ROUNDS ?? 4);
const CUSTOMERS = ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'];

describe('dispatch under concurrency: one open offer per agent', () => {
  let a: TestAuthority;
  /** PostgreSQL: a second node on the same database (its timer and dispatches race too) */
  let b: TestAuthority | undefined;
  let admin: string;
  const devices: TestDevice[] = [];
  const staff: { token: string; staffId: string }[] = [];

  before(async () => {
    const config = { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 };
    a = await startTestAuthority(config);
    if (a.engine === 'postgres') b = await startTestAuthority(config, { shareDatabaseOf: a });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    for (let i = 0; i < 6; i++) {
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: CUSTOMERS[i % CUSTOMERS.length]! },
        headers: bearer(admin),
      });
      devices.push(await new TestDevice(a.url).enrolAndAuthenticate(code.body.code));
    }
    // Both work every queue of "other" all day (agent2's shift depends on the hour).
    for (const [u, p] of [
      ['agent1', 'demo-agent-1'],
      ['supervisor', 'demo-supervisor'],
    ] as const)
      staff.push(await staffLogin(a.url, u, p));
  });
  after(async () => {
    await b?.dispose();
    await a?.dispose();
  });

  it('a dispatch while nothing waits runs no unit of work (this node runs its passes one at a time: an empty one held up the next)', async () => {
    const data = a.services.ctx.data;
    const tx = data.tx.bind(data);
    let dispatchUnits = 0;
    data.tx = ((fn) => {
      if (new Error().stack?.includes('dispatchPass')) dispatchUnits++;
      return tx(fn);
    }) as typeof data.tx;
    try {
      await until(
        'nothing waiting',
        async () => (await a.sql`SELECT id FROM requests WHERE state = 'waiting'`).length === 0,
      );
      const offered = await Promise.all([1, 2, 3].map(() => a.services.pipeline.dispatch()));
      assert.deepEqual(offered, [0, 0, 0]);
      assert.equal(dispatchUnits, 0, 'units of work of three dispatches with nothing waiting');
      // The same count sees a dispatch with a request waiting (nobody is available: no offer).
      const r = await devices[0]!.api('createRequest', { json: { optionId: 'other' } });
      await a.services.pipeline.dispatch();
      assert.ok(dispatchUnits > 0, 'a dispatch with a request waiting runs its unit');
      await a.services.pipeline.abandon(r.body.request.requestId, 'test');
    } finally {
      data.tx = tx;
    }
  });

  it('six customers wait, two agents become available while dispatches race: each agent gets one offer', async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const ids: string[] = [];
      for (const d of devices) {
        const r = await d.api('createRequest', { json: { optionId: 'other' } });
        assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
        ids.push(r.body.request.requestId);
      }
      // Every presence change dispatches; so do the extra dispatches (the timer's, another node's).
      const presences = staff.map((s) =>
        api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } }),
      );
      const extra = Array.from({ length: 6 }, (_, i) => (i % 2 && b ? b : a).services.pipeline.dispatch());
      for (const r of await Promise.all(presences)) assert.equal(r.status, 200, JSON.stringify(r.body));
      await Promise.all(extra);
      const offers = await a.sql<{ agent_id: string; n: number | string }>`
        SELECT agent_id, count(*) AS n FROM requests WHERE state = 'offered' GROUP BY agent_id ORDER BY agent_id`;
      assert.deepEqual(
        offers.map((o) => [o.agent_id, Number(o.n)]),
        staff.map((s) => [s.staffId, 1]).sort(),
        `round ${round}: one offer per agent, none left without one`,
      );
      // Each agent's console shows the offer it holds.
      for (const s of staff) {
        const me = await api(a.url, 'agentMe', { headers: bearer(s.token) });
        assert.ok(ids.includes(me.body.offer?.requestId), JSON.stringify(me.body));
      }
      for (const s of staff) {
        const r = await api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'offline' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const id of ids) await a.services.pipeline.abandon(id, 'test');
    }
  });

  it(
    "a queue's dispatch held by another unit: the other queues are dispatched meanwhile, that one after it",
    {
      skip: testEngine() === 'postgres' ? false : 'PostgreSQL only: SQLite runs one unit at a time',
    },
    async () => {
      // agent1 works cards, payments and general; the supervisor too (and business).
      const pinned: TestDevice[] = [];
      for (const customerId of ['c_alice_martin_01', 'c_bob_okafor_002']) {
        const code = await api(a.url, 'issueEnrolmentCode', {
          params: { customerId },
          headers: bearer(admin),
        });
        const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
        assert.equal((await d.api('setPin', { json: { pin: '135790' } })).status, 200);
        assert.equal((await d.api('pinFactor', { json: { pin: '135790' } })).status, 200);
        pinned.push(d);
      }
      const general = await pinned[0]!.api('createRequest', { json: { optionId: 'other' } });
      const payments = await pinned[1]!.api('createRequest', { json: { optionId: 'payment-failed' } });
      for (const q of [general, payments]) assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
      const offerOf = async (requestId: string) =>
        (await a.sql<{ state: string }>`SELECT state FROM requests WHERE id = ${requestId}`)[0]?.state;

      // Another unit (as a node mid-dispatch) holds the general queue's turn.
      const holder = new pg.Client({ connectionString: await testDatabaseFor(a.dataDir) });
      await holder.connect();
      try {
        await holder.query('BEGIN');
        await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
          LOCK_CLASS_DISPATCH_QUEUE,
          'general',
        ]);
        const presences = staff.map((s) =>
          api(a.url, 'setPresence', { headers: bearer(s.token), json: { state: 'available' } }),
        );
        // The payments request is offered while general's turn is held: nobody waited for it.
        await until(
          'the payments request offered',
          async () => (await offerOf(payments.body.request.requestId)) === 'offered',
        );
        assert.equal(await offerOf(general.body.request.requestId), 'waiting');
        await holder.query('COMMIT');
        // Whoever passed general over tries again: it is offered to the other agent.
        for (const r of await Promise.all(presences)) assert.equal(r.status, 200, JSON.stringify(r.body));
        await until(
          'the general request offered',
          async () => (await offerOf(general.body.request.requestId)) === 'offered',
        );
        const offers = await a.sql<{
          agent_id: string;
        }>`SELECT agent_id FROM requests WHERE state = 'offered' ORDER BY agent_id`;
        assert.deepEqual(
          offers.map((o) => o.agent_id),
          staff.map((s) => s.staffId).sort(),
        );
      } finally {
        await holder.end();
      }
    },
  );
});
