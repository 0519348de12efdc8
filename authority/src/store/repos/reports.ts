import { inSlices, Repo } from './base.ts';

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

/**
 * The historical reports' reads (read-only, across aggregates). Every query is indexed:
 * requests by `requests_enqueued` (enqueued_at), the rest by request id (custody's and
 * leases' primary keys, `wrap_ups_request`, `transfers_request`, `device_commands_request`)
 * and the knowledge checks by `audit_log_action` (action, at). The figures are computed
 * from these rows in TypeScript (authority/src/reports/), so both engines give the same.
 */
export class ReportsRepo extends Repo {
  async facts(range: { from: number; to: number; queueId?: string }): Promise<ReportFacts> {
    let q = this.q
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
      this.q
        .selectFrom('custody')
        .select(['request_id', 'staff_id', 'fence', 'how', 'from_at', 'until_at'])
        .where('request_id', 'in', part)
        .execute(),
    );
    const wrapUps = await inSlices(ids, (part) =>
      this.q
        .selectFrom('wrap_ups')
        .select(['request_id', 'agent_id', 'fence', 'received_at'])
        .where('request_id', 'in', part)
        .execute(),
    );
    const transfers = await inSlices(ids, (part) =>
      this.q
        .selectFrom('transfers')
        .select(['request_id', 'kind', 'from_staff', 'by_staff'])
        .where('request_id', 'in', part)
        .where('state', 'in', ['accepted', 'completed'])
        .execute(),
    );
    const verifies = await inSlices(ids, (part) =>
      this.q
        .selectFrom('device_commands')
        .select(['request_id', 'agent_id', 'created_at', 'finished_at'])
        .where('request_id', 'in', part)
        .where('kind', '=', 'verify')
        .execute(),
    );
    const knowledge = await this.q
      .selectFrom('audit_log')
      .select(['actor', 'at', 'outcome', 'reason'])
      .where('action', '=', 'auth.knowledge')
      .where('at', '>=', range.from)
      .where('at', '<', range.to)
      .execute();
    const staff = await this.q.selectFrom('staff').select(['id', 'display_name']).execute();
    return { requests, custody, wrapUps, transfers, verifies, knowledge, staff };
  }
}
