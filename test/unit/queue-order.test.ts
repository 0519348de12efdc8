/**
 * The queue order is the authority's (QUEUE_ORDER in authority/src/pipeline/requests.ts),
 * checked on what the real Pipeline does, not on a copy of the rule: requests created
 * through Pipeline.createRequest (in-memory SQLite, FakeClock) by customers of different
 * tiers (priority rules), at different times (ties on time included), and one booked
 * callback slot that comes due (CALLBACK_BOOST), are
 *   - listed by RequestStore.waiting/live (the snapshot the console gets) in that order,
 *   - numbered (positions) in that order,
 *   - offered in that order as agents become free one at a time (dispatch),
 * and the console's QueueStore, given the authority's snapshot in any order, shows the
 * waiting requests in the authority's order.
 */
import type { Db } from '../../authority/src/store/db.ts';
import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { FakeClock } from '../../authority/src/clock.ts';
import { parseConfig } from '../../authority/src/config.ts';
import type { DevicePrincipal } from '../../authority/src/identity/devices.ts';
import type { Services } from '../../authority/src/services.ts';
import { openTestServices } from '../support/services.ts';
import type { RequestView } from '../../protocol/src/pipeline.ts';
import { QueueStore, compareRequests, waitingByQueue } from '../../renderer/src/state/queue.ts';
import { TEST_PEPPER } from '../support/authority.ts';
import { FakeBridge, request } from '../support/fake-bridge.ts';

const at = (hhmm: string) => Date.parse(`2026-03-02T${hhmm}:00.000Z`);
const TIERS = ['standard', 'gold', 'platinum'] as const;
type Tier = (typeof TIERS)[number];
/** Agents serving the cards queue, offline until a test makes them free. */
const AGENTS = 8;

let svc: Services;
/** The test's own handle on the services' SQLite file (their store writes through it). */
let db: Db;
let clock: FakeClock;
const principals = {} as Record<Tier, DevicePrincipal>;
const agents: string[] = [];

before(async () => {
  clock = new FakeClock(at('09:00'));
  const config = parseConfig({ pinPepper: TEST_PEPPER, logLevel: 'silent', agentTimeoutSeconds: 3600 });
  ({ svc, db } = await openTestServices({ ...config, pinPepper: TEST_PEPPER }, clock));
  for (const tier of TIERS) {
    const id = `c_order_${tier.padEnd(9, '0')}`;
    db.prepare(
      'INSERT INTO customers (id, display_name, attributes, account, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(id, `Order ${tier}`, JSON.stringify({ tier, segment: 'retail' }), '{}', clock.now());
    db.prepare("INSERT INTO devices (id, customer_id, public_jwk, enrolled_at) VALUES (?, ?, '{}', ?)").run(
      `dev_${id}`,
      id,
      clock.now(),
    );
    const auth = await svc.authentications.create(id, `dev_${id}`, 'device');
    principals[tier] = {
      kind: 'device',
      device: (await svc.devices.get(`dev_${id}`))!,
      authentication: await svc.authentications.addFactorAlone(auth.id, 'biometric', `dev_${id}`),
      tokenHash: 'order',
    };
  }
  for (let i = 0; i < AGENTS; i++) {
    const { id } = await svc.staff.create(
      { username: `order-${i}`, displayName: `Agent ${i}`, role: 'agent', password: 'order-password' },
      'test',
    );
    agents.push(id);
    await svc.pipeline.agents.setProfile(id, [{ skill: 'cards', level: 5 }], ['cards']);
  }
});

/** An empty pipeline at 09:00, every agent offline; the first agent has a shift, so slots can be booked. */
beforeEach(async () => {
  db.exec('DELETE FROM leases; DELETE FROM requests; DELETE FROM service_sessions;');
  clock.set(at('09:00'));
  for (const id of agents) {
    await svc.pipeline.agents.setSchedule(id, []);
    db.prepare(
      "UPDATE agents SET presence = 'offline', idle_since = NULL, wrap_up_until = NULL WHERE staff_id = ?",
    ).run(id);
  }
  await svc.pipeline.agents.setSchedule(agents[0]!, [{ start: at('09:00'), end: at('12:00') }]);
});

/** A lost-card request (cards queue) by a customer of this tier, now. */
async function create(tier: Tier): Promise<string> {
  const res = await svc.pipeline.createRequest(principals[tier], 'lost-card');
  assert.equal(res.status, 'queued');
  return res.status === 'queued' ? res.request.requestId : '';
}

const byCodeUnit = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const waitingIds = async () => (await svc.pipeline.requests.waiting(null)).map((r) => r.id);
/** The snapshot an agent's console gets (queue.snapshot / the WebSocket feed). */
const snapshot = async (): Promise<RequestView[]> =>
  svc.pipeline.requestViews(await svc.pipeline.requests.live(null));

/** The console's rows for the authority's snapshot, given to it in reverse (its own sort must order them). */
function consoleRows(views: readonly RequestView[]): RequestView[] {
  const q = new QueueStore(new FakeBridge());
  q.applySnapshot([], [...views].reverse());
  return q.rows();
}

/**
 * Makes the agents available one at a time: each is offered the first offerable request.
 * Returns the requests in the order they were offered.
 */
async function offersAsAgentsFreeUp(n: number): Promise<string[]> {
  const offered: string[] = [];
  const onOffer = (_agentId: string, requestId: string) => offered.push(requestId);
  svc.pipeline.on('offer', onOffer);
  try {
    for (const id of agents.slice(0, n)) await svc.pipeline.setPresence(id, 'available', null, 'test');
  } finally {
    svc.pipeline.off('offer', onOffer);
  }
  return offered;
}

describe('queue order: the authority pipeline', () => {
  it('priority first, then enqueue time, then id; a due callback slot goes first; listed, numbered and offered alike', async () => {
    const slot = await create('standard'); // 09:00, then booked for 09:30
    await svc.callbacks.book((await svc.pipeline.requests.get(slot))!, at('09:30'));
    const stdEarly = await create('standard'); // 09:00
    clock.set(at('09:01'));
    const plat = await create('platinum');
    clock.set(at('09:02'));
    // Three at the same millisecond and priority: the id decides (code-unit order, as SQLite compares TEXT).
    const golds = [await create('gold'), await create('gold'), await create('gold')].sort(byCodeUnit);
    clock.set(at('09:03'));
    const stdLate = await create('standard');
    clock.set(at('09:04'));
    const platLate = await create('platinum');

    const expected = [plat, platLate, ...golds, stdEarly, stdLate];
    assert.deepEqual(
      await waitingIds(),
      expected,
      'waiting: platinum, gold, standard; earlier first; ties by id',
    );
    const snap = await snapshot();
    assert.deepEqual(
      snap.filter((v) => v.state === 'waiting').map((v) => v.requestId),
      expected,
      'the snapshot lists them in queue order',
    );
    assert.equal(
      snap.find((v) => v.requestId === slot)?.state,
      'scheduled',
      'the booked one waits for its slot',
    );
    for (const [i, id] of expected.entries()) {
      assert.equal(snap.find((v) => v.requestId === id)?.position, i + 1, `snapshot position of #${i + 1}`);
      assert.equal(
        (await svc.pipeline.requestView((await svc.pipeline.requests.get(id))!)).position,
        i + 1,
        `the device's position of #${i + 1}`,
      );
    }
    assert.deepEqual(
      consoleRows(snap)
        .filter((v) => v.state === 'waiting')
        .map((v) => v.requestId),
      expected,
      "the console's queue shows the authority's order",
    );

    // The slot comes due: it waits again, boosted, ahead of everyone.
    clock.set(at('09:30'));
    await svc.pipeline.tick();
    const due = [slot, ...expected];
    assert.deepEqual(await waitingIds(), due, 'the due callback goes first');
    assert.deepEqual(
      consoleRows(await snapshot())
        .filter((v) => v.state === 'waiting')
        .map((v) => v.requestId),
      due,
    );

    assert.deepEqual(
      await offersAsAgentsFreeUp(AGENTS),
      due,
      'free agents are offered requests in queue order',
    );
    assert.deepEqual(await waitingIds(), []);
  });

  it('for any mix of tiers and arrival times, the console orders the snapshot as the authority lists and offers it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tier: fc.constantFrom(...TIERS),
            // Often 0: many requests share a millisecond, so the id breaks the tie.
            afterMs: fc.constantFrom(0, 0, 0, 1, 60_000),
          }),
          { minLength: 1, maxLength: AGENTS },
        ),
        async (arrivals) => {
          db.exec('DELETE FROM leases; DELETE FROM requests; DELETE FROM service_sessions;');
          for (const id of agents)
            db.prepare("UPDATE agents SET presence = 'offline' WHERE staff_id = ?").run(id);
          clock.set(at('09:00'));
          for (const a of arrivals) {
            clock.advance(a.afterMs);
            await create(a.tier);
          }
          const listed = await waitingIds();
          assert.equal(listed.length, arrivals.length);
          assert.deepEqual(
            consoleRows(await snapshot()).map((v) => v.requestId),
            listed,
            "the console's order is the authority's",
          );
          assert.deepEqual(
            await offersAsAgentsFreeUp(arrivals.length),
            listed,
            'offered in the listed order',
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('queue order: the console', () => {
  it('puts "B..." before "a..." on a tie, as SQLite does (localeCompare would not)', () => {
    const at0 = new Date(1_700_000_000_000).toISOString();
    const a = request({ requestId: 'a0000000', enqueuedAt: at0 });
    const b = request({ requestId: 'B0000000', enqueuedAt: at0 });
    assert.deepEqual(
      [a, b].sort(compareRequests).map((r) => r.requestId),
      ['B0000000', 'a0000000'],
    );
  });

  it('counts waiting requests per queue once per change (memoised by version)', () => {
    const bridge = new FakeBridge();
    const q = new QueueStore(bridge);
    const rows = [
      request({ queueId: 'cards' }),
      request({ queueId: 'cards' }),
      request({ queueId: 'payments' }),
      request({ queueId: 'payments', state: 'offered', agentId: 'stf_dana' }),
    ];
    bridge.emit('queue.snapshot', { queues: [], requests: rows });
    const w = q.waiting();
    assert.equal(w.total, 3);
    assert.deepEqual(w.byQueue, waitingByQueue(rows));
    assert.equal(q.waiting(), w, 'the same state gives the same figures object');
    bridge.emit('queue.delta', { queues: [], upserts: [{ ...rows[0]!, state: 'abandoned' }] });
    assert.notEqual(q.waiting(), w);
    assert.equal(q.waiting().total, 2);
    assert.equal(q.waiting().byQueue.get('cards')?.n, 1);
  });

  it('moves the rows behind a request that left up the queue at once (no stale "#2" until a reload)', () => {
    const bridge = new FakeBridge();
    const q = new QueueStore(bridge);
    const t = (s: number) => new Date(1_700_000_000_000 + s * 1000).toISOString();
    const rows = [
      request({ requestId: 'r1', queueId: 'cards', enqueuedAt: t(1), position: 1 }),
      request({ requestId: 'r2', queueId: 'cards', enqueuedAt: t(2), position: 2 }),
      request({ requestId: 'r3', queueId: 'cards', enqueuedAt: t(3), position: 3 }),
      request({ requestId: 'p1', queueId: 'payments', enqueuedAt: t(4), position: 1 }),
    ];
    bridge.emit('queue.snapshot', { queues: [], requests: rows });
    const positions = () => Object.fromEntries(q.rows().map((r) => [r.requestId, r.position]));
    assert.deepEqual(positions(), { r1: 1, r2: 2, r3: 3, p1: 1 });
    // The first customer of "cards" leaves: the authority's delta carries only that request.
    bridge.emit('queue.delta', {
      queues: [],
      upserts: [{ ...rows[0]!, state: 'abandoned', position: null }],
    });
    assert.deepEqual(positions(), { r2: 1, r3: 2, p1: 1 });
    // A higher-priority request joins "cards" at the front; an offered one has no position.
    bridge.emit('queue.delta', {
      queues: [],
      upserts: [
        request({ requestId: 'vip', queueId: 'cards', enqueuedAt: t(9), priority: 50, position: 1 }),
        { ...rows[1]!, state: 'offered', agentId: 'stf_dana', position: null },
      ],
    });
    assert.deepEqual(positions(), { vip: 1, r2: null, r3: 2, p1: 1 });
  });
});
