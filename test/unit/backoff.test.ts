/**
 * The one reconnect/retry backoff (protocol/src/backoff.ts): exponential growth of
 * the ceiling, full jitter inside [0, ceiling], the cap, reset, and policies refused
 * when they make no sense.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, backoffDelay } from '../../protocol/src/backoff.ts';

const POLICY = { initialMs: 100, maxMs: 1_000 };

describe('backoff: exponential, full jitter, capped', () => {
  it('the ceiling doubles per attempt and stops at the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 60, 5000].map((n) => backoffDelay(POLICY, n, () => 1)),
      [100, 200, 400, 800, 1_000, 1_000, 1_000, 1_000],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((n) => backoffDelay({ initialMs: 10, maxMs: 10_000, factor: 3 }, n, () => 1)),
      [10, 30, 90, 270],
      'a caller may choose another growth factor',
    );
  });

  it('every delay lies in [0, ceiling] (full jitter), whatever the random source says', () => {
    for (let attempt = 0; attempt < 12; attempt++) {
      const ceiling = Math.min(POLICY.maxMs, POLICY.initialMs * 2 ** attempt);
      assert.equal(
        backoffDelay(POLICY, attempt, () => 0),
        0,
      );
      assert.equal(
        backoffDelay(POLICY, attempt, () => 0.5),
        Math.round(ceiling / 2),
      );
      for (const r of [-1, 2, Number.NaN, Math.random()]) {
        const d = backoffDelay(POLICY, attempt, () => r);
        assert.ok(d >= 0 && d <= ceiling, `attempt ${attempt}, random ${r}: ${d} within [0, ${ceiling}]`);
      }
    }
  });

  it('Backoff counts failures and reset() starts again from the first ceiling', () => {
    const b = new Backoff(POLICY, () => 1);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1_000]);
    assert.equal(b.attempts, 5);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.next(), 100);
  });

  it('refuses a policy or attempt that makes no sense', () => {
    for (const bad of [
      { initialMs: 0, maxMs: 10 },
      { initialMs: 10, maxMs: 5 },
      { initialMs: 10, maxMs: 100, factor: 0.5 },
      { initialMs: Number.NaN, maxMs: 100 },
    ])
      assert.throws(() => new Backoff(bad), RangeError, JSON.stringify(bad));
    assert.throws(() => backoffDelay(POLICY, -1), RangeError);
    assert.throws(() => backoffDelay(POLICY, 1.5), RangeError);
  });
});
