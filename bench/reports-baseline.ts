/**
 * The bench's baseline for bench/reports.ts: the report as it was computed before the
 * figures were aggregated in SQL, kept here only to measure against (and to check that the
 * new path gives the same report): every row of every request of the range read
 * (requests, custody, wrap-ups, transfers, verify commands, knowledge audit rows) and
 * reduced in TypeScript. Not used by the authority.
 */
import type { Kysely } from 'kysely';
import type { ReportFigures, ReportQuery, ReportView } from '../protocol/src/index.ts';
import { iso } from '../authority/src/clock.ts';
import type { PipelineConfigStore } from '../authority/src/pipeline/pipeline-config.ts';
import { dayLabel, hourLabel, nextDate, startOfLocalDay } from '../authority/src/reports/zoned.ts';
import type { Database } from '../authority/src/store/schema.ts';

/** A request of the report's range and what the report reads of it (requests + its authentication). */
export interface ReportRequestRow {
  id: string;
  queue_id: string;
  enqueued_at: number;
  state: string;
  ended_at: number | null;
  end_reason: string | null;
  callback_mode: string;
  slot_start: number | null;
  slot_end: number | null;
  level: number | null;
}

export interface ReportCustodyRow {
  request_id: string;
  staff_id: string;
  fence: number;
  how: string;
  from_at: number;
  until_at: number | null;
}

export interface ReportWrapUpRow {
  request_id: string;
  agent_id: string;
  fence: number;
  received_at: number;
}

export interface ReportTransferRow {
  request_id: string;
  kind: string;
  from_staff: string | null;
  by_staff: string;
}

export interface ReportVerifyRow {
  request_id: string;
  agent_id: string;
  created_at: number;
  finished_at: number | null;
}

export interface ReportKnowledgeRow {
  actor: string;
  at: number;
  outcome: string;
  /** names the request and the agent time the console measured (knowledge.ts) */
  reason: string | null;
}

/** Everything a historical report is computed from: the durable records of the requests queued in a range. */
export interface ReportFacts {
  requests: ReportRequestRow[];
  custody: ReportCustodyRow[];
  wrapUps: ReportWrapUpRow[];
  transfers: ReportTransferRow[];
  verifies: ReportVerifyRow[];
  knowledge: ReportKnowledgeRow[];
  staff: { id: string; display_name: string }[];
}

/** Rows for many ids, 500 ids per IN (...). */
async function inSlices<T, R>(ids: readonly T[], read: (part: T[]) => Promise<R[]>): Promise<R[]> {
  const distinct = [...new Set(ids)];
  const out: R[] = [];
  for (let i = 0; i < distinct.length; i += 500) out.push(...(await read(distinct.slice(i, i + 500))));
  return out;
}

async function readFacts(
  db: Kysely<Database>,
  range: { from: number; to: number; queueId?: string },
): Promise<ReportFacts> {
  let q = db
    .selectFrom('requests')
    .leftJoin('authentications', 'authentications.id', 'requests.authentication_id')
    .select([
      'requests.id',
      'requests.queue_id',
      'requests.enqueued_at',
      'requests.state',
      'requests.ended_at',
      'requests.end_reason',
      'requests.callback_mode',
      'requests.slot_start',
      'requests.slot_end',
      'authentications.level',
    ])
    .where('requests.enqueued_at', '>=', range.from)
    .where('requests.enqueued_at', '<', range.to);
  if (range.queueId !== undefined) q = q.where('requests.queue_id', '=', range.queueId);
  const requests = (await q
    .orderBy('requests.enqueued_at')
    .orderBy('requests.id')
    .execute()) as ReportRequestRow[];
  const ids = requests.map((r) => r.id);
  const custody = await inSlices(ids, (part) =>
    db
      .selectFrom('custody')
      .select(['request_id', 'staff_id', 'fence', 'how', 'from_at', 'until_at'])
      .where('request_id', 'in', part)
      .execute(),
  );
  const wrapUps = await inSlices(ids, (part) =>
    db
      .selectFrom('wrap_ups')
      .select(['request_id', 'agent_id', 'fence', 'received_at'])
      .where('request_id', 'in', part)
      .execute(),
  );
  const transfers = await inSlices(ids, (part) =>
    db
      .selectFrom('transfers')
      .select(['request_id', 'kind', 'from_staff', 'by_staff'])
      .where('request_id', 'in', part)
      .where('state', 'in', ['accepted', 'completed'])
      .execute(),
  );
  const verifies = await inSlices(ids, (part) =>
    db
      .selectFrom('device_commands')
      .select(['request_id', 'agent_id', 'created_at', 'finished_at'])
      .where('request_id', 'in', part)
      .where('kind', '=', 'verify')
      .execute(),
  );
  const knowledge = await db
    .selectFrom('audit_log')
    .select(['actor', 'at', 'outcome', 'reason'])
    .where('action', '=', 'auth.knowledge')
    .where('at', '>=', range.from)
    .where('at', '<', range.to)
    .execute();
  const staff = await db.selectFrom('staff').select(['id', 'display_name']).execute();
  return { requests, custody, wrapUps, transfers, verifies, knowledge, staff };
}

/** A range longer than this is refused (a quarter). */
const MAX_REPORT_DAYS = 92;
/** Abandoned within this many seconds counts as a short abandon. */
const SHORT_ABANDON_MS = 10_000;
const HOUR = 3_600_000;

type ReportAgentRow = ReportView['agents'][number];

/** One request reduced to what the figures need (all times in ms). */
interface Fact {
  id: string;
  queueId: string;
  enqueuedAt: number;
  /** when the wait started: enqueued, or the booked slot of a scheduled callback */
  waitFrom: number;
  answeredAt: number | null;
  abandonedAt: number | null;
  /** accept to end over every ended hold (null while one is open) */
  talkMs: number | null;
  wrapUpMs: number;
  wrapUps: number;
  transfers: number;
  callback: boolean;
  slotEnd: number | null;
  level: number | null;
  verifies: number;
  verifyMs: number;
  knowledgeChecks: number;
  knowledgeSeconds: number;
  agents: Set<string>;
}

/**
 * Historical reports (docs/reports.md): the durable records of the requests queued in a
 * range of local days (repos/reports.ts, indexed reads) reduced here, in one place, so
 * both engines give the same figures. Days and hours are those of the site's time zone
 * (config.siteTimeZone) through Intl: correct across daylight-saving changes.
 */
export class BaselineReports {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly tz: string,
    private readonly pipelineConfig: PipelineConfigStore,
  ) {}

  async report(q: ReportQuery): Promise<ReportView> {
    const tz = this.tz;
    if (q.to < q.from) throw new Error('the range ends before it starts (to < from)');
    const days: string[] = [];
    for (let d = q.from; d <= q.to; d = nextDate(d)) {
      days.push(d);
      if (days.length > MAX_REPORT_DAYS) throw new Error(`a report covers at most ${MAX_REPORT_DAYS} days`);
    }
    const from = startOfLocalDay(tz, q.from);
    const to = startOfLocalDay(tz, nextDate(q.to));
    const facts = await readFacts(this.db, {
      from,
      to,
      ...(q.queueId ? { queueId: q.queueId } : {}),
    });
    const all = this.reduce(facts);
    const chosen = q.agentId ? all.filter((f) => f.agents.has(q.agentId!)) : all;

    const buckets: { start: number; end: number; label: string }[] = [];
    if (q.granularity === 'day')
      for (const d of days)
        buckets.push({ start: startOfLocalDay(tz, d), end: startOfLocalDay(tz, nextDate(d)), label: d });
    else
      for (let t = from; t < to; t += HOUR)
        buckets.push({ start: t, end: t + HOUR, label: hourLabel(tz, t) });
    // day labels come from the zone too (a check that the day starts are right)
    if (q.granularity === 'day') for (const b of buckets) b.label = dayLabel(tz, b.start);

    const byQueue = new Map<string, Fact[]>();
    for (const f of chosen) byQueue.set(f.queueId, [...(byQueue.get(f.queueId) ?? []), f]);
    const queues = [...byQueue.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([queueId, fs]) => {
        const qc = this.pipelineConfig.queue(queueId);
        return {
          queueId,
          queueName: qc?.name ?? queueId,
          targetAnswerSeconds: this.target(queueId) / 1000,
          ...this.figures(fs),
        };
      });
    return {
      timeZone: tz,
      from: iso(from),
      to: iso(to),
      granularity: q.granularity,
      // the baseline predates chats: every request of the bench is a call
      channel: 'all',
      totals: this.figures(chosen),
      channels: [
        { channel: 'voice', ...this.figures(chosen), avgConcurrentChats: null },
        { channel: 'chat', ...this.figures([]), avgConcurrentChats: null },
      ],
      queues,
      agents: this.agentRows(facts, chosen, q.agentId),
      series: buckets.map((b) => ({
        start: iso(b.start),
        label: b.label,
        hours: (b.end - b.start) / HOUR,
        ...this.figures(chosen.filter((f) => f.enqueuedAt >= b.start && f.enqueuedAt < b.end)),
      })),
      missing: [
        'Seconds on knowledge questions exist only for checks made from a request in the console (the agent time it measured is audited with the check); checks recorded without a request have a count, no duration.',
        'Verification level at answer is the level of the authentication bound to the request when the report runs (a step-up during the call raises it; a re-verification after expiry replaces it).',
        'Talk time is the time an agent held the request (accept to end), not the audio of the call: calls are not timed separately.',
        'Concurrent chats count the ended holds of the chats queued in the range only: a chat of another range held at the same time does not raise them.',
      ],
    };
  }

  private target(queueId: string): number {
    return (this.pipelineConfig.queue(queueId)?.targetAnswerSeconds ?? 20) * 1000;
  }

  private reduce(x: ReportFacts): Fact[] {
    const group = <T extends { request_id: string }>(rows: T[]) => {
      const m = new Map<string, T[]>();
      for (const r of rows) m.set(r.request_id, [...(m.get(r.request_id) ?? []), r]);
      return m;
    };
    const custody = group(x.custody);
    const wraps = group(x.wrapUps);
    const transfers = group(x.transfers);
    const verifies = group(x.verifies);
    const knowledge = new Map<string, { checks: number; seconds: number }>();
    for (const k of x.knowledge) {
      const m = knowledgeOf(k.reason);
      if (!m.requestId) continue;
      const e = knowledge.get(m.requestId) ?? { checks: 0, seconds: 0 };
      e.checks++;
      e.seconds += m.seconds;
      knowledge.set(m.requestId, e);
    }
    return x.requests.map((r: ReportRequestRow) => {
      const holds = (custody.get(r.id) ?? []).sort((a, b) => a.fence - b.fence);
      const answeredAt = holds.length > 0 ? Math.min(...holds.map((h) => h.from_at)) : null;
      const callback = r.callback_mode === 'slot' && r.slot_start !== null;
      const waitFrom = callback ? Math.max(r.enqueued_at, r.slot_start!) : r.enqueued_at;
      let talkMs: number | null = null;
      if (holds.length > 0 && holds.every((h) => h.until_at !== null))
        talkMs = holds.reduce((s, h) => s + (h.until_at! - h.from_at), 0);
      let wrapUpMs = 0;
      let wrapUpCount = 0;
      for (const w of wraps.get(r.id) ?? []) {
        const hold = holds.find((h) => h.fence === w.fence && h.staff_id === w.agent_id);
        if (hold?.until_at == null) continue;
        wrapUpMs += Math.max(0, w.received_at - hold.until_at);
        wrapUpCount++;
      }
      const v = (verifies.get(r.id) ?? []).filter((c) => c.finished_at !== null);
      return {
        id: r.id,
        queueId: r.queue_id,
        enqueuedAt: r.enqueued_at,
        waitFrom,
        answeredAt,
        abandonedAt: answeredAt === null && r.state === 'abandoned' ? (r.ended_at ?? r.enqueued_at) : null,
        talkMs,
        wrapUpMs,
        wrapUps: wrapUpCount,
        transfers: (transfers.get(r.id) ?? []).length,
        callback,
        slotEnd: r.slot_end,
        level: answeredAt !== null ? r.level : null,
        verifies: (verifies.get(r.id) ?? []).length,
        verifyMs: v.reduce((s, c) => s + (c.finished_at! - c.created_at), 0),
        knowledgeChecks: knowledge.get(r.id)?.checks ?? 0,
        knowledgeSeconds: knowledge.get(r.id)?.seconds ?? 0,
        agents: new Set(holds.map((h) => h.staff_id)),
      } satisfies Fact;
    });
  }

  figures(fs: Fact[]): ReportFigures {
    const answered = fs.filter((f) => f.answeredAt !== null);
    const abandoned = fs.filter((f) => f.abandonedAt !== null);
    const waits = answered.map((f) => Math.max(0, f.answeredAt! - f.waitFrom));
    const abandonWaits = abandoned.map((f) => Math.max(0, f.abandonedAt! - f.waitFrom));
    const ended = answered.filter((f) => f.talkMs !== null);
    const within = answered.filter((f) => f.answeredAt! - f.waitFrom <= this.target(f.queueId)).length;
    const avg = (xs: number[]) =>
      xs.length === 0 ? null : round(xs.reduce((s, x) => s + x, 0) / xs.length / 1000);
    const booked = fs.filter((f) => f.callback);
    return {
      offered: fs.length,
      answered: answered.length,
      abandoned: abandoned.length,
      abandonedWithin10s: abandonWaits.filter((w) => w <= SHORT_ABANDON_MS).length,
      avgAbandonSeconds: avg(abandonWaits),
      maxAbandonSeconds: abandonWaits.length ? round(Math.max(...abandonWaits) / 1000) : null,
      avgSpeedOfAnswerSeconds: avg(waits),
      answeredWithinTarget: within,
      serviceLevel:
        answered.length + abandoned.length === 0
          ? null
          : round(within / (answered.length + abandoned.length), 4),
      avgTalkSeconds: avg(ended.map((f) => f.talkMs!)),
      avgWrapUpSeconds: avg(ended.filter((f) => f.wrapUps > 0).map((f) => f.wrapUpMs)),
      avgHandleSeconds: avg(ended.map((f) => f.talkMs! + f.wrapUpMs)),
      transfers: fs.reduce((s, f) => s + f.transfers, 0),
      callbacksBooked: booked.length,
      callbacksKept: booked.filter(
        (f) => f.answeredAt !== null && f.slotEnd !== null && f.answeredAt <= f.slotEnd,
      ).length,
      answeredAtLevel1: answered.filter((f) => f.level === 1).length,
      answeredAtLevel2: answered.filter((f) => f.level === 2).length,
      answeredAtLevel3: answered.filter((f) => (f.level ?? 0) >= 3).length,
      deviceVerifications: fs.reduce((s, f) => s + f.verifies, 0),
      deviceVerifySeconds: round(fs.reduce((s, f) => s + f.verifyMs, 0) / 1000),
      knowledgeChecks: fs.reduce((s, f) => s + f.knowledgeChecks, 0),
      knowledgeSeconds: round(fs.reduce((s, f) => s + f.knowledgeSeconds, 0)),
      chatMessages: 0,
    };
  }

  private agentRows(x: ReportFacts, chosen: Fact[], only: string | undefined): ReportAgentRow[] {
    const names = new Map(x.staff.map((s) => [s.id, s.display_name]));
    const inRange = new Set(chosen.map((f) => f.id));
    const rows = new Map<string, ReportAgentRow & { handles: number; handleMs: number }>();
    const row = (id: string) => {
      let r = rows.get(id);
      if (!r)
        rows.set(
          id,
          (r = {
            agentId: id,
            agentName: names.get(id) ?? id,
            answered: 0,
            takenIn: 0,
            transfersOut: 0,
            talkSeconds: 0,
            wrapUpSeconds: 0,
            avgHandleSeconds: null,
            deviceVerifications: 0,
            deviceVerifySeconds: 0,
            knowledgeChecks: 0,
            knowledgeChecksPassed: 0,
            knowledgeSeconds: 0,
            chatMessagesSent: 0,
            chatTalkSeconds: 0,
            avgConcurrentChats: null,
            handles: 0,
            handleMs: 0,
          }),
        );
      return r;
    };
    const holdOf = new Map(x.custody.map((h) => [`${h.request_id}/${h.fence}/${h.staff_id}`, h]));
    const wrapMs = new Map<string, number>();
    for (const w of x.wrapUps) {
      const h = holdOf.get(`${w.request_id}/${w.fence}/${w.agent_id}`);
      if (h?.until_at == null) continue;
      const k = `${w.request_id}/${w.fence}/${w.agent_id}`;
      wrapMs.set(k, (wrapMs.get(k) ?? 0) + Math.max(0, w.received_at - h.until_at));
    }
    for (const h of x.custody) {
      if (!inRange.has(h.request_id)) continue;
      const r = row(h.staff_id);
      if (h.how === 'accepted') r.answered++;
      else r.takenIn++;
      if (h.until_at !== null) {
        const w = wrapMs.get(`${h.request_id}/${h.fence}/${h.staff_id}`) ?? 0;
        r.talkSeconds += (h.until_at - h.from_at) / 1000;
        r.wrapUpSeconds += w / 1000;
        r.handles++;
        r.handleMs += h.until_at - h.from_at + w;
      }
    }
    for (const t of x.transfers) {
      const from = t.from_staff;
      if (from !== null) row(from).transfersOut++;
    }
    for (const v of x.verifies) {
      const r = row(v.agent_id);
      r.deviceVerifications++;
      if (v.finished_at !== null) r.deviceVerifySeconds += (v.finished_at - v.created_at) / 1000;
    }
    for (const k of x.knowledge) {
      if (!k.actor.startsWith('staff:')) continue;
      const r = row(k.actor.slice('staff:'.length));
      r.knowledgeChecks++;
      if (k.outcome === 'success') r.knowledgeChecksPassed++;
      r.knowledgeSeconds += knowledgeOf(k.reason).seconds;
    }
    return [...rows.values()]
      .filter((r) => only === undefined || r.agentId === only)
      .sort((a, b) => (a.agentName < b.agentName ? -1 : a.agentName > b.agentName ? 1 : 0))
      .map(({ handles, handleMs, ...r }) => ({
        ...r,
        talkSeconds: round(r.talkSeconds),
        wrapUpSeconds: round(r.wrapUpSeconds),
        deviceVerifySeconds: round(r.deviceVerifySeconds),
        knowledgeSeconds: round(r.knowledgeSeconds),
        avgHandleSeconds: handles === 0 ? null : round(handleMs / handles / 1000),
      }));
  }
}

/** The request and the agent time a knowledge check's audit reason names ("request <id>, N answers, agent time X s"). */
function knowledgeOf(reason: string | null): { requestId: string | null; seconds: number } {
  const request = /(?:^|; )request (\S+), \d+ answers/.exec(reason ?? '');
  const time = /agent time (\d+(?:\.\d+)?) s/.exec(reason ?? '');
  return { requestId: request?.[1] ?? null, seconds: time ? Number(time[1]) : 0 };
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
