import { Repo } from './base.ts';

/** An agent's quick replies as stored. */
export interface StoredQuickReplies {
  replies: string[];
  updatedAt: number;
}

/** Table: quick_replies (one row per staff member who saved a list; the list is JSON, in order). */
export class QuickRepliesRepo extends Repo {
  async get(staffId: string): Promise<StoredQuickReplies | undefined> {
    const row = await this.q
      .selectFrom('quick_replies')
      .select(['replies', 'updated_at'])
      .where('staff_id', '=', staffId)
      .executeTakeFirst();
    if (!row) return undefined;
    const list: unknown = JSON.parse(row.replies);
    return {
      replies: Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [],
      updatedAt: row.updated_at,
    };
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
}
