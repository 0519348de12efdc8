import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { backoffDelay, type BackoffPolicy } from '../../protocol/src/backoff.ts';
import type { OutboxStatus } from '../../protocol/src/index.ts';
import type { LocalDb } from './local-db.ts';

export interface OutboxEntry {
  id: number;
  kind: string;
  idempotency_key: string;
  payload: string;
  attempts: number;
}

/** What a send attempt came to: acknowledged, worth retrying, or refused for good. */
export type SendOutcome =
  { kind: 'ack' } | { kind: 'retry'; error: string } | { kind: 'reject'; error: string };
export type Sender = (entry: OutboxEntry) => Promise<SendOutcome>;

export interface WrapUpInput {
  requestId: string;
  fence: number;
  disposition: string[];
  notes: string;
}

/** Resends: 1 s doubling to 60 s, full jitter. */
const RETRY: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000 };

export const newIdempotencyKey = (): string => randomBytes(18).toString('base64url');

/**
 * Wrap-ups and notes never lost: the row and its outbox entry are written in one
 * transaction (synchronous=FULL) before save() returns; a sender loop delivers them
 * with backoff; an entry is marked sent only on the authority's acknowledgement
 * (which deduplicates by idempotency key, so a resend after a crash is harmless).
 */
export class Outbox extends EventEmitter<{ status: [OutboxStatus] }> {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = true;

  constructor(
    private readonly db: LocalDb,
    private readonly send: Sender,
    private readonly now: () => number = Date.now,
  ) {
    super();
  }

  saveWrapUp(w: WrapUpInput, key = newIdempotencyKey()): string {
    const now = this.now();
    this.db.transaction(() => {
      this.db
        .prepare(
          'INSERT INTO wrap_ups (idempotency_key, request_id, fence, disposition, notes, saved_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(key, w.requestId, w.fence, JSON.stringify(w.disposition), w.notes, now);
      this.db
        .prepare(
          "INSERT INTO outbox (kind, idempotency_key, payload, created_at, next_attempt_at) VALUES ('wrap-up', ?, ?, ?, ?)",
        )
        .run(key, JSON.stringify({ ...w, idempotencyKey: key }), now, now);
    })();
    this.kick();
    return key;
  }

  status(): OutboxStatus {
    const r = this.db
      .prepare<[], { pending: number; sent: number; next: number | null }>(
        'SELECT sum(sent_at IS NULL AND rejected_at IS NULL) AS pending, sum(sent_at IS NOT NULL) AS sent, min(CASE WHEN sent_at IS NULL AND rejected_at IS NULL THEN next_attempt_at END) AS next FROM outbox',
      )
      .get()!;
    const err = this.db
      .prepare<[], { last_error: string | null }>(
        'SELECT last_error FROM outbox WHERE sent_at IS NULL AND last_error IS NOT NULL ORDER BY id DESC LIMIT 1',
      )
      .get();
    return {
      pending: r.pending ?? 0,
      sent: r.sent ?? 0,
      lastError: err?.last_error ?? null,
      nextAttemptAt: r.next === null ? null : new Date(r.next).toISOString(),
    };
  }

  stateOf(key: string): 'pending' | 'sent' | 'rejected' | null {
    const r = this.db
      .prepare<[string], { sent_at: number | null; rejected_at: number | null }>(
        'SELECT sent_at, rejected_at FROM outbox WHERE idempotency_key = ?',
      )
      .get(key);
    if (!r) return null;
    return r.sent_at !== null ? 'sent' : r.rejected_at !== null ? 'rejected' : 'pending';
  }

  start(): void {
    this.stopped = false;
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Try now (e.g. the connection came back): every pending entry becomes due. */
  retryNow(): void {
    this.db
      .prepare('UPDATE outbox SET next_attempt_at = ? WHERE sent_at IS NULL AND rejected_at IS NULL')
      .run(this.now());
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.drain(), 0);
  }

  /** Deliver due entries in order; then sleep until the next one is due. */
  async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        if (this.stopped) return;
        const entry = this.db
          .prepare<[number], OutboxEntry>(
            'SELECT id, kind, idempotency_key, payload, attempts FROM outbox WHERE sent_at IS NULL AND rejected_at IS NULL AND next_attempt_at <= ? ORDER BY id LIMIT 1',
          )
          .get(this.now());
        if (!entry) break;
        let outcome: SendOutcome;
        try {
          outcome = await this.send(entry);
        } catch (e) {
          outcome = { kind: 'retry', error: (e as Error).message };
        }
        const now = this.now();
        if (outcome.kind === 'ack')
          this.db.prepare('UPDATE outbox SET sent_at = ?, last_error = NULL WHERE id = ?').run(now, entry.id);
        else if (outcome.kind === 'reject')
          this.db
            .prepare('UPDATE outbox SET rejected_at = ?, last_error = ? WHERE id = ?')
            .run(now, outcome.error, entry.id);
        else
          this.db
            .prepare(
              'UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?',
            )
            .run(now + backoffDelay(RETRY, entry.attempts), outcome.error.slice(0, 500), entry.id);
        this.emit('status', this.status());
        if (outcome.kind === 'retry') break;
      }
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    const next = this.db
      .prepare<[], { t: number | null }>(
        'SELECT min(next_attempt_at) AS t FROM outbox WHERE sent_at IS NULL AND rejected_at IS NULL',
      )
      .get()!.t;
    if (next !== null) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.drain(), Math.max(0, next - this.now()));
      this.timer.unref?.();
    }
  }
}
