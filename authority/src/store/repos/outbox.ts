import { sql, type Selectable } from 'kysely';
import {
  DOMAIN_EVENTS,
  type DomainPayload,
  type DomainTopic,
} from '../../../../protocol/src/domain-events.ts';
import type { Database } from '../schema.ts';
import { LOCK_OUTBOX, VD_LOCK_CLASS } from '../schema-migrations.ts';
import { prepared } from '../prepared.ts';
import { Repo, type RepoContext } from './base.ts';

export type OutboxRow = Selectable<Database['outbox']>;

/** The PostgreSQL channel a unit that emitted notifies (payload: the seq and the topic), store/pg-listen.ts listens on. */
export const OUTBOX_CHANNEL = 'vd_outbox';

/**
 * A notification's seq, and its topic when it names a known one. A payload of a seq alone
 * (as sent before the topic was added) gives no topic: the bus then wakes every consumer.
 * null for anything else.
 */
export function parseOutboxNotification(payload: string): { seq: number; topic?: DomainTopic } | null {
  const [seqText, topic, ...rest] = payload.split(' ');
  const seq = Number(seqText);
  if (seqText === '' || !Number.isSafeInteger(seq) || rest.length > 0) return null;
  return topic !== undefined && Object.hasOwn(DOMAIN_EVENTS, topic)
    ? { seq, topic: topic as DomainTopic }
    : { seq };
}

/** The units of work (by their repository context) that emitted, and their topics: Data wakes the event bus after they commit. */
const emitted = new WeakMap<RepoContext, Set<DomainTopic>>();

// Compiled once (prepared.ts): every unit that emits runs it.
const insertEvent = prepared((q, p: { topic: string; payload: string; at: number }) =>
  q.insertInto('outbox').values({ topic: p.topic, payload: p.payload, created_at: p.at }).returning('seq'),
);

/**
 * PostgreSQL: the same insert in one round trip instead of three. The advisory lock is
 * taken in the row source, so before the identity hands out seq (a subquery with a
 * volatile function is not pulled up: it is scanned before the row is projected); the
 * notification is sent for the inserted row, its payload `<seq> <topic>` (the event
 * itself is read from the table), transactional like every pg_notify. Nothing here
 * reads: the statement's snapshot, taken before the lock is granted, does not matter.
 */
const insertEventAndNotify = prepared((q, p: { topic: string; payload: string; at: number }) =>
  q
    .insertInto('outbox')
    .columns(['topic', 'payload', 'created_at'])
    .expression((eb) =>
      eb
        .selectFrom(
          sql<{ locked: unknown }>`(SELECT pg_advisory_xact_lock(${VD_LOCK_CLASS}, ${LOCK_OUTBOX}))`.as('l'),
        )
        .select((s) => [
          s.val(p.topic).as('topic'),
          s.val(p.payload).as('payload'),
          s.val(p.at).as('created_at'),
        ]),
    )
    .returning(['seq', sql<unknown>`pg_notify(${OUTBOX_CHANNEL}, seq::text || ' ' || topic)`.as('notified')]),
);

/** The topics a unit of work (its repository context) appended events of; undefined when none. */
export function unitEmitted(c: RepoContext): ReadonlySet<DomainTopic> | undefined {
  return emitted.get(c);
}

/**
 * Tables: outbox, outbox_cursors. The durable outbox of authority/src/events/: `emit`
 * appends a domain event inside the unit of work of the change it tells of (it commits
 * with it or not at all); consumers read events after their cursor in seq order and move
 * the cursor in the unit that does the event's effect (`advance`, guarded: of racing
 * consumers of one name exactly one moves it).
 *
 * seq order is commit order on both engines: SQLite has one writer; on PostgreSQL an
 * emitting unit takes the audit chain's advisory lock before its insert and holds it to
 * its commit, so a reader never sees seq n+1 committed while n is still to come (an
 * identity is handed out at insert, not at commit). A unit's events (and audit rows) are
 * written by its COMMIT's trigger there (unit-writes.ts), so the lock is held that short.
 */
export class OutboxRepo extends Repo {
  /**
   * Append event `topic` (payload checked against its schema, now) in this unit. On
   * PostgreSQL it is staged by the unit's last statement and written by its COMMIT's
   * trigger (unit-writes.ts: the lock that keeps seq in commit order is held inside the
   * commit only); on SQLite now.
   */
  async emit<T extends DomainTopic>(topic: T, payload: DomainPayload<T>): Promise<void> {
    const values = this.checked(topic, payload);
    if (this.c.later) this.c.later.addEvent(values.topic, values.payload, values.at);
    else await this.write(values);
    this.noteTopic(topic);
  }

  /**
   * emit(), written now on both engines, for a unit that needs the event's seq before its
   * commit (ws/node-frames.ts). On PostgreSQL the unit holds the lock from here to its
   * commit: emit nothing else before it, and little after.
   */
  async emitNow<T extends DomainTopic>(topic: T, payload: DomainPayload<T>): Promise<number> {
    const seq = await this.write(this.checked(topic, payload));
    this.noteTopic(topic);
    return seq;
  }

  private checked<T extends DomainTopic>(topic: T, payload: DomainPayload<T>) {
    if (!this.c.writable) throw new Error('outbox events are emitted inside a unit of work (data.tx)');
    return { topic, payload: JSON.stringify(DOMAIN_EVENTS[topic].parse(payload)), at: this.now() };
  }

  private async write(values: { topic: string; payload: string; at: number }): Promise<number> {
    // On PostgreSQL every node's bus wakes at the commit (pg_notify is transactional:
    // delivered at commit, never for a rollback), the consumers of this topic only. Only
    // the seq and topic travel: the event is read from the table (a notification is lost
    // while a listener is disconnected; the catch-up by seq covers it).
    const row = (await (this.c.engine === 'postgres' ? insertEventAndNotify : insertEvent).first(
      this.c,
      values,
    ))!;
    return row.seq;
  }

  private noteTopic(topic: DomainTopic): void {
    let topics = emitted.get(this.c);
    if (!topics) emitted.set(this.c, (topics = new Set()));
    topics.add(topic);
  }

  /** Events after `seq` of `topics`, oldest first, at most `limit`. */
  after(seq: number, topics: readonly string[], limit = 100): Promise<OutboxRow[]> {
    if (topics.length === 0) return Promise.resolve([]);
    return this.q
      .selectFrom('outbox')
      .selectAll()
      .where('seq', '>', seq)
      .where('topic', 'in', topics)
      .orderBy('seq')
      .limit(limit)
      .execute();
  }

  /** How many events of `topics` come after `seq`, and when the first of them was written (null: none). */
  async pending(seq: number, topics: readonly string[]): Promise<{ n: number; oldest: number | null }> {
    if (topics.length === 0) return { n: 0, oldest: null };
    const r = await this.q
      .selectFrom('outbox')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('created_at').as('oldest')])
      .where('seq', '>', seq)
      .where('topic', 'in', topics)
      .executeTakeFirstOrThrow();
    return { n: Number(r.n), oldest: r.oldest === null ? null : Number(r.oldest) };
  }

  /** The newest seq written (0 when none). */
  async head(): Promise<number> {
    const r = await this.q
      .selectFrom('outbox')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .executeTakeFirst();
    return Number(r?.seq ?? 0);
  }

  /** The cursor of `consumer` (0 for one that has never run). */
  async cursor(consumer: string): Promise<number> {
    const r = await this.q
      .selectFrom('outbox_cursors')
      .select('seq')
      .where('consumer', '=', consumer)
      .executeTakeFirst();
    return r?.seq ?? 0;
  }

  /**
   * Make sure `consumer` has a cursor (at 0, before every event, when it had none), so
   * pruning waits for it from now on. Returns its cursor.
   */
  async register(consumer: string): Promise<number> {
    if (!this.c.writable) throw new Error('a consumer registers inside a unit of work (data.tx)');
    await this.q
      .insertInto('outbox_cursors')
      .values({ consumer, seq: 0, updated_at: this.now() })
      .onConflict((oc) => oc.column('consumer').doNothing())
      .execute();
    return this.cursor(consumer);
  }

  /**
   * Move `consumer`'s cursor from `from` to `to` (a first move inserts it): false when it is
   * not at `from` any more (another node or loop processed the event: skip it). One
   * guarded statement; on PostgreSQL the row stays locked to the commit, so a racing
   * consumer waits, then finds the cursor moved.
   */
  async advance(consumer: string, from: number, to: number): Promise<boolean> {
    if (!this.c.writable) throw new Error('a cursor moves inside a unit of work (data.tx)');
    const at = this.now();
    if (from === 0) {
      const ins = await this.q
        .insertInto('outbox_cursors')
        .values({ consumer, seq: to, updated_at: at })
        .onConflict((oc) => oc.column('consumer').doNothing())
        .returning('consumer')
        .executeTakeFirst();
      if (ins) return true;
    }
    const r = await this.q
      .updateTable('outbox_cursors')
      .set({ seq: to, updated_at: at })
      .where('consumer', '=', consumer)
      .where('seq', '=', from)
      .executeTakeFirst();
    return r.numUpdatedRows === 1n;
  }

  /**
   * Delete events of `topic` older than `olderThanMs`, whatever the cursors: for topics no
   * durable consumer reads (`hub.frame`: frames for sockets, followed by every node as they
   * commit). Returns how many went.
   */
  async pruneTopic(topic: DomainTopic, olderThanMs: number): Promise<number> {
    if (!this.c.writable) throw new Error('the outbox is pruned inside a unit of work (data.tx)');
    const r = await this.q
      .deleteFrom('outbox')
      .where('topic', '=', topic)
      .where('created_at', '<', this.now() - olderThanMs)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /**
   * Delete events every registered consumer has processed and that are older than
   * `retainMs` (seq keeps growing: AUTOINCREMENT / identity never hand one out again).
   * Returns how many went. Nothing goes while no consumer has a cursor.
   */
  async prune(retainMs: number): Promise<number> {
    const before = this.now() - retainMs;
    if (!this.c.writable) throw new Error('the outbox is pruned inside a unit of work (data.tx)');
    const low = await this.q
      .selectFrom('outbox_cursors')
      .select((eb) => eb.fn.min('seq').as('seq'))
      .executeTakeFirst();
    if (low?.seq === null || low?.seq === undefined) return 0;
    const r = await this.q
      .deleteFrom('outbox')
      .where('seq', '<=', Number(low.seq))
      .where('created_at', '<', before)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
