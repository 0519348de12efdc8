/**
 * The database-wide session expiry sweep (`SessionsRepo.pastDeadline`, run by every node
 * at the nearest deadline and on the safety poll) is served by an index of live sessions
 * by last activity (`service_sessions_live_activity`, schema version 32), not by reading
 * every session ever ended: on PostgreSQL, with many ended sessions and some live ones
 * (statistics up to date), its plan reads that index, and it finds exactly the sessions
 * past their deadline. PostgreSQL only (EXPLAIN).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Store } from '../../authority/src/store/engine.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import { openTestData, testEngines } from '../support/store.ts';

const ENDED = 20_000;
const LIVE = 2_000;
const IDLE_MS = 600_000;

const skip = testEngines().includes('postgres') ? false : 'PostgreSQL only (EXPLAIN)';

describe('the session expiry sweep reads an index of live sessions', { skip }, () => {
  const clock = new FakeClock();
  const T0 = clock.now();
  let h: { data: Data; store: Store; close: () => Promise<void> };

  before(async () => {
    h = await openTestData('postgres', clock);
    await h.store.tx(async (t) => {
      await t.insertInto('customers').values({ id: 'cu1', display_name: 'Ada', created_at: T0 }).execute();
      await t
        .insertInto('authentications')
        .values({
          id: 'a1',
          customer_id: 'cu1',
          device_id: null,
          level: 1,
          created_at: T0,
          expires_at: T0 + 3_600_000,
        })
        .execute();
      const row = (id: string, lastActivity: number, endedAt: number | null) => ({
        id,
        customer_id: 'cu1',
        device_id: null,
        authentication_id: 'a1',
        created_at: lastActivity,
        last_activity_at: lastActivity,
        absolute_expires_at: lastActivity + 8 * 3_600_000,
        ended_at: endedAt,
        end_reason: endedAt === null ? null : 'ended',
      });
      const rows = [
        // ended long ago, some of them idle for long before they ended
        ...Array.from({ length: ENDED }, (_, i) => row(`e${i}`, T0 - 2 * IDLE_MS - i, T0 - IDLE_MS)),
        // live and active a moment ago
        ...Array.from({ length: LIVE }, (_, i) => row(`l${i}`, T0 - (i % 1000), null)),
        // live but idle past the deadline
        ...Array.from({ length: 3 }, (_, i) => row(`idle${i}`, T0 - IDLE_MS - 1000 - i, null)),
      ];
      for (let i = 0; i < rows.length; i += 1000)
        await t
          .insertInto('service_sessions')
          .values(rows.slice(i, i + 1000))
          .execute();
    });
    await sql`ANALYZE service_sessions`.execute(h.store.db);
  });
  after(() => h?.close());

  it('finds exactly the live sessions past their deadline, through service_sessions_live_activity', async () => {
    const ids = await h.data.read.sessions.pastDeadline(T0, T0 - IDLE_MS, 500);
    assert.deepEqual(ids, ['idle2', 'idle1', 'idle0']);
    const plan = await h.data.read.sessions.planPastDeadline(T0, T0 - IDLE_MS, 500);
    console.log(plan.join('\n'));
    assert.match(plan.join('\n'), /service_sessions_live_activity/, plan.join('\n'));
  });
});
