import { EventEmitter } from 'node:events';
import type { DeviceReachability } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import type { Repos } from '../store/repos/index.ts';

/**
 * Which customer devices can be reached now. A device is online while one of its
 * WebSocket connections to the authority is open (the Hub reports them) or its SIP
 * registration at the embedded edge is live; its last seen time is kept in
 * device_last_seen (written when it connects and when it goes away), so an offline
 * device shows "last seen 4 min ago" even after a restart. `wakeable` says a push
 * subscription is stored (see PushService). Emits `changed` when a device comes or goes.
 *
 * Many nodes (`ctx.events.shared`): each node counts its own sockets and registrations
 * and writes whether a device is online *here* to node_presence (its `instance` row),
 * with a `presence.changed` event in the same unit; the other nodes read that device's
 * rows again and keep the nodes where it is online in memory (`elsewhere`), so
 * `online()` stays a synchronous answer for dispatch and views. Every node writes a
 * heartbeat (authority_nodes) each `nodeHeartbeatSeconds`; a node silent for
 * `nodeStaleSeconds` (SIGKILL, lost machine) is removed by whichever node notices first,
 * and its devices count as offline from then on unless they are online elsewhere. A node
 * that stops cleanly removes itself. The node that changed a device's row announces
 * `changed` (the others get the feeds' `feeds.changed` from it); for a node that
 * stopped, each other node announces the devices that went offline with it.
 */
/** presence.changed rows are followed as they commit; a minute covers a slow follower. */
const PRESENCE_EVENTS_RETAIN_MS = 60_000;

export class Reachability extends EventEmitter<{ changed: [deviceId: string] }> {
  private readonly sockets = new Map<string, number>();
  private readonly sip = new Set<string>();
  /** deviceId -> the other nodes where it is online (many nodes only). */
  private readonly elsewhere = new Map<string, Set<string>>();
  /** The writes of one device's presence, in the order its sockets came and went. */
  private readonly writes = new Map<string, Promise<void>>();
  /** requestId -> when the authority last sent a wake-up push for it. */
  private readonly woken = new Map<string, number>();
  /** This process among the nodes: VD_NODE_ID and a random part (a restarted node is a new one). */
  readonly instance: string;
  private heartbeat: NodeJS.Timeout | null = null;
  private beating: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly ctx: Ctx) {
    super();
    this.instance = `${ctx.config.nodeId}-${randomId(8)}`.slice(0, 80);
    if (ctx.events.shared)
      ctx.events.follow(['presence.changed'], (e) => {
        if (e.payload.node !== this.instance) this.track(this.refresh(e.payload.deviceId, e.payload.left));
      });
  }

  private get shared(): boolean {
    return this.ctx.events.shared;
  }

  online(deviceId: string): boolean {
    return this.here(deviceId) || (this.elsewhere.get(deviceId)?.size ?? 0) > 0;
  }

  /** Online at this node. */
  private here(deviceId: string): boolean {
    return (this.sockets.get(deviceId) ?? 0) > 0 || this.sip.has(deviceId);
  }

  /** A WebSocket of the device said hello (true) or closed (false). */
  async socket(deviceId: string, open: boolean): Promise<void> {
    const before = this.online(deviceId);
    const wasHere = this.here(deviceId);
    const n = Math.max(0, (this.sockets.get(deviceId) ?? 0) + (open ? 1 : -1));
    if (n) this.sockets.set(deviceId, n);
    else this.sockets.delete(deviceId);
    await this.seen(deviceId, before, wasHere);
  }

  /** The device's SIP registration became live (true) or went away (false). */
  async sipRegistration(deviceId: string, live: boolean): Promise<void> {
    const before = this.online(deviceId);
    const wasHere = this.here(deviceId);
    if (live) this.sip.add(deviceId);
    else this.sip.delete(deviceId);
    await this.seen(deviceId, before, wasHere);
  }

  markWoken(requestId: string): void {
    this.woken.set(requestId, this.ctx.clock.now());
  }

  unmarkWoken(requestId: string): void {
    this.woken.delete(requestId);
  }

  private async seen(deviceId: string, wasOnline: boolean, wasHere: boolean): Promise<void> {
    // a node that has stopped (removed itself) writes no row: it would outlive the node
    const moved = this.shared && !this.stopped && wasHere !== this.here(deviceId);
    const at = this.ctx.clock.now();
    // One device's writes in order: its row at this node ends as its last socket left it.
    const prior = this.writes.get(deviceId) ?? Promise.resolve();
    const write = prior.then(() =>
      this.ctx.data.tx(async (r) => {
        await r.push.markSeen(deviceId, at);
        if (!moved) return;
        await r.nodes.present(this.instance, deviceId, this.here(deviceId), at);
        await r.outbox.emit('presence.changed', { node: this.instance, deviceId });
      }),
    );
    const settled = write.catch(() => undefined);
    this.writes.set(deviceId, settled);
    void settled.then(() => {
      if (this.writes.get(deviceId) === settled) this.writes.delete(deviceId);
    });
    await write;
    // after the commit: listeners read the new last seen time
    if (wasOnline !== this.online(deviceId)) this.emit('changed', deviceId);
  }

  /** Oldest heartbeat of a node still counted alive. */
  private freshSince(): number {
    return Date.now() - this.ctx.config.nodeStaleSeconds * 1000;
  }

  /** Another node changed the device's rows: read where it is online now. */
  private async refresh(deviceId: string, left?: true): Promise<void> {
    const before = this.online(deviceId);
    const nodes = await this.ctx.data.read.nodes.nodesOf(deviceId, this.freshSince());
    const others = new Set(nodes.filter((n) => n !== this.instance));
    if (others.size) this.elsewhere.set(deviceId, others);
    else this.elsewhere.delete(deviceId);
    if (left && before && !this.online(deviceId)) this.emit('changed', deviceId);
  }

  private readonly running = new Set<Promise<void>>();
  private track(work: Promise<void>): void {
    const p = work.catch((e: unknown) => console.error('reachability (many nodes):', e));
    this.running.add(p);
    void p.then(() => this.running.delete(p));
  }

  /**
   * Many nodes: the first heartbeat, every device online at another live node, then a
   * heartbeat (and a look for stale nodes) each `nodeHeartbeatSeconds`. Call after the
   * event bus started (its followers see what changes from then on).
   */
  async start(): Promise<void> {
    if (!this.shared) return;
    await this.beat();
    for (const p of await this.ctx.data.read.nodes.presentAt(this.freshSince())) {
      if (p.node === this.instance) continue;
      const s = this.elsewhere.get(p.deviceId) ?? new Set<string>();
      s.add(p.node);
      this.elsewhere.set(p.deviceId, s);
    }
    this.heartbeat = setInterval(() => {
      if (this.beating) return;
      this.beating = this.beat()
        .catch((e: unknown) => console.error('node heartbeat failed:', e))
        .finally(() => (this.beating = null));
    }, this.ctx.config.nodeHeartbeatSeconds * 1000);
    this.heartbeat.unref();
  }

  /**
   * This node's heartbeat; when its row was gone (another node took it for dead during
   * a long pause) its devices are written again. Then nodes silent too long are removed:
   * their devices are offline unless online elsewhere, and every node is told.
   */
  private async beat(): Promise<void> {
    const now = Date.now();
    const gone: { node: string; devices: string[] }[] = [];
    await this.ctx.data.tx(async (r) => {
      gone.length = 0;
      if (!(await r.nodes.beat(this.instance, now)))
        for (const d of new Set([...this.sockets.keys(), ...this.sip])) {
          await r.nodes.present(this.instance, d, true, now);
          await r.outbox.emit('presence.changed', { node: this.instance, deviceId: d });
        }
      for (const node of await r.nodes.stale(now - this.ctx.config.nodeStaleSeconds * 1000)) {
        if (node === this.instance) continue;
        const devices = await r.nodes.remove(node);
        for (const deviceId of devices) await r.outbox.emit('presence.changed', { node, deviceId });
        // What it committed last may not have reached the feeds: every node resends them.
        await r.outbox.emit('node.gone', { node });
        gone.push({ node, devices });
      }
      // Nobody consumes these durably: the rows go when every node has followed them.
      await r.outbox.pruneTopic('presence.changed', PRESENCE_EVENTS_RETAIN_MS);
      await r.outbox.pruneTopic('node.gone', PRESENCE_EVENTS_RETAIN_MS);
    });
    for (const { node, devices } of gone)
      for (const d of devices) {
        this.elsewhere.get(d)?.delete(node);
        if (this.elsewhere.get(d)?.size === 0) this.elsewhere.delete(d);
        // announced even if this node had dropped it already: the views must say offline
        if (!this.online(d)) this.emit('changed', d);
      }
  }

  /** Stop the heartbeat; a node that stops cleanly removes itself (its devices: offline unless elsewhere). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    await this.beating;
    await Promise.all([...this.writes.values(), ...this.running]);
    if (!this.shared) return;
    this.sockets.clear();
    this.sip.clear();
    await this.ctx.data.tx(async (r) => {
      for (const deviceId of await r.nodes.remove(this.instance))
        await r.outbox.emit('presence.changed', { node: this.instance, deviceId, left: true });
    });
  }

  /** When the device was last seen (now while it is online); null when never. */
  async lastSeenIn(r: Repos, deviceId: string): Promise<number | null> {
    if (this.online(deviceId)) return this.ctx.clock.now();
    return await r.push.lastSeen(deviceId);
  }

  /** Whether a push subscription of the device is stored. */
  async wakeableIn(r: Repos, deviceId: string): Promise<boolean> {
    return (await r.push.subscription(deviceId)) !== undefined;
  }

  /** view() on the repositories `r` (a unit's, or ctx.data.read). */
  async viewIn(r: Repos, d: string | null, requestId: string): Promise<DeviceReachability | null> {
    if (d === null) return null;
    return this.viewOf(d, requestId, await this.lastSeenIn(r, d), await this.wakeableIn(r, d));
  }

  /**
   * viewIn() for many requests at once (the views of a snapshot), given what was read of
   * their devices (RequestStore.viewContext: PushRepo.reachOf, or the request views' query).
   */
  viewsFrom(
    of: readonly { deviceId: string | null; requestId: string }[],
    lastSeen: ReadonlyMap<string, number>,
    wakeable: ReadonlySet<string>,
  ): (DeviceReachability | null)[] {
    const now = this.ctx.clock.now();
    return of.map(({ deviceId: d, requestId }) =>
      d === null
        ? null
        : this.viewOf(d, requestId, this.online(d) ? now : (lastSeen.get(d) ?? null), wakeable.has(d)),
    );
  }

  private viewOf(d: string, requestId: string, last: number | null, wakeable: boolean): DeviceReachability {
    const woken = this.woken.get(requestId);
    return {
      online: this.online(d),
      lastSeenAt: last === null ? null : iso(last),
      wakeable,
      wokenAt: woken === undefined ? null : iso(woken),
    };
  }
}
