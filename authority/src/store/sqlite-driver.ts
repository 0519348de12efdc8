import type BetterSqlite3 from 'better-sqlite3';
import {
  type CompiledQuery,
  type LimitNode,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  ValueNode,
} from 'kysely';

/**
 * Kysely's SQLite driver, rewritten for the store (see README "Why a hand-written
 * SQLite driver"): prepared statements are cached per connection (Kysely's prepares
 * every query again), a write transaction starts with `BEGIN IMMEDIATE` (Kysely's says
 * `BEGIN`, which takes the write lock only at the first write and can then fail with
 * SQLITE_BUSY instead of waiting), a rollback after SQLite has already rolled back
 * itself (SQLITE_FULL, IOERR) is a no-op, and `beforeAcquire` lets the store refuse a
 * query on the wrong handle (the outer one inside a unit of work).
 */

const STATEMENT_CACHE = 500;

export class SqliteConnection implements DatabaseConnection {
  /** Prepared statements by SQL text, each with when it was last used (`tick`). */
  private readonly cache = new Map<string, { stmt: BetterSqlite3.Statement; used: number }>();
  private tick = 0;
  /** Reads run on `warm` while it has no transaction open (see `executeQuery`). */
  private warm: SqliteConnection | null = null;
  /** Reads that ran on this connection and on `warm`, for stats(). */
  readonly reads = { own: 0, warm: 0 };
  constructor(readonly raw: BetterSqlite3.Database) {}

  /**
   * Run this (read) connection's queries on `writer` whenever the writer has no
   * transaction open and this connection has none either. A commit by another connection
   * makes SQLite drop this connection's whole page cache, so after every commit its first
   * reads go back to the file through system calls; the writer's cache stays warm across
   * its own commits. With no transaction open on the writer, a statement there sees
   * exactly what this connection would: committed data only. During a batch (the writer
   * inside BEGIN ... COMMIT, across the units' awaits) reads stay here. Only statements
   * SQLite reports as read-only move; streams (iterators) never do.
   */
  readOnWriterWhenIdle(writer: SqliteConnection): void {
    this.warm = writer;
  }

  private prepare(sqlText: string): BetterSqlite3.Statement {
    const hit = this.cache.get(sqlText);
    if (hit) {
      hit.used = ++this.tick; // a hit only stamps its entry (no map change per query)
      return hit.stmt;
    }
    const stmt = this.raw.prepare(sqlText);
    if (this.cache.size >= STATEMENT_CACHE) {
      // full: the least recently used goes (a scan, on a miss only)
      let oldest: string | undefined;
      let at = Infinity;
      for (const [k, e] of this.cache)
        if (e.used < at) {
          at = e.used;
          oldest = k;
        }
      this.cache.delete(oldest!);
    }
    this.cache.set(sqlText, { stmt, used: ++this.tick });
    return stmt;
  }

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const params = q.parameters as unknown[];
    const warm = this.warm;
    if (warm !== null && !warm.raw.inTransaction && !this.raw.inTransaction) {
      const w = warm.prepare(q.sql);
      if (w.readonly && w.reader) {
        this.reads.warm++;
        return { rows: w.all(...params) as R[] };
      }
    }
    const stmt = this.prepare(q.sql);
    if (this.warm !== null) this.reads.own++;
    if (stmt.reader) return { rows: stmt.all(...params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(...params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(q.query)) throw new Error('SQLite streams SELECT queries only');
    // not from the cache: a cached statement that is being iterated cannot run another query
    for (const row of this.raw.prepare(q.sql).iterate(...(q.parameters as unknown[])))
      yield { rows: [row as R] };
  }

  exec(sqlText: string): void {
    this.raw.exec(sqlText);
  }
}

/**
 * One connection, taken by one holder at a time, in the order they asked: a release hands
 * the connection to the next waiter alone. (Kysely's own mutex wakes every waiter at each
 * release, and all but one go back to waiting: with 64 requests in flight, their reads
 * spent more time waking up than reading.)
 */
export class SqliteDriver implements Driver {
  readonly connection: SqliteConnection;
  private busy = false;
  private readonly waiters: (() => void)[] = [];

  constructor(
    raw: BetterSqlite3.Database,
    private readonly opts: {
      begin: 'BEGIN' | 'BEGIN IMMEDIATE';
      beforeAcquire?: () => void;
      /** the handle belongs to someone else: destroy() leaves it open */
      keepOpen?: boolean;
    },
  ) {
    this.connection = new SqliteConnection(raw);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    this.opts.beforeAcquire?.();
    if (this.busy) await new Promise<void>((resolve) => this.waiters.push(resolve));
    else this.busy = true;
    return this.connection;
  }

  async releaseConnection(): Promise<void> {
    const next = this.waiters.shift();
    if (next)
      next(); // handed over: still busy
    else this.busy = false;
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    (c as SqliteConnection).exec(this.opts.begin);
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    (c as SqliteConnection).exec('COMMIT');
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    const conn = c as SqliteConnection;
    if (conn.raw.inTransaction) conn.exec('ROLLBACK');
  }

  async savepoint(c: DatabaseConnection, name: string): Promise<void> {
    (c as SqliteConnection).exec(`SAVEPOINT "${name}"`);
  }

  async rollbackToSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    (c as SqliteConnection).exec(`ROLLBACK TO "${name}"`);
  }

  async releaseSavepoint(c: DatabaseConnection, name: string): Promise<void> {
    (c as SqliteConnection).exec(`RELEASE "${name}"`);
  }

  async destroy(): Promise<void> {
    if (!this.opts.keepOpen) this.connection.raw.close();
  }
}

/**
 * Kysely's SQLite compiler, except that a LIMIT reaches SQLite as an integer in the SQL
 * text, not as a bound parameter. SQLite reads a LIMIT parameter's value while it plans
 * the query (sqlite3ExprIsInteger marks it in the statement's "varmask"), so binding that
 * parameter again expires the statement: every run of a cached statement with `limit ?`
 * paid a whole prepare (an empty indexed lookup with a join: 8 µs instead of 2). A limit
 * that is not a number (a prepared query's placeholder) is refused: it would be the same
 * trap. OFFSET is not planned on and stays a parameter; PostgreSQL keeps both as parameters.
 */
class StoreSqliteQueryCompiler extends SqliteQueryCompiler {
  protected override visitLimit(node: LimitNode): void {
    if (!ValueNode.is(node.limit)) return super.visitLimit(node);
    const n = node.limit.value;
    if (!(typeof n === 'bigint' || (typeof n === 'number' && Number.isSafeInteger(n))))
      throw new TypeError(
        `SQLite: a LIMIT is an integer written into the query (limit(50)), not ${typeof n === 'number' ? n : 'a placeholder'}: a bound LIMIT makes SQLite prepare its statement again at every run`,
      );
    this.append(`limit ${n}`);
  }
}

export class StoreSqliteDialect implements Dialect {
  constructor(private readonly driver: SqliteDriver) {}
  createDriver(): Driver {
    return this.driver;
  }
  createQueryCompiler(): QueryCompiler {
    return new StoreSqliteQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
