import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict } from '../errors.ts';
import type { Repos } from '../store/repos/index.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { Agents } from './agents.ts';
import { Capacity, type Staffing } from './capacity.ts';
import { CALLBACK_BOOST, type Pipeline } from './pipeline.ts';
import type { RequestRow } from './requests.ts';

const SLOT_GRANULARITY_S = 900;
/** A slot must start at least this far ahead, so an agent can be reserved for it. */
const LEAD_MS = 5 * 60_000;

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
 *
 * A due callback (slot mode, back in the queue or offered) carries CALLBACK_BOOST once; a
 * new booking or keep-place gives it back (repos/custody.ts), so moving a due callback
 * never adds up boosts.
 */
export class Callbacks {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    _agents: Agents,
    _sessions: ServiceSessions,
  ) {}

  slotSeconds(queueId: string, st?: Staffing): number {
    return (
      Math.ceil(this.pipeline.capacity.handleSeconds(queueId, st) / SLOT_GRANULARITY_S) * SLOT_GRANULARITY_S
    );
  }

  /** Slots of a UTC day for this request's queue and skills, read through `q` (a unit's repositories, or committed data). */
  private async slotsIn(q: Repos, r: RequestRow, day: string, st?: Staffing): Promise<Slot[]> {
    const dayStart = Date.parse(`${day}T00:00:00.000Z`);
    if (Number.isNaN(dayStart)) throw badRequest('day must be YYYY-MM-DD');
    st ??= await this.pipeline.capacity.staffingOf(q);
    const slotMs = this.slotSeconds(r.queue_id, st) * 1000;
    const skills = JSON.parse(r.skills) as string[];
    const eligible = st.agents.filter((a) => Capacity.eligible(a.info, r.queue_id, skills));
    // Their shifts of that day (an agent with no schedule offers no slot).
    const shifts = await q.custody.shiftsOf(
      eligible.map((a) => a.row.staff_id),
      { from: dayStart, to: dayStart + 86_400_000 },
    );
    const queues = [...new Set(eligible.flatMap((a) => [...a.info.queues]))];
    const latestEnd = (await q.custody.sessionExpiry(r.session_id)) ?? dayStart + 86_400_000;
    const earliest = this.ctx.clock.now() + LEAD_MS;
    const out: Slot[] = [];
    for (let t = dayStart; t + slotMs <= dayStart + 86_400_000; t += slotMs) {
      if (t < earliest || t + slotMs > latestEnd) continue;
      const capacity = eligible.filter((a) =>
        shifts.get(a.row.staff_id)!.some((s) => s.start <= t && s.end >= t + slotMs),
      ).length;
      if (capacity === 0) continue;
      const booked = await q.custody.bookedOver(queues, t, t + slotMs, r.id);
      out.push({ start: t, end: t + slotMs, free: Math.max(0, capacity - booked) });
    }
    return out;
  }

  /** Slots of a UTC day for this request's queue and skills (committed data). */
  async slots(r: RequestRow, day: string): Promise<Slot[]> {
    return await this.slotsIn(this.ctx.data.read, r, day);
  }

  async view(r: RequestRow, day: string) {
    const st = await this.pipeline.capacity.staffingOf();
    return {
      day,
      slotSeconds: this.slotSeconds(r.queue_id, st),
      slots: (await this.slotsIn(this.ctx.data.read, r, day, st)).map((s) => ({
        start: iso(s.start),
        end: iso(s.end),
        free: s.free,
      })),
    };
  }

  /** Book or move a slot; the check, the booking and its audit row are one unit of work, so a slot is never overbooked. */
  async book(r: RequestRow, slotStart: number): Promise<void> {
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      throw conflict(`a ${r.state} request cannot be scheduled`);
    const day = new Date(slotStart).toISOString().slice(0, 10);
    const refused = await this.ctx.data.tx(async (q) => {
      const cur = await q.custody.request(r.id);
      if (!cur || cur.fence !== r.fence || !['waiting', 'offered', 'scheduled'].includes(cur.state))
        return 'request changed meanwhile';
      const slot = (await this.slotsIn(q, r, day)).find((s) => s.start === slotStart);
      if (!slot) return 'no such slot';
      if (slot.free < 1) return 'slot fully booked';
      if (!(await q.custody.bookSlot(r.id, cur.state, cur.fence, slot, CALLBACK_BOOST)))
        return 'request changed meanwhile';
      await q.audit.append({
        actor: `device:${r.device_id}`,
        action: 'callback.book',
        subject: `request:${r.id}`,
        outcome: 'success',
        data: { slotStart: iso(slotStart) },
      });
      return null;
    });
    if (refused) throw conflict(refused);
    await this.pipeline.announce([r.id], r.state === 'offered' && r.agent_id ? [r.agent_id] : []);
  }

  /** Back to the queue, in the original place, optionally only within a window. */
  async keepPlace(r: RequestRow, window?: { from: number; until: number }): Promise<void> {
    if (r.state === 'assigned' || r.state === 'completed' || r.state === 'abandoned')
      throw conflict(`a ${r.state} request cannot change its callback`);
    if (window && (window.until <= window.from || window.until <= this.ctx.clock.now()))
      throw badRequest('the availability window must end after it starts, in the future');
    const changed = await this.ctx.data.tx(async (q) => {
      const cur = await q.custody.request(r.id);
      if (!cur || cur.fence !== r.fence || !['waiting', 'offered', 'scheduled'].includes(cur.state))
        return false;
      return await q.custody.keepPlace(r.id, cur.state, cur.fence, window ?? null, CALLBACK_BOOST);
    });
    if (!changed) throw conflict('request changed meanwhile');
    await this.pipeline.announce([r.id]);
  }
}
