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
import { maskPhone, normalisePhone } from './phones.ts';

interface CustomerRow {
  id: string;
  display_name: string;
  attributes: string;
  account: string;
  external_ref: string | null;
  created_at: number;
  updated_at: number | null;
  deactivated_at: number | null;
  deactivation_reason: string | null;
}
interface PhoneRow {
  e164: string;
  label: string | null;
}
type Phone = { e164: string; label: string | null };
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
  private readonly getRow;
  private readonly phonesOf;
  constructor(
    private readonly ctx: Ctx,
    private readonly sessions: ServiceSessions,
    private readonly pipeline: Pipeline,
  ) {
    this.getRow = ctx.db.prepare<[string], CustomerRow>(
      'SELECT id, display_name, attributes, account, external_ref, created_at, updated_at, deactivated_at, deactivation_reason FROM customers WHERE id = ?',
    );
    this.phonesOf = ctx.db.prepare<[string], PhoneRow>(
      'SELECT e164, label FROM customer_phones WHERE customer_id = ? ORDER BY rowid',
    );
  }

  private async require(id: string): Promise<CustomerRow> {
    const row = this.getRow.get(id);
    if (!row) throw notFound('no such customer');
    return row;
  }

  /** True for an existing customer that is not deactivated. */
  async isActive(id: string): Promise<boolean> {
    const row = this.getRow.get(id);
    return !!row && row.deactivated_at === null;
  }

  /** 404 for an unknown customer, 409 for a deactivated one (e.g. before issuing an enrolment code). */
  async requireActive(id: string): Promise<void> {
    if ((await this.require(id)).deactivated_at !== null) throw conflict('the customer is deactivated');
  }

  async view(row: CustomerRow): Promise<CustomerView> {
    const account = JSON.parse(row.account) as Record<string, unknown>;
    return {
      customerId: row.id,
      displayName: row.display_name,
      externalRef: row.external_ref,
      phones: this.phonesOf.all(row.id).map((p) => ({ e164: p.e164, label: p.label })),
      attributes: attributesOf(row),
      secureFields: SECURE_FIELDS.filter((f) => account[f] !== undefined && account[f] !== null),
      status: row.deactivated_at === null ? 'active' : 'deactivated',
      deactivatedAt: row.deactivated_at === null ? null : iso(row.deactivated_at),
      deactivationReason: row.deactivation_reason,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at ?? row.created_at),
    };
  }

  async get(id: string): Promise<CustomerView> {
    return await this.view(await this.require(id));
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
  private async checkPhonesFree(phones: readonly Phone[], customerId: string | null): Promise<void> {
    const holder = this.ctx.db.prepare<[string, string], { customer_id: string }>(
      'SELECT customer_id FROM customer_phones WHERE e164 = ? AND active = 1 AND customer_id <> ?',
    );
    phones.forEach((p, i) => {
      const other = holder.get(p.e164, customerId ?? '');
      if (other)
        throw conflict(
          `phones[${i}].number: ${p.e164} belongs to another active customer (${other.customer_id})`,
        );
    });
  }

  /** 409 when another customer has this external reference. */
  private async checkExternalRefFree(ref: string, customerId: string | null): Promise<void> {
    const other = this.ctx.db
      .prepare<[string, string], { id: string }>(
        'SELECT id FROM customers WHERE external_ref = ? AND id <> ?',
      )
      .get(ref, customerId ?? '');
    if (other) throw conflict(`externalRef: already the reference of another customer (${other.id})`);
  }

  private writePhones(customerId: string, phones: readonly Phone[], active: boolean): void {
    this.ctx.db.prepare('DELETE FROM customer_phones WHERE customer_id = ?').run(customerId);
    const insert = this.ctx.db.prepare(
      'INSERT INTO customer_phones (customer_id, e164, label, active) VALUES (?, ?, ?, ?)',
    );
    for (const p of phones) insert.run(customerId, p.e164, p.label, active ? 1 : 0);
  }

  /** A unique-index violation that slipped past the checks (it cannot within one process) is still a 409. */
  private uniquely<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw conflict('a phone number or the external reference is already in use');
      throw e;
    }
  }

  async create(input: CreateCustomerRequest, actor: string): Promise<CustomerView> {
    const phones = this.normalisePhones(input.phones ?? []);
    if (input.externalRef !== undefined) await this.checkExternalRefFree(input.externalRef, null);
    await this.checkPhonesFree(phones, null);
    const id = `c_${randomId(16)}`;
    const now = this.ctx.clock.now();
    const attributes = input.attributes ?? {};
    const account = input.account ?? {};
    this.uniquely(() =>
      this.ctx.db.transaction(() => {
        this.ctx.db
          .prepare(
            'INSERT INTO customers (id, display_name, attributes, account, external_ref, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          )
          .run(
            id,
            input.displayName.trim(),
            JSON.stringify(attributes),
            JSON.stringify(account),
            input.externalRef ?? null,
            now,
            now,
          );
        this.writePhones(id, phones, true);
      })(),
    );
    this.ctx.audit.append({
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
    return await this.get(id);
  }

  async update(id: string, patch: UpdateCustomerRequest, actor: string): Promise<CustomerView> {
    const row = await this.require(id);
    const active = row.deactivated_at === null;
    const changed: string[] = [];
    const data: Record<string, unknown> = {};

    const displayName = patch.displayName?.trim() ?? row.display_name;
    if (displayName !== row.display_name) changed.push('displayName');

    let externalRef = row.external_ref;
    if (patch.externalRef !== undefined && patch.externalRef !== row.external_ref) {
      if (patch.externalRef !== null) await this.checkExternalRefFree(patch.externalRef, id);
      externalRef = patch.externalRef;
      changed.push('externalRef');
      data.externalRef = { from: row.external_ref, to: externalRef };
    }

    let phones: Phone[] | null = null;
    if (patch.phones !== undefined) {
      phones = this.normalisePhones(patch.phones);
      // A deactivated customer's numbers are checked when it is reactivated.
      if (active) await this.checkPhonesFree(phones, id);
      const before = this.phonesOf.all(id);
      const added = phones.filter((p) => !before.some((b) => b.e164 === p.e164));
      const removed = before.filter((b) => !phones!.some((p) => p.e164 === b.e164));
      const relabelled = phones.filter((p) => before.some((b) => b.e164 === p.e164 && b.label !== p.label));
      const reordered = before.map((b) => b.e164).join() !== phones.map((p) => p.e164).join();
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

    if (changed.length === 0) return await this.view(row);
    this.uniquely(() =>
      this.ctx.db.transaction(() => {
        this.ctx.db
          .prepare(
            'UPDATE customers SET display_name = ?, external_ref = ?, attributes = ?, account = ?, updated_at = ? WHERE id = ?',
          )
          .run(
            displayName,
            externalRef,
            JSON.stringify(attributes),
            JSON.stringify(account),
            this.ctx.clock.now(),
            id,
          );
        if (phones) this.writePhones(id, phones, active);
      })(),
    );
    this.ctx.audit.append({
      actor,
      action: 'customer.update',
      subject: `customer:${id}`,
      outcome: 'success',
      data: { changed, ...data },
    });
    return await this.get(id);
  }

  async list(q: CustomerListQuery): Promise<CustomerList> {
    const limit = q.limit ? Number(q.limit) : CUSTOMER_LIMITS.defaultPageSize;
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.name !== undefined) {
      where.push("c.display_name LIKE ? ESCAPE '\\'");
      args.push(`%${q.name.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    }
    if (q.phone !== undefined) {
      const n = normalisePhone(q.phone, this.ctx.config.defaultPhoneRegion);
      if (!n.ok) throw invalid(['phone'], n.message);
      where.push('EXISTS (SELECT 1 FROM customer_phones p WHERE p.customer_id = c.id AND p.e164 = ?)');
      args.push(n.e164);
    }
    if (q.externalRef !== undefined) {
      where.push('c.external_ref = ?');
      args.push(q.externalRef);
    }
    if (q.status === 'active') where.push('c.deactivated_at IS NULL');
    if (q.status === 'deactivated') where.push('c.deactivated_at IS NOT NULL');
    if (q.cursor !== undefined) {
      const [name, id] = decodeCursor(q.cursor);
      where.push('(c.display_name, c.id) > (?, ?)');
      args.push(name, id);
    }
    const rows = this.ctx.db
      .prepare<(string | number)[], CustomerRow>(
        `SELECT c.id, c.display_name, c.attributes, c.account, c.external_ref, c.created_at, c.updated_at, c.deactivated_at, c.deactivation_reason
         FROM customers c ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY c.display_name, c.id LIMIT ?`,
      )
      .all(...args, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      customers: await Promise.all(page.map((r) => this.view(r))),
      nextCursor: rows.length > limit && last ? encodeCursor(last.display_name, last.id) : null,
    };
  }

  /**
   * Deactivate: the customer's open requests end as abandoned and its open service
   * sessions end (ended_by_admin), which cancels device commands and closes the
   * sessions' sockets; device tokens are revoked, unused enrolment codes voided, and the
   * phone numbers released (they may then belong to another active customer).
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
    const row = await this.require(id);
    if (row.deactivated_at !== null) throw conflict('the customer is already deactivated');
    const { db } = this.ctx;
    const now = this.ctx.clock.now();
    const { tokens, codes } = db.transaction(() => {
      db.prepare(
        'UPDATE customers SET deactivated_at = ?, deactivation_reason = ?, updated_at = ? WHERE id = ?',
      ).run(now, reason, now, id);
      db.prepare('UPDATE customer_phones SET active = 0 WHERE customer_id = ?').run(id);
      const tokens = db
        .prepare(
          'UPDATE device_tokens SET revoked_at = ? WHERE revoked_at IS NULL AND expires_at > ? AND device_id IN (SELECT id FROM devices WHERE customer_id = ?)',
        )
        .run(now, now, id).changes;
      const codes = db
        .prepare(
          'UPDATE enrolment_codes SET expires_at = ? WHERE customer_id = ? AND used_at IS NULL AND expires_at > ?',
        )
        .run(now, id, now).changes;
      return { tokens, codes };
    })();
    // The requests first, so they end as "customer_deactivated" rather than as a session that ended.
    const open = db
      .prepare<[string], { id: string }>(
        "SELECT id FROM requests WHERE customer_id = ? AND state NOT IN ('completed', 'abandoned')",
      )
      .all(id);
    let abandonedRequests = 0;
    for (const r of open)
      if (this.pipeline.abandon(r.id, 'customer_deactivated')?.state === 'abandoned') abandonedRequests++;
    const sessions = db
      .prepare<[string], { id: string }>(
        'SELECT id FROM service_sessions WHERE customer_id = ? AND ended_at IS NULL',
      )
      .all(id);
    let endedSessions = 0;
    for (const s of sessions) if (await this.sessions.end(s.id, 'ended_by_admin', actor)) endedSessions++;
    const result = {
      endedSessions,
      abandonedRequests,
      revokedDeviceTokens: tokens,
      voidedEnrolmentCodes: codes,
    };
    this.ctx.audit.append({
      actor,
      action: 'customer.deactivate',
      subject: `customer:${id}`,
      outcome: 'success',
      reason,
      data: result,
    });
    return { customer: await this.get(id), ...result };
  }

  /** Reactivate: 409 when one of its numbers now belongs to another active customer. */
  async reactivate(id: string, actor: string): Promise<CustomerView> {
    const row = await this.require(id);
    if (row.deactivated_at === null) throw conflict('the customer is already active');
    const taken = this.ctx.db
      .prepare<[string], { e164: string; customer_id: string }>(
        `SELECT p.e164, o.customer_id FROM customer_phones p
         JOIN customer_phones o ON o.e164 = p.e164 AND o.active = 1 AND o.customer_id <> p.customer_id
         WHERE p.customer_id = ? ORDER BY p.rowid`,
      )
      .all(id);
    if (taken.length)
      throw conflict(
        `phones: ${taken.map((t) => `${t.e164} now belongs to another active customer (${t.customer_id})`).join('; ')}; change the numbers first`,
      );
    const now = this.ctx.clock.now();
    this.uniquely(() =>
      this.ctx.db.transaction(() => {
        this.ctx.db
          .prepare(
            'UPDATE customers SET deactivated_at = NULL, deactivation_reason = NULL, updated_at = ? WHERE id = ?',
          )
          .run(now, id);
        this.ctx.db.prepare('UPDATE customer_phones SET active = 1 WHERE customer_id = ?').run(id);
      })(),
    );
    this.ctx.audit.append({
      actor,
      action: 'customer.reactivate',
      subject: `customer:${id}`,
      outcome: 'success',
      data: { deactivatedAt: iso(row.deactivated_at) },
    });
    return await this.get(id);
  }
}
