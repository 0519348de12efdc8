/**
 * Tone analysis for recordings: the Goertzel power of a frequency in a window of samples,
 * and the strongest of a set of frequencies (the tone a channel carries); and a party
 * sending a G.711 tone over plain RTP (TonePhone) into rtpengine.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { NgClient } from '../../authority/src/media/rtpengine-ng.ts';

export function goertzel(
  samples: ArrayLike<number>,
  rate: number,
  hz: number,
  from = 0,
  to = samples.length,
): number {
  const w = (2 * Math.PI * hz) / rate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = (samples[i] ?? 0) + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const n = Math.max(1, to - from);
  return (s1 * s1 + s2 * s2 - c * s1 * s2) / (n * n);
}

/** The peak frequency between lo and hi Hz (1 Hz steps) of samples[from, to), with its power. */
export function peakHz(
  samples: ArrayLike<number>,
  rate: number,
  from = 0,
  to = samples.length,
  lo = 100,
  hi = 3400,
): { hz: number; power: number } {
  let best = { hz: 0, power: 0 };
  for (let hz = lo; hz <= hi; hz += 5) {
    const p = goertzel(samples, rate, hz, from, to);
    if (p > best.power) best = { hz, power: p };
  }
  for (let hz = best.hz - 5; hz <= best.hz + 5; hz += 0.5) {
    const p = goertzel(samples, rate, hz, from, to);
    if (p > best.power) best = { hz, power: p };
  }
  return best;
}

/** Root mean square of samples[from, to). */
export function rms(samples: ArrayLike<number>, from = 0, to = samples.length): number {
  let s = 0;
  for (let i = from; i < to; i++) s += (samples[i] ?? 0) ** 2;
  return Math.sqrt(s / Math.max(1, to - from));
}

/**
 * The samples of a mono 16-bit PCM WAV (the first channel of several), found by walking
 * the RIFF chunks to "data"; a file still being written (its sizes not yet final) is read
 * to its end.
 */
export function readWavSamples(buf: Buffer): { rate: number; samples: Int16Array } {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE')
    throw new Error('not a WAV file');
  let rate = 0;
  let channels = 1;
  for (let at = 12; at + 8 <= buf.length;) {
    const id = buf.toString('latin1', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      if (buf.readUInt16LE(at + 8) !== 1 || buf.readUInt16LE(at + 22) !== 16)
        throw new Error('not 16-bit PCM');
      channels = buf.readUInt16LE(at + 10);
      rate = buf.readUInt32LE(at + 12);
    } else if (id === 'data') {
      const end = size > 0 ? Math.min(buf.length, at + 8 + size) : buf.length;
      const n = Math.floor((end - at - 8) / (2 * channels));
      const samples = new Int16Array(n);
      for (let i = 0; i < n; i++) samples[i] = buf.readInt16LE(at + 8 + i * 2 * channels);
      return { rate, samples };
    }
    at += 8 + size + (size % 2);
  }
  throw new Error('no data chunk in the WAV');
}

/** Window by window (`windowMs` each): where it starts (ms), its peak frequency and its loudness. */
export function toneWindows(
  samples: ArrayLike<number>,
  rate: number,
  windowMs = 250,
): { atMs: number; hz: number; rms: number }[] {
  const size = Math.floor((rate * windowMs) / 1000);
  const out: { atMs: number; hz: number; rms: number }[] = [];
  for (let from = 0; from + size <= samples.length; from += size)
    out.push({
      atMs: Math.round((from * 1000) / rate),
      hz: peakHz(samples, rate, from, from + size).hz,
      rms: rms(samples, from, from + size),
    });
  return out;
}

/** μ-law of a 16-bit sample (G.711). */
export function ulaw(sample: number): number {
  const BIAS = 0x84;
  let s = Math.max(-32635, Math.min(32635, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s += BIAS;
  let exp = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exp > 0; mask >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0x0f;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

/** A party sending a PCMU tone in 20 ms RTP packets to rtpengine's port for it. */
export class TonePhone {
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private ts = 0;
  private readonly ssrc = Math.floor(Math.random() * 2 ** 32);
  private constructor(
    readonly socket: Socket,
    readonly port: number,
    private readonly hz: number,
  ) {}
  static async open(hz: number): Promise<TonePhone> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    return new TonePhone(s, s.address().port, hz);
  }
  sdp(): string {
    return [
      'v=0',
      `o=- ${this.port} 1 IN IP4 127.0.0.1`,
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      `m=audio ${this.port} RTP/AVP 0 101`,
      'a=rtpmap:0 PCMU/8000',
      'a=rtpmap:101 telephone-event/8000',
      'a=sendrecv',
      '',
    ].join('\r\n');
  }
  send(toPort: number): void {
    this.timer = setInterval(() => {
      const pkt = Buffer.alloc(12 + 160);
      pkt[0] = 0x80;
      pkt[1] = 0;
      pkt.writeUInt16BE(this.seq++ & 0xffff, 2);
      pkt.writeUInt32BE(this.ts >>> 0, 4);
      pkt.writeUInt32BE(this.ssrc, 8);
      for (let i = 0; i < 160; i++)
        pkt[12 + i] = ulaw(8000 * Math.sin((2 * Math.PI * this.hz * (this.ts + i)) / 8000));
      this.ts += 160;
      this.socket.send(pkt, toPort, '127.0.0.1');
    }, 20);
  }
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.socket.close();
  }
}

/**
 * A recorded call through rtpengine as Kamailio drives a ticketed INVITE (rtpengine_offer
 * with record-call=on, then the 200 OK's answer): the caller (`callerHz`, the agent) and the
 * callee (`calleeHz`, the customer) each send their tone to the port rtpengine anchored for
 * them. Close both phones when done; the call ends with ng `delete` (Kamailio's BYE).
 */
export async function recordedToneCall(
  ng: NgClient,
  callId: string,
  callerHz = 440,
  calleeHz = 1000,
): Promise<{ caller: TonePhone; callee: TonePhone }> {
  const [caller, callee] = await Promise.all([TonePhone.open(callerHz), TonePhone.open(calleeHz)]);
  try {
    const offer = await ng.command('offer', {
      'call-id': callId,
      'from-tag': 'agent-tag',
      sdp: caller.sdp(),
      flags: ['trust-address'],
      'record call': 'yes',
    });
    const answer = await ng.command('answer', {
      'call-id': callId,
      'from-tag': 'agent-tag',
      'to-tag': 'device-tag',
      sdp: callee.sdp(),
      flags: ['trust-address'],
    });
    callee.send(anchoredPort(offer.sdp));
    caller.send(anchoredPort(answer.sdp));
    return { caller, callee };
  } catch (e) {
    caller.close();
    callee.close();
    throw e;
  }
}

const anchoredPort = (sdp: unknown) => Number(/m=audio (\d+)/.exec(String(sdp))![1]);
