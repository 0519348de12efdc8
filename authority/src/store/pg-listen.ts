import pg from 'pg';
import type { DomainTopic } from '../../../protocol/src/domain-events.ts';
import { OUTBOX_CHANNEL, parseOutboxNotification } from './repos/outbox.ts';

/**
 * What the event bus (events/pg-bus.ts) needs from a PostgreSQL LISTEN connection: a
 * call per notification (the committed seq) and one after every (re)connection, when
 * notifications may have been missed (the bus then catches up by seq).
 */
export interface OutboxWakeups {
  start(handlers: { onSeq: (seq: number, topic?: DomainTopic) => void; onConnected: () => void }): void;
  stop(): Promise<void>;
}

export interface PgListenOptions {
  /** first reconnection delay (ms, default 100), doubled up to maxBackoffMs, with jitter */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** connection losses and failed reconnections (default: ignored; the bus's poll goes on) */
  onError?: (e: Error) => void;
  /**
   * Whether a server process is one of this node's own sessions (Store.ownsSession): its
   * notifications are passed over. A unit of this node that emitted woke the node's bus
   * when it committed (Data.onEventsCommitted), so its NOTIFY, heard back here a moment
   * later, would only make every reader of the topic read the outbox again for nothing.
   * Default: none (every notification wakes the bus).
   */
  ownSession?: (pid: number) => boolean;
}

/** Shown in pg_stat_activity.application_name (tests find the listener by it). */
export const LISTEN_APPLICATION_NAME = 'vd-outbox-listen';

/**
 * A dedicated pg client (not from the pool: LISTEN belongs to one session) that listens on
 * the outbox channel, and reconnects with backoff and jitter whenever it is lost
 * (terminated backend, server restart, network). Losing it never loses an event: the
 * notifications only wake the bus, which reads events from the outbox by seq.
 */
export class PgOutboxListener implements OutboxWakeups {
  private client: pg.Client | null = null;
  private stopped = true;
  private retry: NodeJS.Timeout | null = null;
  private failures = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly onError: (e: Error) => void;
  private handlers: { onSeq: (seq: number, topic?: DomainTopic) => void; onConnected: () => void } | null =
    null;
  /** connections made so far (the first one included) */
  connections = 0;
  /** notifications passed over as this node's own (tests and metrics) */
  ownSkipped = 0;
  private readonly ownSession: (pid: number) => boolean;

  constructor(
    private readonly url: string,
    opts: PgListenOptions = {},
  ) {
    this.minMs = opts.minBackoffMs ?? 100;
    this.maxMs = opts.maxBackoffMs ?? 5000;
    this.onError = opts.onError ?? (() => {});
    this.ownSession = opts.ownSession ?? (() => false);
  }

  start(handlers: { onSeq: (seq: number, topic?: DomainTopic) => void; onConnected: () => void }): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.handlers = handlers;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = null;
    const c = this.client;
    this.client = null;
    if (c) await c.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const c = new pg.Client({ connectionString: this.url, application_name: LISTEN_APPLICATION_NAME });
    let lost = false;
    const onLost = (e?: Error) => {
      if (lost) return;
      lost = true;
      if (e) this.onError(e);
      if (this.client === c) this.client = null;
      c.removeAllListeners('notification');
      void c.end().catch(() => {});
      this.schedule();
    };
    c.on('error', (e) => onLost(e));
    c.on('end', () => onLost());
    c.on('notification', (n) => {
      if (n.channel !== OUTBOX_CHANNEL) return;
      if (this.ownSession(n.processId)) {
        this.ownSkipped++;
        return;
      }
      const got = parseOutboxNotification(n.payload ?? '');
      if (got) this.handlers?.onSeq(got.seq, got.topic);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${OUTBOX_CHANNEL}`);
    } catch (e) {
      onLost(e as Error);
      return;
    }
    if (this.stopped || lost) {
      await c.end().catch(() => {});
      return;
    }
    this.client = c;
    this.failures = 0;
    this.connections++;
    // Listening from now on: what was committed while nobody listened is read by seq.
    this.handlers?.onConnected();
  }

  private schedule(): void {
    if (this.stopped || this.retry) return;
    const base = Math.min(this.maxMs, this.minMs * 2 ** this.failures++);
    const delay = base / 2 + Math.random() * (base / 2);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, delay);
    this.retry.unref();
  }
}
