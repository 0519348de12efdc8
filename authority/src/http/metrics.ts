import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ApiError } from '../../../protocol/src/index.ts';
import type { EventBus } from '../events/bus.ts';
import type { Data } from '../store/repos/index.ts';

export const METRICS_PATH = '/metrics';

export interface MetricsSources {
  /** The node's name: a label on every series (VD_NODE_ID). */
  nodeId: string;
  data: Data;
  events: EventBus;
  /** Open WebSockets of the node by kind. */
  sockets: () => Record<string, number>;
  /** When set, scrapers send `Authorization: Bearer <token>`; when not, only loopback may scrape. */
  token?: string | undefined;
}

/**
 * `GET /metrics` in Prometheus text format (prom-client), per node: HTTP requests by
 * route and status with their latency, open WebSockets, live requests by queue and state
 * (offers included), units of work and their latency (start to durable commit), the
 * event bus's backlog per consumer, and the process's own (CPU, memory, event loop).
 * Not part of the API contract (text, not JSON); scraped on each node, not through the
 * load balancer.
 */
export function registerMetrics(app: FastifyInstance, m: MetricsSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: m.nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'vd_' });

  const http = new Histogram({
    name: 'vd_http_request_duration_seconds',
    help: 'HTTP requests answered, by method, route and status, with their latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route !== METRICS_PATH)
      http.observe(
        { method: request.method, route, status: String(reply.statusCode) },
        reply.elapsedTime / 1000,
      );
    done();
  });

  new Gauge({
    name: 'vd_ws_sockets',
    help: "Open WebSockets on this node, by who said hello ('hello': not yet)",
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, n] of Object.entries(m.sockets())) this.set({ kind }, n);
    },
  });

  new Gauge({
    name: 'vd_requests_live',
    help: 'Live service requests (all nodes: read from the database), by queue and state; state="offered" are the open offers',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await m.data.read.requests.liveCounts())
        this.set({ queue: r.queue, state: r.state }, r.n);
    },
  });

  const unitSeconds = new Histogram({
    name: 'vd_store_unit_duration_seconds',
    help: 'Units of work on this node, start to durable commit (retries included), by outcome',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  m.data.onUnit((ms, ok) => unitSeconds.observe({ outcome: ok ? 'committed' : 'failed' }, ms / 1000));
  new Counter({
    name: 'vd_store_commits_total',
    help: "Commits this node's store made (SQLite: one per group of units sharing an fsync)",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(m.data.stats().commits);
    },
  });

  new Gauge({
    name: 'vd_events_backlog',
    help: 'Outbox events a consumer has not processed yet (all nodes share the cursors)',
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      for (const b of await m.events.backlog()) this.set({ consumer: b.consumer }, b.events);
    },
  });
  new Gauge({
    name: 'vd_events_backlog_oldest_seconds',
    help: "Age of the oldest event a consumer has not processed yet (0: caught up): the bus's lag",
    labelNames: ['consumer'] as const,
    registers: [registry],
    async collect() {
      for (const b of await m.events.backlog()) this.set({ consumer: b.consumer }, b.oldestMs / 1000);
    },
  });

  const expected = m.token ? Buffer.from(`Bearer ${m.token}`) : null;
  app.get(METRICS_PATH, async (request, reply) => {
    const allowed = expected
      ? (() => {
          const got = Buffer.from(request.headers.authorization ?? '');
          return got.length === expected.length && timingSafeEqual(got, expected);
        })()
      : isLoopback(request.socket.remoteAddress);
    if (!allowed)
      return reply.code(403).send({
        code: 'forbidden',
        message: expected
          ? 'metrics need the bearer token of VD_METRICS_TOKEN'
          : 'metrics are served to this machine only (set VD_METRICS_TOKEN to scrape from elsewhere)',
      } satisfies ApiError);
    return reply.type(registry.contentType).send(await registry.metrics());
  });
  return registry;
}

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}
