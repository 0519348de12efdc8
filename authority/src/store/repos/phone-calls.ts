import type { Insertable, Selectable } from 'kysely';
import type { PhoneCallsTable, VerificationLinksTable } from '../schema.ts';
import { Repo } from './base.ts';

export type PhoneCallRow = Selectable<PhoneCallsTable>;
export type PhoneCallWithCaller = PhoneCallRow & { unknown_caller: boolean };

/**
 * Table: phone_calls (calls from the phone network, issue 14). One row per request a
 * trunk call became; the SIP Call-ID is unique, so a retried arrival finds its request
 * instead of queueing the caller twice. A call ends once (guarded by ended_at IS NULL).
 */
export class PhoneCallsRepo extends Repo {
  insert(row: Insertable<PhoneCallsTable>): Promise<PhoneCallRow> {
    return this.q.insertInto('phone_calls').values(row).returningAll().executeTakeFirstOrThrow();
  }

  byCallId(sipCallId: string): Promise<PhoneCallRow | undefined> {
    return this.q
      .selectFrom('phone_calls')
      .selectAll()
      .where('sip_call_id', '=', sipCallId)
      .executeTakeFirst();
  }

  byRequest(requestId: string): Promise<PhoneCallRow | undefined> {
    return this.q
      .selectFrom('phone_calls')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
  }

  /**
   * The phone calls of these requests (those that came from the phone network), by request
   * id, each with whether its caller is still unknown (the request's customer is the
   * call's placeholder, repos/customers.ts `insertUnknownCaller`).
   */
  async ofRequests(requestIds: readonly string[]): Promise<Map<string, PhoneCallWithCaller>> {
    if (!requestIds.length) return new Map();
    const rows = await this.q
      .selectFrom('phone_calls')
      .innerJoin('requests', 'requests.id', 'phone_calls.request_id')
      .innerJoin('customers', 'customers.id', 'requests.customer_id')
      .selectAll('phone_calls')
      .select('customers.kind')
      .where('phone_calls.request_id', 'in', [...requestIds])
      .execute();
    return new Map(
      rows.map(({ kind, ...r }) => [r.request_id, { ...r, unknown_caller: kind === 'unknown_caller' }]),
    );
  }

  /** The agent identified the unknown caller: who, when, and what the agent now reads. */
  async identified(requestId: string, staffId: string, recognition: string, at: number): Promise<void> {
    await this.q
      .updateTable('phone_calls')
      .set({ identified_by: staffId, identified_at: at, recognition })
      .where('request_id', '=', requestId)
      .execute();
  }

  /** The call ends (the caller hung up, or it was delivered and is over): false when it had ended already. */
  async end(requestId: string, reason: string, at: number): Promise<boolean> {
    const r = await this.q
      .updateTable('phone_calls')
      .set({ ended_at: at, end_reason: reason })
      .where('request_id', '=', requestId)
      .where('ended_at', 'is', null)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}

export type VerificationLinkRow = Selectable<VerificationLinksTable>;

/**
 * Table: verification_links (issue 14 item 3). A link is used once: `use` is a guarded
 * update (used_at IS NULL, not expired), so two taps at once bind one device.
 */
export class VerificationLinksRepo extends Repo {
  insert(row: Insertable<VerificationLinksTable>): Promise<void> {
    return this.q
      .insertInto('verification_links')
      .values(row)
      .execute()
      .then(() => undefined);
  }

  /** When the latest link of each of these requests was issued, by request id (requests without one absent). */
  async latestOf(requestIds: readonly string[]): Promise<Map<string, number>> {
    if (!requestIds.length) return new Map();
    const rows = await this.q
      .selectFrom('verification_links')
      .select(['request_id', 'created_at'])
      .where('request_id', 'in', [...requestIds])
      .execute();
    const latest = new Map<string, number>();
    for (const r of rows)
      latest.set(r.request_id, Math.max(latest.get(r.request_id) ?? 0, Number(r.created_at)));
    return latest;
  }

  byHash(tokenHash: string): Promise<VerificationLinkRow | undefined> {
    return this.q
      .selectFrom('verification_links')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  async use(tokenHash: string, deviceId: string, now: number): Promise<boolean> {
    const r = await this.q
      .updateTable('verification_links')
      .set({ used_at: now, used_by_device: deviceId })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
