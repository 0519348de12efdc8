import { once } from 'node:events';
import WebSocket from 'ws';
import { WS_PATH } from '../../protocol/src/index.ts';

/** A WebSocket test client that queues frames and records the close code. */
export class TestSocket {
  readonly frames: any[] = [];
  private waiters: ((f: any) => void)[] = [];
  closeCode: number | null = null;
  closeReason = '';
  readonly closed: Promise<{ code: number; reason: string; at: number }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      const w = this.waiters.shift();
      if (w) w(f);
      else this.frames.push(f);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = String(reason);
        resolve({ code, reason: String(reason), at: performance.now() });
      }),
    );
  }

  static async open(httpUrl: string, path = WS_PATH): Promise<TestSocket> {
    const ws = new WebSocket(httpUrl.replace(/^http/, 'ws') + path);
    const s = new TestSocket(ws);
    await once(ws, 'open');
    return s;
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** The next frame (queued or arriving). */
  next(): Promise<any> {
    const f = this.frames.shift();
    if (f !== undefined) return Promise.resolve(f);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  close(): void {
    this.ws.close();
  }
}

/**
 * Every frame of a TestSocket kept in arrival order; `take(pred)` removes and returns the
 * first matching one (already arrived or arriving), so waiting for one kind of frame
 * never drops another. Bounded: fails after `timeoutMs` with what did arrive.
 */
export class FrameLog {
  readonly log: any[] = [];
  private wake: (() => void)[] = [];

  constructor(readonly socket: TestSocket) {
    void (async () => {
      for (;;) {
        this.log.push(await socket.next());
        for (const w of this.wake.splice(0)) w();
      }
    })();
  }

  async take(pred: (f: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.log.findIndex(pred);
      if (i >= 0) return this.log.splice(i, 1)[0];
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no matching frame within ${timeoutMs} ms; got: ${this.log.map((f) => f.type).join(', ') || 'nothing'}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Whether a matching frame has arrived (without removing it). */
  has(pred: (f: any) => boolean): boolean {
    return this.log.some(pred);
  }
}
