import { z } from 'zod';
import { IsoTime, LIMITS, OpaqueId } from './common.ts';

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

export const ChatMessage = z.strictObject({
  requestId: OpaqueId.describe('The request (conversation) the message belongs to.'),
  seq: ChatSeq,
  clientMsgId: OpaqueId.describe("The sender's id for the message (a resend with it is not stored twice)."),
  sender: ChatSender,
  staffId: OpaqueId.optional().describe('The agent who wrote it (agent messages only).'),
  text: ChatText,
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
