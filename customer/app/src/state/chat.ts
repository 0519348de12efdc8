import { attachmentErrorText, attachmentName, type ChatEntry, type ChatSession } from '../../../sdk/index.ts';
import { AttachmentUrls } from '../../../../browser-common/attachment-url.ts';
import { messageOf, type AppStore } from './app-state.ts';

/** The chat as the screens read it. */
export interface ChatView {
  requestId: string;
  entries: readonly ChatEntry[];
  /** The agent is typing. */
  agentTyping: boolean;
  /** The conversation's connection is up (messages go out at once); offline they wait. */
  online: boolean;
  unread: number;
  /** Sending has stopped (the conversation ended or moved): said in plain words. */
  closed: string | null;
  /** The file being sent (its name), or null. */
  uploading: string | null;
  /** The last file refused or not sent, in plain words (the typed text is kept). */
  fileError: string | null;
}

const REFUSAL_TEXT = {
  ended: 'This conversation has ended. Your last message was not sent.',
  not_holder: 'This conversation has moved. Your last message was not sent.',
  stale_fence: 'This conversation has moved. Your last message was not sent.',
  rate_limited: 'You are sending messages too fast. We will send it in a moment.',
} as const;

/** Verified chat on the open request: the SDK's ChatSession, its view in AppState. */
export class ChatStore {
  private session: ChatSession | null = null;
  private off: Array<() => void> = [];
  private closed: string | null = null;
  private uploading: string | null = null;
  private fileError: string | null = null;
  private readonly urls = new AttachmentUrls();

  constructor(private readonly app: AppStore) {}

  /** Open the chat of the open request (the screen 'chat'). */
  open(): void {
    const d = this.app.requireDevice();
    const s = d.chat();
    if (s !== this.session) {
      this.detach();
      this.session = s;
      this.closed = null;
      this.uploading = null;
      this.fileError = null;
      const update = () => this.app.set({ chat: this.view(s) });
      this.off = [
        s.on('change', update),
        s.on('typing', update),
        s.on('refused', (r) => {
          if (r.code !== 'rate_limited') this.closed = REFUSAL_TEXT[r.code];
          update();
        }),
      ];
    }
    this.app.go({ name: 'chat' }, { chat: this.view(s), chatWanted: true });
  }

  /** The agent wrote first: open the chat (from the waiting screen; elsewhere 'Open the chat' appears). */
  started(): void {
    if (this.app.getState().screen.name === 'waiting') return this.open();
    this.app.set({ chatWanted: true });
  }

  send(text: string): boolean {
    const s = this.session;
    if (!s) return false;
    try {
      s.send(text);
      return true;
    } catch (e) {
      this.app.set({ error: messageOf(e) });
      return false;
    }
  }

  /**
   * Send a file (image or PDF) in the chat: the authority checks its type and size; the
   * message is shown at once, a refusal in plain words (`fileError`). Resolves true when sent.
   */
  async attach(file: File): Promise<boolean> {
    const s = this.session;
    if (!s || this.uploading || this.closed) return false;
    const name = attachmentName(file.name);
    const update = () => this.app.set({ chat: this.view(s) });
    this.uploading = name;
    this.fileError = null;
    update();
    try {
      await this.app.requireDevice().sendChatFile(file, { name });
      return true;
    } catch (e) {
      this.fileError = attachmentErrorText(name, e);
      return false;
    } finally {
      this.uploading = null;
      if (this.session === s) update();
    }
  }

  /** An attachment of the open chat as an object URL (fetched once with the device's proof). */
  attachmentUrl(attachmentId: string): Promise<string> {
    const s = this.session;
    if (!s) return Promise.reject(new Error('no open chat'));
    return this.attachmentUrlOf(s.requestId, attachmentId);
  }

  /** An attachment of any of the customer's conversations (a past one too) as an object URL. */
  attachmentUrlOf(requestId: string, attachmentId: string): Promise<string> {
    return this.urls.get(requestId, attachmentId, async () => {
      const { type, bytes } = await this.app.requireDevice().chatAttachment(requestId, attachmentId);
      return new Blob([bytes as BlobPart], { type });
    });
  }

  typing(active: boolean): void {
    this.session?.typing(active);
  }

  /** The messages on screen have been seen (the screen is visible). */
  markRead(): void {
    this.session?.markRead();
  }

  /** The request ended: the chat stays readable, sending stops. */
  ended(): void {
    if (this.session) this.closed ??= 'This conversation has ended.';
    if (this.session) this.app.set({ chat: this.view(this.session) });
  }

  private view(s: ChatSession): ChatView {
    return {
      requestId: s.requestId,
      entries: s.entries,
      agentTyping: s.otherTyping,
      online: s.online,
      unread: s.unread,
      closed: this.closed,
      uploading: this.uploading,
      fileError: this.fileError,
    };
  }

  private detach(): void {
    for (const off of this.off) off();
    this.off = [];
    this.session?.dispose();
    this.session = null;
  }
}
