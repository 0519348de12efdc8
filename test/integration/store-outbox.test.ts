import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { FakeClock } from '../../authority/src/clock.ts';
import { LocalEventBus, type DomainEvent } from '../../authority/src/events/bus.ts';
import { PgEventBus } from '../../authority/src/events/pg-bus.ts';
import { PgOutboxListener } from '../../authority/src/store/pg-listen.ts';
import { parseOutboxNotification } from '../../authority/src/store/repos/outbox.ts';
import { openStore, type Store } from '../../authority/src/store/engine.ts';
import { Data, type Repos } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';
import { until } from '../support/wait.ts';

/**
 * The durable outbox (repos/outbox.ts) and the single-node event bus (events/bus.ts) on
 * each engine: an event commits with its unit or not at all; a consumer's effect and its
 * cursor commit together (a failing handler leaves neither, and is retried in order); a
 * bus started later catches up from the cursor; events emitted by many concurrent units
 * are each processed once, in seq order, even with two buses ("nodes") on one database.
 */
const CONCURRENT = Number(process.env.VD_OUTBOX_EVENTS ?? 200);

/** The topics of every read of the outbox after a cursor through `data.read` (the bus's reads), until restore(). */
function watchOutboxReads(data: Data): { reads: string[]; restore: () => void } {
  const outbox = data.read.outbox;
  const reads: string[] = [];
  const realAfter = outbox.after.bind(outbox);
  outbox.after = (seq, topics, limit) => {
    reads.push(topics.join(','));
    return realAfter(seq, topics, limit);
  };
  return { reads, restore: () => (outbox.after = realAfter) };
}

for (const engine of testEngines()) {
  describe(`outbox and event bus on ${engine}`, () => {
    const clock = new FakeClock();
    let h: Awaited<ReturnType<typeof openTestData>>;
    const effects = async (consumer: string) =>
      (
        await h.store.db
          .selectFrom('audit_log')
          .select('subject')
          .where('action', '=', 'test.effect')
          .where('actor', '=', consumer)
          .orderBy('seq')
          .execute()
      ).map((r) => r.subject);
    /** A consumer's effect: an audit row in its unit (counted by effects()). */
    const effect = (r: Repos, consumer: string, e: DomainEvent<'session.ended'>) =>
      r.audit.append({
        actor: consumer,
        action: 'test.effect',
        subject: e.payload.sessionId,
        outcome: 'success',
      });
    const ended = (n: number) => ({ sessionId: `s${n}`, reason: 'ended' as const });
    /**
     * A unit that runs `first`, then stays open until release(), then runs `last`:
     * `opened` resolves once `first` is done.
     */
    const heldOpen = (
      first: (r: Repos) => Promise<void>,
      last: (r: Repos) => Promise<void> = async () => {},
    ) => {
      let opened!: () => void;
      const isOpen = new Promise<void>((ok) => (opened = ok));
      let release!: () => void;
      const gate = new Promise<void>((ok) => (release = ok));
      const done = h.data.tx(async (r) => {
        await first(r);
        opened();
        await gate;
        await last(r);
      });
      return { opened: isOpen, release, done };
    };
    const quietBus = (data: Data) =>
      new LocalEventBus(data, {
        pollMs: 50,
        onError: () => {},
      });

    before(async () => {
      h = await openTestData(engine, clock);
    });
    after(() => h.close());

    it('an event commits with its unit or not at all; a bad payload is refused', async () => {
      await h.data.tx((r) => r.outbox.emit('session.ended', ended(1)));
      const seq = await h.data.read.outbox.head();
      await assert.rejects(
        h.data.tx(async (r) => {
          await r.outbox.emit('session.ended', ended(2));
          throw new Error('the change fails');
        }),
        /the change fails/,
      );
      await assert.rejects(
        h.data.tx((r) => r.outbox.emit('session.ended', { sessionId: '', reason: 'nope' } as never)),
      );
      const rows = await h.data.read.outbox.after(0, ['session.ended']);
      assert.deepEqual(
        rows.map((r) => [r.seq, JSON.parse(r.payload)]),
        [[seq, ended(1)]],
      );
      await assert.rejects(() => h.data.read.outbox.emit('session.ended', ended(3)), /inside a unit/);
    });

    it('a consumer processes each event once, in order; a failing handler leaves no effect and is retried', async () => {
      const bus = quietBus(h.data);
      const seen: number[] = [];
      const after: number[] = [];
      let failOnce = true;
      bus.subscribe('c1', ['session.ended'], async (r, e: DomainEvent<'session.ended'>) => {
        await effect(r, 'c1', e);
        if (e.payload.sessionId === 's11' && failOnce) {
          failOnce = false;
          throw new Error('transient');
        }
        seen.push(e.seq);
        return () => void after.push(e.seq);
      });
      await bus.start(); // catches up: s1 from the test before
      for (let n = 10; n < 13; n++) await h.data.tx((r) => r.outbox.emit('session.ended', ended(n)));
      // The failed s11 is retried by the poll; settled() waits for the consumer to pass it.
      while ((await h.data.read.outbox.cursor('c1')) < (await h.data.read.outbox.head())) await bus.settled();
      await bus.stop();
      assert.deepEqual(
        await effects('c1'),
        ['s1', 's10', 's11', 's12'],
        'one committed effect per event, in order',
      );
      assert.deepEqual(
        seen,
        [...seen].sort((a, b) => a - b),
      );
      assert.deepEqual(after, seen, 'after-commit work ran once per processed event');
      assert.equal(await h.data.read.outbox.cursor('c1'), await h.data.read.outbox.head());
    });

    it('a bus started later catches up from the cursor and does nothing twice', async () => {
      for (let n = 20; n < 25; n++) await h.data.tx((r) => r.outbox.emit('session.ended', ended(n)));
      const bus = quietBus(h.data);
      bus.subscribe('c1', ['session.ended'], async (r, e) => {
        await effect(r, 'c1', e);
      });
      await bus.start();
      await bus.stop();
      assert.deepEqual(await effects('c1'), ['s1', 's10', 's11', 's12', 's20', 's21', 's22', 's23', 's24']);
    });

    it(`${CONCURRENT} concurrent emitting units, two buses on one database: every event processed exactly once, in seq order`, async () => {
      // a second "node": its own store (connections, writer) on the same database
      const store2: Store = await openStore(h.target);
      const data2 = new Data(store2, clock);
      const order: Record<string, number[]> = { a: [], b: [] };
      const buses = (['a', 'b'] as const).map((node) => {
        const bus = quietBus(node === 'a' ? h.data : data2);
        bus.subscribe('c2', ['session.ended'], async (r, e) => {
          await effect(r, 'c2', e);
          return () => void order[node]!.push(e.seq);
        });
        return bus;
      });
      try {
        await Promise.all(buses.map((b) => b.start()));
        const base = 1000;
        await Promise.all(
          Array.from({ length: CONCURRENT }, (_, i) =>
            (i % 2 ? h.data : data2).tx(async (r) => {
              await r.audit.append({
                actor: 'producer',
                action: 'test.change',
                subject: `s${base + i}`,
                outcome: 'success',
              });
              await r.outbox.emit('session.ended', ended(base + i));
            }),
          ),
        );
        const head = await h.data.read.outbox.head();
        while ((await h.data.read.outbox.cursor('c2')) < head)
          await Promise.all(buses.map((b) => b.settled()));
      } finally {
        await Promise.all(buses.map((b) => b.stop()));
        await store2.close();
      }
      const got = await effects('c2');
      const expected = (await h.data.read.outbox.after(0, ['session.ended'], 100_000)).map(
        (r) => JSON.parse(r.payload).sessionId,
      );
      const dup = got.length - new Set(got).size;
      const missing = expected.filter((s) => !got.includes(s)).length;
      console.log(
        `# ${engine}: ${expected.length} events, processed ${got.length} (node a ${order.a!.length}, node b ${order.b!.length}), duplicated ${dup}, missing ${missing}`,
      );
      assert.equal(dup, 0);
      assert.equal(missing, 0);
      assert.deepEqual(got, expected, 'effects committed in seq order');
      for (const n of ['a', 'b'])
        assert.deepEqual(
          order[n],
          [...order[n]!].sort((x, y) => x - y),
        );
    });

    if (engine === 'postgres')
      it('an event emitted later never becomes visible before an earlier one still in flight (no gap a cursor could skip)', async () => {
        const before = await h.data.read.outbox.head();
        // A: writes its event now (takes seq before+1), then stays open
        const {
          opened,
          release,
          done: a,
        } = heldOpen(async (r) => {
          await r.outbox.emitNow('session.ended', ended(501));
        });
        await opened;
        // B: emits after A did, and would commit first
        let bDone = false;
        const b = h.data.tx((r) => r.outbox.emit('session.ended', ended(502))).then(() => (bDone = true));
        const waiting = async () =>
          Number(
            (
              await sql<{
                n: number;
              }>`SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted`.execute(
                h.store.db,
              )
            ).rows[0]!.n,
          );
        await until('B committed or waiting for A', async () => bDone || (await waiting()) > 0);
        const visible = await h.data.read.outbox.after(before, ['session.ended']);
        release();
        await Promise.all([a, b]);
        assert.deepEqual(
          visible.map((e) => e.seq),
          [],
          'nothing after the in-flight event is visible while it is in flight',
        );
        const all = await h.data.read.outbox.after(before, ['session.ended']);
        assert.deepEqual(
          all.map((e) => JSON.parse(e.payload).sessionId),
          ['s501', 's502'],
        );
      });

    it("100 concurrent units, each with two audit rows and an event (on PostgreSQL written by the COMMIT's trigger): the chain verifies, a unit's rows are consecutive, and the events are in commit order without a gap", async () => {
      const headBefore = await h.data.read.outbox.head();
      const auditBefore = (await h.data.read.audit.verify()).rows;
      await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          h.data.tx(async (r) => {
            await r.audit.append({
              actor: 'system',
              action: 'test.pair',
              subject: `u${i}`,
              outcome: 'success',
            });
            await r.outbox.emit('session.ended', ended(700 + i));
            await r.audit.append({
              actor: 'system',
              action: 'test.pair',
              subject: `u${i}`,
              outcome: 'success',
            });
          }),
        ),
      );
      const v = await h.data.read.audit.verify();
      assert.deepEqual(v, { ok: true, rows: auditBefore + 200, firstBrokenSeq: null, reason: null });
      const rows = await h.store.db
        .selectFrom('audit_log')
        .select(['seq', 'subject'])
        .where('action', '=', 'test.pair')
        .orderBy('seq')
        .execute();
      assert.equal(rows.length, 200);
      for (let k = 0; k < 200; k += 2)
        assert.equal(rows[k]!.subject, rows[k + 1]!.subject, `rows ${rows[k]!.seq} and ${rows[k + 1]!.seq}`);
      const events = await h.data.read.outbox.after(headBefore, ['session.ended'], 1000);
      assert.equal(events.length, 100);
      assert.deepEqual(
        events.map((e) => e.seq),
        Array.from({ length: 100 }, (_, i) => events[0]!.seq + i),
        'seqs without a gap',
      );
      assert.deepEqual(
        new Set(events.map((e) => JSON.parse(e.payload).sessionId)),
        new Set(Array.from({ length: 100 }, (_, i) => `s${700 + i}`)),
      );
      if (engine === 'postgres') {
        const staged = await sql<{ n: number }>`SELECT count(*)::int AS n FROM unit_writes`.execute(
          h.store.db,
        );
        assert.equal(staged.rows[0]!.n, 0, 'nothing left staged');
      }
    });

    if (engine === 'postgres')
      it("a unit's events wait for its end: another unit's emit and commit do not wait for a unit still working (the lock is held from its last statement)", async () => {
        const before = await h.data.read.outbox.head();
        const {
          opened,
          release,
          done: a,
        } = heldOpen(
          async (r) => {
            await r.outbox.emit('session.ended', ended(601));
            await r.audit.append({ actor: 'system', action: 'test.a', outcome: 'success' });
          },
          (r) => r.outbox.emit('session.ended', ended(602)),
        );
        await opened;
        // B commits while A is still working: before, it waited for A's lock until A's commit
        const b = h.data.tx(async (r) => {
          await r.audit.append({ actor: 'system', action: 'test.b', outcome: 'success' });
          await r.outbox.emit('session.ended', ended(603));
        });
        const bInTime = await Promise.race([b.then(() => true), delay(10_000).then(() => false)]);
        const seen = await h.data.read.outbox.after(before, ['session.ended']);
        release();
        await Promise.all([a, b]);
        assert.equal(bInTime, true, 'B committed within 10 s while A was still open');
        assert.deepEqual(
          seen.map((e) => JSON.parse(e.payload).sessionId),
          ['s603'],
          'B committed while A was open; nothing of A is written yet',
        );
        const all = await h.data.read.outbox.after(before, ['session.ended']);
        assert.deepEqual(
          all.map((e) => JSON.parse(e.payload).sessionId),
          ['s603', 's601', 's602'],
          "A's events follow B's, in A's order",
        );
        const audit = await h.store.db
          .selectFrom('audit_log')
          .select('action')
          .where('action', 'in', ['test.a', 'test.b'])
          .orderBy('seq')
          .execute();
        assert.deepEqual(
          audit.map((x) => x.action),
          ['test.b', 'test.a'],
        );
        assert.equal((await h.data.read.audit.verify()).ok, true);
      });

    it('a committed unit wakes the consumers and followers of its topics only (the others read nothing)', async () => {
      const bus = new LocalEventBus(h.data, { pollMs: 3_600_000, onError: () => {} });
      const ended: string[] = [];
      const accepted: string[] = [];
      bus.subscribe('c-wake', ['session.ended'], (_r, e) => void ended.push(e.payload.sessionId));
      bus.follow(['request.accepted'], (e) => void accepted.push(e.payload.requestId));
      const { reads, restore } = watchOutboxReads(h.data);
      try {
        await bus.start();
        reads.length = 0;
        ended.length = 0;
        await h.data.tx((r) =>
          r.outbox.emit('request.accepted', { requestId: 'rq-wake', agentId: 'st-wake', fence: 1 }),
        );
        await until('the follower saw request.accepted', () => accepted.includes('rq-wake'));
        await new Promise((ok) => setImmediate(ok));
        assert.deepEqual(reads, ['request.accepted'], 'only the follower of request.accepted read');
        reads.length = 0;
        await h.data.tx((r) => r.outbox.emit('session.ended', { sessionId: 's-wake', reason: 'ended' }));
        await until('the consumer saw session.ended', () => ended.includes('s-wake'));
        assert.deepEqual(reads, ['session.ended'], 'only the consumer of session.ended read');
      } finally {
        restore();
        await bus.stop();
      }
    });

    it("a follower of other nodes' events only is not woken by this node's commits (a catch-up, a notification or the poll reads them)", async () => {
      const bus = new LocalEventBus(h.data, { pollMs: 3_600_000, onError: () => {} });
      const seen: string[] = [];
      bus.follow(['request.accepted'], (e) => void seen.push(e.payload.requestId), { othersOnly: true });
      const { reads, restore } = watchOutboxReads(h.data);
      try {
        await bus.start();
        reads.length = 0;
        await h.data.tx((r) =>
          r.outbox.emit('request.accepted', { requestId: 'rq-others', agentId: 'st-o', fence: 1 }),
        );
        await new Promise((ok) => setTimeout(ok, 50));
        assert.deepEqual(reads, [], "this node's commit woke nobody");
        assert.deepEqual(seen, []);
        // a wake-up of every reader (what another node's notification or the poll does) reads it, in order
        await bus.settled();
        assert.deepEqual(seen, ['rq-others']);
      } finally {
        restore();
        await bus.stop();
      }
    });

    if (engine === 'postgres')
      it("another node's notification wakes the consumers and followers of its topic only", async () => {
        // node B: a second store on the same database, its bus woken by LISTEN only (no safety poll)
        const storeB = await openStore(h.target);
        const dataB = new Data(storeB, clock);
        // as services.ts wires it: node B passes over its own sessions' notifications, not node A's
        const bus = new PgEventBus(
          dataB,
          new PgOutboxListener((h.target as { url: string }).url, {
            ownSession: (pid) => storeB.ownsSession(pid),
          }),
          { pollMs: 3_600_000, onError: () => {} },
        );
        const ended: string[] = [];
        const accepted: string[] = [];
        bus.subscribe('c-notified', ['session.ended'], (_r, e) => void ended.push(e.payload.sessionId));
        bus.follow(['request.accepted'], (e) => void accepted.push(e.payload.requestId));
        const { reads, restore } = watchOutboxReads(dataB);
        try {
          await bus.start();
          await until('node B listens', () => bus.catchUps > 0);
          await bus.settled();
          reads.length = 0;
          // node A (h.data) commits: node B hears of it by notification only
          await h.data.tx((r) =>
            r.outbox.emit('request.accepted', { requestId: 'rq-notified', agentId: 'st-n', fence: 1 }),
          );
          await until('node B followed request.accepted', () => accepted.includes('rq-notified'));
          await new Promise((ok) => setTimeout(ok, 50));
          assert.deepEqual(reads, ['request.accepted'], 'only the follower of request.accepted read');
          reads.length = 0;
          await h.data.tx((r) =>
            r.outbox.emit('session.ended', { sessionId: 's-notified', reason: 'ended' }),
          );
          await until('node B consumed session.ended', () => ended.includes('s-notified'));
          assert.deepEqual(reads, ['session.ended'], 'only the consumer of session.ended read');
        } finally {
          restore();
          await bus.stop();
          await storeB.close();
        }
      });

    if (engine === 'postgres')
      it("this node's own notifications wake nothing: its units woke its bus at their commit (one read an event)", async () => {
        const listener = new PgOutboxListener((h.target as { url: string }).url, {
          ownSession: (pid) => h.store.ownsSession(pid),
        });
        const bus = new PgEventBus(h.data, listener, { pollMs: 3_600_000, onError: () => {} });
        const accepted: string[] = [];
        bus.follow(['request.accepted'], (e) => void accepted.push(e.payload.requestId));
        const { reads, restore } = watchOutboxReads(h.data);
        try {
          await bus.start();
          await until('the node listens', () => bus.catchUps > 0);
          await bus.settled();
          reads.length = 0;
          const notified = bus.notifications;
          for (let i = 0; i < 5; i++) {
            const own = listener.ownSkipped;
            await h.data.tx((r) =>
              r.outbox.emit('request.accepted', { requestId: `rq-own-${i}`, agentId: 'st-own', fence: 1 }),
            );
            await until('the follower saw it', () => accepted.includes(`rq-own-${i}`));
            // its notification reaches the listener too (LISTEN hears its own node's NOTIFY)
            await until(
              'its own notification arrived',
              () => listener.ownSkipped > own || bus.notifications > notified + i,
            );
            await new Promise((ok) => setTimeout(ok, 20));
          }
          assert.deepEqual(
            reads,
            Array(5).fill('request.accepted'),
            'one read an event: the wake-up at commit',
          );
          assert.equal(bus.notifications, notified, 'no notification of its own woke the bus');
          assert.equal(listener.ownSkipped >= 5, true);
        } finally {
          restore();
          await bus.stop();
        }
      });

    it('a notification names its seq and topic; one of a seq alone (sent before) wakes everyone', () => {
      assert.deepEqual(parseOutboxNotification('42 request.accepted'), {
        seq: 42,
        topic: 'request.accepted',
      });
      assert.deepEqual(parseOutboxNotification('42'), { seq: 42 });
      assert.deepEqual(parseOutboxNotification('42 no.such.topic'), { seq: 42 });
      for (const bad of ['', 'x', '4.5 request.accepted', '42 request.accepted extra', ' 42'])
        assert.equal(parseOutboxNotification(bad), null, JSON.stringify(bad));
    });

    it('processed events are pruned once every consumer has passed them; seq is never reused', async () => {
      const head = await h.data.read.outbox.head();
      clock.advance(7_200_000);
      const pruned = await h.data.tx((r) => r.outbox.prune(3_600_000));
      assert.ok(pruned > 0);
      await h.data.tx((r) => r.outbox.emit('session.ended', ended(9999)));
      const next = await h.data.read.outbox.head();
      assert.ok(next > head, `new seq ${next} after ${head}`);
    });
  });
}
