import { EventEmitter } from 'node:events';
import type { ServiceSession } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { notFound, unauthorized } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { AuthenticationRow } from '../identity/authentications.ts';

export type EndReason = 'ended' | 'idle_timeout' | 'absolute_timeout' | 'ended_by_admin';

interface SessionRow {
  id: string;
  customer_id: string;
  device_id: string | null;
  authentication_id: string;
  created_at: number;
  last_activity_at: number;
  absolute_expires_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

/**
 * Service sessions: 256-bit random ids, an idle timeout and an absolute lifetime.
 * An ended or expired session is never found again (401 for every use); listeners
 * of "ended" close the session's sockets.
 */
export class ServiceSessions extends EventEmitter<{ ended: [sessionId: string, reason: EndReason] }> {
  private readonly getStmt;
  private readonly touchStmt;
  private readonly endStmt;
  constructor(private readonly ctx: Ctx) {
    super();
    this.getStmt = ctx.db.prepare<[string], SessionRow>('SELECT * FROM service_sessions WHERE id = ?');
    this.touchStmt = ctx.db.prepare(
      'UPDATE service_sessions SET last_activity_at = ? WHERE id = ? AND ended_at IS NULL',
    );
    this.endStmt = ctx.db.prepare(
      'UPDATE service_sessions SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL',
    );
  }

  private held: (sessionId: string) => boolean = () => false;

  /** While `held(id)` is true (a request waits in the pipeline), the idle timeout does not apply; the absolute lifetime still does. */
  holdWhile(held: (sessionId: string) => boolean): void {
    this.held = held;
  }

  private get idleMs() {
    return this.ctx.config.sessionIdleSeconds * 1000;
  }

  open(auth: AuthenticationRow): SessionRow {
    const now = this.ctx.clock.now();
    const row: SessionRow = {
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
    this.ctx.db
      .prepare(
        'INSERT INTO service_sessions (id, customer_id, device_id, authentication_id, created_at, last_activity_at, absolute_expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        row.id,
        row.customer_id,
        row.device_id,
        row.authentication_id,
        row.created_at,
        row.last_activity_at,
        row.absolute_expires_at,
      );
    this.ctx.audit.append({
      actor: row.device_id ? `device:${row.device_id}` : `customer:${row.customer_id}`,
      action: 'session.start',
      subject: `session:${row.id.slice(0, 8)}`,
      outcome: 'success',
      data: { authenticationId: auth.id },
    });
    return row;
  }

  /** Why the session is no longer usable at `now`, or null when it is live. */
  deadReason(s: SessionRow, now = this.ctx.clock.now()): EndReason | null {
    if (s.ended_at !== null) return (s.end_reason as EndReason) ?? 'ended';
    if (now >= s.absolute_expires_at) return 'absolute_timeout';
    if (now >= s.last_activity_at + this.idleMs && !this.held(s.id)) return 'idle_timeout';
    return null;
  }

  /** Deadline of a live session: the earlier of idle and absolute expiry. */
  deadline(s: SessionRow): number {
    return Math.min(s.absolute_expires_at, s.last_activity_at + this.idleMs);
  }

  /** A live session, with its activity time moved to now; 401 when unknown, ended or expired. */
  async use(id: string): Promise<SessionRow> {
    const s = this.getStmt.get(id);
    if (!s) throw unauthorized('session unknown');
    const reason = this.deadReason(s);
    if (reason) {
      if (s.ended_at === null) this.end(id, reason, 'system');
      throw unauthorized('session ended or expired');
    }
    const now = this.ctx.clock.now();
    this.touchStmt.run(now, id);
    return { ...s, last_activity_at: now };
  }

  peek(id: string): SessionRow | undefined {
    return this.getStmt.get(id);
  }

  end(id: string, reason: EndReason, actor: string): boolean {
    const changed = this.endStmt.run(this.ctx.clock.now(), reason, id).changes === 1;
    if (changed) {
      this.ctx.audit.append({
        actor,
        action: 'session.end',
        subject: `session:${id.slice(0, 8)}`,
        outcome: 'success',
        reason,
      });
      this.emit('ended', id, reason);
    }
    return changed;
  }

  /** End every session whose deadline has passed among `ids` (the ones somebody is connected to). */
  sweep(ids: Iterable<string>): void {
    const now = this.ctx.clock.now();
    for (const id of ids) {
      const s = this.getStmt.get(id);
      if (!s) continue;
      const reason = this.deadReason(s, now);
      if (reason && s.ended_at === null) this.end(id, reason, 'system');
      else if (reason) this.emit('ended', id, reason);
    }
  }

  view(s: SessionRow, level: number): ServiceSession {
    const reason = this.deadReason(s);
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
    const s = this.getStmt.get(id);
    if (!s) throw notFound('no such session');
    return s;
  }
}
export type { SessionRow };
