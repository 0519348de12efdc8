import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EventBus } from '../events/bus.ts';
import type { Data } from '../store/repos/index.ts';

export interface MetricsSources {
  /** The node's name: a label on every series (VD_NODE_ID). */
  nodeId: string;
  data: Data;
  events: EventBus;
  /** Open WebSockets of the node by kind. */
  sockets: () => Record<string, number>;
}

/**
 * The node's figures for Prometheus (prom-client): HTTP requests by route and status with
 * their latency (fed by the HTTP layer), open WebSockets, live requests by queue and state
 * (offers included; read from the database, so every node shows the whole cluster's),
 * units of work and their latency (start to durable commit), commits, the event bus's
 * backlog and lag per consumer, and the process's own (CPU, memory, event loop). Every
 * series carries the label node.
 */
export class NodeMetrics {
  private readonly registry = new Registry();
  private readonly http: Histogram<'method' | 'route' | 'status'>;

  constructor(m: MetricsSources) {
    const registry = this.registry;
    registry.setDefaultLabels({ node: m.nodeId });
    collectDefaultMetrics({ register: registry, prefix: 'vd_' });
    this.http = new Histogram({
      name: 'vd_http_request_duration_seconds',
      help: 'HTTP requests answered, by method, route and status, with their latency',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
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

    // Both backlog gauges are collected at once in a scrape: they share one read of the cursors.
    let reading: ReturnType<EventBus['backlog']> | null = null;
    const backlog = () =>
      (reading ??= m.events.backlog().finally(() => {
        reading = null;
      }));
    new Gauge({
      name: 'vd_events_backlog',
      help: 'Outbox events a consumer has not processed yet (all nodes share the cursors)',
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        for (const b of await backlog()) this.set({ consumer: b.consumer }, b.events);
      },
    });
    new Gauge({
      name: 'vd_events_backlog_oldest_seconds',
      help: "Age of the oldest event a consumer has not processed yet (0: caught up): the bus's lag",
      labelNames: ['consumer'] as const,
      registers: [registry],
      async collect() {
        for (const b of await backlog()) this.set({ consumer: b.consumer }, b.oldestMs / 1000);
      },
    });
  }

  /** One answered HTTP request (the HTTP layer's onResponse hook). */
  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.http.observe({ method, route, status: String(status) }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (reads the database for the gauges that need it). */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
