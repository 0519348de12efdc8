import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import { webhookReceiver } from '../support/webhook-receiver.ts';

/**
 * The retry policy at its edge: a receiver that answers 500 exactly 3 times and then
 * accepts gets the event exactly once, on the 4th attempt, with webhookMaxAttempts 4 (the
 * last attempt allowed is made, not given up); each attempt says its number
 * (X-VD-Attempt), the retries are spaced by the backoff (webhookRetrySeconds * 2^(n-1), on
 * the authority's clock: X-VD-Timestamp), and the delivery log keeps the count and the
 * last answer.
 */
const SECRET = 'webhook-secret-0123456789abcdefghijklmnop';
const RETRY_S = 10;

describe('a webhook receiver that fails 3 times, then accepts', () => {
  const clock = new FakeClock(Date.parse('2026-04-01T08:00:00Z'));
  const receiver = webhookReceiver(SECRET, (_id, n) => n <= 3);
  /** Every attempt that reached the receiver with a valid signature: its number and timestamp. */
  const attempts: { attempt: number; timestamp: number }[] = [];
  let a: TestAuthority;
  before(async () => {
    const url = await receiver.listen();
    a = await startTestAuthority(
      {
        webhookUrls: [url],
        webhookSecret: SECRET,
        webhookMaxAttempts: 4,
        webhookRetrySeconds: RETRY_S,
        webhookSweepSeconds: 0.05,
      },
      { clock },
    );
    receiver.onAttempt = (h) => attempts.push(h);
  });
  after(async () => {
    await a.dispose();
    await receiver.close();
  });

  it('is delivered exactly once, on the 4th attempt; the attempts are numbered, spaced by the backoff and logged', async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    await until('the event delivered', async () => {
      clock.advance(1_000);
      return receiver.got.length > 0;
    });
    // Its outcome is written after the receiver's answer.
    const log = await until('the delivery settled in the log', async () => {
      const r = await api(a.url, 'webhookDeliveries', { query: { limit: 50 }, headers: bearer(admin) });
      assert.equal(r.status, 200);
      return r.body.deliveries.every((x: { state: string }) => x.state !== 'pending') && r;
    });

    assert.equal(receiver.got.length, 1, 'delivered exactly once');
    const [got] = receiver.got;
    assert.equal(got!.type, 'verification.changed');
    assert.equal(got!.attempt, 4);
    assert.equal(receiver.tries.get(got!.eventId), 4, 'three 500s, then the delivery: no 5th request');
    assert.deepEqual(
      attempts.map((x) => x.attempt),
      [1, 2, 3, 4],
      'X-VD-Attempt numbers each attempt',
    );
    for (let n = 1; n < attempts.length; n++)
      assert.ok(
        attempts[n]!.timestamp - attempts[n - 1]!.timestamp >= RETRY_S * 2 ** (n - 1),
        `retry ${n} waited its backoff (${RETRY_S * 2 ** (n - 1)} s): ${JSON.stringify(attempts)}`,
      );

    const rows = log.body.deliveries.filter((x: { eventId: string }) => x.eventId === got!.eventId);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { ...rows[0], id: undefined, createdAt: undefined, finishedAt: undefined },
      {
        ...rows[0],
        id: undefined,
        createdAt: undefined,
        finishedAt: undefined,
        state: 'delivered',
        attempts: 4,
        lastStatus: 204,
        lastError: null,
        nextAttemptAt: null,
      },
    );
    assert.ok(
      Date.parse(rows[0].finishedAt) >= Date.parse(rows[0].createdAt) + 70_000,
      'after 10 + 20 + 40 s',
    );
  });
});
