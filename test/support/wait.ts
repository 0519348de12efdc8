/**
 * Waiting in tests without fixed sleeps: wait for a named condition or event, bounded by
 * a timeout whose error says what never happened.
 *
 * - until(what, probe): poll a condition (at once, then on event-loop turns, then every few ms).
 * - when(what, subscribe, probe): re-check a condition on each event of a source
 *   (a renderer Store, an EventEmitter via `on(emitter, name)`), no polling.
 * - whenState(what, store, pred): `when` for a Store's state.
 * - within(what, promise): a promise bounded by a timeout.
 * - eventOrDelay(emitter, event, ms): a retry loop's pause, cut short by the next event,
 *   leaving no listener behind.
 */
import { once, type EventEmitter } from 'node:events';

export interface WaitOptions {
  /** Fail after this long (default 5,000 ms). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** Polls on the first event-loop turns (in-process work resolves there), then every POLL_MS. */
const FAST_TURNS = 50;
const POLL_MS = 5;

/** A probe's answer counts when it is neither undefined, null nor false (0 and '' count). */
type Maybe<T> = T | undefined | null | false;
const held = <T>(v: Maybe<T>): v is T => v !== undefined && v !== null && v !== false;

export class WaitTimeout extends Error {
  constructor(what: string, timeoutMs: number, last?: unknown) {
    super(
      `timed out after ${timeoutMs} ms waiting for ${what}` +
        (last instanceof Error ? ` (last probe error: ${last.message})` : ''),
    );
    this.name = 'WaitTimeout';
  }
}

/**
 * Resolve with the probe's first held value (not undefined/null/false), checked at once,
 * after each of the first event-loop turns, then every 5 ms; reject after `timeoutMs`
 * with `what` in the message. A probe may be async; a probe that throws is retried (its
 * last error is quoted on timeout).
 */
export async function until<T>(
  what: string,
  probe: () => Maybe<T> | Promise<Maybe<T>>,
  opts: WaitOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  for (let turn = 0; ; turn++) {
    try {
      const v = await probe();
      if (held(v)) return v;
      lastError = undefined;
    } catch (e) {
      lastError = e;
    }
    if (performance.now() >= deadline) throw new WaitTimeout(what, timeoutMs, lastError);
    await new Promise<void>((r) => (turn < FAST_TURNS ? setImmediate(r) : setTimeout(r, POLL_MS)));
  }
}

/** Something that calls a listener on each event and returns how to stop (Store.subscribe has this shape). */
export type Subscribe = (listener: () => void) => () => void;

/** A Subscribe over an EventEmitter's event (any arguments). */
export function on(
  emitter: {
    on(event: string, l: (...args: any[]) => void): unknown;
    off(event: string, l: (...args: any[]) => void): unknown;
  },
  event: string,
): Subscribe {
  return (listener) => {
    const l = () => listener();
    emitter.on(event, l);
    return () => void emitter.off(event, l);
  };
}

/**
 * Resolve with the probe's first held value, checked at once and after each event of
 * `subscribe` (no polling); reject after `timeoutMs` with `what` in the message.
 */
export function when<T>(
  what: string,
  subscribe: Subscribe,
  probe: () => Maybe<T>,
  opts: WaitOptions = {},
): Promise<T> {
  const now = probe();
  if (held(now)) return Promise.resolve(now);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let off: (() => void) | null = null;
    const finish = (settle: () => void) => {
      done = true;
      clearTimeout(t);
      off?.();
      settle();
    };
    const t = setTimeout(() => finish(() => reject(new WaitTimeout(what, timeoutMs))), timeoutMs);
    off = subscribe(() => {
      if (done) return;
      let v: Maybe<T>;
      try {
        v = probe();
      } catch (e) {
        finish(() => reject(e as Error));
        return;
      }
      if (held(v)) finish(() => resolve(v));
    });
    if (done) off(); // the source called back while subscribing
  });
}

/** Resolve with a store's state once `pred` holds for it (checked at once and on each change). */
export function whenState<S>(
  what: string,
  store: { subscribe: Subscribe; getState: () => S },
  pred: (s: S) => boolean,
  opts: WaitOptions = {},
): Promise<S> {
  return when(
    what,
    store.subscribe,
    () => (pred(store.getState()) ? { s: store.getState() } : false),
    opts,
  ).then((x) => x.s);
}

/** The promise's value, or a rejection naming `what` after `timeoutMs`. */
export function within<T>(what: string, promise: Promise<T>, opts: WaitOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let t: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new WaitTimeout(what, timeoutMs)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(t));
}

/**
 * A retry loop's pause: resolves at the next `event` of `emitter` (an 'error' too), after
 * `ms`, or when `also` settles, whichever comes first, and removes its listeners either way.
 * (A bare `once(emitter, event)` raced against a timer keeps its `event` and 'error'
 * listeners until the event comes: a loop that retries on the timer piles them up, and
 * Node warns MaxListenersExceededWarning at the eleventh.)
 */
export async function eventOrDelay(
  emitter: EventEmitter,
  event: string,
  ms: number,
  also?: Promise<unknown>,
): Promise<void> {
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      once(emitter, event, { signal: stop.signal }).catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, ms))),
      ...(also ? [also.catch(() => undefined)] : []),
    ]);
  } finally {
    stop.abort();
    clearTimeout(timer);
  }
}
