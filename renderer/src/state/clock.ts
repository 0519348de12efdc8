import { Store } from './store.ts';

/**
 * A shared ticking clock for countdowns and wait times: one timer for the whole page,
 * running only while something shows a time.
 */
export class ClockStore extends Store<number> {
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {
    super(now());
  }

  protected override onObserved(): void {
    this.setState(this.now());
    this.timer = setInterval(() => this.setState(this.now()), this.intervalMs);
  }

  protected override onUnobserved(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
