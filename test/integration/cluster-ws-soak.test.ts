/**
 * Issue 12, cross-node: the WebSocket soak (RELIABILITY row 19's rounds) with its clients
 * spread over three authority nodes on one PostgreSQL database. Staff sockets connect
 * round-robin to the nodes (agent1 and agent2 subscribed to "queues", the supervisor to
 * "board"), and the three devices that make the changes each talk to a different node, so
 * most changes reach most sockets from another node (the outbox row, NOTIFY, the other
 * node's feed). Each round every device creates a request and, once every client saw it,
 * cancels it.
 *
 * Asserted: 0 unexpected closes or socket errors, every client saw every change, every
 * client answered the final ping. Printed, never asserted: the relay time (HTTP answer ->
 * client frame, incl. the feed's 50 ms batching) for changes made on the client's own node
 * and on another node.
 *
 * PostgreSQL only: skipped in the SQLite pass. Sizes: VD_CLUSTER_SOAK_CLIENTS (default 90),
 * VD_CLUSTER_SOAK_ROUNDS (default 10). Full size (the single-node soak's RELIABILITY figures):
 *
 *   VD_TEST_ENGINE=postgres VD_CLUSTER_SOAK_CLIENTS=1000 VD_CLUSTER_SOAK_ROUNDS=100 \
 *     node --import tsx --test test/integration/cluster-ws-soak.test.ts
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { routes, type RouteId } from '../../protocol/src/index.ts';
import { testEngine } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { TestDevice } from '../support/device.ts';
import { type ApiOptions, apiWith, bearer, type HttpResult, routePath } from '../support/http.ts';
import {
  checkOpenFileLimit,
  pct,
  SOAK_ENV,
  SOAK_PHASE_TIMEOUT_MS,
  SOAK_STAFF,
  SOAK_CUSTOMERS,
  SoakClients,
  soakRound,
  within,
} from '../support/ws-soak.ts';
import { until } from '../support/wait.ts';

const int = (v: string | undefined, d: number) => {
  const n = v === undefined || v === '' ? NaN : parseInt(v, 10);
  return Number.isFinite(n) && n >= 1 ? n : d;
};
const CLIENTS = int(process.env.VD_CLUSTER_SOAK_CLIENTS, 90);
const ROUNDS = int(process.env.VD_CLUSTER_SOAK_ROUNDS, 10);
const NODES = 3;
const CUSTOMERS = SOAK_CUSTOMERS;
const STAFF = SOAK_STAFF;

const skip = testEngine() !== 'postgres' && 'nodes share one PostgreSQL database (VD_TEST_ENGINE=postgres)';

describe(
  `cross-node WebSocket soak: ${CLIENTS} staff sockets over ${NODES} nodes, ${ROUNDS} rounds`,
  { skip },
  () => {
    let cluster: AuthorityCluster;
    let clients: SoakClients | null = null;

    /** A call to node `url` that closes its connection (no pooled socket outlives the test). */
    const http = <K extends RouteId>(url: string, name: K, opts?: ApiOptions<K>) =>
      apiWith(url, { connection: 'close' }, name, opts);

    before(async () => {
      checkOpenFileLimit(CLIENTS);
      cluster = new AuthorityCluster({
        dir: mkdtempSync(join(tmpdir(), 'vd-cluster-soak-')),
        nodes: NODES,
        env: SOAK_ENV,
      });
      await cluster.start();
    });
    after(async () => {
      clients?.terminateAll();
      await cluster?.stop();
    });

    it('0 unexpected closes, every client on every node gets every change made on any node', async () => {
      const urls = cluster.nodes.map((n) => n.url);
      const login = async (url: string, username: string, password: string) => {
        const r = await http(url, 'login', { json: { username, password } });
        assert.equal(r.status, 200, `login ${username}: ${JSON.stringify(r.body)}`);
        return r.body.accessToken as string;
      };
      const admin = await login(urls[0]!, 'admin', 'demo-admin-1');
      const tokens = await Promise.all(
        STAFF.map(async (s) => ({ token: await login(urls[0]!, s.username, s.password), topic: s.topic })),
      );
      // Device k enrols and works on node k: its changes are made there.
      const devices = await Promise.all(
        CUSTOMERS.map(async (customerId, k) => {
          const url = urls[k % urls.length]!;
          const code = await http(url, 'issueEnrolmentCode', {
            params: { customerId },
            headers: bearer(admin),
          });
          assert.equal(code.status, 201, JSON.stringify(code.body));
          const d = await new TestDevice(url).enrolAndAuthenticate(code.body.code);
          const call = async <K extends RouteId>(name: K, opts?: ApiOptions<K>): Promise<HttpResult> => {
            const path = routePath(name, opts as { params?: Record<string, string> });
            return http(url, name, {
              ...opts,
              headers: await d.headers(routes[name].method, path),
            } as ApiOptions<K>);
          };
          return {
            node: k % urls.length,
            create: () => call('createRequest', { json: { optionId: 'other' } }),
            cancel: (requestId: string) => call('cancelRequest', { params: { requestId } }),
          };
        }),
      );

      clients = new SoakClients(urls, CLIENTS);
      const t0 = performance.now();
      await within(
        clients.connect(tokens, () => {}),
        60_000,
        `connecting ${CLIENTS} clients`,
      );
      const connectMs = performance.now() - t0;
      // Each round is measured per device, so a client's relay time can be told apart by
      // whether the change was made on its own node.
      const perClient = new Uint32Array(CLIENTS);
      const sameNode: number[] = [];
      const otherNode: number[] = [];
      const t1 = performance.now();
      for (let r = 0; r < ROUNDS; r++) {
        for (const d of devices) {
          const latencies: number[] = [];
          await soakRound([d], clients, perClient, latencies);
          // soakRound pushes per change, per client in client order.
          latencies.forEach((ms, j) =>
            (j % CLIENTS) % NODES === d.node ? sameNode.push(ms) : otherNode.push(ms),
          );
        }
      }
      const soakMs = performance.now() - t1;

      clients.sockets.forEach((ws, i) => ws.send(JSON.stringify({ type: 'ping', id: `soak-${i}` })));
      await until('a pong from every client', () => clients!.pongs.every((p) => p === 1), {
        timeoutMs: SOAK_PHASE_TIMEOUT_MS,
      }).catch(() => undefined);
      const pongs = clients.pongs.reduce((a, b) => a + b, 0);
      const unexpected = [...clients.unexpected];
      const stillOpen = await clients.closeAll();

      const changes = ROUNDS * devices.length * 2;
      const fmt = (xs: number[]) => {
        const s = Float64Array.from(xs).sort();
        return `p50 ${pct(s, 50).toFixed(1)}, p95 ${pct(s, 95).toFixed(1)}, p99 ${pct(s, 99).toFixed(1)} (${s.length})`;
      };
      console.log(
        `# cluster-ws-soak: ${CLIENTS} clients over ${NODES} nodes, connected in ${connectMs.toFixed(0)} ms; ${ROUNDS} rounds (${(soakMs / 1000).toFixed(1)} s), ${changes} changes; changes per client min ${Math.min(...perClient)} of ${changes}; pongs ${pongs}/${CLIENTS}`,
      );
      console.log(`# cluster-ws-soak relay ms, change made on the client's node: ${fmt(sameNode)}`);
      console.log(`# cluster-ws-soak relay ms, change made on another node: ${fmt(otherNode)}`);

      assert.deepEqual(unexpected, [], 'unexpected closes, errors or error frames');
      assert.equal(pongs, CLIENTS, 'every client answered its final ping');
      assert.equal(stillOpen, 0, 'every client closed cleanly');
      for (let i = 0; i < CLIENTS; i++) assert.equal(perClient[i], changes, `client ${i} missed changes`);
    });
  },
);
