import { sql, type Insertable, type Selectable } from 'kysely';
import type { PhoneCallbacksTable, PhoneDialTicketsTable } from '../schema.ts';
import { Repo } from './base.ts';

export type PhoneCallbackRow = Selectable<PhoneCallbacksTable>;
export type PhoneDialTicketRow = Selectable<PhoneDialTicketsTable>;

/**
 * Tables: phone_callbacks, phone_dial_tickets (callbacks to a phone number through the
 * trunk, issue 14 item 5). One callback row per request, with its latest call and how that
 * ended (guarded: once, and only the latest call); a dial ticket lets one call out
 * (`use` is guarded: unused, or used by that same Call-ID, not expired).
 */
export class PhoneCallbacksRepo extends Repo {
  async insert(row: Insertable<PhoneCallbacksTable>): Promise<void> {
    await this.q.insertInto('phone_callbacks').values(row).execute();
  }

  byRequest(requestId: string): Promise<PhoneCallbackRow | undefined> {
    return this.q
      .selectFrom('phone_callbacks')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
  }

  async ofRequests(requestIds: readonly string[]): Promise<Map<string, PhoneCallbackRow>> {
    if (!requestIds.length) return new Map();
    const rows = await this.q
      .selectFrom('phone_callbacks')
      .selectAll()
      .where('request_id', 'in', [...requestIds])
      .execute();
    return new Map(rows.map((r) => [r.request_id, r]));
  }

  /** The SIP server let a call out to the callback's number: the latest call, not ended. */
  async placed(requestId: string, sipCallId: string, at: number): Promise<void> {
    await this.q
      .updateTable('phone_callbacks')
      .set({
        placed_at: at,
        placed_count: sql<number>`placed_count + 1`,
        sip_call_id: sipCallId,
        ended_at: null,
        end_reason: null,
        end_status: null,
      })
      .where('request_id', '=', requestId)
      .execute();
  }

  /** The callback that placed the call `sipCallId` (its latest or an earlier one: `sip_call_id` says). */
  byCallId(sipCallId: string): Promise<PhoneCallbackRow | undefined> {
    return this.q
      .selectFrom('phone_callbacks')
      .selectAll()
      .where('sip_call_id', '=', sipCallId)
      .executeTakeFirst();
  }

  /** The latest call out ended, once: false when it had ended already (or is no longer the latest). */
  async ended(
    requestId: string,
    sipCallId: string,
    end: {
      reason: 'customer_hung_up' | 'agent_hung_up' | 'cancelled' | 'not_answered';
      status: number | null;
    },
    at: number,
  ): Promise<boolean> {
    const r = await this.q
      .updateTable('phone_callbacks')
      .set({ ended_at: at, end_reason: end.reason, end_status: end.status })
      .where('request_id', '=', requestId)
      .where('sip_call_id', '=', sipCallId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async insertTicket(row: Insertable<PhoneDialTicketsTable>): Promise<void> {
    await this.q.insertInto('phone_dial_tickets').values(row).execute();
  }

  ticket(jti: string): Promise<PhoneDialTicketRow | undefined> {
    return this.q.selectFrom('phone_dial_tickets').selectAll().where('jti', '=', jti).executeTakeFirst();
  }

  /**
   * The ticket lets this call out: 'first' when it was unused, 'again' when this same
   * Call-ID used it already (a retried check), null when another call used it or it expired.
   */
  async useTicket(jti: string, sipCallId: string, now: number): Promise<'first' | 'again' | null> {
    const r = await this.q
      .updateTable('phone_dial_tickets')
      .set({ used_at: now, sip_call_id: sipCallId })
      .where('jti', '=', jti)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (r.numUpdatedRows > 0n) return 'first';
    const row = await this.ticket(jti);
    return row && row.sip_call_id === sipCallId ? 'again' : null;
  }
}
