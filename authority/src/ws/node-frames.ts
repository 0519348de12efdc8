import type { FastifyBaseLogger } from 'fastify';
import type { ServerFrame } from '../../../protocol/src/index.ts';
import type { EventBus } from '../events/bus.ts';
import type { Data } from '../store/repos/index.ts';
import type { Hub } from './hub.ts';

/** How long a `hub.frame` event stays in the outbox (followers read it as it commits). */
const FRAME_RETAIN_MS = 60_000;

type Target = { sessionId: string; staffIds?: undefined } | { staffIds: string[]; sessionId?: undefined };

/**
 * Frames to sockets on every node. With one node (SQLite, LocalEventBus) a frame goes
 * straight to this hub's sockets. With many (PgEventBus, `bus.shared`) it is written to
 * the outbox as `hub.frame` (one unit per batch, in call order, right after the change
 * that produced it) and every node, this one included, follows that topic from its
 * boot and sends it to its own matching sockets: a frame reaches each socket once (this
 * node never sends it in-process as well). "session ended" follows `session.ended`.
 */
export class NodeFrames {
  private queue: { target: Target; frame: ServerFrame }[] = [];
  private flushing: Promise<void> | null = null;
  private readonly pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly data: Data,
    private readonly bus: EventBus,
    private readonly log: FastifyBaseLogger,
  ) {
    if (bus.shared) {
      bus.follow(['hub.frame'], (e) => {
        const p = e.payload;
        if (p.sessionId !== undefined) hub.sendToSession(p.sessionId, p.frame);
        for (const id of p.staffIds ?? []) hub.sendToStaff(id, p.frame);
      });
      // No durable consumer reads frames (nor moves its cursor past them): they go after a minute.
      this.pruner = setInterval(() => {
        this.data
          .tx((r) => r.outbox.pruneTopic('hub.frame', FRAME_RETAIN_MS))
          .catch((e: unknown) => this.log.error({ err: e }, 'pruning socket frames failed'));
      }, FRAME_RETAIN_MS / 4);
      this.pruner.unref();
    }
    // Every node closes the sockets of a session ended anywhere (the ending node's own
    // in-process event got there first: closing twice is a no-op).
    bus.follow(['session.ended'], (e) => hub.sessionEnded(e.payload.sessionId, e.payload.reason));
  }

  toSession(sessionId: string, frame: ServerFrame): void {
    if (!this.bus.shared) return this.hub.sendToSession(sessionId, frame);
    this.enqueue({ sessionId }, frame);
  }

  toStaff(staffIds: readonly string[], frame: ServerFrame): void {
    if (staffIds.length === 0) return;
    if (!this.bus.shared) {
      for (const id of staffIds) this.hub.sendToStaff(id, frame);
      return;
    }
    this.enqueue({ staffIds: [...staffIds] }, frame);
  }

  /** Resolves when every frame handed over so far is in the outbox (shutdown); stops pruning. */
  async close(): Promise<void> {
    if (this.pruner) clearInterval(this.pruner);
    while (this.flushing) await this.flushing;
  }

  private enqueue(target: Target, frame: ServerFrame): void {
    this.queue.push({ target, frame });
    this.flushing ??= this.flush();
  }

  /** One unit per batch: the frames queued meanwhile commit together, in order. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 200);
        try {
          await this.data.tx(async (r) => {
            for (const f of batch) await r.outbox.emit('hub.frame', { ...f.target, frame: f.frame });
          });
        } catch (e) {
          this.log.error({ err: e }, `${batch.length} socket frame(s) could not be written to the outbox`);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
