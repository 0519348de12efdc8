import { closeSync, fdatasyncSync, fstatSync, fsyncSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * SQLite: the flush that makes a COMMIT durable, on a thread of its own.
 *
 * The writer runs in WAL with `synchronous=NORMAL`: a COMMIT writes its frames to the
 * WAL file (the page cache) and returns without flushing it; SQLite still flushes the
 * WAL before every checkpoint and the database file after it, so the file stays
 * consistent. What NORMAL alone loses is the last commits at a power cut. The store
 * makes up for it here: after each COMMIT it asks for an `fdatasync` of the WAL file,
 * and a unit's promise settles (its answer leaves) only once a flush that started
 * after its COMMIT has returned. That is what `synchronous=FULL` promises, with the
 * flush off the event loop: with FULL it blocked the event loop inside every COMMIT
 * (about 0.5 ms here), while now the next batch runs during it.
 *
 * One flush at a time; commits made while one runs are covered by the next, so under
 * load a flush covers several batches. The thread is a `worker_threads` Worker of its
 * own rather than libuv's pool: that pool also runs the ECDSA checks and argon2 (tens of
 * ms each), and a commit must not wait behind a login storm. A commit with nothing else
 * going on (`flushHere`: a batch of one unit, none queued, no flush running) is flushed
 * on the event loop instead, as FULL did: its one caller waits for the disk either way,
 * and the hop to the thread and back would only add to its wait.
 *
 * The flusher has its own descriptor of the WAL file (a flush of any descriptor of a
 * file writes that file's dirty pages); the writer connection keeps the WAL open for
 * the store's life. If SQLite ever removed and created it again (only the last
 * connection's close does), the worker sees the link count drop to 0 and opens the path
 * again before flushing.
 *
 * A failed flush is not retried (Linux may have dropped the pages it could not write:
 * a second fdatasync would succeed without them). The units it covered get
 * `StoreDurabilityError`, and so does everything after: like PostgreSQL, which stops
 * at such an error, the store refuses to go on until it is restarted.
 */
export class WalFlusher {
  /** COMMITs noted so far, and how many of them a completed flush covers. */
  private committed = 0;
  private durableUpTo = 0;
  private flushing = false;
  private failed: Error | null = null;
  /** Promises waiting for commit number `n`, in increasing `n`. */
  private readonly waiters: { n: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private closing: Promise<void> | null = null;
  flushes = 0;

  /** Set once a flush failed: the store refuses every unit after it. */
  get error(): Error | null {
    return this.failed;
  }

  /** The thread, started at the first flush it is asked for (a store that never has units queued never starts one). */
  private worker: Worker | null = null;

  private constructor(
    private readonly walFile: string,
    private fd: number,
  ) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    // execArgv: none of this process's flags (a TypeScript loader would only slow its start)
    const w = new Worker(WORKER, { eval: true, workerData: { walFile: this.walFile }, execArgv: [] });
    w.on('message', (m: { error?: string }) => this.done(m.error));
    w.on('error', (e) => this.done(e.message));
    w.on('exit', () => {
      if (this.closing === null) this.done('the WAL flusher thread stopped');
    });
    this.worker = w;
    return w;
  }

  /** `walFile`: the database file's `-wal`, which the writer connection has open. */
  static async open(walFile: string): Promise<WalFlusher> {
    // The WAL's directory entry: created by SQLite, flushed here once (FULL did it at the
    // first sync of a new WAL).
    const dir = openSync(dirname(walFile), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
    return new WalFlusher(walFile, openSync(walFile, 'r'));
  }

  /** The writer's COMMIT just returned: its number, for `durable(n)`. */
  noteCommit(): number {
    return ++this.committed;
  }

  /**
   * Resolves once commit `n` (default: the latest) is on disk; undefined when it already
   * is, so a caller with nothing to wait for does not await.
   */
  durable(n = this.committed): Promise<void> | undefined {
    if (this.failed) return Promise.reject(this.failed);
    if (n <= this.durableUpTo) return undefined;
    const p = new Promise<void>((resolve, reject) => this.waiters.push({ n, resolve, reject }));
    this.pump();
    return p;
  }

  private covering = 0;

  /**
   * Flush now, on this thread, when no flush is running (else the running one's next
   * round covers the latest commit). For a lone commit: no hop to the thread and back.
   */
  flushHere(): void {
    if (this.flushing || this.failed || this.durableUpTo >= this.committed) return;
    try {
      if (fstatSync(this.fd).nlink === 0) {
        closeSync(this.fd);
        this.fd = openSync(this.walFile, 'r');
      }
      fdatasyncSync(this.fd);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      this.flushing = true; // done() settles as for the thread's flush
      this.done(err.code ? `${err.code}: ${err.message}` : String(e));
      return;
    }
    this.flushing = true;
    this.covering = this.committed;
    this.done(undefined);
  }

  private pump(): void {
    if (this.flushing || this.failed || this.durableUpTo >= this.committed) return;
    this.flushing = true;
    this.covering = this.committed;
    const w = this.thread();
    w.ref(); // a flush in flight keeps the process alive until it is done
    w.postMessage('flush');
  }

  private done(error: string | undefined): void {
    if (!this.flushing && error === undefined) return;
    this.flushing = false;
    this.worker?.unref();
    if (error !== undefined) {
      this.failed ??= new StoreDurabilityError(error);
      for (const w of this.waiters.splice(0)) w.reject(this.failed);
      return;
    }
    this.flushes++;
    this.durableUpTo = this.covering;
    while (this.waiters.length > 0 && this.waiters[0]!.n <= this.durableUpTo) this.waiters.shift()!.resolve();
    this.pump();
  }

  /** After the last commit is durable (or failed): the thread ends. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.durable()?.catch(() => undefined);
      await this.worker?.terminate();
      closeSync(this.fd);
    })();
    return this.closing;
  }
}

/** A commit the store made could not be flushed to disk: it may be lost at a power cut. */
export class StoreDurabilityError extends Error {
  constructor(cause: string) {
    super(`a commit could not be flushed to disk (${cause}): the store stops; restart the authority`);
  }
}

// The thread: CommonJS run by `eval` (no loader, nothing of the repository imported).
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
let fd = null;
parentPort.on('message', () => {
  try {
    if (fd === null) fd = fs.openSync(workerData.walFile, 'r');
    else if (fs.fstatSync(fd).nlink === 0) {
      fs.closeSync(fd);
      fd = fs.openSync(workerData.walFile, 'r');
    }
    fs.fdatasyncSync(fd);
    parentPort.postMessage({});
  } catch (e) {
    parentPort.postMessage({ error: e.code ? e.code + ': ' + e.message : String(e) });
  }
});
`;
