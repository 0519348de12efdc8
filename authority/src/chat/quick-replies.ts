import {
  DEFAULT_QUICK_REPLIES,
  type QuickReplies as QuickRepliesView,
  type QuickRepliesBody,
  type TeamQuickReplies as TeamQuickRepliesView,
} from '../../../protocol/src/chat.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';

const trimmed = (body: QuickRepliesBody): string[] => body.replies.map((s) => s.trim());

/**
 * Chat quick replies (README.md): a staff member's own list, stored through the
 * quick_replies repository (the defaults until they save one), and the site's team list
 * shared by every agent (empty until a supervisor or admin saves one); each replaced whole
 * by the console's editor, each save audited in the same unit. The route's roles keep the
 * team list to supervisors and admins.
 */
export class QuickReplies {
  constructor(private readonly ctx: Ctx) {}

  /** The caller's own list and the team's (read-only for agents). */
  async mine(staff: StaffRow): Promise<QuickRepliesView> {
    const stored = await this.ctx.data.read.quickReplies.get(staff.id);
    const own = stored
      ? { replies: stored.replies, updatedAt: iso(stored.updatedAt) }
      : { replies: [...DEFAULT_QUICK_REPLIES], updatedAt: null };
    return { ...own, team: await this.team() };
  }

  async set(staff: StaffRow, body: QuickRepliesBody): Promise<QuickRepliesView> {
    const replies = trimmed(body);
    const now = this.ctx.clock.now();
    await this.ctx.data.tx(async (r) => {
      await r.quickReplies.put(staff.id, replies, now);
      await r.audit.append({
        actor: `staff:${staff.id}`,
        action: 'chat.quick_replies.set',
        subject: `staff:${staff.id}`,
        outcome: 'success',
        data: { count: replies.length },
      });
    });
    return { replies, updatedAt: iso(now), team: await this.team() };
  }

  /** The site's team list (empty, `updatedAt` null, until saved). */
  async team(): Promise<TeamQuickRepliesView> {
    const stored = await this.ctx.data.read.quickReplies.team();
    return stored
      ? { replies: stored.replies, updatedAt: iso(stored.updatedAt) }
      : { replies: [], updatedAt: null };
  }

  /** A supervisor or admin replaces the team list (audited with them as the actor). */
  async setTeam(staff: StaffRow, body: QuickRepliesBody): Promise<TeamQuickRepliesView> {
    const replies = trimmed(body);
    const now = this.ctx.clock.now();
    await this.ctx.data.tx(async (r) => {
      await r.quickReplies.putTeam(replies, staff.id, now);
      await r.audit.append({
        actor: `staff:${staff.id}`,
        action: 'chat.team_quick_replies.set',
        subject: 'site_quick_replies:site',
        outcome: 'success',
        data: { count: replies.length },
      });
    });
    return { replies, updatedAt: iso(now) };
  }
}
