import { sql } from 'kysely';
import type { Tx } from '../engine.ts';
import { consumeOnce, insertOnce } from '../single-use.ts';
import { prepared } from '../prepared.ts';
import type { AuthenticationRow } from './authentications.ts';
import { Repo } from './base.ts';

// Compiled once (prepared.ts): every authenticated device request runs them.
// The token, its device and its authentication in one read (one round trip on PostgreSQL).
const tokenAndDevice = prepared((q, p: { tokenHash: string }) =>
  q
    .selectFrom('device_tokens as t')
    .innerJoin('devices as d', 'd.id', 't.device_id')
    .leftJoin('authentications as a', 'a.id', 't.authentication_id')
    .select([
      't.token_hash',
      't.device_id',
      't.authentication_id',
      't.expires_at',
      't.revoked_at as token_revoked_at',
      'd.customer_id',
      'd.public_jwk',
      'd.label',
      'd.enrolled_at',
      'd.revoked_at',
      'a.id as a_id',
      'a.customer_id as a_customer_id',
      'a.device_id as a_device_id',
      'a.level as a_level',
      'a.created_at as a_created_at',
      'a.expires_at as a_expires_at',
      'a.setup_until as a_setup_until',
    ])
    .where('t.token_hash', '=', p.tokenHash),
);
/** The most notices a device is shown at once. */
export const OPEN_NOTICES_SHOWN = 50;

/** A device's unacknowledged notices, oldest first (the row order column differs by engine). */
const openNoticesOf = prepared((q, p: { deviceId: string }, engine) =>
  q
    .selectFrom('security_notices as n')
    .innerJoin('devices as d', 'd.id', 'n.by_device_id')
    .select(['n.id', 'n.kind', 'n.at', 'n.by_device_id', 'd.label'])
    .where('n.device_id', '=', p.deviceId)
    .where('n.acknowledged_at', 'is', null)
    .orderBy('n.at')
    .orderBy(engine === 'sqlite' ? sql`n.rowid` : sql`n.ctid`)
    .limit(OPEN_NOTICES_SHOWN),
);
const deviceAndCustomer = (held: boolean) =>
  prepared((q, p: { id: string }) => {
    const query = q
      .selectFrom('devices as d')
      .innerJoin('customers as c', 'c.id', 'd.customer_id')
      .select(['d.revoked_at', 'c.deactivated_at'])
      .where('d.id', '=', p.id);
    return held ? query.forShare() : query;
  });
const deviceAndCustomerRead = deviceAndCustomer(false);
const deviceAndCustomerHeld = deviceAndCustomer(true);
/** insertOnce (single-use.ts) for a proof id: one INSERT ... ON CONFLICT DO NOTHING RETURNING; a row back = first use. */
const rememberProofOnce = prepared((q, p: { jti: string; expiresAt: number }) =>
  q
    .insertInto('used_proofs')
    .values({ jti: p.jti, expires_at: p.expiresAt })
    .onConflict((oc) => oc.column('jti').doNothing())
    .returning('jti'),
);

export interface DeviceRow {
  id: string;
  customer_id: string;
  public_jwk: string;
  label: string | null;
  enrolled_at: number;
  revoked_at: number | null;
}

export type ChallengePurpose = 'enrol' | 'authenticate' | 'webauthn-register' | 'webauthn-assert';

export interface ChallengeRow {
  id: string;
  purpose: ChallengePurpose;
  nonce: string;
  device_id: string | null;
  authentication_id: string | null;
  expires_at: number;
}

export interface DeviceTokenRow {
  token_hash: string;
  device_id: string;
  authentication_id: string;
  expires_at: number;
  revoked_at: number | null;
}

export type SecurityNoticeKind = 'device.enrolled' | 'pin.set' | 'biometric.added' | 'photo.enrolled';

export interface NoticeRow {
  id: string;
  kind: SecurityNoticeKind;
  at: number;
  by_device_id: string;
  /** the label of the device that caused it */
  label: string | null;
}

/**
 * Tables: devices, enrolment_codes, challenges, used_proofs, device_tokens, security_notices
 * (and the customer's name and active flag, read for enrolment).
 *
 * Single-use rows (enrolment codes, challenges, proof ids) are decided by one guarded
 * statement (store/single-use.ts), so of any number of racing units exactly one wins on
 * both engines.
 */
export class DevicesRepo extends Repo {
  /** The unit's transaction; refused on the read handle. */
  private get t(): Tx {
    if (!this.c.writable) throw new Error('devices: writes go through a unit of work (data.tx)');
    return this.q as Tx;
  }

  // --- devices

  get(id: string): Promise<DeviceRow | undefined> {
    return this.q.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Whether the device is enrolled and not revoked and its customer not deactivated, for a
   * unit that acts for it. On PostgreSQL both rows are held (`FOR SHARE`) until the unit
   * ends: the phone's removal or the customer's deactivation (an UPDATE of one of them)
   * waits for this unit's commit and then finds what it wrote, and one that committed first
   * is seen here. SQLite's single writer runs units one by one: a plain read. (The
   * customer's half alone is isCustomerActive; this reads both rows in one statement.)
   */
  async active(id: string): Promise<boolean> {
    const row = await (this.locksRows ? deviceAndCustomerHeld : deviceAndCustomerRead).first(this.c, { id });
    return row !== undefined && row.revoked_at === null && row.deactivated_at === null;
  }

  /** Insert a device unless its id (the key's thumbprint) is enrolled already: false then. */
  async insert(row: Omit<DeviceRow, 'revoked_at'>): Promise<boolean> {
    return insertOnce(this.t, 'devices', row, ['id']);
  }

  /** The customer's other devices that are not revoked. */
  async otherActiveDeviceIds(customerId: string, exceptDeviceId: string): Promise<string[]> {
    const rows = await this.q
      .selectFrom('devices')
      .select('id')
      .where('customer_id', '=', customerId)
      .where('id', '!=', exceptDeviceId)
      .where('revoked_at', 'is', null)
      .orderBy('id')
      .execute();
    return rows.map((r) => r.id);
  }

  // --- customers (read for enrolment and authentication)

  async customerName(customerId: string): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('customers')
      .select('display_name')
      .where('id', '=', customerId)
      .executeTakeFirst();
    return r?.display_name;
  }

  /**
   * Whether the customer exists and is not deactivated. In a unit on PostgreSQL the row is
   * share-locked until the commit, so a deactivation waits for this unit (and then sees
   * what it wrote) instead of slipping in between the check and the write.
   */
  async isCustomerActive(customerId: string): Promise<boolean> {
    let q = this.q.selectFrom('customers').select('deactivated_at').where('id', '=', customerId);
    if (this.locksRows) q = q.forShare();
    const r = await q.executeTakeFirst();
    return r !== undefined && r.deactivated_at === null;
  }

  // --- enrolment codes

  /** Issue (or re-arm) a code: unused again, with a new expiry. */
  async putEnrolmentCode(codeHash: string, customerId: string, expiresAt: number): Promise<void> {
    await this.t
      .insertInto('enrolment_codes')
      .values({ code_hash: codeHash, customer_id: customerId, expires_at: expiresAt, used_at: null })
      .onConflict((oc) =>
        oc.column('code_hash').doUpdateSet({ customer_id: customerId, expires_at: expiresAt, used_at: null }),
      )
      .execute();
  }

  /**
   * Use an enrolment code once: the customer it enrols, or undefined when the code is
   * unknown, used, expired, or its customer is deactivated (then it stays unused).
   */
  async consumeEnrolmentCode(codeHash: string): Promise<string | undefined> {
    const code = await this.t
      .selectFrom('enrolment_codes')
      .select('customer_id')
      .where('code_hash', '=', codeHash)
      .executeTakeFirst();
    if (!code || !(await this.isCustomerActive(code.customer_id))) return undefined;
    const used = await consumeOnce(this.t, 'enrolment_codes', codeHash, this.now());
    return used?.customer_id === code.customer_id ? used.customer_id : undefined;
  }

  // --- challenges

  async insertChallenge(row: ChallengeRow): Promise<void> {
    await this.t.insertInto('challenges').values(row).execute();
  }

  /** Mark used and return it, or undefined when unknown, used, expired or of another purpose. */
  async consumeChallenge(id: string, purpose: ChallengePurpose): Promise<ChallengeRow | undefined> {
    // A row's purpose never changes, so reading it first races with nothing; the use itself is one guarded UPDATE.
    const c = await this.t.selectFrom('challenges').select('purpose').where('id', '=', id).executeTakeFirst();
    if (!c || c.purpose !== purpose) return undefined;
    const used = await consumeOnce(this.t, 'challenges', id, this.now());
    if (!used) return undefined;
    return {
      id: used.id,
      purpose,
      nonce: used.nonce,
      device_id: used.device_id,
      authentication_id: used.authentication_id,
      expires_at: used.expires_at,
    };
  }

  /** Delete challenges that expired before `before`. */
  async pruneChallenges(before: number): Promise<number> {
    const r = await this.t.deleteFrom('challenges').where('expires_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // --- proof ids (jti)

  /** Remember a proof id until `expiresAt`: true the first time, false for a replay. */
  async rememberProof(jti: string, expiresAt: number): Promise<boolean> {
    return (
      (await rememberProofOnce.first({ q: this.t, engine: this.c.engine }, { jti, expiresAt })) !== undefined
    );
  }

  async pruneProofs(now: number): Promise<number> {
    const r = await this.t.deleteFrom('used_proofs').where('expires_at', '<', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // --- device tokens

  async insertToken(row: Omit<DeviceTokenRow, 'revoked_at'>): Promise<void> {
    await this.t.insertInto('device_tokens').values(row).execute();
  }

  token(tokenHash: string): Promise<DeviceTokenRow | undefined> {
    return this.q
      .selectFrom('device_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
  }

  /**
   * A token with its device and its authentication (undefined if that row is gone), in
   * one read: what every device request looks up first.
   */
  async tokenWithDevice(
    tokenHash: string,
  ): Promise<
    { token: DeviceTokenRow; device: DeviceRow; authentication: AuthenticationRow | undefined } | undefined
  > {
    const r = await tokenAndDevice.first(this.c, { tokenHash });
    if (!r) return undefined;
    return {
      authentication:
        r.a_id === null
          ? undefined
          : {
              id: r.a_id,
              customer_id: r.a_customer_id!,
              device_id: r.a_device_id,
              level: r.a_level!,
              created_at: r.a_created_at!,
              expires_at: r.a_expires_at!,
              setup_until: r.a_setup_until,
            },
      token: {
        token_hash: r.token_hash,
        device_id: r.device_id,
        authentication_id: r.authentication_id,
        expires_at: r.expires_at,
        revoked_at: r.token_revoked_at,
      },
      device: {
        id: r.device_id,
        customer_id: r.customer_id,
        public_jwk: r.public_jwk,
        label: r.label,
        enrolled_at: r.enrolled_at,
        revoked_at: r.revoked_at,
      },
    };
  }

  // --- security notices

  async insertNotices(
    rows: {
      id: string;
      customer_id: string;
      device_id: string;
      kind: SecurityNoticeKind;
      by_device_id: string;
      at: number;
    }[],
  ): Promise<void> {
    if (rows.length > 0) await this.t.insertInto('security_notices').values(rows).execute();
  }

  /**
   * The device's unacknowledged notices, oldest first; within one ms in insertion order
   * (SQLite rowid; PostgreSQL ctid: an unacknowledged notice was never updated, so its
   * tuple stays where it was inserted). At most OPEN_NOTICES_SHOWN.
   */
  openNotices(deviceId: string): Promise<NoticeRow[]> {
    return openNoticesOf.rows(this.c, { deviceId });
  }

  /** Acknowledge a notice of this device (again is fine): false when the device has no such notice. */
  async acknowledgeNotice(id: string, deviceId: string, at: number): Promise<boolean> {
    const r = await this.t
      .updateTable('security_notices')
      .set((e) => ({ acknowledged_at: e.fn.coalesce('acknowledged_at', e.val(at)) }))
      .where('id', '=', id)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
