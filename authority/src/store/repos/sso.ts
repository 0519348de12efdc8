import type { Selectable } from 'kysely';
import type { Tx } from '../engine.ts';
import type { Database } from '../schema.ts';
import { consumeOnce } from '../single-use.ts';
import { Repo } from './base.ts';

export type SsoLinkRow = Selectable<Database['staff_sso_links']>;
export type SsoFlowRow = Selectable<Database['sso_flows']>;
export type SsoSessionRow = Selectable<Database['sso_sessions']>;

/** Tables: staff_sso_links, sso_flows, sso_sessions (single sign-on, authority/src/sso/). */
export class SsoRepo extends Repo {
  // --- flows: issued once, used once ---

  async insertFlow(row: Omit<SsoFlowRow, 'used_at'>): Promise<void> {
    await this.q.insertInto('sso_flows').values(row).execute();
  }

  /** Use up the flow of this state: the row for the one caller that did; undefined if unknown, used or expired. */
  async consumeFlow(stateHash: string): Promise<SsoFlowRow | undefined> {
    return await consumeOnce(this.q as Tx, 'sso_flows', stateHash, this.now());
  }

  /** The flow as it is (to tell a used state from an unknown one in the audit). */
  async flow(stateHash: string): Promise<SsoFlowRow | undefined> {
    return await this.q
      .selectFrom('sso_flows')
      .selectAll()
      .where('state_hash', '=', stateHash)
      .executeTakeFirst();
  }

  /** Forget flows and SSO sessions that expired before `before`. */
  async prune(before: number): Promise<void> {
    await this.q.deleteFrom('sso_flows').where('expires_at', '<', before).execute();
    await this.q.deleteFrom('sso_sessions').where('expires_at', '<', before).execute();
  }

  // --- links: (issuer, subject) -> staff ---

  async link(issuer: string, subject: string): Promise<SsoLinkRow | undefined> {
    return await this.q
      .selectFrom('staff_sso_links')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .executeTakeFirst();
  }

  /** The subject linked to this account at this issuer, if any. */
  async linkOfStaff(issuer: string, staffId: string): Promise<SsoLinkRow | undefined> {
    return await this.q
      .selectFrom('staff_sso_links')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('staff_id', '=', staffId)
      .executeTakeFirst();
  }

  /** Link a subject to an account unless either is linked already: false when one is (one guarded statement). */
  async insertLink(row: Omit<SsoLinkRow, 'last_sign_in_at'>): Promise<boolean> {
    const r = await this.q
      .insertInto('staff_sso_links')
      .values({ ...row, last_sign_in_at: row.created_at })
      .onConflict((oc) => oc.doNothing())
      .returning('staff_id')
      .executeTakeFirst();
    return r !== undefined;
  }

  async touchLink(issuer: string, subject: string): Promise<void> {
    await this.q
      .updateTable('staff_sso_links')
      .set({ last_sign_in_at: this.now() })
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .execute();
  }

  // --- sessions: the ID token of an SSO login, for RP-initiated logout ---

  async insertSession(row: SsoSessionRow): Promise<void> {
    await this.q.insertInto('sso_sessions').values(row).execute();
  }

  /**
   * A back-channel logout token (issuer, jti) seen for the first time: true and kept until
   * `expiresAt`; false for a replay. Expired ones go on the way.
   */
  async firstLogoutToken(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    await this.q.deleteFrom('sso_logout_tokens').where('expires_at', '<=', this.now()).execute();
    const r = await this.q
      .insertInto('sso_logout_tokens')
      .values({ issuer, jti, expires_at: expiresAt })
      .onConflict((oc) => oc.columns(['issuer', 'jti']).doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /**
   * Take the SSO sessions a provider's logout names: its session `sid`, else every session
   * of `subject` at `issuer` (OpenID Connect Back-Channel Logout 1.0, section 2.4).
   */
  async takeSessionsOf(
    issuer: string,
    by: { sid?: string | undefined; subject?: string | undefined },
  ): Promise<SsoSessionRow[]> {
    let q = this.q.deleteFrom('sso_sessions').where('issuer', '=', issuer);
    if (by.sid !== undefined) q = q.where('sid', '=', by.sid);
    if (by.subject !== undefined) q = q.where('subject', '=', by.subject);
    if (by.sid === undefined && by.subject === undefined) return [];
    return await q.returningAll().execute();
  }

  /** Take (read and delete) the SSO session of a refresh token family: its ID token is the logout's hint once. */
  async takeSession(familyId: string): Promise<SsoSessionRow | undefined> {
    return await this.q
      .deleteFrom('sso_sessions')
      .where('family_id', '=', familyId)
      .returningAll()
      .executeTakeFirst();
  }
}
