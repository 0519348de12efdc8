import { sql, type RawBuilder } from 'kysely';
import { inSlices, Repo } from './base.ts';

/** What a report covers: requests queued in [from, to) (ms), optionally of one queue / held by one agent. */
export interface ReportScope {
  from: number;
  to: number;
  queueId?: string;
  agentId?: string;
  /** only the requests of this channel (absent: both) */
  channel?: 'voice' | 'chat';
}

export interface ReportSumsQuery extends ReportScope {
  /** the periods, sorted and not overlapping: [start, end) instants (local days or hours, zoned.ts) */
  buckets: readonly { start: number; end: number }[];
  /** the answer target (ms) of each configured queue; any other queue gets `defaultTargetMs` */
  targets: readonly { queueId: string; targetMs: number }[];
  defaultTargetMs: number;
}

/** Additive sums over a set of requests (integers, ms): totals, queues and periods are sums of these. */
export interface ReportSums {
  offered: number;
  answered: number;
  abandoned: number;
  abandonedWithin10s: number;
  /** sum of the abandoned's waits (each at least 0) and the longest (null: none abandoned) */
  abandonWaitMs: number;
  maxAbandonWaitMs: number | null;
  /** sum of the answered's waits (each at least 0) */
  answerWaitMs: number;
  answeredWithinTarget: number;
  /** answered requests whose holds have all ended, their talk and talk + wrap-up */
  ended: number;
  talkMs: number;
  handleMs: number;
  /** of the ended, those with a wrap-up, and their wrap-up time */
  wrapped: number;
  wrapUpMs: number;
  transfers: number;
  callbacksBooked: number;
  callbacksKept: number;
  answeredAtLevel1: number;
  answeredAtLevel2: number;
  answeredAtLevel3: number;
  deviceVerifications: number;
  deviceVerifyMs: number;
  knowledgeChecks: number;
  /** agent seconds on knowledge questions, in tenths of a second (the audit's precision) */
  knowledgeTenths: number;
  /** chat messages of the requests (both senders) */
  chatMessages: number;
}

/** The sums of the requests of one queue and channel queued in one period (`bucket`: index in the query's buckets). */
export interface ReportGroup {
  bucket: number | null;
  queueId: string;
  channel: 'voice' | 'chat';
  sums: ReportSums;
}

/** One agent's sums over the requests of the range (and queue). */
export interface ReportAgentSums {
  agentId: string;
  agentName: string;
  answered: number;
  takenIn: number;
  transfersOut: number;
  /** ended holds, their talk and wrap-up */
  handles: number;
  talkMs: number;
  wrapUpMs: number;
  deviceVerifications: number;
  deviceVerifyMs: number;
  knowledgeChecks: number;
  knowledgeChecksPassed: number;
  knowledgeTenths: number;
  /** chat messages they wrote */
  chatMessagesSent: number;
  /** their ended holds of chats: the sum of their lengths, and the time at least one was open (the union) */
  chatTalkMs: number;
  chatBusyMs: number;
}

export const emptySums = (): ReportSums => ({
  offered: 0,
  answered: 0,
  abandoned: 0,
  abandonedWithin10s: 0,
  abandonWaitMs: 0,
  maxAbandonWaitMs: null,
  answerWaitMs: 0,
  answeredWithinTarget: 0,
  ended: 0,
  talkMs: 0,
  handleMs: 0,
  wrapped: 0,
  wrapUpMs: 0,
  transfers: 0,
  callbacksBooked: 0,
  callbacksKept: 0,
  answeredAtLevel1: 0,
  answeredAtLevel2: 0,
  answeredAtLevel3: 0,
  deviceVerifications: 0,
  deviceVerifyMs: 0,
  knowledgeChecks: 0,
  knowledgeTenths: 0,
  chatMessages: 0,
});

/** `into` += `x`, field by field (the longest abandon: the larger). */
export function addSums(into: ReportSums, x: ReportSums): ReportSums {
  for (const k of Object.keys(x) as (keyof ReportSums)[]) {
    if (k === 'maxAbandonWaitMs') {
      const a = into.maxAbandonWaitMs;
      const b = x.maxAbandonWaitMs;
      into.maxAbandonWaitMs = a === null ? b : b === null ? a : Math.max(a, b);
    } else into[k] += x[k];
  }
  return into;
}

/** Abandoned within this many ms counts as a short abandon. */
const SHORT_ABANDON_MS = 10_000;
const VERIFY = 'verify';
const TRANSFERRED = ['accepted', 'completed'] as const;

const n = (x: unknown): number => (x === null || x === undefined ? 0 : Number(x));
const lit = (x: number): RawBuilder<number> => {
  if (!Number.isSafeInteger(x)) throw new Error(`report bound ${x} is not an integer`);
  return sql.lit(x);
};

/**
 * The historical reports' reads (read-only, across aggregates), aggregated by the engine:
 * no request row leaves the database. The requests of the range come by `requests_enqueued`
 * (enqueued_at); per request, its custody holds (primary key request_id, fence), wrap-ups
 * (`wrap_ups_request`), transfers (`transfers_request`) and verify commands
 * (`device_commands_request`) are aggregated with GROUP BY request, then the per-request
 * facts are summed GROUP BY (period, queue); per agent likewise. The period of a request is
 * found over the edges of the buckets' [start, end) instants, computed by the domain in the
 * site's zone (so a DST day of 23 or 25 hours is what it is): PostgreSQL's width_bucket, a
 * balanced CASE on SQLite (a large CASE makes PostgreSQL's JIT slow). Only integer sums,
 * counts and maxima come back, identical on both engines; averages and rounding are the
 * domain's (authority/src/reports/). Knowledge checks are the `auth.knowledge` audit rows
 * of the range (`audit_log_action`), whose reason names the request and the agent time;
 * their requests are looked up by primary key.
 */
export class ReportsRepo extends Repo {
  /** The sums per (period, queue) of the requests in scope, and per agent. */
  async sums(q: ReportSumsQuery): Promise<{ groups: ReportGroup[]; agents: ReportAgentSums[] }> {
    for (let i = 1; i < q.buckets.length; i++)
      if (q.buckets[i]!.start < q.buckets[i - 1]!.end)
        throw new Error('report buckets overlap or are unsorted');
    const knowledge = await this.knowledgeRows(q);
    const groups = await this.groups(q);
    await this.addKnowledge(q, groups, knowledge);
    const agents = await this.agents(q, knowledge);
    return { groups: [...groups.values()], agents };
  }

  /** The requests of the range (and queue; and held by the agent when `withAgent`). */
  private scope(q: ReportScope, withAgent: boolean) {
    let s = this.q
      .selectFrom('requests')
      .where('requests.enqueued_at', '>=', q.from)
      .where('requests.enqueued_at', '<', q.to);
    if (q.queueId !== undefined) s = s.where('requests.queue_id', '=', q.queueId);
    if (q.channel !== undefined) s = s.where('requests.channel', '=', q.channel);
    if (withAgent && q.agentId !== undefined) {
      const agentId = q.agentId;
      s = s.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('custody')
            .select(sql.lit(1).as('one'))
            .whereRef('custody.request_id', '=', 'requests.id')
            .where('custody.staff_id', '=', agentId),
        ),
      );
    }
    return s;
  }

  /**
   * The index k of the interval [edges[k], edges[k + 1]) holding `rq.enqueued_at` (-1 or
   * edges.length - 1 outside): PostgreSQL's width_bucket over the sorted edges (a binary
   * search); on SQLite a balanced CASE over the same edges, inlined as integer literals.
   */
  private intervalOf(edges: readonly number[]): RawBuilder<number | null> {
    const t = sql.ref('rq.enqueued_at');
    if (this.c.engine === 'postgres')
      return sql`width_bucket(${t}, ARRAY[${sql.join(edges.map(lit))}]::BIGINT[]) - 1`;
    const tree = (lo: number, hi: number): RawBuilder<number | null> => {
      // every instant at or after edges[lo] and before edges[hi + 1] lies in one of lo..hi
      if (lo === hi) return lit(lo);
      const mid = (lo + hi + 1) >> 1;
      return sql`CASE WHEN ${t} < ${lit(edges[mid]!)} THEN ${tree(lo, mid - 1)} ELSE ${tree(mid, hi)} END`;
    };
    return sql`CASE WHEN ${t} < ${lit(edges[0]!)} THEN -1 WHEN ${t} >= ${lit(edges.at(-1)!)} THEN ${lit(edges.length - 1)} ELSE ${tree(0, edges.length - 2)} END`;
  }

  private targetOf(q: ReportSumsQuery): RawBuilder<number> {
    if (q.targets.length === 0) return lit(q.defaultTargetMs);
    const whens = q.targets.map((x) => sql`WHEN ${x.queueId} THEN ${lit(x.targetMs)}`);
    return sql`CASE rq.queue_id ${sql.join(whens, sql` `)} ELSE ${lit(q.defaultTargetMs)} END`;
  }

  private async groups(q: ReportSumsQuery): Promise<Map<string, ReportGroup>> {
    // `rq`, the requests of the range, is read once (MATERIALIZED) and each per-request
    // aggregate joins it, rather than each running the range's subquery again.
    const rows = await this.q
      .with(
        (cte) => cte('rq').materialized(),
        () =>
          this.scope(q, true)
            .leftJoin('authentications', 'authentications.id', 'requests.authentication_id')
            .select([
              'requests.id',
              'requests.queue_id',
              'requests.channel',
              'requests.enqueued_at',
              'requests.state',
              'requests.ended_at',
              'requests.callback_mode',
              'requests.slot_start',
              'requests.slot_end',
              'authentications.level',
            ]),
      )
      .with('h', (db) =>
        db
          .selectFrom('custody as c')
          .innerJoin('rq', 'rq.id', 'c.request_id')
          .groupBy('c.request_id')
          .select([
            'c.request_id',
            sql<number>`min(c.from_at)`.as('answered_at'),
            sql<number>`count(*) - count(c.until_at)`.as('open_n'),
            sql<number>`sum(c.until_at - c.from_at)`.as('talk_ms'),
          ]),
      )
      // The first holding of each request (the lowest fence): the verification level at answer.
      // MATERIALIZED: inlined into the join below, SQLite ran its correlated min() once per
      // joined row and this one CTE took more than half of the report (bench/reports.ts).
      .with(
        (cte) => cte('a').materialized(),
        (db) =>
          db
            .selectFrom('custody as c')
            .innerJoin('rq', 'rq.id', 'c.request_id')
            .where(
              'c.fence',
              '=',
              sql<number>`(SELECT min(c2.fence) FROM custody c2 WHERE c2.request_id = c.request_id)`,
            )
            .select(['c.request_id', 'c.level']),
      )
      .with('hw', (db) =>
        db
          .selectFrom('wrap_ups as w')
          .innerJoin('custody as c', (j) =>
            j
              .onRef('c.request_id', '=', 'w.request_id')
              .onRef('c.fence', '=', 'w.fence')
              .onRef('c.staff_id', '=', 'w.agent_id'),
          )
          .innerJoin('rq', 'rq.id', 'w.request_id')
          .where('c.until_at', 'is not', null)
          .groupBy('w.request_id')
          .select([
            'w.request_id',
            sql<number>`count(*)`.as('n'),
            sql<number>`sum(CASE WHEN w.received_at > c.until_at THEN w.received_at - c.until_at ELSE 0 END)`.as(
              'ms',
            ),
          ]),
      )
      .with('t', (db) =>
        db
          .selectFrom('transfers as x')
          .innerJoin('rq', 'rq.id', 'x.request_id')
          .where('x.state', 'in', TRANSFERRED)
          .groupBy('x.request_id')
          .select(['x.request_id', sql<number>`count(*)`.as('n')]),
      )
      .with('v', (db) =>
        db
          .selectFrom('device_commands as d')
          .innerJoin('rq', 'rq.id', 'd.request_id')
          .where('d.kind', '=', VERIFY)
          .groupBy('d.request_id')
          .select([
            'd.request_id',
            sql<number>`count(*)`.as('n'),
            sql<number>`sum(d.finished_at - d.created_at)`.as('ms'),
          ]),
      )
      .with('m', (db) =>
        db
          .selectFrom('chat_messages as cm')
          .innerJoin('rq', 'rq.id', 'cm.request_id')
          .where('rq.channel', '=', 'chat')
          .groupBy('cm.request_id')
          .select(['cm.request_id', sql<number>`count(*)`.as('n')]),
      )
      .with('f', (db) =>
        db
          .selectFrom('rq')
          .leftJoin('h', 'h.request_id', 'rq.id')
          .leftJoin('a', 'a.request_id', 'rq.id')
          .leftJoin('hw', 'hw.request_id', 'rq.id')
          .leftJoin('t', 't.request_id', 'rq.id')
          .leftJoin('v', 'v.request_id', 'rq.id')
          .leftJoin('m', 'm.request_id', 'rq.id')
          .select([
            'rq.queue_id',
            'rq.channel',
            this.intervalOf(edgesOf(q.buckets).edges).as('bucket'),
            sql<number>`CASE WHEN rq.callback_mode = 'slot' AND rq.slot_start IS NOT NULL AND rq.slot_start > rq.enqueued_at THEN rq.slot_start ELSE rq.enqueued_at END`.as(
              'wait_from',
            ),
            sql<number>`CASE WHEN rq.callback_mode = 'slot' AND rq.slot_start IS NOT NULL THEN 1 ELSE 0 END`.as(
              'callback',
            ),
            'rq.slot_end',
            // holdings from before the level was recorded (version 25): the authentication's level now
            sql<number | null>`coalesce(a.level, rq.level)`.as('level'),
            'h.answered_at',
            sql<
              number | null
            >`CASE WHEN h.answered_at IS NULL AND rq.state = 'abandoned' THEN coalesce(rq.ended_at, rq.enqueued_at) END`.as(
              'abandoned_at',
            ),
            sql<number | null>`CASE WHEN h.open_n = 0 THEN h.talk_ms END`.as('talk_ms'),
            sql<number>`coalesce(hw.n, 0)`.as('wraps'),
            sql<number>`coalesce(hw.ms, 0)`.as('wrap_ms'),
            sql<number>`coalesce(t.n, 0)`.as('transfers'),
            sql<number>`coalesce(v.n, 0)`.as('verifies'),
            sql<number>`coalesce(v.ms, 0)`.as('verify_ms'),
            sql<number>`coalesce(m.n, 0)`.as('messages'),
            this.targetOf(q).as('target_ms'),
          ]),
      )
      .selectFrom('f')
      .groupBy(['f.bucket', 'f.queue_id', 'f.channel'])
      .select([
        'f.bucket',
        'f.queue_id',
        'f.channel',
        sql<number>`count(*)`.as('offered'),
        sql<number>`count(f.answered_at)`.as('answered'),
        sql<number>`count(f.abandoned_at)`.as('abandoned'),
        sql<number>`sum(CASE WHEN f.abandoned_at - f.wait_from <= ${lit(SHORT_ABANDON_MS)} THEN 1 ELSE 0 END)`.as(
          'abandoned_short',
        ),
        sql<number>`sum(CASE WHEN f.abandoned_at > f.wait_from THEN f.abandoned_at - f.wait_from ELSE 0 END)`.as(
          'abandon_ms',
        ),
        sql<
          number | null
        >`max(CASE WHEN f.abandoned_at > f.wait_from THEN f.abandoned_at - f.wait_from WHEN f.abandoned_at IS NOT NULL THEN 0 END)`.as(
          'max_abandon_ms',
        ),
        sql<number>`sum(CASE WHEN f.answered_at > f.wait_from THEN f.answered_at - f.wait_from ELSE 0 END)`.as(
          'answer_ms',
        ),
        sql<number>`sum(CASE WHEN f.answered_at - f.wait_from <= f.target_ms THEN 1 ELSE 0 END)`.as('within'),
        sql<number>`count(f.talk_ms)`.as('ended'),
        sql<number>`sum(f.talk_ms)`.as('talk_ms'),
        sql<number>`sum(CASE WHEN f.talk_ms IS NOT NULL THEN f.talk_ms + f.wrap_ms ELSE 0 END)`.as(
          'handle_ms',
        ),
        sql<number>`sum(CASE WHEN f.talk_ms IS NOT NULL AND f.wraps > 0 THEN 1 ELSE 0 END)`.as('wrapped'),
        sql<number>`sum(CASE WHEN f.talk_ms IS NOT NULL AND f.wraps > 0 THEN f.wrap_ms ELSE 0 END)`.as(
          'wrap_ms',
        ),
        sql<number>`sum(f.transfers)`.as('transfers'),
        sql<number>`sum(f.callback)`.as('booked'),
        sql<number>`sum(CASE WHEN f.callback = 1 AND f.answered_at <= f.slot_end THEN 1 ELSE 0 END)`.as(
          'kept',
        ),
        sql<number>`sum(CASE WHEN f.answered_at IS NOT NULL AND f.level = 1 THEN 1 ELSE 0 END)`.as('l1'),
        sql<number>`sum(CASE WHEN f.answered_at IS NOT NULL AND f.level = 2 THEN 1 ELSE 0 END)`.as('l2'),
        sql<number>`sum(CASE WHEN f.answered_at IS NOT NULL AND f.level >= 3 THEN 1 ELSE 0 END)`.as('l3'),
        sql<number>`sum(f.verifies)`.as('verifies'),
        sql<number>`sum(f.verify_ms)`.as('verify_ms'),
        sql<number>`sum(f.messages)`.as('messages'),
      ])
      .execute();
    const { bucketOf } = edgesOf(q.buckets);
    const out = new Map<string, ReportGroup>();
    for (const r of rows) {
      const bucket = r.bucket === null ? null : (bucketOf[Number(r.bucket)] ?? null);
      const key = `${bucket}/${r.queue_id}/${r.channel}`;
      if (out.has(key)) {
        addSums(out.get(key)!.sums, sumsOf(r));
        continue;
      }
      out.set(key, { bucket, queueId: r.queue_id, channel: r.channel, sums: sumsOf(r) });
    }
    return out;
  }
  /** The knowledge checks audited in the range, with the request and agent time their reason names. */
  private async knowledgeRows(q: ReportScope) {
    const rows = await this.q
      .selectFrom('audit_log')
      .select(['actor', 'outcome', 'reason'])
      .where('action', '=', 'auth.knowledge')
      .where('at', '>=', q.from)
      .where('at', '<', q.to)
      .execute();
    return rows.map((r) => ({ actor: r.actor, outcome: r.outcome, ...knowledgeOf(r.reason) }));
  }

  /** Each check that names a request in scope counts in that request's (period, queue). */
  private async addKnowledge(
    q: ReportSumsQuery,
    groups: Map<string, ReportGroup>,
    knowledge: Awaited<ReturnType<ReportsRepo['knowledgeRows']>>,
  ): Promise<void> {
    const named = knowledge.filter((k) => k.requestId !== null);
    if (named.length === 0) return;
    const requests = await inSlices(
      named.map((k) => k.requestId!),
      (part) =>
        this.scope(q, true)
          .where('requests.id', 'in', part)
          .select(['requests.id', 'requests.queue_id', 'requests.channel', 'requests.enqueued_at'])
          .execute(),
    );
    const of = new Map(requests.map((r) => [r.id, r]));
    for (const k of named) {
      const r = of.get(k.requestId!);
      if (!r) continue;
      const bucket = bucketIndex(q.buckets, r.enqueued_at);
      const key = `${bucket}/${r.queue_id}/${r.channel}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { bucket, queueId: r.queue_id, channel: r.channel, sums: emptySums() }));
      g.sums.knowledgeChecks++;
      g.sums.knowledgeTenths += k.tenths;
    }
  }

  private async agents(
    q: ReportScope,
    knowledge: Awaited<ReturnType<ReportsRepo['knowledgeRows']>>,
  ): Promise<ReportAgentSums[]> {
    const inScope = () => this.scope(q, false).select('requests.id');
    const only = q.agentId;
    let holds = this.q
      .with('hw', (db) =>
        db
          .selectFrom('wrap_ups as w')
          .innerJoin('custody as c', (j) =>
            j
              .onRef('c.request_id', '=', 'w.request_id')
              .onRef('c.fence', '=', 'w.fence')
              .onRef('c.staff_id', '=', 'w.agent_id'),
          )
          .where('w.request_id', 'in', inScope())
          .where('c.until_at', 'is not', null)
          .groupBy(['w.request_id', 'w.fence'])
          .select([
            'w.request_id',
            'w.fence',
            sql<number>`sum(CASE WHEN w.received_at > c.until_at THEN w.received_at - c.until_at ELSE 0 END)`.as(
              'ms',
            ),
          ]),
      )
      .selectFrom('custody as c')
      .leftJoin('hw', (j) => j.onRef('hw.request_id', '=', 'c.request_id').onRef('hw.fence', '=', 'c.fence'))
      .where('c.request_id', 'in', inScope())
      .groupBy('c.staff_id')
      .select([
        'c.staff_id',
        sql<number>`sum(CASE WHEN c.how = 'accepted' THEN 1 ELSE 0 END)`.as('answered'),
        sql<number>`sum(CASE WHEN c.how = 'accepted' THEN 0 ELSE 1 END)`.as('taken_in'),
        sql<number>`count(c.until_at)`.as('handles'),
        sql<number>`sum(c.until_at - c.from_at)`.as('talk_ms'),
        sql<number>`sum(CASE WHEN c.until_at IS NOT NULL THEN coalesce(hw.ms, 0) ELSE 0 END)`.as('wrap_ms'),
      ]);
    if (only !== undefined) holds = holds.where('c.staff_id', '=', only);
    let out = this.q
      .selectFrom('transfers as x')
      .where('x.request_id', 'in', inScope())
      .where('x.state', 'in', TRANSFERRED)
      .where('x.from_staff', 'is not', null)
      .groupBy('x.from_staff')
      .select(['x.from_staff', sql<number>`count(*)`.as('n')]);
    if (only !== undefined) out = out.where('x.from_staff', '=', only);
    let verifies = this.q
      .selectFrom('device_commands as d')
      .where('d.request_id', 'in', inScope())
      .where('d.kind', '=', VERIFY)
      .groupBy('d.agent_id')
      .select([
        'd.agent_id',
        sql<number>`count(*)`.as('n'),
        sql<number>`sum(d.finished_at - d.created_at)`.as('ms'),
      ]);
    if (only !== undefined) verifies = verifies.where('d.agent_id', '=', only);
    let written = this.q
      .selectFrom('chat_messages as cm')
      .where(
        'cm.request_id',
        'in',
        this.scope(q, false).where('requests.channel', '=', 'chat').select('requests.id'),
      )
      .where('cm.sender', '=', 'agent')
      .where('cm.staff_id', 'is not', null)
      .groupBy('cm.staff_id')
      .select(['cm.staff_id', sql<number>`count(*)`.as('n')]);
    if (only !== undefined) written = written.where('cm.staff_id', '=', only);
    // Each agent's ended chat holds in order of start: a hold adds to the time with a chat open
    // only what lies after the latest end of the holds that started before it (the union).
    const chats = this.q
      .with('ch', (db) => {
        let x = db
          .selectFrom('custody as c')
          .where(
            'c.request_id',
            'in',
            this.scope(q, false).where('requests.channel', '=', 'chat').select('requests.id'),
          )
          .where('c.until_at', 'is not', null)
          .select([
            'c.staff_id',
            'c.from_at',
            'c.until_at',
            sql<
              number | null
            >`max(c.until_at) OVER (PARTITION BY c.staff_id ORDER BY c.from_at, c.request_id, c.fence ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)`.as(
              'before_end',
            ),
          ]);
        if (only !== undefined) x = x.where('c.staff_id', '=', only);
        return x;
      })
      .selectFrom('ch')
      .groupBy('ch.staff_id')
      .select([
        'ch.staff_id',
        sql<number>`sum(ch.until_at - ch.from_at)`.as('talk_ms'),
        sql<number>`sum(CASE WHEN ch.before_end IS NULL OR ch.before_end <= ch.from_at THEN ch.until_at - ch.from_at WHEN ch.before_end >= ch.until_at THEN 0 ELSE ch.until_at - ch.before_end END)`.as(
          'busy_ms',
        ),
      ]);

    const rows = new Map<string, ReportAgentSums>();
    const row = (agentId: string) => {
      let r = rows.get(agentId);
      if (!r)
        rows.set(
          agentId,
          (r = {
            agentId,
            agentName: agentId,
            answered: 0,
            takenIn: 0,
            transfersOut: 0,
            handles: 0,
            talkMs: 0,
            wrapUpMs: 0,
            deviceVerifications: 0,
            deviceVerifyMs: 0,
            knowledgeChecks: 0,
            knowledgeChecksPassed: 0,
            knowledgeTenths: 0,
            chatMessagesSent: 0,
            chatTalkMs: 0,
            chatBusyMs: 0,
          }),
        );
      return r;
    };
    for (const h of await holds.execute()) {
      const r = row(h.staff_id);
      r.answered += n(h.answered);
      r.takenIn += n(h.taken_in);
      r.handles += n(h.handles);
      r.talkMs += n(h.talk_ms);
      r.wrapUpMs += n(h.wrap_ms);
    }
    for (const t of await out.execute()) row(t.from_staff!).transfersOut += n(t.n);
    for (const v of await verifies.execute()) {
      const r = row(v.agent_id);
      r.deviceVerifications += n(v.n);
      r.deviceVerifyMs += n(v.ms);
    }
    for (const m of await written.execute()) row(m.staff_id!).chatMessagesSent += n(m.n);
    for (const x of await chats.execute()) {
      const r = row(x.staff_id);
      r.chatTalkMs += n(x.talk_ms);
      r.chatBusyMs += n(x.busy_ms);
    }
    for (const k of knowledge) {
      if (!k.actor.startsWith('staff:')) continue;
      const id = k.actor.slice('staff:'.length);
      if (only !== undefined && id !== only) continue;
      const r = row(id);
      r.knowledgeChecks++;
      if (k.outcome === 'success') r.knowledgeChecksPassed++;
      r.knowledgeTenths += k.tenths;
    }
    const names = await inSlices([...rows.keys()], (part) =>
      this.q.selectFrom('staff').select(['id', 'display_name']).where('id', 'in', part).execute(),
    );
    for (const s of names) rows.get(s.id)!.agentName = s.display_name;
    return [...rows.values()];
  }
}

/** The sorted edges of the buckets, and the bucket of each interval [edges[k], edges[k + 1]) (null: a gap). */
function edgesOf(buckets: ReportSumsQuery['buckets']): { edges: number[]; bucketOf: (number | null)[] } {
  const edges: number[] = [];
  const bucketOf: (number | null)[] = [];
  buckets.forEach((b, i) => {
    if (edges.length === 0 || edges.at(-1)! < b.start) {
      if (edges.length > 0) bucketOf.push(null);
      edges.push(b.start);
    }
    edges.push(b.end);
    bucketOf.push(i);
  });
  return { edges, bucketOf };
}

/** One row of the (period, queue) aggregate as sums (PostgreSQL's sum(bigint) comes as text). */
function sumsOf(r: Record<string, unknown>): ReportSums {
  return {
    offered: n(r.offered),
    answered: n(r.answered),
    abandoned: n(r.abandoned),
    abandonedWithin10s: n(r.abandoned_short),
    abandonWaitMs: n(r.abandon_ms),
    maxAbandonWaitMs: r.max_abandon_ms === null ? null : n(r.max_abandon_ms),
    answerWaitMs: n(r.answer_ms),
    answeredWithinTarget: n(r.within),
    ended: n(r.ended),
    talkMs: n(r.talk_ms),
    handleMs: n(r.handle_ms),
    wrapped: n(r.wrapped),
    wrapUpMs: n(r.wrap_ms),
    transfers: n(r.transfers),
    callbacksBooked: n(r.booked),
    callbacksKept: n(r.kept),
    answeredAtLevel1: n(r.l1),
    answeredAtLevel2: n(r.l2),
    answeredAtLevel3: n(r.l3),
    deviceVerifications: n(r.verifies),
    deviceVerifyMs: n(r.verify_ms),
    knowledgeChecks: 0,
    knowledgeTenths: 0,
    chatMessages: n(r.messages),
  };
}

/** The index of the bucket holding `t` (sorted, non-overlapping buckets), or null. */
function bucketIndex(buckets: ReportSumsQuery['buckets'], t: number): number | null {
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const b = buckets[mid]!;
    if (t < b.start) hi = mid - 1;
    else if (t >= b.end) lo = mid + 1;
    else return mid;
  }
  return null;
}

/** The request and the agent time (tenths of a second) a knowledge check's audit reason names ("request <id>, N answers, agent time X s"). */
function knowledgeOf(reason: string | null): { requestId: string | null; tenths: number } {
  const request = /(?:^|; )request (\S+), \d+ answers/.exec(reason ?? '');
  const time = /agent time (\d+(?:\.\d+)?) s/.exec(reason ?? '');
  return { requestId: request?.[1] ?? null, tenths: time ? Math.round(Number(time[1]) * 10) : 0 };
}
