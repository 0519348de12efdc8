/**
 * The smallest external store React can subscribe to with useSyncExternalStore:
 * immutable state, replaced as a whole, listeners told after each change. Console
 * logic lives in subclasses (plain TypeScript, testable in Node); components only read
 * state and call methods.
 */
export class Store<S> {
  private readonly listeners = new Set<() => void>();
  protected state: S;

  constructor(initial: S) {
    this.state = initial;
  }

  readonly getState = (): S => this.state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.onObserved();
    return () => {
      if (this.listeners.delete(listener) && this.listeners.size === 0) this.onUnobserved();
    };
  };

  /** The first listener arrived (start timers here). */
  protected onObserved(): void {}
  /** The last listener left. */
  protected onUnobserved(): void {}

  protected setState(next: S | ((s: S) => S)): void {
    const value = typeof next === 'function' ? (next as (s: S) => S)(this.state) : next;
    if (Object.is(value, this.state)) return;
    this.state = value;
    this.emitChange();
  }

  protected patch(partial: Partial<S>): void {
    this.setState({ ...this.state, ...partial });
  }

  protected emitChange(): void {
    for (const l of [...this.listeners]) l();
  }
}

/** Unsubscribe functions collected while a store is live, called together on stop. */
export class Subscriptions {
  private fns: (() => void)[] = [];
  add(...fns: (() => void)[]): void {
    this.fns.push(...fns);
  }
  clear(): void {
    for (const f of this.fns.splice(0)) f();
  }
}

/**
 * Sets `key` in `map` as its newest entry; past `limit` entries the oldest goes. For what
 * a store remembers of recent items only (the last state seen of each, to drop updates
 * that arrive late).
 */
export function rememberRecent<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key); // re-inserted last: the oldest entries go first
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}
