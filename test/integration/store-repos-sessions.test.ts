import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Ctx } from '../../authority/src/context.ts';
import { DomainError } from '../../authority/src/errors.ts';
import { PushService } from '../../authority/src/push/push.ts';
import { Reachability } from '../../authority/src/push/reachability.ts';
import { ServiceSessions, type EndReason } from '../../authority/src/sessions/service-sessions.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';

/**
 * The sessions and push repositories (repos/sessions.ts, repos/push.ts) on each engine,
 * directly and through the services that use them (ServiceSessions, Reachability,
 * PushService): idle and absolute expiry, a session ended once by ~20 racing units (one
 * audit row), a push subscription replaced (one row per device), last seen times that
 * never go back.
 */
const PARALLEL = 20;
const IDLE_S = 60;
const ABSOLUTE_S = 600;

const unauthenticated = (e: unknown) => e instanceof DomainError && e.kind === 'unauthenticated';

for (const engine of testEngines()) {
  describe(`sessions and push repositories on ${engine}`, () => {
    const clock = new FakeClock();
    const T0 = clock.now();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    let sessions: ServiceSessions;
    let reach: Reachability;
    let push: PushService;
    const ended: [string, EndReason][] = [];
    const auth = (id: string, device: string | null) =>
      ({
        id,
        customer_id: 'cu1',
        device_id: device,
        level: 1,
        created_at: T0,
        expires_at: T0 + 3_600_000,
        setup_until: null,
      }) as Parameters<ServiceSessions['start']>[0];
    const auditRows = (action: string, subject?: string) =>
      h.store.db
        .selectFrom('audit_log')
        .selectAll()
        .where('action', '=', action)
        .$if(subject !== undefined, (q) => q.where('subject', '=', subject!))
        .execute();
    const race = <T>(fn: () => Promise<T>) => Promise.allSettled(Array.from({ length: PARALLEL }, fn));

    before(async () => {
      h = await openTestData(engine, clock);
      // rows of other aggregates, written with the store's own unit (their repositories belong to other areas)
      await h.store.tx(async (t) => {
        await t
          .insertInto('customers')
          .values([
            { id: 'cu1', display_name: 'Ada', created_at: T0 },
            { id: 'cu2', display_name: 'Bo', created_at: T0 },
          ])
          .execute();
        await t
          .insertInto('devices')
          .values(
            ['d1', 'd2', 'd3'].map((id) => ({ id, customer_id: 'cu1', public_jwk: '{}', enrolled_at: T0 })),
          )
          .execute();
        await t
          .insertInto('authentications')
          .values([
            {
              id: 'a1',
              customer_id: 'cu1',
              device_id: 'd1',
              level: 1,
              created_at: T0,
              expires_at: T0 + 3_600_000,
            },
            {
              id: 'a2',
              customer_id: 'cu1',
              device_id: null,
              level: 1,
              created_at: T0,
              expires_at: T0 + 3_600_000,
            },
          ])
          .execute();
      });
      const ctx = {
        data: h.data,
        events: { shared: false }, // one node: no presence rows
        clock,
        config: {
          sessionIdleSeconds: IDLE_S,
          sessionAbsoluteSeconds: ABSOLUTE_S,
          pushAllowLoopbackHttp: true,
          pushWebhookUrl: 'http://127.0.0.1:9/hook',
          pushSubject: 'mailto:test@example.invalid',
        },
      } as unknown as Ctx; // no legacy db: only the converted paths run here
      sessions = new ServiceSessions(ctx);
      sessions.on('ended', (id, reason) => ended.push([id, reason]));
      reach = new Reachability(ctx);
      push = new PushService(
        ctx,
        reach,
        () => 'Test Bank',
        () => Promise.reject(new Error('no network')),
      );
    });
    after(() => h?.close());

    it('sessions repository: insert, get, many, open ids of a customer, touch and end refused once ended', async () => {
      const row = (id: string, customer = 'cu1') => ({
        id,
        customer_id: customer,
        device_id: 'd1',
        authentication_id: 'a1',
        created_at: T0,
        last_activity_at: T0,
        absolute_expires_at: T0 + 1000,
      });
      await h.data.tx(async (r) => {
        await r.sessions.insert(row('s-1'));
        await r.sessions.insert(row('s-2'));
      });
      assert.deepEqual(await h.data.read.sessions.get('s-1'), {
        ...row('s-1'),
        ended_at: null,
        end_reason: null,
      });
      assert.equal(await h.data.read.sessions.get('nope'), undefined);
      assert.deepEqual((await h.data.read.sessions.getMany(['s-2', 'nope', 's-1'])).map((s) => s.id).sort(), [
        's-1',
        's-2',
      ]);
      assert.deepEqual(await h.data.read.sessions.getMany([]), []);
      await assert.rejects(
        h.data.tx((r) => r.sessions.insert(row('s-1'))),
        'a session id is inserted once',
      );
      assert.equal(await h.data.tx((r) => r.sessions.touch('s-1', T0 + 5)), true);
      assert.equal((await h.data.read.sessions.get('s-1'))?.last_activity_at, T0 + 5);
      assert.equal(await h.data.tx((r) => r.sessions.touch('nope', T0 + 5)), false);
      assert.equal(await h.data.tx((r) => r.sessions.end('s-1', 'ended', T0 + 6)), true);
      assert.equal(
        await h.data.tx((r) => r.sessions.end('s-1', 'ended_by_admin', T0 + 7)),
        false,
        'ended once',
      );
      assert.equal(
        await h.data.tx((r) => r.sessions.touch('s-1', T0 + 8)),
        false,
        'an ended session is not touched',
      );
      const s1 = await h.data.read.sessions.get('s-1');
      assert.deepEqual([s1?.ended_at, s1?.end_reason, s1?.last_activity_at], [T0 + 6, 'ended', T0 + 5]);
      assert.deepEqual(await h.data.read.sessions.openIdsOfCustomer('cu1'), ['s-2']);
      assert.deepEqual(await h.data.read.sessions.openIdsOfCustomer('cu2'), []);
      await assert.rejects(h.data.read.sessions.end('s-2', 'ended', T0), 'the read handle refuses writes');
    });

    it('idle expiry: alive at idle-1 s and activity pushes it back; dead at idle; ended once with one audit row', async () => {
      const s = await sessions.start(auth('a1', 'd1'));
      assert.equal(s.id.length, 43, '256 random bits, base64url');
      const start = await auditRows('session.start', `session:${s.id.slice(0, 8)}`);
      assert.equal(start.length, 1, 'the start is audited in the same unit');
      clock.advance(IDLE_S * 1000 - 1000);
      assert.equal((await sessions.use(s.id)).last_activity_at, clock.now());
      assert.equal(
        (await h.data.read.sessions.get(s.id))?.last_activity_at,
        clock.now(),
        'the touch is durable',
      );
      clock.advance(IDLE_S * 1000 - 1000);
      await sessions.use(s.id);
      clock.advance(IDLE_S * 1000);
      await assert.rejects(sessions.use(s.id), unauthenticated);
      await assert.rejects(sessions.use(s.id), unauthenticated, 'an ended session stays ended');
      const row = await h.data.read.sessions.get(s.id);
      assert.deepEqual([row?.ended_at, row?.end_reason], [clock.now(), 'idle_timeout']);
      const end = await auditRows('session.end', `session:${s.id.slice(0, 8)}`);
      assert.deepEqual(
        end.map((a) => [a.actor, a.reason]),
        [['system', 'idle_timeout']],
      );
      assert.deepEqual(
        ended.filter(([id]) => id === s.id),
        [[s.id, 'idle_timeout']],
      );
      await assert.rejects(sessions.use('no-such-session'), unauthenticated);
      await assert.rejects(
        sessions.requireExisting('no-such-session'),
        (e) => e instanceof DomainError && e.kind === 'not_found',
      );
      assert.equal((await sessions.requireExisting(s.id)).id, s.id);
    });

    it('absolute expiry holds with constant activity and while a request holds the session (no idle timeout then)', async () => {
      const s = await sessions.start(auth('a2', null));
      assert.equal(s.device_id, null);
      while (clock.now() + 30_000 < s.absolute_expires_at) {
        clock.advance(30_000);
        await sessions.use(s.id);
      }
      clock.set(s.absolute_expires_at - 1000);
      await sessions.use(s.id);
      clock.set(s.absolute_expires_at);
      await assert.rejects(sessions.use(s.id), unauthenticated);
      assert.equal((await sessions.get(s.id))?.end_reason, 'absolute_timeout');

      // A request waiting in the pipeline holds its session: no idle timeout while it lives.
      const held = await sessions.start(auth('a1', 'd1'));
      const request = (state: 'waiting' | 'completed') =>
        h.store.tx((t) =>
          t
            .insertInto('requests')
            .values({
              id: 'rq-held',
              session_id: held.id,
              customer_id: 'cu1',
              device_id: 'd1',
              authentication_id: 'a1',
              option_id: 'o',
              option_label: 'O',
              queue_id: 'q',
              required_level: 1,
              priority: 0,
              enqueued_at: clock.now(),
              state,
            })
            .onConflict((oc) => oc.column('id').doUpdateSet({ state }))
            .execute(),
        );
      await request('waiting');
      assert.equal(await h.data.read.sessions.heldByRequest(held.id), true);
      assert.equal(await h.data.read.sessions.heldByRequest(s.id), false);
      clock.advance(IDLE_S * 1000 * 3);
      await sessions.use(held.id);
      clock.advance(IDLE_S * 1000 * 3);
      await sessions.sweep([held.id]);
      assert.equal(
        (await sessions.get(held.id))?.ended_at,
        null,
        'held: neither use nor sweep ends it when idle',
      );
      clock.set(held.absolute_expires_at);
      await assert.rejects(
        sessions.use(held.id),
        unauthenticated,
        'held: the absolute lifetime still ends it',
      );
      assert.equal((await sessions.get(held.id))?.end_reason, 'absolute_timeout');
      await request('completed');
      assert.equal(
        await h.data.read.sessions.heldByRequest(held.id),
        false,
        'a completed request holds nothing',
      );
      // the rule itself: idle ends a session nobody holds, never one held
      const t = await sessions.start(auth('a1', 'd1'));
      clock.advance(IDLE_S * 1000);
      const idle = (await sessions.get(t.id))!;
      assert.equal(
        sessions.deadReason(idle, clock.now(), () => true),
        null,
      );
      assert.equal(
        sessions.deadReason(idle, clock.now(), () => false),
        'idle_timeout',
      );
      assert.equal(await sessions.deadReasonIn(h.data.read, idle), 'idle_timeout', 'no request holds it');
    });

    it(`a session is ended once by ${PARALLEL} racing enders and ${PARALLEL} racing uses after its expiry: one audit row, one event`, async () => {
      const s = await sessions.start(auth('a1', 'd1'));
      const results = await race(() => sessions.end(s.id, 'ended_by_admin', 'staff:admin'));
      assert.equal(results.filter((x) => x.status === 'fulfilled' && x.value === true).length, 1);
      assert.equal(results.filter((x) => x.status === 'fulfilled' && x.value === false).length, PARALLEL - 1);
      assert.equal((await auditRows('session.end', `session:${s.id.slice(0, 8)}`)).length, 1);
      assert.equal(ended.filter(([id]) => id === s.id).length, 1);

      // the ender's own words are audited in the same unit, by the one who ended it only
      const w = await sessions.start(auth('a1', 'd1'));
      const tries = ['lost my phone', 'second try'];
      const words = await Promise.all(tries.map((said) => sessions.end(w.id, 'ended', 'device:d1', said)));
      assert.equal(words.filter(Boolean).length, 1);
      const said = (await auditRows('session.end.reason')).filter((a) => a.actor === 'device:d1');
      assert.deepEqual(
        said.map((a) => a.reason),
        [tries[words.indexOf(true)]],
      );
      const [endRow] = await auditRows('session.end', `session:${w.id.slice(0, 8)}`);
      assert.equal(said[0]!.seq, endRow!.seq + 1, 'right after the end it explains');

      const u = await sessions.start(auth('a1', 'd1'));
      clock.advance(IDLE_S * 1000);
      const uses = await Promise.allSettled([
        ...Array.from({ length: PARALLEL }, () => sessions.use(u.id)),
        ...Array.from({ length: PARALLEL }, () => sessions.end(u.id, 'ended', 'device:d1')),
      ]);
      assert.ok(
        uses.slice(0, PARALLEL).every((x) => x.status === 'rejected' && unauthenticated(x.reason)),
        'every use of the expired session is refused',
      );
      const audits = await auditRows('session.end', `session:${u.id.slice(0, 8)}`);
      assert.equal(audits.length, 1, 'one end, one audit row');
      const enders = uses.slice(PARALLEL).filter((x) => x.status === 'fulfilled' && x.value === true).length;
      assert.equal(enders, audits[0]!.reason === 'idle_timeout' ? 0 : 1);
      assert.equal(ended.filter(([id]) => id === u.id).length, 1);
    });

    it('sweep ends the expired sessions among the given ids and re-announces ended ones; live ones stay', async () => {
      const live = await sessions.start(auth('a1', 'd1'));
      const old = await sessions.start(auth('a1', 'd1'));
      const gone = await sessions.start(auth('a1', 'd1'));
      await sessions.end(gone.id, 'ended', 'device:d1');
      clock.advance(IDLE_S * 1000 - 10);
      await sessions.use(live.id);
      clock.advance(20);
      const before = ended.length;
      await sessions.sweep([live.id, old.id, gone.id, 'no-such-session']);
      assert.deepEqual(
        ended.slice(before).sort(),
        [
          [gone.id, 'ended'],
          [old.id, 'idle_timeout'],
        ].sort(),
      );
      assert.equal((await sessions.get(live.id))?.ended_at, null);
      assert.equal((await sessions.get(old.id))?.end_reason, 'idle_timeout');
      await sessions.sweep([]);
    });

    it(`VAPID keys: made once; ${PARALLEL} racing keepers all get the first pair`, async () => {
      assert.equal(await h.data.read.push.vapidKeys(), undefined);
      const kept = await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          h.data.tx((r) => r.push.keepVapidKeys({ publicKey: `pub${i}`, privateKey: `priv${i}` }, T0)),
        ),
      );
      assert.equal(new Set(kept.map((k) => k.publicKey)).size, 1);
      assert.deepEqual(await h.data.read.push.vapidKeys(), kept[0]);
      assert.equal((await push.vapid()).publicKey, kept[0]!.publicKey, 'the service uses the kept pair');
    });

    it('push subscription: stored, replaced (one row per device, the last one wins), deleted; audited with the change', async () => {
      assert.equal(await h.data.read.push.subscription('d1'), undefined);
      assert.equal((await push.config('d1')).subscribed, false);
      await push.subscribe('d1', {
        kind: 'webpush',
        endpoint: 'https://push.example/a',
        keys: { p256dh: 'p-a', auth: 'x-a' },
      });
      clock.advance(1);
      await push.subscribe('d1', { kind: 'fcm', token: 'token-b' });
      const sub = await h.data.read.push.subscription('d1');
      assert.deepEqual(sub, {
        device_id: 'd1',
        kind: 'fcm',
        endpoint: null,
        p256dh: null,
        auth: null,
        token: 'token-b',
        updated_at: clock.now(),
      });
      assert.equal((await push.config('d1')).subscribed, true);
      assert.deepEqual(
        (await auditRows('device.push.subscribe', 'device:d1')).map((a) => JSON.parse(a.data).kind),
        ['webpush', 'fcm'],
      );
      await assert.rejects(
        push.subscribe('d2', {
          kind: 'webpush',
          endpoint: 'http://push.example/a',
          keys: { p256dh: 'p', auth: 'a' },
        }),
        (e) => e instanceof DomainError && e.kind === 'invalid',
      );
      assert.equal(
        await h.data.read.push.subscription('d2'),
        undefined,
        'a refused subscription is not stored',
      );

      // racing replacements: one row, one of theirs
      await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) =>
          h.data.tx((r) =>
            r.push.putSubscription({
              device_id: 'd2',
              kind: 'webpush',
              endpoint: `https://push.example/${i}`,
              p256dh: `p${i}`,
              auth: `a${i}`,
              token: null,
              updated_at: T0 + i,
            }),
          ),
        ),
      );
      const d2 = await h.store.db
        .selectFrom('device_push')
        .selectAll()
        .where('device_id', '=', 'd2')
        .execute();
      assert.equal(d2.length, 1);
      const i = Number(d2[0]!.endpoint!.split('/').pop());
      assert.deepEqual([d2[0]!.p256dh, d2[0]!.auth, d2[0]!.updated_at], [`p${i}`, `a${i}`, T0 + i]);

      // a delete of a subscription stored at another time leaves it (the device put a new one meanwhile)
      assert.equal(await h.data.tx((r) => r.push.deleteSubscription('d2', T0 + i + 1000)), false);
      assert.equal(await h.data.tx((r) => r.push.deleteSubscription('d2', T0 + i)), true);
      await push.unsubscribe('d1');
      assert.equal(await h.data.read.push.subscription('d1'), undefined);
      assert.equal(await h.data.tx((r) => r.push.deleteSubscription('d1')), false);
    });

    it('last seen: written when a device comes and goes, never moved back; online means now', async () => {
      assert.equal(await h.data.read.push.lastSeen('d3'), null);
      assert.equal(await reach.lastSeenIn(h.data.read, 'd3'), null);
      assert.equal(await reach.viewIn(h.data.read, null, 'req-1'), null);
      const changes: string[] = [];
      reach.on('changed', (d) => changes.push(d));
      const t1 = clock.now();
      await reach.socket('d3', true);
      assert.equal(await h.data.read.push.lastSeen('d3'), t1);
      await reach.socket('d3', true); // a second socket: no change
      clock.advance(5000);
      assert.equal(await reach.lastSeenIn(h.data.read, 'd3'), clock.now(), 'online: seen now');
      await reach.socket('d3', false);
      clock.advance(5000);
      const t2 = clock.now();
      await reach.socket('d3', false);
      assert.deepEqual(changes, ['d3', 'd3'], 'online, then offline: one event each');
      assert.equal(await h.data.read.push.lastSeen('d3'), t2);
      assert.equal(await reach.lastSeenIn(h.data.read, 'd3'), t2);
      const view = await reach.viewIn(h.data.read, 'd3', 'req-1');
      assert.deepEqual(view, {
        online: false,
        lastSeenAt: new Date(t2).toISOString(),
        wakeable: false,
        wokenAt: null,
      });
      // an earlier time (a late writer) does not move it back; later ones race to the latest
      await h.data.tx((r) => r.push.markSeen('d3', t2 - 1000));
      assert.equal(await h.data.read.push.lastSeen('d3'), t2);
      await Promise.all(
        Array.from({ length: PARALLEL }, (_, i) => h.data.tx((r) => r.push.markSeen('d3', t2 + 1 + i))),
      );
      assert.equal(await h.data.read.push.lastSeen('d3'), t2 + PARALLEL);
    });
  });
}
