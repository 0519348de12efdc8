/**
 * Many nodes (issue 12), node death: how long WebSocket clients take to be back, resubscribed,
 * on a surviving node after one node is SIGKILLed. Three authority nodes on one PostgreSQL
 * database behind HAProxy (test/support/cluster.ts, deploy/haproxy/haproxy.cfg).
 *
 * VD_BENCH_DEATH_SOCKETS (default 90) staff WebSockets (agent1 and agent2) connect through
 * HAProxy (`balance leastconn` spreads them) and subscribe to the "queues" feed. Each
 * reconnects as the console does (protocol/src/backoff.ts: 250 ms doubling to 10 s, full
 * jitter), sends its hello, subscribes again and is back when its `queue.snapshot` (the
 * catch-up) arrives. VD_BENCH_DEATH_KILLS (default 5) times: one node at random is
 * SIGKILLed; every socket it held closes; recovery runs from the SIGKILL to that socket's
 * snapshot on another node (detection, HAProxy's choice and health checks, backoff,
 * hello, subscribe, snapshot). Then the node starts again before the next kill.
 *
 * Baseline, same run: the same sockets' first connection (connect, hello, subscribe,
 * snapshot) through HAProxy with every node up. Printed, never asserted.
 * `npm run bench -- node-death`; needs PostgreSQL and HAProxy (scripts/install-test-deps.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { Backoff } from '../protocol/src/backoff.ts';
import { WS_PATH } from '../protocol/src/index.ts';
import { AuthorityCluster } from '../test/support/cluster.ts';
import { staffLogin } from '../test/support/http.ts';
import { fmt, pct, printTable } from './console-support.ts';

const SOCKETS = Math.max(1, Number(process.env.VD_BENCH_DEATH_SOCKETS ?? 90));
const KILLS = Math.max(1, Number(process.env.VD_BENCH_DEATH_KILLS ?? 5));
const WAIT_MS = 60_000;

export interface NodeDeathFigures {
  sockets: number;
  kills: number;
  /** ms from connect to the first snapshot, every node up (baseline) */
  firstMs: number[];
  /** ms from a SIGKILL to the snapshot on another node, per socket the killed node held */
  recoveryMs: number[];
  /** ms from a SIGKILL to that socket's close event (the client learns of the death) */
  detectMs: number[];
  /** sockets the killed nodes held, per kill */
  perKill: number[];
  /** sockets not back within WAIT_MS */
  notBack: number;
}

/** A staff client that follows the queues and reconnects on its own, like the console. */
class Client {
  private ws: WebSocket | null = null;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 10_000 });
  private stopped = false;
  /** performance.now() of the last close and of the last snapshot */
  closedAt = NaN;
  snapshotAt = NaN;
  private onBack: (() => void) | null = null;

  constructor(
    private readonly url: string,
    private readonly token: string,
  ) {}

  /** Connect (again); resolves nothing: `back()` tells when a snapshot arrived. */
  connect(): void {
    if (this.stopped) return;
    const ws = new WebSocket(this.url.replace(/^http/, 'ws') + WS_PATH);
    this.ws = ws;
    let closed = false;
    const lost = () => {
      if (closed) return;
      closed = true;
      this.closedAt = performance.now();
      if (!this.stopped) setTimeout(() => this.connect(), this.backoff.next());
    };
    ws.on('open', () =>
      ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: this.token } })),
    );
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'queues' }));
      else if (f.type === 'queue.snapshot') {
        this.backoff.reset();
        this.snapshotAt = performance.now();
        this.onBack?.();
      }
    });
    ws.on('error', () => lost());
    ws.on('close', () => lost());
  }

  /** Resolves at the first snapshot after `since` (or after WAIT_MS): its time, NaN if none. */
  async back(since: number): Promise<number> {
    if (!(this.snapshotAt > since))
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, WAIT_MS);
        this.onBack = () => {
          if (!(this.snapshotAt > since)) return;
          clearTimeout(t);
          resolve();
        };
      });
    this.onBack = null;
    return this.snapshotAt > since ? this.snapshotAt : NaN;
  }

  close(): void {
    this.stopped = true;
    this.ws?.close();
  }
}

export async function benchNodeDeath(): Promise<NodeDeathFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-death-'));
  const cluster = new AuthorityCluster({
    dir,
    nodes: 3,
    env: { VD_ACCESS_TOKEN_SECONDS: '3600', VD_AGENT_TIMEOUT_SECONDS: '3600', VD_LOG_LEVEL: 'warn' },
  });
  const clients: Client[] = [];
  const f: NodeDeathFigures = {
    sockets: SOCKETS,
    kills: KILLS,
    firstMs: [],
    recoveryMs: [],
    detectMs: [],
    perKill: [],
    notBack: 0,
  };
  try {
    await cluster.start();
    const tokens = [
      (await staffLogin(cluster.url, 'agent1', 'demo-agent-1')).token,
      (await staffLogin(cluster.url, 'agent2', 'demo-agent-2')).token,
    ];
    for (let i = 0; i < SOCKETS; i += 30) {
      const batch = Array.from(
        { length: Math.min(30, SOCKETS - i) },
        (_, j) => new Client(cluster.url, tokens[(i + j) % tokens.length]!),
      );
      const t0 = performance.now();
      for (const c of batch) c.connect();
      for (const at of await Promise.all(batch.map((c) => c.back(t0 - 1))))
        if (Number.isNaN(at)) f.notBack++;
        else f.firstMs.push(at - t0);
      clients.push(...batch);
    }
    for (let k = 0; k < KILLS; k++) {
      const index = Math.floor(Math.random() * cluster.nodes.length);
      const t0 = performance.now();
      await cluster.nodes[index]!.kill();
      // the sockets the dead node held close (allow the kernel's resets a moment)
      await new Promise((r) => setTimeout(r, 1000));
      const hit = clients.filter((c) => c.closedAt >= t0);
      f.perKill.push(hit.length);
      for (const c of hit) f.detectMs.push(c.closedAt - t0);
      for (const at of await Promise.all(hit.map((c) => c.back(t0))))
        if (Number.isNaN(at)) f.notBack++;
        else f.recoveryMs.push(at - t0);
      await cluster.nodes[index]!.start();
    }
    return f;
  } finally {
    for (const c of clients) c.close();
    await cluster.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printNodeDeath(f: NodeDeathFigures): void {
  const row = (what: string, xs: number[]) => [
    what,
    String(xs.length),
    fmt(pct(xs, 50), 1),
    fmt(pct(xs, 95), 1),
  ];
  printTable(
    ['node death (3 nodes behind HAProxy)', 'samples', 'p50 ms', 'p95 ms'],
    [
      row('first subscribe, every node up (baseline)', f.firstMs),
      row('SIGKILL -> socket closed at the client', f.detectMs),
      row('SIGKILL -> resubscribed on another node', f.recoveryMs),
    ],
  );
  console.log(
    `  ${f.sockets} sockets, ${f.kills} kills; sockets on the killed node per kill: ${f.perKill.join(', ')}; not back within ${WAIT_MS / 1000} s: ${f.notBack}`,
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href)
  printNodeDeath(await benchNodeDeath());
