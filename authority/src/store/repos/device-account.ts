import type { Selectable } from 'kysely';
import type { ReceiptsTable, RequestsTable } from '../schema.ts';
import { inSlices, Repo } from './base.ts';

/** A request as the customer's history shows it. */
export type HistoryRow = Pick<
  Selectable<RequestsTable>,
  'id' | 'option_label' | 'enqueued_at' | 'ended_at' | 'state' | 'agent_id'
>;

/** One holder of a request, in fence order. */
export interface HolderRow {
  request_id: string;
  fence: number;
  staff_id: string;
  display_name: string;
}

/**
 * The customer's own account seen from one of their devices: the history of their
 * requests (requests, custody, staff), one receipt, and removing the device (devices,
 * device_tokens, device_push, service_sessions, requests). Every query is bounded by the
 * customer or the device it is asked for.
 */
export class DeviceAccountRepo extends Repo {
  /** The customer's requests, newest first (by enqueued_at, then id), after the cursor's row. */
  history(customerId: string, limit: number, before?: { at: number; id: string }): Promise<HistoryRow[]> {
    let q = this.q
      .selectFrom('requests')
      .select(['id', 'option_label', 'enqueued_at', 'ended_at', 'state', 'agent_id'])
      .where('customer_id', '=', customerId);
    if (before)
      q = q.where((eb) =>
        eb.or([
          eb('enqueued_at', '<', before.at),
          eb.and([eb('enqueued_at', '=', before.at), eb('id', '<', before.id)]),
        ]),
      );
    return q.orderBy('enqueued_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** Everyone who held these requests (custody), by request then fence. */
  holders(requestIds: readonly string[]): Promise<HolderRow[]> {
    return inSlices(requestIds, (ids) =>
      this.q
        .selectFrom('custody as c')
        .innerJoin('staff as s', 's.id', 'c.staff_id')
        .select(['c.request_id', 'c.fence', 'c.staff_id', 's.display_name'])
        .where('c.request_id', 'in', ids)
        .orderBy('c.request_id')
        .orderBy('c.fence')
        .execute(),
    );
  }

  /** One receipt, only if it is the customer's. */
  receipt(customerId: string, receiptId: string): Promise<Selectable<ReceiptsTable> | undefined> {
    return this.q
      .selectFrom('receipts')
      .selectAll()
      .where('id', '=', receiptId)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
  }

  /** Mark the device revoked; false when it already was (or is unknown). */
  async revoke(deviceId: string, at: number): Promise<boolean> {
    const r = await this.q
      .updateTable('devices')
      .set({ revoked_at: at })
      .where('id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Revoke the device's live tokens: how many. */
  async revokeTokens(deviceId: string, at: number): Promise<number> {
    const r = await this.q
      .updateTable('device_tokens')
      .set({ revoked_at: at })
      .where('device_id', '=', deviceId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Forget the device's push channel: whether it had one. */
  async deletePush(deviceId: string): Promise<boolean> {
    const r = await this.q.deleteFrom('device_push').where('device_id', '=', deviceId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** The device's service sessions still open. */
  async openSessionIds(deviceId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('service_sessions')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('ended_at', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** The device's requests not ended yet. */
  async openRequestIds(deviceId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('requests')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('state', 'not in', ['completed', 'abandoned'])
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }
}
