/**
 * The staff area's repositories (store/repos/staff.ts, keys.ts, customers.ts) and the
 * login throttle on them, on every engine of VD_TEST_ENGINES: what each method promises
 * (found / not found, state changes, refusals), a refresh token rotated by 20 concurrent
 * units has exactly one winner, and the login throttle counts concurrent failures
 * exactly (no lost update, no attempt past the bound).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Config } from '../../authority/src/config.ts';
import type { Engine, Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { isUniqueViolation } from '../../authority/src/store/repos/customers.ts';
import {
  LoginThrottle,
  STAFF_LOGIN_DELAY_FROM,
  STAFF_LOGIN_MAX_FAILURES,
  staffSubject,
  unknownNameSubject,
} from '../../authority/src/staff/login-throttle.ts';
import { openTestData, testEngines } from '../support/store.ts';

const HOUR = 3_600_000;

function staffRow(id: string, role: 'agent' | 'supervisor' | 'admin' = 'agent') {
  return { id, username: `user.${id}`, display_name: `Name ${id}`, role, password_hash: 'x', created_at: 1 };
}

async function seedCustomer(store: Store, id: string, now: number): Promise<void> {
  await store.tx(async (t) => {
    await t
      .insertInto('customers')
      .values({ id, display_name: `Customer ${id}`, created_at: now, updated_at: now })
      .execute();
    await t
      .insertInto('devices')
      .values({ id: `d-${id}`, customer_id: id, public_jwk: '{}', label: null, enrolled_at: now })
      .execute();
    await t
      .insertInto('authentications')
      .values({
        id: `a-${id}`,
        customer_id: id,
        device_id: `d-${id}`,
        level: 1,
        created_at: now,
        expires_at: now + HOUR,
      })
      .execute();
    await t
      .insertInto('device_tokens')
      .values([
        {
          token_hash: `live-${id}`,
          device_id: `d-${id}`,
          authentication_id: `a-${id}`,
          expires_at: now + HOUR,
        },
        { token_hash: `old-${id}`, device_id: `d-${id}`, authentication_id: `a-${id}`, expires_at: now - 1 },
      ])
      .execute();
    await t
      .insertInto('enrolment_codes')
      .values([
        { code_hash: `code-${id}`, customer_id: id, expires_at: now + HOUR },
        { code_hash: `used-${id}`, customer_id: id, expires_at: now + HOUR, used_at: now },
      ])
      .execute();
    for (const [n, ended] of [
      ['open', null],
      ['ended', now],
    ] as const)
      await t
        .insertInto('service_sessions')
        .values({
          id: `s-${n}-${id}`,
          customer_id: id,
          device_id: `d-${id}`,
          authentication_id: `a-${id}`,
          created_at: now,
          last_activity_at: now,
          absolute_expires_at: now + HOUR,
          ended_at: ended,
        })
        .execute();
    for (const [n, state] of [
      ['open', 'waiting'],
      ['done', 'completed'],
    ] as const)
      await t
        .insertInto('requests')
        .values({
          id: `r-${n}-${id}`,
          session_id: `s-${n === 'open' ? 'open' : 'ended'}-${id}`,
          customer_id: id,
          authentication_id: `a-${id}`,
          option_id: 'o',
          option_label: 'O',
          queue_id: 'q',
          required_level: 1,
          priority: 0,
          enqueued_at: now,
          state,
        })
        .execute();
  });
}

for (const engine of testEngines()) {
  describe(`staff repositories on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    before(async () => {
      h = await openTestData(engine as Engine, clock);
    });
    after(() => h.close());

    it('staff: insert refuses a taken username; byId/byUsername; setRole returns the row before; enabledExcept lists the others', async () => {
      const { data } = h;
      assert.equal(await data.tx((r) => r.staff.insert(staffRow('s1', 'admin'))), true);
      assert.equal(await data.tx((r) => r.staff.insert({ ...staffRow('s9'), username: 'user.s1' })), false);
      assert.equal(await data.tx((r) => r.staff.insert(staffRow('s2'))), true);
      assert.equal((await data.read.staff.byUsername('user.s1'))?.id, 's1');
      assert.equal(await data.read.staff.byId('s9'), undefined);
      assert.equal(await data.read.staff.byUsername('nobody'), undefined);

      const before = await data.tx((r) => r.staff.setRole('s2', 'supervisor'));
      assert.equal(before?.role, 'agent');
      assert.equal((await data.read.staff.byId('s2'))?.role, 'supervisor');
      assert.equal(await data.tx((r) => r.staff.setRole('nobody', 'admin')), undefined);

      assert.deepEqual(
        (await data.read.staff.enabledExcept('s1')).map((s) => s.id),
        ['s2'],
      );
      await assert.rejects(data.read.staff.insert(staffRow('s3')), 'the read handle refuses writes');
    });

    it('refresh tokens: 20 concurrent rotations of one token have exactly one winner; expired and revoked ones none; a family is revoked together', async () => {
      const { data } = h;
      await data.tx((r) => r.staff.insert(staffRow('rt')));
      const now = clock.now();
      await data.tx(async (r) => {
        await r.staff.insertRefreshToken({
          token_hash: 'h1',
          family_id: 'f1',
          staff_id: 'rt',
          expires_at: now + HOUR,
        });
        await r.staff.insertRefreshToken({
          token_hash: 'h2',
          family_id: 'f1',
          staff_id: 'rt',
          expires_at: now + HOUR,
        });
        await r.staff.insertRefreshToken({
          token_hash: 'h3',
          family_id: 'f3',
          staff_id: 'rt',
          expires_at: now - 1,
        });
      });
      const wins = await Promise.all(
        Array.from({ length: 20 }, () =>
          data.tx(async (r) => (await r.staff.rotateRefreshToken('h1')) !== undefined),
        ),
      );
      assert.equal(wins.filter(Boolean).length, 1, 'exactly one rotation wins');
      assert.equal((await data.read.staff.refreshToken('h1'))?.rotated_at, now);
      assert.equal(await data.tx((r) => r.staff.rotateRefreshToken('h3')), undefined, 'expired');
      assert.equal(await data.tx((r) => r.staff.rotateRefreshToken('nope')), undefined, 'unknown');
      assert.equal(await data.read.staff.refreshToken('nope'), undefined);

      // a bearer token's check: the member and whether its login's family was revoked, in one read
      const before = await data.read.staff.byIdInFamily('rt', 'f1');
      assert.equal(before?.staff.username, staffRow('rt').username);
      assert.equal(before?.familyRevoked, false);
      assert.equal(before?.lastSeenAt, null, 'not an agent: never seen');
      await data.tx(async (r) => {
        await r.agents.ensure('rt');
        await r.agents.touch('rt', now - 5);
      });
      assert.equal(
        (await data.read.staff.byIdInFamily('rt', 'f1'))?.lastSeenAt,
        now - 5,
        "the agent's last sighting",
      );
      assert.equal(await data.read.staff.byIdInFamily('nobody', 'f1'), undefined);
      assert.equal(await data.tx((r) => r.staff.revokeFamily('f1')), 2);
      assert.equal((await data.read.staff.byIdInFamily('rt', 'f1'))?.familyRevoked, true);
      assert.equal((await data.read.staff.byIdInFamily('rt', 'f3'))?.familyRevoked, false, 'another family');
      assert.equal(await data.tx((r) => r.staff.revokeFamily('f1')), 0, 'already revoked');
      assert.equal((await data.read.staff.refreshToken('h2'))?.revoked_at, now);
      assert.equal(await data.tx((r) => r.staff.rotateRefreshToken('h2')), undefined, 'revoked');
    });

    it('signing keys: latestOrInsert keeps the first key; concurrent first starts agree on one', async () => {
      const { data } = h;
      assert.equal(await data.read.keys.latest(), undefined);
      const kids = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          data.tx(async (r) => (await r.keys.latestOrInsert({ kid: `k${i}`, private_jwk: '{}' })).kid),
        ),
      );
      assert.equal(new Set(kids).size, 1, 'one key for everyone');
      assert.equal((await data.read.keys.latest())?.kid, kids[0]);
    });

    it('login throttle: 20 concurrent failures of one account reserve exactly 5 attempts (failures 1..5), the rest are refused as locked', async () => {
      const { data } = h;
      const t = new LoginThrottle({
        clock,
        config: { loginSourceMaxFailures: 1000, loginSourceWindowSeconds: 600 } as Config,
      });
      const subject = staffSubject('victim');
      const res = await Promise.all(
        Array.from({ length: 20 }, (_, i) => data.tx((r) => t.reserve(r, subject, `10.0.0.${i}`))),
      );
      const reserved = res.flatMap((x) => (x.outcome === 'reserved' ? [x.failures] : []));
      assert.deepEqual(
        reserved.sort((a, b) => a - b),
        [1, 2, 3, 4, 5],
      );
      assert.equal(res.filter((x) => x.outcome === 'locked' && !x.hard).length, 15);
      const row = await data.read.staff.throttleRow(subject.key);
      assert.equal(row?.failures, STAFF_LOGIN_DELAY_FROM);
      assert.equal(row?.locked_until, clock.now() + 30_000);

      // After each delay one more attempt; at the 10th failure a hard lock.
      for (let f = STAFF_LOGIN_DELAY_FROM + 1; f <= STAFF_LOGIN_MAX_FAILURES; f++) {
        clock.advance(24 * HOUR);
        const round = await Promise.all(
          Array.from({ length: 5 }, () => data.tx((r) => t.reserve(r, subject, '10.1.1.1'))),
        );
        assert.deepEqual(
          round.flatMap((x) => (x.outcome === 'reserved' ? [x.failures] : [])),
          [f],
        );
      }
      assert.equal(await data.tx((r) => t.isHardLocked(r, 'victim')), true);
      clock.advance(365 * 24 * HOUR);
      const still = await data.tx((r) => t.reserve(r, subject, '10.1.1.2'));
      assert.deepEqual(still, { outcome: 'locked', hard: true, retryAfterSeconds: null });
      assert.deepEqual(await data.tx((r) => t.unlock(r, 'victim')), { wasLocked: true, failures: 10 });
      assert.equal(await data.tx((r) => t.isHardLocked(r, 'victim')), false);
      assert.deepEqual(await data.tx((r) => t.unlock(r, 'victim')), { wasLocked: false, failures: 0 });
    });

    it('login throttle: 50 concurrent failures from one source over 50 names let exactly the bound through, the rest wait; refusals audited in summary', async () => {
      const { data } = h;
      const cfg = { loginSourceMaxFailures: 20, loginSourceWindowSeconds: 600 } as Config;
      const t = new LoginThrottle({ clock, config: cfg });
      const res = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          data.tx((r) => t.reserve(r, unknownNameSubject(`n${i}`), '192.0.2.7')),
        ),
      );
      assert.equal(res.filter((x) => x.outcome === 'reserved').length, 20);
      const limited = res.filter((x) => x.outcome === 'source_limited');
      assert.equal(limited.length, 30);
      for (const x of limited) assert.equal(x.retryAfterSeconds, 600);
      assert.equal(await data.read.staff.countSourceFailures('192.0.2.7'), 20);
      // A success takes its failure back: one slot frees.
      const ok = res.find((x) => x.outcome === 'reserved');
      assert(ok?.outcome === 'reserved');
      await data.tx((r) => t.succeeded(r, unknownNameSubject('n0'), ok.sourceFailureId));
      assert.equal(await data.read.staff.countSourceFailures('192.0.2.7'), 19);
      // Refused ones: one audit row at once, the rest summed up when the source is let through again.
      const throttled = async () =>
        await h.store.db
          .selectFrom('audit_log')
          .select(['data'])
          .where('action', '=', 'staff.login.throttled')
          .where('subject', '=', 'source:192.0.2.7')
          .orderBy('seq')
          .execute();
      assert.deepEqual(
        (await throttled()).map((x) => (JSON.parse(x.data ?? '{}') as { refused: number }).refused),
        [1],
      );
      clock.advance(601_000);
      assert.equal(
        await data.tx((r) => t.sourceFailure(r, '192.0.2.7')),
        null,
        'a window later it may try again',
      );
      assert.deepEqual(
        (await throttled()).map((x) => (JSON.parse(x.data ?? '{}') as { refused: number }).refused),
        [1, 29],
      );
      assert.equal(await data.read.staff.countSourceFailures('192.0.2.7'), 1, 'the old window is forgotten');
    });

    it('login throttle: unknown names are kept to a bounded table (pruneUnknownNames keeps the newest)', async () => {
      const { data } = h;
      await data.tx(async (r) => {
        for (let i = 0; i < 5; i++) {
          clock.advance(1);
          await r.staff.insertThrottle(`name:prune${i}`, null, 1);
        }
        await r.staff.pruneUnknownNames(2);
      });
      const left = await h.store.db
        .selectFrom('login_throttle')
        .select('subject')
        .where('staff_id', 'is', null)
        .execute();
      assert.deepEqual(left.map((x) => x.subject).sort(), ['name:prune3', 'name:prune4']);
      assert.equal(await data.read.staff.deleteThrottle('x').catch(() => 'refused'), 'refused');
    });
  });

  describe(`customer repositories on ${engine}`, () => {
    const clock = new FakeClock();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    before(async () => {
      h = await openTestData(engine as Engine, clock);
    });
    after(() => h.close());

    const customer = (id: string, name: string, ref: string | null = null) => ({
      id,
      display_name: name,
      attributes: '{}',
      account: '{}',
      external_ref: ref,
      created_at: clock.now(),
      updated_at: clock.now(),
    });

    it('insert, byId, phones in order, holders of numbers and references, update', async () => {
      const { data } = h;
      await data.tx(async (r) => {
        await r.customers.insert(customer('c1', 'Ada', 'REF-1'));
        await r.customers.replacePhones(
          'c1',
          [
            { e164: '+447400000003', label: 'work' },
            { e164: '+447400000001', label: null },
          ],
          true,
        );
      });
      assert.equal((await data.read.customers.byId('c1'))?.external_ref, 'REF-1');
      assert.equal(await data.read.customers.byId('nope'), undefined);
      assert.equal(await data.read.customers.displayName('c1'), 'Ada');
      assert.deepEqual(await data.read.customers.phonesOf('c1'), [
        { e164: '+447400000003', label: 'work' },
        { e164: '+447400000001', label: null },
      ]);
      assert.deepEqual(await data.read.customers.phonesOf('nope'), []);
      // Rewritten in another order: that order, on either engine (position, not the heap or rowid).
      const order = ['+447400000002', '+447400000003', '+447400000001'];
      await data.tx((r) =>
        r.customers.replacePhones(
          'c1',
          order.map((e164) => ({ e164, label: null })),
          true,
        ),
      );
      await data.tx((r) => r.customers.deactivate('c1', null));
      await data.tx((r) => r.customers.reactivate('c1'));
      assert.deepEqual(
        (await data.read.customers.phonesOf('c1')).map((p) => p.e164),
        order,
      );
      await data.tx((r) =>
        r.customers.replacePhones(
          'c1',
          [
            { e164: '+447400000003', label: 'work' },
            { e164: '+447400000001', label: null },
          ],
          true,
        ),
      );
      assert.equal(await data.read.customers.activeHolderOf('+447400000001', null), 'c1');
      assert.equal(await data.read.customers.activeHolderOf('+447400000001', 'c1'), undefined);
      assert.equal(await data.read.customers.externalRefHolder('REF-1', 'c2'), 'c1');
      assert.equal(await data.read.customers.externalRefHolder('REF-1', 'c1'), undefined);

      clock.advance(1000);
      await data.tx((r) =>
        r.customers.update('c1', {
          display_name: 'Ada L',
          external_ref: null,
          attributes: '{"tier":"gold"}',
          account: '{}',
        }),
      );
      const c1 = await data.read.customers.byId('c1');
      assert.equal(c1?.display_name, 'Ada L');
      assert.equal(c1?.external_ref, null);
      assert.equal(c1?.updated_at, clock.now());
    });

    it('a number held by an active customer, or a taken reference, is refused by the unique index (isUniqueViolation)', async () => {
      const { data } = h;
      await data.tx((r) => r.customers.insert(customer('c2', 'Bob', 'REF-2')));
      const dupPhone = await data
        .tx((r) => r.customers.replacePhones('c2', [{ e164: '+447400000001', label: null }], true))
        .catch((e: unknown) => e);
      assert.equal(isUniqueViolation(dupPhone), true);
      const dupRef = await data
        .tx((r) => r.customers.insert(customer('c3', 'Cy', 'REF-2')))
        .catch((e: unknown) => e);
      assert.equal(isUniqueViolation(dupRef), true);
      assert.equal(await data.read.customers.byId('c3'), undefined, 'rolled back');
      assert.equal(isUniqueViolation(new Error('other')), false);
      // An inactive copy of the number is allowed.
      await data.tx((r) => r.customers.replacePhones('c2', [{ e164: '+447400000001', label: null }], false));
      assert.deepEqual(await data.read.customers.takenPhones('c2'), [
        { e164: '+447400000001', customer_id: 'c1' },
      ]);
    });

    it('list: filters by name (substring, ASCII case-insensitive, wildcards literal), phone, reference and status; keyset pages', async () => {
      const { data } = h;
      await data.tx(async (r) => {
        await r.customers.insert(customer('c4', 'ada_x'));
        await r.customers.insert(customer('c5', 'ADAM'));
        await r.customers.insert(customer('c6', 'Zed'));
      });
      const ids = async (f: Parameters<Data['read']['customers']['list']>[0], limit = 50) =>
        (await data.read.customers.list(f, limit)).map((c) => c.id);
      assert.deepEqual(await ids({}), ['c5', 'c1', 'c2', 'c6', 'c4']);
      assert.deepEqual(await ids({ nameContains: 'ada' }), ['c5', 'c1', 'c4']);
      assert.deepEqual(await ids({ nameContains: 'a_' }), ['c4'], 'the underscore is literal');
      assert.deepEqual(await ids({ nameContains: '%' }), []);
      assert.deepEqual(await ids({ phone: '+447400000003' }), ['c1']);
      assert.deepEqual(await ids({ phone: '+447400000001' }), ['c1', 'c2'], 'active or not');
      assert.deepEqual(await ids({ externalRef: 'REF-2' }), ['c2']);
      assert.deepEqual(await ids({ after: ['Ada L', 'c1'] }), ['c2', 'c6', 'c4']);
      assert.deepEqual(await ids({}, 2), ['c5', 'c1']);
      const phones = await data.read.customers.phonesOfMany(['c1', 'c2', 'c6']);
      assert.deepEqual([...phones.keys()].sort(), ['c1', 'c2']);
    });

    it('deactivate: once; reaches tokens, codes, open requests and sessions; reactivate: once, refused by the index while a number is held', async () => {
      const { data, store } = h;
      const now = clock.now();
      await seedCustomer(store, 'c7', now);
      await data.tx((r) => r.customers.replacePhones('c7', [{ e164: '+447400000077', label: null }], true));
      assert.deepEqual(await data.read.customers.openRequestIds('c7'), ['r-open-c7']);
      assert.deepEqual(await data.read.customers.openSessionIds('c7'), ['s-open-c7']);

      const res = await data.tx(async (r) => ({
        first: await r.customers.deactivate('c7', 'closed'),
        tokens: await r.customers.revokeDeviceTokens('c7'),
        codes: await r.customers.voidEnrolmentCodes('c7'),
      }));
      assert.deepEqual(res, { first: true, tokens: 1, codes: 1 });
      assert.equal(await data.tx((r) => r.customers.deactivate('c7', 'again')), false);
      assert.deepEqual(await data.tx((r) => r.customers.revokeDeviceTokens('c7')), 0);
      assert.deepEqual(await data.tx((r) => r.customers.voidEnrolmentCodes('c7')), 0);
      const c7 = await data.read.customers.byId('c7');
      assert.equal(c7?.deactivated_at, now);
      assert.equal(c7?.deactivation_reason, 'closed');
      assert.equal(
        await data.read.customers.activeHolderOf('+447400000077', null),
        undefined,
        'number released',
      );

      // Someone else takes the number meanwhile: reactivation fails on the index.
      await data.tx(async (r) => {
        await r.customers.insert(customer('c8', 'Eve'));
        await r.customers.replacePhones('c8', [{ e164: '+447400000077', label: null }], true);
      });
      assert.deepEqual(await data.read.customers.takenPhones('c7'), [
        { e164: '+447400000077', customer_id: 'c8' },
      ]);
      assert.equal(
        isUniqueViolation(await data.tx((r) => r.customers.reactivate('c7')).catch((e: unknown) => e)),
        true,
      );
      await data.tx((r) => r.customers.replacePhones('c8', [], true));
      assert.equal(await data.tx((r) => r.customers.reactivate('c7')), true);
      assert.equal(await data.tx((r) => r.customers.reactivate('c7')), false);
      assert.equal((await data.read.customers.byId('c7'))?.deactivated_at, null);
      assert.equal(await data.read.customers.activeHolderOf('+447400000077', null), 'c7');
    });
  });
}
