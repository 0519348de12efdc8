import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SerialPasses } from '../../authority/src/serial-passes.ts';

/** A pass the test ends by hand: its number, and how many passes ran at once at most. */
function harness() {
  let started = 0;
  let active = 0;
  let most = 0;
  const ends: ((fail?: boolean) => void)[] = [];
  const passes = new SerialPasses<number>(() => {
    const n = ++started;
    active++;
    most = Math.max(most, active);
    return new Promise<number>((resolve, reject) => {
      ends.push((fail) => {
        active--;
        if (fail) reject(new Error(`pass ${n} failed`));
        else resolve(n);
      });
    });
  });
  const settle = () => new Promise((r) => setImmediate(r));
  return { passes, ends, settle, started: () => started, most: () => most };
}

describe('SerialPasses', () => {
  it('calls while a pass runs share one more pass that starts after it; never two at once', async () => {
    const h = harness();
    const first = h.passes.run();
    const during = [h.passes.run(), h.passes.run(), h.passes.run()];
    await h.settle();
    assert.equal(h.started(), 1, 'the second pass waits for the first');
    h.ends[0]!();
    assert.equal(await first, 1);
    await h.settle();
    assert.equal(h.started(), 2, 'one more pass, not three');
    h.ends[1]!();
    assert.deepEqual(await Promise.all(during), [2, 2, 2]);
    assert.equal(h.most(), 1);
    // idle again: the next call starts a pass at once
    const later = h.passes.run();
    assert.equal(h.started(), 3);
    h.ends[2]!();
    assert.equal(await later, 3);
  });

  it('a failing pass rejects its callers; the pass asked for meanwhile runs all the same', async () => {
    const h = harness();
    const first = h.passes.run();
    const next = h.passes.run();
    h.ends[0]!(true);
    await assert.rejects(first, /pass 1 failed/);
    await h.settle();
    h.ends[1]!();
    assert.equal(await next, 2);
  });
});
