import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.ts';

export interface DeadlineTimerOptions {
  clock: Clock;
  /** The nearest stored deadline at or after `after` (ms), or null (DeadlinesRepo.next). */
  next: (after: number) => Promise<number | null>;
  /** Every expiry sweep once: idempotent, guarded by state (any node may run it at any time). */
  sweep: () => Promise<void>;
  /** Where a failed read or sweep is reported (the timer goes on). */
  onError: (what: string, e: unknown) => void;
  /** The store is read again at most this often (ms, default 100): re-arms are coalesced. */
  minGapMs?: number;
  /** The longest a timer is set for (ms, default 60 000): a later deadline is read again then. */
  maxDelayMs?: number;
  /** A deadline the timer already fired for is not fired again sooner than this (ms, default 1000). */
  retryMs?: number;
}

/**
 * One node's timer for the nearest stored deadline (issue 12 item 3): the expiry sweeps
 * (offers, callbacks due, wrap-ups, silent agents, device commands, consults, sessions)
 * run when the nearest deadline passes, not a poll period later. `rearm()` reads the
 * nearest deadline again (call it after a change or a bus wake-up: something may have a
 * nearer one now); a sweep the timer ran re-arms it when done. The safety polls stay
 * beside it (app.ts, `sweepPollSeconds`) for what no wake-up told this node.
 *
 * Only deadlines at or after the start of the last sweep it ran are read: a row a sweep
 * left alone (an idle session a request holds) does not wake it again, and a sweep that
 * failed, or a clock that does not move (tests), is retried after `retryMs`, never in a
 * loop. Every node arms its own timer; the sweeps are guarded updates, so nodes that
 * fire together change each row once.
 */
export class DeadlineTimer {
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  /** clock time at which the last sweep this timer ran started (its deadlines are done) */
  private sweptFrom = 0;
  /** the deadline the last firing was for */
  private firedFor = -Infinity;
  private reading: Promise<void> | null = null;
  private readAgain = false;
  private lastRead = -Infinity;
  private sweeping: Promise<void> | null = null;
  private sweepAgain = false;
  private readonly minGapMs: number;
  private readonly maxDelayMs: number;
  private readonly retryMs: number;
  /** firings so far (tests and metrics) */
  fired = 0;

  constructor(private readonly opts: DeadlineTimerOptions) {
    this.minGapMs = opts.minGapMs ?? 100;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.retryMs = opts.retryMs ?? 1000;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.sweptFrom = this.opts.clock.now();
    this.rearm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.reading;
    await this.sweeping;
  }

  /** Read the nearest deadline again and set the timer for it (coalesced, at most every minGapMs). */
  rearm(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    this.reading = (async () => {
      do {
        this.readAgain = false;
        const wait = this.lastRead + this.minGapMs - performance.now();
        if (wait > 0) await sleep(wait); // ref'd (at most minGapMs): stop() awaits it
        if (this.stopped) return;
        this.lastRead = performance.now();
        this.set(await this.opts.next(this.sweptFrom + 1));
      } while (this.readAgain && !this.stopped);
    })()
      .catch((e: unknown) => this.opts.onError('deadline read', e))
      .finally(() => (this.reading = null));
  }

  private set(at: number | null): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (at === null) return;
    let delay = Math.max(0, at - this.opts.clock.now() + 1);
    if (at <= this.firedFor) delay = Math.max(delay, this.retryMs);
    this.timer = setTimeout(() => this.fire(at), Math.min(delay, this.maxDelayMs));
    this.timer.unref();
  }

  private fire(at: number): void {
    this.timer = null;
    if (this.stopped) return;
    // set for maxDelayMs, before its deadline: read again
    if (at >= this.opts.clock.now()) return this.rearm();
    this.firedFor = Math.max(this.firedFor, at);
    this.fired++;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = (async () => {
      do {
        this.sweepAgain = false;
        const from = this.opts.clock.now();
        await this.opts.sweep();
        this.sweptFrom = Math.max(this.sweptFrom, from);
      } while (this.sweepAgain && !this.stopped);
    })()
      .catch((e: unknown) => this.opts.onError('sweep', e))
      .finally(() => {
        this.sweeping = null;
        this.rearm();
      });
  }
}
