/**
 * The console's queue order is the authority's dispatch order: for waiting requests,
 * compareRequests sorts exactly as SQLite's `ORDER BY priority DESC, enqueued_at ASC,
 * id ASC` (BINARY collation) does, ties and mixed-case ids included; and the queue
 * store's waiting counts are computed once per change, not once per render.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { QueueStore, compareRequests, waitingByQueue } from '../../renderer/src/state/queue.ts';
import { FakeBridge, request, settle } from '../support/fake-bridge.ts';

const ID_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('renderer: queue order', () => {
  it('sorts waiting requests exactly as the authority orders them in SQLite', () => {
    const db = new Database(':memory:');
    db.exec('CREATE TABLE r (id TEXT PRIMARY KEY, priority INTEGER, enqueued_at INTEGER)');
    const insert = db.prepare('INSERT INTO r VALUES (?, ?, ?)');
    const ordered = db.prepare<[], { id: string }>(
      'SELECT id FROM r ORDER BY priority DESC, enqueued_at ASC, id ASC',
    );
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({
            id: fc.string({ unit: fc.constantFrom(...ID_CHARS), minLength: 1, maxLength: 8 }),
            priority: fc.integer({ min: -2, max: 2 }),
            // Few distinct times, so ties on time are common and the id decides.
            at: fc.integer({ min: 0, max: 3 }),
          }),
          { selector: (r) => r.id, minLength: 1, maxLength: 40 },
        ),
        (rows) => {
          db.exec('DELETE FROM r');
          for (const r of rows) insert.run(r.id, r.priority, 1_700_000_000_000 + r.at);
          const views = rows.map((r) =>
            request({
              requestId: r.id,
              priority: r.priority,
              enqueuedAt: new Date(1_700_000_000_000 + r.at).toISOString(),
            }),
          );
          assert.deepEqual(
            views.sort(compareRequests).map((v) => v.requestId),
            ordered.all().map((o) => o.id),
          );
        },
      ),
      { numRuns: 300 },
    );
    db.close();
  });

  it('puts "B..." before "a..." on a tie, as SQLite does (localeCompare would not)', () => {
    const at = new Date(1_700_000_000_000).toISOString();
    const a = request({ requestId: 'a0000000', enqueuedAt: at });
    const b = request({ requestId: 'B0000000', enqueuedAt: at });
    assert.deepEqual(
      [a, b].sort(compareRequests).map((r) => r.requestId),
      ['B0000000', 'a0000000'],
    );
  });

  it('counts waiting requests per queue once per change (memoised by version)', async () => {
    const bridge = new FakeBridge();
    const q = new QueueStore(bridge);
    const rows = [
      request({ queueId: 'cards' }),
      request({ queueId: 'cards' }),
      request({ queueId: 'payments' }),
      request({ queueId: 'payments', state: 'offered', agentId: 'stf_dana' }),
    ];
    bridge.emit('queue.snapshot', { queues: [], requests: rows });
    await settle();
    const w = q.waiting();
    assert.equal(w.total, 3);
    assert.deepEqual(w.byQueue, waitingByQueue(rows));
    assert.equal(q.waiting(), w, 'the same state gives the same figures object');
    bridge.emit('queue.delta', { queues: [], upserts: [{ ...rows[0]!, state: 'abandoned' }] });
    await settle();
    assert.notEqual(q.waiting(), w);
    assert.equal(q.waiting().total, 2);
    assert.equal(q.waiting().byQueue.get('cards')?.n, 1);
  });
});
