import {
  TRANSCRIPT_PAGE,
  type ChatTranscript,
  type ConversationList,
  type DeleteTranscriptBody,
  type StaffChatTranscript,
  type StaffTranscriptDeleted,
  type TranscriptDeletion,
  type TranscriptQuery,
} from '../../../protocol/src/chat.ts';
import { HISTORY_PAGE, type HistoryQuery } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, forbidden, notFound } from '../errors.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';
import type { TranscriptDeletionRow } from '../store/repos/chat.ts';
import { messagesOf } from './chat-service.ts';

const SUPERVISOR_ROLES = new Set(['supervisor', 'admin']);
/** A request whose transcript may be deleted: it is over. */
const FINISHED = new Set(['completed', 'abandoned']);
/** The retention sweep's actor in the audit log and on the marker. */
export const RETENTION_ACTOR = 'system:retention';
/** A retention sweep deletes at most RETENTION_BATCH transcripts per unit of work, RETENTION_BATCHES units per run. */
export const RETENTION_BATCH = 50;
export const RETENTION_BATCHES = 10;
const DAY_MS = 86_400_000;

/**
 * Chat transcripts as part of a request's record (README.md): staff read one request's
 * messages by seq (an agent only a request they hold, held or were offered; supervisors
 * and admins any, each read audited), and a customer's device lists its customer's chat
 * conversations and reads one of them. Repositories only.
 * Deletion (retention from configuration, or an admin with a reason) removes the messages,
 * leaves a marker and an audit row in the same unit; every view then says `deleted`.
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
    const supervisor = await this.checkStaffMayRead(staff, requestId, custody);
    const marker = await read.chat.deletion(requestId);
    const page: Omit<StaffChatTranscript, 'agents'> = marker
      ? { requestId, messages: [], nextAfter: null, deleted: staffDeleted(marker) }
      : await this.page(requestId, after, limit);
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

  /**
   * Whether `staff` may read the request's transcript (and its attachments): supervisors and
   * admins any (true: their reads are audited), an agent one they held (custody), were
   * offered, or are consulted on (the target of an open warm transfer: reading only, the
   * holder still writes), else 403.
   */
  async checkStaffMayRead(
    staff: StaffRow,
    requestId: string,
    custody?: readonly { staff_id: string }[],
  ): Promise<boolean> {
    if (SUPERVISOR_ROLES.has(staff.role)) return true;
    const read = this.ctx.data.read;
    const reached =
      (custody ?? (await read.custody.list(requestId))).some((c) => c.staff_id === staff.id) ||
      (await read.requests.leases(requestId)).some((l) => l.agent_id === staff.id) ||
      (await read.transfers.consultedOn(requestId, staff.id, this.ctx.clock.now()));
    if (!reached) throw forbidden('not a request you held, were offered or are consulted on');
    return false;
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
    const deletions = await read.chat.deletions(page.map((r) => r.id));
    const last = page[page.length - 1];
    return {
      conversations: page.map((r) => {
        const s = sums.get(r.id);
        const d = deletions.get(r.id);
        return {
          requestId: r.id,
          optionLabel: r.option_label,
          at: iso(r.enqueued_at),
          endedAt: r.ended_at === null ? null : iso(r.ended_at),
          messageCount: s?.n ?? 0,
          lastMessageAt: s ? iso(s.last) : null,
          ...(d ? { deleted: { at: iso(d.deleted_at) } } : {}),
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
    // The customer learns when, not who nor why.
    const marker = await this.ctx.data.read.chat.deletion(requestId);
    if (marker) return { requestId, messages: [], nextAfter: null, deleted: { at: iso(marker.deleted_at) } };
    const page = await this.page(requestId, after, limit);
    // The customer's copy names no staff member.
    return {
      ...page,
      messages: page.messages.map(({ staffId: _staffId, ...m }) => m),
    };
  }

  /**
   * An admin deletes a finished request's transcript, with a reason: the messages go, the
   * marker and the audit row (chat.transcript.delete) are written in the same unit. 404 for
   * an unknown request, 409 while it is live or once its transcript was deleted.
   */
  async deleteByAdmin(
    staff: StaffRow,
    requestId: string,
    body: DeleteTranscriptBody,
  ): Promise<TranscriptDeletion> {
    const reason = body.reason.trim();
    return await this.ctx.data.tx(async (r) => {
      const req = await r.requests.get(requestId);
      if (!req) throw notFound('no such request');
      if (!FINISHED.has(req.state))
        throw conflict('the request is still live: its transcript can be deleted once it ends');
      const byActor = `staff:${staff.id}`;
      const marker = await r.chat.deleteTranscript({ requestId, at: this.ctx.clock.now(), byActor, reason });
      if (!marker) throw conflict('the transcript was already deleted');
      await r.audit.append({
        actor: byActor,
        action: 'chat.transcript.delete',
        subject: `request:${requestId}`,
        outcome: 'success',
        data: { reason, messageCount: marker.message_count },
      });
      return { requestId, deleted: staffDeleted(marker), messageCount: marker.message_count };
    });
  }

  /**
   * Retention (config chatRetentionDays; unset: kept forever): the transcripts of chat
   * requests that ended more than that many days ago are deleted, one unit per batch, each
   * audited (actor system:retention). Any node may run it at any time: a transcript another
   * node deleted first is skipped (its marker). Returns how many were deleted.
   */
  async sweepRetention(): Promise<number> {
    const days = this.ctx.config.chatRetentionDays;
    if (days === undefined) return 0;
    const endedBefore = this.ctx.clock.now() - days * DAY_MS;
    const reason = `retention: ended more than ${days} days ago`;
    let deleted = 0;
    for (let b = 0; b < RETENTION_BATCHES; b++) {
      const due = await this.ctx.data.read.chat.retentionDue(endedBefore, RETENTION_BATCH);
      if (due.length === 0) break;
      deleted += await this.ctx.data.tx(async (r) => {
        let n = 0;
        for (const requestId of due) {
          const marker = await r.chat.deleteTranscript({
            requestId,
            at: this.ctx.clock.now(),
            byActor: RETENTION_ACTOR,
            reason,
          });
          if (!marker) continue;
          await r.audit.append({
            actor: RETENTION_ACTOR,
            action: 'chat.transcript.delete',
            subject: `request:${requestId}`,
            outcome: 'success',
            data: { reason, messageCount: marker.message_count, retentionDays: days },
          });
          n++;
        }
        return n;
      });
      if (due.length < RETENTION_BATCH) break;
    }
    return deleted;
  }

  private async page(
    requestId: string,
    after: number,
    limit: number,
  ): Promise<Omit<ChatTranscript, 'deleted'>> {
    const rows = await this.ctx.data.read.chat.after(requestId, after, limit + 1);
    const messages = await messagesOf(this.ctx.data.read, requestId, rows.slice(0, limit));
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

/** The marker as staff see it: retention or an administrator (with their id), and why. */
function staffDeleted(m: TranscriptDeletionRow): StaffTranscriptDeleted {
  return m.by_actor === RETENTION_ACTOR
    ? { at: iso(m.deleted_at), by: 'retention', reason: m.reason }
    : {
        at: iso(m.deleted_at),
        by: 'administrator',
        ...(m.by_actor.startsWith('staff:') ? { staffId: m.by_actor.slice('staff:'.length) } : {}),
        reason: m.reason,
      };
}
