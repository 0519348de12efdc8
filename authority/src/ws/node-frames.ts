import type { FastifyBaseLogger } from 'fastify';
import type { DomainPayload, DomainTopic } from '../../../protocol/src/domain-events.ts';
import type { ServerFrame } from '../../../protocol/src/index.ts';
import { randomId } from '../ids.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { EventBus } from '../events/bus.ts';
import type { Data, Repos } from '../store/repos/index.ts';
import type { Hub } from './hub.ts';

/** How long `hub.*` / `feeds.*` events stay in the outbox (followers read them as they commit). */
const FRAME_RETAIN_MS = 60_000;
const NODE_TOPICS = ['hub.frame', 'hub.staff', 'feeds.changed', 'feeds.offer'] as const;

type Outgoing = { [T in DomainTopic]: { topic: T; payload: DomainPayload<T> } }[DomainTopic];

/**
 * Frames to sockets on every node. With one node (SQLite, LocalEventBus) a frame goes
 * straight to this hub's sockets. With many (PgEventBus, `bus.shared`) it is written to
 * the outbox (one unit per batch, in call order, right after the change that produced it;
 * a batch of one event is one statement) and every node follows it from its boot and
 * sends it to its own matching sockets.
 *
 * A frame for staff goes straight to this node's own staff sockets, at once (on
 * PostgreSQL 1-2 ms sooner than through the outbox), and to the other nodes as
 * `hub.staff` tagged with this node's id: its follower follows other nodes' events only
 * (its node's commits do not wake it) and passes over this node's own, so each socket
 * gets it once. The console takes such frames in any order (a command's update carries
 * its revision, a transfer's state its lifecycle). A frame for a device's session goes
 * through the outbox only, as `hub.frame`, on every node (this one too): the device
 * executes commands in (fence, seq) order and refuses one below the last, and the agent's
 * requests may reach any node, so a command sent on the device's own node must not
 * overtake the one before it, still on its way from another node through the outbox. A
 * command's own frame does not come here at all with many nodes: the relay writes it in
 * the command's unit (relay/commands.ts `frameIn`), so it is in the outbox before the
 * agent is answered. "session ended" follows `session.ended`.
 *
 * The queue/board/device feeds build their frames from committed data on each node: the
 * pipeline's in-process 'changed' / 'offer' of this node go out as `feeds.changed` /
 * `feeds.offer` tagged with this node's id, and the other nodes hand them to their own
 * feeds (this node's feeds had them in-process already).
 */
export class NodeFrames {
  private queue: Outgoing[] = [];
  /** this process's id in `feeds.*` and `hub.staff` events (its own are skipped) */
  readonly node = randomId(12);
  private flushing: Promise<void> | null = null;
  private closed = false;
  private readonly pruner: NodeJS.Timeout | null = null;

  constructor(
    private readonly hub: Hub,
    private readonly data: Data,
    private readonly bus: EventBus,
    private readonly log: FastifyBaseLogger,
    pipeline: Pipeline,
  ) {
    if (bus.shared) {
      pipeline.on('changed', (requestIds, agentIds) =>
        this.enqueue({ topic: 'feeds.changed', payload: { node: this.node, requestIds, agentIds } }),
      );
      pipeline.on('offer', (agentId, requestId) =>
        this.enqueue({ topic: 'feeds.offer', payload: { node: this.node, agentId, requestId } }),
      );
      // Other nodes' only (this node's feeds had its own in-process): its own commits do not wake them.
      bus.follow(
        ['feeds.changed'],
        (e) => {
          if (e.payload.node !== this.node) hub.feeds.changed(e.payload.requestIds, e.payload.agentIds);
        },
        { othersOnly: true },
      );
      bus.follow(
        ['feeds.offer'],
        (e) => {
          if (e.payload.node !== this.node) hub.feeds.offered(e.payload.agentId, e.payload.requestId);
        },
        { othersOnly: true },
      );
      // A node died: what it changed last may not have reached this node's feeds (its
      // `feeds.changed` comes in a unit after the change); each feed gets a fresh snapshot.
      bus.follow(['node.gone'], () => hub.feeds.resync());
      bus.follow(['hub.frame'], (e) => {
        const p = e.payload;
        if (p.sessionId !== undefined) hub.sendToSession(p.sessionId, p.frame);
        for (const id of p.staffIds ?? []) hub.sendToStaff(id, p.frame); // from a node of an earlier version
      });
      bus.follow(
        ['hub.staff'],
        (e) => {
          if (e.payload.node === this.node) return; // its sockets had it at once
          for (const id of e.payload.staffIds) hub.sendToStaff(id, e.payload.frame);
        },
        { othersOnly: true },
      );
      // No durable consumer reads frames (nor moves its cursor past them): they go after a minute.
      this.pruner = setInterval(() => {
        this.data
          .tx(async (r) => {
            for (const t of NODE_TOPICS) await r.outbox.pruneTopic(t, FRAME_RETAIN_MS);
          })
          .catch((e: unknown) => this.log.error({ err: e }, 'pruning socket frames failed'));
      }, FRAME_RETAIN_MS / 4);
      this.pruner.unref();
    }
    // Every node closes the sockets of a session ended anywhere (the ending node's own
    // in-process event got there first: closing twice is a no-op).
    bus.follow(['session.ended'], (e) => hub.sessionEnded(e.payload.sessionId, e.payload.reason));
    // Every node closes the sockets of staff logins that ended (logout, the provider's back-channel logout).
    bus.follow(['staff.signed_out'], (e) => hub.signedOut(e.payload.families));
  }

  toSession(sessionId: string, frame: ServerFrame): void {
    if (!this.bus.shared) return this.hub.sendToSession(sessionId, frame);
    this.enqueue({ topic: 'hub.frame', payload: { sessionId, frame } }); // in outbox order on every node
  }

  toStaff(staffIds: readonly string[], frame: ServerFrame): void {
    if (staffIds.length === 0) return;
    for (const id of staffIds) this.hub.sendToStaff(id, frame);
    if (this.bus.shared)
      this.enqueue({ topic: 'hub.staff', payload: { node: this.node, staffIds: [...staffIds], frame } });
  }

  /** Resolves when every frame handed over so far is in the outbox (shutdown); stops pruning. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pruner) clearInterval(this.pruner);
    while (this.flushing) await this.flushing;
  }

  private enqueue(e: Outgoing): void {
    if (this.closed) return; // shutting down: the store closes after the last flush
    this.queue.push(e);
    // started after the current task's synchronous code: the frames one change sends together
    // (a command to the device and its update to the agents) commit in one unit
    this.flushing ??= Promise.resolve().then(() => this.flush());
  }

  /** One unit per batch: the frames queued meanwhile commit together, in order. */
  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, 200);
        try {
          const write = async (r: Repos) => {
            for (const e of batch) await r.outbox.emitNow(e.topic, e.payload);
          };
          // One event is one statement: one round trip instead of three on PostgreSQL.
          if (batch.length === 1) await this.data.statement(write);
          else await this.data.tx(write);
        } catch (e) {
          this.log.error({ err: e }, `${batch.length} socket event(s) could not be written to the outbox`);
        }
      }
    } finally {
      this.flushing = null;
    }
  }
}
