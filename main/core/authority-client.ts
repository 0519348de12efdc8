import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { z } from 'zod';
import {
  routes,
  ServerFrame,
  WS_PATH,
  type ApiError,
  type Routes,
  type TokenPair,
} from '../../protocol/src/index.ts';

export class AuthorityError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
  /** Worth retrying later: the authority is down, restarting or overloaded. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** Where the refresh token lives: Electron's safeStorage in the app, memory in browser mode. */
export interface TokenStore {
  load(): string | null;
  save(refreshToken: string | null): void;
}
export const memoryTokenStore = (): TokenStore => {
  let t: string | null = null;
  return { load: () => t, save: (v) => void (t = v) };
};

type RouteId = keyof Routes;
type CallInput = {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
};
type Result<K extends RouteId> = z.output<Routes[K]['response']>;

export type ConnectionStateName = 'connected' | 'connecting' | 'reconnecting' | 'offline';

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * The console's client of the authority: typed HTTP calls from the protocol's route
 * table (responses validated), access-token refresh on 401, and a WebSocket that
 * reconnects with backoff, says hello again and resubscribes.
 */
export class AuthorityClient extends EventEmitter<{
  frame: [ServerFrame];
  connection: [ConnectionStateName];
  loggedOut: [];
}> {
  private accessToken: string | null = null;
  private accessExpiresAt = 0;
  private refreshing: Promise<void> | null = null;
  private ws: WebSocket | null = null;
  private wantSocket = false;
  private reconnectAttempts = 0;
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
    const pair = await this.call('login', { body: { username, password } }, false);
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

  async logout(): Promise<void> {
    const rt = this.tokens.load();
    this.disconnect();
    this.tokens.save(null);
    this.accessToken = null;
    this.staff = null;
    if (rt) await this.call('logout', { body: { refreshToken: rt } }, false).catch(() => undefined);
  }

  private refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const rt = this.tokens.load();
      if (!rt) throw new AuthorityError(401, 'unauthorized', 'not logged in');
      try {
        this.adopt(await this.call('refresh', { body: { refreshToken: rt } }, false));
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

  /** Raw GET of bytes (photos) with the access token. */
  async bytes(path: string): Promise<{ type: string; data: Buffer }> {
    const res = await fetch(this.baseUrl + path, {
      headers: { authorization: `Bearer ${await this.freshAccess()}` },
    }).catch((e: Error) => {
      throw new AuthorityError(0, 'unreachable', e.message);
    });
    if (!res.ok) throw new AuthorityError(res.status, 'http_error', `GET ${path}: ${res.status}`);
    return {
      type: res.headers.get('content-type') ?? 'application/octet-stream',
      data: Buffer.from(await res.arrayBuffer()),
    };
  }

  async call<K extends RouteId>(
    id: K,
    input: CallInput = {},
    auth = true,
    retried = false,
  ): Promise<Result<K>> {
    const r = routes[id];
    let path: string = r.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
      const v = input.params?.[name];
      if (v === undefined) throw new Error(`missing path parameter ${name} for ${String(id)}`);
      return encodeURIComponent(v);
    });
    if (input.query) path += `?${new URLSearchParams(input.query)}`;
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${await this.freshAccess()}`;
    if (input.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method: r.method,
        headers,
        body: input.body === undefined ? undefined : JSON.stringify(input.body),
      });
    } catch (e) {
      throw new AuthorityError(0, 'unreachable', `authority unreachable: ${(e as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new AuthorityError(res.status || 502, 'bad_response', 'the authority did not answer JSON');
    }
    if (res.status === 401 && auth && !retried) {
      await this.refresh();
      return this.call(id, input, auth, true);
    }
    if (!res.ok) {
      const err = json as Partial<ApiError> | undefined;
      throw new AuthorityError(res.status, err?.code ?? 'http_error', err?.message ?? `HTTP ${res.status}`);
    }
    const parsed = (r.response as z.ZodType).safeParse(json);
    if (!parsed.success) throw new AuthorityError(502, 'bad_response', `unexpected answer to ${String(id)}`);
    return parsed.data as Result<K>;
  }

  // ---- WebSocket ------------------------------------------------------------

  connect(topics: ('queues' | 'board')[]): void {
    this.topics = topics;
    this.wantSocket = true;
    if (!this.ws) this.open();
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
    this.emit('connection', this.reconnectAttempts ? 'reconnecting' : 'connecting');
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
        frame = ServerFrame.parse(JSON.parse(String(data)));
      } catch {
        return;
      }
      if (frame.type === 'welcome') {
        this.reconnectAttempts = 0;
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
      this.reconnectAttempts++;
      this.emit('connection', 'reconnecting');
      const delay = Math.min(
        RECONNECT_MAX_MS,
        RECONNECT_MIN_MS * 2 ** Math.min(10, this.reconnectAttempts - 1),
      );
      this.reconnectTimer = setTimeout(() => this.open(), Math.round(delay * (0.5 + Math.random() / 2)));
      this.reconnectTimer.unref?.();
    });
  }
}
