/**
 * Callback slots computed from agent schedules (in-process services, in-memory SQLite,
 * FakeClock; nothing sleeps). Slots come from the shifts of the agents eligible for the
 * request (queue membership + skills), are as long as the expected handling time rounded
 * up to 15 minutes, and hold as many callbacks as agents cover the whole slot, minus the
 * callbacks already booked over it.
 */
import type { Db } from '../../authority/src/store/db.ts';
import assert from 'node:assert/strict';
import { before, beforeEach, describe, it } from 'node:test';
import { FakeClock } from '../../authority/src/clock.ts';
import { parseConfig } from '../../authority/src/config.ts';
import { DomainError } from '../../authority/src/errors.ts';
import { STATUS_OF } from '../../authority/src/http/errors.ts';
import type { DevicePrincipal } from '../../authority/src/identity/devices.ts';
import { CALLBACK_BOOST } from '../../authority/src/pipeline/pipeline.ts';
import type { RequestRow } from '../../authority/src/pipeline/requests.ts';
import type { Services } from '../../authority/src/services.ts';
import { openTestServices } from '../support/services.ts';
import { TEST_PEPPER } from '../support/authority.ts';

const DAY1 = '2026-03-02';
const DAY2 = '2026-03-03';
const at = (hhmm: string, day = DAY1) => Date.parse(`${day}T${hhmm}:00.000Z`);
const MIN = 60_000;

type Customer = 'standard' | 'platinum';
let svc: Services;
/** The test's own handle on the services' SQLite file (their store writes through it). */
let db: Db;
let clock: FakeClock;
const staff: Record<'A' | 'B' | 'C' | 'D' | 'E', string> = { A: '', B: '', C: '', D: '', E: '' };
const principals = {} as Record<Customer, DevicePrincipal>;

before(async () => {
  clock = new FakeClock(at('09:00'));
  const config = parseConfig({ pinPepper: TEST_PEPPER, logLevel: 'silent', agentTimeoutSeconds: 3600 });
  ({ svc, db } = await openTestServices({ ...config, pinPepper: TEST_PEPPER }, clock));
  for (const [kind, tier] of [
    ['standard', 'standard'],
    ['platinum', 'platinum'],
  ] as const) {
    const id = `c_slots_${kind.padEnd(9, '0')}`;
    db.prepare(
      'INSERT INTO customers (id, display_name, attributes, account, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(id, `Slots ${kind}`, JSON.stringify({ tier, segment: 'retail' }), '{}', clock.now());
    db.prepare("INSERT INTO devices (id, customer_id, public_jwk, enrolled_at) VALUES (?, ?, '{}', ?)").run(
      `dev_${id}`,
      id,
      clock.now(),
    );
    const auth = await svc.authentications.create(id, `dev_${id}`, 'device');
    principals[kind] = {
      kind: 'device',
      device: (await svc.devices.get(`dev_${id}`))!,
      authentication: await svc.authentications.addFactorAlone(auth.id, 'biometric', `dev_${id}`),
      tokenHash: 'slots',
    };
  }
  for (const name of Object.keys(staff) as (keyof typeof staff)[])
    staff[name] = (
      await svc.staff.create(
        {
          username: `slots-${name}`,
          displayName: `Agent ${name}`,
          role: 'agent',
          password: 'slots-password',
        },
        'test',
      )
    ).id;
});

/** An empty pipeline at 09:00 on day 1; every agent offline, in no queue, with no shifts. */
beforeEach(async () => {
  db.exec(
    'DELETE FROM leases; DELETE FROM requests; DELETE FROM handle_times; DELETE FROM service_sessions;',
  );
  clock.set(at('09:00'));
  for (const id of Object.values(staff)) {
    await svc.pipeline.agents.setProfile(id, [], []);
    await svc.pipeline.agents.setSchedule(id, []);
    db.prepare(
      "UPDATE agents SET presence = 'offline', idle_since = NULL, wrap_up_until = NULL, last_seen_at = NULL WHERE staff_id = ?",
    ).run(id);
  }
});

async function agent(
  name: keyof typeof staff,
  queues: string[],
  skills: string[],
  shifts: [number, number][],
): Promise<string> {
  const id = staff[name];
  await svc.pipeline.agents.setProfile(
    id,
    skills.map((skill) => ({ skill, level: 5 })),
    queues,
  );
  await svc.pipeline.agents.setSchedule(
    id,
    shifts.map(([start, end]) => ({ start, end })),
  );
  return id;
}

async function request(option = 'lost-card', customer: Customer = 'standard'): Promise<RequestRow> {
  const res = await svc.pipeline.createRequest(principals[customer], option);
  assert.equal(res.status, 'queued');
  return await row(res.status === 'queued' ? res.request.requestId : '');
}

const row = async (id: string) => (await svc.pipeline.requests.get(id))!;
const slots = async (r: RequestRow, day = DAY1) =>
  (await svc.callbacks.slots(await row(r.id), day)).map((s) => ({
    ...s,
    start: new Date(s.start).toISOString().slice(11, 16),
  }));
const free = async (r: RequestRow, hhmm: string, day = DAY1) =>
  (await svc.callbacks.slots(await row(r.id), day)).find((s) => s.start === at(hhmm, day))?.free;
const book = async (r: RequestRow, hhmm: string, day = DAY1) =>
  await svc.callbacks.book(await row(r.id), at(hhmm, day));

async function status(fn: () => unknown): Promise<number | 'ok'> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (e instanceof DomainError) return STATUS_OF[e.kind];
    throw e;
  }
}

/** 15-minute slots from `from` (inclusive) to `to` (exclusive), all with the same free count. */
function quarterHours(
  from: string,
  to: string,
  freeCount: number,
): { start: string; end: number; free: number }[] {
  const out = [];
  for (let t = at(from); t < at(to); t += 15 * MIN)
    out.push({ start: new Date(t).toISOString().slice(11, 16), end: t + 15 * MIN, free: freeCount });
  return out;
}

describe('callback slots from agent schedules', () => {
  it('come from the shifts of eligible agents only (queue and skills), covering the whole slot', async () => {
    await agent('A', ['cards'], ['cards'], [[at('10:00'), at('12:10')]]); // eligible; 12:00-12:15 not fully covered
    await agent('B', ['cards'], [], [[at('12:00'), at('14:00')]]); // in the queue, lacks the "cards" skill
    await agent('C', ['payments'], ['cards'], [[at('14:00'), at('16:00')]]); // has the skill, not in the queue
    await agent('D', ['cards'], ['cards'], [[at('11:00'), at('13:00')]]); // eligible
    await agent('E', ['cards'], ['cards'], []); // no schedule: always on shift, but reserves no callback time
    const lost = await request('lost-card');
    assert.deepEqual(await slots(lost), [
      ...quarterHours('10:00', '11:00', 1),
      ...quarterHours('11:00', '12:00', 2),
      ...quarterHours('12:00', '13:00', 1),
    ]);
    // payment-failed needs no skill, in the payments queue: only C serves it.
    assert.deepEqual(await slots(await request('payment-failed')), quarterHours('14:00', '16:00', 1));
    // No shift tomorrow: no slots.
    assert.deepEqual(await slots(lost, DAY2), []);
    assert.equal(await status(async () => await svc.callbacks.slots(await row(lost.id), '2026-13-45')), 400);
  });

  it('are as long as the expected handling time rounded up to 15 minutes (measured times win)', async () => {
    await agent('A', ['cards'], ['cards'], [[at('10:00'), at('12:00')]]);
    const r = await request('lost-card');
    assert.equal((await svc.callbacks.view(await row(r.id), DAY1)).slotSeconds, 900, 'cards expects 300 s');
    // Measured handling times average 1000 s: 30-minute slots.
    const ins = db.prepare("INSERT INTO handle_times (queue_id, seconds, at) VALUES ('cards', ?, ?)");
    ins.run(900, clock.now() - 2000);
    ins.run(1100, clock.now() - 1000);
    const view = await svc.callbacks.view(await row(r.id), DAY1);
    assert.equal(view.slotSeconds, 1800);
    assert.deepEqual(
      view.slots.map((s) => [s.start.slice(11, 16), s.end.slice(11, 16), s.free]),
      [
        ['10:00', '10:30', 1],
        ['10:30', '11:00', 1],
        ['11:00', '11:30', 1],
        ['11:30', '12:00', 1],
      ],
    );
  });

  it('capacity is the agents covering the slot minus the bookings; a fully booked day refuses the next booking (409)', async () => {
    await agent('A', ['cards'], ['cards'], [[at('10:00'), at('11:00')]]);
    await agent('D', ['cards'], ['cards'], [[at('10:30'), at('11:00')]]);
    const first = await request();
    assert.deepEqual(
      (await slots(first)).map((s) => [s.start, s.free]),
      [
        ['10:00', 1],
        ['10:15', 1],
        ['10:30', 2],
        ['10:45', 2],
      ],
    );
    // Fill every seat of the day: 1 + 1 + 2 + 2 = 6 bookings.
    const booked = [first];
    for (let i = 0; i < 5; i++) booked.push(await request());
    for (const [i, t] of ['10:00', '10:15', '10:30', '10:30', '10:45', '10:45'].entries())
      await book(booked[i]!, t);
    for (const r of booked) assert.equal((await row(r.id)).state, 'scheduled');
    const late = await request();
    assert.deepEqual(
      (await slots(late)).map((s) => s.free),
      [0, 0, 0, 0],
      'every slot of the day is full',
    );
    for (const t of ['10:00', '10:15', '10:30', '10:45'])
      assert.equal(await status(async () => await book(late, t)), 409, `slot ${t} is full`);
    assert.equal((await row(late.id)).state, 'waiting', 'a refused booking changes nothing');
    assert.equal(await status(async () => await book(late, '10:07')), 409, 'not a slot start');
    assert.equal(await status(async () => await book(late, '12:00')), 409, 'nobody on shift');
  });

  it('moving a booking frees the old slot; keeping the place or leaving frees it too', async () => {
    await agent('A', ['cards'], ['cards'], [[at('10:00'), at('11:00')]]);
    const [r1, r2, r3] = [await request(), await request(), await request()];
    await book(r1, '10:00');
    assert.equal(await free(r2, '10:00'), 0);
    // The booked request sees its own seat as free (it may move within it).
    assert.equal(await free(r1, '10:00'), 1);
    await book(r1, '10:15');
    assert.equal(await free(r2, '10:00'), 1, 'the old slot is free again');
    assert.equal(await free(r2, '10:15'), 0);
    assert.deepEqual([(await row(r1.id)).slot_start, (await row(r1.id)).state], [at('10:15'), 'scheduled']);
    // Keep my place instead: the slot is freed and the request waits again.
    await svc.callbacks.keepPlace(await row(r1.id));
    assert.equal(await free(r2, '10:15'), 1);
    assert.deepEqual(
      [(await row(r1.id)).state, (await row(r1.id)).callback_mode, (await row(r1.id)).slot_start],
      ['waiting', 'keep_place', null],
    );
    // The customer leaves: the slot is freed.
    await book(r3, '10:30');
    assert.equal(await free(r2, '10:30'), 0);
    await svc.pipeline.abandon(r3.id, 'customer_left');
    assert.equal(await free(r2, '10:30'), 1);
    assert.equal(await status(async () => await book(r3, '10:45')), 409, 'an abandoned request cannot book');
  });

  it('a slot in the past or within the 5-minute lead is not offered (nor bookable)', async () => {
    await agent('A', ['cards'], ['cards'], [[at('08:00'), at('12:00')]]);
    clock.set(at('10:10'));
    const r = await request();
    // Exactly 5 minutes ahead is still offered.
    assert.equal((await slots(r))[0]!.start, '10:15');
    clock.set(at('10:10') + 1);
    assert.equal((await slots(r))[0]!.start, '10:30', '10:15 is now 1 ms inside the lead');
    assert.equal(await status(async () => await book(r, '10:15')), 409);
    assert.equal(await status(async () => await book(r, '09:00')), 409, 'in the past');
    assert.equal(await status(async () => await book(r, '10:30')), 'ok');
  });

  it('a slot ending after the session’s absolute expiry is not offered', async () => {
    await agent('A', ['cards'], ['cards'], [[at('06:00', DAY2), at('12:00', DAY2)]]);
    const r = await request(); // at 09:00: the session lives 24 h, until 09:00 tomorrow
    const expires = (await svc.sessions.get(r.session_id))!.absolute_expires_at;
    assert.equal(expires, at('09:00', DAY2));
    assert.deepEqual(
      (await slots(r, DAY2)).map((s) => s.start),
      quarterHours('06:00', '09:00', 1).map((s) => s.start),
    );
    assert.equal(await status(async () => await book(r, '09:00', DAY2)), 409);
    assert.equal(
      await status(async () => await book(r, '08:45', DAY2)),
      'ok',
      'the last slot ends exactly at the expiry',
    );
  });

  it('at slot time the booked request waits again with the callback boost and is offered first', async () => {
    const a = await agent('A', ['cards'], ['cards'], [[at('09:00'), at('12:00')]]);
    await svc.pipeline.setPresence(a, 'break', 'lunch', 'test');
    const older = await request('lost-card', 'platinum'); // priority 23, waiting since 09:00
    clock.advance(MIN);
    const cb = await request('lost-card', 'standard'); // priority 3
    await book(cb, '10:00');
    const base = (await row(cb.id)).priority;
    assert.ok((await row(older.id)).priority > base);
    clock.set(at('10:00') - 1);
    await svc.pipeline.touchAgent(a);
    await svc.pipeline.tick();
    assert.equal((await row(cb.id)).state, 'scheduled', 'one millisecond before the slot');
    clock.set(at('10:00'));
    await svc.pipeline.touchAgent(a);
    await svc.pipeline.tick();
    assert.deepEqual(
      [(await row(cb.id)).state, (await row(cb.id)).priority],
      ['waiting', base + CALLBACK_BOOST],
    );
    assert.equal(
      (await svc.pipeline.requestView(await await row(cb.id))).position,
      1,
      'ahead of the older, higher-priority request',
    );
    assert.equal((await svc.pipeline.requestView(await await row(older.id))).position, 2);
    await svc.pipeline.setPresence(a, 'available', null, 'test');
    assert.equal((await svc.pipeline.agentView(a)).offer?.requestId, cb.id, 'the callback is offered first');
    assert.equal((await row(older.id)).state, 'waiting');
  });

  it('moving or keeping the place of a due callback gives its boost back (no boost piles up)', async () => {
    await agent('A', ['cards'], ['cards'], [[at('09:00'), at('12:00')]]);
    const cb = await request();
    const base = (await row(cb.id)).priority;
    await book(cb, '09:15');
    clock.set(at('09:15'));
    await svc.pipeline.tick();
    assert.equal((await row(cb.id)).priority, base + CALLBACK_BOOST, 'due, nobody free');
    await book(cb, '09:30');
    assert.deepEqual([(await row(cb.id)).state, (await row(cb.id)).priority], ['scheduled', base]);
    clock.set(at('09:30'));
    await svc.pipeline.tick();
    assert.equal((await row(cb.id)).priority, base + CALLBACK_BOOST, 'one boost, not two');
    await svc.callbacks.keepPlace(await row(cb.id));
    assert.deepEqual(
      [(await row(cb.id)).state, (await row(cb.id)).priority],
      ['waiting', base],
      'back in the original place',
    );
  });

  it('keep-place with an availability window is not offered outside the window', async () => {
    const a = await agent('A', ['cards'], ['cards'], []);
    await svc.pipeline.setPresence(a, 'break', 'lunch', 'test');
    const r = await request();
    assert.equal(
      await status(
        async () => await svc.callbacks.keepPlace(await row(r.id), { from: at('10:00'), until: at('10:00') }),
      ),
      400,
    );
    assert.equal(
      await status(
        async () => await svc.callbacks.keepPlace(await row(r.id), { from: at('08:00'), until: at('09:00') }),
      ),
      400,
      'already over',
    );
    await svc.callbacks.keepPlace(await row(r.id), { from: at('10:00'), until: at('10:30') });
    await svc.pipeline.setPresence(a, 'available', null, 'test');
    assert.equal(
      (await row(r.id)).state,
      'waiting',
      'before the window: not offered although the agent is free',
    );
    clock.set(at('10:00') - 1);
    await svc.pipeline.touchAgent(a);
    await svc.pipeline.tick();
    assert.equal((await row(r.id)).state, 'waiting');
    clock.set(at('10:00'));
    await svc.pipeline.touchAgent(a);
    await svc.pipeline.tick();
    assert.deepEqual(
      [(await row(r.id)).state, (await row(r.id)).agent_id],
      ['offered', a],
      'offered when the window opens',
    );

    // After the window: never offered.
    await svc.pipeline.setPresence(a, 'break', 'lunch', 'test');
    await svc.callbacks.keepPlace(await row(r.id), { from: at('10:05'), until: at('10:20') });
    clock.set(at('10:20') + 1);
    await svc.pipeline.setPresence(a, 'available', null, 'test');
    assert.equal((await row(r.id)).state, 'waiting', 'one millisecond after the window');
    // Until is inclusive: the same request with a window ending now is offered.
    await svc.pipeline.setPresence(a, 'break', 'lunch', 'test');
    await svc.callbacks.keepPlace(await row(r.id), { from: at('10:05'), until: clock.now() + 1 });
    clock.advance(1);
    await svc.pipeline.setPresence(a, 'available', null, 'test');
    assert.equal((await row(r.id)).state, 'offered', 'at the end of the window');
  });
});
