import { DOMAIN_EVENTS, type DomainPayload, type DomainTopic } from '../../../protocol/src/domain-events.ts';
import type { Data, Repos } from '../store/repos/index.ts';
import type { OutboxRow } from '../store/repos/outbox.ts';

/** One domain event as a consumer sees it: committed, its payload checked against its topic's schema. */
export interface DomainEvent<T extends DomainTopic = DomainTopic> {
  seq: number;
  topic: T;
  payload: DomainPayload<T>;
  createdAt: number;
}

/** What a handler may hand back: work to do once its unit has committed (frames, a dispatch). */
export type AfterCommit = () => void | Promise<void>;

/**
 * A consumer's handler: runs inside the unit of work that also moves the consumer's
 * cursor past `e`, so its writes and the cursor commit together (a crash before the
 * commit replays the event, never half of it). Database work only (a unit's rules);
 * what must wait for the commit (sockets, dispatch) goes in the returned AfterCommit,
 * which runs at most once and may be lost to a crash (never use it for what must last).
 */
export type Handler<T extends DomainTopic> = (
  r: Repos,
  e: DomainEvent<T>,
) => Promise<AfterCommit | void> | AfterCommit | void;

/** A node's own listener (its sockets): called once per event in seq order, outside any unit. */
export type Listener<T extends DomainTopic> = (e: DomainEvent<T>) => void | Promise<void>;

/**
 * Domain events across the authority (issue 12: across nodes). Producers append events
 * with `r.outbox.emit(topic, payload)` inside the unit of their change; consumers
 * subscribe by a durable name. Every implementation delivers each event to each consumer
 * in seq order with its effect committed exactly once, and catches up from the
 * consumer's cursor after a restart, a lost wake-up or a lost connection.
 */
export interface EventBus {
  /** Register consumer `name` (its cursor's key: keep it stable) for `topics`. Before start(). */
  subscribe<T extends DomainTopic>(name: string, topics: readonly T[], handler: Handler<T>): void;
  /** Catch every consumer up from its cursor, then follow new events (wake-ups and a safety poll). */
  start(): Promise<void>;
  /** Stop following; resolves when no handler is running. */
  stop(): Promise<void>;
  /** Resolves once every consumer has processed every event committed before the call (tests, shutdown). */
  settled(): Promise<void>;
  /** How far each consumer is behind the newest event (events, and the age of the oldest it has not done): /metrics. */
  backlog(): Promise<{ consumer: string; events: number; oldestMs: number }[]>;
  /**
   * This node's listener for `topics` (before start()): every event committed after
   * start(), in seq order, on EVERY node of the database; no cursor, no unit, nothing
   * replayed after a restart (for what lives in one process: sockets). A listener that
   * throws is reported and the next event goes on. `othersOnly`: the listener acts on other
   * nodes' events only (it passes over this node's own, which its sockets had in-process):
   * a unit of this node that emitted does not wake it; another node's notification, a
   * catch-up and the poll do, and it then gets every event after its cursor as usual.
   */
  follow<T extends DomainTopic>(
    topics: readonly T[],
    listener: Listener<T>,
    opts?: { othersOnly?: boolean },
  ): void;
  /**
   * `l` runs at every wake-up of this node's bus: a local unit that emitted committed, a
   * notification from another node (PgEventBus), the safety poll. Something may have
   * changed in the store: the deadline timer (events/deadline-timer.ts) looks again.
   */
  onWake(l: () => void): () => void;
  /**
   * true when other processes share this outbox (PgEventBus): what this node's in-process
   * events tell its sockets must go through the outbox to reach the other nodes' sockets.
   */
  readonly shared: boolean;
}

export interface LocalBusOptions {
  /** Safety poll (ms): catch up even if a wake-up was lost or a handler failed (default 1000). */
  pollMs?: number;
  /** Processed events older than this are deleted (default 1 h); see OutboxRepo.prune. */
  retainMs?: number;
  /** Where a failing handler is reported (default console.error); it is retried at the next wake-up or poll. */
  onError?: (consumer: string, e: unknown, event?: OutboxRow) => void;
}

interface Loop {
  running: Promise<void> | null;
  again: boolean;
}

interface Follower extends Loop {
  topics: readonly DomainTopic[];
  listener: Listener<DomainTopic>;
  /** not woken by this node's own commits (follow's `othersOnly`) */
  othersOnly: boolean;
  /** the seq of the last event handed to the listener (the head at start()) */
  cursor: number;
}

interface Consumer {
  name: string;
  topics: readonly DomainTopic[];
  handler: Handler<DomainTopic>;
  /** the seq of the last event this process saw processed (re-read when a move is refused) */
  cursor: number;
  running: Promise<void> | null;
  again: boolean;
}

const PAGE = 100;

/**
 * The single-node EventBus over the store's outbox (either engine). After a unit that
 * emitted commits, Data wakes the bus; each consumer then runs alone (one loop per
 * consumer), one unit per event: `advance(name, cursor, seq)` (guarded, so a second
 * process on the same database skips what the first did), the handler, commit, then the
 * handler's AfterCommit. A handler that throws rolls its unit back (cursor included):
 * the consumer stops there and retries at the next wake-up or poll, in order.
 */
export class LocalEventBus implements EventBus {
  readonly shared: boolean = false;
  private readonly consumers: Consumer[] = [];
  private readonly followers: Follower[] = [];
  private readonly wakeListeners = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  protected stopped = true;
  private unsubscribe: (() => void) | null = null;
  private lastPrune = 0;
  private readonly pollMs: number;
  private readonly retainMs: number;
  private readonly onError: NonNullable<LocalBusOptions['onError']>;

  constructor(
    protected readonly data: Data,
    opts: LocalBusOptions = {},
  ) {
    this.pollMs = opts.pollMs ?? 1000;
    this.retainMs = opts.retainMs ?? 3_600_000;
    this.onError =
      opts.onError ??
      ((name, e, ev) =>
        console.error(`events: consumer ${name} failed${ev ? ` at seq ${ev.seq} (${ev.topic})` : ''}:`, e));
  }

  subscribe<T extends DomainTopic>(name: string, topics: readonly T[], handler: Handler<T>): void {
    if (this.consumers.some((c) => c.name === name)) throw new Error(`consumer ${name} subscribed twice`);
    if (topics.length === 0) throw new Error(`consumer ${name} subscribes to no topic`);
    if (!this.stopped) throw new Error(`consumer ${name}: subscribe before start()`);
    this.consumers.push({
      name,
      topics,
      handler: handler as unknown as Handler<DomainTopic>,
      cursor: 0,
      running: null,
      again: false,
    });
  }

  follow<T extends DomainTopic>(
    topics: readonly T[],
    listener: Listener<T>,
    opts: { othersOnly?: boolean } = {},
  ): void {
    if (topics.length === 0) throw new Error('a follower follows no topic');
    if (!this.stopped) throw new Error('follow before start()');
    this.followers.push({
      topics,
      listener: listener as unknown as Listener<DomainTopic>,
      othersOnly: opts.othersOnly === true,
      cursor: 0,
      running: null,
      again: false,
    });
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    // Followers start at the newest event: what a process holds (sockets) did not outlive a restart.
    const head = await this.data.read.outbox.head();
    for (const f of this.followers) f.cursor = head;
    // Every consumer has a cursor row from now on: pruning waits for the slowest.
    for (const c of this.consumers) c.cursor = await this.data.tx((r) => r.outbox.register(c.name));
    this.unsubscribe = this.data.onEventsCommitted((topics) => this.wake(topics, true));
    this.timer = setInterval(() => this.poll(), this.pollMs);
    this.timer.unref();
    await this.catchUp();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.consumers, ...this.followers].flatMap((c) => (c.running ? [c.running] : [])));
  }

  async settled(): Promise<void> {
    await this.catchUp();
  }

  async backlog(): Promise<{ consumer: string; events: number; oldestMs: number }[]> {
    const read = this.data.read.outbox;
    const out = [];
    for (const c of this.consumers) {
      const p = await read.pending(await read.cursor(c.name), c.topics);
      out.push({
        consumer: c.name,
        events: p.n,
        oldestMs: p.oldest === null ? 0 : Math.max(0, Date.now() - p.oldest),
      });
    }
    return out;
  }

  /** Run every consumer until it has nothing left (what was committed before the call included). */
  protected async catchUp(): Promise<void> {
    await Promise.all([
      ...this.consumers.map((c) => this.drain(c)),
      ...this.followers.map((f) => this.drainFollower(f)),
    ]);
  }

  onWake(l: () => void): () => void {
    this.wakeListeners.add(l);
    return () => this.wakeListeners.delete(l);
  }

  /**
   * Something may have been committed: run the wake listeners, and the consumers and
   * followers of `topics` (a local unit that emitted says which), or of every topic (a
   * notification from another node, the safety poll) when `topics` is not known. A
   * consumer of other topics would only read nothing after its cursor. `here`: a unit of
   * this node committed (followers of other nodes' events only are left alone).
   */
  protected wake(topics?: ReadonlySet<DomainTopic>, here = false): void {
    if (this.stopped) return;
    for (const l of this.wakeListeners) l();
    const concerned = (c: { topics: readonly DomainTopic[] }) =>
      topics === undefined || c.topics.some((t) => topics.has(t));
    for (const c of this.consumers) if (concerned(c)) void this.drain(c);
    for (const f of this.followers) if (concerned(f) && !(here && f.othersOnly)) void this.drainFollower(f);
  }

  private poll(): void {
    this.wake();
    const now = Date.now();
    if (now - this.lastPrune < this.retainMs / 4) return;
    this.lastPrune = now;
    this.data.tx((r) => r.outbox.prune(this.retainMs)).catch((e: unknown) => this.onError('prune', e));
  }

  /**
   * One loop per consumer: a wake-up while it runs makes it read once more when done, so
   * an event committed at any moment is processed by this call or by the one it queued.
   */
  private drain(c: Consumer): Promise<void> {
    return this.loop(c, c.name, () => this.page(c));
  }

  private drainFollower(f: Follower): Promise<void> {
    return this.loop(f, `follower of ${f.topics.join(',')}`, () => this.followPage(f));
  }

  private loop(c: Loop, name: string, page: () => Promise<boolean>): Promise<void> {
    if (c.running) {
      c.again = true;
      return c.running;
    }
    c.running = (async () => {
      try {
        do {
          c.again = false;
          while (!this.stopped && (await page()));
        } while (c.again && !this.stopped);
      } catch (e) {
        this.onError(name, e);
      } finally {
        c.running = null;
      }
    })();
    return c.running;
  }

  /** One page of events after a follower's cursor, handed to its listener: true when there may be more. */
  private async followPage(f: Follower): Promise<boolean> {
    const rows = await this.data.read.outbox.after(f.cursor, f.topics, PAGE);
    for (const row of rows) {
      if (this.stopped) return false;
      f.cursor = row.seq;
      const event = decode(row);
      if (!event) {
        this.onError('follower', new Error('payload does not match its topic schema: skipped'), row);
        continue;
      }
      try {
        await f.listener(event);
      } catch (e) {
        this.onError('follower', e, row);
      }
    }
    return rows.length === PAGE;
  }

  /** One page of events after the cursor: true when there may be more. */
  private async page(c: Consumer): Promise<boolean> {
    const rows = await this.data.read.outbox.after(c.cursor, c.topics, PAGE);
    for (const row of rows) {
      if (this.stopped) return false;
      const event = decode(row);
      const from = c.cursor;
      let out: { moved: boolean; after: AfterCommit | void };
      try {
        out = await this.data.tx(async (r) => {
          if (!(await r.outbox.advance(c.name, from, row.seq))) return { moved: false, after: undefined };
          // A payload that no longer parses is reported and passed over (it cannot succeed on a retry).
          if (!event) {
            this.onError(c.name, new Error('payload does not match its topic schema: skipped'), row);
            return { moved: true, after: undefined };
          }
          return { moved: true, after: await c.handler(r, event) };
        });
      } catch (e) {
        this.onError(c.name, e, row);
        return false; // retried, in order, at the next wake-up or poll
      }
      if (!out.moved) {
        // Someone else (another process on this database) moved the cursor: continue from theirs.
        c.cursor = await this.data.read.outbox.cursor(c.name);
        return true;
      }
      c.cursor = row.seq;
      if (out.after)
        try {
          await out.after();
        } catch (e) {
          this.onError(c.name, e, row);
        }
    }
    return rows.length === PAGE;
  }
}

function decode(row: OutboxRow): DomainEvent | null {
  const topic = row.topic as DomainTopic;
  const schema = DOMAIN_EVENTS[topic];
  if (!schema) return null;
  let json: unknown;
  try {
    json = JSON.parse(row.payload);
  } catch {
    return null;
  }
  const p = schema.safeParse(json);
  return p.success ? { seq: row.seq, topic, payload: p.data, createdAt: row.created_at } : null;
}
