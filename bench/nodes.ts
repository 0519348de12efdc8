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
 * Then pipeline cycles across the nodes: VD_BENCH_NODES_CYCLES (default 100) times, by two
 * workers at once, a device creates a request through node c mod k, the agent it is offered
 * to (agent1 on node 0, agent2 on node 1 mod k, each with a socket on its own node) accepts
 * and completes it through that agent's node: cycles per second with 1, 2 and 3 nodes (the
 * offer crosses nodes whenever the request was made on another node than the agent's).
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
const CYCLES = Math.max(2, Number(process.env.VD_BENCH_NODES_CYCLES ?? 100));
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
  /** enqueue + offer + accept + complete cycles per second, across the nodes */
  cyclesPerSecond: number;
  /** ms from createRequest's answer to the offer frame on the agent's socket, per cycle */
  offerMs: number[];
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
    env: {
      VD_ACCESS_TOKEN_SECONDS: '3600',
      VD_AGENT_TIMEOUT_SECONDS: '3600',
      VD_LOG_LEVEL: 'warn',
      // The cycles free their agent at once (no wrap-up between two customers).
      VD_WRAP_UP_SECONDS: '0',
    },
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
    const run: NodesRun = {
      nodes: k,
      sameNode: [],
      otherNode: [],
      changesPerSecond: 0,
      missed: 0,
      cyclesPerSecond: 0,
      offerMs: [],
    };
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
    await cyclesAcross(urls, deviceCall, run);
    return run;
  } finally {
    for (const s of sockets) s.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A staff socket that keeps the offers made to its agent. */
class OfferSocket {
  private readonly offers = new Map<string, { fence: number; at: number }>();
  private readonly waiting = new Map<string, () => void>();
  constructor(private readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type !== 'offer') return;
      this.offers.set(f.offer.requestId, { fence: f.offer.fence, at: performance.now() });
      this.waiting.get(f.offer.requestId)?.();
    });
  }

  static open(url: string, token: string): Promise<OfferSocket> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + WS_PATH);
    return new Promise((resolve, reject) => {
      ws.on('error', reject);
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: token } })),
      );
      // Offers reach a staff socket that follows a feed (as the console's does).
      const onFrame = (data: WebSocket.RawData) => {
        const f = JSON.parse(String(data));
        if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'queues' }));
        else if (f.type === 'queue.snapshot') {
          ws.off('message', onFrame);
          resolve(new OfferSocket(ws));
        }
      };
      ws.on('message', onFrame);
    });
  }

  has(requestId: string): { fence: number; at: number } | undefined {
    return this.offers.get(requestId);
  }

  /** Resolves when an offer of `requestId` reached this socket (or never, see `race`). */
  wait(requestId: string): Promise<void> {
    if (this.offers.has(requestId)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.set(requestId, resolve));
  }

  forget(requestId: string): void {
    this.offers.delete(requestId);
    this.waiting.delete(requestId);
  }

  close(): void {
    this.ws.close();
  }
}

/** Pipeline cycles across the nodes (see the head comment); fills run.cyclesPerSecond and run.offerMs. */
async function cyclesAcross(
  urls: string[],
  deviceCall: <K extends RouteId>(
    node: number,
    name: K,
    opts: ApiOptions<K>,
  ) => Promise<{ status: number; body: any }>,
  run: NodesRun,
): Promise<void> {
  const k = urls.length;
  const agents = await Promise.all(
    [
      ['agent1', 'demo-agent-1'],
      ['agent2', 'demo-agent-2'],
    ].map(async ([user, pass], i) => {
      const node = i % k;
      const { token } = await staffLogin(urls[node]!, user!, pass!);
      const socket = await OfferSocket.open(urls[node]!, token);
      const presence = await api(urls[node]!, 'setPresence', {
        headers: bearer(token),
        json: { state: 'available' },
      });
      if (presence.status !== 200) throw new Error(`setPresence: ${JSON.stringify(presence.body)}`);
      return { node, token, socket };
    }),
  );
  let started = 0;
  const t0 = performance.now();
  try {
    await Promise.all(
      [0, 1].map(async () => {
        while (started < CYCLES) {
          const c = started++;
          const created = await deviceCall(c % k, 'createRequest', { json: { optionId: 'other' } });
          if (created.body.status !== 'queued')
            throw new Error(`createRequest: ${JSON.stringify(created.body)}`);
          const requestId = created.body.request.requestId as string;
          const answered = performance.now();
          const timeout = new Promise<never>((_, reject) =>
            setTimeout(
              () => reject(new Error(`no offer of ${requestId} within ${WAIT_MS} ms`)),
              WAIT_MS,
            ).unref(),
          );
          await Promise.race([Promise.race(agents.map((a) => a.socket.wait(requestId))), timeout]);
          const agent = agents.find((a) => a.socket.has(requestId))!;
          const offer = agent.socket.has(requestId)!;
          agent.socket.forget(requestId);
          run.offerMs.push(Math.max(0, offer.at - answered));
          for (const name of ['acceptOffer', 'completeRequest'] as const) {
            const r = await api(urls[agent.node]!, name, {
              headers: bearer(agent.token),
              params: { requestId },
              json: { fence: offer.fence },
            });
            if (r.status >= 300) throw new Error(`${name}: ${JSON.stringify(r.body)}`);
          }
        }
      }),
    );
    run.cyclesPerSecond = CYCLES / ((performance.now() - t0) / 1000);
  } finally {
    for (const a of agents) a.socket.close();
  }
}

export async function benchNodes(): Promise<NodesFigures> {
  const runs: NodesRun[] = [];
  for (const k of NODE_COUNTS) {
    console.log(`  ${k} node${k > 1 ? 's' : ''}: ${SOCKETS} sockets, ${ROUNDS} rounds, ${CYCLES} cycles...`);
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
      'cycles/s (vs 1 node)',
      'create -> offer p50 / p99',
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
        `${fmt(r.cyclesPerSecond, 1)}${one ? ` (${fmt(r.cyclesPerSecond / one.cyclesPerSecond, 2)}x)` : ''}`,
        `${ms(r.offerMs, 50)} / ${ms(r.offerMs, 99)} ms`,
      ];
    }),
  );
}
