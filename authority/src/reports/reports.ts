import type { ReportChannel, ReportFigures, ReportQuery, ReportView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest } from '../errors.ts';
import type { PipelineConfigStore } from '../pipeline/pipeline-config.ts';
import { addSums, emptySums, type ReportAgentSums, type ReportSums } from '../store/repos/reports.ts';
import { dayLabel, hourLabel, nextDate, startOfLocalDay } from './zoned.ts';

/** A range longer than this is refused (a quarter). */
export const MAX_REPORT_DAYS = 92;
const HOUR = 3_600_000;
/** The answer target of a queue without one (seconds). */
const DEFAULT_TARGET_SECONDS = 20;

type ReportAgentRow = ReportView['agents'][number];

/**
 * Historical reports (docs/reports.md): the periods of the range (local days or hours of
 * the site's time zone, config.siteTimeZone, through Intl: correct across daylight-saving
 * changes) are computed here and handed to the store, which aggregates the durable records
 * of the requests queued in them (repos/reports.ts: indexed reads, GROUP BY in SQL) into
 * integer sums per (period, queue) and per agent. Here those sums are added up into
 * totals, queues and periods, and turned into averages and ratios, rounded, so both
 * engines give the same figures.
 */
export class Reports {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipelineConfig: PipelineConfigStore,
  ) {}

  /** The report of `query` (channel: 'all' when absent). */
  async report(query: Omit<ReportQuery, 'channel'> & { channel?: ReportChannel }): Promise<ReportView> {
    const q = { ...query, channel: query.channel ?? 'all' };
    const tz = this.ctx.config.siteTimeZone;
    if (q.to < q.from) throw badRequest('the range ends before it starts (to < from)');
    const days: string[] = [];
    for (let d = q.from; d <= q.to; d = nextDate(d)) {
      days.push(d);
      if (days.length > MAX_REPORT_DAYS) throw badRequest(`a report covers at most ${MAX_REPORT_DAYS} days`);
    }
    const from = startOfLocalDay(tz, q.from);
    const to = startOfLocalDay(tz, nextDate(q.to));

    const buckets: { start: number; end: number; label: string }[] = [];
    if (q.granularity === 'day')
      for (const d of days) {
        const start = startOfLocalDay(tz, d);
        // day labels come from the zone too (a check that the day starts are right)
        buckets.push({ start, end: startOfLocalDay(tz, nextDate(d)), label: dayLabel(tz, start) });
      }
    else
      for (let t = from; t < to; t += HOUR)
        buckets.push({ start: t, end: t + HOUR, label: hourLabel(tz, t) });

    const { groups, agents } = await this.ctx.data.read.reports.sums({
      from,
      to,
      ...(q.queueId ? { queueId: q.queueId } : {}),
      ...(q.agentId ? { agentId: q.agentId } : {}),
      ...(q.channel !== 'all' ? { channel: q.channel } : {}),
      buckets: buckets.map(({ start, end }) => ({ start, end })),
      targets: this.pipelineConfig.config.queues.map((c) => ({
        queueId: c.id,
        targetMs: this.targetSeconds(c.id) * 1000,
      })),
      defaultTargetMs: DEFAULT_TARGET_SECONDS * 1000,
    });

    const totals = emptySums();
    const byQueue = new Map<string, ReportSums>();
    const byBucket = buckets.map(() => emptySums());
    const channels = (q.channel === 'all' ? (['voice', 'chat'] as const) : [q.channel]).map((channel) => ({
      channel,
      sums: emptySums(),
    }));
    for (const g of groups) {
      addSums(totals, g.sums);
      const c = channels.find((x) => x.channel === g.channel);
      if (c) addSums(c.sums, g.sums);
      if (!byQueue.has(g.queueId)) byQueue.set(g.queueId, emptySums());
      addSums(byQueue.get(g.queueId)!, g.sums);
      if (g.bucket !== null) addSums(byBucket[g.bucket]!, g.sums);
    }
    const queues = [...byQueue.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([queueId, s]) => ({
        queueId,
        queueName: this.pipelineConfig.queue(queueId)?.name ?? queueId,
        targetAnswerSeconds: this.targetSeconds(queueId),
        ...figures(s),
      }));
    return {
      timeZone: tz,
      from: iso(from),
      to: iso(to),
      granularity: q.granularity,
      channel: q.channel,
      totals: figures(totals),
      channels: channels.map((c) => ({
        channel: c.channel,
        ...figures(c.sums),
        avgConcurrentChats: c.channel === 'chat' ? concurrency(agents) : null,
      })),
      queues,
      agents: agentRows(agents),
      series: buckets.map((b, i) => ({
        start: iso(b.start),
        label: b.label,
        hours: (b.end - b.start) / HOUR,
        ...figures(byBucket[i]!),
      })),
      missing: [
        'Seconds on knowledge questions exist only for checks made from a request in the console (the agent time it measured is audited with the check); checks recorded without a request have a count, no duration.',
        'Verification level at answer is recorded when the first holder takes the request (a step-up during the call does not change it); requests answered before it was recorded (store version 25) count with the level their authentication has when the report runs.',
        'Talk time is the time an agent held the request (accept to end), not the audio of the call: calls are not timed separately.',
        'Concurrent chats count the ended holds of the chats queued in the range only: a chat of another range held at the same time does not raise them.',
      ],
    };
  }

  private targetSeconds(queueId: string): number {
    return this.pipelineConfig.queue(queueId)?.targetAnswerSeconds ?? DEFAULT_TARGET_SECONDS;
  }
}

/** The figures of a set of requests from their sums: averages in seconds (one decimal), the service level (four). */
export function figures(s: ReportSums): ReportFigures {
  const avg = (ms: number, count: number) => (count === 0 ? null : round(ms / count / 1000));
  return {
    offered: s.offered,
    answered: s.answered,
    abandoned: s.abandoned,
    abandonedWithin10s: s.abandonedWithin10s,
    avgAbandonSeconds: avg(s.abandonWaitMs, s.abandoned),
    maxAbandonSeconds: s.maxAbandonWaitMs === null ? null : round(s.maxAbandonWaitMs / 1000),
    avgSpeedOfAnswerSeconds: avg(s.answerWaitMs, s.answered),
    answeredWithinTarget: s.answeredWithinTarget,
    serviceLevel:
      s.answered + s.abandoned === 0 ? null : round(s.answeredWithinTarget / (s.answered + s.abandoned), 4),
    avgTalkSeconds: avg(s.talkMs, s.ended),
    avgWrapUpSeconds: avg(s.wrapUpMs, s.wrapped),
    avgHandleSeconds: avg(s.handleMs, s.ended),
    transfers: s.transfers,
    callbacksBooked: s.callbacksBooked,
    callbacksKept: s.callbacksKept,
    answeredAtLevel1: s.answeredAtLevel1,
    answeredAtLevel2: s.answeredAtLevel2,
    answeredAtLevel3: s.answeredAtLevel3,
    deviceVerifications: s.deviceVerifications,
    deviceVerifySeconds: round(s.deviceVerifyMs / 1000),
    knowledgeChecks: s.knowledgeChecks,
    knowledgeSeconds: s.knowledgeTenths / 10,
    chatMessages: s.chatMessages,
  };
}

/** Chats held at once, on average, while at least one was open: chat time ÷ time with a chat open (two decimals; null: none). */
function concurrency(agents: readonly Pick<ReportAgentSums, 'chatTalkMs' | 'chatBusyMs'>[]): number | null {
  let talk = 0;
  let busy = 0;
  for (const a of agents) {
    talk += a.chatTalkMs;
    busy += a.chatBusyMs;
  }
  return busy === 0 ? null : round(talk / busy, 2);
}

/** The agents' rows, by name: seconds with one decimal, AHT per ended hold. */
function agentRows(agents: readonly ReportAgentSums[]): ReportAgentRow[] {
  return [...agents]
    .sort((a, b) => (a.agentName < b.agentName ? -1 : a.agentName > b.agentName ? 1 : 0))
    .map((a) => ({
      agentId: a.agentId,
      agentName: a.agentName,
      answered: a.answered,
      takenIn: a.takenIn,
      transfersOut: a.transfersOut,
      talkSeconds: round(a.talkMs / 1000),
      wrapUpSeconds: round(a.wrapUpMs / 1000),
      avgHandleSeconds: a.handles === 0 ? null : round((a.talkMs + a.wrapUpMs) / a.handles / 1000),
      deviceVerifications: a.deviceVerifications,
      deviceVerifySeconds: round(a.deviceVerifyMs / 1000),
      knowledgeChecks: a.knowledgeChecks,
      knowledgeChecksPassed: a.knowledgeChecksPassed,
      knowledgeSeconds: a.knowledgeTenths / 10,
      chatMessagesSent: a.chatMessagesSent,
      chatTalkSeconds: round(a.chatTalkMs / 1000),
      avgConcurrentChats: concurrency([a]),
    }));
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One cell of RFC 4180 CSV; a text starting with = + - @ (or tab/CR) is prefixed with ' so a spreadsheet never runs it. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? String(v) : String(v);
  if (typeof v !== 'number' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Rows of objects as RFC 4180 CSV: a header row of `columns`, CRLF line ends. */
export function toCsv(columns: readonly string[], rows: readonly Record<string, unknown>[]): string {
  const lines = [columns.map(csvCell).join(',')];
  for (const r of rows) lines.push(columns.map((c) => csvCell(r[c])).join(','));
  return lines.join('\r\n') + '\r\n';
}

/** The columns of each CSV table: the report's own field names, in the table's order (every row carries the channel). */
export const CSV_COLUMNS = {
  series: ['channel', 'label', 'start', 'hours'],
  queues: ['channel', 'queueId', 'queueName', 'targetAnswerSeconds'],
  channels: ['channel'],
  agents: [
    'channel',
    'agentId',
    'agentName',
    'answered',
    'takenIn',
    'transfersOut',
    'talkSeconds',
    'wrapUpSeconds',
    'avgHandleSeconds',
    'deviceVerifications',
    'deviceVerifySeconds',
    'knowledgeChecks',
    'knowledgeChecksPassed',
    'knowledgeSeconds',
    'chatMessagesSent',
    'chatTalkSeconds',
    'avgConcurrentChats',
  ],
} as const;
export const FIGURE_COLUMNS = [
  'offered',
  'answered',
  'abandoned',
  'abandonedWithin10s',
  'avgAbandonSeconds',
  'maxAbandonSeconds',
  'avgSpeedOfAnswerSeconds',
  'answeredWithinTarget',
  'serviceLevel',
  'avgTalkSeconds',
  'avgWrapUpSeconds',
  'avgHandleSeconds',
  'transfers',
  'callbacksBooked',
  'callbacksKept',
  'answeredAtLevel1',
  'answeredAtLevel2',
  'answeredAtLevel3',
  'deviceVerifications',
  'deviceVerifySeconds',
  'knowledgeChecks',
  'knowledgeSeconds',
  'chatMessages',
] as const;

/** One table of a report as CSV, and a file name for it. */
export function reportCsv(
  view: ReportView,
  table: 'series' | 'queues' | 'agents' | 'channels',
  q: { from: string; to: string },
): { filename: string; csv: string } {
  const cols =
    table === 'agents'
      ? [...CSV_COLUMNS.agents]
      : table === 'channels'
        ? [...CSV_COLUMNS.channels, ...FIGURE_COLUMNS, 'avgConcurrentChats']
        : [...CSV_COLUMNS[table], ...FIGURE_COLUMNS];
  const rows: Record<string, unknown>[] =
    table === 'channels'
      ? view.channels
      : (table === 'series' ? view.series : table === 'queues' ? view.queues : view.agents).map((r) => ({
          channel: view.channel,
          ...r,
        }));
  return {
    filename: `report-${table}-${view.channel}-${q.from}-${q.to}-${view.granularity}.csv`,
    csv: toCsv(cols, rows),
  };
}
