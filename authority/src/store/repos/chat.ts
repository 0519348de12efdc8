import type { Insertable, Selectable } from 'kysely';
import type {
  ChatAttachmentsTable,
  ChatMessagesTable,
  ChatTranscriptDeletionsTable,
  RequestsTable,
} from '../schema.ts';
import { inSlices, Repo } from './base.ts';

export type ChatMessageRow = Selectable<ChatMessagesTable>;
export type TranscriptDeletionRow = Selectable<ChatTranscriptDeletionsTable>;
export type ChatAttachmentRow = Selectable<ChatAttachmentsTable>;
/** An attachment as a message carries it (no bytes). */
export type ChatAttachmentMeta = Omit<ChatAttachmentRow, 'bytes' | 'created_at'>;
/** A chat request as the customer's list of conversations shows it. */
export type ConversationRow = Pick<
  Selectable<RequestsTable>,
  'id' | 'option_label' | 'enqueued_at' | 'ended_at'
>;

/**
 * Table: chat_messages (verified chat, issue 18). A request's messages are numbered
 * 1, 2, 3... by (request_id, seq), the primary key: two units that pick the same next
 * seq cannot both commit (the loser retries). (request_id, sender, client_msg_id) is
 * unique: a resend of a stored message finds it instead of storing it twice.
 * Table: chat_transcript_deletions: one marker per request whose transcript was deleted
 * (retention or an administrator); its messages are gone, the marker says when, by whom, why.
 * Table: chat_attachments: a file (image or PDF) carried by one message, (request_id, seq)
 * unique; its bytes in the row like photos. Deleted with the transcript.
 */
export class ChatRepo extends Repo {
  byClientId(
    requestId: string,
    sender: 'customer' | 'agent',
    clientMsgId: string,
  ): Promise<ChatMessageRow | undefined> {
    return this.q
      .selectFrom('chat_messages')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('sender', '=', sender)
      .where('client_msg_id', '=', clientMsgId)
      .executeTakeFirst();
  }

  /** The seq the next message of the request gets (1 for the first). */
  async nextSeq(requestId: string): Promise<number> {
    const r = await this.q
      .selectFrom('chat_messages')
      .select((eb) => eb.fn.max('seq').as('top'))
      .where('request_id', '=', requestId)
      .executeTakeFirst();
    return Number(r?.top ?? 0) + 1;
  }

  insert(row: Insertable<ChatMessagesTable>): Promise<ChatMessageRow> {
    return this.q.insertInto('chat_messages').values(row).returningAll().executeTakeFirstOrThrow();
  }

  /** The request's messages after `seq`, in order (at most `limit`). */
  after(requestId: string, seq: number, limit = 1000): Promise<ChatMessageRow[]> {
    return this.q
      .selectFrom('chat_messages')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('seq', '>', seq)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  insertAttachment(row: Insertable<ChatAttachmentsTable>): Promise<void> {
    return this.q
      .insertInto('chat_attachments')
      .values(row)
      .execute()
      .then(() => undefined);
  }

  /** One attachment of the request, with its bytes. */
  attachment(requestId: string, id: string): Promise<ChatAttachmentRow | undefined> {
    return this.q
      .selectFrom('chat_attachments')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** The attachments (no bytes) of the request's messages with these seqs, by seq. */
  async attachmentsOf(requestId: string, seqs: readonly number[]): Promise<Map<number, ChatAttachmentMeta>> {
    if (seqs.length === 0) return new Map();
    const rows = await inSlices(seqs, (s) =>
      this.q
        .selectFrom('chat_attachments')
        .select(['id', 'request_id', 'seq', 'kind', 'media_type', 'name', 'size'])
        .where('request_id', '=', requestId)
        .where('seq', 'in', s)
        .execute(),
    );
    return new Map(rows.map((r) => [Number(r.seq), r]));
  }

  /** How many messages each of these requests holds. */
  async counts(requestIds: readonly string[]): Promise<Map<string, number>> {
    if (requestIds.length === 0) return new Map();
    const rows = await this.q
      .selectFrom('chat_messages')
      .select((eb) => ['request_id', eb.fn.countAll().as('n')])
      .where('request_id', 'in', requestIds)
      .groupBy('request_id')
      .execute();
    return new Map(rows.map((r) => [r.request_id, Number(r.n)]));
  }

  /** How many messages each of these requests holds and when the last was stored (requests with none are absent). */
  async summaries(requestIds: readonly string[]): Promise<Map<string, { n: number; last: number }>> {
    const rows = await inSlices(requestIds, (ids) =>
      this.q
        .selectFrom('chat_messages')
        .select((eb) => ['request_id', eb.fn.countAll().as('n'), eb.fn.max('at').as('last')])
        .where('request_id', 'in', ids)
        .groupBy('request_id')
        .execute(),
    );
    return new Map(rows.map((r) => [r.request_id, { n: Number(r.n), last: Number(r.last) }]));
  }

  /** The customer's chat requests, newest first (by enqueued_at, then id), after the cursor's row. */
  conversations(
    customerId: string,
    limit: number,
    before?: { at: number; id: string },
  ): Promise<ConversationRow[]> {
    let q = this.q
      .selectFrom('requests')
      .select(['id', 'option_label', 'enqueued_at', 'ended_at'])
      .where('customer_id', '=', customerId)
      .where('channel', '=', 'chat');
    if (before)
      q = q.where((eb) =>
        eb.or([
          eb('enqueued_at', '<', before.at),
          eb.and([eb('enqueued_at', '=', before.at), eb('id', '<', before.id)]),
        ]),
      );
    return q.orderBy('enqueued_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /** The marker of the request's deleted transcript, if it was deleted. */
  deletion(requestId: string): Promise<TranscriptDeletionRow | undefined> {
    return this.q
      .selectFrom('chat_transcript_deletions')
      .selectAll()
      .where('request_id', '=', requestId)
      .executeTakeFirst();
  }

  /** The markers of those of these requests whose transcript was deleted. */
  async deletions(requestIds: readonly string[]): Promise<Map<string, TranscriptDeletionRow>> {
    const rows = await inSlices(requestIds, (ids) =>
      this.q.selectFrom('chat_transcript_deletions').selectAll().where('request_id', 'in', ids).execute(),
    );
    return new Map(rows.map((r) => [r.request_id, r]));
  }

  /**
   * Delete the request's messages (and their attachments) and leave the marker, in this unit. The marker goes
   * first (its primary key): of two units deleting the same transcript, the second finds
   * it and deletes nothing (undefined). Returns the marker with how many messages went.
   */
  async deleteTranscript(d: {
    requestId: string;
    at: number;
    byActor: string;
    reason: string;
  }): Promise<TranscriptDeletionRow | undefined> {
    const marked = await this.q
      .insertInto('chat_transcript_deletions')
      .values({
        request_id: d.requestId,
        deleted_at: d.at,
        by_actor: d.byActor,
        reason: d.reason,
        message_count: 0,
      })
      .onConflict((oc) => oc.column('request_id').doNothing())
      .returning('request_id')
      .executeTakeFirst();
    if (!marked) return undefined;
    await this.q.deleteFrom('chat_attachments').where('request_id', '=', d.requestId).execute();
    const gone = await this.q
      .deleteFrom('chat_messages')
      .where('request_id', '=', d.requestId)
      .executeTakeFirst();
    return await this.q
      .updateTable('chat_transcript_deletions')
      .set({ message_count: Number(gone.numDeletedRows) })
      .where('request_id', '=', d.requestId)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /**
   * Chat requests that ended (completed or abandoned) before `endedBefore` and still hold
   * messages, oldest end first, at most `limit`: what a retention sweep deletes next.
   */
  async retentionDue(endedBefore: number, limit: number): Promise<string[]> {
    const rows = await this.q
      .selectFrom('requests')
      .select('id')
      .where('state', 'in', ['completed', 'abandoned'])
      .where('ended_at', '<', endedBefore)
      .where('channel', '=', 'chat')
      .where((eb) =>
        eb.exists(
          eb
            .selectFrom('chat_messages')
            .select('seq')
            .whereRef('chat_messages.request_id', '=', 'requests.id'),
        ),
      )
      .orderBy('ended_at')
      .orderBy('id')
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }
}
