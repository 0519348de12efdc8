import { WS_PATH, type ClientFrame, type RequestView, type ServerFrame } from '../../protocol/src/index.ts';
import type { ChatServerFrame } from '../../protocol/src/chat.ts';
import { ChatSession } from './chat.ts';
import { AuthorityError, type AuthorityClient } from './client.ts';
import { Emitter } from './emitter.ts';
import { RequestFeed, type FeedStatus, type WebSocketLike } from './feed.ts';
import type { KeyValueStore } from './storage.ts';

const KEY_ACTIVE_REQUEST = 'active-request';
export const LIVE_STATES: ReadonlySet<RequestView['state']> = new Set([
  'waiting',
  'offered',
  'assigned',
  'scheduled',
]);

export interface RequestFollowerOptions {
  client: AuthorityClient;
  store: KeyValueStore;
  /** A hello frame with a fresh device proof for the session. */
  hello: (sessionId: string) => Promise<ClientFrame>;
  /** A fresh device token (after the authority refused the feed's hello). */
  reauthenticate: () => Promise<void>;
  createSocket?: (url: string) => WebSocketLike;
  backoff?: { initialMs: number; maxMs: number };
}

/**
 * The device's current service request, followed live: the latest view, the
 * WebSocket feed, and which of the device's sessions are still live (a call
 * ticket must name one of them). The request id survives a reload in the store.
 */
export class RequestFollower extends Emitter<{
  request: RequestView | null;
  feed: FeedStatus;
  /** Every frame of the feed (agent commands are handled by DeviceCommands). */
  frame: ServerFrame;
  /** Verified chat frames (a ChatSession from `chat()` handles them). */
  chat: ChatServerFrame;
  /** The first chat frame about the followed request: its session now exists (`chat()`). */
  chatStarted: { requestId: string };
}> {
  request: RequestView | null = null;
  feedStatus: FeedStatus = 'closed';
  private feed: RequestFeed | null = null;
  private readonly liveSessions = new Set<string>();
  private chatSession: ChatSession | null = null;

  constructor(private readonly opts: RequestFollowerOptions) {
    super();
  }

  isLiveSession(sessionId: string): boolean {
    return this.liveSessions.has(sessionId);
  }

  get requestId(): string {
    if (!this.request) throw new Error('no request');
    return this.request.requestId;
  }

  /** The request left open before a reload, followed again if it is still live. */
  async resume(): Promise<RequestView | null> {
    const id = await this.opts.store.get<string>(KEY_ACTIVE_REQUEST);
    if (!id) return null;
    try {
      const r = await this.opts.client.call('deviceRequest', { params: { requestId: id } });
      if (LIVE_STATES.has(r.state)) {
        this.follow(r);
        return r;
      }
    } catch (e) {
      if (!(e instanceof AuthorityError)) throw e;
    }
    await this.opts.store.delete(KEY_ACTIVE_REQUEST);
    return null;
  }

  /** Follow a request live over the WebSocket (one at a time). */
  follow(request: RequestView): void {
    if (this.feed && this.request?.requestId === request.requestId) return this.update(request);
    this.unfollow();
    this.liveSessions.add(request.sessionId);
    void this.opts.store.set(KEY_ACTIVE_REQUEST, request.requestId);
    this.update(request);
    const url = new URL(WS_PATH, this.opts.client.baseUrl);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const { sessionId, requestId } = request;
    const feed = new RequestFeed({
      url: url.toString(),
      hello: () => this.opts.hello(sessionId),
      onFrame: (f) => this.onFrame(f),
      onChat: (f) => {
        const id = f.type === 'chat.message' ? f.message.requestId : f.requestId;
        if (this.chatSession?.requestId !== id && id === this.request?.requestId) {
          // The authority speaks chat about this request (the agent wrote first): open its session.
          this.chat();
          this.emit('chatStarted', { requestId: id });
        }
        this.chatSession?.handle(f);
        this.emit('chat', f);
      },
      onStatus: (s) => {
        this.feedStatus = s;
        if (s === 'open') this.chatSession?.connected();
        else this.chatSession?.disconnected();
        this.emit('feed', s);
      },
      onUnauthorized: async () => {
        await this.opts.reauthenticate();
        this.update(await this.opts.client.call('deviceRequest', { params: { requestId } }));
      },
      ...(this.opts.createSocket ? { createSocket: this.opts.createSocket } : {}),
      ...(this.opts.backoff ? { backoff: this.opts.backoff } : {}),
    });
    this.feed = feed;
    feed.start();
  }

  /**
   * The followed request's chat (one per request): messages go out on the feed, are resent
   * after a reconnect and resume from the last seq seen.
   */
  chat(): ChatSession {
    const requestId = this.requestId;
    if (this.chatSession?.requestId === requestId) return this.chatSession;
    this.chatSession?.dispose();
    const session = new ChatSession({
      requestId,
      role: 'customer',
      transport: { send: (frame) => this.feed?.send(frame) ?? false },
    });
    this.chatSession = session;
    if (this.feedStatus === 'open') session.connected();
    return session;
  }

  /** A new view of the followed request; a finished one ends its session and the feed. */
  update(r: RequestView | null): void {
    if (r && !LIVE_STATES.has(r.state)) {
      this.liveSessions.delete(r.sessionId);
      this.feed?.stop();
      this.feed = null;
      void this.opts.store.delete(KEY_ACTIVE_REQUEST);
    }
    this.request = r;
    this.emit('request', r);
  }

  /** The session is over (cancelled here, or ended by the authority): its tickets stop ringing at once. */
  sessionEnded(sessionId: string): void {
    this.liveSessions.delete(sessionId);
  }

  /** Send a frame on the followed request's socket; false when it is not open. */
  send(frame: ClientFrame): boolean {
    return this.feed?.send(frame) ?? false;
  }

  /** Stop following (the request itself stays as it is). */
  unfollow(): void {
    this.feed?.stop();
    this.feed = null;
    this.request = null;
  }

  private onFrame(f: ServerFrame): void {
    if (f.type === 'request.update' && f.request.requestId === this.request?.requestId)
      this.update(f.request);
    else if (f.type === 'session.ended') {
      this.sessionEnded(f.sessionId);
      const id = this.request?.requestId;
      if (id)
        this.opts.client.call('deviceRequest', { params: { requestId: id } }).then(
          (r) => this.update(r),
          () => this.update(null),
        );
    }
    this.emit('frame', f);
  }
}
