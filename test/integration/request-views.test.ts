/**
 * Snapshots of the queue are built in one pass (Pipeline.requestViews): positions and
 * wait estimates must be exactly what the per-request view computes with its COUNT
 * query, for requests of several customers (tiers -> priorities), several queues,
 * offered/assigned/abandoned ones among them, in whole and filtered snapshots.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DevicePrincipal } from '../../authority/src/identity/devices.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';

const N = Number(process.env.VD_VIEW_REQUESTS ?? 600);

describe('queue snapshots in one pass equal the per-request views', () => {
  let a: TestAuthority;
  before(async () => {
    a = await startTestAuthority({ authenticationTtlSeconds: 86_400, sessionAbsoluteSeconds: 86_400 });
  });
  after(() => a?.dispose());

  it(`${N} requests in several queues and states`, async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const principals: DevicePrincipal[] = [];
    for (const customer of ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003']) {
      const code = await api(a.url, 'issueEnrolmentCode', {
        params: { customerId: customer },
        headers: bearer(admin),
      });
      const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
      assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
      const pin = await d.api('pinFactor', { json: { pin: '246810' } });
      assert.equal(pin.body.level, 2);
      principals.push(
        await a.services.devices.verifyRequest(`Device ${d.token}`, await d.proof('GET', '/x'), 'GET', '/x'),
      );
    }
    const p = a.services.pipeline;
    const options = ['lost-card', 'other', 'payment-failed'];
    const ids: string[] = [];
    const created = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        p.createRequest(principals[i % 3]!, options[(i * 7) % options.length]!),
      ),
    );
    for (const r of created) if (r.status === 'queued') ids.push(r.request.requestId);
    assert.ok(ids.length > N / 2, `queued ${ids.length}`);
    for (let i = 0; i < ids.length; i += 5) await p.abandon(ids[i]!, 'test');
    const rows = await p.requests.live(null);
    const queues = [...new Set(rows.map((r) => r.queue_id))];
    assert.ok(queues.length >= 2, `queues ${queues.join(',')}`);
    const st = await p.capacity.staffingOf();
    const t0 = performance.now();
    const batch = await p.requestViews(rows, st);
    const batchMs = performance.now() - t0;
    const t1 = performance.now();
    const single: Awaited<ReturnType<typeof p.requestView>>[] = [];
    for (const r of rows) single.push(await p.requestView(r, st));
    const singleMs = performance.now() - t1;
    assert.deepEqual(batch, single);
    const filtered = await p.requests.live([queues[1]!]);
    const each: Awaited<ReturnType<typeof p.requestView>>[] = [];
    for (const r of filtered) each.push(await p.requestView(r, st));
    assert.deepEqual(await p.requestViews(filtered, st), each);
    // A row read before it changed is viewed by its own keys, not the stored row's (the views'
    // one query serves rows whose stored keys match; the others are read table by table).
    const mine = rows.find((r) => r.state === 'waiting')!;
    const other = rows.find((r) => r.customer_id !== mine.customer_id)!;
    const stale = { ...mine, customer_id: other.customer_id, authentication_id: other.authentication_id };
    const [v, vo] = [(await p.requestViews([stale], st))[0]!, (await p.requestViews([other], st))[0]!];
    assert.notEqual(v.customerName, (await p.requestViews([mine], st))[0]!.customerName);
    assert.deepEqual(
      [v.customerName, v.level, v.verificationExpiresAt],
      [vo.customerName, vo.level, vo.verificationExpiresAt],
    );
    console.log(
      `# ${rows.length} live requests in ${queues.length} queues: one pass ${batchMs.toFixed(0)} ms, per-request views ${singleMs.toFixed(0)} ms`,
    );
  });
});
