import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { ChatServerFrame, type ChatClientFrame } from '../../protocol/src/chat.ts';
import { ServerFrame, WS_PATH, type RouteId, type Routes, type TokenPair } from '../../protocol/src/index.ts';
import { Backoff, type BackoffPolicy } from '../../protocol/src/backoff.ts';
import {
  AuthorityError,
  RouteClient,
  type CallArgs,
  type CallOutput,
  type RouteRequest,
  type RouteResponse,
} from '../../protocol/src/route-client.ts';

export { AuthorityError, ProtocolError } from '../../protocol/src/route-client.ts';

/** Where the refresh token lives: Electron's safeStorage in the app, memory in browser mode. */
export interface TokenStore {
  load(): string | null;
  save(refreshToken: string | null): void;
}
export const memoryTokenStore = (): TokenStore => {
  let t: string | null = null;
  return { load: () => t, save: (v) => void (t = v) };
};

/** The routes the console may call: staff and public ones (never a device's own). */
export type StaffRouteId = {
  [K in RouteId]: Routes[K]['auth'] extends 'device' ? never : K;
}[RouteId];

export type ConnectionStateName = 'connected' | 'connecting' | 'reconnecting' | 'offline';

/** The WebSocket's reconnect policy: 250 ms doubling to 10 s, full jitter. */
const RECONNECT: BackoffPolicy = { initialMs: 250, maxMs: 10_000 };

/**
 * The console's client of the authority: the protocol's RouteClient (input and
 * answers validated by the route table) over fetch with a bearer access token,
 * refreshed before it expires and once on a 401; and a WebSocket that reconnects
 * with backoff, says hello again and resubscribes.
 */
export class StaffClient extends EventEmitter<{
  frame: [ServerFrame];
  /** Verified chat frames (chat.ack, chat.message, chat.receipt, chat.typing, chat.refused). */
  chat: [ChatServerFrame];
  connection: [ConnectionStateName];
  loggedOut: [];
}> {
  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private refreshing: Promise<void> | null = null;
  private ws: WebSocket | null = null;
  private welcomed: WebSocket | null = null;
  private wantSocket = false;
  private readonly reconnects = new Backoff(RECONNECT);
  private readonly routes = new RouteClient<StaffRouteId>((request) => this.send(request));
  private reconnectTimer: NodeJS.Timeout | null = null;
  private topics: ('queues' | 'board')[] = [];
  staff: TokenPair['staff'] | null = null;

  constructor(
    private baseUrl: string,
    private readonly tokens: TokenStore,
  ) {
    super();
  }

  setBaseUrl(url: string): void {
    this.baseUrl = url.replace(/\/$/, '');
  }

  get url(): string {
    return this.baseUrl;
  }

  private adopt(pair: TokenPair): void {
    this.accessToken = pair.accessToken;
    this.accessExpiresAt = Date.parse(pair.accessExpiresAt);
    this.staff = pair.staff;
    this.tokens.save(pair.refreshToken);
  }

  async login(username: string, password: string): Promise<TokenPair['staff']> {
    const pair = await this.call('login', { body: { username, password } });
    this.adopt(pair);
    return pair.staff;
  }

  /** Finish a single sign-on: the URL the identity provider redirected to; the same tokens as a login. */
  async ssoSignIn(callbackUrl: string): Promise<TokenPair['staff']> {
    const pair = await this.call('ssoCallback', { body: { callbackUrl } });
    this.adopt(pair);
    return pair.staff;
  }

  /** Resume from a stored refresh token (app restart). */
  async resume(): Promise<TokenPair['staff'] | null> {
    if (!this.tokens.load()) return null;
    try {
      await this.refresh();
      return this.staff;
    } catch {
      return null;
    }
  }

  /** Log out here and at the authority: the identity provider's logout URL after a single sign-on. */
  async logout(): Promise<{ endSessionUrl?: string }> {
    const rt = this.tokens.load();
    this.disconnect();
    this.tokens.save(null);
    this.accessToken = null;
    this.staff = null;
    if (!rt) return {};
    const out = await this.call('logout', { body: { refreshToken: rt } }).catch(() => undefined);
    return out?.endSessionUrl ? { endSessionUrl: out.endSessionUrl } : {};
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const rt = this.tokens.load();
      if (!rt) throw new AuthorityError(401, 'unauthorized', 'not logged in');
      try {
        this.adopt(await this.call('refresh', { body: { refreshToken: rt } }));
      } catch (e) {
        if (e instanceof AuthorityError && e.status === 401) {
          this.tokens.save(null);
          this.emit('loggedOut');
        }
        throw e;
      }
    })().finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  private async freshAccess(): Promise<string> {
    if (!this.accessToken || Date.now() > this.accessExpiresAt - 30_000) await this.refresh();
    return this.accessToken!;
  }

  call<K extends StaffRouteId>(id: K, ...input: CallArgs<Routes[K]>): Promise<CallOutput<Routes[K]>> {
    return this.routes.call(id, ...input);
  }

  /** The transport: a bearer token on every non-public route; a 401 refreshes it and tries once more. */
  private async send(request: RouteRequest, retried = false): Promise<RouteResponse> {
    const headers = { ...request.headers };
    const bearer = request.route.auth !== 'public';
    if (bearer) headers.authorization = `Bearer ${await this.freshAccess()}`;
    let res: Response;
    try {
      const body = request.body as string | Blob | undefined;
      res = await fetch(this.baseUrl + request.path, { method: request.method, headers, body });
    } catch (e) {
      throw new AuthorityError(0, 'unreachable', `authority unreachable: ${(e as Error).message}`);
    }
    if (res.status !== 401 || !bearer || retried) return res;
    await res.arrayBuffer().catch(() => undefined);
    await this.refresh();
    return this.send(request, true);
  }

  // ---- WebSocket ------------------------------------------------------------

  connect(topics: ('queues' | 'board')[]): void {
    this.topics = topics;
    this.wantSocket = true;
    if (!this.ws) this.open();
  }

  /** Sends a frame on the live, welcomed connection; false when there is none (the caller resends later). */
  sendFrame(frame: ChatClientFrame): boolean {
    const ws = this.ws;
    if (!ws || ws !== this.welcomed || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  disconnect(): void {
    this.wantSocket = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.ws?.close(1000);
    this.ws = null;
    this.emit('connection', 'offline');
  }

  private open(): void {
    this.emit('connection', this.reconnects.attempts ? 'reconnecting' : 'connecting');
    const ws = new WebSocket(this.baseUrl.replace(/^http/, 'ws') + WS_PATH, { maxPayload: 16 * 1024 * 1024 });
    this.ws = ws;
    ws.on('open', () => {
      void this.freshAccess().then(
        (token) => ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: token } })),
        () => ws.close(),
      );
    });
    ws.on('message', (data) => {
      let frame: ServerFrame;
      try {
        const json: unknown = JSON.parse(String(data));
        const chat = ChatServerFrame.safeParse(json);
        if (chat.success) return void this.emit('chat', chat.data);
        frame = ServerFrame.parse(json);
      } catch {
        return;
      }
      if (frame.type === 'welcome') this.welcomed = ws;
      if (frame.type === 'welcome') {
        this.reconnects.reset();
        this.emit('connection', 'connected');
        for (const topic of this.topics) ws.send(JSON.stringify({ type: 'subscribe', topic }));
      }
      this.emit('frame', frame);
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (!this.wantSocket) return;
      this.emit('connection', 'reconnecting');
      this.reconnectTimer = setTimeout(() => this.open(), this.reconnects.next());
      this.reconnectTimer.unref?.();
    });
  }
}
