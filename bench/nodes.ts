/**
 * Many nodes (issue 12): queue-change fan-out to staff sockets spread over 1, 2 and 3
 * authority nodes on one PostgreSQL database (test/support/cluster.ts: child processes,
 * the nodes' own ports; HAProxy is started but not used, so the spread is exact).
 *
 * VD_BENCH_NODES_SOCKETS (default 300) staff WebSockets (agent1 and agent2, "queues"
 * feed), socket i on node i mod k. Each of VD_BENCH_NODES_ROUNDS (default 20) rounds: one
 * customer device creates a request through node r mod k, every socket waits for its
 * `queue.delta` with the request waiting, then the device cancels it and every socket
 * waits for "abandoned". A change's relay time to a socket runs from the moment its HTTP
 * call returned here to that socket's frame. Sockets on the node that took the call get
 * it in-process; the others through the outbox and LISTEN/NOTIFY (`feeds.changed`), so
 * "other node" minus "same node" is the bus delivery lag. Baseline, same run: the same
 * rounds with one node (every socket on the node that took the call).
 *
 * Figures are printed, never asserted. `npm run bench -- nodes`; VD_BENCH_NODES (a list,
 * default 1,2,3). Needs PostgreSQL and HAProxy (scripts/install-test-deps.sh).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { routes, WS_PATH, type RouteId } from '../protocol/src/index.ts';
import { AuthorityCluster } from '../test/support/cluster.ts';
import { TestDevice } from '../test/support/device.ts';
import { api, type ApiOptions, bearer, routePath, staffLogin } from '../test/support/http.ts';
import { fmt, pct, printTable } from './console-support.ts';

const SOCKETS = Math.max(1, Number(process.env.VD_BENCH_NODES_SOCKETS ?? 300));
const ROUNDS = Math.max(1, Number(process.env.VD_BENCH_NODES_ROUNDS ?? 20));
const NODE_COUNTS = (process.env.VD_BENCH_NODES ?? '1,2,3')
  .split(',')
  .map((x) => Number(x.trim()))
  .filter((x) => Number.isInteger(x) && x >= 1 && x <= 3);
const WAIT_MS = 30_000;

export interface NodesRun {
  nodes: number;
  /** relay ms of every (change, socket) where the socket is on the node that took the call */
  sameNode: number[];
  /** the same where it is on another node */
  otherNode: number[];
  /** changes per second the rounds completed (create + cancel, every socket served) */
  changesPerSecond: number;
  /** (change, socket) pairs never seen within the bound */
  missed: number;
}

export interface NodesFigures {
  sockets: number;
  rounds: number;
  runs: NodesRun[];
}

/** A staff socket following the queues; `seen(key)` resolves when a delta carries it. */
class FeedSocket {
  private readonly waiting = new Map<string, () => void>();
  private readonly arrived = new Map<string, number>();
  constructor(
    readonly node: number,
    private readonly ws: WebSocket,
  ) {
    ws.on('message', (data) => {
      const now = performance.now();
      const f = JSON.parse(String(data));
      if (f.type !== 'queue.delta') return;
      for (const u of f.upserts as { requestId: string; state: string }[]) {
        const key = `${u.requestId}:${u.state}`;
        if (this.arrived.has(key)) continue;
        this.arrived.set(key, now);
        this.waiting.get(key)?.();
      }
    });
  }

  static open(url: string, node: number, token: string): Promise<FeedSocket> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + WS_PATH);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: token } })),
      );
      const onFrame = (data: WebSocket.RawData) => {
        const f = JSON.parse(String(data));
        if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'queues' }));
        else if (f.type === 'queue.snapshot') {
          ws.off('message', onFrame);
          resolve(new FeedSocket(node, ws));
        }
      };
      ws.on('message', onFrame);
    });
  }

  /** When `key` arrived (performance.now()), waiting up to WAIT_MS; NaN if never. */
  async at(key: string): Promise<number> {
    if (!this.arrived.has(key))
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, WAIT_MS);
        this.waiting.set(key, () => {
          clearTimeout(t);
          resolve();
        });
      });
    this.waiting.delete(key);
    return this.arrived.get(key) ?? NaN;
  }

  close(): void {
    this.ws.close();
  }
}

async function runWith(k: number): Promise<NodesRun> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-bench-nodes-'));
  const cluster = new AuthorityCluster({
    dir,
    nodes: k,
    env: { VD_ACCESS_TOKEN_SECONDS: '3600', VD_AGENT_TIMEOUT_SECONDS: '3600', VD_LOG_LEVEL: 'warn' },
  });
  const sockets: FeedSocket[] = [];
  try {
    await cluster.start();
    const urls = cluster.nodes.map((n) => n.url);
    const tokens = [
      (await staffLogin(urls[0]!, 'agent1', 'demo-agent-1')).token,
      (await staffLogin(urls[0]!, 'agent2', 'demo-agent-2')).token,
    ];
    for (let i = 0; i < SOCKETS; i += 50)
      sockets.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(50, SOCKETS - i) }, (_, j) =>
            FeedSocket.open(urls[(i + j) % k]!, (i + j) % k, tokens[(i + j) % tokens.length]!),
          ),
        )),
      );
    const admin = (await staffLogin(urls[0]!, 'admin', 'demo-admin-1')).token;
    const code = await api(urls[0]!, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    // One device; its proofs name the method and path only, so it may call any node.
    const d = await new TestDevice(urls[0]!).enrolAndAuthenticate(code.body.code);
    const deviceCall = async <K extends RouteId>(node: number, name: K, opts: ApiOptions<K>) =>
      api(urls[node]!, name, {
        ...opts,
        headers: await d.headers(
          routes[name].method,
          routePath(name, opts as { params?: Record<string, string> }),
        ),
      } as ApiOptions<K>);
    const run: NodesRun = { nodes: k, sameNode: [], otherNode: [], changesPerSecond: 0, missed: 0 };
    const observe = async (key: string, returnedAt: number, node: number) => {
      const ats = await Promise.all(sockets.map((s) => s.at(key)));
      ats.forEach((at, i) => {
        if (Number.isNaN(at)) run.missed++;
        else (sockets[i]!.node === node ? run.sameNode : run.otherNode).push(Math.max(0, at - returnedAt));
      });
    };
    const t0 = performance.now();
    for (let r = 0; r < ROUNDS; r++) {
      const node = r % k;
      const created = await deviceCall(node, 'createRequest', { json: { optionId: 'other' } });
      if (created.body.status !== 'queued') throw new Error(`createRequest: ${JSON.stringify(created.body)}`);
      const requestId = created.body.request.requestId as string;
      await observe(`${requestId}:waiting`, performance.now(), node);
      const cancelled = await deviceCall(node, 'cancelRequest', { params: { requestId } });
      if (cancelled.status !== 200) throw new Error(`cancelRequest: ${JSON.stringify(cancelled.body)}`);
      await observe(`${requestId}:abandoned`, performance.now(), node);
    }
    run.changesPerSecond = (2 * ROUNDS) / ((performance.now() - t0) / 1000);
    return run;
  } finally {
    for (const s of sockets) s.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchNodes(): Promise<NodesFigures> {
  const runs: NodesRun[] = [];
  for (const k of NODE_COUNTS) {
    console.log(`  ${k} node${k > 1 ? 's' : ''}: ${SOCKETS} sockets, ${ROUNDS} rounds...`);
    runs.push(await runWith(k));
  }
  return { sockets: SOCKETS, rounds: ROUNDS, runs };
}

export function printNodes(f: NodesFigures): void {
  const ms = (xs: number[], p: number) => (xs.length ? fmt(pct(xs, p), 1) : '-');
  const one = f.runs.find((r) => r.nodes === 1);
  printTable(
    [
      'nodes',
      'changes/s',
      'same node p50 / p99',
      'other nodes p50 / p99',
      'all p50 / p99 vs 1 node',
      'missed',
    ],
    f.runs.map((r) => {
      const all = [...r.sameNode, ...r.otherNode];
      const base = one ? one.sameNode : all;
      return [
        String(r.nodes),
        fmt(r.changesPerSecond, 1),
        `${ms(r.sameNode, 50)} / ${ms(r.sameNode, 99)} ms`,
        `${ms(r.otherNode, 50)} / ${ms(r.otherNode, 99)} ms`,
        `${ms(all, 50)} / ${ms(all, 99)} ms (${fmt(pct(all, 50) / pct(base, 50), 2)}x / ${fmt(pct(all, 99) / pct(base, 99), 2)}x)`,
        String(r.missed),
      ];
    }),
  );
}
