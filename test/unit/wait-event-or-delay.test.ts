/**
 * A retry loop's pause (test/support/wait.ts `eventOrDelay`, used by startKamailio while it
 * waits for Kamailio's WebSocket listener): cut short by the next event, and no listener
 * left behind however many times the timer wins. A bare `once()` raced against a timer left
 * one 'data' and one 'error' listener per retry on Kamailio's stderr, and Node printed
 * MaxListenersExceededWarning at the eleventh (seen in the phone-caller-journey e2e).
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { eventOrDelay } from '../support/wait.ts';

describe('eventOrDelay: a pause that leaves no listener behind', () => {
  it('fifty pauses ended by the timer leave no listener and raise no warning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    const stderr = new PassThrough();
    const before = { data: stderr.listenerCount('data'), error: stderr.listenerCount('error') };
    for (let i = 0; i < 50; i++) await eventOrDelay(stderr, 'data', 1);
    // A warning is emitted on the next turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual({ data: stderr.listenerCount('data'), error: stderr.listenerCount('error') }, before);
    assert.deepEqual(
      warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message),
      [],
    );
  });

  it(
    'ends at the next event, or when `also` settles, long before the timer',
    { timeout: 10_000 },
    async () => {
      const stderr = new PassThrough();
      stderr.resume();
      const pause = eventOrDelay(stderr, 'data', 60_000);
      stderr.write('a log line\n');
      await pause;
      let exit!: () => void;
      const exited = new Promise<void>((resolve) => (exit = resolve));
      const second = eventOrDelay(stderr, 'data', 60_000, exited);
      exit();
      await second;
      assert.equal(stderr.listenerCount('error'), 0);
    },
  );

  it("an 'error' ends the pause without throwing", { timeout: 10_000 }, async () => {
    const stream = new PassThrough();
    stream.on('error', () => undefined); // the owner's own handler
    const pause = eventOrDelay(stream, 'data', 60_000);
    stream.emit('error', new Error('broken pipe'));
    await pause;
    assert.equal(stream.listenerCount('error'), 1, "only the owner's handler remains");
  });
});
