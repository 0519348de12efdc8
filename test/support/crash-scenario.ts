/**
 * The crash scenario of RELIABILITY rows 12 and 13, for one authority process
 * (test/integration/pipeline-crash.test.ts) or a cluster of nodes behind HAProxy
 * (test/integration/cluster-node-death.test.ts, issue 12): a separate enqueuer process
 * creates requests over the real API with idempotency keys, retrying until acknowledged;
 * three simulated agents claim and finish them (send some a remote-control command,
 * transfer some back to their queue, and deliberately write with stale fences); meanwhile `server.restart()` SIGKILLs (the authority, or one node at random)
 * at random moments. Then the queue drains, everything is SIGKILLed once more and a
 * Jepsen-style checker reads the database: lost, duplicated, unexpected, overlapping
 * leases, fence order, unaudited changes, stale-fence writes refused (100%).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { verifyStoreAuditChain } from '../../authority/src/store/audit-chain.ts';
import { openReadOnly, type StoreTarget } from '../../authority/src/store/engine.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import type { EnqueuerLogLine, EnqueuerProgress, EnqueuerSummary } from './crash-enqueuer.ts';
import { FeedWatcher } from './feed-watcher.ts';
import { api, type ApiOptions, apiWith, bearer, type HttpResult } from './http.ts';
import { REPO_ROOT } from './process.ts';
import { within } from './wait.ts';

/** What the scenario crashes: one authority process, or a cluster of nodes behind a load balancer. */
export interface CrashServer {
  /** Where clients connect (valid after start()). */
  readonly url: string;
  /** SIGKILLs so far (restart() and kill() each count one). */
  readonly kills: number;
  start(): Promise<void>;
  /** SIGKILL (the process, or one node) and start it again. */
  restart(): Promise<void>;
  /** SIGKILL everything (the last crash before the checker reads the database). */
  kill(): Promise<void>;
  storeTarget(): Promise<StoreTarget>;
  /** Milliseconds each restart took until the restarted process answered /healthz. */
  restartMs(): number[];
}

export interface CrashSizes {
  requests: number;
  kills: number;
  /** Bound on the drain after the enqueuer finished and the kills are done. */
  drainMs: number;
  /** The enqueuer gives up after this (a bound, not an expectation). */
  enqueueDeadlineMs: number;
  /** Keep the working folder even when the scenario passes. */
  keep: boolean;
}

const int = (v: string | undefined, d: number) => {
  const n = v === undefined || v === '' ? NaN : parseInt(v, 10);
  return Number.isFinite(n) && n >= 0 ? n : d;
};

/** Sizes from `<prefix>_REQUESTS`, `_KILLS`, `_DRAIN_SECONDS`, `_KEEP` (e.g. VD_CRASH_REQUESTS). */
export function crashSizes(
  prefix: string,
  defaults: { requests: number; kills: number; drainSeconds?: number },
): CrashSizes {
  const requests = Math.max(1, int(process.env[`${prefix}_REQUESTS`], defaults.requests));
  return {
    requests,
    kills: int(process.env[`${prefix}_KILLS`], defaults.kills),
    drainMs:
      int(
        process.env[`${prefix}_DRAIN_SECONDS`],
        Math.max(defaults.drainSeconds ?? 90, Math.ceil(requests / 25)),
      ) * 1000,
    // 2,000 requests take about 3 minutes on a quiet machine; a loaded one with slow restarts took 5.
    enqueueDeadlineMs: Math.max(600_000, requests * 300),
    keep: process.env[`${prefix}_KEEP`] === '1',
  };
}

/** The authority settings of the scenario (short offers, no wrap-up, tokens that outlive it). */
export const CRASH_ENV: Record<string, string> = {
  VD_OFFER_TIMEOUT_SECONDS: '3',
  VD_WRAP_UP_SECONDS: '0',
  VD_AGENT_TIMEOUT_SECONDS: '30',
  VD_ACCESS_TOKEN_SECONDS: '3600',
  VD_LOG_LEVEL: 'warn',
};

/** The scenario's whole timeout for node:test. */
export const crashTimeoutMs = (s: CrashSizes) => 180_000 + s.enqueueDeadlineMs + s.drainMs;

/** Share of offers an agent rejects on purpose: the request is re-offered, the old fence becomes stale. */
const REJECT_SHARE = 0.03;
/** Share of accepted requests whose holder sends the device a remote-control command first (its audit row is checked). */
const COMMAND_SHARE = 0.2;
/** Share of accepted requests transferred back to their queue (blind) instead of completed (audit row checked). */
const TRANSFER_SHARE = 0.05;
const CALL_TIMEOUT_MS = 10_000;

const AGENTS = [
  { username: 'agent1', password: 'demo-agent-1' },
  { username: 'agent2', password: 'demo-agent-2' },
  { username: 'supervisor', password: 'demo-supervisor' },
];

// ---- the simulated agents -----------------------------------------------------

interface Write {
  kind: 'accept' | 'complete';
  requestId: string;
  fence: number;
  agentId: string;
}

interface AgentStats {
  offers: number;
  accepted: number;
  completed: number;
  rejected: number;
  /** Ordinary accepts refused (the offer expired or moved while the authority was down, ...). */
  acceptConflicts: number;
  /** Completes of an assignment we held that were refused: must stay empty. */
  completeConflicts: string[];
  resumed: number;
  logins: number;
  connectionErrors: number;
  serverErrors: number;
  /** Deliberate writes with a fence known to be stale. */
  staleWrites: number;
  staleRejected: number;
  staleAccepted: string[];
  staleInconclusive: number;
  staleOtherStatus: Record<string, number>;
  /** Remote-control commands the authority stored (201), and the other answers by code. */
  commands: number;
  commandsRefused: Record<string, number>;
  /** Blind transfers back to the queue that succeeded, and the other answers by code. */
  transfers: number;
  transfersRefused: Record<string, number>;
}

/** A fence this agent held once; stale as soon as the request's fence moved past it. */
interface StaleCandidate {
  requestId: string;
  fence: number;
  checkedAt: number;
}

class SimAgent {
  token: string | null = null;
  staffId = '';
  readonly pending: StaleCandidate[] = [];
  readonly writes: Write[] = [];
  /** When each call answered (not 5xx): the gaps after a kill are the service's recovery times. */
  readonly okAt: number[] = [];

  constructor(
    readonly url: string,
    readonly username: string,
    readonly password: string,
    readonly stats: AgentStats,
  ) {}

  private async login(): Promise<void> {
    const r = await within(
      'login',
      api(this.url, 'login', { json: { username: this.username, password: this.password } }),
      { timeoutMs: CALL_TIMEOUT_MS },
    );
    if (r.status !== 200) throw new Error(`login ${this.username}: ${r.status}`);
    this.token = r.body.accessToken as string;
    this.staffId = r.body.staff.staffId as string;
    this.stats.logins++;
  }

  /** A staff call; logs in first when needed and once more on 401. Throws on connection errors. */
  async api<K extends RouteId>(name: K, opts?: ApiOptions<K>): Promise<HttpResult> {
    for (let i = 0; i < 2; i++) {
      if (!this.token) await this.login();
      const r = await within(name, apiWith(this.url, bearer(this.token!), name, opts), {
        timeoutMs: CALL_TIMEOUT_MS,
      });
      if (r.status !== 401) {
        if (r.status >= 500) this.stats.serverErrors++;
        else this.okAt.push(Date.now());
        return r;
      }
      this.token = null;
    }
    throw new Error(`${this.username}: 401 twice`);
  }

  /** Complete an assignment we hold, retrying through restarts; a retried complete is idempotent. */
  private async complete(requestId: string, fence: number, stop: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 400 && !stop(); attempt++) {
      try {
        const r = await this.api('completeRequest', { params: { requestId }, json: { fence } });
        if (r.status === 200) {
          this.stats.completed++;
          this.writes.push({ kind: 'complete', requestId, fence, agentId: this.staffId });
          // Retry the complete with the previous fence of this request: stale by construction.
          if (fence >= 2) {
            await this.staleWrite(requestId, fence - 1, 'complete', stop);
            await this.staleWrite(requestId, fence - 1, 'accept', stop);
          }
          return;
        }
        if (r.status === 409) {
          this.stats.completeConflicts.push(
            `${this.username} ${requestId}@${fence}: ${JSON.stringify(r.body).slice(0, 200)}`,
          );
          return;
        }
      } catch {
        this.stats.connectionErrors++;
        this.token = null; // log in again after the restart
      }
      await sleep(50 + Math.random() * 150);
    }
  }

  /**
   * A remote-control command to the device of an assignment we hold (seq 1 of this fence),
   * retried through restarts: a retry after a lost answer is refused as a replay, never stored twice.
   */
  private async command(requestId: string, fence: number, stop: () => boolean): Promise<void> {
    for (let attempt = 0; attempt < 100 && !stop(); attempt++) {
      try {
        const r = await this.api('sendCommand', {
          params: { requestId },
          json: {
            fence,
            seq: 1,
            command: { kind: 'text', payload: { input: 'free', prompt: 'Your reference?' } },
          },
        });
        if (r.status === 201) this.stats.commands++;
        else if (r.status < 500) {
          const code = String((r.body as { code?: string }).code ?? r.status);
          this.stats.commandsRefused[code] = (this.stats.commandsRefused[code] ?? 0) + 1;
        }
        if (r.status < 500) return;
      } catch {
        this.stats.connectionErrors++;
        this.token = null;
      }
      await sleep(50 + Math.random() * 150);
    }
  }

  /**
   * A blind transfer of an assignment we hold back to its queue, retried through restarts.
   * True when the request left us (the transfer answered 201, or a retry found us no longer its holder).
   */
  private async transferBack(requestId: string, fence: number, stop: () => boolean): Promise<boolean> {
    for (let attempt = 0; attempt < 100 && !stop(); attempt++) {
      try {
        const view = await this.api('getRequest', { params: { requestId } });
        if (view.status !== 200) {
          await sleep(100);
          continue;
        }
        if (view.body.agentId !== this.staffId || view.body.fence !== fence) return true;
        const r = await this.api('transfer', {
          params: { requestId },
          json: { fence, mode: 'blind', target: { kind: 'queue', queueId: view.body.queueId as string } },
        });
        if (r.status === 201) {
          this.stats.transfers++;
          return true;
        }
        if (r.status < 500) {
          const code = String((r.body as { code?: string }).code ?? r.status);
          this.stats.transfersRefused[code] = (this.stats.transfersRefused[code] ?? 0) + 1;
          // Refused: complete it instead if it is still ours (a refusal because it no longer is ends here).
          const now = await this.api('getRequest', { params: { requestId } });
          return !(now.status === 200 && now.body.agentId === this.staffId && now.body.fence === fence);
        }
      } catch {
        this.stats.connectionErrors++;
        this.token = null;
      }
      await sleep(50 + Math.random() * 150);
    }
    return false;
  }

  /** One write with a fence known to be stale; counts the answer (409 expected). */
  async staleWrite(
    requestId: string,
    fence: number,
    kind: 'accept' | 'complete',
    stop: () => boolean,
  ): Promise<void> {
    for (let attempt = 0; attempt < 100 && !stop(); attempt++) {
      try {
        const r = await this.api(kind === 'accept' ? 'acceptOffer' : 'completeRequest', {
          params: { requestId },
          json: { fence },
        });
        if (r.status >= 500) {
          await sleep(100);
          continue;
        }
        this.stats.staleWrites++;
        if (r.status === 200) this.stats.staleAccepted.push(`${this.username} ${kind} ${requestId}@${fence}`);
        else {
          this.stats.staleRejected++;
          if (r.status !== 409)
            this.stats.staleOtherStatus[r.status] = (this.stats.staleOtherStatus[r.status] ?? 0) + 1;
        }
        return;
      } catch {
        this.stats.connectionErrors++;
        this.token = null;
        await sleep(100 + Math.random() * 200);
      }
    }
    // Out of attempts (not merely told to stop): no answer to count either way.
    if (!stop()) this.stats.staleInconclusive++;
  }

  /**
   * Write with the fences of candidates whose request has moved on to a newer fence (stale for
   * sure: fences only grow); keep the others for later. One candidate per call unless `all`.
   */
  async probePending(stop: () => boolean, all = false): Promise<void> {
    const batch = this.pending.splice(0);
    const keep: StaleCandidate[] = [];
    let budget = all ? Infinity : 1;
    try {
      for (const c of batch) {
        if (stop() || budget <= 0 || (!all && Date.now() - c.checkedAt < 1000)) {
          keep.push(c);
          continue;
        }
        budget--;
        let r: HttpResult;
        try {
          r = await this.api('getRequest', { params: { requestId: c.requestId } });
        } catch {
          this.stats.connectionErrors++;
          this.token = null;
          keep.push(c);
          await sleep(100);
          continue;
        }
        if (r.status !== 200 || (r.body.fence as number) <= c.fence) {
          c.checkedAt = Date.now();
          keep.push(c);
          continue;
        }
        await this.staleWrite(c.requestId, c.fence, 'accept', stop);
        await this.staleWrite(c.requestId, c.fence, 'complete', stop);
      }
    } finally {
      this.pending.push(...keep);
    }
  }

  /** Claim and finish requests until `stop()` or the deadline. */
  async run(stop: () => boolean, deadline: number): Promise<void> {
    let idle = 0;
    while (!stop() && Date.now() < deadline) {
      try {
        const me = await this.api('agentMe');
        if (me.status !== 200) {
          await sleep(100);
          continue;
        }
        const v = me.body;
        if (v.currentRequestId) {
          // An assignment we hold (e.g. the accept's answer was lost in a crash): finish it.
          const r = await this.api('getRequest', { params: { requestId: v.currentRequestId } });
          if (r.status === 200 && r.body.state === 'assigned' && r.body.agentId === this.staffId) {
            this.stats.resumed++;
            await this.complete(r.body.requestId as string, r.body.fence as number, stop);
          } else await sleep(50);
          continue;
        }
        if (v.offer) {
          idle = 0;
          this.stats.offers++;
          const { requestId, fence } = v.offer as { requestId: string; fence: number };
          if (Math.random() < REJECT_SHARE) {
            const r = await this.api('rejectOffer', { params: { requestId }, json: { fence } });
            if (r.status === 200) this.stats.rejected++;
            this.pending.push({ requestId, fence, checkedAt: Date.now() });
            continue;
          }
          const r = await this.api('acceptOffer', { params: { requestId }, json: { fence } });
          if (r.status === 200) {
            this.stats.accepted++;
            this.writes.push({ kind: 'accept', requestId, fence, agentId: this.staffId });
            if (Math.random() < COMMAND_SHARE) await this.command(requestId, fence, stop);
            if (Math.random() < TRANSFER_SHARE && (await this.transferBack(requestId, fence, stop))) continue;
            await this.complete(requestId, fence, stop);
          } else if (r.status === 409) {
            this.stats.acceptConflicts++;
            this.pending.push({ requestId, fence, checkedAt: Date.now() });
          }
          continue;
        }
        if (v.presence !== 'available' && v.presence !== 'busy') {
          await this.api('setPresence', { json: { state: 'available' } });
          continue;
        }
        if (this.pending.length) await this.probePending(stop);
        idle++;
        await sleep(Math.min(100, 10 + idle * 5));
      } catch {
        this.stats.connectionErrors++;
        this.token = null; // log in again once the authority is back
        await sleep(50 + Math.random() * 150);
      }
    }
  }
}

// ---- the checker ------------------------------------------------------------------

interface CheckResult {
  integrity: string;
  auditChainOk: boolean;
  auditRows: number;
  requestsInDb: number;
  byState: Record<string, number>;
  attempted: number;
  acked: number;
  gaveUp: number;
  lost: string[];
  /** Acked request id and the database disagree on the key. */
  mismatched: string[];
  duplicatedKeys: string[];
  completedTwice: string[];
  unexpected: string[];
  leases: number;
  overlapping: string[];
  fenceOrder: string[];
  leaseStateMismatches: string[];
  unconfirmedWrites: string[];
  unaudited: string[];
  duplicatedAudit: string[];
  completed: number;
  /** Remote-control commands and transfers back to a queue stored (each must have its audit row). */
  commandsInDb: number;
  transfersInDb: number;
}

/** Jepsen-style total-queue check of the final data (opened read-only) against the enqueuer's log and the agents' writes. */
async function check(target: StoreTarget, logFile: string, writes: Write[]): Promise<CheckResult> {
  const attempted = new Set<string>();
  const acks = new Map<string, string>();
  let gaveUp = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line) continue;
    const l = JSON.parse(line) as EnqueuerLogLine;
    if (l.t === 'attempt') attempted.add(l.key);
    else if (l.t === 'ack') acks.set(l.key, l.requestId);
    else gaveUp++;
  }

  const ro = await openReadOnly(target);
  const q = async <R>(query: ReturnType<typeof sql<R>>): Promise<R[]> => (await query.execute(ro.db)).rows;
  try {
    const integrity =
      target.engine === 'sqlite'
        ? String((await q<{ integrity_check: string }>(sql`PRAGMA integrity_check`))[0]?.integrity_check)
        : 'ok';
    const audit = await verifyStoreAuditChain(ro.db);
    const rows = await q<{
      id: string;
      idempotency_key: string | null;
      state: string;
      fence: number;
      agent_id: string | null;
    }>(sql`SELECT id, idempotency_key, state, fence, agent_id FROM requests`);
    const byId = new Map(rows.map((r) => [r.id, r]));
    const byKey = new Map<string, string[]>();
    const byState: Record<string, number> = {};
    for (const r of rows) {
      byState[r.state] = (byState[r.state] ?? 0) + 1;
      const k = r.idempotency_key ?? '(none)';
      byKey.set(k, [...(byKey.get(k) ?? []), r.id]);
    }

    const lost: string[] = [];
    const mismatched: string[] = [];
    for (const [key, requestId] of acks) {
      const r = byId.get(requestId);
      if (!r) lost.push(`${key} -> ${requestId}`);
      else if (r.idempotency_key !== key)
        mismatched.push(`${key} -> ${requestId} (stored key ${r.idempotency_key})`);
    }
    const duplicatedKeys = [...byKey]
      .filter(([k, ids]) => k !== '(none)' && ids.length > 1)
      .map(([k, ids]) => `${k}: ${ids.join(',')}`);
    const unexpected = rows
      .filter((r) => r.idempotency_key === null || !attempted.has(r.idempotency_key))
      .map((r) => `${r.id} key=${r.idempotency_key}`);

    // Completed twice: two leases ended by completion, or two completion audit entries.
    const completedTwice = [
      ...(
        await q<{ request_id: string; n: number }>(
          sql`SELECT request_id, count(*) AS n FROM leases WHERE end_reason = 'completed'
              GROUP BY request_id HAVING count(*) > 1`,
        )
      ).map((r) => `${r.request_id}: ${r.n} completed leases`),
      ...(
        await q<{ subject: string; n: number }>(
          sql`SELECT subject, count(*) AS n FROM audit_log WHERE action = 'request.complete'
              GROUP BY subject HAVING count(*) > 1`,
        )
      ).map((r) => `${r.subject}: ${r.n} completion audit entries`),
    ];

    // Leases: per request, half-open intervals [started_at, ended_at ?? now) never overlap, fences never go back.
    const now = Date.now();
    const leases = await q<{
      request_id: string;
      fence: number;
      kind: string;
      agent_id: string;
      started_at: number;
      ended_at: number | null;
    }>(
      sql`SELECT request_id, fence, kind, agent_id, started_at, ended_at FROM leases
          ORDER BY request_id, started_at, fence, kind DESC`,
    );
    const overlapping: string[] = [];
    const fenceOrder: string[] = [];
    const open = new Map<string, { fence: number; kind: string }[]>();
    let prevRequest = '';
    let maxEnd = 0;
    let maxHolder = '';
    let lastFence = 0;
    let lastOfferFence = 0;
    for (const l of leases) {
      const end = l.ended_at ?? now;
      const tag = `${l.kind}#${l.fence}@${l.agent_id}[${l.started_at},${l.ended_at ?? 'open'})`;
      if (l.request_id !== prevRequest) {
        prevRequest = l.request_id;
        maxEnd = 0;
        lastFence = 0;
        lastOfferFence = 0;
      } else {
        if (l.started_at < maxEnd) overlapping.push(`${l.request_id}: ${maxHolder} overlaps ${tag}`);
        if (l.fence < lastFence) fenceOrder.push(`${l.request_id}: fence ${l.fence} after ${lastFence}`);
      }
      if (l.kind === 'offer') {
        if (l.fence <= lastOfferFence) fenceOrder.push(`${l.request_id}: offer fence ${l.fence} reused`);
        lastOfferFence = l.fence;
      }
      if (end > maxEnd) {
        maxEnd = end;
        maxHolder = tag;
      }
      lastFence = Math.max(lastFence, l.fence);
      if (l.ended_at === null)
        open.set(l.request_id, [...(open.get(l.request_id) ?? []), { fence: l.fence, kind: l.kind }]);
    }
    // Open leases match the request: one offer lease for 'offered', one assignment lease for 'assigned', none otherwise.
    const leaseStateMismatches: string[] = [];
    for (const r of rows) {
      const o = open.get(r.id) ?? [];
      const want = r.state === 'offered' ? 'offer' : r.state === 'assigned' ? 'assignment' : null;
      const ok =
        want === null ? o.length === 0 : o.length === 1 && o[0]!.kind === want && o[0]!.fence === r.fence;
      if (!ok) leaseStateMismatches.push(`${r.id} ${r.state}#${r.fence}: open ${JSON.stringify(o)}`);
    }

    // Every write an agent saw succeed is in the database under that fence and agent.
    const assignments = new Map<string, number>();
    for (const l of leases)
      if (l.kind === 'assignment') {
        const k = `${l.request_id}@${l.fence}@${l.agent_id}`;
        assignments.set(k, (assignments.get(k) ?? 0) + 1);
      }
    const unconfirmedWrites: string[] = [];
    for (const w of writes) {
      const r = byId.get(w.requestId);
      const ok =
        w.kind === 'accept'
          ? assignments.get(`${w.requestId}@${w.fence}@${w.agentId}`) === 1
          : !!r && r.state === 'completed' && r.fence === w.fence && r.agent_id === w.agentId;
      if (!ok) unconfirmedWrites.push(`${w.kind} ${w.requestId}@${w.fence} by ${w.agentId}`);
    }

    // Every request, command and transfer change has its audit row, once: created, each accepted
    // assignment, completed; each command stored; each transfer back to a queue.
    const audits = await q<{ action: string; subject: string; actor: string; data: string | null }>(
      sql`SELECT action, subject, actor, data FROM audit_log
          WHERE outcome = 'success'
            AND action IN ('request.create', 'request.accept', 'request.complete', 'command.send', 'transfer.queue')`,
    );
    const auditCount = new Map<string, number>();
    for (const a of audits) {
      const data = JSON.parse(a.data ?? '{}') as {
        fence?: number;
        commandId?: string;
        fromFence?: number;
        toFence?: number;
      };
      const request = a.subject.replace(/^request:/, '');
      const k =
        a.action === 'request.accept'
          ? `${a.action} ${request}@${data.fence}@${a.actor.replace(/^staff:/, '')}`
          : a.action === 'command.send'
            ? `${a.action} ${data.commandId}`
            : a.action === 'transfer.queue'
              ? `${a.action} ${request}@${data.fromFence}->${data.toFence}`
              : `${a.action} ${request}`;
      auditCount.set(k, (auditCount.get(k) ?? 0) + 1);
    }
    const commands = await q<{ id: string }>(sql`SELECT id FROM device_commands`);
    const transfers = await q<{ request_id: string; from_fence: number; to_fence: number | null }>(
      sql`SELECT request_id, from_fence, to_fence FROM transfers WHERE target_kind = 'queue'`,
    );
    const changes = [
      ...rows.map((r) => `request.create ${r.id}`),
      ...[...assignments.keys()].map((k) => `request.accept ${k}`),
      ...rows.filter((r) => r.state === 'completed').map((r) => `request.complete ${r.id}`),
      ...commands.map((c) => `command.send ${c.id}`),
      ...transfers.map((t) => `transfer.queue ${t.request_id}@${t.from_fence}->${t.to_fence}`),
    ];
    const unaudited = changes.filter((c) => !auditCount.has(c));
    const duplicatedAudit = [...auditCount].filter(([, n]) => n > 1).map(([k, n]) => `${k}: ${n} audit rows`);

    return {
      integrity,
      auditChainOk: audit.ok,
      auditRows: audit.rows,
      requestsInDb: rows.length,
      byState,
      attempted: attempted.size,
      acked: acks.size,
      gaveUp,
      lost,
      mismatched,
      duplicatedKeys,
      completedTwice,
      unexpected,
      leases: leases.length,
      overlapping,
      fenceOrder,
      leaseStateMismatches,
      unconfirmedWrites,
      unaudited,
      duplicatedAudit,
      completed: byState.completed ?? 0,
      commandsInDb: commands.length,
      transfersInDb: transfers.length,
    };
  } finally {
    await ro.close();
  }
}

async function liveRequests(target: StoreTarget): Promise<number | null> {
  try {
    const ro = await openReadOnly(target);
    try {
      const r = await sql<{ n: number }>`
        SELECT count(*) AS n FROM requests WHERE state IN ('waiting','offered','assigned','scheduled')`.execute(
        ro.db,
      );
      return r.rows[0]!.n;
    } finally {
      await ro.close();
    }
  } catch {
    return null;
  }
}

/** The live requests in the database, sorted: "id:state" (null: not readable now). */
async function liveRequestStates(target: StoreTarget): Promise<string[] | null> {
  try {
    const ro = await openReadOnly(target);
    try {
      const r = await sql<{ id: string; state: string }>`
        SELECT id, state FROM requests WHERE state IN ('waiting','offered','assigned','scheduled')`.execute(
        ro.db,
      );
      return r.rows.map((x) => `${x.id}:${x.state}`).sort();
    } finally {
      await ro.close();
    }
  } catch {
    return null;
  }
}

/** For each kill: how long until every agent had its next call answered (a client's view of recovery). */
function serviceGaps(killAt: number[], agents: SimAgent[]): number[] {
  return killAt.map((t) =>
    Math.max(
      0,
      ...agents.map((a) => {
        const next = a.okAt.find((x) => x >= t);
        return next === undefined ? 0 : next - t;
      }),
    ),
  );
}

function pct(xs: number[], p: number): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

/** Run the scenario against `server`, its logs and enqueuer log in `work` (deleted when it passes). */
export async function runCrashScenario(opts: {
  label: string;
  work: string;
  server: CrashServer;
  sizes: CrashSizes;
}): Promise<void> {
  const { server, work, sizes } = opts;
  const t0 = Date.now();
  const enqueuerLog = join(work, 'enqueuer.jsonl');
  let failed = true;
  let enqueuer: ChildProcess | null = null;
  const stats: AgentStats = {
    offers: 0,
    accepted: 0,
    completed: 0,
    rejected: 0,
    acceptConflicts: 0,
    completeConflicts: [],
    resumed: 0,
    logins: 0,
    connectionErrors: 0,
    serverErrors: 0,
    staleWrites: 0,
    staleRejected: 0,
    staleAccepted: [],
    staleInconclusive: 0,
    staleOtherStatus: {},
    commands: 0,
    commandsRefused: {},
    transfers: 0,
    transfersRefused: {},
  };
  let stopAgents = false;
  const stopped = () => stopAgents;
  let feed: FeedWatcher | null = null;
  try {
    await server.start();
    const target = await server.storeTarget();
    const agents = AGENTS.map((a) => new SimAgent(server.url, a.username, a.password, stats));
    // An admin's board feed, kept like a console keeps it across the restarts (feed-watcher.ts).
    feed = new FeedWatcher(() => server.url, 'admin', 'demo-admin-1');
    feed.start();

    // The enqueuer, a separate process: its requests and acks do not share our fate.
    let progress: EnqueuerProgress = { type: 'progress', attempted: 0, acked: 0, done: false };
    let summary: EnqueuerSummary | null = null;
    let enqueuerErr = '';
    enqueuer = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/support/crash-enqueuer.ts',
        '--base',
        server.url,
        '--count',
        String(sizes.requests),
        '--log',
        enqueuerLog,
        '--deadline-ms',
        String(sizes.enqueueDeadlineMs),
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] },
    );
    enqueuer.stderr!.on('data', (b: Buffer) => (enqueuerErr = (enqueuerErr + b.toString()).slice(-4000)));
    enqueuer.on('message', (m: EnqueuerProgress | EnqueuerSummary) => {
      if (m.type === 'progress') progress = m;
      else summary = m;
    });
    const enqueuerExit = new Promise<number | null>((ok) => enqueuer!.once('exit', (code) => ok(code)));
    let enqueuerDone = false;
    const enqueued = enqueuerExit.then((code) => {
      enqueuerDone = true;
      return code;
    });

    const agentDeadline = Date.now() + sizes.enqueueDeadlineMs + sizes.drainMs + 60_000;
    const running = agents.map((a) => a.run(stopped, agentDeadline));

    // SIGKILLs at random moments: at random points of the enqueuer's progress (at most 60 s apart),
    // plus up to 250 ms of jitter; once it has finished, after a random 0.3-1.8 s.
    const thresholds = Array.from({ length: sizes.kills }, () =>
      Math.floor(Math.random() * sizes.requests),
    ).sort((x, y) => x - y);
    let killsWhileEnqueuing = 0;
    const killAt: number[] = [];
    const killing = (async () => {
      for (let j = 0; j < sizes.kills; j++) {
        const since = Date.now();
        while (!enqueuerDone && progress.acked < thresholds[j]! && Date.now() - since < 60_000)
          await sleep(10);
        await sleep(enqueuerDone ? 300 + Math.random() * 1500 : Math.random() * 250);
        if (!enqueuerDone) killsWhileEnqueuing++;
        killAt.push(Date.now());
        await server.restart();
      }
    })();

    const code = await enqueued;
    const enqueueMs = Date.now() - t0;
    await killing;
    assert.equal(code, 0, `the enqueuer failed (exit ${code}): ${enqueuerErr}`);

    // Drain, bounded: until nothing is live any more, or the bound passes.
    const drainStart = Date.now();
    let live = await liveRequests(target);
    while (live !== 0 && Date.now() - drainStart < sizes.drainMs) {
      await sleep(500);
      live = await liveRequests(target);
    }
    const drainMs = Date.now() - drainStart;
    stopAgents = true;
    await Promise.all(running);
    // Last stale writes: candidates whose request moved on to a newer fence meanwhile.
    let flushStop = false;
    const flushing = Promise.all(
      agents.map((a) => a.probePending(() => flushStop, true).catch(() => undefined)),
    );
    const flushTimer = setTimeout(() => (flushStop = true), 60_000);
    await flushing;
    clearTimeout(flushTimer);
    // The board feed, resubscribed after every restart, shows what the database holds live.
    let dbLive: string[] | null = null;
    const feedSettle = Date.now();
    while (Date.now() - feedSettle < 30_000) {
      dbLive = await liveRequestStates(target);
      if (dbLive !== null && JSON.stringify(dbLive) === JSON.stringify(feed.live())) break;
      await sleep(250);
    }
    const feedLive = feed.live();
    await feed.stop();
    // The final stop is one more crash: the checker reads the file exactly as a SIGKILL left it.
    await server.kill();

    const writes = agents.flatMap((a) => a.writes);
    const c = await check(target, enqueuerLog, writes);
    const s = summary as EnqueuerSummary | null;
    const duplicated = c.duplicatedKeys.length + c.completedTwice.length + c.duplicatedAudit.length;
    const restarts = server.restartMs();
    const gaps = serviceGaps(killAt, agents);
    const line =
      `${opts.label} (${target.engine}): requests=${sizes.requests} acked=${c.acked} kills=${server.kills - 1} lost=${c.lost.length} duplicated=${duplicated} ` +
      `unexpected=${c.unexpected.length} unaudited=${c.unaudited.length} overlapping_leases=${c.overlapping.length} ` +
      `stale_fence_writes_rejected=${stats.staleRejected}/${stats.staleWrites} completed=${c.completed} ` +
      `duration=${((Date.now() - t0) / 1000).toFixed(1)}s`;
    const details =
      `  kills_while_enqueuing=${killsWhileEnqueuing} enqueue=${(enqueueMs / 1000).toFixed(1)}s drain=${(drainMs / 1000).toFixed(1)}s live_at_end=${live} ` +
      `states=${JSON.stringify(c.byState)} attempted=${c.attempted} gave_up=${c.gaveUp} ` +
      `enqueuer_sends=${s?.sends} enqueuer_connection_errors=${s?.connectionErrors} enqueuer_5xx=${s?.serverErrors} ` +
      `enqueuer_other=${JSON.stringify(s?.otherStatuses ?? {})}\n` +
      `  agents: offers=${stats.offers} accepted=${stats.accepted} completed=${stats.completed} rejected=${stats.rejected} ` +
      `accept_409=${stats.acceptConflicts} resumed=${stats.resumed} logins=${stats.logins} connection_errors=${stats.connectionErrors} ` +
      `5xx=${stats.serverErrors} stale_inconclusive=${stats.staleInconclusive} stale_non_409=${JSON.stringify(stats.staleOtherStatus)}\n` +
      `  commands: sent=${stats.commands} stored=${c.commandsInDb} refused=${JSON.stringify(stats.commandsRefused)} ` +
      `transfers to queue: done=${stats.transfers} stored=${c.transfersInDb} refused=${JSON.stringify(stats.transfersRefused)}\n` +
      `  db: leases=${c.leases} fence_order=${c.fenceOrder.length} open_lease_mismatches=${c.leaseStateMismatches.length} ` +
      `unconfirmed_agent_writes=${c.unconfirmedWrites.length} integrity=${c.integrity} audit_chain=${c.auditChainOk ? 'ok' : 'BROKEN'} (${c.auditRows} rows) ` +
      `restart_ms avg=${restarts.length ? Math.round(restarts.reduce((x, y) => x + y, 0) / restarts.length) : 0} max=${Math.max(0, ...restarts)}\n` +
      `  service gap after a kill (kill -> every agent's next answered call): p50=${pct(gaps, 50)} ms p95=${pct(gaps, 95)} ms max=${Math.max(0, ...gaps)} ms (${gaps.length} kills)\n` +
      `  board feed: attempts=${feed.attempts} snapshots=${feed.snapshots} deltas=${feed.deltas} live_shown=${feedLive.length} live_in_db=${dbLive?.length ?? '?'}`;
    console.log(line + '\n' + details);

    const show = (xs: string[]) => xs.slice(0, 10).join('\n');
    assert.equal(server.kills - 1, sizes.kills, 'every planned SIGKILL/restart happened');
    assert.equal(c.attempted, sizes.requests, 'the enqueuer attempted every request');
    assert.equal(c.acked, sizes.requests, `every request acknowledged (gave up: ${c.gaveUp})`);
    assert.equal(c.integrity, 'ok');
    assert.ok(c.auditChainOk, 'the audit hash chain survives the crashes');
    assert.deepEqual(c.lost, [], `lost:\n${show(c.lost)}`);
    assert.deepEqual(c.mismatched, [], `acked id stored under another key:\n${show(c.mismatched)}`);
    assert.deepEqual(c.duplicatedKeys, [], `duplicated keys:\n${show(c.duplicatedKeys)}`);
    assert.deepEqual(c.completedTwice, [], `completed twice:\n${show(c.completedTwice)}`);
    assert.deepEqual(c.unexpected, [], `unexpected:\n${show(c.unexpected)}`);
    assert.deepEqual(c.unaudited, [], `changes without their audit row:\n${show(c.unaudited)}`);
    assert.deepEqual(c.duplicatedAudit, [], `changes audited twice:\n${show(c.duplicatedAudit)}`);
    assert.equal(c.requestsInDb, sizes.requests, 'exactly one stored request per key');
    assert.deepEqual(c.overlapping, [], `overlapping leases:\n${show(c.overlapping)}`);
    assert.deepEqual(c.fenceOrder, [], `fence order:\n${show(c.fenceOrder)}`);
    assert.deepEqual(c.leaseStateMismatches, [], `open leases vs state:\n${show(c.leaseStateMismatches)}`);
    assert.deepEqual(
      c.unconfirmedWrites,
      [],
      `agent writes not in the database:\n${show(c.unconfirmedWrites)}`,
    );
    assert.deepEqual(
      stats.completeConflicts,
      [],
      `completes of held assignments refused:\n${show(stats.completeConflicts)}`,
    );
    assert.deepEqual(stats.staleAccepted, [], `stale-fence writes accepted:\n${show(stats.staleAccepted)}`);
    assert.ok(stats.staleWrites > 0, 'some stale-fence writes were tried');
    assert.equal(stats.staleRejected, stats.staleWrites, '100% of stale-fence writes rejected');
    assert.ok(c.completed > 0, 'the agents completed requests');
    // The feed lost nothing across the restarts: its view is the database's, request by request.
    assert.deepEqual(feed.problems, [], 'the board feed met no error');
    assert.ok(feed.snapshots > 1, 'the board feed resubscribed after the restarts');
    assert.deepEqual(feedLive, dbLive, 'the board feed shows exactly the live requests of the database');
    // Every command and transfer an agent saw succeed is stored (a lost answer may store one more: audited too).
    assert.ok(
      c.commandsInDb >= stats.commands,
      `commands stored ${c.commandsInDb} < acknowledged ${stats.commands}`,
    );
    assert.ok(
      c.transfersInDb >= stats.transfers,
      `transfers stored ${c.transfersInDb} < done ${stats.transfers}`,
    );
    if (sizes.requests >= 200) {
      assert.ok(stats.commands > 0, 'some remote-control commands were sent (their audit rows checked)');
      assert.ok(
        stats.transfers > 0,
        'some requests were transferred back to a queue (their audit rows checked)',
      );
    }
    failed = false;
  } finally {
    stopAgents = true;
    await feed?.stop();
    if (enqueuer && enqueuer.exitCode === null && enqueuer.signalCode === null) enqueuer.kill('SIGKILL');
    await server.kill().catch(() => undefined);
    if (!failed && !sizes.keep) rmSync(work, { recursive: true, force: true });
    else if (existsSync(work))
      console.log(`${opts.label}: data kept in ${work} (logs, enqueuer.jsonl, data dirs)`);
  }
}
