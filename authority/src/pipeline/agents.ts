import type { AgentStats, AgentView, Presence } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { notFound } from '../errors.ts';
import type { AgentRow } from '../store/repos/agents.ts';
import type { ShiftState } from '../store/repos/custody.ts';
import type { Repos } from '../store/repos/index.ts';
import { NOTHING_HELD } from '../store/repos/requests.ts';
import type { Staffing } from './capacity.ts';

/** An agent's row as the store keeps it (the repository's type, one copy). */
export type { AgentRow };

export interface AgentInfo {
  staffId: string;
  skills: Map<string, number>;
  queues: Set<string>;
  idleSince: number;
}

/**
 * Agents: presence, skills, queue memberships, shifts, last contact. Changes run in the
 * caller's unit of work (`...In(r, ...)`) or a unit of their own; reads are committed data.
 */
export class Agents {
  constructor(private readonly ctx: Ctx) {}

  /**
   * Remember the presence to return to after holding a request taken over (the first one
   * wins): finishing or handing it on must not make them Available unasked. Stored on the
   * agent's row (`return_presence`), so whichever node ends the request honours it.
   */
  async rememberReturnIn(r: Repos, staffId: string): Promise<void> {
    const row = await r.agents.ensure(staffId);
    if (row.return_presence !== null) return;
    const own = row.presence === 'offline' || row.presence === 'break' ? row.presence : null;
    await r.agents.rememberReturn(staffId, own ?? 'available', own ? row.reason_code : null);
  }

  /**
   * A wrap-up ends (recorded, or its time is up by `dueBy`): the break chosen during it
   * (kept as the wrap-up's reason code) starts now, else the agent is available (or back to
   * a remembered presence, see resolve()). False, and nothing changed, when the agent is not
   * in such a wrap-up any more: another pass (node, timer) or the agent ended it first. The
   * row is read locked: a pass that found the wrap-up ended before another committed its end
   * would otherwise read the break that end started and make the agent available.
   */
  async endWrapUpIn(r: Repos, staffId: string, dueBy?: number): Promise<boolean> {
    const row = await r.agents.getLocked(staffId);
    if (row?.presence !== 'wrap_up') return false;
    if (dueBy !== undefined && (row.wrap_up_until === null || row.wrap_up_until > dueBy)) return false;
    const next = row.reason_code;
    // A break a supervisor chose as the next status still names that supervisor.
    if (next !== null)
      await this.setPresenceIn(r, staffId, 'break', { reasonCode: next, setBy: row.presence_set_by, row });
    else await this.setPresenceIn(r, staffId, 'available', { row });
    return true;
  }

  /**
   * "My stats" of a staff member since `since` (ms): requests they completed and the average
   * length of those holdings (accept, take-over or transfer to completion), in whole seconds.
   */
  async statsOf(staffId: string, since: number): Promise<AgentStats> {
    const { n, totalMs } = await this.ctx.data.read.custody.completedBy(staffId, since);
    return {
      since: iso(since),
      handled: n,
      averageHandleSeconds: n ? Math.round(totalMs / n / 1000) : null,
    };
  }

  /** The agent row (committed data), made when the staff member has none yet. */
  async ensure(staffId: string): Promise<AgentRow> {
    return (await this.get(staffId)) ?? (await this.ctx.data.tx((r) => r.agents.ensure(staffId)));
  }

  get(staffId: string): Promise<AgentRow | undefined> {
    return this.ctx.data.read.agents.get(staffId);
  }

  /** Agents of staff members who are not disabled, by display name. */
  all(): Promise<AgentRow[]> {
    return this.ctx.data.read.agents.active();
  }

  /**
   * Set the presence inside the caller's unit of work. `opts.reasonCode` given (even null)
   * means the person chose it themselves and forgets any remembered return; an automatic
   * "available" (end of a request or wrap-up, hand-on) becomes the remembered presence instead.
   */
  async setPresenceIn(
    r: Repos,
    staffId: string,
    presence: Presence,
    opts: {
      reasonCode?: string | null;
      wrapUpUntil?: number | null;
      setBy?: string | null;
      /** The agent's row as the caller read it in this unit, unchanged since (not read again). */
      row?: AgentRow | undefined;
      /** The agent acted: their last sighting is now too (agents.touch, in the same statement). */
      seen?: boolean;
    } = {},
  ): Promise<void> {
    const row = 'row' in opts ? opts.row : await r.agents.get(staffId);
    const back = row?.return_presence ?? null;
    let p = { presence, reasonCode: opts.reasonCode ?? null, wrapUpUntil: opts.wrapUpUntil ?? null };
    if (back !== null && ('reasonCode' in opts || presence === 'offline'))
      await r.agents.forgetReturn(staffId);
    else if (back !== null && presence === 'available') {
      await r.agents.forgetReturn(staffId);
      p = { presence: back, reasonCode: row!.return_reason_code, wrapUpUntil: null };
    }
    await r.agents.setPresence(
      staffId,
      p.presence,
      p.reasonCode,
      p.wrapUpUntil,
      this.ctx.clock.now(),
      opts.setBy ?? null,
      opts.seen ?? false,
    );
  }

  /**
   * Who can take work now, read inside the caller's unit of work (dispatch decides on it
   * there): every active agent, on shift or not, holding an offer or not.
   */
  async staffingIn(r: Repos, at = this.ctx.clock.now()): Promise<Staffing> {
    const rows = await r.agents.active();
    const shifts = await r.custody.shiftStateOf(
      rows.map((a) => a.staff_id),
      at,
    );
    const offered = await r.requests.offeredAgentIds();
    // A colleague in a consult (an open warm transfer to them) is offered nothing meanwhile.
    const consulted = await r.transfers.consultedStaff();
    const held = await r.requests.heldByAgent();
    return {
      at,
      agents: rows.map((row) => {
        const own = shifts.get(row.staff_id);
        return {
          row,
          info: this.info(row),
          onShift: onShift(own),
          later: servesLater(own),
          hasOffer: offered.has(row.staff_id) || consulted.has(row.staff_id),
          held: held.get(row.staff_id) ?? NOTHING_HELD,
        };
      }),
    };
  }

  /** A sign of life of the agent (a staff route, a socket), durable when this resolves. */
  async touch(staffId: string, at = this.ctx.clock.now(), known?: number | null): Promise<void> {
    // A write is a durable commit, and every HTTP call and socket heartbeat of a console is a
    // sign of life: one is kept per tenth of the agent timeout (3 s at the default 30 s), so
    // `last_seen_at` lags by at most that, far inside the timeout that reads it. Decided on the
    // stored value, so every node follows the same rule (`known`: as the caller read it with
    // the access token, in the same statement: StaffRepo.byIdInFamily).
    const last = known !== undefined ? known : ((await this.get(staffId))?.last_seen_at ?? null);
    if (last !== null && at >= last && at - last < this.ctx.config.agentTimeoutSeconds * 100) return;
    await this.ctx.data.statement((r) => r.agents.touch(staffId, at));
  }

  async setProfile(
    staffId: string,
    skills: { skill: string; level: number }[],
    queues: string[],
    chatCapacity: number | null = null,
  ): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      if (!(await r.agents.staffExists(staffId))) throw notFound('no such staff member');
      await r.agents.ensure(staffId);
      await r.agents.setProfile(
        staffId,
        JSON.stringify(skills),
        JSON.stringify([...new Set(queues)]),
        chatCapacity,
      );
    });
  }

  async setSchedule(staffId: string, shifts: { start: number; end: number }[]): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      if (!(await r.agents.staffExists(staffId))) throw notFound('no such staff member');
      await r.agents.ensure(staffId);
      await r.agents.replaceShifts(staffId, shifts);
    });
  }

  /** The agent rows of these staff members as committed (those without one are absent). */
  many(staffIds: readonly string[]): Promise<AgentRow[]> {
    return this.ctx.data.read.agents.many(staffIds);
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

  /** The view's own fields, given the agent's display name and whether they are on shift (see onShift). */
  baseView(
    row: AgentRow,
    names: ReadonlyMap<string, string>,
    onShift: boolean,
  ): Omit<AgentView, 'offer' | 'currentRequestId' | 'currentSessionId' | 'timeInStateSeconds'> {
    const by = row.presence_set_by;
    return {
      staffId: row.staff_id,
      displayName: names.get(row.staff_id) ?? row.staff_id,
      presence: row.presence,
      since: iso(row.since),
      setBy: by === null ? null : { staffId: by, displayName: names.get(by) ?? by },
      // In wrap-up the reason code is the break chosen to follow it (nextPresence).
      reasonCode: row.presence === 'wrap_up' ? null : row.reason_code,
      nextPresence:
        row.presence === 'wrap_up' && row.reason_code !== null
          ? { state: 'break', reasonCode: row.reason_code }
          : null,
      skills: JSON.parse(row.skills),
      queues: JSON.parse(row.queues),
      chatCapacity: row.chat_capacity,
      onShift,
    };
  }
}

/**
 * On shift at the instant `state` was read for (CustodyRepo.shiftStateOf): a shift covers
 * it, or the agent has no schedule at all (undefined: always on shift).
 */
export function onShift(state: ShiftState | undefined): boolean {
  return state === undefined || state.onShift;
}

/** Could serve later than that instant: a shift still to end, or no schedule at all. */
export function servesLater(state: ShiftState | undefined): boolean {
  return state === undefined || state.later;
}
