/**
 * The schema migration runner of every database of ours (the authority's store, the
 * console's local store): a numbered list where version N is `list[N - 1]`, the
 * version kept in the database itself, every pending migration applied in one
 * transaction (all or nothing), and a database written by a newer version refused
 * rather than guessed at (the Signal Desktop way).
 *
 * Engine-agnostic: the runner sees a MigrationTarget (read/write the version, run in
 * a transaction). `sqliteTarget` is SQLite's (better-sqlite3: PRAGMA user_version);
 * another engine supplies its own target (e.g. a schema_version table).
 */

/** One schema step; it receives the engine's handle. */
export type Migration<Db> = (db: Db) => void;

/** What the runner needs of a database engine. */
export interface MigrationTarget<Db> {
  readonly db: Db;
  /** The schema version the database is at (0 when new). */
  version(): number;
  setVersion(version: number): void;
  /** Run `work` in one transaction: committed if it returns, rolled back if it throws. */
  transaction(work: () => void): void;
}

export class DatabaseTooNewError extends Error {
  constructor(
    readonly found: number,
    readonly supported: number,
    owner = 'this program',
  ) {
    super(
      `database schema version ${found} is newer than ${owner} supports (${supported}); refusing to open it`,
    );
    this.name = 'DatabaseTooNewError';
  }
}

/**
 * Bring the database to `list.length`: every pending migration and the new version
 * in one transaction; nothing to do when it is current; DatabaseTooNewError when it
 * is ahead. Returns the version it is at.
 */
export function runMigrations<Db>(
  target: MigrationTarget<Db>,
  list: ReadonlyArray<Migration<Db>>,
  owner?: string,
): number {
  const current = target.version();
  if (current > list.length) throw new DatabaseTooNewError(current, list.length, owner);
  if (current === list.length) return current;
  target.transaction(() => {
    for (let v = current; v < list.length; v++) list[v]!(target.db);
    target.setVersion(list.length);
  });
  return list.length;
}

/** The part of a better-sqlite3 Database the SQLite target uses. */
export interface SqliteLike {
  pragma(source: string, options?: { simple: boolean }): unknown;
  transaction(fn: () => void): { immediate(): void };
}

/** SQLite: the version is PRAGMA user_version; the run takes the write lock at once (BEGIN IMMEDIATE). */
export function sqliteTarget<Db extends SqliteLike>(db: Db): MigrationTarget<Db> {
  return {
    db,
    version: () => Number(db.pragma('user_version', { simple: true })),
    setVersion: (v) => {
      if (!Number.isInteger(v) || v < 0) throw new RangeError(`invalid schema version ${v}`);
      db.pragma(`user_version = ${v}`);
    },
    transaction: (work) => db.transaction(work).immediate(),
  };
}
