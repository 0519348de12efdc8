import {
  ChatServerFrame,
  ChatText,
  Transcript,
  type ChatAttachment,
  type ChatClientFrame,
  type ChatMessage,
} from '../protocol/src/chat.ts';

/** Listeners get the payload only; `on` returns the unsubscribe function. */
class Emitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => {
      set.delete(listener as (payload: never) => void);
    };
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    for (const listener of [...(this.listeners.get(event) ?? [])])
      (listener as (payload: Events[K]) => void)(payload);
  }
}

/**
 * Verified chat (issue 18) on either side of a conversation: the customer's app (the SDK's
 * `device.chat()`, over its feed) and the agent's console (renderer/src/state/chat.ts,
 * through main/core's authority connection) use the same session.
 *
 * - `send(text)` gives the message a `clientMsgId`; it stays "sending" until the
 *   authority's `chat.ack` says it is durable. One message is on its way at a time, the
 *   next one after the previous one's ack (or final refusal), so the authority stores them
 *   in the order written even when one must wait (`rate_limited`: the whole session waits
 *   the pause asked for, then sends that message again) or a reconnect resends them.
 * - After a reconnect, `connected()` sends `chat.resume` from `Transcript.resumeAfter`
 *   and then the messages still unacknowledged, in order, with their same clientMsgId
 *   (the authority stores a resend once).
 * - Messages are shown in seq order, each once (a message ahead of a gap is held).
 * - Receipts: the other side's `delivered` / `read` up to a seq turn own messages' ticks;
 *   `markRead()` tells the other side what this side has shown, and is said again when the
 *   other side resumes (its `delivered`), so a reload or a transfer keeps the Read ticks.
 * - Typing: `typing(active)` sends at most one frame per change; the other side's
 *   indicator clears itself after `typingTimeoutMs` without news.
 */

export type ChatRole = 'customer' | 'agent';
export type ChatDelivery = 'sending' | 'sent' | 'delivered' | 'read' | 'refused';
export type ChatRefusal = 'stale_fence' | 'not_holder' | 'rate_limited' | 'ended';

/** One line of the conversation as a UI shows it. */
export interface ChatEntry {
  /** Stable across the ack (the clientMsgId). */
  key: string;
  clientMsgId: string;
  /** null while the message is not yet acknowledged. */
  seq: number | null;
  sender: ChatRole;
  /** Agent messages: who wrote it (after a transfer, not always this agent); null when unknown. */
  staffId: string | null;
  /** Plain text: render it as text, never as HTML. */
  text: string;
  /** The file the message carries (an image to show inline, a PDF to download), if any. */
  attachment: ChatAttachment | null;
  at: string | null;
  /** Own messages only: where the message is. */
  delivery: ChatDelivery | null;
  refusal: ChatRefusal | null;
}

export interface ChatTransport {
  /** Sends the frame now; false when not connected (the session resends after `connected()`). */
  send(frame: ChatClientFrame): boolean;
}

export interface ChatSessionOptions {
  requestId: string;
  /** Which side this session is. */
  role: ChatRole;
  transport: ChatTransport;
  /** Agents: the fence of their lease, sent with each message. */
  fence?: () => number | undefined;
  newId?: () => string;
  now?: () => Date;
  typingTimeoutMs?: number;
}

export interface ChatSessionEvents extends Record<string, unknown> {
  /** Anything shown changed (messages, ticks, typing, online). */
  change: readonly ChatEntry[];
  /** A message from the other side, shown for the first time. */
  message: ChatMessage;
  typing: boolean;
  refused: { clientMsgId: string; code: ChatRefusal };
}

interface Pending {
  clientMsgId: string;
  text: string;
  seq: number | null;
  refusal: ChatRefusal | null;
}

/** A new url-safe message id (16 random bytes, base64url). */
export function newClientMsgId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export class ChatError extends Error {}

export class ChatSession extends Emitter<ChatSessionEvents> {
  readonly transcript: Transcript;
  readonly role: ChatRole;
  online = false;
  /** The other side is typing. */
  otherTyping = false;
  /** Own messages the other side has received / read, up to this seq. */
  deliveredUpTo = 0;
  readUpTo = 0;
  /** What this side has told the other side it read. */
  private readSent = 0;
  private readonly pending: Pending[] = [];
  private typingSent = false;
  private typingTimer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** The clientMsgId on its way (sent on this connection, no ack or refusal yet). */
  private inFlight: string | null = null;
  /** The authority asked this sender to wait (`rate_limited`): nothing is sent until it ends. */
  private pauseTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: ChatSessionOptions) {
    super();
    this.transcript = new Transcript(opts.requestId);
    this.role = opts.role;
  }

  get requestId(): string {
    return this.opts.requestId;
  }

  /** The conversation as shown: acknowledged messages in seq order, then those still on their way. */
  get entries(): ChatEntry[] {
    const own = new Map(this.pending.map((p) => [p.clientMsgId, p]));
    const shown: ChatEntry[] = this.transcript.messages.map((m) => {
      own.delete(m.clientMsgId);
      const mine = m.sender === this.role;
      return {
        key: m.clientMsgId,
        clientMsgId: m.clientMsgId,
        seq: m.seq,
        sender: m.sender,
        staffId: m.staffId ?? null,
        text: m.text,
        attachment: m.attachment ?? null,
        at: m.at,
        delivery: mine ? this.deliveryOf(m.seq) : null,
        refusal: null,
      };
    });
    for (const p of own.values())
      shown.push({
        key: p.clientMsgId,
        clientMsgId: p.clientMsgId,
        seq: p.seq,
        sender: this.role,
        staffId: null,
        text: p.text,
        attachment: null,
        at: null,
        delivery: p.refusal ? 'refused' : p.seq !== null ? this.deliveryOf(p.seq) : 'sending',
        refusal: p.refusal,
      });
    return shown;
  }

  /** Messages from the other side not yet marked read here. */
  get unread(): number {
    return this.transcript.unreadAfter(this.readSent, this.role);
  }

  /** Messages still waiting for their ack (resent after a reconnect). */
  get unacknowledged(): number {
    return this.pending.filter((p) => p.seq === null && !p.refusal).length;
  }

  /** Send a message (plain text). Returns its clientMsgId; throws ChatError on empty or too long text. */
  send(text: string): string {
    if (this.closed) throw new ChatError('the conversation is over');
    const checked = ChatText.safeParse(text);
    if (!checked.success) throw new ChatError(checked.error.issues[0]?.message ?? 'invalid message');
    const p: Pending = {
      clientMsgId: (this.opts.newId ?? newClientMsgId)(),
      text,
      seq: null,
      refusal: null,
    };
    this.pending.push(p);
    this.sendNext();
    this.typing(false);
    this.changed();
    return p.clientMsgId;
  }

  /**
   * A message this side stored over HTTP (a file: the attachment routes answer the message
   * as stored): shown in its place at once, each once (the feed may bring it again).
   */
  received(message: ChatMessage): void {
    if (message.requestId !== this.requestId) return;
    this.apply(message);
    this.changed();
  }

  /** The connection is (again) open: resume from the last seq held, then resend what is unacknowledged. */
  connected(): void {
    this.online = true;
    if (this.closed) return this.changed();
    this.opts.transport.send({
      type: 'chat.resume',
      requestId: this.requestId,
      after: this.transcript.resumeAfter,
    });
    this.inFlight = null;
    this.sendNext();
    this.typingSent = false;
    this.changed();
  }

  /** The connection dropped: messages wait and are resent on `connected()`. */
  disconnected(): void {
    this.online = false;
    this.inFlight = null;
    this.setOtherTyping(false);
    this.changed();
  }

  /** Tell the other side this side is (not) typing; one frame per change. */
  typing(active: boolean): void {
    if (active === this.typingSent || this.closed) return;
    if (this.opts.transport.send({ type: 'chat.typing', requestId: this.requestId, active }))
      this.typingSent = active;
  }

  /** Everything shown has been seen: send a read receipt up to the end of the gap-free transcript. */
  markRead(): void {
    const upTo = this.transcript.resumeAfter;
    if (upTo <= this.readSent || this.transcript.unreadAfter(this.readSent, this.role) === 0) return;
    if (this.opts.transport.send({ type: 'chat.read', requestId: this.requestId, upTo })) {
      this.readSent = upTo;
      this.changed();
    }
  }

  /** A frame from the authority (anything not about this conversation is ignored). */
  handle(input: ChatServerFrame | unknown): void {
    const parsed = ChatServerFrame.safeParse(input);
    if (!parsed.success) return;
    const f = parsed.data;
    const requestId = f.type === 'chat.message' ? f.message.requestId : f.requestId;
    if (requestId !== this.requestId) return;
    switch (f.type) {
      case 'chat.ack': {
        const p = this.pending.find((x) => x.clientMsgId === f.clientMsgId);
        if (!p) return;
        p.seq = f.seq;
        p.refusal = null;
        if (this.inFlight === p.clientMsgId) this.inFlight = null;
        // The ack is the message's durable form: show it in its place at once.
        this.apply({
          requestId: this.requestId,
          seq: f.seq,
          clientMsgId: p.clientMsgId,
          sender: this.role,
          text: p.text,
          at: (this.opts.now?.() ?? new Date()).toISOString(),
        });
        this.sendNext();
        return this.changed();
      }
      case 'chat.message': {
        const result = this.apply(f.message);
        this.sendNext();
        if (f.message.sender !== this.role) {
          if (result === 'added') this.setOtherTyping(false);
        }
        return this.changed();
      }
      case 'chat.receipt':
        if (f.by === this.role) return;
        if (f.kind === 'read') this.readUpTo = Math.max(this.readUpTo, f.upTo);
        this.deliveredUpTo = Math.max(this.deliveredUpTo, f.upTo);
        // 'delivered' comes when the other side (re)joined and resumed: a reloaded app or a
        // new agent after a transfer knows nothing of what was read here, so say it again.
        if (f.kind === 'delivered' && this.readSent > 0 && !this.closed)
          this.opts.transport.send({ type: 'chat.read', requestId: this.requestId, upTo: this.readSent });
        return this.changed();
      case 'chat.typing':
        if (f.by === this.role) return;
        this.setOtherTyping(f.active);
        return this.changed();
      case 'chat.refused': {
        const p = this.pending.find((x) => x.clientMsgId === f.clientMsgId);
        if (!p) return;
        if (this.inFlight === p.clientMsgId) this.inFlight = null;
        if (f.code === 'rate_limited') {
          // The whole session waits the pause asked for, then sends this one again (same id)
          // before any later one: nothing overtakes it.
          if (this.pauseTimer) clearTimeout(this.pauseTimer);
          this.pauseTimer = setTimeout(
            () => {
              this.pauseTimer = null;
              this.sendNext();
            },
            (f.retryAfterSeconds ?? 1) * 1000,
          );
        } else {
          p.refusal = f.code;
          if (f.code === 'ended' || f.code === 'not_holder' || f.code === 'stale_fence') this.closed = true;
        }
        this.emit('refused', { clientMsgId: p.clientMsgId, code: f.code });
        this.sendNext();
        return this.changed();
      }
    }
  }

  /** Stop timers (the screen closed). */
  dispose(): void {
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.pauseTimer = null;
    if (this.typingTimer) clearTimeout(this.typingTimer);
  }

  private apply(m: ChatMessage): 'added' | 'duplicate' | 'held' {
    const before = this.transcript.messages.length;
    const result = this.transcript.apply(m);
    const shown = this.transcript.messages;
    for (let i = before; i < shown.length; i++) {
      const message = shown[i]!;
      const own = this.pending.findIndex((p) => p.clientMsgId === message.clientMsgId);
      if (own >= 0) {
        const [p] = this.pending.splice(own, 1);
        if (p && this.inFlight === p.clientMsgId) this.inFlight = null;
      } else if (message.sender !== this.role) this.emit('message', message);
    }
    return result;
  }

  /** The first message still unacknowledged goes out, unless one is on its way or the session waits. */
  private sendNext(): void {
    if (this.closed || this.inFlight !== null || this.pauseTimer !== null) return;
    const p = this.pending.find((x) => x.seq === null && !x.refusal);
    if (p && this.transmit(p)) this.inFlight = p.clientMsgId;
  }

  private transmit(p: Pending): boolean {
    const fence = this.opts.fence?.();
    return this.opts.transport.send({
      type: 'chat.send',
      requestId: this.requestId,
      clientMsgId: p.clientMsgId,
      text: p.text,
      ...(fence !== undefined ? { fence } : {}),
    });
  }

  private deliveryOf(seq: number): ChatDelivery {
    if (seq <= this.readUpTo) return 'read';
    if (seq <= this.deliveredUpTo) return 'delivered';
    return 'sent';
  }

  private setOtherTyping(active: boolean): void {
    if (this.typingTimer) clearTimeout(this.typingTimer);
    this.typingTimer = null;
    if (active)
      this.typingTimer = setTimeout(() => {
        this.typingTimer = null;
        this.setOtherTyping(false);
        this.changed();
      }, this.opts.typingTimeoutMs ?? 8000);
    if (this.otherTyping === active) return;
    this.otherTyping = active;
    this.emit('typing', active);
  }

  private changed(): void {
    this.emit('change', this.entries);
  }
}

/** The file types a chat accepts (a file picker's `accept`). */
export const ATTACHMENT_ACCEPT = 'image/png,image/jpeg,image/webp,application/pdf';

/** A picked file's name as the attachment routes take it: no path separators nor control characters, at most 200. */
export function attachmentName(name: string): string {
  const clean = [...name]
    .map((c) => (c === '/' || c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f ? '_' : c))
    .join('')
    .slice(0, 200);
  return clean || 'file';
}

/** A size in plain words: 900 B, 12 KB, 3.4 MB. */
export function fileSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * A refused file in plain words, from the authority's error (its code, and for a file too
 * large the limit its message names): what the sender reads under the composer.
 */
export function attachmentErrorText(name: string, e: unknown): string {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  switch (code) {
    case 'payload_too_large': {
      const limit = /(\d+) bytes/.exec(message)?.[1];
      return `"${name}" is too large to send${limit ? ` (the limit is ${fileSize(Number(limit))})` : ''}.`;
    }
    case 'unsupported_media_type':
      return `"${name}" cannot be sent: only PNG, JPEG or WebP images and PDF documents can.`;
    case 'rate_limited':
      return `"${name}" was not sent: too many messages at once. Try again in a moment.`;
    case 'stale_fence':
    case 'not_assigned':
    case 'conflict':
      return `"${name}" was not sent: this conversation is no longer open to you.`;
    default:
      return `"${name}" was not sent: ${message}`;
  }
}

/** Splits text into plain-text parts and links (http/https only) to show, never to follow by themselves. */
export function linkParts(text: string): Array<{ kind: 'text' | 'link'; text: string }> {
  const parts: Array<{ kind: 'text' | 'link'; text: string }> = [];
  const re = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/gi;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parts.push({ kind: 'text', text: text.slice(last, m.index) });
    parts.push({ kind: 'link', text: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push({ kind: 'text', text: text.slice(last) });
  return parts;
}

/** The channels a menu option offers (voice when it says nothing). */
export function offeredChannels(option: {
  channels?: readonly string[] | undefined;
}): Array<'voice' | 'chat'> {
  const list = (option.channels ?? ['voice']).filter(
    (c): c is 'voice' | 'chat' => c === 'voice' || c === 'chat',
  );
  return list.length ? list : ['voice'];
}
