import type { Insertable, Selectable } from 'kysely';
import type { RecordingsTable } from '../schema.ts';
import { Repo } from './base.ts';

export type RecordingRow = Selectable<RecordingsTable>;

/** One recorded span of a call (ms since the epoch); a pause lies between two. */
export interface RecordingSpan {
  startedAt: number;
  endedAt: number | null;
}

/**
 * Tables: recordings. A live recording moves recording <-> paused by one UPDATE guarded
 * by its current state (two racing pauses: one wins, the other finds it paused), and to
 * stored or failed once, after the call, by the converter.
 */
export class RecordingsRepo extends Repo {
  async insert(
    row: Omit<
      Insertable<RecordingsTable>,
      'duration_ms' | 'file_path' | 'error' | 'ended_at' | 'retain_until'
    >,
  ): Promise<boolean> {
    const r = await this.q
      .insertInto('recordings')
      .values({ ...row, duration_ms: null, file_path: null, error: null, ended_at: null, retain_until: null })
      .onConflict((oc) => oc.column('call_id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  get(id: string): Promise<RecordingRow | undefined> {
    return this.q.selectFrom('recordings').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The recording of one call (call ids are unique). */
  byCallId(callId: string): Promise<RecordingRow | undefined> {
    return this.q.selectFrom('recordings').selectAll().where('call_id', '=', callId).executeTakeFirst();
  }

  /** The request's live (recording or paused) recording, newest first. */
  live(requestId: string): Promise<RecordingRow | undefined> {
    return this.q
      .selectFrom('recordings')
      .selectAll()
      .where('request_id', '=', requestId)
      .where('state', 'in', ['recording', 'paused'])
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
  }

  /** Every live recording (the converter asks rtpengine whether their calls have ended). */
  allLive(): Promise<RecordingRow[]> {
    return this.q
      .selectFrom('recordings')
      .selectAll()
      .where('state', 'in', ['recording', 'paused'])
      .orderBy('created_at')
      .execute();
  }

  listOf(requestId: string): Promise<RecordingRow[]> {
    return this.q
      .selectFrom('recordings')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('created_at')
      .execute();
  }

  /** Moves a live recording from `from` to `to` with its spans; false when it was not in `from`. */
  async setLive(
    id: string,
    from: 'recording' | 'paused',
    to: 'recording' | 'paused',
    segments: RecordingSpan[],
  ): Promise<boolean> {
    const r = await this.q
      .updateTable('recordings')
      .set({ state: to, segments: JSON.stringify(segments) })
      .where('id', '=', id)
      .where('state', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The converted WAV of a live recording, once; false when it was no longer live. */
  async stored(
    id: string,
    v: { filePath: string; durationMs: number; segments: unknown; endedAt: number; retainUntil: number },
  ): Promise<boolean> {
    const r = await this.q
      .updateTable('recordings')
      .set({
        state: 'stored',
        file_path: v.filePath,
        duration_ms: v.durationMs,
        segments: JSON.stringify(v.segments),
        ended_at: v.endedAt,
        retain_until: v.retainUntil,
      })
      .where('id', '=', id)
      .where('state', 'in', ['recording', 'paused'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async failed(id: string, error: string, endedAt: number, retainUntil: number): Promise<boolean> {
    const r = await this.q
      .updateTable('recordings')
      .set({ state: 'failed', error: error.slice(0, 1000), ended_at: endedAt, retain_until: retainUntil })
      .where('id', '=', id)
      .where('state', 'in', ['recording', 'paused'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Recordings whose retention has run out at `now`. */
  expired(now: number, limit = 100): Promise<RecordingRow[]> {
    return this.q
      .selectFrom('recordings')
      .selectAll()
      .where('state', 'in', ['stored', 'failed'])
      .where('retain_until', '<=', now)
      .orderBy('retain_until')
      .limit(limit)
      .execute();
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.q.deleteFrom('recordings').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}
