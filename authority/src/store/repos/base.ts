import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Engine } from '../engine.ts';
import type { Database } from '../schema.ts';
import type { UnitWrites } from '../unit-writes.ts';

/**
 * What a repository runs its queries on: a unit of work's transaction (writes and reads
 * that see the unit's writes) or the store's read handle (committed data; writes refused).
 */
export interface RepoContext {
  readonly q: Kysely<Database>;
  readonly engine: Engine;
  readonly clock: Clock;
  /** true inside store.tx: writes allowed */
  readonly writable: boolean;
  /** PostgreSQL units: where audit rows and outbox events wait for the unit's end (unit-writes.ts) */
  readonly later?: UnitWrites;
}

/** A repository: the typed queries of one aggregate. No SQL text leaves it. */
export abstract class Repo {
  constructor(protected readonly c: RepoContext) {}
  protected get q(): Kysely<Database> {
    return this.c.q;
  }
  protected now(): number {
    return this.c.clock.now();
  }
  /**
   * Whether a row this unit reads to decide on is read locked (`FOR UPDATE` / `FOR SHARE`):
   * on PostgreSQL inside a unit, where READ COMMITTED would otherwise let a concurrent
   * unit's change commit between the read and this unit's write. SQLite's single writer
   * runs units one by one, and reads outside a unit decide nothing.
   */
  protected get locksRows(): boolean {
    return this.c.engine === 'postgres' && this.c.writable;
  }
}

/**
 * Rows for many ids: `read` runs once per slice of the distinct ids, each small enough
 * for one `IN (...)` on both engines (parameter limits); the rows come back in slice order.
 */
export async function inSlices<T, R>(ids: readonly T[], read: (part: T[]) => Promise<R[]>): Promise<R[]> {
  const distinct = [...new Set(ids)];
  const out: R[] = [];
  for (let i = 0; i < distinct.length; i += SLICE) out.push(...(await read(distinct.slice(i, i + SLICE))));
  return out;
}
const SLICE = 500;
