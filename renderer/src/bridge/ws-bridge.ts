import {
  BRIDGE_WS_PATH,
  BridgeServerFrame,
  type BridgeArgs,
  type BridgeChannel,
  type BridgeEventName,
  type BridgeEventPayload,
  type BridgeResult,
} from '../../../protocol/src/bridge.ts';
import { Backoff } from '../../../protocol/src/backoff.ts';
import { BridgeCallError, type ConsoleBridge, type LinkState } from './types.ts';

const TOKEN_KEY = 'vd.bridgeToken';
const PAGE_KEY = 'vd.pageSecret';
/** The console host closes with this code when the launch link belongs to another page. */
const LINK_USED_CLOSE_CODE = 4403;

/**
 * This page's secret: random, kept in sessionStorage (so a reload of this tab keeps it,
 * another tab or browser has its own). The console host binds the launch link to the
 * first page secret it sees.
 */
export function pageSecret(storage: Pick<Storage, 'getItem' | 'setItem'>): string {
  const kept = storage.getItem(PAGE_KEY);
  if (kept) return kept;
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(24));
  const secret = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  storage.setItem(PAGE_KEY, secret);
  return secret;
}
/** A call unanswered this long fails; main answers every call it received. */
const CALL_TIMEOUT_MS = 30_000;

/** What the bridge needs of the page; a parameter so tests can pass fakes. */
export interface WsBridgeEnvironment {
  location: Pick<Location, 'hash' | 'host' | 'protocol' | 'pathname' | 'search'>;
  history: Pick<History, 'replaceState' | 'state'>;
  storage: Pick<Storage, 'getItem' | 'setItem'>;
  createSocket(url: string, protocols: string[]): WebSocket;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

/**
 * The launch token: taken from the URL fragment (`#token=...`) and removed from the
 * address bar at once, kept in sessionStorage so a reload of this tab still works.
 */
export function takeLaunchToken(
  env: Pick<WsBridgeEnvironment, 'location' | 'history' | 'storage'>,
): string | null {
  const fragment = new URLSearchParams(env.location.hash.replace(/^#/, ''));
  const fromUrl = fragment.get('token');
  if (fromUrl) {
    env.storage.setItem(TOKEN_KEY, fromUrl);
    fragment.delete('token');
    const rest = fragment.toString();
    env.history.replaceState(
      env.history.state,
      '',
      `${env.location.pathname}${env.location.search}${rest ? `#${rest}` : ''}`,
    );
    return fromUrl;
  }
  return env.storage.getItem(TOKEN_KEY);
}

const LINK_USED_TEXT =
  'This console link was already used by another page. Each launch link opens one console: start the console again for a new link.';

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: number;
}

/**
 * window.agentDesk for browser mode: the same contract as Electron's preload, over
 * the web host's loopback WebSocket (subprotocols 'vd-bridge' and 'token.<token>').
 * Calls made while the socket is down wait for it; calls in flight when it drops fail
 * (main may or may not have run them; the caller decides). Reconnects with backoff.
 */
export class WsBridge implements ConsoleBridge {
  readonly mode = 'browser' as const;
  private socket: WebSocket | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: { id: number; text: string }[] = [];
  private readonly listeners = new Map<string, Set<(payload: never) => void>>();
  private readonly linkListeners = new Set<(state: LinkState) => void>();
  /** Reconnects to the console host: 250 ms doubling to 10 s, full jitter. */
  private readonly reconnects = new Backoff({ initialMs: 250, maxMs: 10_000 });
  private state: LinkState;
  private readonly page: string;

  constructor(
    private readonly env: WsBridgeEnvironment,
    private readonly token: string | null,
  ) {
    this.state = token ? 'connecting' : 'no_token';
    this.page = token ? pageSecret(env.storage) : '';
    if (token) this.open();
  }

  get link(): LinkState {
    return this.state;
  }

  onLink(listener: (state: LinkState) => void): () => void {
    this.linkListeners.add(listener);
    return () => this.linkListeners.delete(listener);
  }

  private setLink(state: LinkState): void {
    if (state === this.state) return;
    this.state = state;
    for (const l of [...this.linkListeners]) l(state);
  }

  private open(): void {
    const scheme = this.env.location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = this.env.createSocket(`${scheme}://${this.env.location.host}${BRIDGE_WS_PATH}`, [
      'vd-bridge',
      `token.${this.token}`,
      `page.${this.page}`,
    ]);
    this.socket = ws;
    ws.onopen = () => {
      this.reconnects.reset();
      for (const m of this.outbox.splice(0)) ws.send(m.text);
      this.setLink('open');
    };
    ws.onmessage = (m) => this.receive(String(m.data));
    ws.onclose = (ev?: { code?: number }) => {
      if (this.socket !== ws) return;
      this.socket = null;
      const used = ev?.code === LINK_USED_CLOSE_CODE;
      if (used) this.outbox.splice(0);
      for (const [id, p] of this.pending) {
        if (!used && this.outbox.some((m) => m.id === id)) continue;
        this.env.clearTimeout(p.timer);
        this.pending.delete(id);
        p.reject(
          used
            ? new BridgeCallError('link_used', LINK_USED_TEXT)
            : new BridgeCallError('link_lost', 'The connection to the console host dropped; try again.'),
        );
      }
      if (used) {
        this.setLink('link_used');
        return;
      }
      this.setLink('reconnecting');
      this.env.setTimeout(() => this.open(), this.reconnects.next());
    };
  }

  private receive(text: string): void {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return;
    }
    const frame = BridgeServerFrame.safeParse(json);
    if (!frame.success) return;
    const f = frame.data;
    if ('event' in f) {
      for (const l of [...(this.listeners.get(f.event) ?? [])]) (l as (p: unknown) => void)(f.payload);
      return;
    }
    const p = this.pending.get(f.id);
    if (!p) return;
    this.pending.delete(f.id);
    this.env.clearTimeout(p.timer);
    if (f.ok) p.resolve(f.result);
    else p.reject(new BridgeCallError(f.error.code, f.error.message));
  }

  invoke<C extends BridgeChannel>(channel: C, args: BridgeArgs<C>): Promise<BridgeResult<C>> {
    if (this.state === 'link_used') return Promise.reject(new BridgeCallError('link_used', LINK_USED_TEXT));
    if (!this.token)
      return Promise.reject(
        new BridgeCallError('no_token', 'Open the console with the link the launcher printed.'),
      );
    const id = this.nextId++;
    const text = JSON.stringify({ id, channel, args });
    return new Promise<BridgeResult<C>>((resolve, reject) => {
      const timer = this.env.setTimeout(() => {
        this.pending.delete(id);
        const queued = this.outbox.findIndex((m) => m.id === id);
        if (queued >= 0) this.outbox.splice(queued, 1);
        reject(new BridgeCallError('timeout', `${channel}: no answer from the console host`));
      }, CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      const ws = this.socket;
      if (ws && ws.readyState === ws.OPEN) ws.send(text);
      else this.outbox.push({ id, text });
    });
  }

  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEventPayload<E>) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as (payload: never) => void);
    return () => set.delete(listener as (payload: never) => void);
  }
}
