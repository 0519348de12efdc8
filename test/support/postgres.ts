import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for tests and benches: started once per process (the
 * first `createTestDatabase()`), one database per caller, stopped and deleted when the
 * process exits (also on SIGINT/SIGTERM). Binaries from /usr/lib/postgresql/<newest>/bin
 * (Debian's `postgresql` package; scripts/install-test-deps.sh installs it) or
 * VD_PG_BIN. PostgreSQL refuses to run as root, so as root every binary runs as the
 * `postgres` OS user (`runuser -u postgres --`) on a temp dir owned by it.
 *
 * The cluster listens on 127.0.0.1 (a free port) and its socket is in the temp dir,
 * trust authentication, user `postgres`, locale C (so text sorts byte-wise as SQLite's
 * BINARY collation does). fsync stays on: commits cost what they cost.
 */

export interface TestCluster {
  port: number;
  dir: string;
  /** postgres://postgres@127.0.0.1:<port>/<db> */
  url(db: string): string;
}

function pgBin(): string {
  if (process.env.VD_PG_BIN) return process.env.VD_PG_BIN;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0)
    throw new Error(
      'PostgreSQL binaries not found under /usr/lib/postgresql/*/bin: run scripts/install-test-deps.sh ' +
        '(Debian package postgresql), set VD_PG_BIN, or run only SQLite with VD_TEST_ENGINES=sqlite',
    );
  return join(base, versions[0]!, 'bin');
}

const asRoot = process.getuid?.() === 0;

function run(bin: string, args: string[]): SpawnSyncReturns<string> {
  const exe = join(pgBin(), bin);
  const r = asRoot
    ? spawnSync('runuser', ['-u', 'postgres', '--', exe, ...args], { encoding: 'utf8' })
    : spawnSync(exe, args, { encoding: 'utf8' });
  return r;
}

function runOrThrow(bin: string, args: string[], dir: string): void {
  const r = run(bin, args);
  if (r.status !== 0) {
    let log = '';
    try {
      log = readFileSync(join(dir, 'log'), 'utf8').slice(-2000);
    } catch {
      /* no log yet */
    }
    throw new Error(`${bin} failed (${r.status}): ${r.stderr || r.stdout}\n${log}`);
  }
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => ok(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => ok(true)));
  });
}

let started: Promise<TestCluster> | null = null;

/** The process's cluster, started on first use (about 2 s). */
export function testCluster(): Promise<TestCluster> {
  started ??= start();
  return started;
}

async function start(): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-pg-'));
  if (asRoot) {
    const pw = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (pw.status !== 0)
      throw new Error('running as root, but there is no `postgres` OS user to run PostgreSQL as');
    chownSync(dir, Number(pw.stdout.trim()), Number(gid.stdout.trim()));
  }
  const data = join(dir, 'data');
  runOrThrow(
    'initdb',
    ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync'],
    dir,
  );
  let cleanup = () => rmSync(dir, { recursive: true, force: true });
  // A drawn port may be taken between the check and the bind: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (!(await portIsFree(port))) continue;
    const opts = [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',
      '-c max_connections=200',
      '-c shared_buffers=32MB',
    ].join(' ');
    const r = run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', opts, 'start']);
    if (r.status !== 0) {
      if (attempt < 4) continue;
      runOrThrow('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-o', opts, 'start'], dir);
    }
    cleanup = () => {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    };
    stopAtExit(() => cleanup());
    return { port, dir, url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}` };
  }
}

function stopAtExit(stop: () => void): void {
  let done = false;
  const once = () => {
    if (done) return;
    done = true;
    stop();
  };
  process.on('exit', once);
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.once(sig, () => {
      once();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    });
}

/**
 * A fresh, empty database in the process's cluster (created from template0, UTF8, C
 * collation), e.g. one per test file or per test. Returns its URL.
 */
export async function createTestDatabase(prefix = 'vd'): Promise<string> {
  const cluster = await testCluster();
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: cluster.url('postgres') });
  await admin.connect();
  try {
    await admin.query(
      `CREATE DATABASE ${name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
    );
  } finally {
    await admin.end();
  }
  return cluster.url(name);
}

/** The engines the store tests run on: VD_TEST_ENGINES (default `sqlite,postgres`). */
export function testEngines(): ('sqlite' | 'postgres')[] {
  const list = (process.env.VD_TEST_ENGINES ?? 'sqlite,postgres')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const e of list)
    if (e !== 'sqlite' && e !== 'postgres')
      throw new Error(`VD_TEST_ENGINES: unknown engine "${e}" (sqlite, postgres)`);
  return list as ('sqlite' | 'postgres')[];
}
