import { Repo } from './base.ts';

/** An agent's quick replies as stored. */
export interface StoredQuickReplies {
  replies: string[];
  updatedAt: number;
}

/** The site's team quick replies as stored, with who saved them. */
export interface StoredTeamQuickReplies extends StoredQuickReplies {
  updatedBy: string;
}

/** The one site's key in site_quick_replies (the product has no teams yet: one list per site). */
const SITE = 'site';

const parseList = (json: string): string[] => {
  const list: unknown = JSON.parse(json);
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
};

/**
 * Tables: quick_replies (one row per staff member who saved a list) and site_quick_replies
 * (the team list shared by every agent, one row for the site); each list is JSON, in order.
 */
export class QuickRepliesRepo extends Repo {
  async get(staffId: string): Promise<StoredQuickReplies | undefined> {
    const row = await this.q
      .selectFrom('quick_replies')
      .select(['replies', 'updated_at'])
      .where('staff_id', '=', staffId)
      .executeTakeFirst();
    if (!row) return undefined;
    return { replies: parseList(row.replies), updatedAt: row.updated_at };
  }

  /** Replace the staff member's list (the row is made on the first save). */
  async put(staffId: string, replies: readonly string[], now: number): Promise<void> {
    const json = JSON.stringify(replies);
    await this.q
      .insertInto('quick_replies')
      .values({ staff_id: staffId, replies: json, updated_at: now })
      .onConflict((oc) => oc.column('staff_id').doUpdateSet({ replies: json, updated_at: now }))
      .execute();
  }

  /** The site's team list, or undefined until a supervisor or admin saves one. */
  async team(): Promise<StoredTeamQuickReplies | undefined> {
    const row = await this.q
      .selectFrom('site_quick_replies')
      .select(['replies', 'updated_by', 'updated_at'])
      .where('site', '=', SITE)
      .executeTakeFirst();
    if (!row) return undefined;
    return { replies: parseList(row.replies), updatedAt: row.updated_at, updatedBy: row.updated_by };
  }

  /** Replace the site's team list (the row is made on the first save). */
  async putTeam(replies: readonly string[], by: string, now: number): Promise<void> {
    const json = JSON.stringify(replies);
    await this.q
      .insertInto('site_quick_replies')
      .values({ site: SITE, replies: json, updated_by: by, updated_at: now })
      .onConflict((oc) => oc.column('site').doUpdateSet({ replies: json, updated_by: by, updated_at: now }))
      .execute();
  }
}
