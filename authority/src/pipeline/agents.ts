import type { AgentView, Presence } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { notFound } from '../errors.ts';
import type { Repos } from '../store/repos/index.ts';
import type { Staffing } from './capacity.ts';

export interface AgentRow {
  staff_id: string;
  presence: Presence;
  since: number;
  reason_code: string | null;
  wrap_up_until: number | null;
  idle_since: number | null;
  last_seen_at: number | null;
  skills: string;
  queues: string;
}

export interface AgentInfo {
  staffId: string;
  skills: Map<string, number>;
  queues: Set<string>;
  idleSince: number;
}

/**
 * Agents: presence, skills, queue memberships, shifts, last contact. Changes run in units
 * of work (setPresenceIn, staffingIn, setProfile, setSchedule); the synchronous methods
 * (ensure, get, all, setPresence, touch, shifts, onShift, hasLaterShift, baseView,
 * rememberReturn) are legacy-sync: transfers.ts, capacity.ts, callbacks.ts, the directory
 * handlers, the socket hub and the views call them without awaiting; they go when those
 * callers are async.
 */
export class Agents {
  /**
   * Presence to return to when a request held outside the person's own choice ends (a supervisor's
   * take-over): finishing or handing it on must not make them Available unasked.
   */
  private readonly returnTo = new Map<string, { presence: Presence; reasonCode: string | null }>();

  constructor(private readonly ctx: Ctx) {}

  /** Remember the presence to return to after holding a request taken over (the first one wins). */
  rememberReturn(staffId: string): void {
    const row = this.ensure(staffId);
    if (this.returnTo.has(staffId)) return;
    const own = row.presence === 'offline' || row.presence === 'break';
    this.returnTo.set(staffId, {
      presence: own ? row.presence : 'available',
      reasonCode: own ? row.reason_code : null,
    });
  }

  ensure(staffId: string): AgentRow {
    const now = this.ctx.clock.now();
    this.ctx.db.prepare('INSERT OR IGNORE INTO agents (staff_id, since) VALUES (?, ?)').run(staffId, now);
    return this.get(staffId)!;
  }

  get(staffId: string): AgentRow | undefined {
    return this.ctx.db.prepare<[string], AgentRow>('SELECT * FROM agents WHERE staff_id = ?').get(staffId);
  }

  all(): AgentRow[] {
    return this.ctx.db
      .prepare<[], AgentRow>(
        'SELECT a.* FROM agents a JOIN staff s ON s.id = a.staff_id WHERE s.disabled_at IS NULL ORDER BY s.display_name',
      )
      .all();
  }

  /**
   * The presence to set: `opts.reasonCode` given (even null) means the person chose it themselves and
   * forgets any remembered return; an automatic "available" (end of a request or wrap-up, hand-on)
   * becomes the remembered presence instead.
   */
  private resolve(
    staffId: string,
    presence: Presence,
    opts: { reasonCode?: string | null; wrapUpUntil?: number | null },
  ): { presence: Presence; reasonCode: string | null; wrapUpUntil: number | null } {
    const back = this.returnTo.get(staffId);
    if ('reasonCode' in opts || presence === 'offline') this.returnTo.delete(staffId);
    else if (back && presence === 'available') {
      this.returnTo.delete(staffId);
      return { presence: back.presence, reasonCode: back.reasonCode, wrapUpUntil: null };
    }
    return { presence, reasonCode: opts.reasonCode ?? null, wrapUpUntil: opts.wrapUpUntil ?? null };
  }

  /**
   * Set the presence (see resolve()).
   * legacy-sync: called inside transfers.ts's units/transactions; goes when that module moves.
   */
  setPresence(
    staffId: string,
    presence: Presence,
    opts: { reasonCode?: string | null; wrapUpUntil?: number | null } = {},
  ): void {
    const p = this.resolve(staffId, presence, opts);
    const now = this.ctx.clock.now();
    this.ctx.db
      .prepare(
        `UPDATE agents SET presence = ?, since = CASE WHEN presence = ? THEN since ELSE ? END, reason_code = ?, wrap_up_until = ?,
         idle_since = CASE WHEN ? = 'available' THEN COALESCE(CASE WHEN presence = 'available' THEN idle_since END, ?) ELSE NULL END
         WHERE staff_id = ?`,
      )
      .run(p.presence, p.presence, now, p.reasonCode, p.wrapUpUntil, p.presence, now, staffId);
  }

  /** Set the presence inside the caller's unit of work (see resolve()). */
  async setPresenceIn(
    r: Repos,
    staffId: string,
    presence: Presence,
    opts: { reasonCode?: string | null; wrapUpUntil?: number | null } = {},
  ): Promise<void> {
    const p = this.resolve(staffId, presence, opts);
    await r.agents.setPresence(staffId, p.presence, p.reasonCode, p.wrapUpUntil, this.ctx.clock.now());
  }

  /**
   * Who can take work now, read inside the caller's unit of work (dispatch decides on it
   * there): every active agent, on shift or not, holding an offer or not.
   */
  async staffingIn(r: Repos, at = this.ctx.clock.now()): Promise<Staffing> {
    const rows = await r.agents.active();
    const onShift = await r.agents.onShift(
      rows.map((a) => a.staff_id),
      at,
    );
    const offered = await r.requests.offeredAgentIds();
    return {
      agents: rows.map((row) => ({
        row,
        info: this.info(row),
        onShift: onShift.get(row.staff_id) ?? true,
        hasOffer: offered.has(row.staff_id),
      })),
    };
  }

  touch(staffId: string, at = this.ctx.clock.now()): void {
    this.ctx.db.prepare('UPDATE agents SET last_seen_at = ? WHERE staff_id = ?').run(at, staffId);
  }

  async setProfile(
    staffId: string,
    skills: { skill: string; level: number }[],
    queues: string[],
  ): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      if (!(await r.agents.staffExists(staffId))) throw notFound('no such staff member');
      await r.agents.ensure(staffId);
      await r.agents.setProfile(staffId, JSON.stringify(skills), JSON.stringify([...new Set(queues)]));
    });
  }

  async setSchedule(staffId: string, shifts: { start: number; end: number }[]): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      if (!(await r.agents.staffExists(staffId))) throw notFound('no such staff member');
      await r.agents.ensure(staffId);
      await r.agents.replaceShifts(staffId, shifts);
    });
  }

  shifts(staffId: string): { start: number; end: number }[] {
    return this.ctx.db
      .prepare<[string], { start: number; end: number }>(
        'SELECT starts_at AS start, ends_at AS end FROM shifts WHERE staff_id = ? ORDER BY starts_at',
      )
      .all(staffId);
  }

  /** On shift at `at`: a shift covers it, or the agent has no schedule at all (always on shift). */
  onShift(staffId: string, at = this.ctx.clock.now()): boolean {
    const any = this.ctx.db.prepare('SELECT 1 FROM shifts WHERE staff_id = ? LIMIT 1').get(staffId);
    if (!any) return true;
    return !!this.ctx.db
      .prepare('SELECT 1 FROM shifts WHERE staff_id = ? AND starts_at <= ? AND ends_at > ?')
      .get(staffId, at, at);
  }

  /** Has a shift starting later (for "callback only" options). */
  hasLaterShift(staffId: string, at = this.ctx.clock.now()): boolean {
    return !!this.ctx.db.prepare('SELECT 1 FROM shifts WHERE staff_id = ? AND ends_at > ?').get(staffId, at);
  }

  /** The queues an agent serves (committed data; none for an agent not seen yet). */
  async queuesOf(staffId: string): Promise<string[]> {
    const row = await this.ctx.data.read.agents.get(staffId);
    return row ? [...this.info(row).queues] : [];
  }

  info(row: AgentRow): AgentInfo {
    const skills = new Map<string, number>(
      (JSON.parse(row.skills) as { skill: string; level: number }[]).map((s) => [s.skill, s.level]),
    );
    return {
      staffId: row.staff_id,
      skills,
      queues: new Set(JSON.parse(row.queues) as string[]),
      idleSince: row.idle_since ?? row.since,
    };
  }

  baseView(row: AgentRow): Omit<AgentView, 'offer' | 'currentRequestId'> {
    const staff = this.ctx.db
      .prepare<[string], { display_name: string }>('SELECT display_name FROM staff WHERE id = ?')
      .get(row.staff_id)!;
    return {
      staffId: row.staff_id,
      displayName: staff.display_name,
      presence: row.presence,
      since: iso(row.since),
      reasonCode: row.reason_code,
      skills: JSON.parse(row.skills),
      queues: JSON.parse(row.queues),
      onShift: this.onShift(row.staff_id),
    };
  }
}
