import type { LocalDb } from './local-db.ts';

/** Rows of requests untouched for this long are forgotten (their fences are long stale). */
const KEEP_MS = 7 * 86_400_000;

/**
 * The per-request, per-fence command sequence numbers the authority requires to grow
 * strictly (a replayed or reordered command is refused). Kept in the local store and
 * taken in one statement, so concurrent sends and a restart of the console never
 * reuse a number.
 */
export class CommandSeqs {
  constructor(
    private readonly db: LocalDb,
    private readonly now: () => number = Date.now,
  ) {
    db.prepare('DELETE FROM command_seqs WHERE updated_at < ?').run(this.now() - KEEP_MS);
  }

  /** Reserve the next seq for this request under this fence (1 for a new fence). */
  next(requestId: string, fence: number): number {
    return this.db
      .prepare<[string, number, number], { last_seq: number }>(
        `INSERT INTO command_seqs (request_id, fence, last_seq, updated_at) VALUES (?, ?, 1, ?)
         ON CONFLICT (request_id, fence) DO UPDATE SET last_seq = last_seq + 1, updated_at = excluded.updated_at
         RETURNING last_seq`,
      )
      .get(requestId, fence, this.now())!.last_seq;
  }

  /** The authority has seen `lastSeq` already (another window, a lost local store): never go below it. */
  atLeast(requestId: string, fence: number, lastSeq: number): void {
    this.db
      .prepare(
        `INSERT INTO command_seqs (request_id, fence, last_seq, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (request_id, fence) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq), updated_at = excluded.updated_at`,
      )
      .run(requestId, fence, lastSeq, this.now());
  }

  /** The last seq reserved (0 when none). */
  last(requestId: string, fence: number): number {
    return (
      this.db
        .prepare<[string, number], { last_seq: number }>(
          'SELECT last_seq FROM command_seqs WHERE request_id = ? AND fence = ?',
        )
        .get(requestId, fence)?.last_seq ?? 0
    );
  }
}
