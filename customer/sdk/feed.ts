import { backoffDelay, type BackoffPolicy } from '../../protocol/src/backoff.ts';
import { ChatServerFrame, type ChatClientFrame } from '../../protocol/src/chat.ts';
import { ServerFrame, WS_CLOSE, type ClientFrame } from '../../protocol/src/index.ts';

/** The part of the browser WebSocket the feed uses (a Node `ws` socket fits too, for tests). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type FeedStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface RequestFeedOptions {
  /** ws(s)://host/v1/ws */
  url: string;
  /** A fresh hello for each connection (the device proof is single use). */
  hello: () => Promise<ClientFrame>;
  onFrame: (frame: ServerFrame) => void;
  /** Verified chat frames (chat.ack, chat.message, chat.receipt, chat.typing, chat.refused). */
  onChat?: (frame: ChatServerFrame) => void;
  onStatus?: (status: FeedStatus) => void;
  /** Called when the authority refused the hello (4401): e.g. re-authenticate before the next attempt. */
  onUnauthorized?: () => Promise<void>;
  createSocket?: (url: string) => WebSocketLike;
  /** Retry delays: the first one's ceiling and the cap; each failure doubles the ceiling (full jitter). */
  backoff?: BackoffPolicy;
  /** Keep the session active and detect dead connections. */
  pingEveryMs?: number;
  random?: () => number;
}

const OPEN = 1;

/**
 * The device's live feed over the authority's WebSocket: hello with a device proof
 * naming the session, then 'request.update' frames (position, wait, state) until
 * 'session.ended'. Lost connections come back with exponential backoff and jitter;
 * an ended session (4001) stops the feed for good.
 */
export class RequestFeed {
  private socket: WebSocketLike | null = null;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private awaitingPong = false;
  private stopped = false;
  private readonly backoff: BackoffPolicy;
  status: FeedStatus = 'connecting';
  /** Reconnections so far (for display and tests). */
  reconnects = 0;

  constructor(private readonly opts: RequestFeedOptions) {
    this.backoff = opts.backoff ?? { initialMs: 500, maxMs: 30_000 };
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s && s.readyState <= OPEN) s.close(WS_CLOSE.normal, 'done');
    this.setStatus('closed');
  }

  /** Sends a frame on the open connection; false when there is none (the caller retries on 'open'). */
  send(frame: ClientFrame | ChatClientFrame): boolean {
    const s = this.socket;
    if (!s || s.readyState !== OPEN || this.status !== 'open') return false;
    s.send(JSON.stringify(frame));
    return true;
  }

  /** Delay before retry number `attempt` (0-based). */
  delayFor(attempt: number): number {
    return backoffDelay(this.backoff, attempt, this.opts.random);
  }

  private setStatus(s: FeedStatus): void {
    if (this.status === s) return;
    this.status = s;
    this.opts.onStatus?.(s);
  }

  private clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = null;
    this.pingTimer = null;
  }

  private connect(): void {
    if (this.stopped) return;
    const create =
      this.opts.createSocket ?? ((url: string) => new WebSocket(url) as unknown as WebSocketLike);
    const socket = create(this.opts.url);
    this.socket = socket;
    let unauthorized = false;
    socket.onopen = () => {
      void this.opts.hello().then(
        (hello) => {
          if (this.socket === socket && socket.readyState === OPEN) socket.send(JSON.stringify(hello));
        },
        () => socket.close(WS_CLOSE.normal, 'no hello'),
      );
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket || typeof ev.data !== 'string') return;
      let json: unknown;
      try {
        json = JSON.parse(ev.data);
      } catch {
        return;
      }
      const chat = ChatServerFrame.safeParse(json);
      if (chat.success) return this.opts.onChat?.(chat.data);
      const parsed = ServerFrame.safeParse(json);
      if (!parsed.success) return; // not in the protocol: ignored, never half-used
      const frame = parsed.data;
      if (frame.type === 'welcome') {
        this.attempt = 0;
        this.setStatus('open');
        this.startPings(socket);
      } else if (frame.type === 'pong') {
        this.awaitingPong = false;
      } else if (frame.type === 'error' && frame.code === 'unauthorized') {
        unauthorized = true;
      }
      this.opts.onFrame(frame);
      if (frame.type === 'session.ended') this.stop();
    };
    socket.onerror = () => {
      /* the close event follows and decides */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearTimers();
      if (this.stopped || ev.code === WS_CLOSE.sessionEnded) return this.stop();
      this.setStatus('reconnecting');
      const delay = this.delayFor(this.attempt++);
      const retry = async () => {
        if (unauthorized || ev.code === WS_CLOSE.unauthorized) await this.opts.onUnauthorized?.();
        this.reconnects++;
        this.connect();
      };
      this.retryTimer = setTimeout(() => {
        retry().catch(() => this.stop());
      }, delay);
    };
  }

  private startPings(socket: WebSocketLike): void {
    const every = this.opts.pingEveryMs ?? 30_000;
    this.awaitingPong = false;
    this.pingTimer = setInterval(() => {
      if (this.awaitingPong) {
        // No pong since the last ping: the connection is dead; closing it reconnects.
        socket.close(4000, 'no pong');
        socket.onclose?.({ code: 4000, reason: 'no pong' });
        return;
      }
      this.awaitingPong = true;
      if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: 'ping', id: String(Date.now()) }));
    }, every);
  }
}
