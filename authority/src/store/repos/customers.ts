import { sql, type Selectable } from 'kysely';
import type { Database } from '../schema.ts';
import { prepared } from '../prepared.ts';
import { inSlices, Repo } from './base.ts';

// Compiled once (prepared.ts): GET /v1/device/me reads it at every call.
const displayNameOf = prepared((q, p: { id: string }) =>
  q.selectFrom('customers').select('display_name').where('id', '=', p.id),
);

export type CustomerRow = Omit<
  Selectable<Database['customers']>,
  'knowledge_failures' | 'knowledge_locked_until' | 'kind'
>;
export interface CustomerPhone {
  e164: string;
  label: string | null;
}
/** What the directory lists by; every field given narrows the list. */
export interface CustomerFilter {
  /** a substring of the display name, ASCII case-insensitive (no wildcards) */
  nameContains?: string;
  /** E.164: customers that have this number */
  phone?: string;
  externalRef?: string;
  status?: 'active' | 'deactivated';
  /** keyset paging: customers after this (display name, id), in that order */
  after?: readonly [string, string];
}

const COLUMNS = [
  'id',
  'display_name',
  'attributes',
  'account',
  'external_ref',
  'created_at',
  'updated_at',
  'deactivated_at',
  'deactivation_reason',
] as const;

/**
 * A unique index refused the write (a number of another active customer, a taken external
 * reference): true on either engine. The unit it happened in is lost; the caller answers 409.
 */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/**
 * Tables: customers, customer_phones. Deactivation also reaches the customer's device
 * tokens, enrolment codes, open requests and sessions (the methods at the end).
 */
export class CustomersRepo extends Repo {
  /** A customer of the directory (never an unknown caller's placeholder). */
  async byId(id: string): Promise<CustomerRow | undefined> {
    return await this.q
      .selectFrom('customers')
      .select(COLUMNS)
      .where('id', '=', id)
      .where('kind', '=', 'customer')
      .executeTakeFirst();
  }

  /**
   * The placeholder customer of a phone call nobody recognised ("Unknown caller"): it
   * holds the call's request, session and authentication until the agent identifies the
   * caller (then `rebindUnknownCaller` moves them and removes it). Never in the directory.
   */
  async insertUnknownCaller(id: string, displayName: string): Promise<void> {
    await this.q
      .insertInto('customers')
      .values({ id, display_name: displayName, kind: 'unknown_caller', created_at: this.now() })
      .execute();
  }

  async isUnknownCaller(id: string): Promise<boolean> {
    const r = await this.q.selectFrom('customers').select('kind').where('id', '=', id).executeTakeFirst();
    return r?.kind === 'unknown_caller';
  }

  /**
   * The unknown caller turned out to be `customerId`: the request, its service session
   * and its authentication move to that customer and the placeholder goes. False when
   * `placeholderId` is no longer an unknown caller (identified already).
   */
  async rebindUnknownCaller(
    placeholderId: string,
    ids: { requestId: string; sessionId: string; authenticationId: string },
    customerId: string,
  ): Promise<boolean> {
    if (!(await this.isUnknownCaller(placeholderId))) return false;
    await this.q
      .updateTable('requests')
      .set({ customer_id: customerId })
      .where('id', '=', ids.requestId)
      .where('customer_id', '=', placeholderId)
      .execute();
    await this.q
      .updateTable('service_sessions')
      .set({ customer_id: customerId })
      .where('id', '=', ids.sessionId)
      .where('customer_id', '=', placeholderId)
      .execute();
    await this.q
      .updateTable('authentications')
      .set({ customer_id: customerId })
      .where('id', '=', ids.authenticationId)
      .where('customer_id', '=', placeholderId)
      .execute();
    const gone = await this.q
      .deleteFrom('customers')
      .where('id', '=', placeholderId)
      .where('kind', '=', 'unknown_caller')
      .executeTakeFirst();
    return gone.numDeletedRows > 0n;
  }

  async displayName(id: string): Promise<string | undefined> {
    return (await displayNameOf.first(this.c, { id }))?.display_name;
  }

  /** Display names of these customers (unknown ids are absent). */
  async displayNames(ids: readonly string[]): Promise<Map<string, string>> {
    const rows = await inSlices(ids, (part) =>
      this.q.selectFrom('customers').select(['id', 'display_name']).where('id', 'in', part).execute(),
    );
    return new Map(rows.map((r) => [r.id, r.display_name]));
  }

  /** Phone numbers in the order they were written. */
  async phonesOf(customerId: string): Promise<CustomerPhone[]> {
    return (await this.phonesOfMany([customerId])).get(customerId) ?? [];
  }

  async phonesOfMany(customerIds: readonly string[]): Promise<Map<string, CustomerPhone[]>> {
    const out = new Map<string, CustomerPhone[]>();
    if (customerIds.length === 0) return out;
    const rows = await this.q
      .selectFrom('customer_phones')
      .select(['customer_id', 'e164', 'label'])
      .where('customer_id', 'in', customerIds)
      .orderBy('customer_id')
      .orderBy('position')
      .orderBy('e164')
      .execute();
    for (const r of rows) {
      const list = out.get(r.customer_id) ?? [];
      list.push({ e164: r.e164, label: r.label });
      out.set(r.customer_id, list);
    }
    return out;
  }

  /** The active customer other than `exceptId` that has this number, if any. */
  async activeHolderOf(e164: string, exceptId: string | null): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('customer_phones')
      .select('customer_id')
      .where('e164', '=', e164)
      // written into the SQL: SQLite matches it to the partial index customer_phones_active
      // (WHERE active = 1), and a bound value it matched would re-prepare the statement at every run
      .where('active', '=', sql.lit(1))
      .where('customer_id', '<>', exceptId ?? '')
      .executeTakeFirst();
    return r?.customer_id;
  }

  /** The customer other than `exceptId` that has this external reference, if any. */
  async externalRefHolder(ref: string, exceptId: string | null): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('customers')
      .select('id')
      .where('external_ref', '=', ref)
      .where('id', '<>', exceptId ?? '')
      .executeTakeFirst();
    return r?.id;
  }

  async insert(row: Omit<CustomerRow, 'deactivated_at' | 'deactivation_reason'>): Promise<void> {
    await this.q.insertInto('customers').values(row).execute();
  }

  async update(
    id: string,
    set: Pick<CustomerRow, 'display_name' | 'external_ref' | 'attributes' | 'account'>,
  ): Promise<void> {
    await this.q
      .updateTable('customers')
      .set({ ...set, updated_at: this.now() })
      .where('id', '=', id)
      .execute();
  }

  /** Replace a customer's numbers (in this order). */
  async replacePhones(customerId: string, phones: readonly CustomerPhone[], active: boolean): Promise<void> {
    await this.q.deleteFrom('customer_phones').where('customer_id', '=', customerId).execute();
    if (phones.length === 0) return;
    await this.q
      .insertInto('customer_phones')
      .values(
        phones.map((p, position) => ({
          position,
          customer_id: customerId,
          e164: p.e164,
          label: p.label,
          active: active ? 1 : 0,
        })),
      )
      .execute();
  }

  /** One page of customers by (display name, id): `limit` rows at most. */
  async list(f: CustomerFilter, limit: number): Promise<CustomerRow[]> {
    let q = this.q
      .selectFrom('customers as c')
      .select(COLUMNS.map((k) => `c.${k}` as const))
      .where('c.kind', '=', 'customer');
    if (f.nameContains !== undefined) {
      const pattern = `%${f.nameContains.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      // SQLite's LIKE is ASCII case-insensitive; PostgreSQL's ILIKE is the same under the C locale the store requires.
      q = q.where(
        this.c.engine === 'sqlite'
          ? sql<boolean>`c.display_name LIKE ${pattern} ESCAPE '\\'`
          : sql<boolean>`c.display_name ILIKE ${pattern} ESCAPE '\\'`,
      );
    }
    if (f.phone !== undefined) {
      const e164 = f.phone;
      q = q.where(({ exists, selectFrom }) =>
        exists(
          selectFrom('customer_phones as p')
            .select('p.e164')
            .whereRef('p.customer_id', '=', 'c.id')
            .where('p.e164', '=', e164),
        ),
      );
    }
    if (f.externalRef !== undefined) q = q.where('c.external_ref', '=', f.externalRef);
    if (f.status === 'active') q = q.where('c.deactivated_at', 'is', null);
    if (f.status === 'deactivated') q = q.where('c.deactivated_at', 'is not', null);
    if (f.after) {
      const [name, id] = f.after;
      q = q.where((eb) => eb(eb.refTuple('c.display_name', 'c.id'), '>', eb.tuple(name, id)));
    }
    return await q.orderBy('c.display_name').orderBy('c.id').limit(limit).execute();
  }

  /** Mark deactivated and release its numbers; false when it was not active (nothing changed). */
  async deactivate(id: string, reason: string | null): Promise<boolean> {
    const now = this.now();
    const r = await this.q
      .updateTable('customers')
      .set({ deactivated_at: now, deactivation_reason: reason, updated_at: now })
      .where('id', '=', id)
      .where('deactivated_at', 'is', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await this.q.updateTable('customer_phones').set({ active: 0 }).where('customer_id', '=', id).execute();
    return true;
  }

  /** Its numbers that another active customer holds now, in its order. */
  async takenPhones(id: string): Promise<{ e164: string; customer_id: string }[]> {
    const mine = await this.phonesOf(id);
    const taken: { e164: string; customer_id: string }[] = [];
    for (const p of mine) {
      const holder = await this.activeHolderOf(p.e164, id);
      if (holder) taken.push({ e164: p.e164, customer_id: holder });
    }
    return taken;
  }

  /** Active again, its numbers too; false when it was not deactivated. A number held meanwhile fails the unique index. */
  async reactivate(id: string): Promise<boolean> {
    const r = await this.q
      .updateTable('customers')
      .set({ deactivated_at: null, deactivation_reason: null, updated_at: this.now() })
      .where('id', '=', id)
      .where('deactivated_at', 'is not', null)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) !== 1) return false;
    await this.q.updateTable('customer_phones').set({ active: 1 }).where('customer_id', '=', id).execute();
    return true;
  }

  // --- what deactivation ends (tables of other aggregates, read or written for the customer) ---

  /** Revoke the live tokens of the customer's devices: how many. */
  async revokeDeviceTokens(customerId: string): Promise<number> {
    const now = this.now();
    const r = await this.q
      .updateTable('device_tokens')
      .set({ revoked_at: now })
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now)
      .where('device_id', 'in', (eb) =>
        eb.selectFrom('devices').select('id').where('customer_id', '=', customerId),
      )
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Expire the customer's unused enrolment codes now: how many. */
  async voidEnrolmentCodes(customerId: string): Promise<number> {
    const now = this.now();
    const r = await this.q
      .updateTable('enrolment_codes')
      .set({ expires_at: now })
      .where('customer_id', '=', customerId)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  /** Ids of the customer's requests that are neither completed nor abandoned. */
  async openRequestIds(customerId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('requests')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('state', 'not in', ['completed', 'abandoned'])
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  /** Ids of the customer's service sessions not yet ended. */
  async openSessionIds(customerId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('service_sessions')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('ended_at', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }
}
