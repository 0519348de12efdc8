/**
 * Model-based tests of the pipeline (fast-check `fc.commands` / `fc.modelRun`).
 *
 * The real system is the in-process Pipeline over an in-memory SQLite database with a
 * FakeClock; the reference model below is plain arrays written from the specification:
 * queue order = priority DESC, enqueued_at ASC, id ASC; each waiting request, in queue
 * order, is offered to the longest-idle eligible free agent; an offer lives exactly
 * offerTimeoutSeconds, then the agent goes 'missed'; wrap-up lasts wrapUpSeconds; a due
 * slot callback waits again with CALLBACK_BOOST (once); stale fences are refused.
 *
 * After every command the whole state (every request, every agent, the offers made by
 * that command in order) is compared with the model, and invariants are checked on the
 * real database alone (one holder per request, leases, fences, no loss, terminal states
 * stay terminal, dispatch leaves no eligible free agent next to an offerable request).
 *
 * Sizes: VD_MODEL_RUNS (default 200), VD_MODEL_COMMANDS (default 60); VD_MODEL_SEED replays.
 */
import type { Db } from '../../authority/src/store/db.ts';
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import fc from 'fast-check';
import type { PriorityRule } from '../../protocol/src/index.ts';
import { FakeClock } from '../../authority/src/clock.ts';
import { parseConfig } from '../../authority/src/config.ts';
import { DomainError } from '../../authority/src/errors.ts';
import { STATUS_OF } from '../../authority/src/http/errors.ts';
import type { DevicePrincipal } from '../../authority/src/identity/devices.ts';
import { CALLBACK_BOOST } from '../../authority/src/pipeline/pipeline.ts';
import type { RequestRow } from '../../authority/src/pipeline/requests.ts';
import { applyRules, estimateWait, type RuleInput } from '../../authority/src/pipeline/rules.ts';
import type { Services } from '../../authority/src/services.ts';
import { openTestServices } from '../support/services.ts';
import { TEST_PEPPER } from '../support/authority.ts';

const RUNS = Number(process.env.VD_MODEL_RUNS ?? 200);
const MAX_COMMANDS = Number(process.env.VD_MODEL_COMMANDS ?? 60);
const SEED = process.env.VD_MODEL_SEED ? Number(process.env.VD_MODEL_SEED) : undefined;

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const DAY = 24 * H;
const OFFER_TIMEOUT_S = 15;
const WRAP_UP_S = 60;
const AGENT_TIMEOUT_S = 120;
const SESSION_ABSOLUTE_S = 24 * 3600;
const LEAD_MS = 5 * MIN;
const SLOT_GRANULARITY_S = 900;

// ---- the world the model describes (an independent copy of authority/config/pipeline.json) ----

type Tier = 'gold' | 'platinum' | 'standard';
const CUSTOMERS: { id: string; tier: Tier; segment: 'retail' | 'business'; balance: number | null }[] = [
  { id: 'c_model_gold_0001', tier: 'gold', segment: 'retail', balance: 500 },
  { id: 'c_model_plat_0002', tier: 'platinum', segment: 'business', balance: 2_000_000 },
  { id: 'c_model_std_00003', tier: 'standard', segment: 'retail', balance: 50 },
  { id: 'c_model_biz_00004', tier: 'standard', segment: 'business', balance: null },
];
const OPTIONS: Record<string, { queue: string; level: number; skills: string[] }> = {
  'lost-card': { queue: 'cards', level: 2, skills: ['cards'] },
  'card-limit': { queue: 'cards', level: 3, skills: ['cards'] },
  'payment-failed': { queue: 'payments', level: 2, skills: [] },
  international: { queue: 'payments', level: 3, skills: ['fx'] },
  mortgage: { queue: 'general', level: 2, skills: ['mortgages'] },
  other: { queue: 'general', level: 1, skills: [] },
};
const EXPECTED_HANDLE_S: Record<string, number> = { cards: 300, payments: 420, business: 600, general: 240 };

/** Priority rules of pipeline.json, written out: tier bonus, high balance, biometric; business payments move. */
function ruled(customer: number, option: string, level: number): { queue: string; priority: number } {
  const c = CUSTOMERS[customer]!;
  const leaf = OPTIONS[option]!;
  const priority =
    (c.tier === 'platinum' ? 20 : 0) +
    (c.tier === 'gold' ? 10 : 0) +
    (c.balance !== null && c.balance >= 100_000 ? 5 : 0) +
    (level >= 3 ? 3 : 0);
  const queue = c.segment === 'business' && leaf.queue === 'payments' ? 'business' : leaf.queue;
  return { queue, priority };
}

const AGENTS: { username: string; queues: string[]; skills: string[]; shifts: [number, number][] }[] = [
  // No schedule: always on shift, but gives no callback capacity.
  { username: 'model-a1', queues: ['cards', 'payments', 'general'], skills: ['cards', 'fx'], shifts: [] },
  {
    username: 'model-a2',
    queues: ['payments', 'general', 'business'],
    skills: ['mortgages', 'fx'],
    shifts: [[T0 - H, T0 + 3 * DAY]],
  },
  // Off shift from 10:30 to 12:00 and after 14:00.
  {
    username: 'model-a3',
    queues: ['cards', 'business'],
    skills: ['cards'],
    shifts: [
      [T0 - H, T0 + 1.5 * H],
      [T0 + 3 * H, T0 + 5 * H],
    ],
  },
  { username: 'model-a4', queues: ['general'], skills: [], shifts: [[T0 - H, T0 + 11 * H]] },
];

// ---- the reference model -------------------------------------------------------------

type State = 'waiting' | 'offered' | 'assigned' | 'scheduled' | 'completed' | 'abandoned';
type Presence = 'offline' | 'available' | 'busy' | 'wrap_up' | 'break' | 'missed';

interface MReq {
  id: string;
  queue: string;
  skills: string[];
  base: number;
  /** A due slot callback carries CALLBACK_BOOST once. */
  boosted: boolean;
  enqueuedAt: number;
  state: State;
  fence: number;
  agent: string | null;
  offerExpiresAt: number | null;
  assignedAt: number | null;
  mode: 'keep_place' | 'slot';
  windowFrom: number | null;
  windowUntil: number | null;
  slotStart: number | null;
  slotEnd: number | null;
  sessionExpires: number;
  /** The customer left while an agent held it: that agent may still complete it (answered ok, state unchanged). */
  leftWhileAssigned?: boolean;
}

interface MAgent {
  id: string;
  queues: Set<string>;
  skills: Set<string>;
  shifts: [number, number][];
  presence: Presence;
  idleSince: number | null;
  wrapUpUntil: number | null;
  lastSeen: number | null;
  /** In wrap-up: a break was chosen to follow it (the authority keeps it as the wrap-up's reason code). */
  nextBreak: boolean;
}

interface Model {
  now: number;
  reqs: MReq[];
  agents: MAgent[];
  handle: Map<string, { seconds: number; at: number; seq: number }[]>;
  seq: number;
  /** Offers made by the current command, in order. */
  offers: [string, string][];
  /** The current command ran a dispatch. */
  dispatched: boolean;
}

const prio = (r: MReq) => r.base + (r.boosted ? CALLBACK_BOOST : 0);
const byQueueOrder = (x: MReq, y: MReq) =>
  prio(y) - prio(x) || x.enqueuedAt - y.enqueuedAt || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
const onShift = (a: { shifts: [number, number][] }, now: number) =>
  a.shifts.length === 0 || a.shifts.some(([s, e]) => s <= now && e > now);
const eligible = (a: { queues: Set<string>; skills: Set<string> }, r: { queue: string; skills: string[] }) =>
  a.queues.has(r.queue) && r.skills.every((s) => a.skills.has(s));
const inWindow = (r: { windowFrom: number | null; windowUntil: number | null }, now: number) =>
  !(r.windowFrom !== null && r.windowFrom > now) && !(r.windowUntil !== null && r.windowUntil < now);
const offerOf = (m: Model, agentId: string) =>
  m.reqs.find((r) => r.state === 'offered' && r.agent === agentId);
const assignedOf = (m: Model, agentId: string) =>
  m.reqs.find((r) => r.state === 'assigned' && r.agent === agentId);

function setPresence(m: Model, a: MAgent, p: Presence, wrapUpUntil: number | null = null): void {
  a.idleSince = p === 'available' ? (a.presence === 'available' ? a.idleSince : m.now) : null;
  a.presence = p;
  a.wrapUpUntil = wrapUpUntil;
  a.nextBreak = false;
}

function toWaiting(r: MReq): void {
  r.state = 'waiting';
  r.agent = null;
  r.offerExpiresAt = null;
}

/** After a request the agent wraps up; an agent who went offline mid-call stays offline. */
function toWrapUp(m: Model, a: MAgent): void {
  if (a.presence === 'offline') return;
  if (WRAP_UP_S > 0) setPresence(m, a, 'wrap_up', m.now + WRAP_UP_S * S);
  else setPresence(m, a, 'available');
}

function dispatch(m: Model): void {
  m.dispatched = true;
  const free = m.agents
    .filter((a) => a.presence === 'available' && onShift(a, m.now) && !offerOf(m, a.id))
    .sort((x, y) => x.idleSince! - y.idleSince! || x.id.localeCompare(y.id));
  for (const r of m.reqs.filter((q) => q.state === 'waiting').sort(byQueueOrder)) {
    if (!free.length) break;
    if (!inWindow(r, m.now)) continue;
    const i = free.findIndex((a) => eligible(a, r));
    if (i < 0) continue;
    const a = free.splice(i, 1)[0]!;
    r.state = 'offered';
    r.fence += 1;
    r.agent = a.id;
    r.offerExpiresAt = m.now + OFFER_TIMEOUT_S * S;
    m.offers.push([a.id, r.id]);
  }
}

function tick(m: Model): void {
  for (const r of m.reqs) {
    if (r.state !== 'offered' || r.offerExpiresAt! > m.now) continue;
    const a = m.agents.find((x) => x.id === r.agent)!;
    toWaiting(r);
    setPresence(m, a, 'missed');
    count('tick: offer expired');
  }
  for (const a of m.agents)
    if (a.presence === 'wrap_up' && a.wrapUpUntil! <= m.now) {
      // The break chosen during the wrap-up starts now, else the agent is available.
      setPresence(m, a, a.nextBreak ? 'break' : 'available');
      count('tick: wrap-up over');
    }
  for (const r of m.reqs)
    if (r.state === 'scheduled' && r.slotStart! <= m.now) {
      count('tick: due callback');
      r.state = 'waiting';
      r.boosted = true;
    }
  const silentSince = m.now - AGENT_TIMEOUT_S * S;
  for (const a of m.agents) {
    if (a.presence === 'offline' || a.presence === 'busy') continue;
    if (a.lastSeen !== null && a.lastSeen >= silentSince) continue;
    const o = offerOf(m, a.id);
    if (o) toWaiting(o);
    setPresence(m, a, 'offline');
    count('tick: silent agent offline');
  }
  dispatch(m);
}

function handleSeconds(m: Model, queue: string): number {
  const last = (m.handle.get(queue) ?? [])
    .slice()
    .sort((x, y) => y.at - x.at || x.seq - y.seq)
    .slice(0, 20);
  if (!last.length) return EXPECTED_HANDLE_S[queue]!;
  return Math.max(1, Math.round(last.reduce((s, x) => s + x.seconds, 0) / last.length));
}

/** Callback slots of a UTC day, from the specification (eligible agents' shifts minus bookings). */
function modelSlots(m: Model, r: MReq, day: string): { start: number; end: number; free: number }[] {
  const dayStart = Date.parse(`${day}T00:00:00.000Z`);
  const slotMs = Math.ceil(handleSeconds(m, r.queue) / SLOT_GRANULARITY_S) * SLOT_GRANULARITY_S * S;
  const agents = m.agents.filter((a) => eligible(a, r));
  const queues = new Set(agents.flatMap((a) => [...a.queues]));
  const out: { start: number; end: number; free: number }[] = [];
  for (let t = dayStart; t + slotMs <= dayStart + DAY; t += slotMs) {
    if (t < m.now + LEAD_MS || t + slotMs > r.sessionExpires) continue;
    const capacity = agents.filter((a) => a.shifts.some(([s, e]) => s <= t && e >= t + slotMs)).length;
    if (!capacity) continue;
    const booked = m.reqs.filter(
      (b) =>
        b.id !== r.id &&
        b.state === 'scheduled' &&
        b.mode === 'slot' &&
        b.slotStart! < t + slotMs &&
        b.slotEnd! > t &&
        queues.has(b.queue),
    ).length;
    out.push({ start: t, end: t + slotMs, free: Math.max(0, capacity - booked) });
  }
  return out;
}

const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);

// ---- the real system ---------------------------------------------------------------------

interface World {
  svc: Services;
  /** The test's own handle on the services' SQLite file (their store writes through it). */
  db: Db;
  clock: FakeClock;
  agentIds: string[];
  /** principals[customer][level] */
  principals: DevicePrincipal[][];
  offers: [string, string][];
  /** Terminal rows seen so far (they must never change again). */
  terminal: Map<string, string>;
  fences: Map<string, number>;
  statements: Map<string, Statement>;
}

async function buildWorld(): Promise<World> {
  const clock = new FakeClock(T0);
  const config = parseConfig({
    pinPepper: TEST_PEPPER,
    logLevel: 'silent',
    offerTimeoutSeconds: OFFER_TIMEOUT_S,
    wrapUpSeconds: WRAP_UP_S,
    agentTimeoutSeconds: AGENT_TIMEOUT_S,
    sessionAbsoluteSeconds: SESSION_ABSOLUTE_S,
    authenticationTtlSeconds: 86_400,
  });
  const { svc, db } = await openTestServices({ ...config, pinPepper: TEST_PEPPER }, clock);
  const principals: DevicePrincipal[][] = [];
  for (const c of CUSTOMERS) {
    db.prepare(
      'INSERT INTO customers (id, display_name, attributes, account, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(
      c.id,
      `Model ${c.tier}`,
      JSON.stringify({ tier: c.tier, segment: c.segment }),
      JSON.stringify(c.balance === null ? {} : { balance: { amount: c.balance, currency: 'GBP' } }),
      T0,
    );
    const deviceId = `dev_${c.id}`;
    db.prepare("INSERT INTO devices (id, customer_id, public_jwk, enrolled_at) VALUES (?, ?, '{}', ?)").run(
      deviceId,
      c.id,
      T0,
    );
    const device = (await svc.devices.get(deviceId))!;
    const byLevel: DevicePrincipal[] = [];
    for (const extra of [null, null, 'pin', 'biometric'] as const) {
      let auth = await svc.authentications.create(c.id, deviceId, 'device');
      if (extra) auth = await svc.authentications.addFactorAlone(auth.id, extra, deviceId);
      byLevel.push({ kind: 'device', device, authentication: auth, tokenHash: 'model' });
    }
    assert.deepEqual(
      byLevel.map((p) => p.authentication.level),
      [1, 1, 2, 3],
    );
    principals.push(byLevel);
  }
  const agentIds: string[] = [];
  for (const a of AGENTS) {
    const staff = await svc.staff.create(
      { username: a.username, displayName: a.username, role: 'agent', password: 'model-password-1' },
      'test',
    );
    await svc.pipeline.agents.setProfile(
      staff.id,
      a.skills.map((skill) => ({ skill, level: 5 })),
      a.queues,
    );
    await svc.pipeline.agents.setSchedule(
      staff.id,
      a.shifts.map(([start, end]) => ({ start, end })),
    );
    agentIds.push(staff.id);
  }
  const w: World = {
    svc,
    db,
    clock,
    agentIds,
    principals,
    offers: [],
    terminal: new Map(),
    fences: new Map(),
    statements: new Map(),
  };
  svc.pipeline.on('offer', (agentId, requestId) => w.offers.push([agentId, requestId]));
  return w;
}

/** Back to an empty pipeline at T0, agents offline; staff, customers and authentications are kept. */
function resetWorld(w: World): Model {
  const db = w.db;
  db.exec(
    'DELETE FROM custody; DELETE FROM transfers; DELETE FROM device_commands; DELETE FROM remote_control; DELETE FROM leases; DELETE FROM requests; DELETE FROM handle_times; DELETE FROM service_sessions;',
  );
  db.prepare(
    "UPDATE agents SET presence = 'offline', since = ?, reason_code = NULL, wrap_up_until = NULL, idle_since = NULL, last_seen_at = NULL",
  ).run(T0);
  w.clock.set(T0);
  w.offers.length = 0;
  w.terminal.clear();
  w.fences.clear();
  return {
    now: T0,
    reqs: [],
    agents: AGENTS.map((a, i) => ({
      id: w.agentIds[i]!,
      queues: new Set(a.queues),
      skills: new Set(a.skills),
      shifts: a.shifts,
      presence: 'offline',
      idleSince: null,
      wrapUpUntil: null,
      nextBreak: false,
      lastSeen: null,
    })),
    handle: new Map(),
    seq: 0,
    offers: [],
    dispatched: false,
  };
}

type Outcome = 'ok' | number;
async function outcome(fn: () => unknown): Promise<Outcome> {
  try {
    await fn();
    return 'ok';
  } catch (e) {
    if (e instanceof DomainError) return STATUS_OF[e.kind];
    throw e;
  }
}

// ---- checks after every command ----------------------------------------------------------

interface AgentRowLite {
  staff_id: string;
  presence: Presence;
  idle_since: number | null;
  wrap_up_until: number | null;
  last_seen_at: number | null;
  skills: string;
  queues: string;
}

type Statement = Database.Statement<[], unknown>;

/** Rows of a read-only query, its statement prepared once per world. */
function all<T>(w: World, sql: string): T[] {
  let stmt = w.statements.get(sql);
  if (!stmt) w.statements.set(sql, (stmt = w.db.prepare<[], unknown>(sql)));
  return stmt.all() as T[];
}

function verify(m: Model, w: World, what: string): void {
  assert.equal(w.clock.now(), m.now, `${what}: clock`);
  const rows = all<RequestRow>(w, 'SELECT * FROM requests');
  // No loss, nothing extra: every created request is there, in exactly one state.
  assert.equal(rows.length, m.reqs.length, `${what}: number of requests`);
  const actual = Object.fromEntries(
    rows.map((r) => [
      r.id,
      {
        state: r.state,
        fence: r.fence,
        agent: r.agent_id,
        priority: r.priority,
        queue: r.queue_id,
        enqueuedAt: r.enqueued_at,
        offerExpiresAt: r.offer_expires_at,
        assignedAt: r.assigned_at,
        mode: r.callback_mode,
        window: [r.window_from, r.window_until],
        slot: [r.slot_start, r.slot_end],
      },
    ]),
  );
  const expected = Object.fromEntries(
    m.reqs.map((r) => [
      r.id,
      {
        state: r.state,
        fence: r.fence,
        agent: r.agent,
        priority: prio(r),
        queue: r.queue,
        enqueuedAt: r.enqueuedAt,
        offerExpiresAt: r.offerExpiresAt,
        assignedAt: r.assignedAt,
        mode: r.mode,
        window: [r.windowFrom, r.windowUntil],
        slot: [r.slotStart, r.slotEnd],
      },
    ]),
  );
  assert.deepEqual(actual, expected, `${what}: requests differ from the model`);

  const agents = all<AgentRowLite>(
    w,
    'SELECT staff_id, presence, idle_since, wrap_up_until, last_seen_at, skills, queues FROM agents',
  );
  assert.deepEqual(
    Object.fromEntries(
      agents.map((a) => [a.staff_id, [a.presence, a.idle_since, a.wrap_up_until, a.last_seen_at]]),
    ),
    Object.fromEntries(m.agents.map((a) => [a.id, [a.presence, a.idleSince, a.wrapUpUntil, a.lastSeen]])),
    `${what}: agents differ from the model [presence, idle since, wrap-up until, last seen]`,
  );

  // Ordering: each offer went to the request and agent the model picked, in the same order.
  assert.deepEqual(w.offers, m.offers, `${what}: offers (agent, request) differ from the model`);

  invariants(m, w, rows, agents, what);
}

/** Checked on the real database alone. */
function invariants(m: Model, w: World, rows: RequestRow[], agents: AgentRowLite[], what: string): void {
  const now = w.clock.now();
  // An agent holds at most one request (an offer or an assignment); a request has at most one holder.
  for (const a of agents) {
    const held = rows.filter(
      (r) => r.agent_id === a.staff_id && (r.state === 'offered' || r.state === 'assigned'),
    );
    assert.ok(
      held.length <= 1,
      `${what}: agent ${a.staff_id} holds ${held.map((r) => `${r.id}:${r.state}`).join(', ')}`,
    );
    if (a.presence === 'busy')
      assert.equal(held[0]?.state, 'assigned', `${what}: a busy agent has its request`);
  }
  const open = all<{ request_id: string; fence: number; kind: string; agent_id: string }>(
    w,
    'SELECT request_id, fence, kind, agent_id FROM leases WHERE ended_at IS NULL',
  );
  for (const r of rows) {
    const leases = open.filter((l) => l.request_id === r.id);
    if (r.state === 'offered' || r.state === 'assigned') {
      assert.deepEqual(
        leases.map((l) => [l.kind, l.fence, l.agent_id]),
        [[r.state === 'offered' ? 'offer' : 'assignment', r.fence, r.agent_id]],
        `${what}: the one open lease of ${r.state} request ${r.id}`,
      );
      assert.ok(r.agent_id, `${what}: a held request names its holder`);
    } else {
      assert.equal(leases.length, 0, `${what}: ${r.state} request ${r.id} has no open lease`);
    }
    if (r.state === 'offered') {
      assert.ok(r.offer_expires_at !== null, `${what}: an offer has an expiry`);
      const holder = agents.find((a) => a.staff_id === r.agent_id);
      assert.equal(holder?.presence, 'available', `${what}: an offer is held by an available agent`);
    }
    if (r.state === 'waiting' || r.state === 'scheduled')
      assert.equal(r.agent_id, null, `${what}: a queued request has no holder`);
    // Fences only grow.
    const before = w.fences.get(r.id) ?? 0;
    assert.ok(r.fence >= before, `${what}: fence of ${r.id} went back from ${before} to ${r.fence}`);
    w.fences.set(r.id, r.fence);
    // Completed and abandoned requests never come back, nor change.
    const frozen = JSON.stringify([r.state, r.fence, r.agent_id, r.priority, r.ended_at]);
    const seen = w.terminal.get(r.id);
    if (seen !== undefined) assert.equal(frozen, seen, `${what}: terminal request ${r.id} changed`);
    if (r.state === 'completed' || r.state === 'abandoned') w.terminal.set(r.id, frozen);
  }
  // After a dispatch no offerable waiting request sits next to a free agent that could take it.
  if (m.dispatched) {
    const shifts = all<{ staff_id: string; s: number; e: number }>(
      w,
      'SELECT staff_id, starts_at AS s, ends_at AS e FROM shifts',
    );
    for (const a of agents) {
      if (a.presence !== 'available') continue;
      if (rows.some((r) => r.state === 'offered' && r.agent_id === a.staff_id)) continue;
      const mine = shifts.filter((x) => x.staff_id === a.staff_id).map((x): [number, number] => [x.s, x.e]);
      if (!onShift({ shifts: mine }, now)) continue;
      const info = {
        queues: new Set(JSON.parse(a.queues) as string[]),
        skills: new Set((JSON.parse(a.skills) as { skill: string }[]).map((x) => x.skill)),
      };
      for (const r of rows) {
        if (r.state !== 'waiting') continue;
        if (!inWindow({ windowFrom: r.window_from, windowUntil: r.window_until }, now)) continue;
        const ok = eligible(info, { queue: r.queue_id, skills: JSON.parse(r.skills) as string[] });
        assert.ok(!ok, `${what}: free agent ${a.staff_id} could take waiting request ${r.id}`);
      }
    }
  }
}

// ---- commands --------------------------------------------------------------------------------

let executed = 0;
/** How often each outcome happened (VD_MODEL_STATS=1 prints them; the main ones must occur). */
const stats = new Map<string, number>();
const count = (what: string) => stats.set(what, (stats.get(what) ?? 0) + 1);

abstract class Cmd implements fc.AsyncCommand<Model, World> {
  abstract check(m: Readonly<Model>): boolean;
  abstract act(m: Model, w: World): Promise<void>;
  abstract toString(): string;
  expect(got: Outcome, want: Outcome, label: string): void {
    assert.equal(got, want, `${this.toString()}: ${label}`);
    count(`${this.constructor.name} ${want}: ${label}`);
  }
  async run(m: Model, w: World): Promise<void> {
    executed++;
    m.offers = [];
    m.dispatched = false;
    w.offers.length = 0;
    await this.act(m, w);
    verify(m, w, this.toString());
    count(`${this.constructor.name}`);
    if (m.offers.length) count('offers made');
  }
}

class CreateRequest extends Cmd {
  constructor(
    readonly customer: number,
    readonly option: string,
    readonly level: number,
  ) {
    super();
  }
  check(): boolean {
    return true;
  }
  async act(m: Model, w: World): Promise<void> {
    const res = await w.svc.pipeline.createRequest(w.principals[this.customer]![this.level]!, this.option);
    const leaf = OPTIONS[this.option]!;
    if (this.level < leaf.level) {
      assert.equal(res.status, 'step_up_required', 'below the option level nothing is queued');
      return void count('CreateRequest: step-up required');
    }
    assert.equal(res.status, 'queued');
    if (res.status !== 'queued') return;
    const { queue, priority } = ruled(this.customer, this.option, this.level);
    m.reqs.push({
      id: res.request.requestId,
      queue,
      skills: leaf.skills,
      base: priority,
      boosted: false,
      enqueuedAt: m.now,
      state: 'waiting',
      fence: 0,
      agent: null,
      offerExpiresAt: null,
      assignedAt: null,
      mode: 'keep_place',
      windowFrom: null,
      windowUntil: null,
      slotStart: null,
      slotEnd: null,
      sessionExpires: m.now + SESSION_ABSOLUTE_S * S,
    });
    dispatch(m);
  }
  toString(): string {
    return `CreateRequest(${CUSTOMERS[this.customer]!.tier}/${CUSTOMERS[this.customer]!.segment}, ${this.option}, L${this.level})`;
  }
}

/**
 * A sign of life at `now`: stored unless the stored one is less than a tenth of the agent
 * timeout old (each is a durable commit, so they are thinned out).
 */
function seen(a: MAgent, now: number): void {
  if (a.lastSeen !== null && now >= a.lastSeen && now - a.lastSeen < AGENT_TIMEOUT_S * 100) return;
  a.lastSeen = now;
}

/** Agent commands go through a staff route, and every staff route call is a sign of life. */
abstract class AgentCmd extends Cmd {
  constructor(readonly agent: number) {
    super();
  }
  agentOf(m: Model): MAgent {
    return m.agents[this.agent]!;
  }
  async touch(m: Model, w: World): Promise<MAgent> {
    const a = this.agentOf(m);
    await w.svc.pipeline.touchAgent(a.id);
    seen(a, m.now);
    return a;
  }
}

class SetPresence extends AgentCmd {
  constructor(
    agent: number,
    readonly state: 'available' | 'break' | 'offline',
  ) {
    super(agent);
  }
  check(): boolean {
    return true;
  }
  async act(m: Model, w: World): Promise<void> {
    const a = await this.touch(m, w);
    const got = await outcome(
      async () =>
        await w.svc.pipeline.setPresence(a.id, this.state, this.state === 'break' ? 'lunch' : null, 'test'),
    );
    // Holding a customer (busy, or an assignment kept while offline) only allows going offline.
    if ((a.presence === 'busy' || assignedOf(m, a.id)) && this.state !== 'offline') {
      this.expect(got, 409, 'finish the current request first');
      return;
    }
    this.expect(got, 'ok', this.state);
    a.lastSeen = m.now; // the change's own unit records the sign of life
    // In wrap-up a break is the next status (the wrap-up and its time go on); available takes
    // a next status back (still in wrap-up); offline applies at once.
    if (a.presence === 'wrap_up' && (this.state === 'break' || (this.state === 'available' && a.nextBreak))) {
      a.nextBreak = this.state === 'break';
      dispatch(m);
      return;
    }
    setPresence(m, a, this.state);
    if (this.state !== 'available') {
      const o = offerOf(m, a.id);
      if (o) toWaiting(o);
    }
    dispatch(m);
  }
  toString(): string {
    return `SetPresence(a${this.agent + 1}, ${this.state})`;
  }
}

type FenceMode = 'current' | 'stale' | 'ahead';
const fenceFor = (r: MReq, mode: FenceMode) =>
  mode === 'current' ? r.fence : mode === 'stale' ? r.fence - 1 : r.fence + 1;

/** The request an agent command aims at: its own offer (or assignment, for complete), or any request (pick). */
abstract class FencedCmd extends AgentCmd {
  constructor(
    agent: number,
    readonly fence: FenceMode,
    readonly pick: number | 'own',
  ) {
    super(agent);
  }
  /** The request this kind of command acts on for its holder: an offer (accept, reject). */
  own(m: Model, agentId: string): MReq | undefined {
    return offerOf(m, agentId);
  }
  /** With 'own', the agent is the n-th of those holding such a request (so the command is rarely wasted). */
  override agentOf(m: Model): MAgent {
    if (this.pick !== 'own') return m.agents[this.agent]!;
    const holders = m.agents.filter((a) => this.own(m, a.id));
    return holders[this.agent % holders.length]!;
  }
  check(m: Readonly<Model>): boolean {
    return this.pick === 'own' ? m.agents.some((a) => this.own(m as Model, a.id)) : m.reqs.length > 0;
  }
  target(m: Model, a: MAgent): MReq {
    return this.pick === 'own' ? this.own(m, a.id)! : m.reqs[this.pick % m.reqs.length]!;
  }
  args(): string {
    return `${this.pick === 'own' ? `holder ${this.agent}, own request` : `a${this.agent + 1}, #${this.pick}`}, ${this.fence} fence`;
  }
}

class Accept extends FencedCmd {
  async act(m: Model, w: World): Promise<void> {
    const a = await this.touch(m, w);
    const r = this.target(m, a);
    const got = await outcome(async () => await w.svc.pipeline.accept(a.id, r.id, fenceFor(r, this.fence)));
    if (this.fence !== 'current')
      return void this.expect(got, 409, 'a stale or unknown fence is always refused');
    if (r.agent !== a.id) return void this.expect(got, 409, 'not yours');
    if (r.state === 'assigned') return void this.expect(got, 'ok', 'a retried accept');
    if (r.state === 'offered' && r.offerExpiresAt! > m.now) {
      this.expect(got, 'ok', 'the current fence of a live offer is accepted');
      a.lastSeen = m.now; // the accept's own unit records the sign of life
      r.state = 'assigned';
      r.assignedAt = m.now;
      r.offerExpiresAt = null;
      setPresence(m, a, 'busy');
      return;
    }
    this.expect(got, 409, `accept of a ${r.state} request`);
  }
  toString(): string {
    return `Accept(${this.args()})`;
  }
}

class Reject extends FencedCmd {
  async act(m: Model, w: World): Promise<void> {
    const a = await this.touch(m, w);
    const r = this.target(m, a);
    const got = await outcome(async () => await w.svc.pipeline.reject(a.id, r.id, fenceFor(r, this.fence)));
    if (this.fence !== 'current')
      return void this.expect(got, 409, 'a stale or unknown fence is always refused');
    if (r.agent !== a.id) return void this.expect(got, 409, 'not yours');
    if (r.state !== 'offered') return void this.expect(got, 409, `reject of a ${r.state} request`);
    this.expect(got, 'ok', 'the current fence of an offer rejects');
    toWaiting(r);
    setPresence(m, a, 'missed');
    dispatch(m);
  }
  toString(): string {
    return `Reject(${this.args()})`;
  }
}

class Complete extends FencedCmd {
  override own(m: Model, agentId: string): MReq | undefined {
    return assignedOf(m, agentId);
  }
  async act(m: Model, w: World): Promise<void> {
    const a = await this.touch(m, w);
    const r = this.target(m, a);
    const got = await outcome(async () => await w.svc.pipeline.complete(a.id, r.id, fenceFor(r, this.fence)));
    if (this.fence !== 'current')
      return void this.expect(got, 409, 'a stale or unknown fence is always refused');
    if (r.agent !== a.id) return void this.expect(got, 409, 'not yours');
    if (r.state === 'completed') return void this.expect(got, 'ok', 'a retried complete');
    if (r.state === 'abandoned' && r.leftWhileAssigned)
      return void this.expect(got, 'ok', 'completing after the customer left keeps the wrap-up');
    if (r.state !== 'assigned') return void this.expect(got, 409, `complete of a ${r.state} request`);
    this.expect(got, 'ok', 'the current fence of an assignment completes');
    r.state = 'completed';
    const list = m.handle.get(r.queue) ?? [];
    list.push({ seconds: Math.round((m.now - r.assignedAt!) / S), at: m.now, seq: m.seq++ });
    m.handle.set(r.queue, list);
    toWrapUp(m, a);
    dispatch(m);
  }
  toString(): string {
    return `Complete(${this.args()})`;
  }
}

/** The customer leaves: any request (#n), or the n-th live one. */
class Cancel extends Cmd {
  constructor(
    readonly pick: number,
    readonly live: boolean,
  ) {
    super();
  }
  candidates(m: Readonly<Model>): readonly MReq[] {
    return this.live ? m.reqs.filter((r) => r.state !== 'completed' && r.state !== 'abandoned') : m.reqs;
  }
  check(m: Readonly<Model>): boolean {
    return this.candidates(m).length > 0;
  }
  async act(m: Model, w: World): Promise<void> {
    const list = this.candidates(m) as MReq[];
    const r = list[this.pick % list.length]!;
    await w.svc.pipeline.abandon(r.id, 'customer_left');
    if (r.state === 'completed' || r.state === 'abandoned') return; // nothing moves
    const was = r.state;
    r.state = 'abandoned';
    r.offerExpiresAt = null;
    r.leftWhileAssigned = was === 'assigned';
    if (was === 'assigned')
      toWrapUp(
        m,
        m.agents.find((a) => a.id === r.agent)!,
      );
    dispatch(m);
  }
  toString(): string {
    return `Cancel(${this.live ? 'live ' : ''}#${this.pick})`;
  }
}

class Heartbeat extends AgentCmd {
  check(): boolean {
    return true;
  }
  async act(m: Model, w: World): Promise<void> {
    await this.touch(m, w);
  }
  toString(): string {
    return `Heartbeat(a${this.agent + 1})`;
  }
}

/** Time passes; the timer ticks (or not yet); agents whose console is connected keep being seen. */
class Advance extends Cmd {
  constructor(
    readonly ms: number,
    readonly runTick: boolean,
    readonly connected: boolean,
  ) {
    super();
  }
  check(): boolean {
    return true;
  }
  async act(m: Model, w: World): Promise<void> {
    w.clock.advance(this.ms);
    m.now += this.ms;
    if (this.connected)
      for (const a of m.agents)
        if (a.presence !== 'offline') {
          await w.svc.pipeline.touchAgent(a.id);
          seen(a, m.now);
        }
    if (!this.runTick) return;
    await w.svc.pipeline.tick();
    tick(m);
  }
  toString(): string {
    return `Advance(${this.ms} ms${this.runTick ? ' + tick' : ', no tick'}${this.connected ? ', consoles connected' : ''})`;
  }
}

/** Jump to exactly one millisecond before, or exactly at, the expiry of an agent's offer, then tick. */
class OfferExpiry extends AgentCmd {
  constructor(
    agent: number,
    readonly delta: -1 | 0,
  ) {
    super(agent);
  }
  override agentOf(m: Model): MAgent {
    const holders = m.agents.filter((a) => offerOf(m, a.id));
    return holders[this.agent % holders.length]!;
  }
  check(m: Readonly<Model>): boolean {
    return m.agents.some((a) => offerOf(m as Model, a.id));
  }
  async act(m: Model, w: World): Promise<void> {
    const a = this.agentOf(m);
    const r = offerOf(m, a.id)!;
    const expires = r.offerExpiresAt!;
    const at = Math.max(m.now, expires + this.delta);
    const silent = a.lastSeen === null || a.lastSeen < at - AGENT_TIMEOUT_S * S;
    w.clock.set(at);
    m.now = at;
    await w.svc.pipeline.tick();
    tick(m);
    const row = (await w.svc.pipeline.requests.get(r.id))!;
    if (silent) {
      assert.notEqual(row.agent_id, a.id, 'a silent agent loses its offer');
      assert.equal((await w.svc.pipeline.agents.get(a.id))!.presence, 'offline');
    } else if (at < expires) {
      assert.equal(row.state, 'offered', 'one millisecond before the expiry the offer stands');
      assert.equal(row.agent_id, a.id);
    } else {
      assert.ok(row.state !== 'offered' || row.agent_id !== a.id, 'at the expiry the offer is gone');
      const presence = (await w.svc.pipeline.agents.get(a.id))!.presence;
      assert.equal(presence, 'missed', 'the agent missed the offer');
    }
  }
  toString(): string {
    return `OfferExpiry(offer holder ${this.agent}, ${this.delta === 0 ? 'at' : '1 ms before'})`;
  }
}

/** The timer has not run yet: accept 1 ms before the expiry (accepted) or exactly at it (refused). */
class AcceptAtEdge extends AgentCmd {
  constructor(
    agent: number,
    readonly delta: -1 | 0,
  ) {
    super(agent);
  }
  override agentOf(m: Model): MAgent {
    const holders = m.agents.filter(
      (a) => offerOf(m, a.id) && offerOf(m, a.id)!.offerExpiresAt! + this.delta >= m.now,
    );
    return holders[this.agent % holders.length]!;
  }
  check(m: Readonly<Model>): boolean {
    return m.agents.some(
      (a) => offerOf(m as Model, a.id) && offerOf(m as Model, a.id)!.offerExpiresAt! + this.delta >= m.now,
    );
  }
  async act(m: Model, w: World): Promise<void> {
    const r = offerOf(m, this.agentOf(m).id)!;
    w.clock.set(r.offerExpiresAt! + this.delta);
    m.now = r.offerExpiresAt! + this.delta;
    const a = await this.touch(m, w);
    const got = await outcome(async () => await w.svc.pipeline.accept(a.id, r.id, r.fence));
    if (this.delta === 0) return void this.expect(got, 409, 'an offer cannot be accepted at its expiry');
    this.expect(got, 'ok', 'an offer is accepted until 1 ms before its expiry');
    a.lastSeen = m.now; // the accept's own unit records the sign of life
    r.state = 'assigned';
    r.assignedAt = m.now;
    r.offerExpiresAt = null;
    setPresence(m, a, 'busy');
  }
  toString(): string {
    return `AcceptAtEdge(offer holder ${this.agent}, ${this.delta === 0 ? 'at' : '1 ms before'} the expiry, no tick)`;
  }
}

/** Jump to exactly one millisecond before, or exactly at, the end of an agent's wrap-up, then tick. */
class WrapUpEnd extends AgentCmd {
  constructor(
    agent: number,
    readonly delta: -1 | 0,
  ) {
    super(agent);
  }
  override agentOf(m: Model): MAgent {
    const list = m.agents.filter((a) => a.presence === 'wrap_up');
    return list[this.agent % list.length]!;
  }
  check(m: Readonly<Model>): boolean {
    return m.agents.some((a) => a.presence === 'wrap_up');
  }
  async act(m: Model, w: World): Promise<void> {
    const a = this.agentOf(m);
    const until = a.wrapUpUntil!;
    const at = Math.max(m.now, until + this.delta);
    w.clock.set(at);
    m.now = at;
    await this.touch(m, w); // the console is connected
    await w.svc.pipeline.tick();
    tick(m);
    const presence = (await w.svc.pipeline.agents.get(a.id))!.presence;
    if (at < until) assert.equal(presence, 'wrap_up', 'one millisecond before its end the wrap-up goes on');
    else assert.notEqual(presence, 'wrap_up', 'at its end the wrap-up is over');
  }
  toString(): string {
    return `WrapUpEnd(wrap-up ${this.agent}, ${this.delta === 0 ? 'at' : '1 ms before'} its end)`;
  }
}

/** Jump to exactly one millisecond before, or exactly at, the start of the earliest booked slot, then tick. */
class SlotDue extends Cmd {
  constructor(readonly delta: -1 | 0) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.reqs.some((r) => r.state === 'scheduled');
  }
  async act(m: Model, w: World): Promise<void> {
    const r = m.reqs.filter((q) => q.state === 'scheduled').sort((x, y) => x.slotStart! - y.slotStart!)[0]!;
    const start = r.slotStart!;
    const at = Math.max(m.now, start + this.delta);
    w.clock.set(at);
    m.now = at;
    await w.svc.pipeline.tick();
    tick(m);
    const row = (await w.svc.pipeline.requests.get(r.id))!;
    if (at < start) assert.equal(row.state, 'scheduled', 'before its slot a callback stays scheduled');
    else {
      assert.ok(
        row.state === 'waiting' || row.state === 'offered',
        `at its slot a callback is queued again: ${row.state}`,
      );
      assert.equal(row.priority, r.base + CALLBACK_BOOST, 'with the callback boost, once');
    }
  }
  toString(): string {
    return `SlotDue(${this.delta === 0 ? 'at' : '1 ms before'} the earliest slot)`;
  }
}

class BookSlot extends Cmd {
  constructor(
    readonly pick: number,
    readonly dayOffset: 0 | 1,
    readonly slot: number,
    readonly bogus: boolean,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.reqs.length > 0;
  }
  async act(m: Model, w: World): Promise<void> {
    const r = m.reqs[this.pick % m.reqs.length]!;
    const day = dayOf(m.now + this.dayOffset * DAY);
    const slots = modelSlots(m, r, day);
    const start =
      this.bogus || !slots.length
        ? Date.parse(`${day}T00:00:00.000Z`) + 7 * MIN
        : slots[this.slot % slots.length]!.start;
    const got = await outcome(
      async () => await w.svc.callbacks.book((await w.svc.pipeline.requests.get(r.id))!, start),
    );
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      return void this.expect(got, 409, `book a ${r.state} request`);
    const slot = modelSlots(m, r, dayOf(start)).find((s) => s.start === start);
    if (!slot) return void this.expect(got, 409, 'no such slot');
    if (slot.free < 1) return void this.expect(got, 409, 'slot fully booked');
    this.expect(got, 'ok', `a free slot is booked (from ${r.state}${r.boosted ? ', boosted' : ''})`);
    Object.assign(r, {
      state: 'scheduled',
      mode: 'slot',
      slotStart: slot.start,
      slotEnd: slot.end,
      agent: null,
      offerExpiresAt: null,
      windowFrom: null,
      windowUntil: null,
      boosted: false,
    });
    dispatch(m);
  }
  toString(): string {
    return `BookSlot(#${this.pick}, day+${this.dayOffset}, ${this.bogus ? 'bogus time' : `slot ${this.slot}`})`;
  }
}

class KeepPlace extends Cmd {
  constructor(
    readonly pick: number,
    readonly window: { from: number; length: number } | null,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.reqs.length > 0;
  }
  async act(m: Model, w: World): Promise<void> {
    const r = m.reqs[this.pick % m.reqs.length]!;
    const win = this.window && {
      from: m.now + this.window.from,
      until: m.now + this.window.from + this.window.length,
    };
    const got = await outcome(
      async () =>
        await w.svc.callbacks.keepPlace((await w.svc.pipeline.requests.get(r.id))!, win ?? undefined),
    );
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      return void this.expect(got, 409, `keep place of a ${r.state} request`);
    if (win && (win.until <= win.from || win.until <= m.now)) return void this.expect(got, 400, 'bad window');
    this.expect(
      got,
      'ok',
      `${win ? 'with' : 'without'} window (from ${r.state}${r.boosted ? ', boosted' : ''})`,
    );
    if (r.state === 'scheduled') r.state = 'waiting';
    Object.assign(r, {
      mode: 'keep_place',
      slotStart: null,
      slotEnd: null,
      windowFrom: win?.from ?? null,
      windowUntil: win?.until ?? null,
      // Back in the original place: a due callback's boost goes with the booking.
      boosted: false,
    });
    dispatch(m);
  }
  toString(): string {
    return `KeepPlace(#${this.pick}, ${this.window ? `window ${this.window.from}+${this.window.length} ms` : 'no window'})`;
  }
}

/** The slots the authority offers equal the model's (no state change). */
class ViewSlots extends Cmd {
  constructor(
    readonly pick: number,
    readonly dayOffset: 0 | 1,
  ) {
    super();
  }
  check(m: Readonly<Model>): boolean {
    return m.reqs.length > 0;
  }
  async act(m: Model, w: World): Promise<void> {
    const r = m.reqs[this.pick % m.reqs.length]!;
    const day = dayOf(m.now + this.dayOffset * DAY);
    assert.deepEqual(
      await w.svc.callbacks.slots((await w.svc.pipeline.requests.get(r.id))!, day),
      modelSlots(m, r, day),
      `slots of ${day}`,
    );
  }
  toString(): string {
    return `ViewSlots(#${this.pick}, day+${this.dayOffset})`;
  }
}

const agentArb = fc.integer({ min: 0, max: AGENTS.length - 1 });
const fenceArb = fc.constantFrom<FenceMode>(
  'current',
  'current',
  'current',
  'current',
  'current',
  'stale',
  'ahead',
);
const targetArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant<'own'>('own') },
  { weight: 1, arbitrary: fc.nat({ max: 1000 }) },
);
const pickArb = fc.nat({ max: 1000 });
const commandArb = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 0, max: CUSTOMERS.length - 1 }),
        fc.constantFrom(...Object.keys(OPTIONS)),
        fc.constantFrom(1, 2, 3, 3, 3),
      )
      .map(([c, o, l]) => new CreateRequest(c, o, l)),
  },
  {
    weight: 5,
    arbitrary: fc
      .tuple(
        agentArb,
        fc.constantFrom<'available' | 'break' | 'offline'>(
          'available',
          'available',
          'available',
          'break',
          'offline',
        ),
      )
      .map(([a, s]) => new SetPresence(a, s)),
  },
  { weight: 10, arbitrary: fc.tuple(agentArb, fenceArb, targetArb).map(([a, f, p]) => new Accept(a, f, p)) },
  { weight: 2, arbitrary: fc.tuple(agentArb, fenceArb, targetArb).map(([a, f, p]) => new Reject(a, f, p)) },
  { weight: 8, arbitrary: fc.tuple(agentArb, fenceArb, targetArb).map(([a, f, p]) => new Complete(a, f, p)) },
  { weight: 2, arbitrary: fc.tuple(pickArb, fc.boolean()).map(([p, l]) => new Cancel(p, l)) },
  { weight: 2, arbitrary: agentArb.map((a) => new Heartbeat(a)) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 * S }) },
          { weight: 3, arbitrary: fc.integer({ min: 5 * S, max: 20 * S }) },
          { weight: 3, arbitrary: fc.integer({ min: 20 * S, max: 3 * MIN }) },
          { weight: 2, arbitrary: fc.integer({ min: 3 * MIN, max: 40 * MIN }) },
        ),
        fc.constantFrom(true, true, true, false),
        fc.constantFrom(true, true, false),
      )
      .map(([ms, t, c]) => new Advance(ms, t, c)),
  },
  {
    weight: 3,
    arbitrary: fc.tuple(agentArb, fc.constantFrom<-1 | 0>(-1, 0)).map(([a, d]) => new OfferExpiry(a, d)),
  },
  { weight: 2, arbitrary: fc.constantFrom<-1 | 0>(-1, 0).map((d) => new SlotDue(d)) },
  {
    weight: 2,
    arbitrary: fc.tuple(agentArb, fc.constantFrom<-1 | 0>(-1, 0)).map(([a, d]) => new AcceptAtEdge(a, d)),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(agentArb, fc.constantFrom<-1 | 0>(-1, 0)).map(([a, d]) => new WrapUpEnd(a, d)),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        pickArb,
        fc.constantFrom<0 | 1>(0, 0, 0, 1),
        fc.oneof(
          { weight: 4, arbitrary: fc.nat({ max: 3 }) },
          { weight: 1, arbitrary: fc.nat({ max: 200 }) },
        ),
        fc.constantFrom(false, false, false, false, true),
      )
      .map(([p, d, s, b]) => new BookSlot(p, d, s, b)),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        pickArb,
        fc.option(
          fc.record({
            from: fc.integer({ min: -10 * MIN, max: 60 * MIN }),
            length: fc.integer({ min: -5 * MIN, max: 90 * MIN }),
          }),
          {
            nil: null,
          },
        ),
      )
      .map(([p, win]) => new KeepPlace(p, win)),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(pickArb, fc.constantFrom<0 | 1>(0, 1)).map(([p, d]) => new ViewSlots(p, d)),
  },
);

describe('pipeline against a reference model (fast-check model-based)', () => {
  let world: World;
  before(async () => {
    world = await buildWorld();
  });

  it('the model world matches the configured menu and rules', () => {
    for (const [id, o] of Object.entries(OPTIONS)) {
      const leaf = world.svc.pipeline.config.leaf(id);
      assert.deepEqual({ queue: leaf?.queue, level: leaf?.level, skills: leaf?.skills }, o, id);
    }
    for (const q of world.svc.pipeline.config.config.queues)
      assert.equal(EXPECTED_HANDLE_S[q.id], q.expectedHandleSeconds);
    assert.equal(world.svc.ctx.config.offerTimeoutSeconds, OFFER_TIMEOUT_S);
  });

  it(`random command sequences keep the pipeline equal to the model (${RUNS} runs, up to ${MAX_COMMANDS} commands)`, async () => {
    const started = performance.now();
    executed = 0;
    stats.clear();
    await fc.assert(
      fc.asyncProperty(
        fc.commands([commandArb], { maxCommands: MAX_COMMANDS, size: 'max' }),
        async (cmds) => {
          await fc.asyncModelRun(() => ({ model: resetWorld(world), real: world }), cmds);
        },
      ),
      { numRuns: RUNS, includeErrorInReport: true, ...(SEED !== undefined ? { seed: SEED } : {}) },
    );
    const ms = performance.now() - started;
    if (process.env.VD_MODEL_STATS === '1')
      console.log(
        [...stats]
          .sort()
          .map(([k, v]) => `  ${String(v).padStart(6)}  ${k}`)
          .join('\n'),
      );
    console.log(`pipeline model: ${RUNS} runs, ${executed} commands executed, ${Math.round(ms)} ms`);
    // The generator really reaches the interesting transitions (each occurs ~10+ times per 100 runs).
    if (RUNS >= 100)
      for (const what of [
        'Accept ok: the current fence of a live offer is accepted',
        'Accept 409: a stale or unknown fence is always refused',
        'Complete ok: the current fence of an assignment completes',
        'Complete 409: a stale or unknown fence is always refused',
        'BookSlot ok: a free slot is booked (from waiting)',
        'KeepPlace ok: with window (from waiting)',
        'tick: offer expired',
        'tick: wrap-up over',
        'tick: due callback',
        'tick: silent agent offline',
      ])
        assert.ok(stats.get(what), `never happened: ${what}`);
  });

  it('one dispatch keeps queue order past its first page of 200 waiting requests', async () => {
    const m = resetWorld(world);
    const { svc, clock } = world;
    const create = async (option: string) => {
      const res = await svc.pipeline.createRequest(world.principals[2]![3]!, option);
      assert.equal(res.status, 'queued');
      clock.advance(1);
      return res.status === 'queued' ? res.request.requestId : '';
    };
    const opens = T0 + 10 * MIN;
    const first = await create('other');
    await svc.callbacks.keepPlace((await svc.pipeline.requests.get(first))!, {
      from: opens,
      until: opens + H,
    });
    // 199 requests nobody free can take (mortgages: only a2 has the skill, and a2 stays offline).
    for (let i = 0; i < 199; i++) await create('mortgage');
    const last = await create('other'); // 201st in queue order: on the second page
    await svc.callbacks.keepPlace((await svc.pipeline.requests.get(last))!, {
      from: opens,
      until: opens + H,
    });
    const [a1, , , a4] = m.agents;
    await svc.pipeline.setPresence(a1!.id, 'available', null, 'test');
    clock.advance(1);
    await svc.pipeline.setPresence(a4!.id, 'available', null, 'test');
    assert.equal((await svc.pipeline.requests.get(first))!.state, 'waiting', 'before the window');
    // One tick, one dispatch, two free agents: the first page yields one offer, the second page the other.
    clock.set(opens);
    await svc.pipeline.touchAgent(a1!.id);
    await svc.pipeline.touchAgent(a4!.id);
    await svc.pipeline.tick();
    const rows = [(await svc.pipeline.requests.get(first))!, (await svc.pipeline.requests.get(last))!];
    assert.deepEqual(
      rows.map((r) => [r.state, r.agent_id]),
      [
        ['offered', a1!.id],
        ['offered', a4!.id],
      ],
    );
  });

  it('the checks can fail: a wrong offer order or a stale fence accepted is reported', async () => {
    // Sanity of the harness itself: a model that disagrees with the pipeline makes verify throw.
    const m = resetWorld(world);
    await new SetPresence(0, 'available').run(m, world);
    await new CreateRequest(2, 'other', 1).run(m, world);
    const r = m.reqs[0]!;
    assert.equal(r.state, 'offered');
    r.fence += 1; // pretend the model expected another fence
    assert.throws(() => verify(m, world, 'tampered'), /requests differ from the model/);
    r.fence -= 1;
    m.offers = [[m.agents[1]!.id, r.id]];
    assert.throws(() => verify(m, world, 'tampered'), /offers/);
  });
});

// ---- properties of rules.ts ---------------------------------------------------------------------

const QUEUES = ['q1', 'q2', 'q3'] as const;
const attrValueArb = fc.constantFrom('gold', 'platinum', 'retail', 'business', '');
const ruleArb = (opts: { queueFree?: boolean } = {}) =>
  fc
    .record(
      {
        attribute: fc.record({ name: fc.constantFrom('tier', 'segment'), equals: attrValueArb }),
        minLevel: fc.constantFrom<0 | 1 | 2 | 3>(0, 1, 2, 3),
        balanceAtLeast: fc.integer({ min: -1000, max: 200_000 }),
        queue: fc.constantFrom(...QUEUES),
      },
      { requiredKeys: [] },
    )
    .filter((w) => Object.keys(w).length > 0 && !(opts.queueFree && w.queue !== undefined))
    .chain((when) =>
      fc.record({
        when: fc.constant(when),
        addPriority: fc.integer({ min: -1000, max: 1000 }),
        moveToQueue: opts.queueFree
          ? fc.constant(undefined)
          : fc.option(fc.constantFrom(...QUEUES), { nil: undefined }),
      }),
    );
const rulesArb = (opts: { queueFree?: boolean } = {}) =>
  fc.array(ruleArb(opts), { maxLength: 8 }).map((rs) =>
    rs.map((r, i): PriorityRule => {
      const out: PriorityRule = { id: `r${i}`, when: r.when, addPriority: r.addPriority };
      if (r.moveToQueue) out.moveToQueue = r.moveToQueue;
      return out;
    }),
  );
const inputArb: fc.Arbitrary<RuleInput> = fc.record({
  queue: fc.constantFrom(...QUEUES),
  level: fc.integer({ min: 0, max: 3 }),
  attributes: fc.record(
    { tier: attrValueArb, segment: attrValueArb, other: fc.integer() },
    { requiredKeys: [] },
  ),
  balance: fc.option(fc.integer({ min: -1000, max: 300_000 }), { nil: null }),
});

/** One rule's conditions, read literally from the configuration format. */
function holds(r: PriorityRule, input: RuleInput, queue: string): boolean {
  const w = r.when;
  const attr = w.attribute ? input.attributes[w.attribute.name] : undefined;
  return (
    (!w.attribute || (attr === undefined || attr === null ? '' : String(attr)) === w.attribute.equals) &&
    (w.minLevel === undefined || input.level >= w.minLevel) &&
    (w.balanceAtLeast === undefined || (input.balance !== null && input.balance >= w.balanceAtLeast)) &&
    (w.queue === undefined || w.queue === queue)
  );
}

describe('applyRules (properties)', () => {
  it('each rule matches iff its conditions hold on the queue as moved by the earlier rules; priorities add up', () => {
    fc.assert(
      fc.property(rulesArb(), inputArb, (rules, input) => {
        const out = applyRules(rules, input);
        let queue = input.queue;
        const matched: string[] = [];
        let priority = 0;
        for (const r of rules) {
          if (!holds(r, input, queue)) continue;
          matched.push(r.id);
          priority += r.addPriority;
          queue = r.moveToQueue ?? queue;
        }
        assert.deepEqual(out, { queue, priority, matched });
      }),
      { numRuns: 500 },
    );
  });

  it('the final queue is the last matched move, or the input queue', () => {
    fc.assert(
      fc.property(rulesArb(), inputArb, (rules, input) => {
        const out = applyRules(rules, input);
        const moves = rules.filter((r) => out.matched.includes(r.id) && r.moveToQueue);
        assert.equal(out.queue, moves.length ? moves[moves.length - 1]!.moveToQueue : input.queue);
        assert.equal(
          out.priority,
          rules.filter((r) => out.matched.includes(r.id)).reduce((s, r) => s + r.addPriority, 0),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('without queue conditions and moves the order of the rules does not matter', () => {
    fc.assert(
      fc.property(
        rulesArb({ queueFree: true }).chain((rules) =>
          fc.tuple(fc.constant(rules), fc.shuffledSubarray(rules, { minLength: rules.length })),
        ),
        inputArb,
        ([rules, shuffled], input) => {
          const a = applyRules(rules, input);
          const b = applyRules(shuffled, input);
          assert.equal(a.priority, b.priority);
          assert.equal(a.queue, input.queue);
          assert.deepEqual([...a.matched].sort(), [...b.matched].sort());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a higher level or balance never unmatches a rule (without queue conditions and moves)', () => {
    fc.assert(
      fc.property(
        rulesArb({ queueFree: true }),
        inputArb,
        fc.integer({ min: 0, max: 200_000 }),
        (rules, input, more) => {
          const base = applyRules(rules, input).matched;
          const higherLevel = applyRules(rules, { ...input, level: Math.min(3, input.level + 1) }).matched;
          const richer = applyRules(rules, {
            ...input,
            balance: input.balance === null ? null : input.balance + more,
          }).matched;
          for (const id of base) {
            assert.ok(higherLevel.includes(id), `level: ${id}`);
            assert.ok(richer.includes(id), `balance: ${id}`);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('an unknown balance never meets a balance condition', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), inputArb, (threshold, input) => {
        const out = applyRules([{ id: 'b', when: { balanceAtLeast: threshold }, addPriority: 7 }], {
          ...input,
          balance: null,
        });
        assert.deepEqual(out, { queue: input.queue, priority: 0, matched: [] });
      }),
    );
  });

  it('the shipped rules: platinum > gold > standard at equal balance and level; business payments move to business', () => {
    const rules = [
      { id: 'platinum', when: { attribute: { name: 'tier', equals: 'platinum' } }, addPriority: 20 },
      { id: 'gold', when: { attribute: { name: 'tier', equals: 'gold' } }, addPriority: 10 },
      { id: 'high-balance', when: { balanceAtLeast: 100000 }, addPriority: 5 },
      { id: 'biometric', when: { minLevel: 3 }, addPriority: 3 },
      {
        id: 'business-customers',
        when: { attribute: { name: 'segment', equals: 'business' }, queue: 'payments' },
        addPriority: 0,
        moveToQueue: 'business',
      },
    ] satisfies PriorityRule[];
    fc.assert(
      fc.property(
        fc.constantFrom('cards', 'payments', 'general'),
        fc.integer({ min: 0, max: 3 }),
        fc.option(fc.integer({ min: 0, max: 500_000 }), { nil: null }),
        fc.constantFrom('retail', 'business'),
        (queue, level, balance, segment) => {
          const p = (tier: string) =>
            applyRules(rules, { queue, level, balance, attributes: { tier, segment } });
          assert.ok(p('platinum').priority > p('gold').priority);
          assert.ok(p('gold').priority > p('standard').priority);
          assert.equal(
            p('standard').queue,
            segment === 'business' && queue === 'payments' ? 'business' : queue,
          );
        },
      ),
    );
  });
});

describe('estimateWait (properties)', () => {
  const args = fc.record({
    position: fc.integer({ min: 1, max: 500 }),
    free: fc.integer({ min: 0, max: 50 }),
    serving: fc.integer({ min: 1, max: 50 }),
    handle: fc.integer({ min: 1, max: 14_400 }),
  });

  it('nobody serving: no estimate; a place a free agent takes: no wait; else a whole number of seconds > 0', () => {
    fc.assert(
      fc.property(args, fc.integer({ min: -5, max: 0 }), ({ position, free, serving, handle }, none) => {
        assert.equal(estimateWait(position, free, none, handle), null);
        const w = estimateWait(position, free, serving, handle);
        assert.ok(w !== null && Number.isInteger(w));
        if (position <= free) assert.equal(w, 0);
        else
          assert.ok(
            w >= Math.round(handle / 2) && w <= Math.ceil((position - free) / serving) * handle,
            `${w}`,
          );
      }),
      { numRuns: 500 },
    );
  });

  it('monotone: later in the queue waits longer; more free or serving agents, shorter; longer calls, longer', () => {
    fc.assert(
      fc.property(args, ({ position, free, serving, handle }) => {
        const w = estimateWait(position, free, serving, handle)!;
        assert.ok(estimateWait(position + 1, free, serving, handle)! >= w);
        assert.ok(estimateWait(position, free + 1, serving, handle)! <= w);
        assert.ok(estimateWait(position, free, serving + 1, handle)! <= w);
        assert.ok(estimateWait(position, free, serving, handle + 1)! >= w);
      }),
      { numRuns: 500 },
    );
  });

  it('one full round of the serving agents later waits exactly one more handling time; the first waiter half of one', () => {
    fc.assert(
      fc.property(args, ({ position, free, serving, handle }) => {
        fc.pre(position > free);
        assert.equal(
          estimateWait(position + serving, free, serving, handle),
          estimateWait(position, free, serving, handle)! + handle,
        );
        assert.equal(estimateWait(free + 1, free, serving, handle), Math.round(handle / 2));
      }),
      { numRuns: 500 },
    );
  });
});
