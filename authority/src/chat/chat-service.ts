import { EventEmitter } from 'node:events';
import type { ChatClientFrame, ChatMessage, ChatServerFrame } from '../../../protocol/src/chat.ts';
import type { AttachmentType } from '../../../protocol/src/common.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { randomId } from '../ids.ts';
import type { Repos } from '../store/repos/index.ts';
import type { ChatAttachmentMeta, ChatMessageRow } from '../store/repos/chat.ts';
import type { RequestRow } from '../store/repos/requests.ts';

/** Who sends a chat frame: the customer's authenticated device, or a staff member. */
export type ChatParty =
  { kind: 'device'; deviceId: string } | { kind: 'staff'; staffId: string; role: string };

interface ChatEvents {
  /** A frame for the customer's sockets (the request's service session), on every node. */
  device: [sessionId: string, frame: ChatServerFrame];
  /** A frame for these staff members' sockets, on every node. */
  staff: [staffIds: string[], frame: ChatServerFrame];
}

/** Messages per sender and request within RATE_WINDOW_MS before `rate_limited`. */
export const RATE_MAX = 20;
export const RATE_WINDOW_MS = 10_000;
const ENDED_STATES = new Set(['completed', 'abandoned']);

export const toChatMessage = (m: ChatMessageRow, a?: ChatAttachmentMeta): ChatMessage => ({
  requestId: m.request_id,
  seq: Number(m.seq),
  clientMsgId: m.client_msg_id,
  sender: m.sender,
  ...(m.staff_id ? { staffId: m.staff_id } : {}),
  text: m.text,
  ...(a
    ? {
        attachment: {
          id: a.id,
          kind: a.kind,
          mediaType: a.media_type as AttachmentType,
          name: a.name,
          size: Number(a.size),
        },
      }
    : {}),
  at: iso(Number(m.at)),
});

/** The messages of these rows (one request's), each with the attachment it carries. */
export async function messagesOf(
  r: Repos,
  requestId: string,
  rows: readonly ChatMessageRow[],
): Promise<ChatMessage[]> {
  const atts = await r.chat.attachmentsOf(
    requestId,
    rows.map((m) => Number(m.seq)),
  );
  return rows.map((m) => toChatMessage(m, atts.get(Number(m.seq))));
}

/** A file a message carries, checked (type sniffed, size) by the caller. */
export interface NewAttachment {
  kind: 'image' | 'pdf';
  mediaType: AttachmentType;
  name: string;
  bytes: Buffer;
}

/** Why a message was not stored (chat.refused codes). */
export type RefusedCode = 'stale_fence' | 'not_holder' | 'rate_limited' | 'ended';

/** The outcome of storing a message: its row (fresh: stored now, not a resend), or why not. */
export type Stored =
  | { refused: RefusedCode; retryAfterSeconds?: number }
  | { refused?: undefined; message: ChatMessage; fresh: boolean };

/**
 * Verified chat on the authority (README.md): `handle` takes a validated chat frame of a
 * socket's principal and answers the sender through `reply`; frames for the other party
 * go out as 'device' / 'staff' events (app.ts hands them to ws/node-frames.ts, which
 * reaches sockets on every node).
 */
export class ChatService extends EventEmitter<ChatEvents> {
  private readonly sent = new Map<string, number[]>();
  /** The tail of each party's chain of chat work per request (`inOrder`). */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly ctx: Ctx) {
    super();
  }

  /**
   * Handle a chat frame. The frames of one party about one request are handled one after the
   * other, in the order they came (`inOrder`, entered before anything is awaited): frames of
   * a socket arrive in order, but handled side by side their units of work could take the
   * request's lock in any order and store a sender's messages out of the order sent (the
   * crash test found it on PostgreSQL: a resend of several messages after a reconnect).
   */
  handle(
    party: ChatParty,
    f: ChatClientFrame,
    reply: (frame: ChatServerFrame | { type: 'error'; code: string; message: string }) => void,
  ): Promise<void> {
    return this.inOrder(party, f.requestId, () => this.handleNow(party, f, reply));
  }

  private async handleNow(
    party: ChatParty,
    f: ChatClientFrame,
    reply: (frame: ChatServerFrame | { type: 'error'; code: string; message: string }) => void,
  ): Promise<void> {
    const req = await this.ctx.data.read.requests.get(f.requestId);
    const who = this.partyOf(party, req);
    if (!req || !who) {
      // Neither the request's device nor anyone who ever held it: nothing about it is told.
      return reply({ type: 'error', code: 'not_found', message: 'no such conversation' });
    }
    const holds =
      who === 'customer' ||
      (req.state === 'assigned' && req.agent_id === (party as { staffId: string }).staffId);
    switch (f.type) {
      case 'chat.resume': {
        const supervisor = party.kind === 'staff' && (party.role === 'supervisor' || party.role === 'admin');
        if (!holds && !supervisor)
          return reply({ type: 'error', code: 'not_holder', message: 'not your conversation' });
        const rows = await this.ctx.data.read.chat.after(req.id, f.after);
        for (const message of await messagesOf(this.ctx.data.read, req.id, rows))
          reply({ type: 'chat.message', message });
        // Everything up to the last message has now reached this side; the other side answers
        // with its read position again (ChatSession), so a reload or a new holder has the ticks.
        const last = rows.at(-1);
        if (holds && last)
          this.toOther(req, who, {
            type: 'chat.receipt',
            requestId: req.id,
            kind: 'delivered',
            by: who,
            upTo: Number(last.seq),
          });
        return;
      }
      case 'chat.typing':
        if (!holds || ENDED_STATES.has(req.state)) return;
        return this.toOther(req, who, { type: 'chat.typing', requestId: req.id, by: who, active: f.active });
      case 'chat.read':
        if (!holds) return;
        return this.toOther(req, who, {
          type: 'chat.receipt',
          requestId: req.id,
          kind: 'read',
          by: who,
          upTo: f.upTo,
        });
      case 'chat.send':
        return await this.send(party, who, req, f, reply);
    }
  }

  private partyOf(party: ChatParty, req: RequestRow | undefined): 'customer' | 'agent' | null {
    if (!req) return null;
    if (party.kind === 'device') return req.device_id === party.deviceId ? 'customer' : null;
    return 'agent';
  }

  private async send(
    party: ChatParty,
    who: 'customer' | 'agent',
    req: RequestRow,
    f: Extract<ChatClientFrame, { type: 'chat.send' }>,
    reply: (frame: ChatServerFrame) => void,
  ): Promise<void> {
    const out = await this.storeNow(party, who, req, {
      clientMsgId: f.clientMsgId,
      fence: f.fence,
      text: f.text,
    });
    if (out.refused !== undefined)
      return reply({
        type: 'chat.refused',
        requestId: req.id,
        clientMsgId: f.clientMsgId,
        code: out.refused,
        ...(out.retryAfterSeconds ? { retryAfterSeconds: out.retryAfterSeconds } : {}),
      });
    reply({ type: 'chat.ack', requestId: req.id, clientMsgId: f.clientMsgId, seq: out.message.seq });
  }

  /**
   * Store a message (text, or a file with its caption) of `who` on the request, in one
   * unit with the next seq, then send it to the other party. A resend (same clientMsgId)
   * answers the stored one; a sender over the rate limit, an agent who does not hold the
   * request under `fence`, or an ended request is refused. `audit` (attachments) is
   * appended in the same unit as the message. In order with the party's chat frames (`inOrder`).
   */
  store(
    party: ChatParty,
    who: 'customer' | 'agent',
    req: RequestRow,
    m: { clientMsgId: string; fence: number | undefined; text: string; attachment?: NewAttachment },
  ): Promise<Stored> {
    return this.inOrder(party, req.id, () => this.storeNow(party, who, req, m));
  }

  private async storeNow(
    party: ChatParty,
    who: 'customer' | 'agent',
    req: RequestRow,
    m: { clientMsgId: string; fence: number | undefined; text: string; attachment?: NewAttachment },
  ): Promise<Stored> {
    const staffId = party.kind === 'staff' ? party.staffId : null;
    const resend = async (r: Repos, row: ChatMessageRow): Promise<Stored> => ({
      message: (await messagesOf(r, req.id, [row]))[0]!,
      fresh: false,
    });
    // A resend of a stored message: the same seq again, nothing stored twice.
    const known = await this.ctx.data.read.chat.byClientId(req.id, who, m.clientMsgId);
    if (known) return await resend(this.ctx.data.read, known);
    const wait = this.rateLimited(`${req.id}:${who}:${staffId ?? ''}`);
    if (wait > 0) return { refused: 'rate_limited', retryAfterSeconds: wait };
    const now = this.ctx.clock.now();
    const out = await this.ctx.data.tx(async (r): Promise<Stored & { holder?: RequestRow }> => {
      const cur = await r.requests.get(req.id);
      if (!cur || ENDED_STATES.has(cur.state)) return { refused: 'ended' };
      if (staffId !== null) {
        if (cur.state !== 'assigned' || cur.agent_id !== staffId) return { refused: 'not_holder' };
        if (m.fence === undefined || m.fence !== cur.fence) return { refused: 'stale_fence' };
      }
      const again = await r.chat.byClientId(req.id, who, m.clientMsgId);
      if (again) return await resend(r, again);
      const row = await r.chat.insert({
        request_id: req.id,
        seq: await r.chat.nextSeq(req.id),
        client_msg_id: m.clientMsgId,
        sender: who,
        staff_id: staffId,
        text: m.text,
        at: now,
      });
      const a = m.attachment;
      if (a) {
        const meta: ChatAttachmentMeta = {
          id: randomId(16),
          request_id: req.id,
          seq: Number(row.seq),
          kind: a.kind,
          media_type: a.mediaType,
          name: a.name,
          size: a.bytes.length,
        };
        await r.chat.insertAttachment({ ...meta, bytes: a.bytes, created_at: now });
        await r.audit.append({
          actor: party.kind === 'device' ? `device:${party.deviceId}` : `staff:${party.staffId}`,
          action: 'chat.attachment',
          subject: `request:${req.id}`,
          outcome: 'success',
          data: { attachmentId: meta.id, seq: meta.seq, mediaType: a.mediaType, size: meta.size },
        });
        return { message: toChatMessage(row, meta), fresh: true, holder: cur };
      }
      return { message: toChatMessage(row), fresh: true, holder: cur };
    });
    if (out.refused === undefined && out.fresh && out.holder)
      this.toOther(out.holder, who, { type: 'chat.message', message: out.message });
    if (out.refused !== undefined) return out;
    return { message: out.message, fresh: out.fresh };
  }

  /** A frame for the other party: the customer's session, or the request's holder. */
  private toOther(req: RequestRow, from: 'customer' | 'agent', frame: ChatServerFrame): void {
    if (from === 'agent') this.emit('device', req.session_id, frame);
    else if (req.agent_id && req.state === 'assigned') this.emit('staff', [req.agent_id], frame);
  }

  /**
   * Run `fn` after everything this node was given earlier for the same party and request
   * (a chain per key, dropped once idle); a failure does not stop the chain.
   */
  private inOrder<T>(party: ChatParty, requestId: string, fn: () => Promise<T>): Promise<T> {
    const key = `${requestId}:${party.kind === 'device' ? `d:${party.deviceId}` : `s:${party.staffId}`}`;
    const run = (this.chains.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(key, tail);
    void tail.then(() => {
      if (this.chains.get(key) === tail) this.chains.delete(key);
    });
    return run;
  }

  /** Seconds to wait before `key` may send again (0: now). */
  private rateLimited(key: string): number {
    const now = this.ctx.clock.now();
    const list = (this.sent.get(key) ?? []).filter((t) => t > now - RATE_WINDOW_MS);
    if (list.length >= RATE_MAX) {
      this.sent.set(key, list);
      return Math.max(1, Math.ceil((list[0]! + RATE_WINDOW_MS - now) / 1000));
    }
    list.push(now);
    this.sent.set(key, list);
    if (this.sent.size > 10_000) this.sent.delete(this.sent.keys().next().value!);
    return 0;
  }
}
