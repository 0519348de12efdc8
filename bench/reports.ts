/**
 * Historical reports (authority/src/reports/) over a seeded history: N requests queued
 * over 30 days in Europe/Paris (the autumn daylight-saving change inside), a fifth
 * abandoned, the rest accepted by a demo agent, held, ended, most with a wrap-up. Each
 * report query runs in an in-process authority, once to warm up and then
 * VD_BENCH_REPORT_RUNS times (p50/p95), two ways on the same rows: after, `Reports.report`
 * (the figures aggregated in SQL by repos/reports.ts); before, the old path kept only here
 * (bench/reports-baseline.ts: every row of the range's requests read and reduced in
 * TypeScript), and whether both give the same report. Also printed: a plain indexed count
 * of the range's requests (`SELECT count(*) FROM requests WHERE enqueued_at in range`,
 * index requests_enqueued) as the floor, and the engine's query plan of the range read.
 * Printed, never asserted.
 *
 *   npx tsx bench/reports.ts      (or `npm run bench -- reports`)
 *
 * Size: VD_BENCH_REPORT_N (requests, default 20,000; the full size is 1,000,000:
 * seeding then takes minutes), VD_BENCH_REPORT_RUNS (default 10 per query). Engines:
 * VD_BENCH_ENGINES (default sqlite,postgres).
 */
import assert from 'node:assert/strict';
import { pathToFileURL } from 'node:url';
import { sql, type Insertable } from 'kysely';
import type { ReportQuery } from '../protocol/src/index.ts';
import type { Engine } from '../authority/src/store/engine.ts';
import type { Database } from '../authority/src/store/schema.ts';
import { startTestAuthority, type TestAuthority } from '../test/support/authority.ts';
import { benchEngines, engineName } from './authority-process.ts';
import { BaselineReports } from './reports-baseline.ts';

const N = Number(process.env.VD_BENCH_REPORT_N ?? 20_000);
const RUNS = Number(process.env.VD_BENCH_REPORT_RUNS ?? 10);
/**
 * `VD_BENCH_REPORT_BEFORE=0` skips the previous path (every row read into TypeScript), whose
 * memory and time grow with the range: at 1,000,000 requests the indexed count stays the
 * baseline and the report is timed alone.
 */
const BEFORE = process.env.VD_BENCH_REPORT_BEFORE !== '0';
const TZ = 'Europe/Paris';
/** 2026-10-01 00:00 in Paris (UTC+2); 30 local days, the change to UTC+1 on 2026-10-25. */
const START = Date.parse('2026-09-30T22:00:00Z');
const DAYS = 30;
const RANGE = { from: '2026-10-01', to: '2026-10-30' };
const QUEUES = ['cards', 'payments', 'business', 'general'];
const BATCH = 500;

export interface ReportsFigures {
  engine: Engine;
  n: number;
  runs: number;
  seedSeconds: number;
  /** the baseline: an indexed count of the same range */
  count: number[];
  counted: number;
  /** per query: the new path (SQL aggregation) and the old one (bench/reports-baseline.ts), and whether the reports are equal (null: the old path skipped, VD_BENCH_REPORT_BEFORE=0) */
  queries: { name: string; ms: number[]; oldMs: number[]; same: boolean | null }[];
  /** the engine's plan of the report's range read, over the 30 days and over one day */
  plan: string[];
  planOneDay: string[];
}

export const pct = (xs: readonly number[], p: number): number => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};
const fmt = (x: number, d = 0): string =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    : '-';

/** mulberry32: the same history on every run and engine. */
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

/** N requests with their sessions, holds and wrap-ups, written in units of BATCH requests. */
async function seed(a: TestAuthority, agents: string[]): Promise<void> {
  const r = rng(17);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const customer = 'c_alice_martin_01';
  await a.store.tx((t) =>
    t
      .insertInto('authentications')
      .values(
        [1, 2, 3].map((level) => ({
          id: `bench-auth-${level}`,
          customer_id: customer,
          device_id: null,
          level,
          created_at: START,
          expires_at: START + (DAYS + 1) * 86_400_000,
        })),
      )
      .execute(),
  );
  for (let from = 0; from < N; from += BATCH) {
    const sessions: Insertable<Database['service_sessions']>[] = [];
    const requests: Insertable<Database['requests']>[] = [];
    const custody: Insertable<Database['custody']>[] = [];
    const wrapUps: Insertable<Database['wrap_ups']>[] = [];
    for (let i = from; i < Math.min(N, from + BATCH); i++) {
      const id = `bench-rq-${i}`;
      const enq = START + Math.floor(r() * DAYS * 86_400_000);
      const auth = `bench-auth-${int(1, 3)}`;
      const abandoned = r() < 0.2;
      const agent = agents[int(0, agents.length - 1)]!;
      const accepted = enq + int(0, 180) * 1000;
      const ended = abandoned ? enq + int(0, 120) * 1000 : accepted + int(30, 900) * 1000;
      sessions.push({
        id: `bench-ss-${i}`,
        customer_id: customer,
        device_id: null,
        authentication_id: auth,
        created_at: enq,
        last_activity_at: ended,
        absolute_expires_at: enq + 3_600_000,
        ended_at: ended,
        end_reason: 'ended',
      });
      requests.push({
        id,
        session_id: `bench-ss-${i}`,
        customer_id: customer,
        device_id: null,
        authentication_id: auth,
        option_id: 'other',
        option_label: 'Something else',
        queue_id: QUEUES[int(0, QUEUES.length - 1)]!,
        required_level: 1,
        priority: 0,
        enqueued_at: enq,
        state: abandoned ? 'abandoned' : 'completed',
        fence: abandoned ? 1 : 2,
        agent_id: abandoned ? null : agent,
        assigned_at: abandoned ? null : accepted,
        ended_at: ended,
        end_reason: abandoned ? 'session_ended' : 'completed',
      });
      if (abandoned) continue;
      custody.push({
        request_id: id,
        staff_id: agent,
        role: 'agent',
        fence: 2,
        how: 'accepted',
        from_at: accepted,
        until_at: ended,
        end_reason: 'completed',
      });
      if (r() < 0.7)
        wrapUps.push({
          id: `bench-wu-${i}`,
          idempotency_key: `bench-wu-${i}`,
          request_id: id,
          agent_id: agent,
          fence: 2,
          disposition: '["resolved"]',
          notes: '',
          received_at: ended + int(0, 60) * 1000,
        });
    }
    await a.store.tx(async (t) => {
      await t.insertInto('service_sessions').values(sessions).execute();
      await t.insertInto('requests').values(requests).execute();
      if (custody.length) await t.insertInto('custody').values(custody).execute();
      if (wrapUps.length) await t.insertInto('wrap_ups').values(wrapUps).execute();
    });
  }
  if (a.engine === 'postgres') await sql`ANALYZE`.execute(a.store.db);
  else await sql`ANALYZE`.execute(a.store.db).catch(() => undefined);
}

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm-up: statements prepared, pages cached
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

export async function benchReports(engine: Engine): Promise<ReportsFigures> {
  const a = await startTestAuthority({ siteTimeZone: TZ, logLevel: 'silent' }, { engine });
  try {
    const agents = (
      await a.store.db.selectFrom('staff').select('id').where('role', '=', 'agent').orderBy('id').execute()
    ).map((s) => s.id);
    const t0 = performance.now();
    await seed(a, agents);
    const seedSeconds = (performance.now() - t0) / 1000;
    const from = START;
    const to = START + DAYS * 86_400_000 + 3_600_000; // the autumn day has 25 hours
    const countRows = async () =>
      Number(
        (
          await a.store.db
            .selectFrom('requests')
            .select((e) => e.fn.countAll().as('n'))
            .where('enqueued_at', '>=', from)
            .where('enqueued_at', '<', to)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const counted = await countRows();
    const count = await timed(countRows);
    const baseline = new BaselineReports(a.store.db, TZ, a.services.pipeline.config);
    const query = async (name: string, q: Partial<ReportQuery>) => {
      const full = { ...RANGE, granularity: 'day', ...q } as ReportQuery;
      if (!BEFORE)
        return { name, ms: await timed(() => a.services.reports.report(full)), oldMs: [], same: null };
      const now = await a.services.reports.report(full);
      const before = await baseline.report(full);
      let same = true;
      try {
        assert.deepEqual(now, before);
      } catch {
        same = false;
      }
      return {
        name,
        ms: await timed(() => a.services.reports.report(full)),
        oldMs: await timed(() => baseline.report(full)),
        same,
      };
    };
    const queries = [
      await query('30 days by day, all queues', {}),
      await query('30 days by hour, all queues', { granularity: 'hour' }),
      await query('30 days by day, one queue', { queueId: 'general' }),
      await query('30 days by day, one agent', { agentId: agents[0]! }),
    ];
    const planOf = async (lo: number, hi: number) => {
      const explain =
        a.engine === 'postgres'
          ? sql<
              Record<string, string>
            >`EXPLAIN SELECT id, queue_id, enqueued_at FROM requests WHERE enqueued_at >= ${lo} AND enqueued_at < ${hi} ORDER BY enqueued_at, id`
          : sql<
              Record<string, string>
            >`EXPLAIN QUERY PLAN SELECT id, queue_id, enqueued_at FROM requests WHERE enqueued_at >= ${lo} AND enqueued_at < ${hi} ORDER BY enqueued_at, id`;
      return (await explain.execute(a.store.db)).rows.map((row) =>
        String(row['QUERY PLAN'] ?? row.detail ?? JSON.stringify(row)).trim(),
      );
    };
    const plan = await planOf(from, to);
    const planOneDay = await planOf(from, from + 86_400_000);
    return { engine, n: N, runs: RUNS, seedSeconds, count, counted, queries, plan, planOneDay };
  } finally {
    await a.dispose();
  }
}

export function printReports(f: ReportsFigures): void {
  console.log(
    `\nreports (${engineName(f.engine)}): ${fmt(f.n)} requests over ${DAYS} days in ${TZ} (VD_BENCH_REPORT_N), ` +
      `seeded in ${fmt(f.seedSeconds, 1)} s; ${f.runs} runs per query (VD_BENCH_REPORT_RUNS) after one warm-up`,
  );
  const base = pct(f.count, 50);
  const base95 = pct(f.count, 95);
  const line = (name: string, ms: number[]) =>
    console.log(
      `  ${name.padEnd(44)} p50 ${fmt(pct(ms, 50), 2).padStart(9)} ms, p95 ${fmt(pct(ms, 95), 2).padStart(9)} ms` +
        `   ${fmt(pct(ms, 50) / base, 1)}x / ${fmt(pct(ms, 95) / base95, 1)}x the count`,
    );
  console.log(
    `  baseline: indexed count of the range (${fmt(f.counted)} rows)`.padEnd(46) +
      ` p50 ${fmt(base, 2).padStart(9)} ms, p95 ${fmt(base95, 2).padStart(9)} ms`,
  );
  for (const q of f.queries) {
    if (q.same === null) {
      line(`report (aggregated in SQL): ${q.name}`, q.ms);
      continue;
    }
    line(`before (rows reduced in TS): ${q.name}`, q.oldMs);
    line(`after (aggregated in SQL):   ${q.name}`, q.ms);
    console.log(
      `  ${''.padEnd(44)} p50 ${fmt(pct(q.oldMs, 50) / pct(q.ms, 50), 1)}x faster; the same report: ${q.same ? 'yes' : 'NO'}`,
    );
  }
  console.log(`  plan of the range read, 30 days: ${f.plan.join(' / ')}`);
  console.log(`  plan of the range read, 1 day:   ${f.planOneDay.join(' / ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const engine of benchEngines()) printReports(await benchReports(engine));
  process.exit(0);
}
