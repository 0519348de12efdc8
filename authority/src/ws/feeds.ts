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
 *
 * Frames are built from committed data by asynchronous reads, so the feeds build them
 * one job at a time, in the order the jobs were queued (snapshots, deltas, offers, a new
 * device's first update): a frame read later never goes out before one read earlier,
 * and a snapshot is never followed by a delta older than itself.
 */
export class Feeds {
  private readonly conns = new Set<FeedConn>();
  private pendingRequests = new Set<string>();
  private pendingAgents = new Set<string>();
  private pendingOffers: [agentId: string, requestId: string][] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private flushAt = Infinity;
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly pipeline: Pipeline) {
    pipeline.on('changed', (requestIds, agentIds) => this.changed(requestIds, agentIds));
    pipeline.on('offer', (agentId, requestId) => this.offered(agentId, requestId));
  }

  /** Requests and agents changed (here, or on another node: ws/node-frames.ts): deltas within FLUSH_DELAY_MS. */
  changed(requestIds: readonly string[], agentIds: readonly string[]): void {
    for (const id of requestIds) this.pendingRequests.add(id);
    for (const id of agentIds) this.pendingAgents.add(id);
    this.schedule(FLUSH_DELAY_MS);
  }

  /** An offer was made (here, or on another node): the agent's sockets get it at once. */
  offered(agentId: string, requestId: string): void {
    this.pendingOffers.push([agentId, requestId]);
    this.schedule(0);
  }

  /** Run `job` after every job queued before it; its failure is logged, never thrown to the queue. */
  private enqueue(what: string, job: () => Promise<void>): Promise<void> {
    const run = this.queue.then(job).catch((e: unknown) => console.error(`feeds: ${what} failed:`, e));
    this.queue = run;
    return run;
  }

  /** A flush within `delayMs` (an earlier one already planned stays). */
  private schedule(delayMs: number): void {
    if (this.closed) return;
    const at = Date.now() + delayMs;
    if (this.flushTimer && this.flushAt <= at) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushAt = at;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      this.flushAt = Infinity;
      void this.enqueue('flush', () => this.flush());
    }, delayMs);
  }

  private background(what: string, work: Promise<unknown>): void {
    work.catch((e: unknown) => console.error(`feeds: ${what} failed:`, e));
  }

  add(c: FeedConn): void {
    this.conns.add(c);
    if (c.staffId) this.background('touch agent', this.pipeline.touchAgent(c.staffId));
    if (c.sessionId) void this.enqueue('device update', () => this.sendDeviceUpdates([c], true));
  }

  remove(c: FeedConn): void {
    this.conns.delete(c);
    if (c.staffId && ![...this.conns].some((o) => o.staffId === c.staffId))
      this.background('agent disconnected', this.pipeline.agentDisconnected(c.staffId, RECONNECT_GRACE_MS));
  }

  /** The connection follows a topic: its snapshot now, its deltas from then on (in that order). */
  async subscribe(c: FeedConn, topic: 'queues' | 'board'): Promise<void> {
    await this.enqueue('snapshot', async () => {
      c.topic = topic;
      await this.sendSnapshot(c, topic);
    });
  }

  /**
   * Every connection gets a fresh snapshot (devices their request again), read from the
   * store: after another node died, whose last changes may never have been announced here.
   */
  async resync(): Promise<void> {
    await this.enqueue('resync', async () => {
      const devices: FeedConn[] = [];
      for (const c of [...this.conns]) {
        if (c.sessionId) devices.push(c);
        else if (c.topic) await this.sendSnapshot(c, c.topic);
      }
      await this.sendDeviceUpdates(devices, true);
    });
  }

  private async sendSnapshot(c: FeedConn, topic: 'queues' | 'board'): Promise<void> {
    const st = await this.pipeline.capacity.staffingOf();
    if (topic === 'board') {
      const queues = this.pipeline.config.config.queues.map((q) => q.id);
      c.send({
        type: 'board.snapshot',
        board: {
          queues: await this.pipeline.capacity.queueStatsOf(st, queues),
          requests: await this.pipeline.requestViews(await this.pipeline.requests.live(null), st),
          agents: await this.pipeline.agentViews(await this.pipeline.agents.all(), st),
        },
      });
      return;
    }
    const queues = await this.pipeline.agents.queuesOf(c.staffId!);
    c.send({
      type: 'queue.snapshot',
      snapshot: {
        queues: await this.pipeline.capacity.queueStatsOf(st, queues),
        requests: await this.pipeline.requestViews(await this.pipeline.requests.live(queues), st),
      },
    });
    c.send({ type: 'agent.state', agent: await this.pipeline.agentView(c.staffId!) });
  }

  /** Keep connected agents alive (called by the hub's sweep). */
  heartbeat(): void {
    const seen = new Set<string>();
    for (const c of this.conns)
      if (c.staffId && !seen.has(c.staffId)) {
        seen.add(c.staffId);
        this.background('heartbeat', this.pipeline.touchAgent(c.staffId));
      }
  }

  /** Each device's own request view, sent when it changed (or always: `force`). */
  private async sendDeviceUpdates(conns: readonly FeedConn[], force = false): Promise<void> {
    if (!conns.length) return;
    const rows = await this.pipeline.requests.bySessions(conns.map((c) => c.sessionId!));
    const views = await this.pipeline.requestViewsEach(rows);
    const bySession = new Map(views.map((v) => [v.sessionId, v]));
    // A (re)connected device learns of a consult that began while it was away.
    const consulting = force
      ? await this.pipeline.consultingOf(rows.map((r) => r.id))
      : new Map<string, number>();
    for (const c of conns) {
      const view = bySession.get(c.sessionId!);
      if (!view || !this.conns.has(c)) continue;
      const text = JSON.stringify(view);
      if (!force && text === c.lastSent) continue;
      c.lastSent = text;
      c.send({ type: 'request.update', request: view });
      const since = consulting.get(view.requestId);
      if (since !== undefined)
        c.send({
          type: 'request.consult',
          requestId: view.requestId,
          active: true,
          at: new Date(since).toISOString(),
        });
    }
  }

  /** Offers first (the agent's decision is timed), then the batched changes. */
  async flush(): Promise<void> {
    const offers = this.pendingOffers;
    const requestIds = [...this.pendingRequests];
    const agentIds = [...this.pendingAgents];
    this.pendingOffers = [];
    this.pendingRequests.clear();
    this.pendingAgents.clear();
    if (!this.conns.size) return;
    for (const [agentId, requestId] of offers) await this.sendOffer(agentId, requestId);
    if (!requestIds.length && !agentIds.length) return;
    const st = await this.pipeline.capacity.staffingOf();
    const rows = await this.pipeline.requests.many(requestIds);
    const views = await this.pipeline.requestViewsEach(rows, st);
    const changedAgents = await this.pipeline.agents.many(agentIds);
    // A queue's figures move with its requests and with its agents (who is free, who has room).
    const touchedQueues = [
      ...new Set([
        ...rows.map((r) => r.queue_id),
        ...changedAgents.flatMap((a) =>
          [...this.pipeline.agents.info(a).queues].filter((q) => this.pipeline.config.queue(q)),
        ),
      ]),
    ];
    const stats = new Map(
      (await this.pipeline.capacity.queueStatsOf(st, touchedQueues)).map((s) => [s.queueId, s]),
    );
    const agentViews = new Map(
      (await this.pipeline.agentViews(changedAgents, st)).map((v) => [v.staffId, v]),
    );
    // The queues of every agent following them, read at once (none for an agent not seen yet).
    const following = [...this.conns].filter((c) => c.staffId && c.topic === 'queues').map((c) => c.staffId!);
    const queuesOf = new Map(
      (await this.pipeline.agents.many(following)).map((a) => [
        a.staff_id,
        this.pipeline.agents.info(a).queues,
      ]),
    );
    const devices: FeedConn[] = [];
    for (const c of this.conns) {
      if (c.sessionId) {
        devices.push(c);
        continue;
      }
      if (!c.staffId || !c.topic) continue;
      let mine: Set<string> | null = null;
      if (c.topic === 'queues') mine = queuesOf.get(c.staffId) ?? new Set();
      const upserts = mine ? views.filter((v) => mine.has(v.queueId)) : views;
      const queues = [...stats.values()].filter((s) => !mine || mine.has(s.queueId));
      if (upserts.length || queues.length) c.send({ type: 'queue.delta', queues, upserts });
      for (const [id, agent] of agentViews)
        if (c.topic === 'board' || id === c.staffId) c.send({ type: 'agent.state', agent });
    }
    await this.sendDeviceUpdates(devices);
  }

  private async sendOffer(agentId: string, requestId: string): Promise<void> {
    if (![...this.conns].some((c) => c.staffId === agentId)) return;
    const r = await this.pipeline.requests.get(requestId);
    if (!r || r.state !== 'offered' || r.agent_id !== agentId) return;
    const offer = {
      requestId,
      fence: r.fence,
      expiresAt: new Date(r.offer_expires_at!).toISOString(),
      request: await this.pipeline.requestView(r),
    };
    for (const c of this.conns) if (c.staffId === agentId) c.send({ type: 'offer', offer });
  }

  close(): void {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
  }
}
