/**
 * rtpengine CPU per concurrent anchored call (issue 13), to size a deployment: Debian's
 * rtpengine (userspace forwarding, as the tests and deploy/ run it) relays
 * VD_BENCH_RTP_CALLS (default 20) calls at once, each with two parties sending G.711
 * (PCMU, 20 ms packets, 50 packets per second each way) from UDP sockets of this process
 * through the ng protocol's offer/answer, as Kamailio's module drives it. Measured over
 * VD_BENCH_RTP_SECONDS (default 10) per run from /proc/PID/stat (user + system time):
 *
 * - idle: the daemon with no call (its own timers), the same run's baseline;
 * - N calls forwarded, and N calls forwarded and recorded (`record call`, pcap method).
 *
 * Printed: CPU % of one core for the daemon, per call above idle, packets relayed and
 * lost (every packet sent is counted where it should arrive). Never asserted.
 * `npm run bench -- rtpengine-cpu` (needs rtpengine: scripts/install-test-deps.sh).
 */
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, readdirSync } from 'node:fs';
import { NgClient } from '../authority/src/media/rtpengine-ng.ts';
import { startRtpengine, type RunningRtpengine } from '../test/support/rtpengine.ts';
import { fmt, printTable } from './console-support.ts';
import { cpuSeconds } from './process-cpu.ts';

const CALLS = Math.max(1, Number(process.env.VD_BENCH_RTP_CALLS ?? 20));
const SECONDS = Math.max(2, Number(process.env.VD_BENCH_RTP_SECONDS ?? 10));

export interface RtpRun {
  label: string;
  calls: number;
  /** CPU % of one core over the window */
  cpuPercent: number;
  sent: number;
  received: number;
  /** pcap files in the recording directory after the run (recorded runs) */
  recordings?: number;
}

export interface RtpFigures {
  calls: number;
  seconds: number;
  runs: RtpRun[];
}

const sdp = (port: number, id: number) =>
  [
    'v=0',
    `o=- ${id} 1 IN IP4 127.0.0.1`,
    's=-',
    'c=IN IP4 127.0.0.1',
    't=0 0',
    `m=audio ${port} RTP/AVP 0`,
    'a=rtpmap:0 PCMU/8000',
    'a=sendrecv',
    '',
  ].join('\r\n');

/** The media port of the first m=audio line of an SDP. */
function mediaPort(s: unknown): number {
  const m = /m=audio (\d+)/.exec(String(s));
  if (!m) throw new Error(`no m=audio in ${String(s)}`);
  return Number(m[1]);
}

const bind = (): Promise<Socket> =>
  new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => resolve(s));
  });

interface Leg {
  socket: Socket;
  /** where this party sends: rtpengine's port for it */
  to: number;
  seq: number;
  ts: number;
  ssrc: number;
}

/** One 20 ms PCMU packet (12-byte RTP header + 160 bytes of silence). */
function packet(l: Leg): Buffer {
  const b = Buffer.alloc(172, 0xff);
  b[0] = 0x80;
  b[1] = 0; // PT 0, no marker
  b.writeUInt16BE(l.seq & 0xffff, 2);
  b.writeUInt32BE(l.ts >>> 0, 4);
  b.writeUInt32BE(l.ssrc, 8);
  l.seq++;
  l.ts += 160;
  return b;
}

async function measure(
  rtp: RunningRtpengine,
  label: string,
  calls: number,
  record: boolean,
): Promise<RtpRun> {
  const ng = new NgClient(rtp.ngSock, 5000);
  const legs: Leg[] = [];
  const callIds: string[] = [];
  let received = 0;
  let sent = 0;
  try {
    for (let c = 0; c < calls; c++) {
      const [a, b] = [await bind(), await bind()];
      for (const s of [a, b]) s.on('message', () => received++);
      const callId = `bench-${label}-${c}-${process.pid}`;
      callIds.push(callId);
      const flags = record ? { 'record call': 'yes' } : {};
      const offer = await ng.command('offer', {
        'call-id': callId,
        'from-tag': `a${c}`,
        sdp: sdp(a.address().port, c),
        ...flags,
      });
      const answer = await ng.command('answer', {
        'call-id': callId,
        'from-tag': `a${c}`,
        'to-tag': `b${c}`,
        sdp: sdp(b.address().port, c),
        ...flags,
      });
      // The offer's answer goes to B (where B sends), the answer's answer to A.
      legs.push({ socket: a, to: mediaPort(answer.sdp), seq: 0, ts: 0, ssrc: 2 * c + 1 });
      legs.push({ socket: b, to: mediaPort(offer.sdp), seq: 0, ts: 0, ssrc: 2 * c + 2 });
    }
    // Paced by the clock, not by the timer: a late tick sends what is due (50 per second per party).
    const start = performance.now();
    let ticks = 0;
    const tick = () => {
      const due = Math.floor((performance.now() - start) / 20) + 1;
      for (; ticks < due; ticks++)
        for (const l of legs) {
          l.socket.send(packet(l), l.to, '127.0.0.1');
          sent++;
        }
    };
    // One second of media before the window (rtpengine learns each party's address).
    const timer = setInterval(tick, 20);
    await new Promise((r) => setTimeout(r, 1000));
    const [sent0, received0] = [sent, received];
    const cpu0 = cpuSeconds(rtp.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000));
    const cpu1 = cpuSeconds(rtp.pid);
    const wall = (performance.now() - t0) / 1000;
    const [sent1, received1] = [sent, received];
    clearInterval(timer);
    return {
      label,
      calls,
      cpuPercent: ((cpu1 - cpu0) / wall) * 100,
      sent: sent1 - sent0,
      received: received1 - received0,
    };
  } finally {
    for (const id of callIds) await ng.command('delete', { 'call-id': id }).catch(() => undefined);
    for (const l of legs) l.socket.close();
    ng.close();
  }
}

/** Files under `dir` (recursively) whose name ends with `ext`. */
function countFiles(dir: string, ext: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true }).filter((f) => String(f).endsWith(ext)).length;
}

export async function benchRtpengineCpu(): Promise<RtpFigures> {
  const rtp = await startRtpengine({ recording: true, portCount: Math.max(200, CALLS * 4 + 20) });
  try {
    const runs: RtpRun[] = [];
    runs.push(await measure(rtp, 'idle', 0, false));
    runs.push(await measure(rtp, 'forwarded', CALLS, false));
    const recorded = await measure(rtp, 'forwarded + recorded (pcap)', CALLS, true);
    recorded.recordings = countFiles(rtp.recordingDir!, '.pcap');
    runs.push(recorded);
    return { calls: CALLS, seconds: SECONDS, runs };
  } finally {
    await rtp.stop();
  }
}

export function printRtpengineCpu(f: RtpFigures): void {
  const idle = f.runs.find((r) => r.calls === 0)!;
  printTable(
    ['rtpengine', 'calls', 'CPU % of a core', 'per call above idle', 'packets sent / relayed', 'pcap files'],
    f.runs.map((r) => [
      r.label,
      String(r.calls),
      `${fmt(r.cpuPercent, 2)} %`,
      r.calls ? `${fmt((r.cpuPercent - idle.cpuPercent) / r.calls, 3)} %` : '-',
      `${fmt(r.sent)} / ${fmt(r.received)}`,
      r.recordings === undefined ? '-' : String(r.recordings),
    ]),
  );
}
