/**
 * The pipeline's repositories (requests and leases, agents and shifts, pipeline config)
 * on both engines. The request lifecycle test is driven by REQUEST_LIFECYCLE itself:
 * every legal transition applies (with its leases), every illegal one is refused before
 * anything is written, a stale fence or a wrong source state is refused, and of
 * concurrent accepts of one offer exactly one wins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import type { RequestState } from '../../protocol/src/index.ts';
import { IllegalTransition, REQUEST_LIFECYCLE, sourcesOf } from '../../protocol/src/lifecycles.ts';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data, Repos } from '../../authority/src/store/repos/index.ts';
import { bumpsFence, leaseKindOf, type RequestRow } from '../../authority/src/store/repos/requests.ts';
import { openTestData, testEngines } from '../support/store.ts';
import { until } from '../support/wait.ts';

const STATES = Object.keys(REQUEST_LIFECYCLE.transitions) as RequestState[];
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const AGENTS = ['st_agent_a', 'st_agent_b', 'st_agent_c'] as const;

let seq = 0;

for (const engine of testEngines()) {
  describe(`pipeline repositories on ${engine}`, () => {
    const clock = new FakeClock(T0);
    let h: { data: Data; store: Store; close: () => Promise<void> };
    const tx = <T>(fn: (r: Repos) => Promise<T>) => h.data.tx(fn);

    before(async () => {
      h = await openTestData(engine, clock);
      await h.store.tx(async (q) => {
        await q
          .insertInto('customers')
          .values({
            id: 'c_repo_test',
            display_name: 'Ada',
            created_at: T0,
            external_ref: null,
            updated_at: null,
            knowledge_locked_until: null,
            deactivated_at: null,
            deactivation_reason: null,
          })
          .execute();
        await q
          .insertInto('authentications')
          .values({
            id: 'au_1',
            customer_id: 'c_repo_test',
            device_id: null,
            level: 1,
            created_at: T0,
            expires_at: T0 + 86_400_000,
            setup_until: null,
          })
          .execute();
        for (const [i, id] of AGENTS.entries())
          await q
            .insertInto('staff')
            .values({
              id,
              username: id,
              display_name: `Agent ${'CBA'[i]}`,
              role: 'agent',
              password_hash: 'x',
              created_at: T0,
              disabled_at: null,
            })
            .execute();
        await q
          .insertInto('staff')
          .values({
            id: 'st_disabled',
            username: 'gone',
            display_name: 'Gone',
            role: 'agent',
            password_hash: 'x',
            created_at: T0,
            disabled_at: T0,
          })
          .execute();
      });
    });
    after(() => h?.close());

    /** A new waiting request (with its session), queue `queue`, priority `priority`. */
    async function newRequest(
      opts: { queue?: string; priority?: number; at?: number } = {},
    ): Promise<RequestRow> {
      const id = `rq_${engine}_${++seq}`;
      await h.store.tx((q) =>
        q
          .insertInto('service_sessions')
          .values({
            id: `se_${id}`,
            customer_id: 'c_repo_test',
            device_id: null,
            authentication_id: 'au_1',
            created_at: T0,
            last_activity_at: T0,
            absolute_expires_at: T0 + 86_400_000,
            ended_at: null,
            end_reason: null,
          })
          .execute(),
      );
      return await tx((r) =>
        r.requests.insert({
          id,
          session_id: `se_${id}`,
          customer_id: 'c_repo_test',
          device_id: 'dv_1',
          authentication_id: 'au_1',
          option_id: 'other',
          option_label: 'Other',
          queue_id: opts.queue ?? 'general',
          skills: '[]',
          required_level: 1,
          priority: opts.priority ?? 0,
          enqueued_at: opts.at ?? clock.now(),
          idempotency_key: null,
        }),
      );
    }

    /** What a legal move to `to` needs (a new holder, an offer's expiry, a slot). */
    function changeFor(from: RequestState, to: RequestState, holder: string | null) {
      return {
        ...(bumpsFence(from, to) && to !== 'waiting'
          ? { agentId: holder === AGENTS[1] ? AGENTS[2] : AGENTS[1] }
          : {}),
        ...(to === 'offered' ? { offerExpiresAt: clock.now() + 15_000 } : {}),
        ...(to === 'scheduled'
          ? { slot: { start: clock.now() + 3_600_000, end: clock.now() + 4_500_000 } }
          : {}),
        reason: `to_${to}`,
      };
    }

    /**
     * A request brought to `state` along legal moves. An agent holds one open offer at a
     * time (index requests_one_offer_per_agent): the offers earlier cases left open are
     * withdrawn first, as the pipeline would before offering those agents again.
     */
    async function inState(state: RequestState): Promise<RequestRow> {
      await h.store.tx((q) =>
        q
          .updateTable('requests')
          .set({ state: 'waiting', agent_id: null, offer_expires_at: null })
          .where('state', '=', 'offered')
          .execute(),
      );
      let row = await newRequest();
      const path: Record<RequestState, RequestState[]> = {
        waiting: [],
        offered: ['offered'],
        assigned: ['offered', 'assigned'],
        scheduled: ['scheduled'],
        completed: ['offered', 'assigned', 'completed'],
        abandoned: ['abandoned'],
      };
      for (const to of path[state]) {
        const from = row.state;
        row = (await tx((r) =>
          r.requests.transition(row.id, from, to, row.fence, changeFor(from, to, row.agent_id)),
        ))!;
        assert.ok(row, `${from} -> ${to} on the way to ${state}`);
      }
      assert.equal(row.state, state);
      return row;
    }

    describe('the request lifecycle (REQUEST_LIFECYCLE drives every case)', () => {
      for (const from of STATES)
        for (const to of STATES) {
          const legal = REQUEST_LIFECYCLE.transitions[from].includes(to);
          it(`${from} -> ${to}: ${legal ? 'applies' : 'refused as illegal'}`, async () => {
            const before = await inState(from);
            const change = changeFor(from, to, before.agent_id);
            if (!legal) {
              await assert.rejects(
                tx((r) => r.requests.transition(before.id, from, to, before.fence, change)),
                IllegalTransition,
              );
              assert.deepEqual(await h.data.read.requests.get(before.id), before, 'nothing written');
              return;
            }
            // A stale fence and a wrong source state are refused without a write.
            for (const stale of [before.fence - 1, before.fence + 1])
              assert.equal(
                await tx((r) => r.requests.transition(before.id, from, to, stale, change)),
                undefined,
              );
            for (const other of sourcesOf(REQUEST_LIFECYCLE, to).filter((s) => s !== from))
              assert.equal(
                await tx((r) =>
                  r.requests.transition(
                    before.id,
                    other,
                    to,
                    before.fence,
                    changeFor(other, to, before.agent_id),
                  ),
                ),
                undefined,
              );
            assert.deepEqual(
              await h.data.read.requests.get(before.id),
              before,
              'refused moves write nothing',
            );

            clock.advance(1000);
            const after = await tx((r) => r.requests.transition(before.id, from, to, before.fence, change));
            assert.ok(after);
            assert.equal(after.state, to);
            assert.deepEqual(await h.data.read.requests.get(before.id), after);
            const bump = bumpsFence(from, to);
            assert.equal(after.fence, before.fence + (bump ? 1 : 0));
            if (bump && to !== 'waiting') assert.equal(after.agent_id, change.agentId);
            if (to === 'waiting' || to === 'scheduled') assert.equal(after.agent_id, null);
            if (to === 'completed' || to === 'abandoned') {
              assert.equal(after.ended_at, clock.now());
              assert.equal(after.end_reason, `to_${to}`);
            }

            // Leases: the old holding ended at the instant the new one started; one open at most.
            const leases = await h.data.read.requests.leases(before.id);
            const open = leases.filter((l) => l.ended_at === null);
            assert.ok(open.length <= 1, `one open lease at most: ${JSON.stringify(leases)}`);
            const kindFrom = leaseKindOf(from);
            const kindTo = leaseKindOf(to);
            const moved = bump || kindFrom !== kindTo;
            if (kindFrom && moved) {
              const old = leases.find((l) => l.fence === before.fence && l.kind === kindFrom)!;
              assert.equal(old.ended_at, clock.now());
              assert.equal(old.end_reason, `to_${to}`);
            }
            if (kindTo) {
              assert.equal(open.length, 1);
              assert.deepEqual(
                { fence: open[0]!.fence, kind: open[0]!.kind, agent: open[0]!.agent_id },
                { fence: after.fence, kind: kindTo, agent: after.agent_id },
              );
              if (moved) assert.equal(open[0]!.started_at, clock.now());
            } else assert.equal(open.length, 0);
          });
        }

      it('an offer is accepted only by its holder and only while it lasts', async () => {
        const r0 = await inState('offered');
        const accept = (holder: string, at: number) =>
          tx((r) =>
            r.requests.transition(r0.id, 'offered', 'assigned', r0.fence, {
              holder,
              offerLiveAt: at,
              reason: 'accepted',
            }),
          );
        const other = r0.agent_id === AGENTS[0] ? AGENTS[1] : AGENTS[0];
        assert.equal(await accept(other, clock.now()), undefined, 'not the holder');
        assert.equal(await accept(r0.agent_id!, r0.offer_expires_at!), undefined, 'expired');
        const won = await accept(r0.agent_id!, clock.now());
        assert.equal(won?.state, 'assigned');
        assert.equal(won?.assigned_at, clock.now());
      });

      for (const n of [2, 20])
        it(`${n} concurrent accepts of one offer: exactly one wins, one assignment lease`, async () => {
          const r0 = await inState('offered');
          const results = await Promise.all(
            Array.from({ length: n }, () =>
              tx((r) =>
                r.requests.transition(r0.id, 'offered', 'assigned', r0.fence, {
                  holder: r0.agent_id!,
                  offerLiveAt: clock.now(),
                  reason: 'accepted',
                }),
              ),
            ),
          );
          assert.equal(results.filter((x) => x !== undefined).length, 1);
          const leases = await h.data.read.requests.leases(r0.id);
          assert.deepEqual(
            leases.map((l) => [l.fence, l.kind, l.ended_at === null]),
            [
              [r0.fence, 'offer', false],
              [r0.fence, 'assignment', true],
            ],
          );
        });

      it(`20 concurrent dispatchers offer one waiting request: exactly one offer, fence once bumped`, async () => {
        const r0 = await newRequest();
        const results = await Promise.all(
          AGENTS.flatMap((a) => Array.from({ length: 7 }, () => a)).map((agent) =>
            tx((r) =>
              r.requests.transition(r0.id, 'waiting', 'offered', r0.fence, {
                agentId: agent,
                offerExpiresAt: clock.now() + 15_000,
              }),
            ),
          ),
        );
        assert.equal(results.filter((x) => x !== undefined).length, 1);
        const now = (await h.data.read.requests.get(r0.id))!;
        assert.equal(now.fence, r0.fence + 1);
        assert.equal((await h.data.read.requests.leases(r0.id)).length, 1);
      });
    });

    describe('request reads', () => {
      it(
        'a unit reading a request another unit is changing waits for its commit and decides on the new row',
        { skip: engine === 'sqlite' && 'one writer: units never interleave' },
        async () => {
          const row = await inState('assigned');
          let changed!: () => void;
          const changing = new Promise<void>((ok) => (changed = ok));
          let readDone = false;
          // Unit A changes the request (the customer left) and commits only once unit B's
          // read is either done or waiting for A's row lock.
          const a = h.store.tx(async (t) => {
            await t.updateTable('requests').set({ state: 'abandoned' }).where('id', '=', row.id).execute();
            changed();
            await until('the other unit read, or waits for the row', async () => {
              if (readDone) return true;
              const w = await sql<{
                n: number;
              }>`SELECT count(*) AS n FROM pg_locks WHERE NOT granted`.execute(t);
              return w.rows[0]!.n > 0 || undefined;
            });
          });
          await changing;
          // Unit B (e.g. the agent's complete) reads the request to decide.
          const seen = await tx(async (r) => {
            const got = await r.requests.get(row.id);
            readDone = true;
            return got;
          });
          await a;
          assert.equal(
            seen?.state,
            'abandoned',
            'B decided on the committed change, not on the row before it',
          );
        },
      );

      it('get / bySession / byIdempotencyKey: found and not found', async () => {
        const r0 = await newRequest();
        assert.equal((await h.data.read.requests.get(r0.id))?.id, r0.id);
        assert.equal(await h.data.read.requests.get('rq_none'), undefined);
        assert.equal((await h.data.read.requests.bySession(r0.session_id))?.id, r0.id);
        assert.equal(await h.data.read.requests.bySession('se_none'), undefined);
        assert.equal(await h.data.read.requests.byIdempotencyKey('dv_1', 'nope'), undefined);
      });

      it('queue order, positions and counts: priority, then time, then id', async () => {
        const q = `order_${engine}`;
        const a = await newRequest({ queue: q, priority: 0, at: T0 });
        const b = await newRequest({ queue: q, priority: 5, at: T0 + 10 });
        const c = await newRequest({ queue: q, priority: 0, at: T0 - 10 });
        const waiting = await h.data.read.requests.waiting([q]);
        assert.deepEqual(
          waiting.map((r) => r.id),
          [b.id, c.id, a.id],
        );
        assert.deepEqual(
          await Promise.all([a, b, c].map((r) => h.data.read.requests.position(r))),
          [3, 1, 2],
        );
        assert.equal(await h.data.read.requests.countWaiting(q), 3);
        assert.deepEqual(
          (await h.data.read.requests.waiting([q], 1, 1)).map((r) => r.id),
          [c.id],
        );
        assert.deepEqual(await h.data.read.requests.waiting([]), []);
        const live = await h.data.read.requests.live([q]);
        assert.equal(live.length, 3);
      });

      it('offerOf / assignedTo / offeredAgentIds / expiredOffers / dueCallbacks', async () => {
        const r0 = await inState('offered');
        assert.equal((await h.data.read.requests.offerOf(r0.agent_id!))?.id !== undefined, true);
        assert.ok((await h.data.read.requests.offeredAgentIds()).has(r0.agent_id!));
        const expired = await h.data.read.requests.expiredOffers(r0.offer_expires_at!);
        assert.ok(expired.some((x) => x.id === r0.id));
        assert.ok(
          !(await h.data.read.requests.expiredOffers(r0.offer_expires_at! - 1)).some((x) => x.id === r0.id),
        );
        const s = await inState('scheduled');
        assert.ok((await h.data.read.requests.dueCallbacks(s.slot_start!)).some((x) => x.id === s.id));
        assert.ok(!(await h.data.read.requests.dueCallbacks(s.slot_start! - 1)).some((x) => x.id === s.id));
        const a = await inState('assigned');
        assert.equal((await h.data.read.requests.assignedTo(a.agent_id!))?.state, 'assigned');
        assert.equal(await h.data.read.requests.assignedTo('st_nobody'), undefined);
        // The agent's row with whether it holds an assigned request, in one read.
        await h.data.tx((r) => r.agents.ensure(a.agent_id!));
        const held = await h.data.read.agents.getHolding(a.agent_id!);
        assert.deepEqual(held, { row: await h.data.read.agents.get(a.agent_id!), holds: true });
        assert.equal(await h.data.read.agents.getHolding('st_nobody'), undefined);
      });

      it('the read handle refuses writes', async () => {
        await assert.rejects(h.data.read.requests.addHandleTime('general', 'voice', 10, clock.now()));
      });
    });

    describe('agents and shifts', () => {
      it('ensure makes the row once; presence keeps since and idle time while unchanged', async () => {
        const id = AGENTS[0];
        const a0 = await tx((r) => r.agents.ensure(id));
        assert.equal(a0.presence, 'offline');
        clock.advance(1000);
        assert.deepEqual(await tx((r) => r.agents.ensure(id)), a0);
        const t1 = clock.now();
        await tx((r) => r.agents.setPresence(id, 'available', null, null));
        let a = (await h.data.read.agents.get(id))!;
        assert.deepEqual([a.presence, a.since, a.idle_since], ['available', t1, t1]);
        clock.advance(1000);
        await tx((r) => r.agents.setPresence(id, 'available', 'again', null));
        a = (await h.data.read.agents.get(id))!;
        assert.deepEqual([a.since, a.idle_since, a.reason_code], [t1, t1, 'again']);
        await tx((r) => r.agents.setPresence(id, 'wrap_up', null, clock.now() + 5000));
        a = (await h.data.read.agents.get(id))!;
        assert.deepEqual(
          [a.presence, a.since, a.idle_since, a.wrap_up_until],
          ['wrap_up', clock.now(), null, clock.now() + 5000],
        );
        assert.deepEqual(await h.data.read.agents.wrapUpsEnded(clock.now() + 4999), []);
        assert.deepEqual(await h.data.read.agents.wrapUpsEnded(clock.now() + 5000), [id]);
        await tx((r) => r.agents.touch(id, clock.now()));
        assert.ok(!(await h.data.read.agents.silentSince(clock.now())).includes(id));
        assert.ok((await h.data.read.agents.silentSince(clock.now() + 1)).includes(id));
        assert.equal(await h.data.read.agents.get('st_nobody'), undefined);
      });

      it('active agents leave out disabled staff; profile and shifts', async () => {
        await tx(async (r) => {
          for (const id of [...AGENTS, 'st_disabled']) await r.agents.ensure(id);
          await r.agents.setProfile(AGENTS[1], '[{"skill":"fx","level":2}]', '["payments"]', null);
        });
        const active = await h.data.read.agents.active();
        assert.deepEqual(
          active.map((a) => a.staff_id),
          [AGENTS[2], AGENTS[1], AGENTS[0]],
        );
        assert.equal(active[1]!.queues, '["payments"]');
        assert.equal(await h.data.read.agents.staffExists('st_disabled'), true);
        assert.equal(await h.data.read.agents.staffExists('st_nobody'), false);

        const t = clock.now();
        await tx((r) =>
          r.agents.replaceShifts(AGENTS[1], [
            { start: t + 1000, end: t + 2000 },
            { start: t - 1000, end: t + 500 },
            { start: t + 5000, end: t + 4000 },
          ]),
        );
        assert.deepEqual(await h.data.read.agents.shifts(AGENTS[1]), [
          { start: t - 1000, end: t + 500 },
          { start: t + 1000, end: t + 2000 },
        ]);
        const on = await h.data.read.agents.onShift([AGENTS[0], AGENTS[1]], t + 700);
        assert.deepEqual(
          [...on],
          [
            [AGENTS[0], true],
            [AGENTS[1], false],
          ],
        );
        assert.equal((await h.data.read.agents.onShift([AGENTS[1]], t)).get(AGENTS[1]), true);
        await tx((r) => r.agents.replaceShifts(AGENTS[1], []));
        assert.deepEqual(await h.data.read.agents.shifts(AGENTS[1]), []);
      });
    });

    describe('pipeline config', () => {
      it('save inserts, then replaces; a save without a file hash keeps the stored hash', async () => {
        assert.equal(await h.data.read.pipelineConfig.get(), undefined);
        await tx((r) => r.pipelineConfig.save('{"a":1}', 'file.json', 'h1'));
        assert.deepEqual(
          { ...(await h.data.read.pipelineConfig.get())!, updated_at: 0 },
          { id: 1, json: '{"a":1}', source: 'file.json', file_hash: 'h1', updated_at: 0 },
        );
        await tx((r) => r.pipelineConfig.save('{"a":2}', 'admin', null));
        const row = (await h.data.read.pipelineConfig.get())!;
        assert.deepEqual([row.json, row.source, row.file_hash], ['{"a":2}', 'admin', 'h1']);
      });
    });
  });
}
