/**
 * Property test of the historical reports on a real store (VD_TEST_ENGINE: sqlite by default, or postgres): random histories
 * (queues, calls and chats, waits, abandons, booked callbacks, transfers, wrap-ups, verify
 * commands, knowledge checks, chat messages, agents holding several chats at once) are written through the repositories around the US spring change in
 * America/New_York, and every figure of the report (totals, per day, per hour of the
 * change's 23-hour day, per queue, per agent, per channel; with and without the queue, agent
 * and channel filters) equals a brute-force recount from the raw rows, bucketed independently (each
 * timestamp formatted in the zone with Intl). Each run writes into its own year, so runs
 * share one store. Runs per engine: VD_REPORTS_PROPERTY_RUNS (default 6).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Kysely } from 'kysely';
import { FakeClock } from '../../authority/src/clock.ts';
import type { Ctx } from '../../authority/src/context.ts';
import { PipelineConfigStore } from '../../authority/src/pipeline/pipeline-config.ts';
import { Reports } from '../../authority/src/reports/reports.ts';
import type { Data } from '../../authority/src/store/repos/index.ts';
import type { Engine } from '../../authority/src/store/engine.ts';
import type { Database } from '../../authority/src/store/schema.ts';
import { testEngine } from '../support/authority.ts';
import { openTestData } from '../support/store.ts';

const TZ = 'America/New_York';
const RUNS = Number(process.env.VD_REPORTS_PROPERTY_RUNS ?? 6);
const CUSTOMER = 'c_property';
const AGENTS = ['st_a', 'st_b', 'st_c'];
/** queue -> target seconds; 'overflow' is not configured (the default target, 20 s) */
const TARGETS: Record<string, number> = { cards: 60, general: 120, overflow: 20 };
const DAY = 86_400_000;

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (x: number) => String(x).padStart(2, '0');
/** The second Sunday of March of `year` (the US spring change), as YYYY-MM-DD, by calendar arithmetic. */
function springChange(year: number): string {
  for (let d = 8; d <= 14; d++)
    if (new Date(Date.UTC(year, 2, d)).getUTCDay() === 0) return `${year}-03-${pad(d)}`;
  throw new Error('no second Sunday');
}
const addDays = (date: string, n: number) =>
  new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY).toISOString().slice(0, 10);

const localDay = new Intl.DateTimeFormat('en-CA', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});
const localHour = new Intl.DateTimeFormat('en-CA', {
  timeZone: TZ,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  hourCycle: 'h23',
});
const dayOf = (t: number) => localDay.format(t);
const hourOf = (t: number) => localHour.format(t).replace(', ', ' ');

/** A random history written through the repositories in the days around the spring change of `year`. */
async function writeHistory(data: Data, clock: FakeClock, year: number, seed: number, size: number) {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]) => xs[int(0, xs.length - 1)]!;
  // from two days before the change's day (UTC) to three days after, so some fall outside the range
  const start = Date.parse(`${addDays(springChange(year), -3)}T00:00:00Z`);
  const span = 6 * DAY;
  const p = `y${year}`;
  await data.tx(async (t) => {
    for (const level of [1, 2, 3])
      await t.authentications.insert({
        id: `${p}-auth-${level}`,
        customer_id: CUSTOMER,
        device_id: null,
        level,
        created_at: start,
        expires_at: start + span + DAY,
        setup_until: null,
      });
  });
  const knowledge: { at: number; actor: string; outcome: 'success' | 'failure'; reason: string | null }[] =
    [];
  /** The verification level each answered request had when its first holder took it (the truth). */
  const answerLevels = new Map<string, number>();
  for (let i = 0; i < size; i++) {
    const id = `${p}-rq-${i}`;
    // Now and then the caller steps up during the call: their own authentication, raised after the answer.
    const stepUp = r() < 0.2;
    const authLevel = stepUp ? int(1, 2) : int(1, 3);
    const authId = stepUp ? `${id}-auth` : `${p}-auth-${authLevel}`;
    // A third are chats, gathered in ten minutes of two afternoons so that agents hold several at once.
    const chat = r() < 0.35;
    const enq = chat ? start + int(2, 3) * DAY + 18 * 3_600_000 + int(0, 600) * 1000 : start + int(0, span);
    const queue = pick(Object.keys(TARGETS));
    const slot = r() < 0.15;
    const slotStart = slot ? enq + int(-60, 600) * 1000 : null;
    const outcome = r();
    await data.tx(async (t) => {
      if (stepUp)
        await t.authentications.insert({
          id: authId,
          customer_id: CUSTOMER,
          device_id: null,
          level: authLevel,
          created_at: enq,
          expires_at: enq + DAY,
          setup_until: null,
        });
      await t.sessions.insert({
        id: `${p}-ss-${i}`,
        customer_id: CUSTOMER,
        device_id: null,
        authentication_id: authId,
        created_at: enq,
        last_activity_at: enq,
        absolute_expires_at: enq + DAY,
      });
      await t.requests.insert({
        id,
        session_id: `${p}-ss-${i}`,
        customer_id: CUSTOMER,
        device_id: null,
        authentication_id: authId,
        option_id: 'other',
        option_label: 'Something else',
        queue_id: queue,
        required_level: 1,
        priority: 0,
        enqueued_at: enq,
        channel: chat ? 'chat' : 'voice',
        ...(slot
          ? { callback_mode: 'slot' as const, slot_start: slotStart, slot_end: slotStart! + 900_000 }
          : {}),
      });
      if (outcome < 0.25) {
        // the edges too: a wait of exactly 10 s (a short abandon)
        const wait = pick([10_000, 10_001, int(0, 60) * 1000, int(0, 60_000)]);
        await t.requests.transition(id, 'waiting', 'abandoned', 0, { at: enq + wait });
        return;
      }
      if (outcome < 0.35) return; // still waiting
      // the edges too: an answer exactly at the queue's target, and one just after
      let at = enq + pick([TARGETS[queue]! * 1000, TARGETS[queue]! * 1000 + 1, int(0, 300) * 1000]);
      let agent = pick(AGENTS);
      await t.requests.transition(id, 'waiting', 'offered', 0, {
        at,
        agentId: agent,
        offerExpiresAt: at + 60_000,
      });
      await t.requests.transition(id, 'offered', 'assigned', 1, { at });
      const holds = r() < 0.25 ? 2 : 1;
      const stillHeld = r() < 0.15;
      for (let h = 0; h < holds; h++) {
        const fence = h + 1;
        await t.custody.open(
          id,
          agent,
          fence,
          h === 0 ? 'accepted' : pick(['transfer_blind', 'taken_over'] as const),
          at,
        );
        if (h === 0) {
          answerLevels.set(id, authLevel);
          if (stepUp) await t.authentications.setLevel(authId, authLevel + 1);
        }
        const until = at + int(5, 900) * 1000;
        const last = h + 1 === holds;
        if (chat)
          for (let m = int(0, 4); m > 0; m--) {
            const seq = await t.chat.nextSeq(id);
            const fromAgent = r() < 0.5;
            await t.chat.insert({
              request_id: id,
              seq,
              client_msg_id: `m${seq}`,
              sender: fromAgent ? 'agent' : 'customer',
              staff_id: fromAgent ? agent : null,
              text: 'hello',
              at: at + seq * 1000,
            });
          }
        if (!(last && stillHeld)) await t.custody.close(id, fence, 'completed', until);
        if (r() < 0.7 && !(last && stillHeld && r() < 0.5))
          await t.wrapUps.insert({
            id: `${id}-wu-${h}`,
            idempotency_key: `${id}-wu-${h}`,
            request_id: id,
            // now and then a wrap-up of someone who did not hold it: it does not count
            agent_id: r() < 0.1 ? pick(AGENTS) : agent,
            fence,
            disposition: '["resolved"]',
            notes: '',
            received_at: until + int(-5, 120) * 1000,
          });
        if (r() < 0.3) {
          const cmd = await t.commands.insert({
            id: `${id}-cmd-${h}`,
            request_id: id,
            session_id: `${p}-ss-${i}`,
            device_id: 'd_property',
            agent_id: agent,
            fence,
            seq: 1,
            kind: r() < 0.8 ? 'verify' : 'show',
            command: '{}',
            jws: 'x',
            created_at: at + 1000,
            expires_at: at + 120_000,
          });
          if (cmd && r() < 0.8)
            await t.commands.transition(cmd.id, ['pending'], 'done', { at: at + int(1, 90) * 1000 });
        }
        if (r() < 0.2)
          knowledge.push({
            at: at + 2000,
            actor: `staff:${agent}`,
            outcome: r() < 0.5 ? 'success' : 'failure',
            reason: `${r() < 0.5 ? 'wrong answer (1 consecutive); ' : ''}request ${id}, 2 answers, agent time ${int(0, 900) / 10} s`,
          });
        if (!last) {
          const next = AGENTS[(AGENTS.indexOf(agent) + 1) % AGENTS.length]!;
          const tr = await t.transfers.insert({
            id: `${id}-tr-${h}`,
            request_id: id,
            kind: pick(['transfer', 'take_over', 'reassign'] as const),
            mode: 'blind',
            by_staff: agent,
            from_staff: r() < 0.9 ? agent : null,
            target_kind: 'agent',
            target_staff: next,
            target_queue: null,
            state: 'offered',
            note: null,
            from_fence: fence,
            to_fence: null,
            created_at: until,
            expires_at: until + 60_000,
            resolved_at: null,
          });
          await t.transfers.transition(tr.id, 'offered', pick(['accepted', 'declined'] as const), {
            at: until,
          });
          agent = next;
        }
        at = until;
      }
      if (!stillHeld) await t.requests.transition(id, 'assigned', 'completed', 1, { at });
    });
  }
  // knowledge checks without a request (a count for the agent, no duration), and audit rows in time order
  for (let k = 0; k < int(0, 3); k++)
    knowledge.push({
      at: start + int(0, span),
      actor: `staff:${pick(AGENTS)}`,
      outcome: 'success',
      reason: null,
    });
  knowledge.sort((a, b) => a.at - b.at);
  for (const k of knowledge) {
    clock.set(k.at);
    await data.tx((t) =>
      t.audit.append({
        actor: k.actor,
        action: 'auth.knowledge',
        subject: `customer:${CUSTOMER}`,
        outcome: k.outcome,
        reason: k.reason,
      }),
    );
  }
  return answerLevels;
}

interface Raw {
  requests: {
    id: string;
    queue_id: string;
    enqueued_at: number;
    state: string;
    ended_at: number | null;
    callback_mode: string;
    slot_start: number | null;
    slot_end: number | null;
    authentication_id: string;
    channel: 'voice' | 'chat';
  }[];
  messages: { request_id: string; sender: string; staff_id: string | null }[];
  /** The level at answer of each answered request, as the history was written (not read back). */
  answerLevels: Map<string, number>;
  custody: {
    request_id: string;
    staff_id: string;
    fence: number;
    how: string;
    from_at: number;
    until_at: number | null;
  }[];
  wrapUps: { request_id: string; agent_id: string; fence: number; received_at: number }[];
  transfers: { request_id: string; from_staff: string | null; state: string }[];
  commands: {
    request_id: string;
    agent_id: string;
    kind: string;
    created_at: number;
    finished_at: number | null;
  }[];
  audit: { actor: string; action: string; at: number; outcome: string; reason: string | null }[];
  names: Map<string, string>;
}

async function readRaw(db: Kysely<Database>, answerLevels: Map<string, number>): Promise<Raw> {
  return {
    answerLevels,
    requests: await db.selectFrom('requests').selectAll().execute(),
    custody: await db.selectFrom('custody').selectAll().execute(),
    wrapUps: await db.selectFrom('wrap_ups').selectAll().execute(),
    transfers: await db.selectFrom('transfers').selectAll().execute(),
    commands: await db.selectFrom('device_commands').selectAll().execute(),
    messages: await db.selectFrom('chat_messages').select(['request_id', 'sender', 'staff_id']).execute(),
    audit: await db.selectFrom('audit_log').select(['actor', 'action', 'at', 'outcome', 'reason']).execute(),
    names: new Map(
      (await db.selectFrom('staff').select(['id', 'display_name']).execute()).map((s) => [
        s.id,
        s.display_name,
      ]),
    ),
  };
}

const r1 = (x: number) => Math.round(x * 10) / 10;
const avg = (xs: number[]) => (xs.length ? r1(xs.reduce((s, x) => s + x, 0) / xs.length / 1000) : null);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
/** "request <id>, N answers, agent time X s" of a knowledge check's audit reason */
const named = (reason: string | null) => /(?:^|; )request (\S+), \d+ answers/.exec(reason ?? '')?.[1] ?? null;
const agentTenths = (reason: string | null) => {
  const m = /agent time (\d+(?:\.\d+)?) s/.exec(reason ?? '');
  return m ? Math.round(Number(m[1]) * 10) : 0;
};

/** Every figure of the requests `ids`, counted one request at a time from the raw rows. */
function brute(raw: Raw, ids: Set<string>, range: { from: number; to: number }) {
  const rows = raw.requests.filter((q) => ids.has(q.id));
  const out = {
    offered: rows.length,
    answered: 0,
    abandoned: 0,
    abandonedWithin10s: 0,
    avgAbandonSeconds: null as number | null,
    maxAbandonSeconds: null as number | null,
    avgSpeedOfAnswerSeconds: null as number | null,
    answeredWithinTarget: 0,
    serviceLevel: null as number | null,
    avgTalkSeconds: null as number | null,
    avgWrapUpSeconds: null as number | null,
    avgHandleSeconds: null as number | null,
    transfers: 0,
    callbacksBooked: 0,
    callbacksKept: 0,
    answeredAtLevel1: 0,
    answeredAtLevel2: 0,
    answeredAtLevel3: 0,
    deviceVerifications: 0,
    deviceVerifySeconds: 0,
    knowledgeChecks: 0,
    knowledgeSeconds: 0,
    chatMessages: 0,
  };
  const abandonWaits: number[] = [];
  const answerWaits: number[] = [];
  const talks: number[] = [];
  const wraps: number[] = [];
  const handles: number[] = [];
  let verifyMs = 0;
  let tenths = 0;
  for (const q of rows) {
    const holds = raw.custody.filter((c) => c.request_id === q.id);
    const callback = q.callback_mode === 'slot' && q.slot_start !== null;
    const waitFrom = callback ? Math.max(q.enqueued_at, q.slot_start!) : q.enqueued_at;
    out.transfers += raw.transfers.filter(
      (t) => t.request_id === q.id && ['accepted', 'completed'].includes(t.state),
    ).length;
    const verifies = raw.commands.filter((c) => c.request_id === q.id && c.kind === 'verify');
    out.deviceVerifications += verifies.length;
    for (const v of verifies) if (v.finished_at !== null) verifyMs += v.finished_at - v.created_at;
    for (const a of raw.audit)
      if (
        a.action === 'auth.knowledge' &&
        a.at >= range.from &&
        a.at < range.to &&
        named(a.reason) === q.id
      ) {
        out.knowledgeChecks++;
        tenths += agentTenths(a.reason);
      }
    if (callback) out.callbacksBooked++;
    if (q.channel === 'chat') out.chatMessages += raw.messages.filter((m) => m.request_id === q.id).length;
    if (holds.length === 0) {
      if (q.state === 'abandoned') {
        out.abandoned++;
        const w = Math.max(0, (q.ended_at ?? q.enqueued_at) - waitFrom);
        abandonWaits.push(w);
        if (w <= 10_000) out.abandonedWithin10s++;
      }
      continue;
    }
    out.answered++;
    const first = Math.min(...holds.map((h) => h.from_at));
    answerWaits.push(Math.max(0, first - waitFrom));
    if (first - waitFrom <= TARGETS[q.queue_id]! * 1000) out.answeredWithinTarget++;
    if (callback && q.slot_end !== null && first <= q.slot_end) out.callbacksKept++;
    const level = raw.answerLevels.get(q.id) ?? 0;
    if (level === 1) out.answeredAtLevel1++;
    else if (level === 2) out.answeredAtLevel2++;
    else if (level >= 3) out.answeredAtLevel3++;
    if (holds.some((h) => h.until_at === null)) continue;
    let talk = 0;
    let wrap = 0;
    let wrapped = false;
    for (const h of holds) {
      talk += h.until_at! - h.from_at;
      for (const w of raw.wrapUps)
        if (w.request_id === q.id && w.fence === h.fence && w.agent_id === h.staff_id) {
          wrap += Math.max(0, w.received_at - h.until_at!);
          wrapped = true;
        }
    }
    talks.push(talk);
    handles.push(talk + wrap);
    if (wrapped) wraps.push(wrap);
  }
  out.avgAbandonSeconds = avg(abandonWaits);
  out.maxAbandonSeconds = abandonWaits.length ? r1(Math.max(...abandonWaits) / 1000) : null;
  out.avgSpeedOfAnswerSeconds = avg(answerWaits);
  out.serviceLevel =
    out.answered + out.abandoned
      ? Math.round((out.answeredWithinTarget / (out.answered + out.abandoned)) * 10_000) / 10_000
      : null;
  out.avgTalkSeconds = avg(talks);
  out.avgWrapUpSeconds = avg(wraps);
  out.avgHandleSeconds = avg(handles);
  out.deviceVerifySeconds = r1(verifyMs / 1000);
  out.knowledgeSeconds = tenths / 10;
  return out;
}

/** The agents' rows, counted from the raw rows of the requests `ids` (and the range's knowledge audit rows). */
function bruteAgents(raw: Raw, ids: Set<string>, range: { from: number; to: number }, only?: string) {
  const rows = new Map<string, any>();
  const row = (id: string) => {
    if (!rows.has(id))
      rows.set(id, {
        agentId: id,
        agentName: raw.names.get(id) ?? id,
        answered: 0,
        takenIn: 0,
        transfersOut: 0,
        talkMs: 0,
        wrapMs: 0,
        handles: 0,
        deviceVerifications: 0,
        verifyMs: 0,
        knowledgeChecks: 0,
        knowledgeChecksPassed: 0,
        tenths: 0,
        chatMessagesSent: 0,
        chats: [] as [number, number][],
      });
    return rows.get(id);
  };
  for (const h of raw.custody.filter((c) => ids.has(c.request_id))) {
    const x = row(h.staff_id);
    if (h.how === 'accepted') x.answered++;
    else x.takenIn++;
    if (h.until_at === null) continue;
    x.handles++;
    x.talkMs += h.until_at - h.from_at;
    if (raw.requests.find((q) => q.id === h.request_id)!.channel === 'chat')
      x.chats.push([h.from_at, h.until_at]);
    for (const w of raw.wrapUps)
      if (w.request_id === h.request_id && w.fence === h.fence && w.agent_id === h.staff_id)
        x.wrapMs += Math.max(0, w.received_at - h.until_at);
  }
  for (const t of raw.transfers)
    if (ids.has(t.request_id) && t.from_staff !== null && ['accepted', 'completed'].includes(t.state))
      row(t.from_staff).transfersOut++;
  for (const c of raw.commands)
    if (ids.has(c.request_id) && c.kind === 'verify') {
      const x = row(c.agent_id);
      x.deviceVerifications++;
      if (c.finished_at !== null) x.verifyMs += c.finished_at - c.created_at;
    }
  for (const m of raw.messages)
    if (ids.has(m.request_id) && m.sender === 'agent' && m.staff_id !== null)
      row(m.staff_id).chatMessagesSent++;
  for (const a of raw.audit)
    if (
      a.action === 'auth.knowledge' &&
      a.at >= range.from &&
      a.at < range.to &&
      a.actor.startsWith('staff:')
    ) {
      const x = row(a.actor.slice(6));
      x.knowledgeChecks++;
      if (a.outcome === 'success') x.knowledgeChecksPassed++;
      x.tenths += agentTenths(a.reason);
    }
  return [...rows.values()]
    .filter((x) => only === undefined || x.agentId === only)
    .sort((a, b) => (a.agentName < b.agentName ? -1 : a.agentName > b.agentName ? 1 : 0))
    .map((x) => ({
      agentId: x.agentId,
      agentName: x.agentName,
      answered: x.answered,
      takenIn: x.takenIn,
      transfersOut: x.transfersOut,
      talkSeconds: r1(x.talkMs / 1000),
      wrapUpSeconds: r1(x.wrapMs / 1000),
      avgHandleSeconds: x.handles ? r1((x.talkMs + x.wrapMs) / x.handles / 1000) : null,
      deviceVerifications: x.deviceVerifications,
      deviceVerifySeconds: r1(x.verifyMs / 1000),
      knowledgeChecks: x.knowledgeChecks,
      knowledgeChecksPassed: x.knowledgeChecksPassed,
      knowledgeSeconds: x.tenths / 10,
      chatMessagesSent: x.chatMessagesSent,
      chatTalkSeconds: r1(sum(x.chats.map(([f, u]: [number, number]) => u - f)) / 1000),
      avgConcurrentChats: concurrent([x.chats]),
    }));
}

/** Each agent's holds: ms with a chat open, counted millisecond edge by edge (a sweep), independent of the SQL. */
function openMs(holds: [number, number][]): number {
  const edges = holds.flatMap(([f, u]) => [
    [f, 1],
    [u, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let since = 0;
  let total = 0;
  for (const [t, d] of edges) {
    if (open > 0) total += t! - since;
    open += d!;
    since = t!;
  }
  return total;
}
/** Chat time ÷ time with a chat open, over agents (each a list of holds), two decimals. */
function concurrent(agents: [number, number][][]): number | null {
  const talk = sum(agents.flatMap((hs) => hs.map(([f, u]) => u - f)));
  const busy = sum(agents.map(openMs));
  return busy === 0 ? null : Math.round((talk / busy) * 100) / 100;
}
/** The channel rows: the figures of each channel's requests, and the chats' concurrency over the agents. */
function bruteChannels(
  raw: Raw,
  ids: Set<string>,
  range: { from: number; to: number },
  channels: readonly ('voice' | 'chat')[],
  only?: string,
) {
  return channels.map((channel) => {
    const mine = new Set(raw.requests.filter((q) => ids.has(q.id) && q.channel === channel).map((q) => q.id));
    const perAgent = new Map<string, [number, number][]>();
    if (channel === 'chat')
      for (const h of raw.custody)
        if (mine.has(h.request_id) && h.until_at !== null && (only === undefined || h.staff_id === only)) {
          if (!perAgent.has(h.staff_id)) perAgent.set(h.staff_id, []);
          perAgent.get(h.staff_id)!.push([h.from_at, h.until_at]);
        }
    return {
      channel,
      ...brute(raw, mine, range),
      avgConcurrentChats: channel === 'chat' ? concurrent([...perAgent.values()]) : null,
    };
  });
}

const figuresOf = (o: Record<string, unknown>) => {
  const { start: _s, label: _l, hours: _h, queueId: _q, queueName: _n, targetAnswerSeconds: _t, ...rest } = o;
  return rest;
};

for (const engine of [testEngine()] as Engine[])
  describe(`historical reports on ${engine}: every figure equals a brute-force recount from the raw rows`, () => {
    const clock = new FakeClock(Date.parse('2027-01-01T00:00:00Z'));
    let s: Awaited<ReturnType<typeof openTestData>>;
    let reports: Reports;
    let pipelineFile: string;
    before(async () => {
      s = await openTestData(engine, clock);
      const pipeline = JSON.parse(
        readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
      );
      pipeline.queues = pipeline.queues.filter((q: any) => q.id !== 'overflow');
      for (const [id, target] of Object.entries(TARGETS))
        if (id !== 'overflow') {
          const q = pipeline.queues.find((x: any) => x.id === id) ?? { ...pipeline.queues[0], id, name: id };
          q.targetAnswerSeconds = target;
          if (!pipeline.queues.includes(q)) pipeline.queues.push(q);
        }
      pipelineFile = join(tmpdir(), `vd-pipeline-reports-property-${process.pid}-${engine}.json`);
      writeFileSync(pipelineFile, JSON.stringify(pipeline));
      // One node, no bus: nothing else replaces the configuration here.
      const events = { follow: () => undefined };
      const ctx = {
        config: { siteTimeZone: TZ, pipelineFile },
        data: s.data,
        clock,
        events,
      } as unknown as Ctx;
      reports = new Reports(ctx, await PipelineConfigStore.open(ctx));
      await s.store.tx((t) =>
        t
          .insertInto('customers')
          .values({ id: CUSTOMER, display_name: 'Property', attributes: '{}', account: '{}', created_at: 0 })
          .execute(),
      );
      await s.data.tx(async (t) => {
        for (const id of AGENTS.slice(0, 2))
          await t.staff.insert({
            id,
            username: id,
            display_name: `Agent ${id.slice(3).toUpperCase()}`,
            role: 'agent',
            password_hash: 'x',
            created_at: 0,
          });
      });
    });
    after(async () => s.close());

    it(`${RUNS} random histories across the US spring change (VD_REPORTS_PROPERTY_RUNS)`, async () => {
      let year = 2027;
      let checked = 0;
      let concurrentSeen = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 2 ** 31 - 1 }),
          fc.integer({ min: 5, max: 60 }),
          async (seed, size) => {
            year++;
            const raw = await readRaw(s.store.db, await writeHistory(s.data, clock, year, seed, size));
            const change = springChange(year);
            const q = { from: addDays(change, -2), to: addDays(change, 1) };
            const mine = raw.requests.filter((x) => x.id.startsWith(`y${year}-`));
            const inRange = mine.filter(
              (x) => dayOf(x.enqueued_at) >= q.from && dayOf(x.enqueued_at) <= q.to,
            );
            const ids = (xs: typeof mine) => new Set(xs.map((x) => x.id));
            const at = `year ${year}, seed ${seed}, size ${size}`;

            const days = await reports.report({ ...q, granularity: 'day' });
            const range = { from: Date.parse(days.from), to: Date.parse(days.to) };
            assert.deepEqual(
              days.series.map((b) => [b.label, b.hours]),
              [
                [q.from, 24],
                [addDays(q.from, 1), 24],
                [change, 23],
                [q.to, 24],
              ],
              'the day of the change has 23 hours',
            );
            assert.deepEqual(days.totals, brute(raw, ids(inRange), range), `${at}: totals`);
            for (const b of days.series)
              assert.deepEqual(
                figuresOf(b),
                brute(raw, ids(inRange.filter((x) => dayOf(x.enqueued_at) === b.label)), range),
                `${at}: day ${b.label}`,
              );
            assert.deepEqual(
              days.queues.map((x) => x.queueId),
              [...new Set(inRange.map((x) => x.queue_id))].sort(),
            );
            for (const x of days.queues) {
              assert.equal(x.targetAnswerSeconds, TARGETS[x.queueId]);
              assert.deepEqual(
                figuresOf(x),
                brute(raw, ids(inRange.filter((r) => r.queue_id === x.queueId)), range),
                `${at}: queue ${x.queueId}`,
              );
            }
            assert.deepEqual(days.agents, bruteAgents(raw, ids(inRange), range), `${at}: agents`);
            assert.equal(days.channel, 'all');
            assert.deepEqual(
              days.channels,
              bruteChannels(raw, ids(inRange), range, ['voice', 'chat']),
              `${at}: channels`,
            );
            for (const channel of ['voice', 'chat'] as const) {
              const only = await reports.report({ ...q, granularity: 'day', channel });
              const of = inRange.filter((x) => x.channel === channel);
              assert.deepEqual(only.totals, brute(raw, ids(of), range), `${at}: ${channel} only`);
              assert.deepEqual(
                only.channels,
                bruteChannels(raw, ids(of), range, [channel]),
                `${at}: ${channel} row`,
              );
              for (const b of only.series)
                assert.deepEqual(
                  figuresOf(b),
                  brute(raw, ids(of.filter((x) => dayOf(x.enqueued_at) === b.label)), range),
                  `${at}: ${channel} day ${b.label}`,
                );
              assert.deepEqual(only.agents, bruteAgents(raw, ids(of), range), `${at}: ${channel} agents`);
            }
            if (days.channels[1]!.avgConcurrentChats !== null && days.channels[1]!.avgConcurrentChats > 1)
              concurrentSeen++;

            const oneQueue = await reports.report({ ...q, granularity: 'day', queueId: 'cards' });
            const cards = inRange.filter((x) => x.queue_id === 'cards');
            assert.deepEqual(oneQueue.totals, brute(raw, ids(cards), range), `${at}: one queue`);
            assert.deepEqual(
              oneQueue.agents,
              bruteAgents(raw, ids(cards), range),
              `${at}: one queue's agents`,
            );

            const agent = AGENTS[seed % AGENTS.length]!;
            const oneAgent = await reports.report({ ...q, granularity: 'day', agentId: agent });
            const held = inRange.filter((x) =>
              raw.custody.some((c) => c.request_id === x.id && c.staff_id === agent),
            );
            assert.deepEqual(oneAgent.totals, brute(raw, ids(held), range), `${at}: one agent's requests`);
            assert.deepEqual(
              oneAgent.agents,
              bruteAgents(raw, ids(inRange), range, agent),
              `${at}: one agent's row`,
            );

            const hours = await reports.report({ from: change, to: change, granularity: 'hour' });
            const hourRange = { from: Date.parse(hours.from), to: Date.parse(hours.to) };
            assert.equal(hours.series.length, 23, 'the change day has 23 hours');
            const onDay = mine.filter((x) => dayOf(x.enqueued_at) === change);
            for (const b of hours.series)
              assert.deepEqual(
                figuresOf(b),
                brute(
                  raw,
                  ids(onDay.filter((x) => hourOf(x.enqueued_at) === b.label.slice(0, 13))),
                  hourRange,
                ),
                `${at}: hour ${b.label}`,
              );
            assert.equal(sum(hours.series.map((b) => b.offered)), onDay.length);
            checked += mine.length;
          },
        ),
        { numRuns: RUNS },
      );
      console.log(
        `# ${engine}: ${checked} random requests in ${year - 2027} histories (${concurrentSeen} with agents holding several chats at once), every figure equal to the recount`,
      );
    });
  });
