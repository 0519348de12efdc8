import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Engine, StoreTarget } from '../../authority/src/store/engine.ts';
import { TEST_PEPPER, testDatabaseFor, testEngine, testStoreTarget } from './authority.ts';

/** The repository root (this file is test/support/process.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Whether `port` can be bound on `host` right now (bind, then close at once). */
export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((ok) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => ok(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => ok(true)));
  });
}

/**
 * A free TCP port on 127.0.0.1, fixed afterwards so clients can reconnect after restarts.
 * Drawn at random below Linux's ephemeral range (32768-60999): the kernel never hands it to
 * an outgoing connection while the server is down, and two test runs started at the same
 * moment (bind(0) would give both the same port) are unlikely to draw the same one.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await portIsFree(port, host)) return port;
  }
  throw new Error('no free port found in 20000-31999');
}

/** A line of the test's own in a child's log file (what it did to the child, and when). */
export function appendTestNote(logFile: string, line: string): void {
  const fd = openSync(logFile, 'a');
  try {
    writeSync(fd, `--- [test ${new Date().toISOString()}] ${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Poll GET /healthz until it answers 200 (a readiness probe: bounded by `timeoutMs`). */
export async function waitForHealth(
  url: string,
  opts: { timeoutMs?: number; intervalMs?: number; child?: ChildProcess } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last = '';
  while (Date.now() < deadline) {
    if (opts.child && opts.child.exitCode !== null)
      throw new Error(`authority exited with code ${opts.child.exitCode} before it was ready`);
    if (opts.child && opts.child.signalCode !== null)
      throw new Error(`authority died (${opts.child.signalCode}) before it was ready`);
    try {
      const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2_000) });
      await r.arrayBuffer();
      if (r.status === 200) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(opts.intervalMs ?? 50);
  }
  throw new Error(`authority at ${url} not healthy within ${opts.timeoutMs ?? 30_000} ms (${last})`);
}

export interface AuthorityProcessOptions {
  /** Fixed port (pick one with freePort()): the same across restarts. */
  port: number;
  dataDir: string;
  host?: string;
  demo?: boolean;
  /** VD_* variables added to the inherited environment (VD_PIN_PEPPER defaults to the test pepper). */
  env?: Record<string, string>;
  /** Extra CLI arguments. */
  args?: string[];
  /** stdout and stderr of every run are appended here (default <dataDir>/../authority.log). */
  logFile?: string;
  /** Readiness timeout per start. */
  startTimeoutMs?: number;
  /**
   * The engine (default VD_TEST_ENGINE, else SQLite): on PostgreSQL the child gets
   * VD_DATABASE_URL of a fresh database for this data dir, the same one at every restart
   * (unless `env` names one itself).
   */
  engine?: Engine;
}

/**
 * The authority as a child process (`node --import tsx authority/src/cli.ts`) on a fixed
 * port and data dir: start, SIGKILL, restart on the same files, stop. Reusable by any
 * test that needs a real process to crash.
 */
export class AuthorityProcess {
  readonly url: string;
  readonly logFile: string;
  child: ChildProcess | null = null;
  /** Completed starts (ready) and SIGKILLs so far. */
  starts = 0;
  kills = 0;
  /** Milliseconds each start took until /healthz answered. */
  readonly startTimes: number[] = [];

  constructor(readonly opts: AuthorityProcessOptions) {
    const host = opts.host ?? '127.0.0.1';
    this.url = `http://${host}:${opts.port}`;
    this.logFile = opts.logFile ?? join(dirname(opts.dataDir), 'authority.log');
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private note(line: string): void {
    appendTestNote(this.logFile, line);
  }

  /** The engine the child runs on. */
  get engine(): Engine {
    if (this.opts.env?.VD_DATABASE_URL) return 'postgres';
    return this.opts.engine ?? testEngine();
  }

  /** Where the child keeps its data (read it with openReadOnly while it is down, or after). */
  async storeTarget(): Promise<StoreTarget> {
    const url = this.opts.env?.VD_DATABASE_URL;
    return url ? { engine: 'postgres', url } : testStoreTarget(this.opts.dataDir, this.engine);
  }

  /** Spawn and wait until /healthz answers. */
  async start(): Promise<void> {
    if (this.running) throw new Error('authority already running');
    const database: Record<string, string> =
      this.engine === 'postgres' && !this.opts.env?.VD_DATABASE_URL
        ? { VD_DATABASE_URL: await testDatabaseFor(this.opts.dataDir) }
        : {};
    mkdirSync(dirname(this.logFile), { recursive: true });
    // Another process on our port would answer /healthz for us: refuse to start instead.
    const host = this.opts.host ?? '127.0.0.1';
    for (let i = 0; !(await portIsFree(this.opts.port, host)); i++) {
      if (i >= 100) throw new Error(`port ${this.opts.port} is in use by another process`);
      await sleep(50);
    }
    this.note(`start #${this.starts + 1}`);
    const out = openSync(this.logFile, 'a');
    const t0 = Date.now();
    try {
      this.child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          'authority/src/cli.ts',
          '--host',
          host,
          '--port',
          String(this.opts.port),
          '--data-dir',
          this.opts.dataDir,
          ...(this.opts.demo === false ? [] : ['--demo']),
          ...(this.opts.args ?? []),
        ],
        {
          cwd: REPO_ROOT,
          env: { ...process.env, VD_PIN_PEPPER: TEST_PEPPER, ...database, ...this.opts.env },
          // The child writes straight into the log file: nothing to drain, nothing lost on SIGKILL.
          stdio: ['ignore', out, out],
        },
      );
    } finally {
      closeSync(out);
    }
    const child = this.child;
    child.on('error', (e) => this.note(`spawn error: ${e.message}`));
    try {
      await waitForHealth(this.url, { timeoutMs: this.opts.startTimeoutMs ?? 60_000, child });
    } catch (e) {
      if (this.running) child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}; see ${this.logFile}`, { cause: e });
    }
    this.starts++;
    this.startTimes.push(Date.now() - t0);
  }

  /** Wait for the child to exit (bounded). */
  private async exited(child: ChildProcess, timeoutMs: number): Promise<boolean> {
    if (child.exitCode !== null || child.signalCode !== null) return true;
    return new Promise((ok) => {
      const t = setTimeout(() => ok(false), timeoutMs);
      child.once('exit', () => {
        clearTimeout(t);
        ok(true);
      });
    });
  }

  /** SIGKILL (no clean-up, no checkpoint) and wait until the process is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.note(`SIGKILL pid ${child.pid}`);
    child.kill('SIGKILL');
    if (!(await this.exited(child, 10_000))) throw new Error(`authority pid ${child.pid} survived SIGKILL`);
    this.kills++;
  }

  /** SIGKILL, then start again on the same data dir and port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.start();
  }

  /** Clean stop (SIGTERM), falling back to SIGKILL after `timeoutMs`. */
  async stop(timeoutMs = 15_000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    this.note(`SIGTERM pid ${child.pid}`);
    child.kill('SIGTERM');
    if (await this.exited(child, timeoutMs)) return;
    child.kill('SIGKILL');
    await this.exited(child, 10_000);
  }
}
