import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';

/**
 * The device-account repository (repos/device-account.ts) on each engine: the customer's
 * history newest first with ties in id order, keyset pages that neither skip nor repeat,
 * never another customer's row; the holders of each request in fence order with their
 * display names; removing a device touches only that device's rows (tokens, push, open
 * sessions and requests), once.
 */
for (const engine of testEngines()) {
  describe(`device-account repository on ${engine}`, () => {
    const clock = new FakeClock();
    const T0 = clock.now();
    let h: { data: Data; store: Store; close: () => Promise<void> };
    // r1..r6 of cu1 (r3 and r4 at the same instant), x1 of cu2
    const mine = [
      { id: 'req-0000000000000001', at: T0 + 1000, state: 'completed' as const, device: 'd1' },
      { id: 'req-0000000000000002', at: T0 + 2000, state: 'abandoned' as const, device: 'd1' },
      { id: 'req-0000000000000003', at: T0 + 3000, state: 'completed' as const, device: 'd2' },
      { id: 'req-0000000000000004', at: T0 + 3000, state: 'abandoned' as const, device: 'd1' },
      { id: 'req-0000000000000005', at: T0 + 4000, state: 'waiting' as const, device: 'd1' },
      { id: 'req-0000000000000006', at: T0 + 5000, state: 'assigned' as const, device: 'd2' },
    ];

    before(async () => {
      h = await openTestData(engine, clock);
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
            [
              ['d1', 'cu1'],
              ['d2', 'cu1'],
              ['d3', 'cu2'],
            ].map(([id, c]) => ({ id: id!, customer_id: c!, public_jwk: '{}', enrolled_at: T0 })),
          )
          .execute();
        await t
          .insertInto('authentications')
          .values(
            ['d1', 'd2', 'd3'].map((d) => ({
              id: `a-${d}`,
              customer_id: d === 'd3' ? 'cu2' : 'cu1',
              device_id: d,
              level: 1,
              created_at: T0,
              expires_at: T0 + 3_600_000,
            })),
          )
          .execute();
        await t
          .insertInto('staff')
          .values(
            [
              ['st1', 'Dana Reyes'],
              ['st2', 'Morgan Lee'],
            ].map(([id, name]) => ({
              id: id!,
              username: id!,
              display_name: name!,
              role: 'agent' as const,
              password_hash: 'x',
              created_at: T0,
            })),
          )
          .execute();
        const all = [
          ...mine,
          { id: 'req-0000000000000009', at: T0 + 9000, state: 'waiting' as const, device: 'd3' },
        ];
        await t
          .insertInto('service_sessions')
          .values(
            all.map((r) => ({
              id: `s-${r.id}`,
              customer_id: r.device === 'd3' ? 'cu2' : 'cu1',
              device_id: r.device,
              authentication_id: `a-${r.device}`,
              created_at: T0,
              last_activity_at: T0,
              absolute_expires_at: T0 + 3_600_000,
              ...(['completed', 'abandoned'].includes(r.state)
                ? { ended_at: r.at, end_reason: 'ended' }
                : {}),
            })),
          )
          .execute();
        await t
          .insertInto('requests')
          .values(
            all.map((r) => ({
              id: r.id,
              session_id: `s-${r.id}`,
              customer_id: r.device === 'd3' ? 'cu2' : 'cu1',
              device_id: r.device,
              authentication_id: `a-${r.device}`,
              option_id: 'lost-card',
              option_label: 'Lost or stolen card',
              queue_id: 'cards',
              required_level: 2,
              priority: 0,
              enqueued_at: r.at,
              state: r.state,
              ended_at: ['completed', 'abandoned'].includes(r.state) ? r.at + 500 : null,
            })),
          )
          .execute();
        await t
          .insertInto('custody')
          .values([
            {
              request_id: mine[0]!.id,
              staff_id: 'st1',
              role: 'agent',
              fence: 1,
              how: 'accepted',
              from_at: T0,
            },
            {
              request_id: mine[2]!.id,
              staff_id: 'st2',
              role: 'agent',
              fence: 3,
              how: 'transfer_warm',
              from_at: T0,
            },
            {
              request_id: mine[2]!.id,
              staff_id: 'st1',
              role: 'agent',
              fence: 1,
              how: 'accepted',
              from_at: T0,
            },
          ])
          .execute();
        await t
          .insertInto('device_tokens')
          .values([
            { token_hash: 't1', device_id: 'd1', authentication_id: 'a-d1', expires_at: T0 + 3_600_000 },
            { token_hash: 't2', device_id: 'd1', authentication_id: 'a-d1', expires_at: T0 + 3_600_000 },
            { token_hash: 't3', device_id: 'd2', authentication_id: 'a-d2', expires_at: T0 + 3_600_000 },
          ])
          .execute();
        await t
          .insertInto('device_push')
          .values(
            ['d1', 'd2'].map((d) => ({
              device_id: d,
              kind: 'fcm' as const,
              token: `tok-${d}`,
              updated_at: T0,
            })),
          )
          .execute();
      });
    });
    after(() => h?.close());

    it('history: the customer’s requests newest first (ties by id, descending), never another customer’s', async () => {
      const rows = await h.data.read.deviceAccount.history('cu1', 50);
      assert.deepEqual(
        rows.map((r) => r.id),
        [...mine].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map((r) => r.id),
      );
      assert.equal(rows[0]!.ended_at, null);
      assert.equal(rows.find((r) => r.id === mine[0]!.id)!.ended_at, mine[0]!.at + 500);
      assert.deepEqual(
        (await h.data.read.deviceAccount.history('cu2', 50)).map((r) => r.id),
        ['req-0000000000000009'],
      );
    });

    it('history pages: every row once, in order, across the tie', async () => {
      const seen: string[] = [];
      let before: { at: number; id: string } | undefined;
      for (;;) {
        const page = await h.data.read.deviceAccount.history('cu1', 2, before);
        seen.push(...page.map((r) => r.id));
        if (page.length < 2) break;
        const last = page[page.length - 1]!;
        before = { at: last.enqueued_at, id: last.id };
      }
      assert.deepEqual(
        seen,
        (await h.data.read.deviceAccount.history('cu1', 50)).map((r) => r.id),
      );
    });

    it('holders: by request then fence, with display names', async () => {
      const rows = await h.data.read.deviceAccount.holders([mine[2]!.id, mine[0]!.id, mine[1]!.id]);
      assert.deepEqual(
        rows.map((r) => [r.request_id, r.fence, r.display_name]),
        [
          [mine[0]!.id, 1, 'Dana Reyes'],
          [mine[2]!.id, 1, 'Dana Reyes'],
          [mine[2]!.id, 3, 'Morgan Lee'],
        ],
      );
      assert.deepEqual(await h.data.read.deviceAccount.holders([]), []);
    });

    it('removing a device: only its own tokens, push channel, open sessions and requests; revoked once', async () => {
      const out = await h.data.tx(async (r) => ({
        revoked: await r.deviceAccount.revoke('d1', T0 + 10_000),
        tokens: await r.deviceAccount.revokeTokens('d1', T0 + 10_000),
        push: await r.deviceAccount.deletePush('d1'),
        sessions: await r.deviceAccount.openSessionIds('d1'),
        requests: await r.deviceAccount.openRequestIds('d1'),
      }));
      assert.deepEqual(out, {
        revoked: true,
        tokens: 2,
        push: true,
        sessions: [`s-${mine[4]!.id}`],
        requests: [mine[4]!.id],
      });
      assert.equal(await h.data.tx((r) => r.deviceAccount.revoke('d1', T0 + 20_000)), false, 'once');
      const devices = await h.store.db
        .selectFrom('devices')
        .select(['id', 'revoked_at'])
        .orderBy('id')
        .execute();
      assert.deepEqual(
        devices.map((d) => [d.id, d.revoked_at === null ? null : Number(d.revoked_at)]),
        [
          ['d1', T0 + 10_000],
          ['d2', null],
          ['d3', null],
        ],
      );
      const live = await h.store.db
        .selectFrom('device_tokens')
        .select('token_hash')
        .where('revoked_at', 'is', null)
        .execute();
      assert.deepEqual(
        live.map((x) => x.token_hash),
        ['t3'],
      );
      assert.deepEqual(
        (await h.store.db.selectFrom('device_push').select('device_id').execute()).map((x) => x.device_id),
        ['d2'],
      );
    });
  });
}
