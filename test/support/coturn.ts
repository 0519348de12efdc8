import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpAndUdpPort } from './ports.ts';
import { until } from './wait.ts';

/**
 * coturn (Debian's `turnserver`) for tests: deploy/coturn/turnserver.conf as shipped,
 * minus its TLS certificate lines, on loopback (a free port, a relay port range of its
 * own, a temp dir for its database and pid file). The deploy file refuses to relay to
 * loopback and private addresses (SSRF guard); `allowLoopbackPeers` lets a test relay
 * between two peers on 127.0.0.1, as two parties behind NATs would through a public TURN.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const COTURN_CONF = join(ROOT, 'deploy', 'coturn', 'turnserver.conf');
export const TURNSERVER = process.env.VD_TURNSERVER_PATH ?? '/usr/bin/turnserver';

export interface RunningCoturn {
  /** turn:IP:PORT?transport=udp (IP 127.0.0.1 unless given) */
  turnUrl: string;
  port: number;
  secret: string;
  realm: string;
  log(): string;
  stop(): Promise<void>;
}

/** true when a STUN Binding request to 127.0.0.1:port gets a Binding success response. */
async function stunAnswers(port: number, host: string): Promise<boolean> {
  const s = createSocket('udp4');
  try {
    const tid = randomBytes(12);
    // RFC 5389 header: type 0x0001 (Binding request), length 0, magic cookie, transaction id.
    const req = Buffer.concat([Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]), tid]);
    const answer = new Promise<boolean>((resolve) => {
      s.on('message', (m) => resolve(m.readUInt16BE(0) === 0x0101 && m.subarray(8, 20).equals(tid)));
      setTimeout(() => resolve(false), 300).unref();
    });
    s.send(req, port, host);
    return await answer;
  } finally {
    s.close();
  }
}

type CoturnOptions = {
  secret?: string;
  realm?: string;
  allowLoopbackPeers?: boolean;
  /** Where it listens and relays (default 127.0.0.1), e.g. the public address of test/support/netns.ts. */
  ip?: string;
};

/**
 * coturn on loopback with the shipped configuration. A start whose STUN port never
 * answers (seen once in CI on a loaded machine: the port picked free was not free when
 * coturn bound it) is retried once on fresh ports, its log printed.
 */
export async function startCoturn(opts: CoturnOptions = {}): Promise<RunningCoturn> {
  try {
    return await startCoturnOnce(opts);
  } catch (e) {
    console.log(`# coturn did not start, retrying on fresh ports: ${(e as Error).message.slice(0, 2000)}`);
    return await startCoturnOnce(opts);
  }
}

async function startCoturnOnce(opts: CoturnOptions): Promise<RunningCoturn> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-coturn-'));
  const secret = opts.secret ?? randomBytes(32).toString('base64url');
  const realm = opts.realm ?? 'verified-desk.local';
  // The shipped file without its certificate paths (no TLS listener in tests).
  const conf = readFileSync(COTURN_CONF, 'utf8')
    .split('\n')
    .filter((l) => !/^(cert|pkey)=/.test(l))
    .join('\n');
  writeFileSync(join(dir, 'turnserver.conf'), conf);
  const ip = opts.ip ?? '127.0.0.1';
  const port = await freeTcpAndUdpPort(); // TURN listens on UDP and TCP
  const relayBase = 40_000 + Math.floor(Math.random() * 200) * 100;
  const args = [
    '-c',
    join(dir, 'turnserver.conf'),
    '--no-tls',
    '--no-dtls',
    `--listening-ip=${ip}`,
    `--relay-ip=${ip}`,
    `--listening-port=${port}`,
    `--min-port=${relayBase}`,
    `--max-port=${relayBase + 99}`,
    `--static-auth-secret=${secret}`,
    `--realm=${realm}`,
    `--db=${join(dir, 'turndb')}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`,
    ...(opts.allowLoopbackPeers ? ['--allow-loopback-peers', '--allowed-peer-ip=127.0.0.1'] : []),
  ];
  let log = '';
  const child: ChildProcess = spawn(TURNSERVER, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-65_536);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await until('coturn answering STUN', async () => exited || (await stunAnswers(port, ip)), {
      timeoutMs: 15_000,
    });
    if (exited) throw new Error(`turnserver exited:\n${log}`);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}; turnserver log:\n${log.slice(-1500)}`, { cause: e });
  }
  return {
    turnUrl: `turn:${ip}:${port}?transport=udp`,
    port,
    secret,
    realm,
    log: () => log,
    async stop() {
      if (!exited) {
        child.kill('SIGTERM');
        await Promise.race([once(child, 'exit'), new Promise((r) => setTimeout(r, 3000))]);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
