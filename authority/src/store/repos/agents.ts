import type { Selectable, UpdateResult } from 'kysely';
import type { AgentsTable } from '../schema.ts';
import { prepared, preparedByShape, type Prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';

/** An agent as stored (skills and queues are JSON text). */
export type AgentRow = Selectable<AgentsTable>;
export type Presence = AgentRow['presence'];

// Compiled once (prepared.ts): the queries every pipeline cycle runs.
const agentById = prepared((q, p: { staffId: string }) =>
  q.selectFrom('agents').selectAll().where('staff_id', '=', p.staffId),
);
const agentForUpdate = prepared((q, p: { staffId: string }) =>
  q.selectFrom('agents').selectAll().where('staff_id', '=', p.staffId).forUpdate(),
);
const holding = (locked: boolean) =>
  prepared((q, p: { staffId: string }) => {
    const query = q
      .selectFrom('agents')
      .selectAll('agents')
      .select((eb) =>
        eb
          .exists(
            eb
              .selectFrom('requests')
              .select('requests.id')
              .where('requests.agent_id', '=', p.staffId)
              .where('requests.state', '=', 'assigned'),
          )
          .as('holds_assigned'),
      )
      .where('staff_id', '=', p.staffId);
    return locked ? query.forUpdate('agents') : query;
  });
const agentHolding = holding(false);
const agentHoldingLocked = holding(true);

const touchAgent = prepared((q, p: { staffId: string; at: number }) =>
  q.updateTable('agents').set({ last_seen_at: p.at }).where('staff_id', '=', p.staffId),
);

interface PresenceValues extends Record<string, unknown> {
  staffId: string;
  presence: Presence;
  setBy: string | null;
  reasonCode: string | null;
  wrapUpUntil: number | null;
  at: number;
}
/** setPresence's UPDATE by shape: with the sign of life or not, to 'available' or not. */
const presenceShape = preparedByShape<PresenceValues, UpdateResult>();
function presenceUpdate(seen: boolean, available: boolean): Prepared<PresenceValues, UpdateResult> {
  return presenceShape(`${seen} ${available}`, (q, p) =>
    q
      .updateTable('agents')
      .set((eb) => ({
        ...(seen ? { last_seen_at: p.at } : {}),
        presence: p.presence,
        presence_set_by: p.setBy,
        since: eb.case().when('presence', '=', p.presence).then(eb.ref('since')).else(eb.val(p.at)).end(),
        reason_code: p.reasonCode,
        wrap_up_until: p.wrapUpUntil,
        idle_since: available
          ? eb.fn.coalesce(
              eb.case().when('presence', '=', 'available').then(eb.ref('idle_since')).end(),
              eb.val(p.at),
            )
          : null,
      }))
      .where('staff_id', '=', p.staffId),
  );
}

/** Tables: agents, shifts. */
export class AgentsRepo extends Repo {
  get(staffId: string): Promise<AgentRow | undefined> {
    return agentById.first(this.c, { staffId });
  }

  /**
   * The agent's row for a decision this unit takes on it: on PostgreSQL locked (`FOR
   * UPDATE`) until the unit ends, so a concurrent unit's change is committed and seen
   * first (READ COMMITTED alone would read the row as it was before that change and undo
   * it). SQLite's single writer runs units one by one: a plain read.
   */
  getLocked(staffId: string): Promise<AgentRow | undefined> {
    return (this.locksRows ? agentForUpdate : agentById).first(this.c, {
      staffId,
    });
  }

  /**
   * The agent's row and whether the agent holds an assigned request (RequestsRepo.assignedTo),
   * in one query; inside a unit on PostgreSQL the agent's row is locked, as getLocked().
   */
  async getHolding(staffId: string): Promise<{ row: AgentRow; holds: boolean } | undefined> {
    const r = await (this.locksRows ? agentHoldingLocked : agentHolding).first(this.c, { staffId });
    if (!r) return undefined;
    const { holds_assigned, ...row } = r;
    return { row, holds: Boolean(holds_assigned) };
  }

  /**
   * The agent's row, locked for this unit to offer it work, as it stands now, when it holds
   * no offer; undefined when another unit holds it now or it holds an offer (PostgreSQL:
   * `FOR UPDATE SKIP LOCKED`, never waited for: a dispatch of other queues on any node is
   * offering it something; the caller passes it over and tries again later). `asRead`: the
   * row as this unit read it, holding no offer then, unchanged by this unit since. SQLite:
   * that row, read again for nothing (its one writer runs units one by one: nobody else
   * can have changed it since this unit read it).
   */
  async lockForOffer(asRead: AgentRow): Promise<AgentRow | undefined> {
    if (this.c.engine !== 'postgres') return asRead;
    const row = await this.q
      .selectFrom('agents')
      .selectAll()
      .where('staff_id', '=', asRead.staff_id)
      .forUpdate()
      .skipLocked()
      .executeTakeFirst();
    if (!row) return undefined;
    const offer = await this.q
      .selectFrom('requests')
      .select('id')
      .where('agent_id', '=', asRead.staff_id)
      .where('state', '=', 'offered')
      .executeTakeFirst();
    return offer ? undefined : row;
  }

  /** The agent row of a staff member, made (offline since `at`) when there is none yet. */
  async ensure(staffId: string, at = this.now()): Promise<AgentRow> {
    await this.q
      .insertInto('agents')
      .values({ staff_id: staffId, since: at })
      .onConflict((oc) => oc.column('staff_id').doNothing())
      .execute();
    return (await this.get(staffId))!;
  }

  /** Agents of staff members who are not disabled, by display name. */
  async active(): Promise<AgentRow[]> {
    return await this.q
      .selectFrom('agents as a')
      .innerJoin('staff as s', 's.id', 'a.staff_id')
      .selectAll('a')
      .where('s.disabled_at', 'is', null)
      .orderBy('s.display_name')
      .orderBy('a.staff_id')
      .execute();
  }

  /** The agent rows of these staff members (those without one are absent), by staff id. */
  many(staffIds: readonly string[]): Promise<AgentRow[]> {
    return inSlices(staffIds, (part) =>
      this.q.selectFrom('agents').selectAll().where('staff_id', 'in', part).orderBy('staff_id').execute(),
    );
  }

  /** Whether a staff member of this id exists (enabled or not). */
  async staffExists(staffId: string): Promise<boolean> {
    return (
      (await this.q.selectFrom('staff').select('id').where('id', '=', staffId).executeTakeFirst()) !==
      undefined
    );
  }

  /**
   * Set the presence at `at`: `since` moves only when the presence changes; idle_since
   * is kept while the agent stays available and starts at `at` when they become so.
   */
  async setPresence(
    staffId: string,
    presence: Presence,
    reasonCode: string | null,
    wrapUpUntil: number | null,
    at = this.now(),
    setBy: string | null = null,
    /** the agent acted: seen now too (touch() in the same statement) */
    seen = false,
  ): Promise<void> {
    await presenceUpdate(seen, presence === 'available').affected(this.c, {
      staffId,
      presence,
      setBy,
      reasonCode,
      wrapUpUntil,
      at,
    });
  }

  /**
   * Remember the presence to return to after a request taken over: the first one stays
   * (a second take-over before the first ended keeps it). Stored, so any node ends it.
   */
  async rememberReturn(
    staffId: string,
    presence: 'available' | 'offline' | 'break',
    reasonCode: string | null,
  ) {
    await this.q
      .updateTable('agents')
      .set({ return_presence: presence, return_reason_code: reasonCode })
      .where('staff_id', '=', staffId)
      .where('return_presence', 'is', null)
      .execute();
  }

  /** Forget the presence to return to (used, or the person chose one themselves). */
  async forgetReturn(staffId: string): Promise<void> {
    await this.q
      .updateTable('agents')
      .set({ return_presence: null, return_reason_code: null })
      .where('staff_id', '=', staffId)
      .where('return_presence', 'is not', null)
      .execute();
  }

  /** The last sign of life of an agent. */
  async touch(staffId: string, at = this.now()): Promise<void> {
    await touchAgent.affected(this.c, { staffId, at });
  }

  async setProfile(
    staffId: string,
    skills: string,
    queues: string,
    chatCapacity: number | null,
  ): Promise<void> {
    await this.q
      .updateTable('agents')
      .set({ skills, queues, chat_capacity: chatCapacity })
      .where('staff_id', '=', staffId)
      .execute();
  }

  /** Agents in a wrap-up that ended at `now`. */
  async wrapUpsEnded(now: number): Promise<string[]> {
    const rows = await this.q
      .selectFrom('agents')
      .select('staff_id')
      .where('presence', '=', 'wrap_up')
      .where('wrap_up_until', '<=', now)
      .orderBy('staff_id')
      .execute();
    return rows.map((r) => r.staff_id);
  }

  /** Agents neither offline nor busy not heard from since `since`. */
  async silentSince(since: number): Promise<string[]> {
    const rows = await this.q
      .selectFrom('agents')
      .select('staff_id')
      .where('presence', 'not in', ['offline', 'busy'])
      .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', since)]))
      .orderBy('staff_id')
      .execute();
    return rows.map((r) => r.staff_id);
  }

  // ---- shifts -----------------------------------------------------------------

  /** Replace an agent's schedule (shifts that end before they start are left out). */
  async replaceShifts(staffId: string, shifts: readonly { start: number; end: number }[]): Promise<void> {
    await this.q.deleteFrom('shifts').where('staff_id', '=', staffId).execute();
    const rows = new Map<number, { staff_id: string; starts_at: number; ends_at: number }>();
    for (const s of shifts)
      if (s.end > s.start) rows.set(s.start, { staff_id: staffId, starts_at: s.start, ends_at: s.end });
    if (rows.size)
      await this.q
        .insertInto('shifts')
        .values([...rows.values()])
        .execute();
  }

  async shifts(staffId: string): Promise<{ start: number; end: number }[]> {
    return await this.q
      .selectFrom('shifts')
      .select(['starts_at as start', 'ends_at as end'])
      .where('staff_id', '=', staffId)
      .orderBy('starts_at')
      .execute();
  }

  /**
   * Who is on shift at `at`: an agent with no schedule at all is always on shift; one
   * with a schedule when a shift covers `at`. Answers for every staff id given.
   */
  async onShift(staffIds: readonly string[], at = this.now()): Promise<Map<string, boolean>> {
    const out = new Map(staffIds.map((id) => [id, true]));
    if (!staffIds.length) return out;
    const rows = await this.q
      .selectFrom('shifts')
      .select(['staff_id', 'starts_at', 'ends_at'])
      .where('staff_id', 'in', staffIds)
      .execute();
    const scheduled = new Set(rows.map((r) => r.staff_id));
    const covered = new Set(rows.filter((r) => r.starts_at <= at && r.ends_at > at).map((r) => r.staff_id));
    for (const id of scheduled) out.set(id, covered.has(id));
    return out;
  }
}
