import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict } from '../errors.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { Agents } from './agents.ts';
import { Capacity } from './capacity.ts';
import { CALLBACK_BOOST, type Pipeline } from './pipeline.ts';
import type { RequestRow } from './requests.ts';

const SLOT_GRANULARITY_S = 900;
/** A slot must start at least this far ahead, so an agent can be reserved for it. */
const LEAD_MS = 5 * 60_000;
/**
 * A due callback (slot mode, back in the queue or offered) carries CALLBACK_BOOST once; a new
 * booking or keep-place gives it back, so moving a due callback never adds up boosts.
 */
const GIVE_BACK_BOOST = `priority = priority - CASE WHEN callback_mode = 'slot' AND state IN ('waiting','offered') THEN ${CALLBACK_BOOST} ELSE 0 END`;

export interface Slot {
  start: number;
  end: number;
  free: number;
}

/**
 * Callbacks. "Keep my place" (the default) leaves the request in the queue, optionally
 * offered only inside the customer's availability window. A booked slot reserves one
 * eligible agent's time: a slot exists where eligible agents' shifts cover it, and
 * its capacity is those agents minus the callbacks already booked over it.
 */
export class Callbacks {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    private readonly agents: Agents,
    private readonly sessions: ServiceSessions,
  ) {}

  slotSeconds(queueId: string): number {
    return Math.ceil(this.pipeline.capacity.handleSeconds(queueId) / SLOT_GRANULARITY_S) * SLOT_GRANULARITY_S;
  }

  /** Slots of a UTC day for this request's queue and skills. */
  slots(r: RequestRow, day: string): Slot[] {
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    if (Number.isNaN(dayStart)) throw badRequest('day must be YYYY-MM-DD');
    const slotMs = this.slotSeconds(r.queue_id) * 1000;
    const skills = JSON.parse(r.skills) as string[];
    const eligible = this.agents
      .all()
      .map((row) => this.agents.info(row))
      .filter((info) => Capacity.eligible(info, r.queue_id, skills));
    const queues = new Set(eligible.flatMap((a) => [...a.queues]));
    const shifts = eligible.map((a) => this.agents.shifts(a.staffId));
    const session = this.sessions.peek(r.session_id);
    const latestEnd = session?.absolute_expires_at ?? dayStart + 86_400_000;
    const earliest = this.ctx.clock.now() + LEAD_MS;
    const bookedStmt = this.ctx.db.prepare<unknown[], { n: number }>(
      `SELECT count(*) AS n FROM requests WHERE state = 'scheduled' AND callback_mode = 'slot' AND slot_start < ? AND slot_end > ? AND id != ?
       AND queue_id IN (${[...queues].map(() => '?').join(',') || "''"})`,
    );
    const out: Slot[] = [];
    for (let t = dayStart; t + slotMs <= dayStart + 86_400_000; t += slotMs) {
      if (t < earliest || t + slotMs > latestEnd) continue;
      const capacity = shifts.filter((list) => list.some((s) => s.start <= t && s.end >= t + slotMs)).length;
      if (capacity === 0) continue;
      const booked = bookedStmt.get(t + slotMs, t, r.id, ...queues)!.n;
      out.push({ start: t, end: t + slotMs, free: Math.max(0, capacity - booked) });
    }
    return out;
  }

  view(r: RequestRow, day: string) {
    return {
      day,
      slotSeconds: this.slotSeconds(r.queue_id),
      slots: this.slots(r, day).map((s) => ({ start: iso(s.start), end: iso(s.end), free: s.free })),
    };
  }

  /** Book or move a slot; the check and the booking are one transaction, so a slot is never overbooked. */
  async book(r: RequestRow, slotStart: number): Promise<void> {
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      throw conflict(`a ${r.state} request cannot be scheduled`);
    const day = new Date(slotStart).toISOString().slice(0, 10);
    const ok = this.ctx.db.transaction(() => {
      const slot = this.slots(r, day).find((s) => s.start === slotStart);
      if (!slot) return 'no such slot';
      if (slot.free < 1) return 'slot fully booked';
      const changed = this.ctx.db
        .prepare(
          `UPDATE requests SET ${GIVE_BACK_BOOST}, state = 'scheduled', callback_mode = 'slot', slot_start = ?, slot_end = ?, agent_id = NULL, offer_expires_at = NULL, window_from = NULL, window_until = NULL WHERE id = ? AND fence = ? AND state IN ('waiting','offered','scheduled')`,
        )
        .run(slot.start, slot.end, r.id, r.fence).changes;
      if (!changed) return 'request changed meanwhile';
      if (r.state === 'offered')
        this.ctx.db
          .prepare(
            "UPDATE leases SET ended_at = ?, end_reason = 'rescheduled' WHERE request_id = ? AND fence = ? AND kind = 'offer' AND ended_at IS NULL",
          )
          .run(this.ctx.clock.now(), r.id, r.fence);
      return null;
    })();
    if (ok) throw conflict(ok);
    this.ctx.audit.append({
      actor: `device:${r.device_id}`,
      action: 'callback.book',
      subject: `request:${r.id}`,
      outcome: 'success',
      data: { slotStart: iso(slotStart) },
    });
    this.pipeline.notify([r.id], r.state === 'offered' && r.agent_id ? [r.agent_id] : []);
  }

  /** Back to the queue, in the original place, optionally only within a window. */
  async keepPlace(r: RequestRow, window?: { from: number; until: number }): Promise<void> {
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      throw conflict(`a ${r.state} request cannot change its callback`);
    if (window && (window.until <= window.from || window.until <= this.ctx.clock.now()))
      throw badRequest('the availability window must end after it starts, in the future');
    const changed = this.ctx.db
      .prepare(
        `UPDATE requests SET ${GIVE_BACK_BOOST}, state = CASE WHEN state = 'scheduled' THEN 'waiting' ELSE state END, callback_mode = 'keep_place', slot_start = NULL, slot_end = NULL, window_from = ?, window_until = ? WHERE id = ? AND fence = ?`,
      )
      .run(window?.from ?? null, window?.until ?? null, r.id, r.fence).changes;
    if (!changed) throw conflict('request changed meanwhile');
    this.pipeline.notify([r.id]);
  }
}
