import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ApiError } from '../../../protocol/src/index.ts';
import type { NodeMetrics } from '../ops/metrics.ts';

export const METRICS_PATH = '/metrics';

/**
 * `GET /metrics` (Prometheus text, ops/metrics.ts) and the hook that counts every answered
 * request by route and status. Not part of the API contract (text, not JSON); scraped on
 * each node, not through the load balancer. With `token` scrapers send
 * `Authorization: Bearer <token>`; without it only loopback may scrape.
 */
export function serveMetrics(app: FastifyInstance, metrics: NodeMetrics, token: string | undefined): void {
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (route !== METRICS_PATH)
      metrics.observeHttp(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  const expected = token ? Buffer.from(`Bearer ${token}`) : null;
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
    return reply.type(metrics.contentType).send(await metrics.render());
  });
}

function isLoopback(addr: string | undefined): boolean {
  return !!addr && (addr === '::1' || addr.startsWith('127.') || addr.startsWith('::ffff:127.'));
}
