import { sql, type Insertable, type Selectable } from 'kysely';
import type { LeasesTable, WrapUpsTable } from '../schema.ts';
import { Repo } from './base.ts';

/** A wrap-up as stored (disposition is the JSON path of codes). */
export type WrapUpRow = Selectable<WrapUpsTable>;

/** What the customer panel shows besides the request (read-only, across aggregates). */
export interface PanelFacts {
  customer: { id: string; display_name: string; attributes: string; account: string } | undefined;
  device: { id: string; label: string | null; enrolled_at: number } | undefined;
  /** failure audit rows about this authentication */
  failedOnAuthentication: number;
  /** failure audit rows by the device since `since` */
  recentDeviceFailures: number;
  counterAnomaly: boolean;
  enrolmentPhoto: { id: string; created_at: number } | undefined;
  latestPhoto: { id: string; created_at: number } | undefined;
}

/**
 * Tables: wrap_ups; and the desk's reads of other aggregates (the holder's assignment
 * lease, the panel's customer, device, audit counts, photos). The idempotency key is
 * unique: insert() of a replay does nothing, and the first write is the only one.
 */
export class WrapUpsRepo extends Repo {
  byKey(idempotencyKey: string): Promise<WrapUpRow | undefined> {
    return this.q
      .selectFrom('wrap_ups')
      .selectAll()
      .where('idempotency_key', '=', idempotencyKey)
      .executeTakeFirst();
  }

  /** Insert once per idempotency key: the stored row (the earlier one when `row` was a replay) and whether it is new. */
  async insert(row: Insertable<WrapUpsTable>): Promise<{ row: WrapUpRow; inserted: boolean }> {
    const ins = await this.q
      .insertInto('wrap_ups')
      .values(row)
      .onConflict((oc) => oc.column('idempotency_key').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (ins) return { row: ins, inserted: true };
    return { row: (await this.byKey(row.idempotency_key))!, inserted: false };
  }

  /** The assignment lease of `agentId` on a request under `fence` (undefined: never held). */
  assignment(
    requestId: string,
    fence: number,
    agentId: string,
  ): Promise<Pick<Selectable<LeasesTable>, 'end_reason' | 'ended_at'> | undefined> {
    return this.q
      .selectFrom('leases')
      .select(['end_reason', 'ended_at'])
      .where('request_id', '=', requestId)
      .where('fence', '=', fence)
      .where('agent_id', '=', agentId)
      .where('kind', '=', 'assignment')
      .executeTakeFirst();
  }

  /** The panel's facts about a request's customer, device and authentication. */
  async panelFacts(
    customerId: string,
    deviceId: string | null,
    authenticationId: string,
    since: number,
  ): Promise<PanelFacts> {
    const customer = await this.q
      .selectFrom('customers')
      .select(['id', 'display_name', 'attributes', 'account'])
      .where('id', '=', customerId)
      .executeTakeFirst();
    const device = deviceId
      ? await this.q
          .selectFrom('devices')
          .select(['id', 'label', 'enrolled_at'])
          .where('id', '=', deviceId)
          .executeTakeFirst()
      : undefined;
    const count = async (f: { subject?: string; actor?: string; since?: number }) => {
      let q = this.q
        .selectFrom('audit_log')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('outcome', '=', 'failure');
      if (f.subject !== undefined) q = q.where('subject', '=', f.subject);
      if (f.actor !== undefined) q = q.where('actor', '=', f.actor);
      if (f.since !== undefined) q = q.where('at', '>=', f.since);
      return Number((await q.executeTakeFirst())?.n ?? 0);
    };
    const photo = (purpose: string) =>
      this.q
        .selectFrom('photos')
        .select(['id', 'created_at'])
        .where('customer_id', '=', customerId)
        .where('purpose', '=', purpose)
        .orderBy('created_at', 'desc')
        // ties in insertion order on SQLite (rowid); by id on PostgreSQL (photos are updated, no stable position)
        .orderBy(this.c.engine === 'sqlite' ? sql`rowid` : sql`id`, 'desc')
        .limit(1)
        .executeTakeFirst();
    return {
      customer,
      device,
      failedOnAuthentication: await count({ subject: `authentication:${authenticationId}` }),
      recentDeviceFailures: device ? await count({ actor: `device:${device.id}`, since }) : 0,
      counterAnomaly: device
        ? (await this.q
            .selectFrom('webauthn_credentials')
            .select('id')
            .where('device_id', '=', device.id)
            .where('counter_anomaly_at', 'is not', null)
            .limit(1)
            .executeTakeFirst()) !== undefined
        : false,
      enrolmentPhoto: await photo('enrolment'),
      latestPhoto: await photo('verification'),
    };
  }

  /** A photo of this customer (bytes and type). */
  photo(photoId: string, customerId: string): Promise<{ media_type: string; bytes: Buffer } | undefined> {
    return this.q
      .selectFrom('photos')
      .select(['media_type', 'bytes'])
      .where('id', '=', photoId)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
  }
}
