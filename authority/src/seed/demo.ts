import type { Services } from '../services.ts';

/** Demo customers with fake account data (the secure fields the agent panel unlocks by level). */
export const DEMO_CUSTOMERS = [
  {
    id: 'c_alice_martin_01',
    name: 'Alice Martin',
    code: 'ALICE-DEMO-2026',
    attributes: { tier: 'gold', segment: 'retail' },
    account: {
      accountNumber: 'GB29 NWBK 6016 1331 9268 19',
      balance: { amount: 18250.42, currency: 'GBP' },
      orders: [
        { id: 'ORD-10481', item: 'Travel insurance', status: 'active', amount: 89.0 },
        { id: 'ORD-10502', item: 'Card replacement', status: 'shipped', amount: 0 },
      ],
    },
    questions: [
      ['Name of your first school?', 'Riverside Primary'],
      ['City where you opened the account?', 'Leeds'],
    ],
  },
  {
    id: 'c_bob_okafor_002',
    name: 'Bob Okafor',
    code: 'BOB-DEMO-2026',
    attributes: { tier: 'standard', segment: 'retail' },
    account: {
      accountNumber: 'GB94 BARC 2003 1598 7654 32',
      balance: { amount: 412.07, currency: 'GBP' },
      orders: [{ id: 'ORD-10377', item: 'Mortgage statement', status: 'requested', amount: 0 }],
    },
    questions: [['Favourite football team?', 'Arsenal']],
  },
  {
    id: 'c_chen_wei_00003',
    name: 'Chen Wei',
    code: 'CHEN-DEMO-2026',
    attributes: { tier: 'platinum', segment: 'business' },
    account: {
      accountNumber: 'GB71 HBUK 4012 7512 3456 78',
      balance: { amount: 1204331.5, currency: 'GBP' },
      orders: [{ id: 'ORD-10611', item: 'FX forward EUR 250k', status: 'pending approval', amount: 250000 }],
    },
    questions: [["Mother's maiden name?", 'Lin']],
  },
] as const;

const ALL_DAY = { from: 0, to: 24 };
/**
 * Sam's shift: 12 hours a day, from 4 hours before the demo's first start. A fresh demo
 * (and every test, whatever the time of day it runs) has him on shift; he goes off shift
 * 8 hours after the first start, which the board then shows.
 */
const AROUND_FIRST_START = { from: -4, to: 8, fromFirstStart: true };
export const DEMO_STAFF = [
  {
    username: 'agent1',
    displayName: 'Dana Reyes',
    role: 'agent',
    password: 'demo-agent-1',
    queues: ['cards', 'payments', 'general'],
    skills: [
      { skill: 'cards', level: 8 },
      { skill: 'fx', level: 5 },
    ],
    hours: ALL_DAY,
  },
  {
    username: 'agent2',
    displayName: 'Sam Patel',
    role: 'agent',
    password: 'demo-agent-2',
    queues: ['payments', 'general', 'business'],
    skills: [
      { skill: 'mortgages', level: 7 },
      { skill: 'fx', level: 9 },
    ],
    hours: AROUND_FIRST_START,
  },
  {
    username: 'supervisor',
    displayName: 'Morgan Lee',
    role: 'supervisor',
    password: 'demo-supervisor',
    queues: ['cards', 'payments', 'business', 'general'],
    skills: [{ skill: 'cards', level: 10 }],
    hours: ALL_DAY,
  },
  {
    username: 'admin',
    displayName: 'Ira Novak',
    role: 'admin',
    password: 'demo-admin-1',
    queues: [],
    skills: [],
    hours: null,
  },
] as const;

const DAY_MS = 86_400_000;
/** Demo agents get shifts for this many days from the first start (a seeded data dir keeps them). */
export const DEMO_SHIFT_DAYS = 90;
const SEED_ACTOR = 'system:seed';
/** The audit action that marks a data dir as seeded: written once, when the first seed completes. */
export const DEMO_SEEDED_ACTION = 'demo.seed';

/**
 * Seed a data dir once; at every start, re-arm each demo customer's fixed enrolment code
 * (a demo convenience: a code only lets a person enrol a new device). Nothing else is
 * touched again once the data dir is marked seeded, so what admins change (staff, roles,
 * skills, queues, shifts, the pipeline, customers' data) survives restarts with `--demo`.
 */
export async function seedDemo(svc: Services): Promise<{
  /** True when this start seeded the data dir (false: it was seeded before; only the codes were re-armed). */
  seeded: boolean;
  codes: { name: string; code: string }[];
  staff: typeof DEMO_STAFF;
}> {
  const seed = svc.ctx.data.read.sessions.seed;
  const alreadySeeded = await seed.hasAuditRow(SEED_ACTOR, DEMO_SEEDED_ACTION);
  if (!alreadySeeded) await seedOnce(svc);
  for (const c of DEMO_CUSTOMERS)
    if (await seed.customerExists(c.id)) await svc.devices.issueEnrolmentCode(c.id, c.code);
  return {
    seeded: !alreadySeeded,
    codes: DEMO_CUSTOMERS.map((c) => ({ name: c.name, code: c.code })),
    staff: DEMO_STAFF,
  };
}

/**
 * The first seed: each demo customer and staff member that is missing (a data dir seeded by an
 * older build without the mark keeps what it has), an agent's profile and DEMO_SHIFT_DAYS of shifts
 * from today only when that agent is created here; then the mark.
 */
async function seedOnce(svc: Services): Promise<void> {
  const { clock, data } = svc.ctx;
  let customers = 0;
  let staff = 0;
  for (const c of DEMO_CUSTOMERS) {
    const added = await data.tx((r) =>
      r.sessions.seed.insertCustomer({
        id: c.id,
        displayName: c.name,
        attributes: c.attributes,
        account: c.account,
        at: clock.now(),
      }),
    );
    if (!added) continue;
    for (const [q, a] of c.questions) await svc.knowledge.add(c.id, q, a);
    customers++;
  }
  const today = Math.floor(clock.now() / DAY_MS) * DAY_MS;
  for (const s of DEMO_STAFF) {
    if (await data.read.sessions.seed.staffExists(s.username)) continue;
    const { id } = await svc.staff.create(s, SEED_ACTOR);
    staff++;
    if (!s.hours) continue;
    await svc.pipeline.agents.setProfile(id, [...s.skills], [...s.queues]);
    const hours = s.hours;
    const base = 'fromFirstStart' in hours ? clock.now() : today;
    const shifts = Array.from({ length: DEMO_SHIFT_DAYS }, (_, d) => ({
      start: base + d * DAY_MS + hours.from * 3_600_000,
      end: base + d * DAY_MS + hours.to * 3_600_000,
    }));
    await svc.pipeline.agents.setSchedule(id, shifts);
  }
  await data.tx((r) =>
    r.audit.append({
      actor: SEED_ACTOR,
      action: DEMO_SEEDED_ACTION,
      outcome: 'success',
      data: { customers, staff },
    }),
  );
}
