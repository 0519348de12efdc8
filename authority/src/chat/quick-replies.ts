import {
  DEFAULT_QUICK_REPLIES,
  type QuickReplies as QuickRepliesView,
  type QuickRepliesBody,
} from '../../../protocol/src/chat.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';

/**
 * A staff member's chat quick replies (README.md): their own list, stored through the
 * quick_replies repository (the defaults until they save one), replaced whole by the
 * console's editor; each save audited in the same unit.
 */
export class QuickReplies {
  constructor(private readonly ctx: Ctx) {}

  async mine(staff: StaffRow): Promise<QuickRepliesView> {
    const stored = await this.ctx.data.read.quickReplies.get(staff.id);
    return stored
      ? { replies: stored.replies, updatedAt: iso(stored.updatedAt) }
      : { replies: [...DEFAULT_QUICK_REPLIES], updatedAt: null };
  }

  async set(staff: StaffRow, body: QuickRepliesBody): Promise<QuickRepliesView> {
    const replies = body.replies.map((s) => s.trim());
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
    return { replies, updatedAt: iso(now) };
  }
}
