/**
 * baresip (Debian's `baresip`, 1.0.x) as a carrier's caller on loopback for tests: a SIP
 * user agent of its own (config dir in a temp dir, no registration) that calls over plain
 * SIP/UDP with plain RTP (PCMU). Its microphone is a WAV file (module `aufile`: 8 kHz mono
 * S16, played once from the start of the call); what it hears is recorded by the `sndfile`
 * filter (dump-<time>-dec.wav, what it sent -enc.wav; baresip 1.0 stops writing them at
 * the first re-INVITE, while RTP goes on: rtpPackets() counts it all); no sound card
 * (`aubridge` as the player). Commanded over `ctrl_tcp` (JSON in netstrings: commands answered by token,
 * call events pushed); `-s` traces every SIP message to stdout, kept for assertions.
 *
 *   const caller = await startBaresip({ caller: '+447911123456', microphone: 'tone.wav' });
 *   await caller.dial(`sip:+442079460000@127.0.0.1:${trunkPort}`);
 *   await caller.event('CALL_ESTABLISHED');
 *   ... await caller.event('CALL_CLOSED'); const heard = caller.recording('dec');
 *   await caller.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeTcpAndUdpPort, freeTcpPort } from './ports.ts';
import { portIsFree } from './process.ts';
import { until } from './wait.ts';

export const BARESIP = process.env.VD_BARESIP_PATH ?? '/usr/bin/baresip';
export const BARESIP_MODULES = process.env.VD_BARESIP_MODULES ?? '/usr/lib/baresip/modules';

/** A terminal colour escape ("ESC[36;1m") around baresip's trace separators. */
const COLOUR = `${String.fromCharCode(27)}\\[[0-9;]*m`;
const TRACE_SEPARATOR = new RegExp(`\\n(?:${COLOUR})?#\\n`);
const COLOURS = new RegExp(COLOUR, 'g');

export interface BaresipOptions {
  /** The caller's number: the user part of From (sip:<caller>@127.0.0.1). */
  caller: string;
  /** The microphone: a WAV, 8000 Hz, mono, 16-bit PCM (aufile refuses any other format). */
  microphone: string;
}

/** A ctrl_tcp event (call events: CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED...). */
export interface BaresipEvent {
  type: string;
  class?: string;
  peeruri?: string;
  /** CALL_CLOSED: why ("Connection reset by user", "Rejected by peer"...). */
  param?: string;
  [k: string]: unknown;
}

/** One SIP message of the trace: which way it went and its text. */
export interface SipTraced {
  received: boolean;
  text: string;
}

export interface RunningBaresip {
  pid: number;
  /** Every event received so far, in order. */
  events: BaresipEvent[];
  /** A ctrl_tcp command ("dial", "hangup", "quit"...): resolves with its answer's data, throws on an error answer. */
  command(command: string, params?: string): Promise<string>;
  /** Call `uri` (plain SIP over UDP from 127.0.0.1). */
  dial(uri: string): Promise<void>;
  /** The first event of `type` (past or to come), within `timeoutMs`. */
  event(type: string, timeoutMs?: number): Promise<BaresipEvent>;
  /** The SIP messages traced so far (-s), oldest first. */
  sip(): SipTraced[];
  /**
   * The sndfile dumps of the call, oldest first: 'dec' what the caller heard, 'enc' what it
   * sent. A new pair starts whenever the media is renegotiated (the agent's hold, resume).
   */
  recordings(which: 'dec' | 'enc'): string[];
  /** RTP packets sent and received in the call (module rtcpsummary, printed when the call closes), or null before. */
  rtpPackets(): { sent: number; received: number } | null;
  /** The last 64 KiB of baresip's output. */
  log(): string;
  /** SIGTERM (then SIGKILL), and the temp dir deleted. */
  stop(): Promise<void>;
}

/** A free block of `count` UDP/TCP ports for RTP, away from rtpengine's 20000-29999 draws. */
async function rtpPorts(count = 20): Promise<[number, number]> {
  for (let i = 0; i < 50; i++) {
    const min = 30_000 + Math.floor(Math.random() * 130) * count;
    if ((await portIsFree(min)) && (await portIsFree(min + count - 1))) return [min, min + count - 1];
  }
  throw new Error('no free RTP port block for baresip');
}

export async function startBaresip(opts: BaresipOptions): Promise<RunningBaresip> {
  if (!existsSync(BARESIP))
    throw new Error(`baresip not found at ${BARESIP}: apt-get install -y baresip (or set VD_BARESIP_PATH)`);
  const dir = mkdtempSync(join(tmpdir(), 'vd-baresip-'));
  const recDir = join(dir, 'recordings');
  mkdirSync(recDir);
  const sipPort = await freeTcpAndUdpPort(); // baresip listens for SIP on UDP and TCP
  const ctrlPort = await freeTcpPort();
  const [rtpMin, rtpMax] = await rtpPorts();
  writeFileSync(
    join(dir, 'config'),
    [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${sipPort}`,
      'net_interface 127.0.0.1',
      'call_local_timeout 120',
      'call_max_calls 1',
      // No sound card: the microphone is the WAV, the loudspeaker a bridge nobody reads.
      `audio_source aufile,${opts.microphone}`,
      'audio_player aubridge,nil',
      'audio_alert aubridge,nil',
      'ausrc_srate 8000',
      'ausrc_channels 1',
      'audio_level no',
      `rtp_ports ${rtpMin}-${rtpMax}`,
      'rtcp_mux no',
      'rtp_stats yes',
      'jitter_buffer_delay 5-10',
      `module_path ${BARESIP_MODULES}`,
      'module g711.so',
      'module sndfile.so',
      'module aufile.so',
      'module aubridge.so',
      'module_tmp uuid.so',
      'module_tmp account.so',
      'module_app menu.so',
      'module_app ctrl_tcp.so',
      'module_app rtcpsummary.so',
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      'statmode_default off',
      `snd_path ${recDir}`,
      '',
    ].join('\n'),
  );
  // No registration (a carrier's trunk is configured by address), PCMU only.
  writeFileSync(join(dir, 'accounts'), `<sip:${opts.caller}@127.0.0.1>;regint=0;audio_codecs=pcmu\n`);

  let out = '';
  const child: ChildProcess = spawn(BARESIP, ['-s', '-f', dir], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-65_536));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  // Every SIP message, in full (the 64 KiB log tail may drop the early ones).
  const traced: string[] = [];
  let traceBuf = '';
  child.stdout!.on('data', (d: Buffer) => {
    traceBuf += d.toString('utf8');
    const parts = traceBuf.split(TRACE_SEPARATOR);
    traceBuf = parts.pop()!;
    traced.push(...parts);
  });
  const exited = once(child, 'exit');

  let sock: Socket | undefined;
  const stop = async () => {
    sock?.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await until(
      'baresip is ready',
      () => {
        if (child.exitCode !== null) throw new Error(`baresip exited (${child.exitCode}):\n${out}`);
        return out.includes('baresip is ready');
      },
      { timeoutMs: 10_000 },
    );
    sock = connect(ctrlPort, '127.0.0.1');
    await once(sock, 'connect');
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${out}`, { cause: e });
  }

  // ctrl_tcp speaks netstrings ("<length>:<json>,") both ways.
  const events: BaresipEvent[] = [];
  const answers = new Map<string, (m: { ok: boolean; data?: string }) => void>();
  let buf = Buffer.alloc(0);
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const colon = buf.indexOf(':');
      if (colon < 0) break;
      const len = Number(buf.subarray(0, colon).toString());
      if (buf.length < colon + 1 + len + 1) break;
      const msg = JSON.parse(buf.subarray(colon + 1, colon + 1 + len).toString('utf8')) as Record<
        string,
        unknown
      >;
      buf = buf.subarray(colon + 1 + len + 1);
      if (msg.event) {
        events.push(msg as BaresipEvent);
      } else if (msg.response && typeof msg.token === 'string') {
        answers.get(msg.token)?.(msg as { ok: boolean; data?: string });
        answers.delete(msg.token);
      }
    }
  });
  let tokens = 0;
  const command = (cmd: string, params?: string) =>
    new Promise<string>((resolve, reject) => {
      const token = String(++tokens);
      const json = Buffer.from(JSON.stringify({ command: cmd, params: params ?? '', token }), 'utf8');
      answers.set(token, (m) =>
        m.ok ? resolve(m.data ?? '') : reject(new Error(`baresip ${cmd}: ${m.data ?? 'failed'}`)),
      );
      sock!.write(Buffer.concat([Buffer.from(`${json.length}:`), json, Buffer.from(',')]));
    });

  return {
    pid: child.pid!,
    events,
    command,
    async dial(uri) {
      await command('dial', uri);
    },
    event(type, timeoutMs = 30_000) {
      const find = () => events.find((e) => e.type === type);
      return until(
        `baresip event ${type} (had: ${events.map((e) => e.type).join(', ') || 'none'})`,
        () => {
          if (child.exitCode !== null) throw new Error(`baresip exited (${child.exitCode})`);
          return find();
        },
        { timeoutMs },
      );
    },
    sip: () =>
      [...traced, traceBuf]
        .map((t) => t.replace(COLOURS, '').replace(/\r/g, ''))
        .map((t) => {
          const [head, ...rest] = t.split('\n');
          // "UDP 127.0.0.1:5060 -> 127.0.0.1:5091": received when it goes to our SIP port.
          return { received: (head ?? '').trimEnd().endsWith(`:${sipPort}`), text: rest.join('\n') };
        })
        .filter((m) => /^(SIP\/2\.0 |[A-Z]+ \S+ SIP\/2\.0)/.test(m.text)),
    recordings: (which) =>
      readdirSync(recDir)
        .filter((n) => n.endsWith(`-${which}.wav`))
        .sort()
        .map((n) => join(recDir, n)),
    rtpPackets() {
      const m = /^packets:\s+(\d+)\s+(\d+)\s*$/m.exec(out);
      return m ? { sent: Number(m[1]), received: Number(m[2]) } : null;
    },
    log: () => out,
    stop,
  };
}
