/**
 * A supervisor's board feed as a console keeps it, through crashes and restarts: one
 * WebSocket to `url` (an authority, or HAProxy in front of a cluster) subscribed to
 * "board"; the snapshot sets the view, each queue.delta updates it (a request in a final
 * state leaves it); when the socket closes (1012 from a draining node, a reset from a
 * killed one) it connects again after a short pause with jitter, logs in again if its
 * token is refused, resubscribes and takes the fresh snapshot, as the console does.
 *
 * The crash scenario (crash-scenario.ts) compares the view with the database once the
 * queue has drained: a delta lost across a restart would leave a request the feed still
 * shows live, or miss one that is.
 */
import WebSocket from 'ws';
import { WS_PATH } from '../../protocol/src/index.ts';
import { api } from './http.ts';

const LIVE = new Set(['waiting', 'offered', 'assigned', 'scheduled']);

export class FeedWatcher {
  /** request id -> its state, as the feed shows it now */
  readonly view = new Map<string, string>();
  /** connection attempts (the first included; attempts while the server is down count too) */
  attempts = 0;
  /** snapshots taken */
  snapshots = 0;
  /** deltas applied */
  deltas = 0;
  /** error frames and refused logins seen (never expected) */
  readonly problems: string[] = [];
  private ws: WebSocket | null = null;
  private token: string | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly url: () => string,
    private readonly username: string,
    private readonly password: string,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.ws?.terminate();
    await this.loop;
  }

  /** The live requests as the feed shows them, sorted: "id:state". */
  live(): string[] {
    return [...this.view].map(([id, state]) => `${id}:${state}`).sort();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.token) await this.login();
        await this.session();
      } catch {
        /* the server is down or restarting: try again */
      }
      if (!this.stopped) await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
    }
  }

  private async login(): Promise<void> {
    const r = await api(this.url(), 'login', { json: { username: this.username, password: this.password } });
    if (r.status !== 200) {
      if (r.status < 500) this.problems.push(`login ${r.status}`);
      throw new Error(`login ${r.status}`);
    }
    this.token = r.body.accessToken as string;
  }

  /** One connection, until it closes. */
  private session(): Promise<void> {
    return new Promise<void>((done) => {
      const ws = new WebSocket(this.url().replace(/^http/, 'ws') + WS_PATH);
      this.ws = ws;
      this.attempts++;
      ws.on('open', () =>
        ws.send(JSON.stringify({ type: 'hello', auth: { kind: 'staff', accessToken: this.token } })),
      );
      ws.on('error', () => undefined);
      ws.on('close', (code) => {
        // Refused credentials (e.g. a session the server no longer knows): log in again.
        if (code === 4001 || code === 1008) this.token = null;
        done();
      });
      ws.on('message', (data) => {
        const f = JSON.parse(String(data));
        if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'board' }));
        else if (f.type === 'board.snapshot') {
          this.snapshots++;
          this.view.clear();
          for (const r of f.board.requests) if (LIVE.has(r.state)) this.view.set(r.requestId, r.state);
        } else if (f.type === 'queue.delta') {
          this.deltas++;
          for (const r of f.upserts) {
            if (LIVE.has(r.state)) this.view.set(r.requestId, r.state);
            else this.view.delete(r.requestId);
          }
        } else if (f.type === 'error') {
          if (f.code === 'unauthorized') this.token = null;
          else this.problems.push(`error frame ${f.code}: ${f.message}`);
        }
      });
    });
  }
}
