/**
 * Issue 12, operations: GET /metrics in Prometheus text format, per node. What an operator
 * graphs: HTTP requests by route and status, open WebSockets, live requests by queue and
 * state (the open offers), units of work and their latency, the event bus's backlog, and
 * every series labelled with the node's id. Scraping needs the bearer token when one is
 * configured (loopback only otherwise).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';

const TOKEN = 'metrics-token-0123456789';

/** The value of the first sample of `name` whose labels include all of `labels` (undefined: none). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics: what an operator graphs, per node', () => {
  let a: TestAuthority;
  const scrape = async (token: string | null = TOKEN) => {
    const r = await fetch(`${a.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, nodeId: 'node-a', metricsToken: TOKEN });
  });
  after(() => a?.dispose());

  it('refuses a scrape without the configured token, with a clear error', async () => {
    const none = await scrape(null);
    assert.equal(none.status, 403);
    assert.match(JSON.parse(none.text).message, /bearer token of VD_METRICS_TOKEN/);
    assert.equal((await scrape('wrong-token-0123456789')).status, 403);
  });

  it('counts requests, sockets, live requests by queue and state, units and the bus backlog', async () => {
    assert.equal((await api(a.url, 'health')).status, 200);
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const bob = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const ws = await TestSocket.open(a.url);
    ws.send(await bob.wsHello());
    assert.equal((await ws.next()).type, 'welcome');
    const q = await bob.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const queue = q.body.request.queueId as string;

    const m = await scrape();
    assert.equal(m.status, 200);
    assert.match(m.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(
      (sample(m.text, 'vd_http_request_duration_seconds_count', {
        node: 'node-a',
        method: 'GET',
        route: '/healthz',
        status: '200',
      }) ?? 0) >= 1,
      'the health check is counted under its route',
    );
    assert.equal(sample(m.text, 'vd_ws_sockets', { node: 'node-a', kind: 'device' }), 1);
    assert.equal(sample(m.text, 'vd_requests_live', { queue, state: 'waiting' }), 1);
    assert.ok((sample(m.text, 'vd_store_unit_duration_seconds_count', { outcome: 'committed' }) ?? 0) > 0);
    assert.ok((sample(m.text, 'vd_store_commits_total') ?? 0) > 0);
    assert.notEqual(sample(m.text, 'vd_events_backlog', { consumer: 'pipeline.session-ended' }), undefined);
    assert.notEqual(sample(m.text, 'vd_process_resident_memory_bytes', { node: 'node-a' }), undefined);

    // The socket goes away and the request is abandoned: the gauges follow.
    ws.close();
    await ws.closed;
    await a.services.pipeline.abandon(q.body.request.requestId, 'test');
    const later = await until('the gauges follow', async () => {
      const t = (await scrape()).text;
      return sample(t, 'vd_ws_sockets', { kind: 'device' }) === 0 &&
        sample(t, 'vd_requests_live', { queue, state: 'waiting' }) === undefined
        ? t
        : undefined;
    });
    assert.ok(later.includes('vd_requests_live'), 'the series is described even when no request is live');
  });
});
