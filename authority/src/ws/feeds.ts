import type { ServerFrame } from '../../../protocol/src/index.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

/** What the feeds need of a connection. */
export interface FeedConn {
  send(frame: ServerFrame): void;
  staffId: string | null;
  role: string | null;
  sessionId: string | null;
  topic: 'queues' | 'board' | null;
  /** Last request view sent to a device, to skip unchanged updates. */
  lastSent?: string;
}

const FLUSH_DELAY_MS = 50;
/** An agent whose last socket closed goes offline after this grace (a reconnect within it keeps presence and offer). */
export const RECONNECT_GRACE_MS = 5_000;

/**
 * Live feeds from the pipeline: agents get snapshots and deltas of their queues and
 * their own state, supervisors everything, devices their own position and wait.
 * Changes are batched for FLUSH_DELAY_MS; offers go out at once.
 */
export class Feeds {
  private readonly conns = new Set<FeedConn>();
  private pendingRequests = new Set<string>();
  private pendingAgents = new Set<string>();
  private flushTimer: NodeJS.Timeout | null = null;

  constructor(private readonly pipeline: Pipeline) {
    pipeline.on('changed', (requestIds, agentIds) => {
      for (const id of requestIds) this.pendingRequests.add(id);
      for (const id of agentIds) this.pendingAgents.add(id);
      this.flushTimer ??= setTimeout(
        () => void this.flush().catch((e: unknown) => console.error('feeds: flush failed:', e)),
        FLUSH_DELAY_MS,
      );
    });
    pipeline.on('offer', (agentId, requestId) => {
      const r = pipeline.requests.get(requestId);
      if (!r || r.state !== 'offered' || r.agent_id !== agentId) return;
      const offer = {
        requestId,
        fence: r.fence,
        expiresAt: new Date(r.offer_expires_at!).toISOString(),
        request: pipeline.requestView(r),
      };
      for (const c of this.conns) if (c.staffId === agentId) c.send({ type: 'offer', offer });
    });
  }

  add(c: FeedConn): void {
    this.conns.add(c);
    if (c.staffId) this.pipeline.touchAgent(c.staffId);
    if (c.sessionId) this.sendDeviceUpdate(c, true);
  }

  remove(c: FeedConn): void {
    this.conns.delete(c);
    if (c.staffId && ![...this.conns].some((o) => o.staffId === c.staffId)) {
      this.pipeline.agentDisconnected(c.staffId, RECONNECT_GRACE_MS);
    }
  }

  async subscribe(c: FeedConn, topic: 'queues' | 'board'): Promise<void> {
    c.topic = topic;
    const st = this.pipeline.capacity.staffing();
    if (topic === 'board') {
      const queues = this.pipeline.config.config.queues.map((q) => q.id);
      c.send({
        type: 'board.snapshot',
        board: {
          queues: this.pipeline.capacity.queueStats(st, queues),
          requests: this.pipeline.requestViews(await this.pipeline.requests.live(null), st),
          agents: this.pipeline.agents.all().map((a) => this.pipeline.agentView(a.staff_id)),
        },
      });
      return;
    }
    const queues = await this.pipeline.agents.queuesOf(c.staffId!);
    c.send({
      type: 'queue.snapshot',
      snapshot: {
        queues: this.pipeline.capacity.queueStats(st, queues),
        requests: this.pipeline.requestViews(await this.pipeline.requests.live(queues), st),
      },
    });
    c.send({ type: 'agent.state', agent: this.pipeline.agentView(c.staffId!) });
  }

  /** Keep connected agents alive (called by the hub's sweep). */
  heartbeat(): void {
    const seen = new Set<string>();
    for (const c of this.conns)
      if (c.staffId && !seen.has(c.staffId)) {
        seen.add(c.staffId);
        this.pipeline.touchAgent(c.staffId);
      }
  }

  private sendDeviceUpdate(c: FeedConn, force = false): void {
    const r = this.pipeline.requests.bySession(c.sessionId!);
    if (!r) return;
    const view = this.pipeline.requestView(r);
    const text = JSON.stringify(view);
    if (!force && text === c.lastSent) return;
    c.lastSent = text;
    c.send({ type: 'request.update', request: view });
  }

  async flush(): Promise<void> {
    this.flushTimer = null;
    const requestIds = [...this.pendingRequests];
    const agentIds = [...this.pendingAgents];
    this.pendingRequests.clear();
    this.pendingAgents.clear();
    if (!this.conns.size) return;
    const st = this.pipeline.capacity.staffing();
    const rows = requestIds.map((id) => this.pipeline.requests.get(id)).filter((r) => r !== undefined);
    const views = rows.map((r) => this.pipeline.requestView(r, st));
    const touchedQueues = [...new Set(rows.map((r) => r.queue_id))];
    const stats = new Map(this.pipeline.capacity.queueStats(st, touchedQueues).map((s) => [s.queueId, s]));
    const agentViews = new Map(agentIds.map((id) => [id, this.pipeline.agentView(id)]));
    const queuesOf = new Map<string, Set<string>>();
    for (const c of this.conns)
      if (c.staffId && c.topic === 'queues' && !queuesOf.has(c.staffId))
        queuesOf.set(c.staffId, new Set(await this.pipeline.agents.queuesOf(c.staffId)));
    for (const c of this.conns) {
      if (c.sessionId) {
        this.sendDeviceUpdate(c);
        continue;
      }
      if (!c.staffId || !c.topic) continue;
      let mine: Set<string> | null = null;
      if (c.topic === 'queues') mine = queuesOf.get(c.staffId) ?? new Set();
      const upserts = mine ? views.filter((v) => mine.has(v.queueId)) : views;
      const queues = [...stats.values()].filter((s) => !mine || mine.has(s.queueId));
      if (upserts.length || (queues.length && requestIds.length))
        c.send({ type: 'queue.delta', queues, upserts });
      for (const [id, agent] of agentViews)
        if (c.topic === 'board' || id === c.staffId) c.send({ type: 'agent.state', agent });
    }
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }
}
