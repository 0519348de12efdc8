/**
 * The relay's repositories (device commands, remote control, receipts; call tickets;
 * wrap-ups) on both engines. The command lifecycle test is driven by COMMAND_LIFECYCLE
 * itself: every legal change applies, every illegal one is refused before anything is
 * written. Single-use: of ~20 concurrent units exactly one acknowledges a command, one
 * answers it, one uses a seq, one proves a call ticket, one stores a receipt or a
 * wrap-up. And the fence race: a command checked and inserted in one unit (the request
 * row locked) never survives a take-over committed meanwhile.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CommandState } from '../../protocol/src/index.ts';
import { COMMAND_LIFECYCLE, IllegalTransition } from '../../protocol/src/lifecycles.ts';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data, Repos } from '../../authority/src/store/repos/index.ts';
import type { CommandRow } from '../../authority/src/store/repos/commands.ts';
import type { RequestRow } from '../../authority/src/store/repos/requests.ts';
import { openTestData, testEngines } from '../support/store.ts';

const STATES = Object.keys(COMMAND_LIFECYCLE.transitions) as CommandState[];
const TERMINAL = STATES.filter((s) => COMMAND_LIFECYCLE.transitions[s].length === 0);
const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const N = 20;

let n = 0;

for (const engine of testEngines()) {
  describe(`relay repositories on ${engine}`, () => {
    const clock = new FakeClock(T0);
    let h: { data: Data; store: Store; close: () => Promise<void> };
    const tx = <T>(fn: (r: Repos) => Promise<T>) => h.data.tx(fn);

    before(async () => {
      h = await openTestData(engine, clock);
      await h.store.tx(async (q) => {
        await q
          .insertInto('customers')
          .values({
            id: 'c_relay',
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
          .insertInto('devices')
          .values({
            id: 'dv_relay',
            customer_id: 'c_relay',
            public_jwk: '{}',
            label: 'phone',
            enrolled_at: T0,
            revoked_at: null,
          })
          .execute();
        await q
          .insertInto('authentications')
          .values({
            id: 'au_relay',
            customer_id: 'c_relay',
            device_id: 'dv_relay',
            level: 2,
            created_at: T0,
            expires_at: T0 + 86_400_000,
            setup_until: null,
          })
          .execute();
        for (const id of ['st_a', 'st_b'])
          await q
            .insertInto('staff')
            .values({
              id,
              username: id,
              display_name: `Agent ${id}`,
              role: 'agent',
              password_hash: 'x',
              created_at: T0,
              disabled_at: null,
            })
            .execute();
      });
    });
    after(() => h?.close());

    /** A new request assigned to st_a (fence 1), with its session. */
    async function assigned(): Promise<RequestRow> {
      const id = `rq_${engine}_${++n}`;
      await h.store.tx((q) =>
        q
          .insertInto('service_sessions')
          .values({
            id: `se_${id}`,
            customer_id: 'c_relay',
            device_id: 'dv_relay',
            authentication_id: 'au_relay',
            created_at: T0,
            last_activity_at: T0,
            absolute_expires_at: T0 + 86_400_000,
            ended_at: null,
            end_reason: null,
          })
          .execute(),
      );
      return await tx(async (r) => {
        const w = await r.requests.insert({
          id,
          session_id: `se_${id}`,
          customer_id: 'c_relay',
          device_id: 'dv_relay',
          authentication_id: 'au_relay',
          option_id: 'other',
          option_label: 'Other',
          queue_id: 'general',
          skills: '[]',
          required_level: 1,
          priority: 0,
          enqueued_at: clock.now(),
          idempotency_key: null,
        });
        const o = await r.requests.transition(w.id, 'waiting', 'offered', w.fence, {
          agentId: 'st_a',
          offerExpiresAt: clock.now() + 15_000,
        });
        return (await r.requests.transition(w.id, 'offered', 'assigned', o!.fence, { holder: 'st_a' }))!;
      });
    }

    const draft = (req: RequestRow, seq: number) => ({
      id: `cmd_${engine}_${++n}`,
      request_id: req.id,
      session_id: req.session_id,
      device_id: 'dv_relay',
      agent_id: 'st_a',
      fence: req.fence,
      seq,
      kind: 'menu',
      command: JSON.stringify({ kind: 'menu', payload: { title: 't', items: [] } }),
      jws: 'jws',
      created_at: clock.now(),
      expires_at: clock.now() + 60_000,
    });

    /** A command brought to `state` along legal changes. */
    async function inState(req: RequestRow, state: CommandState, seq: number): Promise<CommandRow> {
      const c = (await tx((r) => r.commands.insert(draft(req, seq))))!;
      if (state === 'pending') return c;
      return (await tx((r) => r.commands.transition(c.id, ['pending'], state, { reason: state })))!;
    }

    it('commands: found / not found, seq bookkeeping, the device’s open list, senders', async () => {
      const req = await assigned();
      assert.equal(await h.data.read.commands.get('nope'), undefined);
      assert.equal(await h.data.read.commands.lastSeq(req.id, req.fence), 0);
      const c = (await tx((r) => r.commands.insert(draft(req, 1))))!;
      assert.equal(c.state, 'pending');
      assert.equal(c.revision, 1);
      assert.deepEqual(await h.data.read.commands.get(c.id), c);
      assert.equal(await tx((r) => r.commands.insert(draft(req, 1))), undefined, 'a seq is used once');
      await tx((r) => r.commands.insert(draft(req, 5)));
      assert.equal(await h.data.read.commands.lastSeq(req.id, req.fence), 5);
      assert.equal(await h.data.read.commands.seqUsed(req.id, req.fence, 5), true);
      assert.equal(await h.data.read.commands.seqUsed(req.id, req.fence, 3), false);
      assert.deepEqual(
        (await h.data.read.commands.ofRequest(req.id)).map((x) => x.seq),
        [1, 5],
      );
      assert.ok(
        (await h.data.read.commands.openForDevice('dv_relay', clock.now())).some((x) => x.id === c.id),
      );
      assert.deepEqual(await h.data.read.commands.openForDevice('dv_relay', clock.now() + 61_000), []);
      assert.deepEqual(await h.data.read.commands.senders(req.id), ['st_a']);
      assert.equal((await h.data.read.commands.lockRequest(req.id))?.fence, req.fence);
      assert.equal(await h.data.read.commands.agentName('st_b'), 'Agent st_b');
      assert.equal(await h.data.read.commands.agentName('st_none'), undefined);
    });

    describe('COMMAND_LIFECYCLE: every legal change applies, every illegal one is refused', () => {
      for (const from of STATES)
        for (const to of STATES) {
          const legal = COMMAND_LIFECYCLE.transitions[from].includes(to);
          it(`${from} -> ${to}: ${legal ? 'applies' : 'refused'}`, async () => {
            const req = await assigned();
            const c = await inState(req, from, 1);
            if (from === to && legal) {
              const v = await tx((r) => r.commands.revise(c.id, c.revision, c.command, 'jws2', clock.now()));
              assert.equal(v?.state, from);
              assert.equal(v?.revision, 2);
              assert.equal(v?.jws, 'jws2');
              return;
            }
            if (!legal) {
              await assert.rejects(
                tx((r) => r.commands.transition(c.id, [from], to, { reason: 'x' })),
                IllegalTransition,
              );
              assert.deepEqual(await h.data.read.commands.get(c.id), c, 'nothing written');
              return;
            }
            const moved = await tx((r) =>
              r.commands.transition(c.id, [from], to, { result: '{"kind":"x"}', reason: 'why' }),
            );
            assert.equal(moved?.state, to);
            if (to === 'shown') assert.equal(moved?.shown_at, clock.now());
            if (to === 'expired') assert.equal(moved?.finished_at, c.expires_at);
            if (TERMINAL.includes(to) && to !== 'expired') assert.equal(moved?.finished_at, clock.now());
          });
        }
      it('a final command is never revised or cancelled; a guard on another state or an expired one refuses', async () => {
        const req = await assigned();
        const done = await inState(req, 'done', 1);
        assert.equal(
          await tx((r) => r.commands.revise(done.id, done.revision, '{}', 'j', clock.now())),
          undefined,
        );
        assert.deepEqual(await tx((r) => r.commands.cancelOpen({ id: done.id }, 'cancelled')), []);
        const open = await inState(req, 'pending', 2);
        assert.equal(await tx((r) => r.commands.transition(open.id, ['shown'], 'done')), undefined);
        assert.equal(
          await tx((r) => r.commands.transition(open.id, ['pending'], 'done', { liveAt: open.expires_at })),
          undefined,
          'expired: no answer',
        );
        assert.equal(await tx((r) => r.commands.revise(open.id, 7, '{}', 'j', clock.now())), undefined);
        assert.equal((await h.data.read.commands.get(open.id))?.state, 'pending');
      });
    });

    it('bulk: cancelOpen by request and fence (all but one), expireDue; remote control stop/resume', async () => {
      const req = await assigned();
      const a = await inState(req, 'pending', 1);
      const b = await inState(req, 'shown', 2);
      const c = await inState(req, 'pending', 3);
      const d = await inState(req, 'done', 4);
      const cancelled = await tx((r) =>
        r.commands.cancelOpen({ requestId: req.id, fence: req.fence, exceptId: c.id }, 'superseded'),
      );
      assert.deepEqual(cancelled.map((x) => x.id).sort(), [a.id, b.id].sort());
      assert.ok(cancelled.every((x) => x.state === 'cancelled' && x.reason === 'superseded'));
      assert.equal((await h.data.read.commands.get(d.id))?.state, 'done');
      const later = clock.now() + 60_000;
      const expired = await tx((r) => r.commands.expireDue(later));
      assert.ok(
        expired.some((x) => x.id === c.id && x.state === 'expired' && x.finished_at === c.expires_at),
      );

      assert.equal((await h.data.read.commands.control(req.id)).stoppedAt, null);
      assert.equal(await tx((r) => r.commands.stop(req.id, T0 + 1)), T0 + 1);
      assert.equal(await tx((r) => r.commands.stop(req.id, T0 + 2)), T0 + 1, 'the first stop stays');
      assert.deepEqual(
        (await h.data.read.commands.stoppedForDevice('dv_relay')).filter((x) => x.request_id === req.id),
        [{ request_id: req.id, stopped_at: T0 + 1 }],
      );
      await tx((r) => r.commands.resume(req.id, T0 + 3));
      assert.equal((await h.data.read.commands.control(req.id)).stoppedAt, null);
    });

    it(`single use under ${N} concurrent units: one ack, one answer, one seq, one receipt`, async () => {
      const req = await assigned();
      const c = await inState(req, 'pending', 1);
      const acks = await Promise.all(
        Array.from({ length: N }, () =>
          tx((r) => r.commands.transition(c.id, ['pending'], 'shown', { liveAt: clock.now() })),
        ),
      );
      assert.equal(acks.filter(Boolean).length, 1);
      const answers = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          tx((r) => r.commands.transition(c.id, ['pending', 'shown'], 'done', { result: `{"i":${i}}` })),
        ),
      );
      assert.equal(answers.filter(Boolean).length, 1);
      const seqs = await Promise.all(
        Array.from({ length: N }, () => tx((r) => r.commands.insert(draft(req, 2)))),
      );
      assert.equal(seqs.filter(Boolean).length, 1);
      const receipts = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          tx((r) =>
            r.commands.insertReceipt({
              id: `R-${engine}-${i}`,
              command_id: c.id,
              request_id: req.id,
              customer_id: 'c_relay',
              device_id: 'dv_relay',
              payee: 'P',
              amount: 100,
              currency: 'EUR',
              reference: 'ref',
              account: 'GB29 •••• 6819',
              factor: 'pin',
              challenge: `challenge-${engine}`,
              evidence: '{}',
              created_at: clock.now(),
            }),
          ),
        ),
      );
      assert.equal(receipts.filter(Boolean).length, 1);
      assert.equal(await h.data.read.commands.challengeUsed(`challenge-${engine}`), true);
      assert.equal((await h.data.read.commands.receiptsOf('c_relay')).length, 1);
    });

    it('receipts of one instant come newest first (insertion order)', async () => {
      const req = await assigned();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        const c = await inState(req, 'pending', 10 + i);
        const id = `R-ORDER-${engine}-${'ZYXWV'[i]}${i}`;
        ids.push(id);
        assert.ok(
          await tx((r) =>
            r.commands.insertReceipt({
              id,
              command_id: c.id,
              request_id: req.id,
              customer_id: 'c_relay',
              device_id: 'dv_relay',
              payee: 'P',
              amount: i,
              currency: 'EUR',
              reference: 'ref',
              account: 'GB29 •••• 6819',
              factor: 'pin',
              challenge: `order-${engine}-${i}`,
              evidence: '{}',
              created_at: T0 + 3_600_000,
            }),
          ),
        );
      }
      const got = (await h.data.read.commands.receiptsOf('c_relay')).map((x) => x.id).slice(0, 5);
      assert.deepEqual(got, [...ids].reverse());
    });

    it(`call tickets: found / not found, proven once under ${N} concurrent units, the holder's proof`, async () => {
      const req = await assigned();
      const jti = `jti_${engine}_${++n}`;
      await tx((r) =>
        r.callTickets.insert({
          jti,
          request_id: req.id,
          session_id: req.session_id,
          device_id: 'dv_relay',
          agent_id: 'st_a',
          fence: req.fence,
          issued_at: clock.now(),
          expires_at: clock.now() + 60_000,
        }),
      );
      assert.equal((await h.data.read.callTickets.get(jti))?.proven_at, null);
      assert.equal(await h.data.read.callTickets.get('nope'), undefined);
      assert.equal(await tx((r) => r.callTickets.prove(jti, clock.now(), 'dv_other')), undefined);
      const proofs = await Promise.all(
        Array.from({ length: N }, (_, i) => tx((r) => r.callTickets.prove(jti, T0 + i, 'dv_relay'))),
      );
      assert.equal(proofs.filter(Boolean).length, 1);
      const at = proofs.find(Boolean)!.proven_at!;
      assert.equal(await h.data.read.callTickets.provenAt(req.id, 'st_a', req.fence), at);
      assert.equal(await h.data.read.callTickets.provenAt(req.id, 'st_b', req.fence), undefined);
      assert.equal(await tx((r) => r.callTickets.prove(jti, clock.now())), undefined);
    });

    it(`wrap-ups: the first write per idempotency key wins under ${N} concurrent units`, async () => {
      const req = await assigned();
      assert.deepEqual(await h.data.read.wrapUps.assignment(req.id, req.fence, 'st_a'), {
        end_reason: null,
        ended_at: null,
      });
      assert.equal(await h.data.read.wrapUps.assignment(req.id, req.fence, 'st_b'), undefined);
      const key = `idem_${engine}`;
      const outs = await Promise.all(
        Array.from({ length: N }, (_, i) =>
          tx((r) =>
            r.wrapUps.insert({
              id: `wu_${engine}_${i}`,
              idempotency_key: key,
              request_id: req.id,
              agent_id: 'st_a',
              fence: req.fence,
              disposition: '["resolved"]',
              notes: `note ${i}`,
              received_at: clock.now(),
            }),
          ),
        ),
      );
      assert.equal(outs.filter((o) => o.inserted).length, 1);
      const winner = outs.find((o) => o.inserted)!.row;
      assert.ok(outs.every((o) => o.row.id === winner.id));
      assert.deepEqual(await h.data.read.wrapUps.byKey(key), winner);
      const facts = await h.data.read.wrapUps.panelFacts('c_relay', 'dv_relay', 'au_relay', T0 - 1);
      assert.equal(facts.customer?.display_name, 'Ada');
      assert.equal(facts.device?.label, 'phone');
      assert.equal(facts.failedOnAuthentication, 0);
    });

    it('the fence race: a command checked and inserted in one unit never survives a take-over', async () => {
      let refused = 0;
      let inserted = 0;
      for (let round = 0; round < 5; round++) {
        const req = await assigned();
        const send = (seq: number) =>
          tx(async (r) => {
            const now = await r.commands.lockRequest(req.id);
            if (!now || now.fence !== req.fence || now.agent_id !== 'st_a') {
              return 'refused';
            }
            return (await r.commands.insert(draft(req, seq))) ? 'inserted' : 'refused';
          });
        const takeOver = () =>
          tx(async (r) => {
            const moved = await r.requests.transition(req.id, 'assigned', 'assigned', req.fence, {
              agentId: 'st_b',
              reason: 'taken_over',
            });
            assert.ok(moved);
            // What ownershipMovedIn does in the mover's unit.
            await r.commands.cancelOpen({ requestId: req.id, fence: req.fence }, 'transferred');
          });
        const outs = await Promise.all([
          ...Array.from({ length: N / 2 }, (_, i) => send(i + 1)),
          takeOver(),
          ...Array.from({ length: N / 2 }, (_, i) => send(N / 2 + i + 1)),
        ]);
        refused += outs.filter((o) => o === 'refused').length;
        inserted += outs.filter((o) => o === 'inserted').length;
        const open = (await h.data.read.commands.ofRequest(req.id)).filter(
          (c) => c.state === 'pending' || c.state === 'shown',
        );
        assert.deepEqual(open, [], 'no command of the old holder is open after the take-over');
      }
      console.log(
        `# ${engine}: fence race, 5 rounds: ${inserted} inserted then cancelled, ${refused} refused`,
      );
    });
  });
}
