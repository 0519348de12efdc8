import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from './ports.ts';
import { until } from './wait.ts';

/**
 * rtpengine (Debian's `rtpengine-daemon`, userspace: `table = -1`, no kernel module) for
 * tests, started from the deployment's own file (deploy/rtpengine/rtpengine.conf, so the
 * file is proven) with the test's addresses on the command line (which wins over the
 * file): media on 127.0.0.1 in a port range of its own (so a test can tell its addresses
 * from a browser's), the ng control protocol on a free UDP port for Kamailio, the
 * recording directory (the file's pcap method) in a temp dir.
 */
export const RTPENGINE_CONF = fileURLToPath(
  new URL('../../deploy/rtpengine/rtpengine.conf', import.meta.url),
);

export const RTPENGINE = process.env.VD_RTPENGINE_PATH ?? '/usr/bin/rtpengine';

export interface RunningRtpengine {
  /** "udp:127.0.0.1:PORT": Kamailio's rtpengine_sock */
  ngSock: string;
  ngPort: number;
  /** media ports: [min, max] */
  ports: [number, number];
  /** --recording-dir (recording method pcap), when started with `recording` */
  recordingDir: string | null;
  /** the daemon's process id (its CPU time is in /proc/PID/stat) */
  pid: number;
  log(): string;
  stop(): Promise<void>;
}

export interface RtpengineOptions {
  /** Tell the test where calls are recorded (the file's `recording-method = pcap`, into a temp dir): what Kamailio's record-call=on starts. */
  recording?: boolean;
  /** How many media ports (default 200: 100 streams with RTP and RTCP). */
  portCount?: number;
}

export async function startRtpengine(opts: RtpengineOptions = {}): Promise<RunningRtpengine> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-rtpengine-'));
  const ngPort = await freeUdpPort();
  const count = Math.max(200, opts.portCount ?? 200);
  const min = 20_000 + Math.floor(Math.random() * Math.floor(10_000 / count)) * count;
  const ports: [number, number] = [min, min + count - 1];
  const args = [
    `--config-file=${RTPENGINE_CONF}`,
    '--foreground',
    '--log-stderr',
    '--interface=127.0.0.1',
    `--listen-ng=127.0.0.1:${ngPort}`,
    `--port-min=${ports[0]}`,
    `--port-max=${ports[1]}`,
    `--pidfile=${join(dir, 'rtpengine.pid')}`,
    '--log-level=6',
    '--delete-delay=0',
  ];
  // The file records with the pcap method into /var/spool/rtpengine: here a temp dir, used
  // only by calls offered with record-call (and told to the authority with `recording`).
  args.push(`--recording-dir=${join(dir, 'recordings')}`);
  const recordingDir = opts.recording ? join(dir, 'recordings') : null;
  let log = '';
  // No core file: rtpengine 10.5 can crash when stopped in the middle of a recorded call,
  // and its core would land in the working directory (the repository's root).
  const child: ChildProcess = spawn('/bin/sh', ['-c', 'ulimit -c 0 && exec "$0" "$@"', RTPENGINE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-262_144);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exited = false;
  child.once('exit', () => (exited = true));
  try {
    await until('rtpengine started', () => exited || /Startup complete/.test(log), { timeoutMs: 15_000 });
    if (exited) throw new Error(`rtpengine exited:\n${log}`);
  } catch (e) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    ngSock: `udp:127.0.0.1:${ngPort}`,
    ngPort,
    ports,
    recordingDir,
    pid: child.pid!,
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
