import type { ChatEntry, ChatSession } from '../../../sdk/index.ts';
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

  constructor(private readonly app: AppStore) {}

  /** Open the chat of the open request (the screen 'chat'). */
  open(): void {
    const d = this.app.requireDevice();
    const s = d.chat();
    if (s !== this.session) {
      this.detach();
      this.session = s;
      this.closed = null;
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
    };
  }

  private detach(): void {
    for (const off of this.off) off();
    this.off = [];
    this.session?.dispose();
    this.session = null;
  }
}
