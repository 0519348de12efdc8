/**
 * Two private networks behind NATs, for real, with Linux network namespaces: the
 * agent's and the customer's, each a namespace with one veth link to this host (the
 * "internet"), on private subnets the host does not forward between (iptables DROP in
 * FORWARD both ways, on top of ip_forward). The only address both reach is the public
 * one, a /32 on an interface of the host in TEST-NET-2 (198.51.100.0/24, not in
 * coturn's denied peer ranges): coturn listens and relays there, and the test's web
 * hosts (authority, console) are published there by a forwarder.
 *
 * Inside a namespace, 127.0.0.1:PORT of each published port is forwarded (a small Node
 * process in the namespace) to PUBLIC:PORT and on to the host's 127.0.0.1:PORT, so the
 * pages keep their loopback origins (http://localhost:PORT is the WebAuthn origin and a
 * secure context) while every byte crosses the namespace's own link. Chromium runs in a
 * namespace through a wrapper script (`ip netns exec NAME chromium "$@"`) given to
 * playwright-core as its executable: the pipe it drives Chromium over is inherited.
 *
 *   netnsUnavailable();                          // the reason to skip, or null
 *   const nets = await NatNetworks.create();
 *   await nets.publish(port);                    // host 127.0.0.1:port reachable as 127.0.0.1:port in both
 *   const b = await nets.launchChromium('agent', { extraArgs });
 *   await nets.remove();                         // always (also in after() on failure)
 *
 * Names carry the test process's pid (vdnat-PID-a, vn PID a): a later run removes what
 * a killed one left behind (`sweepStale`).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_PATH, type LaunchOptions } from './browser.ts';
import { until } from './wait.ts';

export type Side = 'agent' | 'customer';

const run = (cmd: string, args: string[]): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const tryRun = (cmd: string, args: string[]): boolean => {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
};
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Whether this machine lets the test create a namespace (root, CAP_NET_ADMIN); the reason when not. */
export function netnsUnavailable(): string | null {
  const probe = `vdnat-${process.pid}-probe`;
  try {
    run('ip', ['netns', 'add', probe]);
    run('ip', ['netns', 'del', probe]);
    run('iptables', ['-S', 'FORWARD']);
    return null;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return `network namespaces are not permitted here (${(err.stderr || err.message).trim().split('\n')[0]}): run as root with ip and iptables`;
  }
}

/** What a killed run left behind: namespaces, links and iptables rules of pids no longer alive. */
export function sweepStale(): void {
  for (const line of run('ip', ['netns', 'list']).split('\n')) {
    const m = /^(vdnat-(\d+)-\w+)/.exec(line);
    if (m && !alive(Number(m[2]))) tryRun('ip', ['netns', 'del', m[1]!]);
  }
  for (const line of run('ip', ['-o', 'link', 'show']).split('\n')) {
    const m = /^\d+: (vn(\d+)[acpq])[@:]/.exec(line);
    if (m && !alive(Number(m[2]))) tryRun('ip', ['link', 'del', m[1]!]);
  }
  for (const rule of run('iptables', ['-S', 'FORWARD']).split('\n')) {
    const m = /--comment "?vdnat-(\d+)"?/.exec(rule);
    if (m && !alive(Number(m[1])) && rule.startsWith('-A '))
      tryRun('iptables', ['-D', ...splitRule(rule.slice(3))]);
  }
}

/** An `iptables -S` rule back into arguments (quoted comment kept whole). */
function splitRule(rule: string): string[] {
  return [...rule.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The forwarder run inside a namespace: 127.0.0.1:PORT -> PUBLIC:PORT for each port on argv. */
const FORWARDER = `
const net = require('node:net');
const [target, ...ports] = process.argv.slice(1);
let left = ports.length;
for (const port of ports.map(Number)) {
  net.createServer((c) => {
    const u = net.connect({ host: target, port });
    c.on('error', () => u.destroy()); u.on('error', () => c.destroy());
    c.on('close', () => u.destroy()); u.on('close', () => c.destroy());
    c.pipe(u); u.pipe(c);
  }).listen(port, '127.0.0.1', () => { if (--left === 0) console.log('ready'); });
}
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

interface Net {
  ns: string;
  hostIf: string;
  hostIp: string;
  nsIp: string;
  subnet: string;
  forwarder: ChildProcess | null;
}

export class NatNetworks {
  /** The one address both namespaces reach (coturn, the published web hosts). */
  readonly publicIp: string;
  private readonly nets: Record<Side, Net>;
  /** The host interface holding the public address (one end of a veth pair). */
  private readonly dummy: string;
  private readonly comment = `vdnat-${process.pid}`;
  private readonly rules: string[][] = [];
  private readonly published: { port: number; server: Server; sockets: Set<Socket> }[] = [];
  private readonly browsers: Browser[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'vd-netns-'));
  private removed = false;
  private readonly onExit = () => this.removeSync();

  private constructor() {
    const pid = process.pid;
    // Random /24s (private for the two sides, TEST-NET-2 for the public address); a
    // later check refuses ones already on this machine.
    const r = randomInt(1, 250);
    this.publicIp = `198.51.100.${r}`;
    this.dummy = `vn${pid}p`;
    const net = (side: 'a' | 'c', prefix: string): Net => ({
      ns: `vdnat-${pid}-${side}`,
      hostIf: `vn${pid}${side}`,
      hostIp: `${prefix}.1`,
      nsIp: `${prefix}.2`,
      subnet: `${prefix}.0/24`,
      forwarder: null,
    });
    this.nets = { agent: net('a', `10.${randomInt(200, 250)}.${r}`), customer: net('c', `192.168.${r}`) };
  }

  /** Both networks, set up (what a killed run left is removed first); throws, having removed its part, on failure. */
  static async create(): Promise<NatNetworks> {
    sweepStale();
    const n = new NatNetworks();
    const inUse = run('ip', ['-4', '-o', 'addr', 'show']);
    for (const ip of [n.publicIp, n.nets.agent.hostIp, n.nets.customer.hostIp])
      if (inUse.includes(` ${ip}/`)) throw new Error(`address ${ip} already on this machine: run again`);
    process.once('exit', n.onExit);
    try {
      n.setUp();
    } catch (e) {
      n.removeSync();
      throw e;
    }
    return n;
  }

  private setUp(): void {
    // A veth pair with both ends here stands for the public interface (no dummy module needed).
    run('ip', ['link', 'add', this.dummy, 'type', 'veth', 'peer', 'name', `${this.dummy.slice(0, -1)}q`]);
    run('ip', ['addr', 'add', `${this.publicIp}/32`, 'dev', this.dummy]);
    run('ip', ['link', 'set', this.dummy, 'up']);
    for (const net of Object.values(this.nets)) {
      run('ip', ['netns', 'add', net.ns]);
      run('ip', ['link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', net.ns]);
      run('ip', ['addr', 'add', `${net.hostIp}/24`, 'dev', net.hostIf]);
      run('ip', ['link', 'set', net.hostIf, 'up']);
      const inNs = (...args: string[]) => run('ip', ['netns', 'exec', net.ns, ...args]);
      inNs('ip', 'link', 'set', 'lo', 'up');
      inNs('ip', 'addr', 'add', `${net.nsIp}/24`, 'dev', 'eth0');
      inNs('ip', 'link', 'set', 'eth0', 'up');
      inNs('ip', 'route', 'add', 'default', 'via', net.hostIp);
    }
    // The two private networks never reach each other (the host would not forward
    // anyway with ip_forward off; the rules say so when it is on).
    const { agent, customer } = this.nets;
    for (const [from, to] of [
      [agent.subnet, customer.subnet],
      [customer.subnet, agent.subnet],
    ] as const) {
      const rule = [
        'FORWARD',
        '-s',
        from,
        '-d',
        to,
        '-m',
        'comment',
        '--comment',
        this.comment,
        '-j',
        'DROP',
      ];
      run('iptables', ['-I', ...rule]);
      this.rules.push(rule);
    }
  }

  /** The namespace's own address (what its browser offers as a host candidate). */
  address(side: Side): string {
    return this.nets[side].nsIp;
  }

  namespace(side: Side): string {
    return this.nets[side].ns;
  }

  /** Run a command in a namespace; its output. */
  exec(side: Side, cmd: string, args: string[]): string {
    return run('ip', ['netns', 'exec', this.nets[side].ns, cmd, ...args]);
  }

  /**
   * Publish the host's 127.0.0.1:port on PUBLIC:port, and make it 127.0.0.1:port in
   * both namespaces (through their links). Call before launching the browsers.
   */
  async publish(...ports: number[]): Promise<void> {
    for (const port of ports) {
      const sockets = new Set<Socket>();
      const server = createServer((c) => {
        const u = createConnection({ host: '127.0.0.1', port });
        sockets.add(c).add(u);
        const drop = () => {
          sockets.delete(c);
          sockets.delete(u);
          c.destroy();
          u.destroy();
        };
        c.on('error', drop).on('close', drop);
        u.on('error', drop).on('close', drop);
        c.pipe(u);
        u.pipe(c);
      });
      server.listen(port, this.publicIp);
      await once(server, 'listening');
      this.published.push({ port, server, sockets });
    }
    for (const net of Object.values(this.nets)) {
      net.forwarder?.stdin?.end();
      const ports = this.published.map((p) => String(p.port));
      const child = spawn(
        'ip',
        ['netns', 'exec', net.ns, process.execPath, '-e', FORWARDER, this.publicIp, ...ports],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      net.forwarder = child;
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
      let exited = false;
      child.once('exit', () => (exited = true));
      await until(`the forwarder in ${net.ns}`, () => exited || out.includes('ready'), { timeoutMs: 10_000 });
      if (exited) throw new Error(`the forwarder in ${net.ns} exited: ${out}`);
    }
  }

  /** Chromium (CHROMIUM_ARGS, fake media) running inside the side's namespace. */
  async launchChromium(side: Side, opts: LaunchOptions = {}): Promise<Browser> {
    const wrapper = join(this.dir, `chromium-${side}.sh`);
    writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${this.nets[side].ns} ${CHROMIUM_PATH} "$@"\n`);
    chmodSync(wrapper, 0o755);
    const browser = await chromium.launch({
      executablePath: wrapper,
      headless: opts.headless ?? true,
      args: [...CHROMIUM_ARGS, ...(opts.extraArgs ?? [])],
    });
    this.browsers.push(browser);
    return browser;
  }

  /** Close the browsers, stop the forwarders, delete namespaces, links and rules. Idempotent. */
  async remove(): Promise<void> {
    if (this.removed) return;
    await Promise.all(this.browsers.map((b) => b.close().catch(() => undefined)));
    for (const p of this.published) {
      for (const s of p.sockets) s.destroy();
      await new Promise<void>((r) => p.server.close(() => r()));
    }
    this.removeSync();
  }

  private removeSync(): void {
    if (this.removed) return;
    this.removed = true;
    process.off('exit', this.onExit);
    for (const net of Object.values(this.nets)) {
      net.forwarder?.kill('SIGKILL');
      // Whatever still runs in the namespace (a browser not closed) would keep it alive.
      if (tryRun('ip', ['netns', 'pids', net.ns]))
        for (const pid of run('ip', ['netns', 'pids', net.ns]).split('\n').filter(Boolean))
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // gone already
          }
      tryRun('ip', ['netns', 'del', net.ns]);
      tryRun('ip', ['link', 'del', net.hostIf]);
    }
    tryRun('ip', ['link', 'del', this.dummy]);
    for (const rule of this.rules) tryRun('iptables', ['-D', ...rule]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
