import { Repo } from './base.ts';
import { OPEN_STATES } from './commands.ts';

/** What the deadlines of rows depend on besides the rows (configuration). */
export interface DeadlineTerms {
  /** a live session with no activity for this long is past its idle deadline */
  sessionIdleMs: number;
  /** an agent neither offline nor busy, not heard from for this long, goes offline */
  agentSilenceMs: number;
}

/**
 * Reads only, over the aggregates whose rows carry a deadline that an expiry sweep acts
 * on: open offers and scheduled callbacks (requests), wrap-ups and silent agents (agents),
 * open device commands, offered consults (transfers), live service sessions (idle and
 * absolute). `next` is what a node arms its deadline timer at (events/deadline-timer.ts):
 * one statement of MIN() subqueries, each served by an index (or a small table).
 */
export class DeadlinesRepo extends Repo {
  /**
   * The nearest deadline at or after `after` (ms), or null when nothing stored expires
   * then. A deadline before `after` is not returned: the sweep that started at `after`
   * has seen it (a row it left alone, such as an idle session a request holds, does not
   * wake the timer again).
   */
  async next(after: number, t: DeadlineTerms): Promise<number | null> {
    const idleAfter = after - t.sessionIdleMs;
    const silentAfter = after - t.agentSilenceMs;
    const row = await this.q
      .selectNoFrom((eb) => [
        eb
          .selectFrom('requests')
          .select((e) => e.fn.min('offer_expires_at').as('m'))
          .where('state', '=', 'offered')
          .where('offer_expires_at', '>=', after)
          .as('offer'),
        eb
          .selectFrom('requests')
          .select((e) => e.fn.min('slot_start').as('m'))
          .where('state', '=', 'scheduled')
          .where('slot_start', '>=', after)
          .as('callback'),
        eb
          .selectFrom('agents')
          .select((e) => e.fn.min('wrap_up_until').as('m'))
          .where('presence', '=', 'wrap_up')
          .where('wrap_up_until', '>=', after)
          .as('wrap_up'),
        eb
          .selectFrom('agents')
          .select((e) => e.fn.min('last_seen_at').as('m'))
          .where('presence', 'not in', ['offline', 'busy'])
          .where('last_seen_at', '>=', silentAfter)
          .as('seen'),
        eb
          .selectFrom('device_commands')
          .select((e) => e.fn.min('expires_at').as('m'))
          .where('state', 'in', OPEN_STATES)
          .where('expires_at', '>=', after)
          .as('command'),
        eb
          .selectFrom('transfers')
          .select((e) => e.fn.min('expires_at').as('m'))
          .where('state', '=', 'offered')
          .where('expires_at', '>=', after)
          .as('consult'),
        eb
          .selectFrom('service_sessions')
          .select((e) => e.fn.min('absolute_expires_at').as('m'))
          .where('ended_at', 'is', null)
          .where('absolute_expires_at', '>=', after)
          .as('session_end'),
        eb
          .selectFrom('service_sessions')
          .select((e) => e.fn.min('last_activity_at').as('m'))
          .where('ended_at', 'is', null)
          .where('last_activity_at', '>=', idleAfter)
          .as('session_active'),
      ])
      .executeTakeFirstOrThrow();
    const at = (v: unknown, plus = 0) => (v === null || v === undefined ? Infinity : Number(v) + plus);
    const next = Math.min(
      at(row.offer),
      at(row.callback),
      at(row.wrap_up),
      at(row.seen, t.agentSilenceMs),
      at(row.command),
      at(row.consult),
      at(row.session_end),
      at(row.session_active, t.sessionIdleMs),
    );
    return Number.isFinite(next) ? next : null;
  }
}
