import { sql, type Selectable } from 'kysely';
import type { PhotosTable, PinsTable, WebauthnCredentialsTable } from '../schema.ts';
import { prepared } from '../prepared.ts';
import { Repo } from './base.ts';

// Compiled once (prepared.ts): GET /v1/device/me asks each of them at every call.
const pinOf = prepared((q, p: { customerId: string }) =>
  q.selectFrom('pins').select('customer_id').where('customer_id', '=', p.customerId).limit(1),
);
/** Which factors a customer has enrolled: one statement for GET /v1/device/me (three reads were three round trips). */
const enrolledOf = prepared((q, p: { customerId: string }) =>
  q.selectNoFrom((eb) => [
    eb.exists(eb.selectFrom('pins').select('customer_id').where('customer_id', '=', p.customerId)).as('pin'),
    eb
      .exists(eb.selectFrom('webauthn_credentials').select('id').where('customer_id', '=', p.customerId))
      .as('biometric'),
    eb
      .exists(
        eb
          .selectFrom('photos')
          .select('id')
          .where('customer_id', '=', p.customerId)
          .where('purpose', '=', 'enrolment'),
      )
      .as('photo'),
  ]),
);
const enrolmentPhotoOf = prepared((q, p: { customerId: string }) =>
  q
    .selectFrom('photos')
    .select('id')
    .where('customer_id', '=', p.customerId)
    .where('purpose', '=', 'enrolment')
    .limit(1),
);

/** A customer's PIN as stored (argon2id hash, consecutive failures, lock). */
export type PinRow = Selectable<PinsTable>;
/** A WebAuthn credential bound to one device. */
export type CredentialRow = Selectable<WebauthnCredentialsTable>;
/** A photo without its bytes. */
export type PhotoMeta = Omit<Selectable<PhotosTable>, 'bytes'>;
/** A verification photo with the name of the staff member who compared it (null while pending). */
export type VerificationPhoto = PhotoMeta & { compared_by_name: string | null };

const PHOTO_META = [
  'id',
  'customer_id',
  'device_id',
  'authentication_id',
  'purpose',
  'media_type',
  'created_at',
  'verdict',
  'compared_by',
  'compared_at',
] as const;

/**
 * Tables: pins, webauthn_credentials, photos, knowledge_questions, and the knowledge
 * lockout columns of customers (knowledge_failures, knowledge_locked_until).
 *
 * Lockouts reserve an attempt before any hash is evaluated: `reservePinAttempt` and
 * `reserveKnowledgeAttempt` are one guarded UPDATE each, so of any number of racing
 * callers at most `max` get a reservation in a row (PostgreSQL: they queue on the row lock
 * and re-check the WHERE clause against the committed row).
 */
export class FactorsRepo extends Repo {
  // ---- PIN ------------------------------------------------------------------------------

  /** The customer's PIN row, or undefined when no PIN is set. */
  pin(customerId: string): Promise<PinRow | undefined> {
    return this.q.selectFrom('pins').selectAll().where('customer_id', '=', customerId).executeTakeFirst();
  }

  /** Whether the customer has a PIN, a passkey on any device and an enrolment photo (EXISTS: 0/1 on SQLite, booleans on PostgreSQL). */
  async enrolled(customerId: string): Promise<{ pin: boolean; biometric: boolean; photo: boolean }> {
    const r = (await enrolledOf.first(this.c, { customerId }))!;
    return { pin: Number(r.pin) === 1, biometric: Number(r.biometric) === 1, photo: Number(r.photo) === 1 };
  }

  async hasPin(customerId: string): Promise<boolean> {
    return (await pinOf.first(this.c, { customerId })) !== undefined;
  }

  /** Set or replace the PIN: failures and lock start over. */
  async setPin(customerId: string, hash: string, at: number): Promise<void> {
    await this.q
      .insertInto('pins')
      .values({ customer_id: customerId, hash, failures: 0, locked_until: null, updated_at: at })
      .onConflict((oc) =>
        oc.column('customer_id').doUpdateSet({ hash, failures: 0, locked_until: null, updated_at: at }),
      )
      .execute();
  }

  /**
   * Reserve one PIN attempt: count it as a failure now, unless the PIN is locked (`max`
   * failures reached, or locked_until still ahead of `now`). The hash to check and the
   * failures including this attempt, or undefined (no PIN, or locked).
   */
  reservePinAttempt(
    customerId: string,
    max: number,
    now: number,
  ): Promise<{ hash: string; failures: number } | undefined> {
    return this.q
      .updateTable('pins')
      .set((eb) => ({ failures: eb('failures', '+', 1), updated_at: now }))
      .where('customer_id', '=', customerId)
      .where('failures', '<', max)
      .where((eb) => eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', now)]))
      .returning(['hash', 'failures'])
      .executeTakeFirst();
  }

  /** The right PIN (or an admin): no failures, no lock. false when the customer has no PIN. */
  async clearPinFailures(customerId: string): Promise<boolean> {
    const r = await this.q
      .updateTable('pins')
      .set({ failures: 0, locked_until: null })
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  /** Refuse the PIN until `until` (ms; Number.MAX_SAFE_INTEGER: until an admin unlocks it). */
  async lockPin(customerId: string, until: number): Promise<void> {
    await this.q
      .updateTable('pins')
      .set({ locked_until: until })
      .where('customer_id', '=', customerId)
      .execute();
  }

  /** Whether the PIN is locked beyond `now`. */
  async pinLockedAt(customerId: string, now: number): Promise<boolean> {
    const r = await this.q
      .selectFrom('pins')
      .select('customer_id')
      .where('customer_id', '=', customerId)
      .where('locked_until', '>', now)
      .executeTakeFirst();
    return r !== undefined;
  }

  // ---- knowledge questions ----------------------------------------------------------------

  async addQuestion(row: {
    id: string;
    customer_id: string;
    prompt: string;
    answer_hash: string;
  }): Promise<void> {
    await this.q.insertInto('knowledge_questions').values(row).execute();
  }

  /** The customer's questions in the order they were added (SQLite rowid; PostgreSQL physical order: rows are never updated). */
  questions(customerId: string): Promise<{ id: string; prompt: string }[]> {
    return this.q
      .selectFrom('knowledge_questions')
      .select(['id', 'prompt'])
      .where('customer_id', '=', customerId)
      .orderBy(this.c.engine === 'sqlite' ? sql`rowid` : sql`ctid`)
      .execute();
  }

  /** The answer hash of question `questionId` of this customer, or undefined. */
  async answerHash(questionId: string, customerId: string): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('knowledge_questions')
      .select('answer_hash')
      .where('id', '=', questionId)
      .where('customer_id', '=', customerId)
      .executeTakeFirst();
    return r?.answer_hash;
  }

  /** The customer's knowledge lockout, or undefined when there is no such customer. */
  async knowledgeLock(
    customerId: string,
  ): Promise<{ failures: number; lockedUntil: number | null } | undefined> {
    const r = await this.q
      .selectFrom('customers')
      .select(['knowledge_failures', 'knowledge_locked_until'])
      .where('id', '=', customerId)
      .executeTakeFirst();
    return r && { failures: r.knowledge_failures, lockedUntil: r.knowledge_locked_until };
  }

  /** Reserve one knowledge check (counted as a failure now) unless locked: the failures including it, or undefined. */
  async reserveKnowledgeAttempt(customerId: string, max: number, now: number): Promise<number | undefined> {
    const r = await this.q
      .updateTable('customers')
      .set((eb) => ({ knowledge_failures: eb('knowledge_failures', '+', 1) }))
      .where('id', '=', customerId)
      .where('knowledge_failures', '<', max)
      .where((eb) =>
        eb.or([eb('knowledge_locked_until', 'is', null), eb('knowledge_locked_until', '<=', now)]),
      )
      .returning('knowledge_failures')
      .executeTakeFirst();
    return r?.knowledge_failures;
  }

  /** A knowledge lock that has run out by `now` starts over (failures 0): true when one did. */
  async resetExpiredKnowledgeLock(customerId: string, now: number): Promise<boolean> {
    const r = await this.q
      .updateTable('customers')
      .set({ knowledge_failures: 0, knowledge_locked_until: null })
      .where('id', '=', customerId)
      .where('knowledge_locked_until', '<=', now)
      .executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  async lockKnowledge(customerId: string, until: number): Promise<void> {
    await this.q
      .updateTable('customers')
      .set({ knowledge_locked_until: until })
      .where('id', '=', customerId)
      .execute();
  }

  async clearKnowledgeFailures(customerId: string): Promise<void> {
    await this.q
      .updateTable('customers')
      .set({ knowledge_failures: 0, knowledge_locked_until: null })
      .where('id', '=', customerId)
      .execute();
  }

  /** Whether the knowledge questions are locked beyond `now`. */
  async knowledgeLockedAt(customerId: string, now: number): Promise<boolean> {
    const r = await this.q
      .selectFrom('customers')
      .select('id')
      .where('id', '=', customerId)
      .where('knowledge_locked_until', '>', now)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** The customer's display name (the WebAuthn user name), or undefined. */
  async holderName(customerId: string): Promise<string | undefined> {
    const r = await this.q
      .selectFrom('customers')
      .select('display_name')
      .where('id', '=', customerId)
      .executeTakeFirst();
    return r?.display_name;
  }

  // ---- WebAuthn ---------------------------------------------------------------------------

  credentialsOfDevice(deviceId: string): Promise<CredentialRow[]> {
    return this.q
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /** Credential `id` if it is registered on `deviceId`. */
  credentialOnDevice(id: string, deviceId: string): Promise<CredentialRow | undefined> {
    return this.q
      .selectFrom('webauthn_credentials')
      .selectAll()
      .where('id', '=', id)
      .where('device_id', '=', deviceId)
      .executeTakeFirst();
  }

  /** Register a credential: false (nothing written) when its id is already registered. */
  async insertCredential(row: Omit<CredentialRow, 'counter_anomaly_at'>): Promise<boolean> {
    const r = await this.q
      .insertInto('webauthn_credentials')
      .values({ ...row, counter_anomaly_at: null })
      .onConflict((oc) => oc.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Move the signature counter from `from` to `to` (compare-and-swap): false when it moved meanwhile. */
  async advanceCounter(id: string, from: number, to: number): Promise<boolean> {
    const r = await this.q
      .updateTable('webauthn_credentials')
      .set({ counter: to })
      .where('id', '=', id)
      .where('counter', '=', from)
      .executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  /** Flag a possible clone: the authenticator signed a counter that went backwards. */
  async markCounterAnomaly(id: string, at: number): Promise<void> {
    await this.q
      .updateTable('webauthn_credentials')
      .set({ counter_anomaly_at: at })
      .where('id', '=', id)
      .execute();
  }

  // ---- photos -------------------------------------------------------------------------------

  async hasEnrolmentPhoto(customerId: string): Promise<boolean> {
    return (await enrolmentPhotoOf.first(this.c, { customerId })) !== undefined;
  }

  /** Store a photo (no verdict yet). */
  async insertPhoto(
    row: Omit<Selectable<PhotosTable>, 'verdict' | 'compared_by' | 'compared_at'>,
  ): Promise<void> {
    await this.q
      .insertInto('photos')
      .values({ ...row, verdict: null, compared_by: null, compared_at: null })
      .execute();
  }

  /** Verification photo `photoId` of authentication `authenticationId` (without its bytes), or undefined. */
  verificationPhoto(photoId: string, authenticationId: string): Promise<PhotoMeta | undefined> {
    return this.q
      .selectFrom('photos')
      .select(PHOTO_META)
      .where('id', '=', photoId)
      .where('authentication_id', '=', authenticationId)
      .where('purpose', '=', 'verification')
      .executeTakeFirst();
  }

  /** The latest verification photo of an authentication with who compared it, or undefined. */
  latestVerificationPhoto(authenticationId: string): Promise<VerificationPhoto | undefined> {
    return this.q
      .selectFrom('photos as p')
      .leftJoin('staff as s', 's.id', 'p.compared_by')
      .select(PHOTO_META.map((c) => `p.${c}` as const))
      .select('s.display_name as compared_by_name')
      .where('p.authentication_id', '=', authenticationId)
      .where('p.purpose', '=', 'verification')
      .orderBy('p.created_at', 'desc')
      .orderBy(this.c.engine === 'sqlite' ? sql`p.rowid` : sql`p.ctid`, 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Record the comparison of a photo not compared yet: false when it already was (one verdict per photo). */
  async recordVerdict(
    photoId: string,
    verdict: 'match' | 'no_match',
    staffId: string,
    at: number,
  ): Promise<boolean> {
    const r = await this.q
      .updateTable('photos')
      .set({ verdict, compared_by: staffId, compared_at: at })
      .where('id', '=', photoId)
      .where('verdict', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return r !== undefined;
  }
}
