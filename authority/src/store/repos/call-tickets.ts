import type { Insertable, Selectable } from 'kysely';
import type { CallTicketsTable } from '../schema.ts';
import { Repo } from './base.ts';

/** A call ticket as stored: issued to the holder of a request under one fence, proven once. */
export type CallTicketRow = Selectable<CallTicketsTable>;

/**
 * Tables: call_tickets. A ticket is proven once, and its call ended once (end()),: prove() is one guarded UPDATE, so of any
 * number of racing callers exactly one records the proof (PostgreSQL: they queue on the
 * row lock and re-check `proven_at IS NULL` against the committed row).
 */
export class CallTicketsRepo extends Repo {
  get(jti: string): Promise<CallTicketRow | undefined> {
    return this.q.selectFrom('call_tickets').selectAll().where('jti', '=', jti).executeTakeFirst();
  }

  async insert(row: Omit<Insertable<CallTicketsTable>, 'proven_at' | 'ended_at'>): Promise<void> {
    await this.q
      .insertInto('call_tickets')
      .values({ ...row, proven_at: null, ended_at: null })
      .execute();
  }

  /**
   * Record that the proven call of ticket `jti` ended at `at` (one guarded UPDATE: of racing
   * callers one records it): the ticket for that caller, undefined when it is unknown, never
   * proven or ended already.
   */
  async end(jti: string, at: number): Promise<CallTicketRow | undefined> {
    return await this.q
      .updateTable('call_tickets')
      .set({ ended_at: at })
      .where('jti', '=', jti)
      .where('proven_at', 'is not', null)
      .where('ended_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Record that the call of ticket `jti` ended at `at` as the SIP server saw it (the dialog
   * ended), proven or not yet: a proof that comes afterwards then never makes it count as
   * live. Undefined when it is unknown or ended already (one guarded UPDATE).
   */
  async endSeen(jti: string, at: number): Promise<CallTicketRow | undefined> {
    return await this.q
      .updateTable('call_tickets')
      .set({ ended_at: at })
      .where('jti', '=', jti)
      .where('ended_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
  }

  /**
   * Record the proof of ticket `jti` at `at` (of `deviceId`'s ticket, when given): the
   * ticket for the one caller that did, undefined when it is unknown or proven already.
   */
  async prove(jti: string, at: number, deviceId?: string): Promise<CallTicketRow | undefined> {
    let u = this.q
      .updateTable('call_tickets')
      .set({ proven_at: at })
      .where('jti', '=', jti)
      .where('proven_at', 'is', null);
    if (deviceId !== undefined) u = u.where('device_id', '=', deviceId);
    return await u.returningAll().executeTakeFirst();
  }

  /** When the voice of `agentId` under `fence` was last proven on this request (undefined: never). */
  async provenAt(requestId: string, agentId: string, fence: number): Promise<number | undefined> {
    const r = await this.q
      .selectFrom('call_tickets')
      .select('proven_at')
      .where('request_id', '=', requestId)
      .where('agent_id', '=', agentId)
      .where('fence', '=', fence)
      .where('proven_at', 'is not', null)
      .orderBy('proven_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    return r?.proven_at ?? undefined;
  }
}
