/**
 * The transfers and custody repositories on each engine (VD_TEST_ENGINES): every state
 * change of a transfer goes through TRANSFER_LIFECYCLE's guarded transition (the table
 * drives the test: every legal pair moves, every illegal pair is refused with nothing
 * written), ownership moves bump the fence and hand the lease and custody row over at one
 * instant, and of concurrent accepts of one warm transfer exactly one wins.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IllegalTransition, TRANSFER_LIFECYCLE } from '../../protocol/src/lifecycles.ts';
import type { TransferState } from '../../protocol/src/transfers.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import type { NewTransfer } from '../../authority/src/store/repos/transfers.ts';
import { openTestData, testEngines } from '../support/store.ts';

const STATES = Object.keys(TRANSFER_LIFECYCLE.transitions) as TransferState[];
const T0 = Date.parse('2026-03-02T09:00:00.000Z');

for (const engine of testEngines()) {
  describe(`transfers and custody repositories on ${engine}`, () => {
    let h: { data: Data; store: Store; close: () => Promise<void> };
    let now = T0;
    let n = 0;
    const clock = { now: () => now };

    before(async () => {
      h = await openTestData(engine, clock);
      await h.store.tx(async (t) => {
        await t
          .insertInto('customers')
          .values({ id: 'c1', display_name: 'Customer', created_at: T0 })
          .execute();
        await t
          .insertInto('authentications')
          .values({
            id: 'au1',
            customer_id: 'c1',
            device_id: null,
            level: 1,
            created_at: T0,
            expires_at: T0 + 3_600_000,
          })
          .execute();
        for (const [id, role] of [
          ['A', 'agent'],
          ['B', 'agent'],
          ['S', 'supervisor'],
          ['X', 'agent'],
        ] as const)
          await t
            .insertInto('staff')
            .values({
              id,
              username: id.toLowerCase(),
              display_name: `Staff ${id}`,
              role,
              password_hash: 'x',
              created_at: T0,
              disabled_at: id === 'X' ? T0 : null,
            })
            .execute();
        await t.insertInto('agents').values({ staff_id: 'B', since: T0, presence: 'available' }).execute();
      });
    });
    after(() => h.close());

    /** A request assigned to `agent` under fence 1 (lease and custody open since T0). */
    async function assignedRequest(agent = 'A'): Promise<string> {
      const id = `rq${++n}`;
      await h.store.tx(async (t) => {
        await t
          .insertInto('service_sessions')
          .values({
            id: `ss${n}`,
            customer_id: 'c1',
            device_id: null,
            authentication_id: 'au1',
            created_at: T0,
            last_activity_at: T0,
            absolute_expires_at: T0 + 3_600_000,
          })
          .execute();
        await t
          .insertInto('requests')
          .values({
            id,
            session_id: `ss${n}`,
            customer_id: 'c1',
            device_id: null,
            authentication_id: 'au1',
            option_id: 'o',
            option_label: 'O',
            queue_id: 'general',
            required_level: 0,
            priority: 0,
            enqueued_at: T0,
            state: 'assigned',
            fence: 1,
            agent_id: agent,
            assigned_at: T0,
          })
          .execute();
        await t
          .insertInto('leases')
          .values({ request_id: id, fence: 1, kind: 'assignment', agent_id: agent, started_at: T0 })
          .execute();
      });
      // No transfer to this fence: the holding opens as 'accepted' (checked by the custody lists below).
      await h.data.tx((r) => r.custody.openForOffer(id, agent, 1, T0));
      return id;
    }

    const consult = (requestId: string, state: TransferState = 'offered', extra: Partial<NewTransfer> = {}) =>
      ({
        id: `tr${++n}`,
        request_id: requestId,
        kind: 'transfer',
        mode: 'warm',
        by_staff: 'A',
        from_staff: 'A',
        target_kind: 'agent',
        target_staff: 'B',
        target_queue: null,
        state,
        note: null,
        from_fence: 1,
        to_fence: null,
        created_at: now,
        expires_at: now + 30_000,
        resolved_at: null,
        ...extra,
      }) satisfies NewTransfer;

    /** A transfer row in any state (written around the repository, to start the table from every state). */
    async function transferIn(state: TransferState, requestId: string): Promise<string> {
      const row = consult(requestId, state);
      await h.store.tx((t) => t.insertInto('transfers').values(row).execute());
      return row.id;
    }

    it('reads: found and not found', async () => {
      const rq = await assignedRequest();
      const row = consult(rq);
      const created = await h.data.tx((r) => r.transfers.insert(row));
      assert.equal(created.state, 'offered');
      assert.deepEqual(await h.data.read.transfers.get(row.id), created);
      assert.equal(await h.data.read.transfers.get('nope'), undefined);
      assert.deepEqual(await h.data.read.transfers.staff('S'), {
        id: 'S',
        display_name: 'Staff S',
        role: 'supervisor',
        disabled_at: null,
      });
      assert.equal(await h.data.read.transfers.staff('nobody'), undefined);
      assert.equal(await h.data.read.transfers.presenceOf('B'), 'available');
      assert.equal(await h.data.read.transfers.presenceOf('A'), 'offline', 'no agent row: offline');
      assert.equal(await h.data.read.transfers.anyOpen(), true);
      assert.equal(await h.data.read.transfers.considering('B', now), true);
      assert.equal(
        await h.data.read.transfers.considering('B', now + 30_000),
        false,
        'expired at its expiry',
      );
      assert.deepEqual(
        (await h.data.read.transfers.openOf('B')).map((t) => t.id),
        [row.id],
      );
      assert.deepEqual(
        (await h.data.read.transfers.openOf('A')).map((t) => t.id),
        [row.id],
      );
      assert.deepEqual(await h.data.read.transfers.openOf('S'), []);
      assert.deepEqual(await h.data.read.custody.request('nope'), undefined);
      assert.deepEqual(await h.data.read.custody.holding('A'), {
        assigned: true,
        offered: false,
        voice: 1,
        chat: 0,
        chatCalls: 0,
      });
      assert.deepEqual(await h.data.read.custody.holding('S'), {
        assigned: false,
        offered: false,
        voice: 0,
        chat: 0,
        chatCalls: 0,
      });
      await h.data.tx((r) => r.transfers.cancelOpen(rq));
    });

    it('a transfer is created only in an initial state of TRANSFER_LIFECYCLE', async () => {
      const rq = await assignedRequest();
      for (const state of STATES) {
        const row = consult(rq, state);
        if (TRANSFER_LIFECYCLE.initial.includes(state)) {
          assert.equal((await h.data.tx((r) => r.transfers.insert(row))).state, state);
        } else {
          await assert.rejects(
            h.data.tx((r) => r.transfers.insert(row)),
            IllegalTransition,
            `created in ${state}`,
          );
          assert.equal(await h.data.read.transfers.get(row.id), undefined, `nothing written for ${state}`);
        }
      }
    });

    it('every transition of TRANSFER_LIFECYCLE moves; every other pair is refused with nothing written', async () => {
      const rq = await assignedRequest();
      let legal = 0;
      let illegal = 0;
      for (const from of STATES)
        for (const to of STATES) {
          const id = await transferIn(from, rq);
          const before = await h.data.read.transfers.get(id);
          now += 1000;
          if (TRANSFER_LIFECYCLE.transitions[from].includes(to)) {
            legal++;
            const moved = await h.data.tx((r) => r.transfers.transition(id, from, to, { toFence: 7 }));
            assert.equal(moved?.state, to, `${from} -> ${to}`);
            assert.equal(moved.resolved_at, now);
            assert.equal(moved.to_fence, 7);
            // the guard: the row is no longer in `from`, so the same transition again changes nothing
            assert.equal(await h.data.tx((r) => r.transfers.transition(id, from, to)), undefined);
          } else {
            illegal++;
            await assert.rejects(
              h.data.tx((r) => r.transfers.transition(id, from, to)),
              (e: unknown) => e instanceof IllegalTransition && e.from === from && e.to === to,
              `${from} -> ${to} must be refused`,
            );
            assert.deepEqual(await h.data.read.transfers.get(id), before, `${from} -> ${to} wrote nothing`);
          }
        }
      assert.equal(legal + illegal, STATES.length ** 2);
      assert.equal(legal, 4);
      console.log(`# ${engine}: ${legal} legal and ${illegal} illegal transfer transitions checked`);
    });

    it('a legal transition from a state the row is not in changes nothing', async () => {
      const rq = await assignedRequest();
      const id = await transferIn('declined', rq);
      assert.equal(await h.data.tx((r) => r.transfers.transition(id, 'offered', 'accepted')), undefined);
      assert.equal((await h.data.read.transfers.get(id))?.state, 'declined');
      assert.equal(await h.data.tx((r) => r.transfers.transition('nope', 'offered', 'accepted')), undefined);
    });

    it('sweeps: expired consults expire, consults of a request that moved on are cancelled', async () => {
      const rq = await assignedRequest();
      const live = await h.data.tx((r) => r.transfers.insert(consult(rq)));
      const due = await h.data.tx((r) => r.transfers.insert(consult(rq, 'offered', { expires_at: now - 1 })));
      const stale = await h.data.tx((r) => r.transfers.insert(consult(rq, 'offered', { from_fence: 0 })));
      const mine = <T extends { request_id: string }>(rows: T[]) => rows.filter((t) => t.request_id === rq);
      const expired = mine(await h.data.tx((r) => r.transfers.expireDue(now)));
      assert.deepEqual(
        expired.map((t) => [t.id, t.state, t.resolved_at]),
        [[due.id, 'expired', now]],
      );
      const orphans = mine(await h.data.tx((r) => r.transfers.cancelOrphans(now)));
      assert.deepEqual(
        orphans.map((t) => [t.id, t.state]),
        [[stale.id, 'cancelled']],
      );
      assert.equal((await h.data.read.transfers.get(live.id))?.state, 'offered');
      const voided = await h.data.tx((r) => r.transfers.cancelOpen(rq, now));
      assert.deepEqual(
        voided.map((t) => t.id),
        [live.id],
      );
      assert.deepEqual(await h.data.tx((r) => r.transfers.cancelOpen(rq, now)), []);
    });

    it('an ownership move: new fence, the old lease and custody end at the instant the new ones start', async () => {
      const rq = await assignedRequest('A');
      now += 5000;
      const at = now;
      const fence = await h.data.tx((r) =>
        r.custody.move({
          requestId: rq,
          from: { state: 'assigned', fence: 1, agentId: 'A' },
          to: 'assigned',
          agentId: 'S',
          how: 'taken_over',
          reason: 'taken_over',
          at,
        }),
      );
      assert.equal(fence, 2);
      const req = await h.data.read.custody.request(rq);
      assert.deepEqual([req?.state, req?.fence, req?.agent_id, req?.assigned_at], ['assigned', 2, 'S', T0]);
      const leases = await h.store.db
        .selectFrom('leases')
        .selectAll()
        .where('request_id', '=', rq)
        .orderBy('fence')
        .execute();
      assert.deepEqual(
        leases.map((l) => [l.fence, l.kind, l.agent_id, l.started_at, l.ended_at, l.end_reason]),
        [
          [1, 'assignment', 'A', T0, at, 'taken_over'],
          [2, 'assignment', 'S', at, null, null],
        ],
      );
      const chain = await h.data.read.custody.list(rq);
      assert.deepEqual(
        chain.map((c) => [
          c.staff_id,
          c.display_name,
          c.role,
          c.fence,
          c.how,
          c.from_at,
          c.until_at,
          c.end_reason,
          c.level,
        ]),
        [
          ['A', 'Staff A', 'agent', 1, 'accepted', T0, at, 'taken_over', 1],
          ['S', 'Staff S', 'supervisor', 2, 'taken_over', at, null, null, 1],
        ],
      );
      // The old fence (or holder) is stale now: the same move again changes nothing.
      const again = await h.data.tx((r) =>
        r.custody.move({
          requestId: rq,
          from: { state: 'assigned', fence: 1, agentId: 'A' },
          to: 'assigned',
          agentId: 'B',
          how: 'taken_over',
          reason: 'taken_over',
          at,
        }),
      );
      assert.equal(again, undefined);
      // To an agent's offer, then to a queue: each a new fence; a queue move holds no lease.
      const offered = await h.data.tx((r) =>
        r.custody.move({
          requestId: rq,
          from: { state: 'assigned', fence: 2, agentId: 'S' },
          to: 'offered',
          agentId: 'B',
          offerExpiresAt: at + 20_000,
          reason: 'reassigned',
          at,
        }),
      );
      assert.equal(offered, 3);
      await h.data.tx((r) =>
        r.transfers.insert(
          consult(rq, 'completed', { kind: 'reassign', mode: 'blind', to_fence: 3, resolved_at: at }),
        ),
      );
      // Accepting that offer opens the holding as 'reassigned' (the transfer to its fence), read by the insert itself.
      await h.data.tx((r) => r.custody.openForOffer(rq, 'B', 3, at));
      assert.deepEqual(
        (await h.data.read.custody.list(rq)).filter((c) => c.fence === 3).map((c) => [c.staff_id, c.how]),
        [['B', 'reassigned']],
      );
      await h.data.tx((r) => r.custody.close(rq, 3, 'test', at));
      assert.deepEqual(await h.data.read.custody.holding('B'), {
        assigned: false,
        offered: true,
        voice: 0,
        chat: 0,
        chatCalls: 0,
      });
      const waiting = await h.data.tx((r) =>
        r.custody.move({
          requestId: rq,
          from: { state: 'offered', fence: 3, agentId: 'B' },
          to: 'waiting',
          queueId: 'business',
          reason: 'transferred',
          at,
        }),
      );
      assert.equal(waiting, 4);
      const w = await h.data.read.custody.request(rq);
      assert.deepEqual([w?.state, w?.agent_id, w?.queue_id], ['waiting', null, 'business']);
      const open = await h.store.db
        .selectFrom('leases')
        .select('fence')
        .where('request_id', '=', rq)
        .where('ended_at', 'is', null)
        .execute();
      assert.deepEqual(open, [], 'no lease is open while it waits');
      assert.equal(await h.data.tx((r) => r.custody.close(rq, 2, 'again', at)), false, 'closed once');
    });

    it('an ownership move the request lifecycle does not allow is refused with nothing written', async () => {
      const rq = await assignedRequest('A');
      await h.store.tx((t) =>
        t.updateTable('requests').set({ state: 'completed' }).where('id', '=', rq).execute(),
      );
      await assert.rejects(
        h.data.tx((r) =>
          r.custody.move({
            requestId: rq,
            from: { state: 'completed', fence: 1, agentId: 'A' },
            to: 'offered',
            agentId: 'B',
            offerExpiresAt: now + 1,
            reason: 'reassigned',
            at: now,
          }),
        ),
        IllegalTransition,
      );
      const req = await h.data.read.custody.request(rq);
      assert.deepEqual([req?.state, req?.fence], ['completed', 1]);
    });

    it('20 concurrent accepts of one warm transfer: exactly one wins, one new holder, one new lease', async () => {
      const rq = await assignedRequest('A');
      const t = await h.data.tx((r) => r.transfers.insert(consult(rq)));
      now += 1000;
      const accept = (who: string) =>
        h.data.tx(async (r) => {
          const toFence = await r.custody.move({
            requestId: rq,
            from: { state: 'assigned', fence: 1, agentId: 'A' },
            to: 'assigned',
            agentId: who,
            how: 'transfer_warm',
            reason: 'transferred',
            at: now,
          });
          if (toFence === undefined) return 'lost';
          const won = await r.transfers.transition(t.id, 'offered', 'accepted', { toFence });
          if (!won) throw new Error('transfer closed'); // rolls the move back
          return who;
        });
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => accept(i % 2 ? 'B' : 'S')),
      );
      const winners = results.filter((x) => x.status === 'fulfilled' && x.value !== 'lost');
      assert.equal(winners.length, 1, JSON.stringify(results));
      const winner = (winners[0] as PromiseFulfilledResult<string>).value;
      const after = await h.data.read.transfers.get(t.id);
      assert.deepEqual([after?.state, after?.to_fence], ['accepted', 2]);
      const req = await h.data.read.custody.request(rq);
      assert.deepEqual([req?.fence, req?.agent_id], [2, winner]);
      const leases = await h.store.db.selectFrom('leases').selectAll().where('request_id', '=', rq).execute();
      assert.equal(leases.length, 2);
      assert.deepEqual(
        (await h.data.read.custody.list(rq)).map((c) => [c.staff_id, c.how]),
        [
          ['A', 'accepted'],
          [winner, 'transfer_warm'],
        ],
      );
      // A cancel after the accept is refused by the guard.
      assert.equal(await h.data.tx((r) => r.transfers.transition(t.id, 'offered', 'cancelled')), undefined);
    });

    it('staffing reads: enabled agents, shifts, offers, measured handling times, queue figures', async () => {
      const rq = await assignedRequest('B');
      await h.store.tx(async (t) => {
        await t.insertInto('agents').values({ staff_id: 'X', since: T0 }).execute();
        await t
          .insertInto('shifts')
          .values([
            { staff_id: 'B', starts_at: T0 + 7_200_000, ends_at: T0 + 10_800_000 },
            { staff_id: 'B', starts_at: T0, ends_at: T0 + 3_600_000 },
          ])
          .execute();
        await t
          .insertInto('handle_times')
          .values(
            Array.from({ length: 25 }, (_, i) => ({
              queue_id: 'hq',
              seconds: i < 5 ? 10_000 : 101,
              at: T0 + i,
            })),
          )
          .execute();
      });
      const agents = await h.data.read.custody.staffingAgents();
      assert.deepEqual(
        agents.map((a) => a.staff_id),
        ['B'],
        'X is disabled; A and S have no agent row',
      );
      const shifts = await h.data.read.custody.shiftsOf(['B', 'S']);
      assert.deepEqual(shifts.get('B'), [
        { start: T0, end: T0 + 3_600_000 },
        { start: T0 + 7_200_000, end: T0 + 10_800_000 },
      ]);
      assert.deepEqual(shifts.get('S'), []);
      assert.deepEqual(await h.data.read.custody.shiftsOf([]), new Map());
      // Those overlapping a window only (a callback day's slots read these).
      assert.deepEqual(
        (await h.data.read.custody.shiftsOf(['B'], { from: T0 + 3_600_000, to: T0 + 7_200_001 })).get('B'),
        [{ start: T0 + 7_200_000, end: T0 + 10_800_000 }],
      );
      // Where each agent with a schedule stands at an instant (S has none: absent, always on shift).
      const state = (at: number) =>
        h.data.read.custody.shiftStateOf(['B', 'S'], at).then((m) => Object.fromEntries(m));
      assert.deepEqual(await state(T0), { B: { onShift: true, later: true } });
      assert.deepEqual(
        await state(T0 + 3_600_000),
        { B: { onShift: false, later: true } },
        'a shift ends before its end',
      );
      assert.deepEqual(await state(T0 + 7_200_000), { B: { onShift: true, later: true } });
      assert.deepEqual(await state(T0 + 10_800_000), { B: { onShift: false, later: false } });
      assert.deepEqual(await h.data.read.custody.shiftStateOf([], T0), new Map());
      assert.equal(await h.data.read.custody.measuredHandleSeconds('hq'), 101, 'the last 20 only');
      assert.equal(await h.data.read.custody.measuredHandleSeconds('none'), null);
      assert.equal(await h.data.read.custody.sessionExpiry(`ss${n}`), T0 + 3_600_000);
      assert.equal(await h.data.read.custody.sessionExpiry('nope'), undefined);
      // B's request goes back to waiting with other skills; another is offered to S.
      await h.store.tx((t) =>
        t
          .updateTable('requests')
          .set({ state: 'waiting', agent_id: null, skills: '["x"]', enqueued_at: T0 - 5 })
          .where('id', '=', rq)
          .execute(),
      );
      const other = await assignedRequest('S');
      await h.store.tx((t) =>
        t
          .updateTable('requests')
          .set({ state: 'offered', assigned_at: null })
          .where('id', '=', other)
          .execute(),
      );
      assert.deepEqual([...(await h.data.read.custody.offeredAgents())], ['S']);
      const w = await h.data.read.custody.waitingIn('general');
      assert.equal(w.oldest, T0 - 5);
      assert.deepEqual(
        w.groups.filter((g) => g.skills === '["x"]'),
        [{ skills: '["x"]', channel: 'voice', n: 1 }],
      );
      // every request here was assigned at T0 and enqueued at T0, but rq at T0 - 5
      const within5 = await h.data.read.custody.answeredSince('general', T0, 5);
      const within4 = await h.data.read.custody.answeredSince('general', T0, 4);
      assert.ok(within5.n >= 2 && within5.ok === within5.n, JSON.stringify(within5));
      assert.deepEqual(within4, { n: within5.n, ok: within5.n - 1 });
      assert.deepEqual(await h.data.read.custody.answeredSince('general', T0 + 1, 5), { n: 0, ok: 0 });
    });

    it('callbacks: a slot is booked and left only through guarded transitions', async () => {
      const rq = await assignedRequest('A');
      const slot = { start: T0 + 3_600_000, end: T0 + 4_500_000 };
      // assigned -> scheduled is not a request transition: refused, nothing written
      await assert.rejects(
        h.data.tx((r) => r.custody.bookSlot(rq, 'assigned', 1, slot, 1000)),
        IllegalTransition,
      );
      // an offered, due callback (slot mode, boosted): booked again, the boost given back, the offer ends
      await h.store.tx(async (t) => {
        await t
          .updateTable('requests')
          .set({ state: 'offered', fence: 2, callback_mode: 'slot', priority: 1000, agent_id: 'B' })
          .where('id', '=', rq)
          .execute();
        await t
          .insertInto('leases')
          .values({ request_id: rq, fence: 2, kind: 'offer', agent_id: 'B', started_at: T0 })
          .execute();
      });
      assert.equal(
        await h.data.tx((r) => r.custody.bookSlot(rq, 'offered', 1, slot, 1000)),
        false,
        'stale fence',
      );
      assert.equal(
        await h.data.tx((r) => r.custody.bookSlot(rq, 'waiting', 2, slot, 1000)),
        false,
        'other state',
      );
      now += 1000;
      assert.equal(await h.data.tx((r) => r.custody.bookSlot(rq, 'offered', 2, slot, 1000)), true);
      const booked = await h.store.db
        .selectFrom('requests')
        .selectAll()
        .where('id', '=', rq)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        [booked.state, booked.priority, booked.slot_start, booked.slot_end, booked.agent_id],
        ['scheduled', 0, slot.start, slot.end, null],
      );
      const offer = await h.store.db
        .selectFrom('leases')
        .selectAll()
        .where('request_id', '=', rq)
        .where('kind', '=', 'offer')
        .executeTakeFirstOrThrow();
      assert.deepEqual([offer.ended_at, offer.end_reason], [now, 'rescheduled']);
      assert.equal(await h.data.read.custody.bookedOver(['general'], slot.start, slot.end, 'other'), 1);
      assert.equal(
        await h.data.read.custody.bookedOver(['general'], slot.start, slot.end, rq),
        0,
        'itself excepted',
      );
      assert.equal(await h.data.read.custody.bookedOver(['general'], slot.end, slot.end + 1, 'other'), 0);
      assert.equal(await h.data.read.custody.bookedOver([], slot.start, slot.end, 'other'), 0);
      // keep my place: scheduled -> waiting, the slot forgotten, a window kept
      const window = { from: T0 + 10, until: T0 + 20 };
      assert.equal(await h.data.tx((r) => r.custody.keepPlace(rq, 'waiting', 2, window, 1000)), false);
      assert.equal(await h.data.tx((r) => r.custody.keepPlace(rq, 'scheduled', 2, window, 1000)), true);
      const kept = await h.store.db
        .selectFrom('requests')
        .selectAll()
        .where('id', '=', rq)
        .executeTakeFirstOrThrow();
      assert.deepEqual(
        [kept.state, kept.callback_mode, kept.slot_start, kept.window_from, kept.window_until, kept.priority],
        ['waiting', 'keep_place', null, window.from, window.until, 0],
      );
    });

    it('of 20 concurrent bookings of one request under one fence, each applies once, in turn', async () => {
      const rq = await assignedRequest('A');
      await h.store.tx((t) =>
        t.updateTable('requests').set({ state: 'waiting', agent_id: null }).where('id', '=', rq).execute(),
      );
      const slot = { start: T0 + 3_600_000, end: T0 + 4_500_000 };
      // Each unit books only from the state it read: of those that read 'waiting', exactly one wins.
      const results = await Promise.all(
        Array.from({ length: 20 }, () => h.data.tx((r) => r.custody.bookSlot(rq, 'waiting', 1, slot, 0))),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('an accept and a cancel of one consult at once: exactly one of them happens', async () => {
      const rq = await assignedRequest('A');
      const t = await h.data.tx((r) => r.transfers.insert(consult(rq)));
      const outcomes = await Promise.all(
        (['accepted', 'cancelled', 'declined', 'expired'] as const).map((to) =>
          h.data.tx(async (r) => ((await r.transfers.transition(t.id, 'offered', to)) ? to : null)),
        ),
      );
      const done = outcomes.filter((x) => x !== null);
      assert.equal(done.length, 1, JSON.stringify(outcomes));
      assert.equal((await h.data.read.transfers.get(t.id))?.state, done[0]);
    });
  });
}
