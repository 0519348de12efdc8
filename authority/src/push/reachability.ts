import { EventEmitter } from 'node:events';
import type { DeviceReachability } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { Repos } from '../store/repos/index.ts';

/**
 * Which customer devices can be reached now. A device is online while one of its
 * WebSocket connections to the authority is open (the Hub reports them) or its SIP
 * registration at the embedded edge is live; its last seen time is kept in
 * device_last_seen (written when it connects and when it goes away), so an offline
 * device shows "last seen 4 min ago" even after a restart. `wakeable` says a push
 * subscription is stored (see PushService). Emits `changed` when a device comes or goes.
 */
export class Reachability extends EventEmitter<{ changed: [deviceId: string] }> {
  private readonly sockets = new Map<string, number>();
  private readonly sip = new Set<string>();
  /** requestId -> when the authority last sent a wake-up push for it. */
  private readonly woken = new Map<string, number>();

  constructor(private readonly ctx: Ctx) {
    super();
  }

  online(deviceId: string): boolean {
    return (this.sockets.get(deviceId) ?? 0) > 0 || this.sip.has(deviceId);
  }

  /** A WebSocket of the device said hello (true) or closed (false). */
  async socket(deviceId: string, open: boolean): Promise<void> {
    const before = this.online(deviceId);
    const n = Math.max(0, (this.sockets.get(deviceId) ?? 0) + (open ? 1 : -1));
    if (n) this.sockets.set(deviceId, n);
    else this.sockets.delete(deviceId);
    await this.seen(deviceId, before);
  }

  /** The device's SIP registration became live (true) or went away (false). */
  async sipRegistration(deviceId: string, live: boolean): Promise<void> {
    const before = this.online(deviceId);
    if (live) this.sip.add(deviceId);
    else this.sip.delete(deviceId);
    await this.seen(deviceId, before);
  }

  markWoken(requestId: string): void {
    this.woken.set(requestId, this.ctx.clock.now());
  }

  unmarkWoken(requestId: string): void {
    this.woken.delete(requestId);
  }

  private async seen(deviceId: string, wasOnline: boolean): Promise<void> {
    const changed = wasOnline !== this.online(deviceId);
    const at = this.ctx.clock.now();
    await this.ctx.data.tx((r) => r.push.markSeen(deviceId, at));
    // after the commit: listeners read the new last seen time
    if (changed) this.emit('changed', deviceId);
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

  /** viewIn() for many requests at once (the views of a snapshot): two queries. */
  async viewsOf(
    r: Repos,
    of: readonly { deviceId: string | null; requestId: string }[],
  ): Promise<(DeviceReachability | null)[]> {
    const devices = of.map((x) => x.deviceId).filter((d): d is string => d !== null);
    const { lastSeen, wakeable } = await r.push.reachOf(devices);
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
