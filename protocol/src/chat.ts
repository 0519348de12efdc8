import { z } from 'zod';
import {
  ATTACHMENT_DEFAULT_MAX_BYTES,
  ATTACHMENT_TYPES,
  IsoTime,
  LIMITS,
  OpaqueId,
  ShortText,
} from './common.ts';
import { HistoryCursor, HistoryQuery } from './device-account.ts';
import { RequestParams } from './pipeline.ts';
import { ADMIN, ANY_STAFF, route, SUPERVISORS, type RouteDef } from './route-def.ts';

/**
 * Verified chat (issue 18): the frames a chat exchanges over the authority's WebSocket
 * and the client-side transcript that makes a reconnect lossless. Not yet wired into
 * ClientFrame / ServerFrame (ws.ts): the authority side lands with the chat service.
 *
 * Ordering: the authority numbers each conversation's messages 1, 2, 3... (`seq`) in the
 * unit that persists them, and acknowledges a send only after that commit. A client
 * resumes with the highest seq it holds without a gap (`Transcript.resumeAfter`), so a
 * message is never lost and never shown twice.
 */

/** Message text: plain text, shown as text (never as HTML), at most LIMITS.longText characters. */
export const ChatText = z
  .string()
  .max(LIMITS.longText)
  .refine((s) => s.trim().length > 0, 'a message needs some text')
  .describe('Plain text (never interpreted as HTML); links are shown, never followed automatically.');

export const ChatSeq = z
  .number()
  .int()
  .min(1)
  .max(Number.MAX_SAFE_INTEGER)
  .describe('Per-conversation sequence number, from 1.');

export const ChatSender = z.enum(['customer', 'agent']).describe('Who wrote the message.');

/** A file carried by a chat message (no bytes: download them by id). */
export const ChatAttachment = z.strictObject({
  id: OpaqueId.describe('The attachment (download it with the attachment routes).'),
  kind: z.enum(['image', 'pdf']).describe('image: shown inline; pdf: offered as a download.'),
  mediaType: z
    .enum(ATTACHMENT_TYPES)
    .describe('The type sniffed from its bytes (equal to the declared one).'),
  name: ShortText.describe("The file's name as the sender gave it (shown, never used as a path)."),
  size: z.number().int().min(1).describe('Its size in bytes.'),
});
export type ChatAttachment = z.infer<typeof ChatAttachment>;

export const ChatMessage = z.strictObject({
  requestId: OpaqueId.describe('The request (conversation) the message belongs to.'),
  seq: ChatSeq,
  clientMsgId: OpaqueId.describe("The sender's id for the message (a resend with it is not stored twice)."),
  sender: ChatSender,
  staffId: OpaqueId.optional().describe('The agent who wrote it (agent messages only).'),
  text: ChatText.describe(
    'Plain text (never interpreted as HTML); with an attachment, its caption or else the file name.',
  ),
  attachment: ChatAttachment.optional().describe('The file the message carries, if any.'),
  at: IsoTime.describe('When the authority stored it.'),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/** Frames a chat client sends (customer device or agent console). */
export const ChatClientFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('chat.send'),
    requestId: OpaqueId,
    clientMsgId: OpaqueId,
    /** Agents: the fence of their lease (a sender who no longer holds the request is refused). */
    fence: z.number().int().min(0).optional(),
    text: ChatText,
  }),
  z.strictObject({ type: z.literal('chat.read'), requestId: OpaqueId, upTo: ChatSeq }),
  z.strictObject({ type: z.literal('chat.typing'), requestId: OpaqueId, active: z.boolean() }),
  z.strictObject({
    type: z.literal('chat.resume'),
    requestId: OpaqueId,
    after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  }),
]);
export type ChatClientFrame = z.infer<typeof ChatClientFrame>;

/** Frames the authority sends about a chat. */
export const ChatServerFrame = z.discriminatedUnion('type', [
  /** To the sender: the message is durable with this seq. */
  z.strictObject({ type: z.literal('chat.ack'), requestId: OpaqueId, clientMsgId: OpaqueId, seq: ChatSeq }),
  z.strictObject({ type: z.literal('chat.message'), message: ChatMessage }),
  z.strictObject({
    type: z.literal('chat.receipt'),
    requestId: OpaqueId,
    kind: z.enum(['delivered', 'read']),
    by: ChatSender,
    upTo: ChatSeq,
  }),
  z.strictObject({
    type: z.literal('chat.typing'),
    requestId: OpaqueId,
    by: ChatSender,
    active: z.boolean(),
  }),
  z.strictObject({
    type: z.literal('chat.refused'),
    requestId: OpaqueId,
    clientMsgId: OpaqueId,
    code: z.enum(['stale_fence', 'not_holder', 'rate_limited', 'ended']),
    retryAfterSeconds: z.number().int().min(1).optional(),
  }),
]);
export type ChatServerFrame = z.infer<typeof ChatServerFrame>;

export type ApplyResult = 'added' | 'duplicate' | 'held';

/**
 * One conversation as a client holds it: messages in seq order, each once. A message
 * arriving ahead of a gap is held until the gap is filled (`held`); one already held or
 * shown is a `duplicate`. `resumeAfter` is what to send in `chat.resume` after a reconnect.
 */
export class Transcript {
  private readonly shown: ChatMessage[] = [];
  private readonly ahead = new Map<number, ChatMessage>();

  constructor(readonly requestId: string) {}

  /** The highest seq held with no gap before it (0 when none). */
  get resumeAfter(): number {
    return this.shown.length;
  }

  /** Messages to show, in seq order, each once. */
  get messages(): readonly ChatMessage[] {
    return this.shown;
  }

  apply(m: ChatMessage): ApplyResult {
    if (m.requestId !== this.requestId) throw new Error('message of another conversation');
    if (m.seq <= this.shown.length || this.ahead.has(m.seq)) return 'duplicate';
    if (m.seq !== this.shown.length + 1) {
      this.ahead.set(m.seq, m);
      return 'held';
    }
    this.shown.push(m);
    for (
      let next = this.ahead.get(this.shown.length + 1);
      next;
      next = this.ahead.get(this.shown.length + 1)
    ) {
      this.ahead.delete(next.seq);
      this.shown.push(next);
    }
    return 'added';
  }

  /** Messages after `seq` that the other side has not yet read (unread counts). */
  unreadAfter(seq: number, reader: 'customer' | 'agent'): number {
    return this.shown.filter((m) => m.seq > seq && m.sender !== reader).length;
  }
}

// ---- transcripts (the request's record: the console's History, the customer's past conversations) ----

/** Page sizes of a transcript read (messages by seq). */
export const TRANSCRIPT_PAGE = Object.freeze({ defaultSize: 100, maxSize: 500 });

export const TranscriptQuery = z.strictObject({
  after: z
    .string()
    .regex(/^(?:0|[1-9][0-9]{0,14})$/, 'a seq: 0 or a whole number')
    .optional()
    .describe('Only messages after this seq (default 0: from the first); nextAfter of the previous page.'),
  limit: z
    .string()
    .regex(/^(?:[1-9][0-9]?|[1-4][0-9]{2}|500)$/, `a page size from 1 to ${TRANSCRIPT_PAGE.maxSize}`)
    .optional()
    .describe(`Page size, 1 to ${TRANSCRIPT_PAGE.maxSize} (default ${TRANSCRIPT_PAGE.defaultSize}).`),
});
export type TranscriptQuery = z.infer<typeof TranscriptQuery>;

/** A deleted transcript as the customer's device learns it: when, nothing else (no staff ids, no reason). */
export const TranscriptDeleted = z.strictObject({
  at: IsoTime.describe('When its messages were deleted.'),
});
export type TranscriptDeleted = z.infer<typeof TranscriptDeleted>;

/** Longest reason an administrator gives for deleting a transcript. */
export const TRANSCRIPT_DELETE_REASON_MAX = 500;

/** A deleted transcript as staff learn it: when, why, and whether retention or an administrator deleted it. */
export const StaffTranscriptDeleted = TranscriptDeleted.extend({
  by: z
    .enum(['retention', 'administrator'])
    .describe('retention: the configured retention period ran out; administrator: deleted on request.'),
  staffId: OpaqueId.optional().describe('The administrator who deleted it (administrator only).'),
  reason: z.string().max(TRANSCRIPT_DELETE_REASON_MAX).describe('Why it was deleted.'),
});
export type StaffTranscriptDeleted = z.infer<typeof StaffTranscriptDeleted>;

export const ChatTranscript = z.strictObject({
  requestId: OpaqueId.describe('The request (conversation).'),
  messages: z
    .array(ChatMessage)
    .describe('This page of its messages, in seq order (each once); none once the transcript was deleted.'),
  nextAfter: ChatSeq.nullable().describe('Pass as `after` for the next page; null on the last.'),
  deleted: TranscriptDeleted.optional().describe(
    'Present when the transcript was deleted (retention or an administrator): its messages are gone.',
  ),
});
export type ChatTranscript = z.infer<typeof ChatTranscript>;

export const TranscriptAgent = z.strictObject({
  staffId: OpaqueId.describe("The staff member (as in a message's staffId)."),
  displayName: ShortText.describe('Their display name.'),
});

/** A transcript as staff read it: with the names of everyone who held the request. */
export const StaffChatTranscript = ChatTranscript.extend({
  deleted: StaffTranscriptDeleted.optional().describe(
    'Present when the transcript was deleted (retention or an administrator): its messages are gone.',
  ),
  agents: z
    .array(TranscriptAgent)
    .describe("Everyone who held the request, in custody order: the names behind the messages' staffId."),
});
export type StaffChatTranscript = z.infer<typeof StaffChatTranscript>;

export const ConversationItem = z.strictObject({
  requestId: OpaqueId.describe('The chat request (conversation).'),
  optionLabel: ShortText.describe('What the customer asked for (the menu option).'),
  at: IsoTime.describe('When the customer asked (it joined the queue).'),
  endedAt: IsoTime.nullable().describe('When it ended, or null while open.'),
  messageCount: z.number().int().min(0).describe('How many messages it holds.'),
  lastMessageAt: IsoTime.nullable().describe('When its last message was stored, or null when none.'),
  deleted: TranscriptDeleted.optional().describe(
    'Present when its transcript was deleted (retention or an administrator): no messages remain.',
  ),
});
export type ConversationItem = z.infer<typeof ConversationItem>;

export const ConversationList = z.strictObject({
  conversations: z
    .array(ConversationItem)
    .describe("This page of the customer's chat requests, newest first."),
  nextCursor: HistoryCursor.nullable().describe(
    'Pass as `cursor` for the next (older) page; null on the last.',
  ),
});
export type ConversationList = z.infer<typeof ConversationList>;

export const DeleteTranscriptBody = z.strictObject({
  reason: z
    .string()
    .max(TRANSCRIPT_DELETE_REASON_MAX)
    .refine((s) => s.trim().length > 0, 'a reason is required')
    .describe(
      `Why the transcript is deleted (1 to ${TRANSCRIPT_DELETE_REASON_MAX} characters), kept in the audit log.`,
    ),
});
export type DeleteTranscriptBody = z.infer<typeof DeleteTranscriptBody>;

export const TranscriptDeletion = z.strictObject({
  requestId: OpaqueId.describe('The request whose transcript was deleted.'),
  deleted: StaffTranscriptDeleted.describe('When, by whom and why (as staff views of the transcript say).'),
  messageCount: z.number().int().min(0).describe('How many messages were deleted.'),
});
export type TranscriptDeletion = z.infer<typeof TranscriptDeletion>;

// ---- attachments (images and PDF, sent with a message of their own) ----

/** A file name as sent in the query: no path separators nor control characters. */
const AttachmentName = z
  .string()
  .min(1)
  .max(LIMITS.shortText)
  .refine(
    (s) => ![...s].some((c) => c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
    'a file name without path separators or control characters',
  )
  .describe(
    "The file's name (shown to the other party; at most 200 characters, no / \\ or control characters).",
  );

export const AttachmentQuery = z.strictObject({
  clientMsgId: OpaqueId.describe(
    "The sender's id for the message that carries the file (a retry with it answers the same seq, nothing stored twice).",
  ),
  name: AttachmentName,
  caption: ChatText.optional().describe('Text sent with the file (default: its name).'),
});
export type AttachmentQuery = z.infer<typeof AttachmentQuery>;

export const AgentAttachmentQuery = AttachmentQuery.extend({
  fence: z
    .string()
    .regex(/^(?:0|[1-9][0-9]{0,14})$/, 'a fencing number')
    .describe(
      'The fencing number the caller holds the request under (a sender who no longer holds it is refused).',
    ),
});
export type AgentAttachmentQuery = z.infer<typeof AgentAttachmentQuery>;

export const AttachmentParams = RequestParams.extend({
  attachmentId: OpaqueId.describe('The attachment (ChatAttachment.id).'),
});

/** The answer to an upload: the message that carries the file is durable with this seq (like chat.ack). */
export const AttachmentSent = z.strictObject({
  requestId: OpaqueId,
  clientMsgId: OpaqueId,
  seq: ChatSeq,
  message: ChatMessage.describe('The message as stored (the other party receives it as chat.message).'),
});
export type AttachmentSent = z.infer<typeof AttachmentSent>;

const ATTACH_ERRORS = (who: 'device' | 'agent') => ({
  400: 'invalid_request: the query does not match the schema, or the body is empty.',
  ...(who === 'agent'
    ? {
        403: 'not_assigned: the caller does not hold the request (any more: after a transfer the old holder is refused).',
        409: 'stale_fence: `fence` is not the current fencing number; conflict: the request has ended.',
      }
    : { 409: 'conflict: the request has ended.' }),
  404:
    who === 'device'
      ? "not_found: no such request of this device (another customer's or device's answers the same)."
      : 'not_found: no such request.',
  413: `payload_too_large: the file is larger than the configured limit (chatAttachmentMaxBytes, default ${ATTACHMENT_DEFAULT_MAX_BYTES} bytes).`,
  415: `unsupported_media_type: the Content-Type is not one of ${ATTACHMENT_TYPES.join(', ')}, or the bytes are not what it says (their magic numbers decide).`,
  429: 'rate_limited: too many messages from this sender (files count like text messages); Retry-After says when.',
});

/** At most this many quick replies per agent, each at most QUICK_REPLY_MAX_CHARS characters. */
export const QUICK_REPLIES_MAX = 20;
export const QUICK_REPLY_MAX_CHARS = 1000;

/** The list an agent starts with (until they save their own, an empty one included). */
export const DEFAULT_QUICK_REPLIES = [
  'Hello, thank you for waiting. How can I help?',
  'One moment please, I am checking this for you.',
  'Is there anything else I can help you with?',
] as const;

/** One quick reply: plain text with something in it, trimmed by the authority. */
export const QuickReply = z
  .string()
  .max(QUICK_REPLY_MAX_CHARS)
  .refine((s) => s.trim().length > 0, 'a quick reply needs some text')
  .describe('Plain text sent as a chat message when the agent picks it (never interpreted as HTML).');

export const QuickRepliesBody = z.strictObject({
  replies: z
    .array(QuickReply)
    .max(QUICK_REPLIES_MAX)
    .describe(`The whole list, in the order shown (0 to ${QUICK_REPLIES_MAX}; it replaces the one stored).`),
});
export type QuickRepliesBody = z.infer<typeof QuickRepliesBody>;

/** The site's team quick replies: one list shared by every agent, kept by supervisors and admins. */
export const TeamQuickReplies = z.strictObject({
  replies: z
    .array(z.string())
    .max(QUICK_REPLIES_MAX)
    .describe(
      "The team's quick replies, in order (every agent's console offers them; read-only for agents).",
    ),
  updatedAt: IsoTime.nullable().describe(
    'When a supervisor or admin last saved them (null: never, an empty list).',
  ),
});
export type TeamQuickReplies = z.infer<typeof TeamQuickReplies>;

export const QuickReplies = z.strictObject({
  replies: z
    .array(z.string())
    .max(QUICK_REPLIES_MAX)
    .describe("The agent's own quick replies, in order (editable)."),
  updatedAt: IsoTime.nullable().describe('When the agent last saved them (null: never, the defaults).'),
  team: TeamQuickReplies.describe(
    "The team's quick replies, shared by every agent (kept by supervisors and admins: `PUT /v1/supervisor/quick-replies`).",
  ),
});
export type QuickReplies = z.infer<typeof QuickReplies>;

export const chatRoutes = {
  requestTranscript: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/transcript',
    summary: "A chat request's transcript, a page of messages by seq",
    description:
      "The request's chat messages after `after`, in seq order, at most `limit`, with the names of everyone who held it; a deleted transcript has no messages and says when, why and by what (`deleted`). Caller: an agent who holds or held the request (custody) or was offered it; a supervisor or admin any request (each read audited: chat.transcript.read). Changes nothing else; safe to repeat.",
    errors: {
      400: 'invalid_request: `after` is not a seq, or `limit` is not 1 to 500.',
      403: 'forbidden: an agent who never held nor was offered the request.',
      404: 'not_found: no such request.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    query: TranscriptQuery,
    response: StaffChatTranscript,
  }),
  deviceConversations: route({
    method: 'GET',
    path: '/v1/device/conversations',
    summary: "The customer's past and open chat conversations, newest first, paged",
    description:
      "The chat requests of this device's customer (from any of its devices), newest first: the option asked for, when, when it ended, how many messages and when the last one was stored (`deleted` with its date once the transcript was deleted). Keyset-paged: pass `nextCursor` as `cursor` for older ones. Only the caller's own customer's conversations are ever listed. Caller: an authenticated device (device token + Device-Proof). Changes nothing.",
    errors: {
      400: 'invalid_request: `limit` is not 1 to 50, or `cursor` is not a nextCursor of this route.',
    },
    tag: 'device',
    auth: 'device',
    query: HistoryQuery,
    response: ConversationList,
  }),
  deviceConversation: route({
    method: 'GET',
    path: '/v1/device/conversations/:requestId/messages',
    summary: "One of the customer's conversations: a page of its messages by seq",
    description:
      "The messages of one of this device's customer's requests after `after`, in seq order, at most `limit` (read-only); a deleted transcript has none and says when (`deleted.at`). Caller: an authenticated device (device token + Device-Proof). Another customer's request answers 404, like one that does not exist. Changes nothing.",
    errors: {
      400: 'invalid_request: `after` is not a seq, or `limit` is not 1 to 500.',
      404: "not_found: no such request of this customer (another customer's answers the same).",
    },
    tag: 'device',
    auth: 'device',
    params: RequestParams,
    query: TranscriptQuery,
    response: ChatTranscript,
  }),
  deleteTranscript: route({
    method: 'DELETE',
    path: '/v1/admin/requests/:requestId/transcript',
    summary: "Delete a finished chat request's transcript (audited)",
    description:
      'Deletes every chat message of a finished (completed or abandoned) request and keeps a marker: when, by whom, why, how many messages. Audited (chat.transcript.delete, with the reason). Every view of the transcript then says it was deleted instead of showing messages. Caller: an admin. Not repeatable: a second delete answers 409.',
    errors: {
      403: 'forbidden: not an admin.',
      404: 'not_found: no such request.',
      409: 'conflict: the request is still live (not completed nor abandoned), or its transcript was already deleted.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: RequestParams,
    body: DeleteTranscriptBody,
    response: TranscriptDeletion,
  }),
  deviceAttach: route({
    method: 'POST',
    path: '/v1/device/conversations/:requestId/attachments',
    summary: 'Send a file (image or PDF) in a chat, as a message of its own',
    description:
      "Stores the file (PNG, JPEG, WebP or PDF: the bytes' magic numbers must agree with the Content-Type) and the message that carries it, in one unit, before answering with its seq; the agent holding the request receives the message (`chat.message`, with `attachment`). Audited (chat.attachment). Caller: the request's own device (device token + Device-Proof). Idempotent with `clientMsgId`.",
    errors: ATTACH_ERRORS('device'),
    tag: 'device',
    auth: 'device',
    params: RequestParams,
    query: AttachmentQuery,
    bodyKind: 'file',
    response: AttachmentSent,
    status: 201,
  }),
  agentAttach: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/attachments',
    summary: 'Send a file (image or PDF) in a chat the caller holds, as a message of its own',
    description:
      "Stores the file (PNG, JPEG, WebP or PDF: the bytes' magic numbers must agree with the Content-Type) and the message that carries it, in one unit, before answering with its seq; the customer's device receives the message (`chat.message`, with `attachment`). Audited (chat.attachment). Fenced: after a transfer the old holder is refused like a text message. Caller: the staff member holding the request. Idempotent with `clientMsgId`.",
    errors: ATTACH_ERRORS('agent'),
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    query: AgentAttachmentQuery,
    bodyKind: 'file',
    response: AttachmentSent,
    status: 201,
  }),
  deviceAttachment: route({
    method: 'GET',
    path: '/v1/device/conversations/:requestId/attachments/:attachmentId',
    summary: "A file of one of the customer's conversations (its bytes)",
    description:
      "The bytes of an attachment, with the Content-Type sniffed when it was stored; a PDF comes with `Content-Disposition: attachment` (never shown in place), every answer with `X-Content-Type-Options: nosniff`. Caller: an authenticated device of the request's customer (device token + Device-Proof). Changes nothing.",
    errors: {
      404: "not_found: no such attachment of this customer's conversation (another customer's answers the same; so does one deleted with its transcript).",
    },
    tag: 'device',
    auth: 'device',
    params: AttachmentParams,
    responseKind: 'file',
    response: z.any(),
  }),
  requestAttachment: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/attachments/:attachmentId',
    summary: "A file of a chat request's transcript (its bytes)",
    description:
      'The bytes of an attachment, with the Content-Type sniffed when it was stored; a PDF comes with `Content-Disposition: attachment`, every answer with `X-Content-Type-Options: nosniff`. Caller: whoever may read the transcript: an agent who holds or held the request (custody) or was offered it; a supervisor or admin any (each read audited: chat.attachment.read). Changes nothing else.',
    errors: {
      403: 'forbidden: an agent who never held nor was offered the request.',
      404: 'not_found: no such request or attachment (one deleted with its transcript answers the same).',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: AttachmentParams,
    responseKind: 'file',
    response: z.any(),
  }),
  myQuickReplies: route({
    method: 'GET',
    path: '/v1/agent/quick-replies',
    summary: "The caller's chat quick replies",
    description:
      "The caller's own list of quick replies (the console shows them beside a chat; picking one sends it as a message), or the defaults until they save one (`updatedAt` null). Caller: any staff member. Changes nothing.",
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    response: QuickReplies,
  }),
  setQuickReplies: route({
    method: 'PUT',
    path: '/v1/agent/quick-replies',
    summary: "Replace the caller's chat quick replies (audited)",
    description:
      "Stores the caller's whole list of quick replies (each trimmed; the console's editor adds, edits, deletes and reorders, then saves the list). An empty list is kept as empty (no defaults). Audited (chat.quick_replies.set, with the count). Caller: any staff member, for themself only. Safe to repeat.",
    errors: {
      400: `invalid_request: more than ${QUICK_REPLIES_MAX} replies, an empty one, or one longer than ${QUICK_REPLY_MAX_CHARS} characters.`,
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    body: QuickRepliesBody,
    response: QuickReplies,
  }),
  teamQuickReplies: route({
    method: 'GET',
    path: '/v1/supervisor/quick-replies',
    summary: "The team's chat quick replies",
    description:
      "The site's team list of quick replies, shared by every agent (an agent reads it with their own, `team` of `GET /v1/agent/quick-replies`); empty with `updatedAt` null until saved. Caller: a supervisor or admin. Changes nothing.",
    tag: 'console',
    auth: 'staff',
    roles: SUPERVISORS,
    response: TeamQuickReplies,
  }),
  setTeamQuickReplies: route({
    method: 'PUT',
    path: '/v1/supervisor/quick-replies',
    summary: "Replace the team's chat quick replies (audited)",
    description:
      "Stores the site's whole team list of quick replies (each trimmed; the same limits as an agent's own), which every agent's console offers beside a chat under \"Team\" (agents cannot change it). An empty list is kept as empty. Consoles read it with the agent's list (at sign-in and when a chat is opened). Audited (chat.team_quick_replies.set, actor the supervisor or admin, with the count). Caller: a supervisor or admin. Safe to repeat.",
    errors: {
      400: `invalid_request: more than ${QUICK_REPLIES_MAX} replies, an empty one, or one longer than ${QUICK_REPLY_MAX_CHARS} characters.`,
    },
    tag: 'console',
    auth: 'staff',
    roles: SUPERVISORS,
    body: QuickRepliesBody,
    response: TeamQuickReplies,
  }),
} as const satisfies Record<string, RouteDef>;
