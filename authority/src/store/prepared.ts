import {
  createQueryId,
  type Compilable,
  type Kysely,
  type QueryResult,
  type RootOperationNode,
} from 'kysely';
import { guardPrepared, namePostgresStatement, type Engine } from './engine.ts';
import type { Database } from './schema.ts';

/** What `build` gets: the handle, the placeholders, and the engine it compiles for. */
type Build<P, O> = (q: Kysely<Database>, p: P, engine: Engine) => Compilable<O>;

/**
 * A query built and compiled once per engine, then run with new values: what a hot query
 * costs in Kysely (building the operation tree, compiling it to SQL, and the statement
 * cache's lookup of a freshly built SQL string) paid once instead of at every call.
 *
 *   const byId = prepared((q, p: { id: string }) => q.selectFrom('requests').selectAll().where('id', '=', p.id));
 *   const row = await byId.first(this.c, { id });
 *
 * `build` receives placeholders: each `p.key` stands for a value and reaches the compiled
 * query as one of its parameters, so a value can never change the SQL: use a placeholder
 * where a scalar value goes (a comparison, a column of `values()` / `set()`, `offset`),
 * never for an `in` list, an `is null` or anything the builder branches on. A `limit` is
 * a number in the query, not a placeholder (refused on SQLite: sqlite-driver.ts). A
 * query whose shape depends on its input is one prepared query per shape
 * (`preparedByShape`); one that differs by engine reads `build`'s third argument (it is
 * compiled per engine).
 * A missing value, an array or an object other than a Buffer is refused before the
 * query runs. The handle's guards (a unit's `t` after its unit ended, a write on
 * `store.db`) apply at every run as they do to a built query. On PostgreSQL the
 * compiled text runs as a named statement (planned once per connection; engine.ts).
 */
export function prepared<P extends Record<string, unknown>, O>(build: Build<P, O>): Prepared<P, O> {
  return new Prepared(build);
}

/**
 * Prepared queries of one query whose shape depends on its input (which columns it sets,
 * which guards it adds): `shape(key, build)` is the prepared query of `key`, `build`
 * called on the first use of a key only. The key must name everything `build` branches on.
 */
export function preparedByShape<P extends Record<string, unknown>, O>(): (
  key: string,
  build: Build<P, O>,
) => Prepared<P, O> {
  const shapes = new Map<string, Prepared<P, O>>();
  return (key, build) => {
    let query = shapes.get(key);
    if (!query) shapes.set(key, (query = new Prepared(build)));
    return query;
  };
}

/** Where a prepared query runs: a repository's context (`this.c`) or a unit's handle and engine. */
export interface PreparedTarget {
  readonly q: Kysely<Database>;
  readonly engine: Engine;
}

interface Shape {
  readonly query: RootOperationNode;
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /** [index in parameters, key in values] */
  readonly slots: ReadonlyArray<readonly [number, string]>;
}

class Slot {
  /** turned into text (a template, String()): it went into the SQL, not its parameters */
  stringified = false;
  constructor(readonly key: string) {}
  [Symbol.toPrimitive](): string {
    this.stringified = true;
    return `(placeholder ${this.key})`;
  }
}

export class Prepared<P extends Record<string, unknown>, O> {
  private readonly shapes = new Map<Engine, Shape>();

  constructor(private readonly build: Build<P, O>) {}

  /** All rows the query returns (a SELECT, or a write with RETURNING). */
  async rows(target: PreparedTarget, values: P): Promise<O[]> {
    return (await this.run(target, values)).rows;
  }

  /** The first row, or undefined. */
  async first(target: PreparedTarget, values: P): Promise<O | undefined> {
    return (await this.run(target, values)).rows[0];
  }

  /** The number of rows a write changed. */
  async affected(target: PreparedTarget, values: P): Promise<number> {
    return Number((await this.run(target, values)).numAffectedRows ?? 0n);
  }

  private run(target: PreparedTarget, values: P): Promise<QueryResult<O>> {
    const shape = this.shapeFor(target);
    guardPrepared(target.q, shape.query);
    const parameters = shape.parameters.slice();
    for (const [i, key] of shape.slots) {
      const v = values[key];
      if (v === undefined || Array.isArray(v) || (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)))
        throw new TypeError(
          `prepared query: the value of '${key}' must be a scalar (string, number, bigint, boolean, null or Buffer); got ${v === undefined ? 'undefined' : Array.isArray(v) ? 'an array' : typeof v}`,
        );
      parameters[i] = v;
    }
    return target.q.executeQuery<O>({
      query: shape.query,
      sql: shape.sql,
      parameters,
      queryId: createQueryId(),
    });
  }

  private shapeFor(target: PreparedTarget): Shape {
    const known = this.shapes.get(target.engine);
    if (known) return known;
    const made: Slot[] = [];
    const placeholders = new Proxy(
      {},
      {
        get: (_, key) => {
          if (typeof key !== 'string') return undefined;
          const slot = new Slot(key);
          made.push(slot);
          return slot;
        },
      },
    ) as P;
    // compile() runs the handle's plugins once (a write refused on store.db is refused here)
    const compiled = this.build(target.q, placeholders, target.engine).compile();
    const slots: Array<readonly [number, string]> = [];
    compiled.parameters.forEach((v, i) => {
      if (v instanceof Slot) slots.push([i, v.key]);
    });
    // A placeholder turned into text (sql.raw of a template) is in the SQL, not a value.
    const lost = made.filter((m) => m.stringified);
    if (lost.length > 0)
      throw new Error(
        `prepared query: '${lost.map((m) => m.key).join("', '")}' was written into the SQL text, not passed as a parameter: ${compiled.sql}`,
      );
    const shape: Shape = { query: compiled.query, sql: compiled.sql, parameters: compiled.parameters, slots };
    // PostgreSQL: parsed and planned once per connection (a named statement), not at every run.
    if (target.engine === 'postgres') namePostgresStatement(compiled.sql);
    this.shapes.set(target.engine, shape);
    return shape;
  }
}
