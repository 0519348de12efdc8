import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import ts from 'typescript';
import { migrations } from '../../authority/src/store/migrations.ts';
import { openStore, storeTarget, StoreConfigError } from '../../authority/src/store/engine.ts';
import {
  migratePostgres,
  POSTGRES_DDL,
  POSTGRES_ONLY_TABLES,
  schemaVersions,
  SchemaTooNewError,
} from '../../authority/src/store/schema-migrations.ts';
import { createTestDatabase, testEngines } from '../support/postgres.ts';
import { freshTarget } from '../support/store.ts';

const engines = testEngines();
const LATEST = migrations.length;
const cleanups: (() => void)[] = [];
after(() => cleanups.forEach((c) => c()));

async function sqliteFile(): Promise<string> {
  const { target, cleanup } = await freshTarget('sqlite');
  cleanups.push(cleanup);
  return (target as { file: string }).file;
}

/** A SQLite file as today's authority leaves it: migrations 1..version applied by better-sqlite3 alone. */
function legacySqlite(file: string, version: number): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.transaction(() => {
    for (let v = 0; v < version; v++) migrations[v]!(db);
    db.pragma(`user_version = ${version}`);
  })();
  db.prepare(
    "INSERT INTO staff (id, username, display_name, role, password_hash, created_at) VALUES ('s1', 'ann', 'Ann', 'agent', 'x', 1)",
  ).run();
  db.close();
}

describe('store target from the configuration', () => {
  it('is the SQLite file in the data dir unless a database URL is given', () => {
    assert.deepEqual(storeTarget({ dataDir: '/d', env: {} }), {
      engine: 'sqlite',
      file: '/d/authority.sqlite',
    });
    assert.deepEqual(storeTarget({ dataDir: '/d', env: { VD_DATABASE_URL: 'postgres://u@h:5432/vd' } }), {
      engine: 'postgres',
      url: 'postgres://u@h:5432/vd',
    });
    assert.equal(
      storeTarget({
        dataDir: '/d',
        databaseUrl: 'postgresql://h/x',
        env: { VD_DATABASE_URL: 'postgres://h/y' },
      }).engine,
      'postgres',
    );
    assert.throws(() => storeTarget({ dataDir: '/d', databaseUrl: 'mysql://h/x' }), StoreConfigError);
    assert.throws(() => storeTarget({ dataDir: '/d', databaseUrl: 'not a url' }), /not a URL/);
  });
});

describe('one migration list for both engines', () => {
  it('has a PostgreSQL version for every SQLite version', () => {
    assert.equal(
      POSTGRES_DDL.length,
      migrations.length,
      'POSTGRES_DDL and migrations.ts must have the same length',
    );
    assert.equal(schemaVersions.length, LATEST);
  });

  if (engines.includes('sqlite')) {
    it("SQLite: a file written by today's authority at every version upgrades unchanged, keeping its rows", async () => {
      for (let v = 1; v <= LATEST; v++) {
        const file = await sqliteFile();
        legacySqlite(file, v);
        const store = await openStore({ engine: 'sqlite', file });
        const staff = await store.db.selectFrom('staff').select(['id', 'username']).execute();
        await store.close();
        assert.deepEqual(staff, [{ id: 's1', username: 'ann' }], `from version ${v}`);
        const db = new Database(file);
        assert.equal(db.pragma('user_version', { simple: true }), LATEST);
        db.close();
      }
      // The schema the store leaves is byte for byte the one today's runner leaves.
      const viaStore = await sqliteFile();
      await (await openStore({ engine: 'sqlite', file: viaStore })).close();
      const viaLegacy = await sqliteFile();
      legacySqlite(viaLegacy, LATEST);
      const ddl = (file: string) => {
        const db = new Database(file);
        const rows = db.prepare('SELECT type, name, sql FROM sqlite_master ORDER BY name').all();
        db.close();
        return rows;
      };
      assert.deepEqual(ddl(viaStore), ddl(viaLegacy));
    });

    it('SQLite: WAL, synchronous=FULL, foreign keys, busy_timeout, savepoint journals in memory on the writer; the reader is read-only', async () => {
      const store = await openStore({ engine: 'sqlite', file: await sqliteFile() });
      assert.deepEqual(await store.settings(), {
        journal_mode: 'wal',
        synchronous: 2,
        foreign_keys: 1,
        busy_timeout: 5000,
        temp_store: 2,
        reader_query_only: 0,
        reader_readonly: 1,
      });
      await store.close();
    });

    it('SQLite: refuses a file from a newer authority', async () => {
      const file = await sqliteFile();
      legacySqlite(file, LATEST);
      const db = new Database(file);
      db.pragma(`user_version = ${LATEST + 1}`);
      db.close();
      await assert.rejects(openStore({ engine: 'sqlite', file }), (e) => e instanceof SchemaTooNewError);
    });
  }

  if (engines.includes('postgres')) {
    it('PostgreSQL: synchronous_commit on, READ COMMITTED', async () => {
      const store = await openStore({ engine: 'postgres', url: await createTestDatabase('settings') });
      const s = await store.settings();
      await store.close();
      assert.equal(s.synchronous_commit, 'on');
      assert.equal(s.isolation, 'read committed');
    });

    it('PostgreSQL: four nodes migrating one fresh database at once all succeed, each version applied once', async () => {
      const url = await createTestDatabase('race');
      const pools = [0, 1, 2, 3].map(() => new pg.Pool({ connectionString: url, max: 1 }));
      try {
        const versions = await Promise.all(pools.map((p) => migratePostgres(p)));
        assert.deepEqual(versions, [LATEST, LATEST, LATEST, LATEST]);
        const c = pools[0]!;
        const v = await c.query('SELECT id, version FROM schema_version');
        assert.deepEqual(v.rows, [{ id: '1', version: String(LATEST) }]);
        // applied once: a second CREATE TABLE would have failed the runner; the tables exist once
        const t = await c.query(
          "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'audit_log'",
        );
        assert.equal(t.rows[0].n, 1);
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });

    it('PostgreSQL: refuses a newer schema, and a database that does not sort byte-wise', async () => {
      const url = await createTestDatabase('newer');
      const pool = new pg.Pool({ connectionString: url, max: 1 });
      await migratePostgres(pool);
      await pool.query('UPDATE schema_version SET version = $1', [LATEST + 1]);
      await pool.end();
      await assert.rejects(openStore({ engine: 'postgres', url }), (e) => e instanceof SchemaTooNewError);

      const admin = new pg.Client({ connectionString: url.replace(/\/[^/]+$/, '/postgres') });
      await admin.connect();
      const icu = (await admin.query("SELECT 1 FROM pg_collation WHERE collprovider = 'i' LIMIT 1")).rowCount;
      if (icu) {
        await admin.query(
          "CREATE DATABASE vd_collate TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'",
        );
        await assert.rejects(
          openStore({ engine: 'postgres', url: url.replace(/\/[^/]+$/, '/vd_collate') }),
          /collation is en-US \(provider i\): the store needs C/,
        );
      } else console.log('# no ICU collations in this cluster: the collation refusal is not exercised');
      await admin.end();
    });
  }

  if (engines.includes('sqlite') && engines.includes('postgres')) {
    it('PostgreSQL after all migrations has exactly the tables, columns, keys, indexes and checks of SQLite', async () => {
      const file = await sqliteFile();
      await (await openStore({ engine: 'sqlite', file })).close();
      const url = await createTestDatabase('drift');
      await (await openStore({ engine: 'postgres', url })).close();
      const lite = sqliteSchema(file);
      const pgs = await postgresSchema(url);
      const pgOnly = Object.keys(pgs.tables).filter((t) => !(t in lite.tables));
      assert.deepEqual(pgOnly.sort(), [...POSTGRES_ONLY_TABLES].sort(), 'the tables only PostgreSQL has');
      assert.deepEqual(
        Object.keys(pgs.tables)
          .filter((t) => !POSTGRES_ONLY_TABLES.includes(t))
          .sort(),
        Object.keys(lite.tables).sort(),
        'tables',
      );
      for (const name of Object.keys(lite.tables))
        assert.deepEqual(pgs.tables[name], lite.tables[name], `columns of ${name}`);
      assert.deepEqual(pgs.indexes, lite.indexes, 'named indexes');
      for (const t of POSTGRES_ONLY_TABLES) delete pgs.checks[t];
      assert.deepEqual(pgs.checks, lite.checks, 'CHECK constraints per table');
    });
  }
});

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  default: string | null;
  pk: number;
}
interface Schema {
  tables: Record<string, Column[]>;
  /** name -> "table(col, col DESC) [unique] [partial]" */
  indexes: Record<string, string>;
  /** table -> number of CHECK constraints */
  checks: Record<string, number>;
}

const SQLITE_TYPES: Record<string, string> = { INTEGER: 'bigint', TEXT: 'text', BLOB: 'bytea' };

function sqliteSchema(file: string): Schema {
  const db = new Database(file, { readonly: true });
  const tables: Schema['tables'] = {};
  const checks: Schema['checks'] = {};
  const master = db
    .prepare<[], { name: string; sql: string }>(
      "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .all();
  for (const { name, sql } of master) {
    const cols = db.prepare<
      [],
      { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }
    >(`PRAGMA table_info(${name})`);
    tables[name] = cols.all().map((c) => ({
      name: c.name,
      type: SQLITE_TYPES[c.type] ?? `?${c.type}`,
      // a PRIMARY KEY column is NOT NULL in PostgreSQL; in a STRICT table SQLite refuses NULL there too
      notNull: c.notnull === 1 || c.pk > 0,
      default: c.dflt_value,
      pk: c.pk,
    }));
    checks[name] = (sql.match(/\bCHECK\s*\(/gi) ?? []).length;
  }
  const indexes: Schema['indexes'] = {};
  for (const ix of db
    .prepare<[], { name: string; tbl_name: string; sql: string }>(
      "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .all()) {
    const cols = db
      .prepare<[], { name: string; desc: number; key: number }>(`PRAGMA index_xinfo(${ix.name})`)
      .all()
      .filter((c) => c.key === 1)
      .map((c) => (c.desc ? `${c.name} DESC` : c.name));
    indexes[ix.name] =
      `${ix.tbl_name}(${cols.join(', ')})${/^CREATE UNIQUE/i.test(ix.sql) ? ' unique' : ''}${/\bWHERE\b/i.test(ix.sql) ? ' partial' : ''}`;
  }
  db.close();
  return { tables, indexes: sortKeys(indexes), checks: sortKeys(checks) };
}

async function postgresSchema(url: string): Promise<Schema> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const tables: Schema['tables'] = {};
    const cols = await c.query<{
      table_name: string;
      column_name: string;
      data_type: string;
      is_nullable: string;
      column_default: string | null;
      pk: number | null;
    }>(`
      SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default,
             (SELECT k.ordinal_position FROM information_schema.table_constraints tc
                JOIN information_schema.key_column_usage k
                  ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema
               WHERE tc.table_schema = c.table_schema AND tc.table_name = c.table_name
                 AND tc.constraint_type = 'PRIMARY KEY' AND k.column_name = c.column_name)::int AS pk
        FROM information_schema.columns c
       WHERE c.table_schema = current_schema() AND c.table_name <> 'schema_version'
       ORDER BY c.table_name, c.ordinal_position`);
    for (const r of cols.rows)
      (tables[r.table_name] ??= []).push({
        name: r.column_name,
        type: r.data_type,
        notNull: r.is_nullable === 'NO',
        // '{}'::text -> '{}'; 0 -> 0
        default: r.column_default === null ? null : r.column_default.replace(/::[a-z ]+$/, ''),
        pk: r.pk ?? 0,
      });
    const indexes: Schema['indexes'] = {};
    const ix = await c.query<{
      indexname: string;
      tablename: string;
      indexdef: string;
      constraint: boolean;
    }>(`
      SELECT i.indexname, i.tablename, i.indexdef,
             EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname) AS constraint
        FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename <> 'schema_version'`);
    for (const r of ix.rows) {
      if (r.constraint) continue; // PRIMARY KEY / UNIQUE constraints: SQLite's unnamed autoindexes
      const cols = /USING btree \((.*?)\)(?: WHERE|$)/.exec(r.indexdef)![1]!;
      indexes[r.indexname] =
        `${r.tablename}(${cols})${/^CREATE UNIQUE/.test(r.indexdef) ? ' unique' : ''}${/ WHERE /.test(r.indexdef) ? ' partial' : ''}`;
    }
    const checks: Schema['checks'] = Object.fromEntries(Object.keys(tables).map((t) => [t, 0]));
    const ck = await c.query<{ table: string; n: number }>(`
      SELECT t.relname AS table, count(*)::int AS n FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
       WHERE k.contype = 'c' AND t.relnamespace = current_schema()::regnamespace AND t.relname <> 'schema_version'
       GROUP BY t.relname`);
    for (const r of ck.rows) checks[r.table] = r.n;
    return { tables, indexes: sortKeys(indexes), checks: sortKeys(checks) };
  } finally {
    await c.end();
  }
}

function sortKeys<T>(o: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}

describe('schema.ts types every column of the schema', () => {
  it('each table and column of the migrated SQLite schema is in schema.ts with its type and nullability, and nothing else', () => {
    const db = new Database(':memory:');
    db.transaction(() => migrations.forEach((m) => m(db)))();
    const fromSql: Record<string, string[]> = {};
    for (const { name } of db
      .prepare<[], { name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
      )
      .all())
      fromSql[name] = db
        .prepare<[], { name: string; type: string; notnull: number; pk: number }>(
          `PRAGMA table_info(${name})`,
        )
        .all()
        .map((c) => `${c.name} ${c.type}${c.notnull || c.pk ? '' : ' NULL'}`);
    db.close();
    assert.deepEqual(sortKeys(typedColumns()), sortKeys(fromSql));
  });
});

/** The tables and columns of schema.ts's `Database`, read with the TypeScript parser, as "name TYPE [NULL]". */
function typedColumns(): Record<string, string[]> {
  const file = new URL('../../authority/src/store/schema.ts', import.meta.url).pathname;
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  src.forEachChild((n) => {
    if (ts.isInterfaceDeclaration(n)) interfaces.set(n.name.text, n);
  });
  const sqlType = (t: string) => {
    const base = t.replace(/^Generated<(.*)>$/, '$1').replace(/\s*\|\s*null$/, '');
    const type = base === 'Buffer' ? 'BLOB' : /^(number|Ms|0 \| 1)$/.test(base) ? 'INTEGER' : 'TEXT';
    return `${type}${/\|\s*null$/.test(t) ? ' NULL' : ''}`;
  };
  const out: Record<string, string[]> = {};
  for (const table of interfaces.get('Database')!.members) {
    const name = (table.name as ts.Identifier).text;
    const typeName = ((table as ts.PropertySignature).type as ts.TypeReferenceNode).typeName.getText(src);
    out[name] = interfaces
      .get(typeName)!
      .members.map(
        (m) => `${(m.name as ts.Identifier).text} ${sqlType((m as ts.PropertySignature).type!.getText(src))}`,
      );
  }
  return out;
}
