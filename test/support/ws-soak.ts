/**
 * The WebSocket soak's clients (test/integration/ws-soak.test.ts on one authority,
 * test/integration/cluster-ws-soak.test.ts over the nodes of a cluster): staff sockets
 * subscribed to the queue feeds, and rounds of queue changes whose every frame is counted
 * per client, with the time from the HTTP answer to each client's frame.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { WS_PATH } from '../../protocol/src/index.ts';
import type { HttpResult } from './http.ts';

/** The demo customers whose devices make the changes, one device each. */
export const SOAK_CUSTOMERS = ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'];
/** The staff accounts the sockets sign in as (round-robin), and the feed each subscribes to. */
export const SOAK_STAFF = [
  { username: 'agent1', password: 'demo-agent-1', topic: 'queues' },
  { username: 'agent2', password: 'demo-agent-2', topic: 'queues' },
  { username: 'supervisor', password: 'demo-supervisor', topic: 'board' },
] as const;
/** The authority's settings for a soak: nothing expires or times out while it runs. */
export const SOAK_ENV: Record<string, string> = {
  VD_ACCESS_TOKEN_SECONDS: '3600',
  VD_AGENT_TIMEOUT_SECONDS: '3600',
  VD_AUTHENTICATION_TTL_SECONDS: '3600',
  VD_LOG_LEVEL: 'warn',
};

/** Throws when this process may not open a socket per client (plus room for the rest). */
export function checkOpenFileLimit(clients: number): void {
  const limit = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  if (limit && Number(limit) < clients + 200)
    throw new Error(`open-file limit ${limit} is too low for ${clients} clients: raise it (ulimit -n)`);
}

/** How long a phase waits for every client to see every change (a watchdog, not an expectation). */
export const SOAK_PHASE_TIMEOUT_MS = 30_000;

/** `p`, or an error naming `what` when it is not done within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, fail) => {
      t = setTimeout(() => fail(new Error(`${what}: not done within ${ms} ms`)), ms);
    }),
  ]);
}

/** The p-th percentile of sorted samples. */
export const pct = (sorted: Float64Array, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** Arrivals of one (request id, state) during a phase: per client the time it was first seen. */
export interface Seen {
  at: Float64Array;
  filled: number;
}

/** One round half: the changes the test made, and when each client saw them. */
export class Phase {
  readonly seen = new Map<string, Seen>();
  private expected: { key: string; returnedAt: number }[] | null = null;
  private complete!: (ok: boolean) => void;
  /** true when every client saw every change; false as soon as a client is lost. */
  readonly done = new Promise<boolean>((resolve) => (this.complete = resolve));

  constructor(readonly clients: number) {}

  /** A client's frame carried `key` (request id and state) at `now`. */
  record(client: number, key: string, now: number): void {
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { at: new Float64Array(this.clients).fill(NaN), filled: 0 }));
    if (!Number.isNaN(s.at[client]!)) return; // a later view of the same state
    s.at[client] = now;
    s.filled++;
    if (s.filled === this.clients) this.check();
  }

  /** The changes made, once their HTTP calls returned (frames may already have arrived). */
  expect(changes: { key: string; returnedAt: number }[]): void {
    this.expected = changes;
    this.check();
  }

  private check(): void {
    if (this.expected?.every((c) => this.seen.get(c.key)?.filled === this.clients)) this.complete(true);
  }

  /** A client closed or failed: it will never see the rest, stop waiting. */
  abort(): void {
    this.complete(false);
  }

  /** Wait until every client saw every change, or the bound passes. */
  async wait(): Promise<boolean> {
    let t: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((r) => (t = setTimeout(() => r(false), SOAK_PHASE_TIMEOUT_MS)));
    const ok = await Promise.race([this.done, timedOut]);
    clearTimeout(t);
    return ok;
  }

  /** Per expected change: how many clients missed it. */
  missing(): string {
    return (this.expected ?? [])
      .map((c) => `${c.key} missed by ${this.clients - (this.seen.get(c.key)?.filled ?? 0)}`)
      .join(', ');
  }

  /** Relay times of every (change, client), and per client how many changes arrived. */
  tally(perClient: Uint32Array, latencies: number[] | null): { early: number } {
    let early = 0;
    for (const c of this.expected ?? []) {
      const s = this.seen.get(c.key);
      if (!s) continue;
      for (let i = 0; i < this.clients; i++) {
        const at = s.at[i]!;
        if (Number.isNaN(at)) continue;
        perClient[i]!++;
        const ms = at - c.returnedAt;
        if (ms < 0) early++; // the feed's frame beat the HTTP answer here: relay time 0
        latencies?.push(Math.max(0, ms));
      }
    }
    return { early };
  }
}

/** Staff WebSockets subscribed to queue feeds, spread round-robin over `urls` (one authority, or the nodes of a cluster). */
export class SoakClients {
  readonly sockets: WebSocket[] = [];
  readonly frames: Uint32Array;
  readonly pongs: Uint8Array;
  readonly unexpected: string[] = [];
  phase: Phase | null = null;
  closing = false;

  readonly urls: string[];

  constructor(
    urls: string | string[],
    readonly n: number,
  ) {
    this.urls = typeof urls === 'string' ? [urls] : urls;
    this.frames = new Uint32Array(n);
    this.pongs = new Uint8Array(n);
  }

  /** The authority (or node) client `i` talks to. */
  urlOf(i: number): string {
    return this.urls[i % this.urls.length]!;
  }

  private lost(what: string): void {
    this.unexpected.push(what);
    this.phase?.abort();
  }

  /** Open, hello, subscribe; resolves on the snapshot. */
  private open(i: number, token: string, topic: 'queues' | 'board'): Promise<void> {
    const ws = new WebSocket(this.urlOf(i).replace(/^http/, 'ws') + WS_PATH);
    this.sockets[i] = ws;
    return new Promise<void>((resolve, reject) => {
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: token } })),
      );
      ws.on('error', (e) => {
        this.lost(`client ${i}: error ${e.message}`);
        reject(e);
      });
      ws.on('close', (code, reason) => {
        if (!this.closing) this.lost(`client ${i}: closed ${code} ${String(reason)}`);
        reject(new Error(`client ${i} closed (${code}) before its snapshot`));
      });
      ws.on('message', (data) => {
        const now = performance.now();
        this.frames[i]!++;
        const f = JSON.parse(String(data));
        if (f.type === 'queue.delta') {
          if (this.phase) for (const u of f.upserts) this.phase.record(i, `${u.requestId}:${u.state}`, now);
        } else if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic }));
        else if (f.type === 'queue.snapshot' || f.type === 'board.snapshot') resolve();
        else if (f.type === 'pong' && f.id === `soak-${i}`) this.pongs[i] = 1;
        else if (f.type === 'error') this.lost(`client ${i}: error frame ${f.code} ${f.message}`);
      });
    });
  }

  /** All clients, 50 at a time, round-robin over the staff accounts. */
  async connect(tokens: { token: string; topic: 'queues' | 'board' }[], onBatch: () => void): Promise<void> {
    for (let i = 0; i < this.n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, this.n - i) }, (_, j) => {
          const t = tokens[(i + j) % tokens.length]!;
          return this.open(i + j, t.token, t.topic);
        }),
      );
      onBatch();
    }
  }

  /** Close every socket from this side and wait (bounded) for the close handshakes. */
  async closeAll(timeoutMs = 20_000): Promise<number> {
    this.closing = true;
    const open = this.sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED);
    const closed = Promise.all(open.map((ws) => new Promise((r) => ws.once('close', r))));
    for (const ws of open) ws.close(1000, 'soak over');
    let t: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (t = setTimeout(r, timeoutMs)))]);
    clearTimeout(t);
    return this.sockets.filter((ws) => ws.readyState !== WebSocket.CLOSED).length;
  }

  terminateAll(): void {
    this.closing = true;
    for (const ws of this.sockets) ws?.terminate();
  }
}

/** What went wrong with a set's sockets, for a message. */
export const lost = (set: SoakClients) =>
  `${set.unexpected.length} unexpected closes/errors${set.unexpected.length ? ': ' + set.unexpected.slice(0, 5).join('; ') : ''}`;

/** A device taking part in the rounds: it creates a request and cancels it (fresh proofs). */
export interface SoakDevice {
  create(): Promise<HttpResult>;
  cancel(requestId: string): Promise<HttpResult>;
}

/**
 * One round: every device creates a request; once every client saw them (state waiting),
 * every device cancels its own and every client must see that (abandoned). Per client the
 * changes seen are added to `perClient`; relay times (ms from the HTTP answer) go to
 * `latencies` when given. Returns how many frames arrived before their HTTP answer.
 */
export async function soakRound(
  devices: SoakDevice[],
  set: SoakClients,
  perClient: Uint32Array,
  latencies: number[] | null,
): Promise<number> {
  let early = 0;
  const created = new Phase(set.n);
  set.phase = created;
  const requests = await Promise.all(
    devices.map(async (d) => {
      const r = await d.create();
      const returnedAt = performance.now();
      assert.equal(r.body?.status, 'queued', `create: ${r.status} ${JSON.stringify(r.body)}`);
      return { device: d, requestId: r.body.request.requestId as string, returnedAt };
    }),
  );
  created.expect(requests.map((r) => ({ key: `${r.requestId}:waiting`, returnedAt: r.returnedAt })));
  assert.ok(
    await created.wait(),
    `not every client saw the new requests: ${created.missing()}; ${lost(set)}`,
  );
  early += created.tally(perClient, latencies).early;

  const cancelled = new Phase(set.n);
  set.phase = cancelled;
  const ends = await Promise.all(
    requests.map(async (r) => {
      const c = await r.device.cancel(r.requestId);
      const returnedAt = performance.now();
      assert.equal(c.status, 200, `cancel: ${JSON.stringify(c.body)}`);
      assert.equal(c.body.state, 'abandoned');
      return { key: `${r.requestId}:abandoned`, returnedAt };
    }),
  );
  cancelled.expect(ends);
  assert.ok(await cancelled.wait(), `not every client saw the cancels: ${cancelled.missing()}; ${lost(set)}`);
  early += cancelled.tally(perClient, latencies).early;
  set.phase = null;
  return early;
}
