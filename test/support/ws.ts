import { once } from 'node:events';
import WebSocket from 'ws';

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

  static async open(httpUrl: string, path = '/v1/ws'): Promise<TestSocket> {
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
