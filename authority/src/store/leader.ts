import pg from 'pg';
import { LOCK_LEADER, VD_LOCK_CLASS } from './schema-migrations.ts';

/**
 * Work that must have one owner among the nodes (today: converting call recordings,
 * whose files one node at a time may read and write). `leading` says whether this
 * process is that owner now; the work checks it at each round.
 */
export interface Leadership {
  readonly leading: boolean;
  start(): void;
  stop(): Promise<void>;
}

/** One process on SQLite: it always leads. */
export class SoleLeader implements Leadership {
  readonly leading = true;
  start(): void {}
  async stop(): Promise<void> {}
}

/** pg_stat_activity.application_name of a node's leader session: this and the node's id. */
export const LEADER_APPLICATION_NAME = 'vd-leader';

/**
 * Many nodes on PostgreSQL: the leader is the node whose dedicated connection holds the
 * session-level advisory lock (VD_LOCK_CLASS, LOCK_LEADER); no home-made election. A node
 * that does not lead tries `pg_try_advisory_lock` every `retryMs`; the leader checks its
 * connection as often (`SELECT 1`) and stops leading the moment the connection fails (the
 * server released the lock with the session). When a leader dies its session ends (a
 * killed process closes its socket at once; a lost machine when TCP keepalive gives up),
 * the lock is free, and another node takes over within `retryMs`. A clean stop releases
 * it at once.
 */
export class PgLeader implements Leadership {
  private client: pg.Client | null = null;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private stopped = true;
  leading = false;

  constructor(
    private readonly url: string,
    /** The node's name (VD_NODE_ID): its session shows as "vd-leader <node>". */
    private readonly node: string,
    private readonly retryMs = 1000,
    private readonly onError: (e: Error) => void = () => {},
  ) {}

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), this.retryMs);
    this.timer.unref();
  }

  private tick(): void {
    this.round ??= this.check().finally(() => (this.round = null));
  }

  private async check(): Promise<void> {
    try {
      if (!this.client) {
        const c = new pg.Client({
          connectionString: this.url,
          application_name: `${LEADER_APPLICATION_NAME} ${this.node}`.slice(0, 63),
          keepAlive: true,
        });
        c.on('error', (e) => this.lost(c, e));
        c.on('end', () => this.lost(c));
        await c.connect();
        if (this.stopped) {
          await c.end().catch(() => {});
          return;
        }
        this.client = c;
      }
      if (this.leading) {
        await this.client.query('SELECT 1');
        return;
      }
      const r = await this.client.query<{ got: boolean }>('SELECT pg_try_advisory_lock($1, $2) AS got', [
        VD_LOCK_CLASS,
        LOCK_LEADER,
      ]);
      if (r.rows[0]?.got && !this.stopped) this.leading = true;
    } catch (e) {
      if (this.client) this.lost(this.client, e as Error);
      else this.onError(e as Error);
    }
  }

  /** The connection is gone: so is the lock (the server released it with the session). */
  private lost(c: pg.Client, e?: Error): void {
    if (this.client !== c) return;
    this.client = null;
    this.leading = false;
    if (e) this.onError(e);
    void c.end().catch(() => {});
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.round;
    const c = this.client;
    this.client = null;
    this.leading = false;
    // Ending the session releases the lock: another node takes over at its next round.
    if (c) await c.end().catch(() => {});
  }
}
