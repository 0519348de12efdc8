import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StoreDurabilityError, WalFlusher } from '../../authority/src/store/wal-flusher.ts';

function walFile(): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vd-wal-'));
  const file = join(dir, 'db.sqlite-wal');
  writeFileSync(file, 'frames');
  return { file, dir };
}

/** A flusher on a file of its own, closed and removed after `fn`. */
async function withFlusher(fn: (f: WalFlusher) => Promise<void>): Promise<void> {
  const { file, dir } = walFile();
  const f = await WalFlusher.open(file);
  try {
    await fn(f);
  } finally {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('store: the WAL flusher (SQLite commits made durable off the event loop)', () => {
  it('a commit is durable only after a flush that began after it; commits during a flush wait for the next one', () =>
    withFlusher(async (f) => {
      assert.equal(f.durable(), undefined, 'nothing committed: nothing to wait for');
      const first = f.noteCommit();
      const order: string[] = [];
      const p1 = f.durable(first)!.then(() => order.push('c1'));
      // noted while the first flush runs: not covered by it
      const second = f.noteCommit();
      const p2 = f.durable(second)!.then(() => order.push('c2'));
      const third = f.noteCommit();
      const p3 = f.durable(third)!.then(() => order.push('c3'));
      await Promise.all([p1, p2, p3]);
      assert.deepEqual(order, ['c1', 'c2', 'c3']);
      assert.equal(f.flushes, 2, 'the first flush covers commit 1; one more covers 2 and 3');
      assert.equal(f.durable(third), undefined, 'once flushed, nothing to wait for');
      assert.equal(f.durable(first), undefined);
    }));

  it('a lone commit is flushed on the spot; while a flush runs on the thread, the next round covers it instead', () =>
    withFlusher(async (f) => {
      const first = f.noteCommit();
      f.flushHere();
      assert.equal(f.durable(first), undefined, 'durable as soon as flushHere returned');
      assert.equal(f.flushes, 1);
      const second = f.noteCommit();
      const running = f.durable(second)!; // a flush on the thread, still running
      const third = f.noteCommit();
      f.flushHere();
      assert.notEqual(f.durable(third), undefined, 'not flushed here while the thread flushes');
      await running;
      await f.durable(third);
      assert.equal(f.flushes, 3);
    }));

  it('many commits at once share one flush', () =>
    withFlusher(async (f) => {
      await Promise.all(Array.from({ length: 100 }, () => f.durable(f.noteCommit())));
      assert.ok(f.flushes <= 2, `100 commits noted in one turn: ${f.flushes} flushes`);
    }));

  it('a flush that fails fails its commits and every one after it (never retried, never reported done)', async () => {
    const { file, dir } = walFile();
    const f = await WalFlusher.open(file);
    try {
      // The WAL and its directory vanish: the flusher sees its file unlinked, cannot open
      // it again, and reports the commit as not durable.
      rmSync(dir, { recursive: true, force: true });
      await assert.rejects(f.durable(f.noteCommit())!, StoreDurabilityError);
      assert.ok(f.error instanceof StoreDurabilityError);
      await assert.rejects(f.durable(f.noteCommit())!, StoreDurabilityError, 'no flush after a failed one');
      assert.equal(f.flushes, 0);
    } finally {
      await f.close();
    }
  });

  it('refuses a WAL file it cannot open', async () => {
    await assert.rejects(WalFlusher.open(join(tmpdir(), 'vd-no-such-dir', 'x.sqlite-wal')), /ENOENT/);
  });
});
