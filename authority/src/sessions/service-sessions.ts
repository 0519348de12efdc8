import { EventEmitter } from 'node:events';
import type { ServiceSession } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { notFound, unauthorized } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { AuthenticationRow } from '../identity/authentications.ts';
import type { Repos } from '../store/repos/index.ts';
import type { SessionRow } from '../store/repos/sessions.ts';

export type EndReason = 'ended' | 'idle_timeout' | 'absolute_timeout' | 'ended_by_admin';

/**
 * Service sessions: 256-bit random ids, an idle timeout and an absolute lifetime.
 * An ended or expired session is never found again (401 for every use); listeners
 * of "ended" close the session's sockets. Ending is one guarded write with its audit
 * row and its `session.ended` outbox event in the same unit of work: of racing enders
 * exactly one ends it (and audits it).
 */
export class ServiceSessions extends EventEmitter<{ ended: [sessionId: string, reason: EndReason] }> {
  constructor(private readonly ctx: Ctx) {
    super();
  }

  private get idleMs() {
    return this.ctx.config.sessionIdleSeconds * 1000;
  }

  private newRow(auth: AuthenticationRow): SessionRow {
    const now = this.ctx.clock.now();
    return {
      id: randomId(32),
      customer_id: auth.customer_id,
      device_id: auth.device_id,
      authentication_id: auth.id,
      created_at: now,
      last_activity_at: now,
      absolute_expires_at: now + this.ctx.config.sessionAbsoluteSeconds * 1000,
      ended_at: null,
      end_reason: null,
    };
  }

  private static startEntry(row: SessionRow) {
    return {
      actor: row.device_id ? `device:${row.device_id}` : `customer:${row.customer_id}`,
      action: 'session.start',
      subject: `session:${row.id.slice(0, 8)}`,
      outcome: 'success',
      data: { authenticationId: row.authentication_id },
    } as const;
  }

  /** A new session for `auth` inside the caller's unit of work, with its audit row. */
  async openIn(r: Repos, auth: AuthenticationRow): Promise<SessionRow> {
    const row = this.newRow(auth);
    await r.sessions.insert(row);
    await r.audit.append(ServiceSessions.startEntry(row));
    return row;
  }

  /** A new session for `auth`, durable with its audit row when this resolves. */
  start(auth: AuthenticationRow): Promise<SessionRow> {
    return this.ctx.data.tx((r) => this.openIn(r, auth));
  }

  /**
   * Why the session is no longer usable at `now`, or null when it is live. `held()` says
   * whether a live request holds it (SessionsRepo.heldByRequest): then the idle timeout
   * does not apply; the absolute lifetime still does. Asked only when idle matters.
   */
  deadReason(s: SessionRow, now: number, held: () => boolean): EndReason | null {
    if (s.ended_at !== null) return (s.end_reason as EndReason) ?? 'ended';
    if (now >= s.absolute_expires_at) return 'absolute_timeout';
    if (now >= s.last_activity_at + this.idleMs && !held()) return 'idle_timeout';
    return null;
  }

  /** deadReason() with the hold read on `r` (a unit's repositories, or committed data). */
  async deadReasonIn(r: Repos, s: SessionRow, now = this.ctx.clock.now()): Promise<EndReason | null> {
    const idle =
      s.ended_at === null && now < s.absolute_expires_at && now >= s.last_activity_at + this.idleMs;
    const held = idle && (await r.sessions.heldByRequest(s.id));
    return this.deadReason(s, now, () => held);
  }

  /**
   * Inside a unit: the session as it is, why it is dead at `now` (null: live), and whether
   * this call ended it (then the caller announces it after the unit resolved).
   */
  private async expireIn(
    r: Repos,
    id: string,
    now: number,
  ): Promise<{ s: SessionRow | undefined; reason: EndReason | null; endedNow: boolean }> {
    const s = await r.sessions.get(id);
    if (!s) return { s, reason: null, endedNow: false };
    const reason = await this.deadReasonIn(r, s, now);
    const endedNow = reason !== null && s.ended_at === null && (await this.endIn(r, id, reason, 'system'));
    return { s, reason, endedNow };
  }

  /** Deadline of a live session: the earlier of idle and absolute expiry. */
  deadline(s: SessionRow): number {
    return Math.min(s.absolute_expires_at, s.last_activity_at + this.idleMs);
  }

  /** A live session, with its activity time moved to now; 401 when unknown, ended or expired. */
  async use(id: string): Promise<SessionRow> {
    const now = this.ctx.clock.now();
    // One unit: the check and the touch (or the end of an expired session) cannot interleave with an end.
    const out = await this.ctx.data.tx(async (r) => {
      const x = await this.expireIn(r, id, now);
      const live = x.s !== undefined && x.reason === null && (await r.sessions.touch(id, now));
      return { ...x, live };
    });
    if (out.live) return { ...out.s!, last_activity_at: now };
    if (!out.s) throw unauthorized('session unknown');
    if (out.endedNow) this.announceEnded(id, out.reason!);
    throw unauthorized('session ended or expired');
  }

  /** The session `id` as committed (ended or not); undefined when unknown. */
  get(id: string): Promise<SessionRow | undefined> {
    return this.ctx.data.read.sessions.get(id);
  }

  /**
   * End session `id` inside the caller's unit of work, with its audit row: true for the one
   * caller that ended it. After the unit resolved, that caller calls announceEnded(id, reason).
   * `said`: the reason in words (its own audit row). `requestEnded`: the unit ended the
   * session's request too (the event says so: the pipeline's consumer does not read it
   * again to find it ended).
   */
  async endIn(
    r: Repos,
    id: string,
    reason: EndReason,
    actor: string,
    opts: { said?: string | undefined; requestEnded?: boolean } = {},
  ): Promise<boolean> {
    const { said, requestEnded = false } = opts;
    if (!(await r.sessions.end(id, reason, this.ctx.clock.now()))) return false;
    await r.audit.append({
      actor,
      action: 'session.end',
      subject: `session:${id.slice(0, 8)}`,
      outcome: 'success',
      reason,
    });
    if (said) await r.audit.append({ actor, action: 'session.end.reason', outcome: 'success', reason: said });
    // Durable: the pipeline abandons the request, the relay cancels the commands (events/), even after a crash.
    await r.outbox.emit('session.ended', {
      sessionId: id,
      reason,
      ...(requestEnded ? { requestEnded } : {}),
    });
    return true;
  }

  /**
   * Tell the in-process listeners (the sockets of ws/hub.ts) that `id` ended: after the unit
   * that ended it committed. What must not be lost (the request, the commands) follows the
   * `session.ended` outbox event that endIn wrote instead.
   */
  announceEnded(id: string, reason: EndReason): void {
    this.emit('ended', id, reason);
  }

  /**
   * End session `id` (durable with its audit row when this resolves): false when it had
   * ended already. `said`: why, in the ender's words (its own audit row, same unit).
   */
  async end(id: string, reason: EndReason, actor: string, said?: string): Promise<boolean> {
    const changed = await this.ctx.data.tx((r) => this.endIn(r, id, reason, actor, { said }));
    if (changed) this.announceEnded(id, reason);
    return changed;
  }

  /** End every session whose deadline has passed among `ids` (the ones somebody is connected to). */
  async sweep(ids: Iterable<string>): Promise<void> {
    const list = [...ids];
    if (list.length === 0) return;
    const now = this.ctx.clock.now();
    for (const s of await this.ctx.data.read.sessions.getMany(list)) {
      // An ended session's sockets close now (whoever ended it announced it already once).
      if (s.ended_at !== null) {
        this.announceEnded(s.id, (s.end_reason as EndReason) ?? 'ended');
        continue;
      }
      if (now < this.deadline(s)) continue;
      if (now < s.absolute_expires_at && (await this.ctx.data.read.sessions.heldByRequest(s.id))) continue;
      // past its deadline as read: decide (hold included) and end in one unit
      const x = await this.ctx.data.tx((r) => this.expireIn(r, s.id, now));
      if (x.endedNow) this.announceEnded(s.id, x.reason!);
    }
  }

  /**
   * End every live session past its deadline in the whole database, whoever is connected
   * to it and on whichever node (issue 12: a sweep any node may run). Each in a unit of
   * its own, guarded by state (expireIn: a session two nodes sweep at once ends once, with
   * one audit row and one `session.ended` event); the event closes its sockets on every
   * node (ws/node-frames.ts) and abandons its request. The number ended by this call.
   */
  async sweepExpired(limit = 500): Promise<number> {
    const now = this.ctx.clock.now();
    let ended = 0;
    for (const id of await this.ctx.data.read.sessions.pastDeadline(now, now - this.idleMs, limit)) {
      const x = await this.ctx.data.tx((r) => this.expireIn(r, id, now));
      if (!x.endedNow) continue;
      ended++;
      this.announceEnded(id, x.reason!);
    }
    return ended;
  }

  /** The session as its holder sees it (after use() or start(): live at that instant unless ended). */
  async view(s: SessionRow, level: number): Promise<ServiceSession> {
    const reason = await this.deadReasonIn(this.ctx.data.read, s);
    return {
      sessionId: s.id,
      customerId: s.customer_id,
      deviceId: s.device_id,
      authenticationId: s.authentication_id,
      level: level as ServiceSession['level'],
      state:
        reason === null
          ? 'open'
          : reason === 'idle_timeout' || reason === 'absolute_timeout'
            ? 'expired'
            : 'ended',
      createdAt: iso(s.created_at),
      lastActivityAt: iso(s.last_activity_at),
      idleExpiresAt: iso(s.last_activity_at + this.idleMs),
      absoluteExpiresAt: iso(s.absolute_expires_at),
    };
  }

  async requireExisting(id: string): Promise<SessionRow> {
    const s = await this.get(id);
    if (!s) throw notFound('no such session');
    return s;
  }
}
export type { SessionRow };
