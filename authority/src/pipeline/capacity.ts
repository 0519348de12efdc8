import type { NotOfferedReason, QueueStats } from '../../../protocol/src/pipeline.ts';
import type { Ctx } from '../context.ts';
import type { AgentInfo, AgentRow, Agents } from './agents.ts';
import type { PipelineConfigStore } from './pipeline-config.ts';
import { estimateWait } from './rules.ts';

/** Presences in which an agent takes calls (now or after the current one). */
const SERVING = new Set(['available', 'busy', 'wrap_up', 'missed']);

export interface Staffing {
  agents: { row: AgentRow; info: AgentInfo; onShift: boolean; hasOffer: boolean }[];
}

/** Who can serve what, and how long the wait is: computed from agents, shifts and measured handling times. */
export class Capacity {
  constructor(
    private readonly ctx: Ctx,
    private readonly agents: Agents,
    private readonly config: PipelineConfigStore,
  ) {}

  staffing(): Staffing {
    const offered = new Set(
      this.ctx.db
        .prepare<[], { agent_id: string }>("SELECT agent_id FROM requests WHERE state = 'offered'")
        .all()
        .map((r) => r.agent_id),
    );
    return {
      agents: this.agents.all().map((row) => ({
        row,
        info: this.agents.info(row),
        onShift: this.agents.onShift(row.staff_id),
        hasOffer: offered.has(row.staff_id),
      })),
    };
  }

  static eligible(info: AgentInfo, queue: string, skills: readonly string[]): boolean {
    return info.queues.has(queue) && skills.every((s) => info.skills.has(s));
  }

  /** Average of the last 20 measured handling times, or the queue's expected time. */
  handleSeconds(queueId: string): number {
    const r = this.ctx.db
      .prepare<[string], { avg: number | null }>(
        'SELECT avg(seconds) AS avg FROM (SELECT seconds FROM handle_times WHERE queue_id = ? ORDER BY at DESC LIMIT 20)',
      )
      .get(queueId);
    return Math.max(1, Math.round(r?.avg ?? this.config.queue(queueId)?.expectedHandleSeconds ?? 300));
  }

  /** free: available now without an offer; serving: on shift and taking calls; later: could serve on a later shift. */
  counts(st: Staffing, queue: string, skills: readonly string[]) {
    let free = 0;
    let serving = 0;
    let later = 0;
    for (const a of st.agents) {
      if (!Capacity.eligible(a.info, queue, skills)) continue;
      if (a.onShift && SERVING.has(a.row.presence)) {
        serving++;
        if (a.row.presence === 'available' && !a.hasOffer) free++;
      }
      if (this.agents.hasLaterShift(a.row.staff_id) || this.agents.shifts(a.row.staff_id).length === 0)
        later++;
    }
    return { free, serving, later };
  }

  /**
   * Waiting requests of the queue that no agent can take now, by the skills they need: how many,
   * how many agents are free for them (on shift, with the skills, available, no offer), and why
   * none is (nobody has the skills, all off shift, away, busy). Groups with a free agent are being
   * offered and are left out.
   */
  notOffered(st: Staffing, queueId: string): NonNullable<QueueStats['notOffered']> {
    const groups = this.ctx.db
      .prepare<[string], { skills: string; n: number }>(
        "SELECT skills, count(*) AS n FROM requests WHERE state = 'waiting' AND queue_id = ? GROUP BY skills ORDER BY skills",
      )
      .all(queueId);
    const out: NonNullable<QueueStats['notOffered']> = [];
    for (const g of groups) {
      const skills = [...new Set(JSON.parse(g.skills) as string[])].sort();
      const able = st.agents.filter((a) => Capacity.eligible(a.info, queueId, skills));
      const onShift = able.filter((a) => a.onShift);
      const free = onShift.filter((a) => a.row.presence === 'available' && !a.hasOffer).length;
      if (free > 0) continue;
      let reason: NotOfferedReason;
      if (!able.length) reason = 'no_skill';
      else if (!onShift.length) reason = 'off_shift';
      else if (onShift.some((a) => SERVING.has(a.row.presence))) reason = 'busy';
      else reason = 'away';
      out.push({ skills, waiting: g.n, free, reason });
    }
    return out;
  }

  wait(st: Staffing, queue: string, skills: readonly string[], position: number): number | null {
    const c = this.counts(st, queue, skills);
    return estimateWait(position, c.free, c.serving, this.handleSeconds(queue));
  }

  queueStats(st: Staffing, queueIds: readonly string[]): QueueStats[] {
    const now = this.ctx.clock.now();
    return queueIds.map((queueId) => {
      const q = this.config.queue(queueId);
      const target = q?.targetAnswerSeconds ?? 20;
      const w = this.ctx.db
        .prepare<[string], { n: number; oldest: number | null }>(
          "SELECT count(*) AS n, min(enqueued_at) AS oldest FROM requests WHERE state = 'waiting' AND queue_id = ?",
        )
        .get(queueId)!;
      const answered = this.ctx.db
        .prepare<[number, string, number], { n: number; ok: number | null }>(
          'SELECT count(*) AS n, sum(assigned_at - enqueued_at <= ?) AS ok FROM requests WHERE queue_id = ? AND assigned_at >= ?',
        )
        .get(target * 1000, queueId, now - 86_400_000)!;
      const c = this.counts(st, queueId, []);
      return {
        queueId,
        name: q?.name ?? queueId,
        waiting: w.n,
        longestWaitSeconds: w.oldest === null ? 0 : Math.max(0, Math.round((now - w.oldest) / 1000)),
        estimatedWaitSeconds: estimateWait(w.n + 1, c.free, c.serving, this.handleSeconds(queueId)),
        agentsAvailable: c.free,
        agentsOnShift: st.agents.filter(
          (a) => a.onShift && a.info.queues.has(queueId) && a.row.presence !== 'offline',
        ).length,
        answeredWithinTarget: answered.n === 0 ? null : (answered.ok ?? 0) / answered.n,
        targetAnswerSeconds: target,
        notOffered: w.n ? this.notOffered(st, queueId) : [],
      };
    });
  }
}
