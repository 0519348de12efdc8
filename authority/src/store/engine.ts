import { AsyncLocalStorage } from 'node:async_hooks';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import {
  DeleteQueryNode,
  InsertQueryNode,
  Kysely,
  MergeQueryNode,
  PostgresDialect,
  sql,
  UpdateQueryNode,
  type DatabaseConnection,
  type Driver,
  type KyselyPlugin,
  type PluginTransformQueryArgs,
  type PluginTransformResultArgs,
  type QueryResult,
  type RootOperationNode,
  type Transaction,
  type UnknownRow,
} from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { migratePostgres, migrateSqlite } from './schema-migrations.ts';
import { SqliteDriver, StoreSqliteDialect, type SqliteConnection } from './sqlite-driver.ts';

/**
 * The authority's store on SQLite or PostgreSQL behind one async interface (README.md).
 *
 *   const store = await openStore(storeTarget({ dataDir }));
 *   await store.tx(async (t) => { ... t.insertInto('x') ... });   // durable when it resolves
 *   const rows = await store.db.selectFrom('x').selectAll().execute();  // reads, committed data
 */

export type Engine = 'sqlite' | 'postgres';
export type StoreTarget = { engine: 'sqlite'; file: string } | { engine: 'postgres'; url: string };

/** A unit of work's handle: a Kysely transaction, valid until the unit's promise settles. */
export type Tx = Transaction<Database>;

export interface StoreStats {
  /** units of work run (committed or failed) */
  units: number;
  /** units that threw (rolled back alone) */
  failedUnits: number;
  /** COMMITs issued: one per batch on SQLite, one per unit on PostgreSQL */
  commits: number;
  /** largest number of units in one commit */
  maxBatch: number;
  /**
   * Reads outside units (store.db) that ran on the writer's connection, idle between
   * batches (its page cache warm), and on the read connection. SQLite only: 0 and 0 on
   * PostgreSQL, where every query takes a pooled connection.
   */
  readsOnWriter: number;
  readsOnReader: number;
}

export interface Store {
  readonly engine: Engine;
  /**
   * Reads outside a unit of work: committed data only. Writes are refused here on both
   * engines (they go through tx()), and so is any use inside a unit of work (use `t`).
   */
  readonly db: Kysely<Database>;
  /**
   * Run `fn` as one unit of work: all of it commits or none of it. The promise resolves
   * after the commit is durable (SQLite synchronous=FULL / PostgreSQL synchronous_commit
   * on), so an answer sent after it never tells of a change a crash could lose. `fn`
   * must do database work only through `t` (no network, no argon2: on SQLite the
   * writer waits for it), and must not call tx() again (pass `t` down instead).
   */
  tx<T>(fn: (t: Tx) => Promise<T>): Promise<T>;
  /**
   * A unit of work that is one statement on PostgreSQL (an insert that keeps an id
   * single-use, one audit row, one outbox event): the same promise as tx(), in one round
   * trip instead of three. PostgreSQL runs it outside BEGIN ... COMMIT: one statement is a
   * transaction of its own, atomic, and with synchronous_commit on durable before its
   * answer. There a second statement is refused (StoreMisuseError) before it runs, but the
   * first has committed by then: a unit that may need two uses tx(). On SQLite it is a
   * unit of the group commit like any other (atomic whatever it runs: an audit row reads
   * the chain's head first there).
   */
  statement<T>(fn: (t: Tx) => Promise<T>): Promise<T>;
  stats(): StoreStats;
  /** The durability settings of the writing connection(s), read back from the engine. */
  settings(): Promise<Record<string, string | number>>;
  /**
   * Whether PostgreSQL server process `pid` is one of this store's own sessions (its pool's
   * connections, as they are now): a notification sent from one told of a unit of this
   * process (pg-listen.ts passes it over). Always false on SQLite.
   */
  ownsSession(pid: number): boolean;
  /** Waits for the units already queued, then closes the connections. */
  close(): Promise<void>;
}

export interface StoreOptions {
  /** SQLite group commit: most units per COMMIT (default 256). */
  maxBatchUnits?: number;
  /** SQLite group commit: no new unit joins a batch older than this (default 10 ms). */
  maxBatchMs?: number;
  /** PostgreSQL pool size (default 10). */
  poolSize?: number;
  /** SQLite busy_timeout in ms (default 5000): how long to wait for another process's lock. */
  busyTimeoutMs?: number;
  /**
   * SQLite only, for tests that seed rows synchronously (test/support/services.ts):
   * write through this already open (and migrated) better-sqlite3 handle instead of a
   * writer of the store's own, so the test's own writes never wait on the store's lock
   * (a batch runs in one turn of the event loop). The store does not close it.
   */
  sharedWriter?: BetterSqlite3.Database;
  /** Errors of idle PostgreSQL connections (the pool drops them); default: ignored. */
  onPoolError?: (e: Error) => void;
}

export class StoreConfigError extends Error {}
export class StoreMisuseError extends Error {}

/**
 * Where the store lives: `--database-url` / VD_DATABASE_URL (postgres://...) when given,
 * else `<dataDir>/authority.sqlite` (the file the authority uses today).
 */
export function storeTarget(opts: {
  databaseUrl?: string | undefined;
  dataDir: string;
  env?: NodeJS.ProcessEnv;
}): StoreTarget {
  const url = opts.databaseUrl ?? (opts.env ?? process.env).VD_DATABASE_URL;
  if (url === undefined || url === '')
    return { engine: 'sqlite', file: join(opts.dataDir, 'authority.sqlite') };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreConfigError('the database URL is not a URL: expected postgres://user@host:port/database');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new StoreConfigError(
      `the database URL must start with postgres:// or postgresql:// (got ${parsed.protocol}//); for SQLite leave it unset`,
    );
  return { engine: 'postgres', url };
}

export async function openStore(target: StoreTarget, opts: StoreOptions = {}): Promise<Store> {
  return target.engine === 'sqlite'
    ? SqliteStore.open(target.file, opts)
    : PostgresStore.open(target.url, opts);
}

// ---------------------------------------------------------------------------------------
// Guards shared by both engines

interface UnitState {
  open: boolean;
  /** statements a unit of store.statement() may still run (undefined: any number) */
  statementsLeft?: number;
}
/** The unit of work the current async call chain runs in, if any. */
const currentUnit = new AsyncLocalStorage<UnitState>();

function insideUnit(): boolean {
  return currentUnit.getStore()?.open === true;
}

/**
 * Called before each statement a unit's handle sends on PostgreSQL: a unit of
 * store.statement() that already ran its one statement gets a StoreMisuseError instead
 * (outside such a unit it does nothing).
 */
function countStatement(): void {
  const unit = currentUnit.getStore();
  if (unit?.statementsLeft === undefined) return;
  if (unit.statementsLeft === 0)
    throw new StoreMisuseError(
      'a unit of store.statement() ran a second statement: a unit of several statements is store.tx()',
    );
  unit.statementsLeft--;
}

function refuseInsideUnit(what: string): void {
  if (insideUnit())
    throw new StoreMisuseError(
      `${what} inside a unit of work: use the unit's \`t\` (on SQLite the outer handle cannot see the unit's writes, and a nested tx() would wait for its own batch forever)`,
    );
}

interface HandleGuard extends KyselyPlugin {
  check(node: RootOperationNode): void;
}

/** Makes a unit's `t` unusable once the unit has settled (a leaked handle would write into someone else's unit). */
class UnitGuard implements HandleGuard {
  constructor(private readonly unit: UnitState) {}
  check(): void {
    if (!this.unit.open)
      throw new StoreMisuseError('this unit of work has ended: its `t` cannot be used any more');
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.check();
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The outer handle reads; INSERT/UPDATE/DELETE/MERGE built with Kysely are refused with a clear message. */
class ReadOnlyGuard implements HandleGuard {
  check(n: RootOperationNode): void {
    if (InsertQueryNode.is(n) || UpdateQueryNode.is(n) || DeleteQueryNode.is(n) || MergeQueryNode.is(n))
      throw new StoreMisuseError('store.db is for reads: write inside store.tx(async (t) => ...)');
  }
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.check(args.node);
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

/** The guard of each handle the store gives out, for queries compiled once (prepared.ts) that skip the plugins' transformQuery. */
const handleGuards = new WeakMap<Kysely<Database>, HandleGuard>();

function guarded<H extends Kysely<Database>>(q: H, guard: HandleGuard): H {
  const h = q.withPlugin(guard) as H;
  handleGuards.set(h, guard);
  return h;
}

/** Run the guard of handle `q` (if the store gave it out) on a query compiled before. */
export function guardPrepared(q: Kysely<Database>, node: RootOperationNode): void {
  handleGuards.get(q)?.check(node);
}

// ---------------------------------------------------------------------------------------
// SQLite: one writer connection with group commit, one read connection

interface Pending {
  fn: (t: Tx) => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  outcome?: { ok: true; value: unknown } | { ok: false; error: unknown };
}

class SqliteStore implements Store {
  readonly engine = 'sqlite' as const;
  private readonly queue: Pending[] = [];
  private running = false;
  private scheduled = false;
  private closed = false;
  private idle: (() => void) | null = null;
  private readonly counts = { units: 0, failedUnits: 0, commits: 0, maxBatch: 0 };
  private readonly maxUnits: number;
  private readonly maxMs: number;

  private constructor(
    private readonly writerRaw: BetterSqlite3.Database,
    private readonly writer: Kysely<Database>,
    private readonly writerConnection: SqliteConnection,
    private readonly readerConnection: SqliteConnection,
    readonly db: Kysely<Database>,
    opts: StoreOptions,
  ) {
    this.maxUnits = opts.maxBatchUnits ?? 256;
    this.maxMs = opts.maxBatchMs ?? 10;
  }

  static async open(file: string, opts: StoreOptions): Promise<SqliteStore> {
    if (file === ':memory:' || file === '')
      throw new StoreConfigError('the SQLite store needs a file (its writer and reader are two connections)');
    const busy = opts.busyTimeoutMs ?? 5000;
    const shared = opts.sharedWriter;
    const w = shared ?? new BetterSqlite3(file);
    let r: BetterSqlite3.Database | null = null;
    try {
      w.pragma('journal_mode = WAL');
      // better-sqlite3 leaves WAL databases at synchronous=NORMAL: a commit could be lost
      // to a power cut after its answer left. FULL syncs the WAL at every COMMIT.
      w.pragma('synchronous = FULL');
      w.pragma('foreign_keys = ON');
      w.pragma(`busy_timeout = ${busy}`);
      // Each unit of work runs in a savepoint: the first change of a page in a unit
      // copies the page to the savepoint's journal, which SQLite spills to a temp file
      // past 64 KiB (temp_store=DEFAULT). In memory it is a copy, not a file write; it
      // is never read after a crash (the WAL is what recovers), so durability is the same.
      w.pragma('temp_store = MEMORY');
      migrateSqlite(w);
      r = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
      r.pragma(`busy_timeout = ${busy}`);
    } catch (e) {
      r?.close();
      if (!shared) w.close();
      throw e;
    }
    const writerDriver = new SqliteDriver(w, { begin: 'BEGIN IMMEDIATE', keepOpen: shared !== undefined });
    const writer = new Kysely<Database>({ dialect: new StoreSqliteDialect(writerDriver) });
    const readerDriver = new SqliteDriver(r, {
      begin: 'BEGIN',
      beforeAcquire: () => refuseInsideUnit('store.db'),
    });
    readerDriver.connection.readOnWriterWhenIdle(writerDriver.connection);
    const reader = guarded(
      new Kysely<Database>({ dialect: new StoreSqliteDialect(readerDriver) }),
      new ReadOnlyGuard(),
    );
    return new SqliteStore(w, writer, writerDriver.connection, readerDriver.connection, reader, opts);
  }

  tx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.enqueue(fn, 'store.tx()');
  }

  /** A unit like any other here: its savepoint and the batch's COMMIT make it atomic whatever it runs. */
  statement<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.enqueue(fn, 'store.statement()');
  }

  private enqueue<T>(fn: (t: Tx) => Promise<T>, what: string): Promise<T> {
    try {
      refuseInsideUnit(what);
    } catch (e) {
      return Promise.reject(e);
    }
    if (this.closed) return Promise.reject(new StoreMisuseError('the store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.kick();
    });
  }

  /**
   * Start a batch on the next turn of the event loop (setImmediate: after the I/O
   * callbacks of this turn, so requests that arrived together commit together).
   */
  private kick(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) await this.runBatch();
    } finally {
      this.running = false;
      if (this.queue.length > 0) this.kick();
      else this.idle?.();
    }
  }

  /**
   * One batch: BEGIN IMMEDIATE; per unit SAVEPOINT, the unit, RELEASE (or ROLLBACK TO
   * for a unit that threw: it alone is undone and its caller gets its error); units that
   * arrive meanwhile join until the queue is empty or a cap is reached; COMMIT; then, and
   * only then, every caller's promise settles.
   */
  private async runBatch(): Promise<void> {
    const batch: Pending[] = [];
    const started = performance.now();
    try {
      await this.writer.transaction().execute(async (trx) => {
        while (
          this.queue.length > 0 &&
          batch.length < this.maxUnits &&
          (batch.length === 0 || performance.now() - started < this.maxMs)
        ) {
          const p = this.queue.shift()!;
          batch.push(p);
          const sp = `u${batch.length}`;
          this.writerConnection.exec(`SAVEPOINT ${sp}`);
          const unit: UnitState = { open: true };
          try {
            const value = await currentUnit.run(unit, () => p.fn(guarded(trx, new UnitGuard(unit))));
            p.outcome = { ok: true, value };
            this.writerConnection.exec(`RELEASE ${sp}`);
          } catch (error) {
            p.outcome = { ok: false, error };
            // SQLite rolls the whole transaction back by itself after some errors
            // (SQLITE_FULL, IOERR, NOMEM): then the batch is lost, not just this unit.
            if (!this.writerRaw.inTransaction) throw new BatchLostError(error);
            this.writerConnection.exec(`ROLLBACK TO ${sp}; RELEASE ${sp}`);
          } finally {
            unit.open = false;
          }
        }
      });
    } catch (e) {
      // COMMIT failed or the transaction was lost: nothing of this batch is on disk.
      this.counts.units += batch.length;
      this.counts.failedUnits += batch.length;
      const lost = e instanceof BatchLostError ? e : new BatchLostError(e);
      for (const p of batch) p.reject(p.outcome?.ok === false ? p.outcome.error : lost);
      return;
    }
    this.counts.commits++;
    this.counts.units += batch.length;
    this.counts.maxBatch = Math.max(this.counts.maxBatch, batch.length);
    for (const p of batch) {
      if (p.outcome?.ok) p.resolve(p.outcome.value);
      else {
        this.counts.failedUnits++;
        p.reject(p.outcome?.error);
      }
    }
  }

  stats(): StoreStats {
    const reads = this.readerConnection.reads;
    return { ...this.counts, readsOnWriter: reads.warm, readsOnReader: reads.own };
  }

  ownsSession(): boolean {
    return false;
  }

  async settings(): Promise<Record<string, string | number>> {
    const p = (name: string) => this.writerRaw.pragma(name, { simple: true }) as string | number;
    return {
      journal_mode: p('journal_mode'),
      synchronous: p('synchronous'),
      foreign_keys: p('foreign_keys'),
      busy_timeout: p('busy_timeout'),
      temp_store: p('temp_store'),
      reader_query_only: this.readerConnection.raw.pragma('query_only', { simple: true }) as number,
      reader_readonly: this.readerConnection.raw.readonly ? 1 : 0,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.running || this.scheduled || this.queue.length > 0)
      await new Promise<void>((resolve) => (this.idle = resolve));
    await this.db.destroy();
    await this.writer.destroy();
  }
}

/** The batch a unit ran in was rolled back as a whole (its COMMIT failed, or SQLite dropped the transaction). */
export class BatchLostError extends Error {
  constructor(cause: unknown) {
    super(`the unit's batch was rolled back: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: a pool; each unit is one transaction (PostgreSQL groups concurrent commits)

/** BIGINT comes back as a number, as SQLite's INTEGER does; one beyond 2^53 is an error, not a rounded value. */
function parseBigint(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`BIGINT ${text} does not fit a JavaScript number`);
  return n;
}
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseBigint
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/**
 * PostgresDialect whose driver refuses a connection to the outer handle inside a unit of
 * work, and counts the statements of a unit of store.statement() (countStatement).
 */
class GuardedPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    const inner = super.createDriver();
    const counting = new WeakSet<DatabaseConnection>();
    return {
      init: () => inner.init(),
      acquireConnection: async (): Promise<DatabaseConnection> => {
        // A connection taken inside a unit would be a second transaction: it cannot see
        // the unit's writes and can wait on the unit's row locks (or an empty pool) forever.
        refuseInsideUnit('store.db');
        const c = await inner.acquireConnection();
        if (!counting.has(c)) {
          // a pooled connection lives on: wrapped once (Kysely's BEGIN and COMMIT come here too,
          // outside a one-statement unit, where nothing is counted)
          const run = c.executeQuery.bind(c);
          c.executeQuery = <R>(q: Parameters<typeof run>[0]) => {
            try {
              countStatement();
            } catch (e) {
              return Promise.reject(e);
            }
            return run<R>(q);
          };
          counting.add(c);
        }
        return c;
      },
      beginTransaction: (c, s) => inner.beginTransaction(c, s),
      commitTransaction: (c) => inner.commitTransaction(c),
      rollbackTransaction: (c) => inner.rollbackTransaction(c),
      savepoint: (c, n, q) => inner.savepoint!(c, n, q),
      rollbackToSavepoint: (c, n, q) => inner.rollbackToSavepoint!(c, n, q),
      releaseSavepoint: (c, n, q) => inner.releaseSavepoint!(c, n, q),
      releaseConnection: (c) => inner.releaseConnection(c),
      destroy: () => inner.destroy(),
    };
  }
}

/**
 * Whether text compares byte-wise (code point order for UTF-8), as SQLite's BINARY: libc
 * C / POSIX / C.UTF-8, or PostgreSQL 17's builtin C / C.UTF-8. Read from the pg_database
 * row as JSON, whose columns differ between versions (datlocprovider from 15, datlocale from 17).
 */
function sortsByteWise(d: Record<string, string | null>): boolean {
  const provider = d.datlocprovider ?? 'c';
  const cLike = (l: string | null | undefined) => l != null && /^(C|POSIX|C\.UTF-?8)$/i.test(l);
  if (provider === 'c') return cLike(d.datcollate);
  if (provider === 'b') return cLike(d.datlocale);
  return false;
}

/**
 * Attempts of one unit on PostgreSQL (deadlock victim 40P01, serialization failure 40001,
 * or a concurrent unit took what a rule index keeps to one holder).
 */
export const PG_UNIT_ATTEMPTS = 5;
/**
 * Unique indexes that hold a rule between concurrent units rather than a key: a unit
 * that broke one lost a race with a unit that committed first; run again, it reads that
 * commit and decides anew (e.g. "that person has an offer pending").
 */
const RULE_INDEXES = new Set([
  'requests_one_offer_per_agent',
  // chat: two messages took the same next seq, or a resend raced its original (run again: it reads the winner)
  'chat_messages_pkey',
  'chat_messages_request_id_sender_client_msg_id_key',
]);
function isPgRetryable(e: unknown): boolean {
  const err = e as { code?: unknown; constraint?: unknown } | null;
  const code = err?.code;
  if (code === '23505') return typeof err?.constraint === 'string' && RULE_INDEXES.has(err.constraint);
  return code === '40P01' || code === '40001' || isStalePlan(e);
}

/**
 * Server-side statement names of the queries prepared.ts compiles once, by SQL text
 * (PostgreSQL). A named statement is parsed and planned once per connection instead of at
 * every run; the set is bounded by the prepared queries of the code.
 */
const pgStatementNames = new Map<string, string>();

/** Run this SQL text as a named statement on every connection of the PostgreSQL store. */
export function namePostgresStatement(sqlText: string): void {
  if (!pgStatementNames.has(sqlText)) pgStatementNames.set(sqlText, `vd_${pgStatementNames.size + 1}`);
}

/** A table a named statement reads changed its columns (a newer node migrated): its plan cannot be used. */
function isStalePlan(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown } | null;
  return (
    err?.code === '0A000' &&
    typeof err.message === 'string' &&
    err.message.includes('cached plan must not change result type')
  );
}

/**
 * Kysely calls `client.query(text, values)`: a text of pgStatementNames goes as a named
 * statement instead. When a schema change made a named statement's plan stale, the text
 * runs unnamed on this connection from then on: at once again if no transaction was open
 * (the failed run did nothing), else the error ends the unit, which runs again
 * (isPgRetryable).
 */
function useNamedStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (text: unknown, values?: unknown, cb?: unknown) => unknown;
  const unnamed = new Set<string>();
  client.query = ((text: unknown, values?: unknown, cb?: unknown) => {
    const name =
      typeof text === 'string' && cb === undefined && !unnamed.has(text)
        ? pgStatementNames.get(text)
        : undefined;
    if (name === undefined) return query(text, values, cb);
    const outsideTransaction = client.getTransactionStatus() === 'I';
    return (query({ name, text, values }) as Promise<unknown>).catch((e: unknown) => {
      if (!isStalePlan(e)) throw e;
      unnamed.add(text as string);
      if (outsideTransaction) return query(text, values);
      throw e;
    });
  }) as typeof client.query;
}

class PostgresStore implements Store {
  readonly engine = 'postgres' as const;
  readonly db: Kysely<Database>;
  private readonly counts = { units: 0, failedUnits: 0, commits: 0, maxBatch: 0 };
  private closed = false;

  private constructor(
    private readonly base: Kysely<Database>,
    private readonly sessions: ReadonlySet<number>,
  ) {
    this.db = guarded(base, new ReadOnlyGuard());
  }

  static async open(url: string, opts: StoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      types: pgTypes,
      // on by default; set here so a server or role default of off cannot weaken an answer's promise
      options: '-c synchronous_commit=on',
      application_name: 'verified-desk-authority',
    });
    pool.on('error', (e) => opts.onPoolError?.(e));
    // A connection lost while a unit holds it between two queries (a server restart, a
    // failover, pg_terminate_backend) is emitted on its client, where nothing listens
    // unless we do: it would end the process. The unit's next query fails instead. And the
    // server process of each connection the pool holds is noted (ownsSession).
    const sessions = new Set<number>();
    const pidOf = (client: pg.PoolClient) => (client as unknown as { processID: number | null }).processID;
    pool.on('connect', (client) => {
      client.on('error', (e) => opts.onPoolError?.(e));
      useNamedStatements(client);
      const pid = pidOf(client);
      if (pid !== null) sessions.add(pid);
    });
    pool.on('remove', (client) => {
      const pid = pidOf(client);
      if (pid !== null) sessions.delete(pid);
    });
    try {
      const c = await pool.connect();
      try {
        const sc = (await c.query<{ sc: string }>("SELECT current_setting('synchronous_commit') AS sc"))
          .rows[0]?.sc;
        if (sc !== 'on') throw new StoreConfigError(`synchronous_commit is ${sc}, expected on`);
        const d = (
          await c.query<{ d: Record<string, string | null> }>(
            'SELECT to_jsonb(d) AS d FROM pg_database d WHERE datname = current_database()',
          )
        ).rows[0]!.d;
        if (!sortsByteWise(d))
          throw new StoreConfigError(
            `the database's collation is ${d.datlocale ?? d.daticulocale ?? d.datcollate} (provider ${d.datlocprovider ?? 'c'}): ` +
              'the store needs C (text sorts byte-wise, as in SQLite). Create it with: ' +
              "CREATE DATABASE <name> TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
          );
      } finally {
        c.release();
      }
      await migratePostgres(pool);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return new PostgresStore(
      new Kysely<Database>({ dialect: new GuardedPostgresDialect({ pool }) }),
      sessions,
    );
  }

  /** One transaction per unit. */
  tx<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.attempts('store.tx()', fn, { open: true }, (run) => this.base.transaction().execute(run));
  }

  /**
   * One statement on a pooled connection outside BEGIN ... COMMIT: PostgreSQL runs it as a
   * transaction of its own, committed (with synchronous_commit on: flushed) before its
   * answer comes back. One round trip instead of three.
   */
  statement<T>(fn: (t: Tx) => Promise<T>): Promise<T> {
    return this.attempts('store.statement()', fn, { open: true, statementsLeft: 1 }, (run) =>
      this.base.connection().execute((c) => run(c as Tx)),
    );
  }

  /**
   * Run a unit, `within` giving it its handle (a transaction, or a connection for one
   * statement). A unit PostgreSQL chose as a deadlock's victim (40P01), failed on a
   * serialization conflict (40001) or broke a rule index (RULE_INDEXES) was rolled back
   * whole (a lone statement that failed did nothing): it runs again, up to
   * PG_UNIT_ATTEMPTS times in all (units do database work only, so running one again is safe).
   */
  private async attempts<T>(
    what: string,
    fn: (t: Tx) => Promise<T>,
    state: UnitState,
    within: (run: (t: Tx) => Promise<T>) => Promise<T>,
  ): Promise<T> {
    refuseInsideUnit(what);
    if (this.closed) throw new StoreMisuseError('the store is closed');
    this.counts.units++;
    this.counts.maxBatch = 1;
    for (let attempt = 1; ; attempt++) {
      const unit: UnitState = { ...state };
      try {
        const v = await within((t) => currentUnit.run(unit, () => fn(guarded(t, new UnitGuard(unit)))));
        this.counts.commits++;
        return v;
      } catch (e) {
        if (attempt < PG_UNIT_ATTEMPTS && isPgRetryable(e) && !this.closed) {
          this.retried++;
          // a few ms, growing: the other party of the deadlock commits meanwhile
          await new Promise((ok) => setTimeout(ok, Math.random() * 5 * attempt));
          continue;
        }
        this.counts.failedUnits++;
        throw e;
      } finally {
        unit.open = false;
      }
    }
  }

  /** Units run again after a deadlock or serialization failure (tests print it). */
  retried = 0;

  stats(): StoreStats {
    return { ...this.counts, readsOnWriter: 0, readsOnReader: 0 };
  }

  ownsSession(pid: number): boolean {
    return this.sessions.has(pid);
  }

  async settings(): Promise<Record<string, string | number>> {
    const r = await this.base.transaction().execute((t) =>
      sql<{ synchronous_commit: string; fsync: string; isolation: string }>`
        SELECT current_setting('synchronous_commit') AS synchronous_commit, current_setting('fsync') AS fsync,
               current_setting('transaction_isolation') AS isolation`.execute(t),
    );
    return { ...r.rows[0]! };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.base.destroy();
  }
}

// ---------------------------------------------------------------------------------------
// Read-only access for tools (the audit verifier): no migrations, no writes

/**
 * A read-only handle on a store for tools that must not change it: SQLite opened
 * read-only (the file must exist), PostgreSQL through one connection in read-only
 * transactions (`default_transaction_read_only`).
 */
export async function openReadOnly(
  target: StoreTarget,
): Promise<{ db: Kysely<Database>; close(): Promise<void> }> {
  if (target.engine === 'sqlite') {
    const raw = new BetterSqlite3(target.file, { readonly: true, fileMustExist: true });
    raw.pragma('busy_timeout = 5000');
    const db = guarded(
      new Kysely<Database>({ dialect: new StoreSqliteDialect(new SqliteDriver(raw, { begin: 'BEGIN' })) }),
      new ReadOnlyGuard(),
    );
    return { db, close: () => db.destroy() };
  }
  const pool = new pg.Pool({
    connectionString: target.url,
    max: 1,
    types: pgTypes,
    options: '-c default_transaction_read_only=on',
  });
  const db = guarded(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), new ReadOnlyGuard());
  return { db, close: () => db.destroy() };
}
