/**
 * A pass (a sweep, a dispatch) that runs one at a time: `run()` while none runs starts
 * one; `run()` while one runs gets one more pass that starts after it, shared by every
 * call until it starts. The running pass read its clock and rows before the call, so
 * what the caller changed would otherwise wait for the next timer; passes side by side
 * would only get in each other's way. A pass that fails rejects its callers; the pass
 * after it runs all the same.
 */
export class SerialPasses<T> {
  private running: Promise<T> | null = null;
  private next: Promise<T> | null = null;

  constructor(private readonly pass: () => Promise<T>) {}

  run(): Promise<T> {
    if (this.running === null) {
      const p = this.pass().finally(() => {
        this.running = null;
      });
      this.running = p;
      return p;
    }
    this.next ??= this.running
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.run();
      });
    return this.next;
  }
}
