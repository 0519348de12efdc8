import type { DomainTopic } from '../../../protocol/src/domain-events.ts';
import type { Data } from '../store/repos/index.ts';
import { LocalEventBus, type LocalBusOptions } from './bus.ts';

/**
 * A PostgreSQL LISTEN connection as the bus sees it (store/pg-listen.ts implements it;
 * the driver stays in the store): a call per notification (the seq a unit committed) and
 * one after every (re)connection, when notifications may have been missed.
 */
export interface Wakeups {
  start(handlers: { onSeq: (seq: number, topic?: DomainTopic) => void; onConnected: () => void }): void;
  stop(): Promise<void>;
}

/**
 * The EventBus of many authority nodes on one PostgreSQL database: the consumers and
 * followers of LocalEventBus (durable cursors, guarded `advance`: of the nodes running a
 * consumer exactly one does each event's effect), woken also by other nodes' commits. A
 * unit that emitted sends `NOTIFY vd_outbox, '<seq> <topic>'` in its transaction (repos/outbox.ts:
 * delivered at commit); every node wakes the consumers of that topic on a notification, after (re)connecting its
 * LISTEN client (catch-up by seq: notifications are lost while it is disconnected) and on
 * the safety poll. A notification carries only the seq and topic, never the event.
 */
export class PgEventBus extends LocalEventBus {
  override readonly shared = true;
  /** notifications received (tests and metrics) */
  notifications = 0;
  /** (re)connections of the listener after which the bus caught up */
  catchUps = 0;

  constructor(
    data: Data,
    private readonly wakeups: Wakeups,
    opts: LocalBusOptions = {},
  ) {
    super(data, opts);
  }

  override async start(): Promise<void> {
    if (!this.stopped) return;
    this.wakeups.start({
      onSeq: (_seq, topic) => {
        this.notifications++;
        // the consumers and followers of the notified topic (all of them when it is not named)
        this.wake(topic === undefined ? undefined : new Set([topic]));
      },
      onConnected: () => {
        this.catchUps++;
        this.wake();
      },
    });
    await super.start();
  }

  override async stop(): Promise<void> {
    await this.wakeups.stop();
    await super.stop();
  }
}
