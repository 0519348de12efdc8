import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import pg from 'pg';
import { verifyAuditChain, type AuditEntry } from '../../authority/src/audit/audit-log.ts';
import { FakeClock } from '../../authority/src/clock.ts';
import { StoreAuditLog, verifyStoreAuditChain } from '../../authority/src/store/audit-chain.ts';
import { openStore, type Store, type StoreTarget } from '../../authority/src/store/engine.ts';
import { freshTarget, openTestStore, testEngines } from '../support/store.ts';

const engines = testEngines();
const entry = (i: number): AuditEntry => ({
  actor: `device:d${i}`,
  action: 'auth.pin',
  subject: i % 2 ? `customer:c${i}` : null,
  outcome: i % 3 ? 'success' : 'failure',
  reason: i % 3 ? null : 'wrong PIN',
  data: { i, nested: { ok: i % 2 === 0 } },
});

for (const engine of engines) {
  describe(`audit hash chain on the store, ${engine}`, () => {
    let h: { store: Store; target: StoreTarget; close: () => Promise<void> };
    let audit: StoreAuditLog;
    before(async () => {
      h = await openTestStore(engine);
      audit = new StoreAuditLog(h.store, new FakeClock());
    });
    after(() => h.close());

    it('200 concurrent appends, each in its own unit: seqs 1..200 without a gap or a repeat, and the chain verifies', async () => {
      const seqs = await Promise.all(Array.from({ length: 200 }, (_, i) => audit.appendAlone(entry(i))));
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      assert.deepEqual(await verifyStoreAuditChain(h.store.db, 64), {
        ok: true,
        rows: 200,
        firstBrokenSeq: null,
        reason: null,
      });
      const s = h.store.stats();
      console.log(`# ${engine}: 200 appends in ${s.commits} commits (largest batch ${s.maxBatch})`);
    });

    it('the audit row commits with the change it records, or not at all', async () => {
      const before = (await verifyStoreAuditChain(h.store.db)).rows;
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          h.store.tx(async (t) => {
            await t
              .insertInto('signing_keys')
              .values({ kid: `audited-${i}`, private_jwk: '{}', created_at: 1 })
              .execute();
            await audit.append(t, {
              actor: 'system',
              action: 'key.rotate',
              subject: `audited-${i}`,
              outcome: 'success',
            });
            if (i % 4 === 3) throw new Error('changed my mind');
          }),
        ),
      );
      assert.equal(results.filter((r) => r.status === 'rejected').length, 5);
      const keys = (
        await h.store.db.selectFrom('signing_keys').select('kid').where('kid', 'like', 'audited-%').execute()
      )
        .map((r) => r.kid)
        .sort();
      const audited = (
        await h.store.db
          .selectFrom('audit_log')
          .select('subject')
          .where('action', '=', 'key.rotate')
          .execute()
      )
        .map((r) => r.subject)
        .sort();
      assert.equal(keys.length, 15);
      assert.deepEqual(audited, keys);
      assert.deepEqual(await verifyStoreAuditChain(h.store.db), {
        ok: true,
        rows: before + 15,
        firstBrokenSeq: null,
        reason: null,
      });
    });

    it('the database refuses UPDATE and DELETE of audit rows', async () => {
      await assert.rejects(
        h.store.tx((t) =>
          t.updateTable('audit_log').set({ outcome: 'success' }).where('seq', '=', 1).execute(),
        ),
        /append-only/,
      );
      await assert.rejects(
        h.store.tx((t) => t.deleteFrom('audit_log').where('seq', '=', 2).execute()),
        /append-only/,
      );
    });

    it('the verifier finds a changed row and a missing row', async () => {
      // what an attacker with the database's owner rights could do: bypass the triggers
      const tamper = await rawTamper(h.target);
      try {
        // the other outcome, whichever row 37 is (on PostgreSQL concurrent appenders take seqs in any order)
        await tamper(
          `UPDATE audit_log SET outcome = CASE outcome WHEN 'success' THEN 'failure' ELSE 'success' END WHERE seq = 37`,
        );
        assert.deepEqual(await verifyStoreAuditChain(h.store.db, 10), {
          ok: false,
          rows: 37,
          firstBrokenSeq: 37,
          reason: 'row content does not match its hash',
        });
        await tamper(`DELETE FROM audit_log WHERE seq = 20`);
        const r = await verifyStoreAuditChain(h.store.db, 10);
        assert.deepEqual([r.ok, r.firstBrokenSeq, r.reason], [false, 20, 'row 20 is missing']);
      } finally {
        await tamper(null);
      }
    });
  });
}

/** Run SQL on the store's database with the append-only triggers off (the attacker's view); null closes. */
async function rawTamper(target: StoreTarget): Promise<(sql: string | null) => Promise<void>> {
  if (target.engine === 'sqlite') {
    const db = new Database(target.file);
    return async (sql) => {
      if (sql === null) return void db.close();
      db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete;');
      db.exec(sql);
    };
  }
  const c = new pg.Client({ connectionString: target.url });
  await c.connect();
  return async (sql) => {
    if (sql === null) return c.end();
    await c.query(
      `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER USER; ${sql}; ALTER TABLE audit_log ENABLE TRIGGER USER; COMMIT`,
    );
  };
}

if (engines.includes('sqlite'))
  describe("audit chain: the store's rows verify with the file's own verifier on SQLite", () => {
    it('15 rows appended by concurrent units verify with verifyAuditChain (raw file) and verifyStoreAuditChain', async () => {
      const { target, cleanup } = await freshTarget('sqlite');
      const file = (target as { file: string }).file;
      try {
        const clock = new FakeClock();
        const store = await openStore(target);
        const raw = new Database(file, { readonly: true });
        const onStore = new StoreAuditLog(store, clock);
        await Promise.all(Array.from({ length: 15 }, (_, i) => onStore.appendAlone(entry(i))));
        assert.deepEqual(verifyAuditChain(raw), { ok: true, rows: 15, firstBrokenSeq: null, reason: null });
        assert.deepEqual(await verifyStoreAuditChain(store.db), {
          ok: true,
          rows: 15,
          firstBrokenSeq: null,
          reason: null,
        });
        raw.close();
        await store.close();
      } finally {
        cleanup();
      }
    });
  });

if (engines.includes('sqlite') && engines.includes('postgres'))
  describe('audit chain: the same entries give the same hashes on both engines', () => {
    it('30 entries appended in order on SQLite and on PostgreSQL: identical rows, identical hashes', async () => {
      const rows: unknown[][] = [];
      for (const engine of ['sqlite', 'postgres'] as const) {
        const h = await openTestStore(engine);
        try {
          const log = new StoreAuditLog(h.store, new FakeClock());
          for (let i = 0; i < 30; i++) await log.appendAlone(entry(i));
          rows.push(await h.store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute());
        } finally {
          await h.close();
        }
      }
      assert.equal(rows[0]!.length, 30);
      assert.deepEqual(rows[1], rows[0]);
    });

    it('an entry whose text is not well-formed UTF-16 (a lone surrogate: what JSON.parse makes of "\\ud800", or a slice through an emoji) is stored as hashed: the chain verifies', async () => {
      const lone = '\ud83d'; // the first half of 😀
      const entries: AuditEntry[] = [
        {
          actor: `staff:${lone}`,
          action: 'x.y',
          subject: `a${lone}b`,
          outcome: 'failure',
          reason: '😀😀'.slice(0, 3),
        },
        { actor: 'system', action: `a\udc00`, outcome: 'success', data: { text: lone } },
      ];
      for (const engine of engines) {
        const h = await openTestStore(engine);
        try {
          const log = new StoreAuditLog(h.store, new FakeClock());
          for (const e of entries) await log.appendAlone(e);
          const v = await verifyStoreAuditChain(h.store.db);
          assert.equal(v.ok, true, `${engine}: ${JSON.stringify(v)}`);
          const [row] = await h.store.db.selectFrom('audit_log').selectAll().where('seq', '=', 1).execute();
          assert.equal(row!.subject, 'a\ufffdb', `${engine}: a lone surrogate is stored as U+FFFD`);
        } finally {
          await h.close();
        }
      }
    });

    it('entries of any text (quotes, backslashes, control characters, any Unicode) chain identically on both engines and verify', async () => {
      // PostgreSQL builds the hashed text itself (vd_audit_append) around the JSON the caller
      // gives: it must be the very text rowHash hashes. (NUL is left out: PostgreSQL text has none.)
      const text = fc.string({ unit: 'binary', maxLength: 24 }).filter((x) => !x.includes('\0'));
      const entries = fc.sample(
        fc.record({
          actor: text,
          action: text,
          subject: fc.option(text),
          outcome: fc.constantFrom('success', 'failure'),
          reason: fc.option(text),
          data: fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null)), {
            maxKeys: 3,
          }),
        }),
        { numRuns: 80, seed: 11 },
      ) as AuditEntry[];
      entries.push({ actor: 'a"\\\n\t\u2028', action: '\u{1F600}', outcome: 'success', data: { '"': '\\' } });
      const rows: unknown[][] = [];
      for (const engine of ['sqlite', 'postgres'] as const) {
        const h = await openTestStore(engine);
        try {
          const log = new StoreAuditLog(h.store, new FakeClock());
          // in pairs: a unit's second row follows its first (on SQLite without reading the head)
          for (let i = 0; i < entries.length; i += 2)
            await h.store.tx(async (t) => {
              for (const e of entries.slice(i, i + 2)) await log.append(t, e);
            });
          assert.deepEqual(await verifyStoreAuditChain(h.store.db, 16), {
            ok: true,
            rows: entries.length,
            firstBrokenSeq: null,
            reason: null,
          });
          rows.push(await h.store.db.selectFrom('audit_log').selectAll().orderBy('seq').execute());
        } finally {
          await h.close();
        }
      }
      assert.deepEqual(rows[1], rows[0]);
    });
  });
