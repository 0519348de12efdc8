import {
  CUSTOMER_LIMITS,
  SecureFieldName,
  type CreateCustomerRequest,
  type CustomerList,
  type CustomerListQuery,
  type CustomerView,
  type UpdateCustomerRequest,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { Repos } from '../store/repos/index.ts';
import { isUniqueViolation, type CustomerPhone, type CustomerRow } from '../store/repos/customers.ts';
import { maskPhone, normalisePhone } from './phones.ts';

type Phone = CustomerPhone;
type PhoneInput = { number: string; label?: string | undefined };

const SECURE_FIELDS = SecureFieldName.options;
const issue = (path: (string | number)[], message: string) => ({ path: path.map(String), message });
const fieldName = (path: (string | number)[]) =>
  path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');
const invalid = (path: (string | number)[], message: string) =>
  badRequest(`${fieldName(path)}: ${message}`, [issue(path, message)]);

/** Attribute values as the view shows them: strings only (anything else stored by hand is shown as text). */
function attributesOf(row: CustomerRow): Record<string, string> {
  const raw = JSON.parse(row.attributes) as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw))
    if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

const encodeCursor = (name: string, id: string) =>
  Buffer.from(JSON.stringify([name, id])).toString('base64url');
function decodeCursor(cursor: string): [string, string] {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
      return [v[0], v[1]];
  } catch {
    /* not ours */
  }
  throw invalid(['cursor'], 'not a cursor from this API (use nextCursor of the previous page)');
}

/**
 * The customers the back office administers: display name, phone numbers (E.164, each
 * belonging to at most one active customer), an external reference (unique), routing
 * attributes and the secure account fields. Deactivation ends what the customer has open
 * (service sessions, so their requests are abandoned and commands cancelled), revokes the
 * devices' tokens and voids unused enrolment codes; while deactivated no device enrols or
 * authenticates (identity/devices.ts asks `isActive`). Every change is audited with the
 * admin as actor and what changed, never the secure values.
 */
export class CustomerDirectory {
  constructor(
    private readonly ctx: Ctx,
    private readonly sessions: ServiceSessions,
    private readonly pipeline: Pipeline,
  ) {}

  private async require(r: Repos, id: string): Promise<CustomerRow> {
    const row = await r.customers.byId(id);
    if (!row) throw notFound('no such customer');
    return row;
  }

  /** True for an existing customer that is not deactivated. */
  async isActive(id: string): Promise<boolean> {
    const row = await this.ctx.data.read.customers.byId(id);
    return !!row && row.deactivated_at === null;
  }

  /**
   * 404 for an unknown customer, 409 for a deactivated one (e.g. before issuing an enrolment
   * code). With `refusal`, a refusal is audited (outcome failure, in a unit of its own) first.
   */
  async requireActive(id: string, refusal?: { actor: string; action: string }): Promise<void> {
    const row = await this.ctx.data.read.customers.byId(id);
    const error = !row
      ? notFound('no such customer')
      : row.deactivated_at !== null
        ? conflict('the customer is deactivated')
        : null;
    if (!error) return;
    if (refusal)
      await this.ctx.data.tx((r) =>
        r.audit.append({
          actor: refusal.actor,
          action: refusal.action,
          subject: `customer:${id}`,
          outcome: 'failure',
          reason: error.message,
        }),
      );
    throw error;
  }

  /** The customer's display name (a device's own customer: it exists). */
  async displayName(id: string): Promise<string> {
    const name = await this.ctx.data.read.customers.displayName(id);
    if (name === undefined) throw notFound('no such customer');
    return name;
  }

  private view(row: CustomerRow, phones: readonly Phone[]): CustomerView {
    const account = JSON.parse(row.account) as Record<string, unknown>;
    return {
      customerId: row.id,
      displayName: row.display_name,
      externalRef: row.external_ref,
      phones: phones.map((p) => ({ e164: p.e164, label: p.label })),
      attributes: attributesOf(row),
      secureFields: SECURE_FIELDS.filter((f) => account[f] !== undefined && account[f] !== null),
      status: row.deactivated_at === null ? 'active' : 'deactivated',
      deactivatedAt: row.deactivated_at === null ? null : iso(row.deactivated_at),
      deactivationReason: row.deactivation_reason,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at ?? row.created_at),
    };
  }

  private async viewOf(r: Repos, id: string): Promise<CustomerView> {
    const row = await this.require(r, id);
    return this.view(row, await r.customers.phonesOf(id));
  }

  async get(id: string): Promise<CustomerView> {
    return await this.viewOf(this.ctx.data.read, id);
  }

  /** Normalise to E.164; 400 naming the field for an invalid number or the same number twice. */
  private normalisePhones(inputs: readonly PhoneInput[]): Phone[] {
    const seen = new Map<string, number>();
    return inputs.map((p, i) => {
      const n = normalisePhone(p.number, this.ctx.config.defaultPhoneRegion);
      if (!n.ok) throw invalid(['phones', i, 'number'], n.message);
      const first = seen.get(n.e164);
      if (first !== undefined)
        throw invalid(['phones', i, 'number'], `the same number as phones[${first}] (${n.e164})`);
      seen.set(n.e164, i);
      return { e164: n.e164, label: p.label?.trim() ?? null };
    });
  }

  /** 409 when a number belongs to another active customer. */
  private async checkPhonesFree(
    r: Repos,
    phones: readonly Phone[],
    customerId: string | null,
  ): Promise<void> {
    for (const [i, p] of phones.entries()) {
      const other = await r.customers.activeHolderOf(p.e164, customerId);
      if (other)
        throw conflict(`phones[${i}].number: ${p.e164} belongs to another active customer (${other})`);
    }
  }

  /** 409 when another customer has this external reference. */
  private async checkExternalRefFree(r: Repos, ref: string, customerId: string | null): Promise<void> {
    const other = await r.customers.externalRefHolder(ref, customerId);
    if (other) throw conflict(`externalRef: already the reference of another customer (${other})`);
  }

  /**
   * A unit whose checks passed but whose write a unique index refused (a concurrent unit
   * took the number or the reference first: possible on PostgreSQL) is still a 409.
   */
  private async uniquely<T>(fn: (r: Repos) => Promise<T>): Promise<T> {
    try {
      return await this.ctx.data.tx(fn);
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict('a phone number or the external reference is already in use');
      throw e;
    }
  }

  async create(input: CreateCustomerRequest, actor: string): Promise<CustomerView> {
    const phones = this.normalisePhones(input.phones ?? []);
    const id = `c_${randomId(16)}`;
    const now = this.ctx.clock.now();
    const attributes = input.attributes ?? {};
    const account = input.account ?? {};
    return await this.uniquely(async (r) => {
      if (input.externalRef !== undefined) await this.checkExternalRefFree(r, input.externalRef, null);
      await this.checkPhonesFree(r, phones, null);
      await r.customers.insert({
        id,
        display_name: input.displayName.trim(),
        attributes: JSON.stringify(attributes),
        account: JSON.stringify(account),
        external_ref: input.externalRef ?? null,
        created_at: now,
        updated_at: now,
      });
      await r.customers.replacePhones(id, phones, true);
      await r.audit.append({
        actor,
        action: 'customer.create',
        subject: `customer:${id}`,
        outcome: 'success',
        data: {
          externalRef: input.externalRef ?? null,
          phones: phones.map((p) => maskPhone(p.e164)),
          attributes,
          secureFields: SECURE_FIELDS.filter((f) => account[f] !== undefined),
        },
      });
      return await this.viewOf(r, id);
    });
  }

  /** Read, compare and write in one unit: concurrent patches of one customer do not lose each other's changes. */
  async update(id: string, patch: UpdateCustomerRequest, actor: string): Promise<CustomerView> {
    // Validated before the unit: a 400 needs no database.
    const newPhones = patch.phones !== undefined ? this.normalisePhones(patch.phones) : null;
    return await this.uniquely(async (r) => {
      const row = await this.require(r, id);
      const active = row.deactivated_at === null;
      const changed: string[] = [];
      const data: Record<string, unknown> = {};

      const displayName = patch.displayName?.trim() ?? row.display_name;
      if (displayName !== row.display_name) changed.push('displayName');

      let externalRef = row.external_ref;
      if (patch.externalRef !== undefined && patch.externalRef !== row.external_ref) {
        if (patch.externalRef !== null) await this.checkExternalRefFree(r, patch.externalRef, id);
        externalRef = patch.externalRef;
        changed.push('externalRef');
        data.externalRef = { from: row.external_ref, to: externalRef };
      }

      let phones = newPhones;
      const before = await r.customers.phonesOf(id);
      if (phones) {
        // A deactivated customer's numbers are checked when it is reactivated.
        if (active) await this.checkPhonesFree(r, phones, id);
        const next = phones;
        const added = next.filter((p) => !before.some((b) => b.e164 === p.e164));
        const removed = before.filter((b) => !next.some((p) => p.e164 === b.e164));
        const relabelled = next.filter((p) => before.some((b) => b.e164 === p.e164 && b.label !== p.label));
        const reordered = before.map((b) => b.e164).join() !== next.map((p) => p.e164).join();
        if (added.length || removed.length || relabelled.length || reordered) {
          changed.push('phones');
          data.phones = {
            added: added.map((p) => maskPhone(p.e164)),
            removed: removed.map((p) => maskPhone(p.e164)),
            relabelled: relabelled.map((p) => maskPhone(p.e164)),
          };
        } else phones = null;
      }

      const attributes = attributesOf(row);
      if (patch.attributes) {
        const diff: Record<string, { from: string | null; to: string | null }> = {};
        for (const [k, v] of Object.entries(patch.attributes)) {
          const from = Object.hasOwn(attributes, k) ? attributes[k]! : null;
          if (from === v) continue;
          diff[k] = { from, to: v };
          if (v === null) delete attributes[k];
          else attributes[k] = v;
        }
        if (Object.keys(attributes).length > CUSTOMER_LIMITS.attributes)
          throw invalid(['attributes'], `at most ${CUSTOMER_LIMITS.attributes} attributes`);
        if (Object.keys(diff).length) {
          changed.push(...Object.keys(diff).map((k) => `attributes.${k}`));
          data.attributes = diff;
        }
      }

      const account = JSON.parse(row.account) as Record<string, unknown>;
      if (patch.account) {
        for (const [k, v] of Object.entries(patch.account)) {
          if (v === undefined) continue;
          if (JSON.stringify(account[k] ?? null) === JSON.stringify(v)) continue;
          if (v === null) delete account[k];
          else account[k] = v;
          // Which secure field changed, never its value.
          changed.push(`account.${k}`);
        }
      }

      if (changed.length === 0) return this.view(row, before);
      await r.customers.update(id, {
        display_name: displayName,
        external_ref: externalRef,
        attributes: JSON.stringify(attributes),
        account: JSON.stringify(account),
      });
      if (phones) await r.customers.replacePhones(id, phones, active);
      await r.audit.append({
        actor,
        action: 'customer.update',
        subject: `customer:${id}`,
        outcome: 'success',
        data: { changed, ...data },
      });
      return await this.viewOf(r, id);
    });
  }

  async list(q: CustomerListQuery): Promise<CustomerList> {
    const limit = q.limit ? Number(q.limit) : CUSTOMER_LIMITS.defaultPageSize;
    let phone: string | undefined;
    if (q.phone !== undefined) {
      const n = normalisePhone(q.phone, this.ctx.config.defaultPhoneRegion);
      if (!n.ok) throw invalid(['phone'], n.message);
      phone = n.e164;
    }
    const read = this.ctx.data.read.customers;
    const rows = await read.list(
      {
        ...(q.name !== undefined ? { nameContains: q.name } : {}),
        ...(phone !== undefined ? { phone } : {}),
        ...(q.externalRef !== undefined ? { externalRef: q.externalRef } : {}),
        ...(q.status === 'active' || q.status === 'deactivated' ? { status: q.status } : {}),
        ...(q.cursor !== undefined ? { after: decodeCursor(q.cursor) } : {}),
      },
      limit + 1,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const phones = await read.phonesOfMany(page.map((r) => r.id));
    return {
      customers: page.map((r) => this.view(r, phones.get(r.id) ?? [])),
      nextCursor: rows.length > limit && last ? encodeCursor(last.display_name, last.id) : null,
    };
  }

  /**
   * Deactivate: the customer's open requests end as abandoned and its open service
   * sessions end (ended_by_admin), which cancels device commands and closes the
   * sessions' sockets; device tokens are revoked, unused enrolment codes voided, and the
   * phone numbers released (they may then belong to another active customer).
   *
   * One unit marks the customer deactivated, revokes and voids, and writes the audit row
   * with what it ends (the requests and sessions open at that moment); those are then
   * ended by their own modules, which audit each of them.
   */
  async deactivate(
    id: string,
    reason: string | null,
    actor: string,
  ): Promise<{
    customer: CustomerView;
    endedSessions: number;
    abandonedRequests: number;
    revokedDeviceTokens: number;
    voidedEnrolmentCodes: number;
  }> {
    const done = await this.ctx.data.tx(async (r) => {
      await this.require(r, id);
      if (!(await r.customers.deactivate(id, reason))) return undefined;
      const revokedDeviceTokens = await r.customers.revokeDeviceTokens(id);
      const voidedEnrolmentCodes = await r.customers.voidEnrolmentCodes(id);
      const requests = await r.customers.openRequestIds(id);
      const sessions = await r.customers.openSessionIds(id);
      const result = {
        endedSessions: sessions.length,
        abandonedRequests: requests.length,
        revokedDeviceTokens,
        voidedEnrolmentCodes,
      };
      await r.audit.append({
        actor,
        action: 'customer.deactivate',
        subject: `customer:${id}`,
        outcome: 'success',
        reason,
        data: result,
      });
      return { result, requests, sessions };
    });
    if (!done) throw conflict('the customer is already deactivated');
    // The requests first, so they end as "customer_deactivated" rather than as a session that ended.
    let abandonedRequests = 0;
    for (const rid of done.requests) {
      // Promise.resolve: abandon() is synchronous until the pipeline moves onto the store, then async.
      const ended = await Promise.resolve(this.pipeline.abandon(rid, 'customer_deactivated'));
      if (ended?.state === 'abandoned') abandonedRequests++;
    }
    let endedSessions = 0;
    for (const sid of done.sessions)
      if (await this.sessions.end(sid, 'ended_by_admin', actor)) endedSessions++;
    return { customer: await this.get(id), ...done.result, abandonedRequests, endedSessions };
  }

  /** Reactivate: 409 when one of its numbers now belongs to another active customer. */
  async reactivate(id: string, actor: string): Promise<CustomerView> {
    return await this.uniquely(async (r) => {
      const row = await this.require(r, id);
      if (row.deactivated_at === null) throw conflict('the customer is already active');
      const taken = await r.customers.takenPhones(id);
      if (taken.length)
        throw conflict(
          `phones: ${taken.map((t) => `${t.e164} now belongs to another active customer (${t.customer_id})`).join('; ')}; change the numbers first`,
        );
      await r.customers.reactivate(id);
      await r.audit.append({
        actor,
        action: 'customer.reactivate',
        subject: `customer:${id}`,
        outcome: 'success',
        data: { deactivatedAt: iso(row.deactivated_at) },
      });
      return await this.viewOf(r, id);
    });
  }
}
