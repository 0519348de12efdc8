import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { StoreTarget } from '../../authority/src/store/engine.ts';
import { createTestDatabase } from './postgres.ts';
import type { CrashServer } from './crash-scenario.ts';
import { AuthorityProcess, appendTestNote, freePort, REPO_ROOT, waitForHealth } from './process.ts';

/** The load balancer's configuration: the deploy folder's own file, started as it is. */
export const HAPROXY_CFG = join(REPO_ROOT, 'deploy', 'haproxy', 'haproxy.cfg');
const SIP_SECRET = 'cluster-sip-secret-0123456789abcdefghijklmnop';

export interface ClusterOptions {
  /** Working folder: node data dirs (node1..), logs. */
  dir: string;
  /** Authority nodes (1-3: deploy/haproxy/haproxy.cfg names three servers). */
  nodes?: number;
  /** VD_* variables for every node. */
  env?: Record<string, string>;
  /** HAProxy's port (default: a free one), e.g. when the nodes' VD_ORIGINS must name it. */
  lbPort?: number;
}

/**
 * Issue 12's cluster on loopback: one PostgreSQL database (the test cluster of
 * test/support/postgres.ts), N authority nodes as child processes on their own ports
 * (AuthorityProcess: each can be SIGKILLed and restarted) and HAProxy in front of them
 * with deploy/haproxy/haproxy.cfg. Clients use `url` (HAProxy) and never learn which node
 * answers. The same interface as one AuthorityProcess where tests crash "the authority":
 * restart() SIGKILLs one node at random and starts it again while the others serve.
 */
export class AuthorityCluster {
  readonly nodes: AuthorityProcess[] = [];
  url = '';
  private lbPort = 0;
  private statsPort = 0;
  private haproxy: ChildProcess | null = null;
  private databaseUrl = '';
  readonly logFile: string;
  /** SIGKILLs of single nodes (restart) and of the whole cluster (kill), like AuthorityProcess. */
  kills = 0;
  /** Milliseconds each node start took until its /healthz answered (first starts included). */
  readonly startTimes: number[] = [];
  /** Which node each restart() killed. */
  readonly killed: number[] = [];

  constructor(readonly opts: ClusterOptions) {
    this.logFile = join(opts.dir, 'haproxy.log');
  }

  get size(): number {
    return Math.min(3, Math.max(1, this.opts.nodes ?? 3));
  }

  async storeTarget(): Promise<StoreTarget> {
    return { engine: 'postgres', url: this.databaseUrl };
  }

  /** The database, the nodes one after another (the first seeds the demo), then HAProxy. */
  async start(): Promise<void> {
    mkdirSync(this.opts.dir, { recursive: true });
    this.databaseUrl = await createTestDatabase('cluster');
    for (let i = 1; i <= this.size; i++) {
      const dataDir = join(this.opts.dir, `node${i}`);
      mkdirSync(dataDir, { recursive: true });
      const node = new AuthorityProcess({
        port: await freePort(),
        dataDir,
        logFile: join(this.opts.dir, `node${i}.log`),
        env: {
          VD_DATABASE_URL: this.databaseUrl,
          VD_SIP_SECRET: SIP_SECRET,
          VD_NODE_ID: `node${i}`,
          // a clean stop (rolling restart) drains first: HAProxy's checks take the node out
          VD_DRAIN_SECONDS: '1.5',
          ...this.opts.env,
        },
      });
      this.nodes.push(node);
      await node.start();
      this.startTimes.push(node.startTimes.at(-1)!);
    }
    this.lbPort = this.opts.lbPort ?? (await freePort());
    this.statsPort = await freePort();
    this.url = `http://127.0.0.1:${this.lbPort}`;
    await this.startHaproxy();
  }

  private async startHaproxy(): Promise<void> {
    const servers: Record<string, string> = {};
    // Three server lines in the file: a smaller cluster repeats its last node.
    for (let i = 1; i <= 3; i++) {
      const n = this.nodes[Math.min(i, this.nodes.length) - 1]!;
      servers[`VD_NODE${i}`] = n.url.replace('http://', '');
    }
    const out = openSync(this.logFile, 'a');
    try {
      this.haproxy = spawn('haproxy', ['-f', HAPROXY_CFG, '-db'], {
        env: {
          ...process.env,
          VD_LB_BIND: `127.0.0.1:${this.lbPort}`,
          VD_LB_STATS: `127.0.0.1:${this.statsPort}`,
          ...servers,
        },
        stdio: ['ignore', out, out],
      });
    } finally {
      closeSync(out);
    }
    await waitForHealth(this.url, { timeoutMs: 15_000, child: this.haproxy });
  }

  private note(line: string): void {
    appendTestNote(this.logFile, line);
  }

  /** SIGKILL one node (at random, or `index`), then start it again; the others serve meanwhile. */
  async restart(index = Math.floor(Math.random() * this.nodes.length)): Promise<void> {
    const node = this.nodes[index]!;
    this.note(`SIGKILL node${index + 1}`);
    await node.kill();
    this.kills++;
    this.killed.push(index);
    await node.start();
    this.startTimes.push(node.startTimes.at(-1)!);
  }

  private nextRolling = 0;
  /**
   * The next step of a rolling upgrade: the next node in turn stops cleanly (SIGTERM:
   * it answers what it has begun and closes its sockets) and starts again; the others
   * serve meanwhile. Counted like restart() (the scenario's bookkeeping).
   */
  async rollOne(): Promise<void> {
    const index = this.nextRolling++ % this.nodes.length;
    const node = this.nodes[index]!;
    this.note(`SIGTERM node${index + 1} (rolling restart)`);
    await node.stop();
    this.kills++;
    this.killed.push(index);
    await node.start();
    this.startTimes.push(node.startTimes.at(-1)!);
  }

  /**
   * The cluster as the crash scenario's server (test/support/crash-scenario.ts): each of
   * its crashes SIGKILLs one node at random (`kill`), or is the next step of a rolling
   * restart (`roll`); the final crash SIGKILLs every node.
   */
  asCrashServer(mode: 'kill' | 'roll'): CrashServer {
    const url = () => this.url;
    const kills = () => this.kills;
    return {
      get url() {
        return url();
      },
      get kills() {
        return kills();
      },
      start: () => this.start(),
      restart: () => (mode === 'kill' ? this.restart() : this.rollOne()),
      kill: () => this.kill(),
      storeTarget: () => this.storeTarget(),
      restartMs: () => this.startTimes.slice(this.size),
    };
  }

  /** SIGKILL every node (the final crash before a checker reads the database); HAProxy stops. */
  async kill(): Promise<void> {
    const alive = this.nodes.filter((n) => n.running);
    await Promise.all(alive.map((n) => n.kill()));
    if (alive.length) this.kills++;
    await this.stopHaproxy();
  }

  /** Clean stop of every node, then HAProxy. */
  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    await this.stopHaproxy();
  }

  private async stopHaproxy(): Promise<void> {
    const h = this.haproxy;
    if (!h || h.exitCode !== null || h.signalCode !== null) return;
    h.kill('SIGTERM');
    for (let i = 0; i < 100 && h.exitCode === null && h.signalCode === null; i++) await sleep(50);
    if (h.exitCode === null && h.signalCode === null) h.kill('SIGKILL');
  }
}
