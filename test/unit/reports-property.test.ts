/**
 * Property test of the historical reports: for random histories (random queues, waits,
 * abandons, transfers, wrap-ups, verify commands) around a daylight-saving change in
 * America/New_York, the report's figures equal a brute-force recomputation from the raw
 * records, bucketed independently (each timestamp formatted in the zone with Intl).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reports } from '../../authority/src/reports/reports.ts';
import type { ReportFacts } from '../../authority/src/store/repos/reports.ts';

const TZ = 'America/New_York';
const QUEUES = { cards: 60, general: 120 } as Record<string, number>;

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

function history(seed: number): ReportFacts {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  // 2026-03-06 .. 2026-03-10 UTC around the US spring change (2026-03-08 02:00 local).
  const start = Date.parse('2026-03-06T00:00:00Z');
  const f: ReportFacts = {
    requests: [],
    custody: [],
    wrapUps: [],
    transfers: [],
    verifies: [],
    knowledge: [],
    staff: [],
  };
  const n = int(20, 120);
  for (let i = 0; i < n; i++) {
    const id = `rq${seed}-${i}`;
    const queue = r() < 0.5 ? 'cards' : 'general';
    const enq = start + int(0, 4 * 86_400_000);
    const outcome = r();
    const level = int(1, 3);
    if (outcome < 0.25) {
      f.requests.push(req(id, queue, enq, 'abandoned', enq + int(0, 200) * 1000, level));
    } else if (outcome < 0.35) {
      f.requests.push(req(id, queue, enq, 'waiting', null, level));
    } else {
      let at = enq + int(0, 240) * 1000;
      const holds = r() < 0.2 ? 2 : 1;
      const agents = ['st_a', 'st_b', 'st_c'];
      let agent = agents[int(0, 2)]!;
      for (let h = 0; h < holds; h++) {
        const until = at + int(10, 900) * 1000;
        f.custody.push({
          request_id: id,
          staff_id: agent,
          fence: h + 2,
          how: h === 0 ? 'accepted' : 'transfer_blind',
          from_at: at,
          until_at: until,
        });
        if (h + 1 < holds) {
          f.transfers.push({ request_id: id, kind: 'transfer', from_staff: agent, by_staff: agent });
          agent = agents[(agents.indexOf(agent) + 1) % 3]!;
        } else if (r() < 0.7)
          f.wrapUps.push({
            request_id: id,
            agent_id: agent,
            fence: h + 2,
            received_at: until + int(0, 120) * 1000,
          });
        at = until;
      }
      if (r() < 0.3)
        f.verifies.push({
          request_id: id,
          agent_id: agent,
          created_at: at - 5000,
          finished_at: at - int(0, 5) * 1000,
        });
      f.requests.push(req(id, queue, enq, 'completed', at, level));
    }
  }
  return f;
}

function req(id: string, queue: string, enq: number, state: string, ended: number | null, level: number) {
  return {
    id,
    queue_id: queue,
    enqueued_at: enq,
    state,
    ended_at: ended,
    end_reason: null,
    callback_mode: 'keep_place',
    slot_start: null,
    slot_end: null,
    level,
  };
}

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

/** The figures a supervisor would compute by hand from the raw rows of `ids`. */
function brute(f: ReportFacts, ids: Set<string>) {
  const rows = f.requests.filter((q) => ids.has(q.id));
  let answered = 0;
  let abandoned = 0;
  let within = 0;
  let waitSum = 0;
  let handleSum = 0;
  let handled = 0;
  let transfers = 0;
  for (const q of rows) {
    const holds = f.custody.filter((c) => c.request_id === q.id);
    transfers += f.transfers.filter((t) => t.request_id === q.id).length;
    if (holds.length === 0) {
      if (q.state === 'abandoned') abandoned++;
      continue;
    }
    answered++;
    const first = Math.min(...holds.map((h) => h.from_at));
    waitSum += first - q.enqueued_at;
    if (first - q.enqueued_at <= QUEUES[q.queue_id]! * 1000) within++;
    let handle = 0;
    for (const h of holds) {
      handle += h.until_at! - h.from_at;
      for (const w of f.wrapUps)
        if (w.request_id === q.id && w.fence === h.fence && w.agent_id === h.staff_id)
          handle += w.received_at - h.until_at!;
    }
    handleSum += handle;
    handled++;
  }
  const r1 = (x: number) => Math.round(x * 10) / 10;
  return {
    offered: rows.length,
    answered,
    abandoned,
    answeredWithinTarget: within,
    avgSpeedOfAnswerSeconds: answered ? r1(waitSum / answered / 1000) : null,
    avgHandleSeconds: handled ? r1(handleSum / handled / 1000) : null,
    transfers,
  };
}

function reportsOver(f: ReportFacts) {
  const ctx = {
    config: { siteTimeZone: TZ },
    data: {
      read: {
        reports: {
          facts: async (range: { from: number; to: number; queueId?: string }) => {
            const requests = f.requests.filter(
              (q) =>
                q.enqueued_at >= range.from &&
                q.enqueued_at < range.to &&
                (range.queueId === undefined || q.queue_id === range.queueId),
            );
            const ids = new Set(requests.map((q) => q.id));
            const mine = <T extends { request_id: string }>(xs: T[]) =>
              xs.filter((x) => ids.has(x.request_id));
            return {
              requests,
              custody: mine(f.custody),
              wrapUps: mine(f.wrapUps),
              transfers: mine(f.transfers),
              verifies: mine(f.verifies),
              knowledge: [],
              staff: [],
            };
          },
        },
      },
    },
  };
  const pipeline = { queue: (id: string) => ({ name: id, targetAnswerSeconds: QUEUES[id]! }) };
  return new Reports(ctx as never, pipeline as never);
}

const pick = <T extends Record<string, unknown>>(o: T) => ({
  offered: o.offered,
  answered: o.answered,
  abandoned: o.abandoned,
  answeredWithinTarget: o.answeredWithinTarget,
  avgSpeedOfAnswerSeconds: o.avgSpeedOfAnswerSeconds,
  avgHandleSeconds: o.avgHandleSeconds,
  transfers: o.transfers,
});

describe('historical reports: the figures equal a brute-force recomputation from the raw records', () => {
  it('per day, per hour, per queue and in total, for 60 random histories across the US spring change', async () => {
    let checked = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const f = history(seed);
      const reports = reportsOver(f);
      const inRange = f.requests.filter(
        (q) => dayOf(q.enqueued_at) >= '2026-03-06' && dayOf(q.enqueued_at) <= '2026-03-09',
      );
      const days = await reports.report({ from: '2026-03-06', to: '2026-03-09', granularity: 'day' });
      assert.deepEqual(
        pick(days.totals),
        brute(f, new Set(inRange.map((q) => q.id))),
        `seed ${seed}: totals`,
      );
      assert.deepEqual(
        days.series.map((b) => b.hours),
        [24, 24, 23, 24],
        'the day of the change has 23 hours',
      );
      for (const b of days.series) {
        const ids = new Set(inRange.filter((q) => dayOf(q.enqueued_at) === b.label).map((q) => q.id));
        assert.deepEqual(pick(b), brute(f, ids), `seed ${seed}: day ${b.label}`);
      }
      for (const q of days.queues) {
        const ids = new Set(inRange.filter((r) => r.queue_id === q.queueId).map((r) => r.id));
        assert.deepEqual(pick(q), brute(f, ids), `seed ${seed}: queue ${q.queueId}`);
      }
      const hours = await reports.report({ from: '2026-03-08', to: '2026-03-08', granularity: 'hour' });
      assert.equal(hours.series.length, 23);
      for (const b of hours.series) {
        const ids = new Set(
          f.requests.filter((q) => hourOf(q.enqueued_at) === b.label.slice(0, 13)).map((q) => q.id),
        );
        assert.deepEqual(pick(b), brute(f, ids), `seed ${seed}: hour ${b.label}`);
      }
      checked += f.requests.length;
    }
    console.log(`# ${checked} random requests in 60 histories: every figure equal to the brute-force count`);
  });
});
