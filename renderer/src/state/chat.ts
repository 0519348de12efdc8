import {
  attachmentErrorText,
  attachmentName,
  ChatSession,
  newClientMsgId,
  type ChatEntry,
} from '../../../browser-common/chat-session.ts';
import { AttachmentUrls } from '../../../browser-common/attachment-url.ts';
import { CHAT_UPLOAD_MAX_BYTES, CHAT_UPLOAD_PART_BYTES } from '../../../protocol/src/bridge.ts';
import { blobOfBase64, toBase64 } from '../bridge/base64.ts';
import { QUICK_REPLIES_MAX, type ChatClientFrame } from '../../../protocol/src/chat.ts';
import { BridgeCallError } from '../bridge/types.ts';
import type { ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

/** One conversation in the agent's list. */
export interface Conversation {
  requestId: string;
  customerName: string;
  entries: readonly ChatEntry[];
  unread: number;
  customerTyping: boolean;
  /** Sending stopped (the request moved away or ended), in plain words; the transcript stays readable. */
  closed: string | null;
}

export interface ChatDeskState {
  conversations: readonly Conversation[];
  selected: string | null;
  /** main's connection to the authority is up (messages go out at once). */
  online: boolean;
  /** The agent's quick replies as the authority keeps them (empty until loaded). */
  quickReplies: readonly string[];
  /** Why the last save of the quick replies failed (the editor stays open), or null. */
  quickRepliesError: string | null;
  /** The team's quick replies, shared by every agent (read-only unless a supervisor or admin; empty until loaded). */
  teamQuickReplies: readonly string[];
  /** Why the last save of the team's quick replies failed (a supervisor's editor stays open), or null. */
  teamQuickRepliesError: string | null;
  error: string | null;
  /** The file being sent in the selected conversation (its name), or null. */
  uploading: string | null;
}

/** A file the agent picked (a File fits). */
export interface PickedFile {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const CLOSED_TEXT = {
  ended: 'This conversation has ended: the last message was not sent.',
  not_holder: 'You no longer hold this request: the last message was not sent.',
  stale_fence: 'This request moved to someone else: the last message was not sent.',
} as const;

interface Held {
  session: ChatSession;
  customerName: string;
  fence: number;
  closed: string | null;
  off: () => void;
}

/** An editor's list as saved: each trimmed, empty ones dropped, at most QUICK_REPLIES_MAX. */
const cleanReplies = (list: readonly string[]): string[] =>
  list
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .slice(0, QUICK_REPLIES_MAX);

/**
 * The agent's chats (issue 18): one ChatSession per request held, over the bridge's
 * 'chat.frame' channel and event. Opening a conversation resumes it from seq 0, so a
 * request received by transfer shows its whole transcript. Several at once; unread counts
 * for the ones not on screen; the agent's quick replies and the team's, kept by the authority
 * (loaded once online and again when a conversation opens, so a supervisor's change to the
 * team list reaches the next chat; each list replaced whole by its editor).
 */
export class ChatDeskStore extends Store<ChatDeskState> {
  private readonly held = new Map<string, Held>();
  private readonly urls = new AttachmentUrls();
  private quickRepliesLoaded = false;

  constructor(
    private readonly bridge: ConsoleBridge,
    /** This request, if it is in my hands now (a chat frame about it opens its conversation). */
    private readonly inHand: (
      requestId: string,
    ) => { requestId: string; customerName: string; fence: number } | null = () => null,
  ) {
    super({
      conversations: [],
      selected: null,
      online: false,
      quickReplies: [],
      quickRepliesError: null,
      teamQuickReplies: [],
      teamQuickRepliesError: null,
      error: null,
      uploading: null,
    });
    bridge.on('chat.frame', (f) => {
      const requestId = f.type === 'chat.message' ? f.message.requestId : f.requestId;
      if (!this.held.has(requestId)) {
        // The first chat frame about the request in hand: it is a chat, open its conversation.
        const r = this.inHand(requestId);
        if (r?.requestId !== requestId) return;
        this.open(r);
      }
      this.held.get(requestId)?.session.handle(f);
    });
  }

  /** main's connection to the authority is up or down (ConsoleApp follows the ConnectionStore). */
  setOnline(online: boolean): void {
    if (online === this.state.online) return;
    this.patch({ online });
    if (online && !this.quickRepliesLoaded) void this.loadQuickReplies();
    for (const h of this.held.values()) {
      if (online) h.session.connected();
      else h.session.disconnected();
    }
  }

  /** The request is mine (accepted, or handed to me): open (or keep) its conversation at this fence. */
  open(request: { requestId: string; customerName: string; fence: number }): void {
    const existing = this.held.get(request.requestId);
    if (existing) {
      if (existing.fence === request.fence && existing.closed === null) return;
      existing.fence = request.fence;
      existing.closed = null;
      return this.select(request.requestId);
    }
    const session = new ChatSession({
      requestId: request.requestId,
      role: 'agent',
      transport: { send: (f) => this.transmit(f) },
      fence: () => this.held.get(request.requestId)?.fence,
    });
    const h: Held = {
      session,
      customerName: request.customerName,
      fence: request.fence,
      closed: null,
      off: () => {},
    };
    const update = () => this.render();
    const offs = [
      session.on('change', update),
      session.on('typing', update),
      session.on('refused', (r) => {
        if (r.code !== 'rate_limited') h.closed = CLOSED_TEXT[r.code];
        update();
      }),
    ];
    h.off = () => offs.forEach((off) => off());
    this.held.set(request.requestId, h);
    // A new conversation: the lists again (the team's may have changed since sign-in).
    if (this.state.online) void this.loadQuickReplies();
    if (this.state.online) session.connected();
    this.select(request.requestId);
  }

  /** The request left me (transfer out, ended): the transcript stays, sending stops. */
  closeFor(requestId: string, why: string): void {
    const h = this.held.get(requestId);
    if (!h) return;
    h.closed = why;
    this.render();
  }

  /** Wrapped up: the conversation leaves the list. */
  remove(requestId: string): void {
    const h = this.held.get(requestId);
    if (!h) return;
    h.off();
    h.session.dispose();
    this.held.delete(requestId);
    const selected =
      this.state.selected === requestId ? (this.held.keys().next().value ?? null) : this.state.selected;
    this.patch({ selected });
    this.render();
  }

  select(requestId: string): void {
    if (!this.held.has(requestId)) return;
    this.patch({ selected: requestId, error: null });
    this.render();
  }

  /** The selected conversation's messages are on screen: tell the customer they were read. */
  markRead(): void {
    const h = this.state.selected ? this.held.get(this.state.selected) : undefined;
    h?.session.markRead();
  }

  send(text: string): boolean {
    const h = this.state.selected ? this.held.get(this.state.selected) : undefined;
    if (!h || h.closed) return false;
    try {
      h.session.send(text);
      this.patch({ error: null });
      return true;
    } catch (e) {
      this.patch({ error: e instanceof Error ? e.message : String(e) });
      return false;
    }
  }

  /**
   * Send a file (image or PDF) in the selected conversation: its bytes go to main in parts
   * (`chat.attachPart`), then `chat.attach` sends it to the authority, which sniffs its type
   * and checks its size; the message it stored is shown at once. A refusal is said in plain
   * words (`error`); the typed text is not touched. Resolves true when it was sent.
   */
  async attach(file: PickedFile): Promise<boolean> {
    const h = this.state.selected ? this.held.get(this.state.selected) : undefined;
    if (!h || h.closed || this.state.uploading) return false;
    const name = attachmentName(file.name);
    if (file.size > CHAT_UPLOAD_MAX_BYTES) {
      this.patch({ error: attachmentErrorText(name, { code: 'payload_too_large' }) });
      return false;
    }
    this.patch({ uploading: name, error: null });
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const uploadId = newClientMsgId();
      for (let i = 0, part = 0; i < bytes.length || part === 0; i += CHAT_UPLOAD_PART_BYTES, part++)
        await this.bridge.invoke('chat.attachPart', {
          uploadId,
          index: part,
          data: toBase64(bytes.subarray(i, i + CHAT_UPLOAD_PART_BYTES)),
        });
      const sent = await this.bridge.invoke('chat.attach', {
        uploadId,
        requestId: h.session.requestId,
        fence: h.fence,
        clientMsgId: newClientMsgId(),
        name,
        mediaType: file.type || 'application/octet-stream',
      });
      h.session.received(sent.message);
      this.patch({ uploading: null });
      return true;
    } catch (e) {
      this.patch({ uploading: null, error: attachmentErrorText(name, e) });
      return false;
    }
  }

  /**
   * An attachment's bytes as an object URL (fetched once through the bridge, never from
   * the network by the page): an image's src, a PDF's download link.
   */
  attachmentUrl(requestId: string, attachmentId: string): Promise<string> {
    return this.urls.get(requestId, attachmentId, async () => {
      const { mediaType, data } = await this.bridge.invoke('chat.attachment', { requestId, attachmentId });
      return blobOfBase64(data, mediaType);
    });
  }

  typing(active: boolean): void {
    const h = this.state.selected ? this.held.get(this.state.selected) : undefined;
    h?.session.typing(active);
  }

  /**
   * Save the editor's list (each trimmed, empty ones dropped, at most QUICK_REPLIES_MAX) with
   * the authority; the list shown is the one it stored. False (and `quickRepliesError`) when
   * it was not saved: the list shown stays the previous one.
   */
  async saveQuickReplies(list: readonly string[]): Promise<boolean> {
    const replies = cleanReplies(list);
    try {
      const saved = await this.bridge.invoke('chat.setQuickReplies', { replies });
      this.quickRepliesLoaded = true;
      this.patch({
        quickReplies: saved.replies,
        teamQuickReplies: saved.team.replies,
        quickRepliesError: null,
      });
      return true;
    } catch (e) {
      const why = e instanceof BridgeCallError ? e.message : String(e);
      this.patch({ quickRepliesError: `Quick replies not saved: ${why}` });
      return false;
    }
  }

  /**
   * A supervisor or admin saves the team's list (the same clean-up as the agent's own); every
   * agent's console shows it from their next chat. False (and `teamQuickRepliesError`) when
   * it was not saved (an agent is refused by the authority).
   */
  async saveTeamQuickReplies(list: readonly string[]): Promise<boolean> {
    const replies = cleanReplies(list);
    try {
      const saved = await this.bridge.invoke('chat.setTeamQuickReplies', { replies });
      this.patch({ teamQuickReplies: saved.replies, teamQuickRepliesError: null });
      return true;
    } catch (e) {
      const why = e instanceof BridgeCallError ? e.message : String(e);
      this.patch({ teamQuickRepliesError: `Team quick replies not saved: ${why}` });
      return false;
    }
  }

  reset(): void {
    for (const id of [...this.held.keys()]) this.remove(id);
    // Signed out: the next staff member's list is theirs.
    this.quickRepliesLoaded = false;
    this.patch({
      quickReplies: [],
      quickRepliesError: null,
      teamQuickReplies: [],
      teamQuickRepliesError: null,
    });
  }

  /**
   * The agent's list and the team's from the authority (at sign-in, and when a conversation
   * opens; tried again at the next reconnect if the first load failed).
   */
  private async loadQuickReplies(): Promise<void> {
    try {
      const mine = await this.bridge.invoke('chat.quickReplies', {});
      this.quickRepliesLoaded = true;
      this.patch({ quickReplies: mine.replies, teamQuickReplies: mine.team.replies });
    } catch {
      /* offline again or signed out: the next connection loads them */
    }
  }

  private transmit(frame: ChatClientFrame): boolean {
    if (!this.state.online) return false;
    this.bridge.invoke('chat.frame', frame).catch(() => undefined);
    return true;
  }

  private render(): void {
    const conversations: Conversation[] = [...this.held.values()].map((h) => ({
      requestId: h.session.requestId,
      customerName: h.customerName,
      entries: h.session.entries,
      unread: h.session.unread,
      customerTyping: h.session.otherTyping,
      closed: h.closed,
    }));
    this.patch({ conversations });
  }
}
