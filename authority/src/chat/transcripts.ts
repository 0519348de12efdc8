import {
  TRANSCRIPT_PAGE,
  type ChatTranscript,
  type ConversationList,
  type StaffChatTranscript,
  type TranscriptQuery,
} from '../../../protocol/src/chat.ts';
import { HISTORY_PAGE, type HistoryQuery } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, forbidden, notFound } from '../errors.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';
import { toChatMessage } from './chat-service.ts';

const SUPERVISOR_ROLES = new Set(['supervisor', 'admin']);

/**
 * Chat transcripts as part of a request's record (README.md): staff read one request's
 * messages by seq (an agent only a request they hold, held or were offered; supervisors
 * and admins any, each read audited), and a customer's device lists its customer's chat
 * conversations and reads one of them. Repositories only.
 */
export class Transcripts {
  constructor(private readonly ctx: Ctx) {}

  /** A page of the request's transcript for a staff member (403 for an agent it never reached, 404 unknown). */
  async forStaff(staff: StaffRow, requestId: string, q: TranscriptQuery): Promise<StaffChatTranscript> {
    const { after, limit } = pageOf(q);
    const read = this.ctx.data.read;
    const req = await read.requests.get(requestId);
    if (!req) throw notFound('no such request');
    const custody = await read.custody.list(requestId);
    const supervisor = SUPERVISOR_ROLES.has(staff.role);
    if (!supervisor) {
      const reached =
        custody.some((c) => c.staff_id === staff.id) ||
        (await read.requests.leases(requestId)).some((l) => l.agent_id === staff.id);
      if (!reached) throw forbidden('not a request you held or were offered');
    }
    const page = await this.page(requestId, after, limit);
    if (supervisor)
      await this.ctx.data.tx(async (r) => {
        await r.audit.append({
          actor: `staff:${staff.id}`,
          action: 'chat.transcript.read',
          subject: `request:${requestId}`,
          outcome: 'success',
          data: { after, limit, messages: page.messages.length },
        });
      });
    const agents: StaffChatTranscript['agents'] = [];
    for (const c of custody)
      if (!agents.some((a) => a.staffId === c.staff_id))
        agents.push({ staffId: c.staff_id, displayName: c.display_name });
    return { ...page, agents };
  }

  /** The device's customer's chat conversations, newest first, keyset-paged like the history. */
  async conversations(p: DevicePrincipal, q: HistoryQuery): Promise<ConversationList> {
    const limit = q.limit === undefined ? HISTORY_PAGE.defaultSize : Number(q.limit);
    let before: { at: number; id: string } | undefined;
    if (q.cursor !== undefined) {
      const dot = q.cursor.indexOf('.');
      const at = Number(q.cursor.slice(0, dot));
      if (!Number.isSafeInteger(at)) throw badRequest('cursor: not a nextCursor of this route');
      before = { at, id: q.cursor.slice(dot + 1) };
    }
    const read = this.ctx.data.read;
    const rows = await read.chat.conversations(p.device.customer_id, limit + 1, before);
    const page = rows.slice(0, limit);
    const sums = await read.chat.summaries(page.map((r) => r.id));
    const last = page[page.length - 1];
    return {
      conversations: page.map((r) => {
        const s = sums.get(r.id);
        return {
          requestId: r.id,
          optionLabel: r.option_label,
          at: iso(r.enqueued_at),
          endedAt: r.ended_at === null ? null : iso(r.ended_at),
          messageCount: s?.n ?? 0,
          lastMessageAt: s ? iso(s.last) : null,
        };
      }),
      nextCursor: rows.length > limit && last ? `${last.enqueued_at}.${last.id}` : null,
    };
  }

  /** A page of one of the device's customer's conversations (404 for anyone else's, as for none). */
  async forDevice(p: DevicePrincipal, requestId: string, q: TranscriptQuery): Promise<ChatTranscript> {
    const { after, limit } = pageOf(q);
    const req = await this.ctx.data.read.requests.get(requestId);
    if (!req || req.customer_id !== p.device.customer_id) throw notFound('no such conversation');
    const page = await this.page(requestId, after, limit);
    // The customer's copy names no staff member.
    return {
      ...page,
      messages: page.messages.map(({ staffId: _staffId, ...m }) => m),
    };
  }

  private async page(requestId: string, after: number, limit: number): Promise<ChatTranscript> {
    const rows = await this.ctx.data.read.chat.after(requestId, after, limit + 1);
    const messages = rows.slice(0, limit).map(toChatMessage);
    return {
      requestId,
      messages,
      nextAfter: rows.length > limit ? (messages[messages.length - 1]?.seq ?? null) : null,
    };
  }
}

function pageOf(q: TranscriptQuery): { after: number; limit: number } {
  const after = q.after === undefined ? 0 : Number(q.after);
  if (!Number.isSafeInteger(after)) throw badRequest('after: not a seq');
  return { after, limit: q.limit === undefined ? TRANSCRIPT_PAGE.defaultSize : Number(q.limit) };
}
