/**
 * From rtpengine's pcap recordings (recording-method pcap: the decrypted RTP of a call,
 * one pcap per recorded span) to a WAV with one channel per party. G.711 (PCMU, PCMA)
 * is decoded here; other codecs (Opus) are reported, not guessed: no Opus decoder is
 * installed in this project.
 */

export interface PcapPacket {
  /** capture time, ms since the epoch (fractional) */
  at: number;
  dstPort: number;
  srcPort: number;
  payload: Buffer;
}

/** The UDP datagrams of a pcap file (link types raw IP 101/228/229, Ethernet 1, Linux cooked 113). */
export function readPcap(buf: Buffer): PcapPacket[] {
  if (buf.length < 24) throw new Error('pcap: too short');
  const magicLE = buf.readUInt32LE(0);
  let le: boolean;
  let nano = false;
  if (magicLE === 0xa1b2c3d4) le = true;
  else if (magicLE === 0xa1b23c4d) [le, nano] = [true, true];
  else if (buf.readUInt32BE(0) === 0xa1b2c3d4) le = false;
  else if (buf.readUInt32BE(0) === 0xa1b23c4d) [le, nano] = [false, true];
  else throw new Error('pcap: not a pcap file');
  const u32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linktype = u32(20) & 0xffff;
  const out: PcapPacket[] = [];
  for (let o = 24; o + 16 <= buf.length;) {
    const sec = u32(o);
    const frac = u32(o + 4);
    const incl = u32(o + 8);
    const start = o + 16;
    o = start + incl;
    if (o > buf.length) break; // a file cut by a crash: keep what is whole
    let p = buf.subarray(start, start + incl);
    if (linktype === 1) p = p.subarray(14);
    else if (linktype === 113) p = p.subarray(16);
    else if (linktype !== 101 && linktype !== 228 && linktype !== 229) continue;
    const udp = udpOf(p);
    if (udp) out.push({ at: sec * 1000 + (nano ? frac / 1e6 : frac / 1e3), ...udp });
  }
  return out;
}

function udpOf(p: Buffer): { srcPort: number; dstPort: number; payload: Buffer } | null {
  if (p.length < 1) return null;
  const v = p[0]! >> 4;
  let off: number;
  if (v === 4) {
    if (p.length < 20 || p[9] !== 17) return null;
    off = (p[0]! & 0x0f) * 4;
  } else if (v === 6) {
    if (p.length < 40 || p[6] !== 17) return null;
    off = 40;
  } else return null;
  if (p.length < off + 8) return null;
  const len = p.readUInt16BE(off + 4);
  return {
    srcPort: p.readUInt16BE(off),
    dstPort: p.readUInt16BE(off + 2),
    payload: p.subarray(off + 8, Math.min(p.length, off + len)),
  };
}

export interface RtpPacket {
  pt: number;
  seq: number;
  ts: number;
  ssrc: number;
  payload: Buffer;
}

/** An RTP packet (version 2; RTCP on a muxed port is not one), or null. */
export function parseRtp(b: Buffer): RtpPacket | null {
  if (b.length < 12 || b[0]! >> 6 !== 2) return null;
  const pt = b[1]! & 0x7f;
  if (pt >= 72 && pt <= 76) return null; // RTCP (rtcp-mux)
  const cc = b[0]! & 0x0f;
  let off = 12 + cc * 4;
  if (b[0]! & 0x10) {
    if (b.length < off + 4) return null;
    off += 4 + b.readUInt16BE(off + 2) * 4;
  }
  let end = b.length;
  if (b[0]! & 0x20) end -= b[b.length - 1]!;
  if (off > end) return null;
  return {
    pt,
    seq: b.readUInt16BE(2),
    ts: b.readUInt32BE(4),
    ssrc: b.readUInt32BE(8),
    payload: b.subarray(off, end),
  };
}

const ULAW = new Int16Array(256);
const ALAW = new Int16Array(256);
for (let i = 0; i < 256; i++) {
  const u = ~i & 0xff;
  const t = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  ULAW[i] = u & 0x80 ? 0x84 - t : t - 0x84;
  const a = i ^ 0x55;
  let s = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) s += 8;
  else if (seg === 1) s += 0x108;
  else s = (s + 0x108) << (seg - 1);
  ALAW[i] = a & 0x80 ? s : -s;
}

/** What the SDPs say about one call: the codec of each payload type, where each party sends. */
export interface CallSdp {
  /** payload type -> codec name in lower case (static 0 pcmu, 8 pcma unless remapped) */
  codecs: Map<number, string>;
  /** rtpengine's port a party sends to -> its channel */
  channelOfPort: Map<number, number>;
}

/**
 * rtpengine's metadata file of a recorded span: one block per SDP it sent, in the order
 * sent ("Label: <party>" before a block names the party whose SDP it rewrote, then "SDP
 * mode: offer|answer"). The block's m= port is rtpengine's port towards the other party:
 * that party's media arrives there. `parties` names each channel (RECORDING_CHANNELS:
 * agent, customer; a call from the phone network: customer, agent); Kamailio labels both
 * sides (label=agent, label=customer), so a re-INVITE from either side (the agent's hold on
 * a phone call offers towards the carrier) keeps each party on its channel. Without labels:
 * an offer goes to the callee (channel 1's media arrives on its port), an answer to the
 * caller (channel 0's), and a port keeps the channel it was first given.
 */
export function parseMetadata(
  text: string,
  into: CallSdp,
  parties: readonly string[] = ['caller', 'callee'],
): CallSdp {
  let label: string | null = null;
  for (const b of text.split(/\n(?=SDP mode: )/)) {
    const mode = /^SDP mode: (offer|answer)/.exec(b)?.[1];
    // The party of the next block is labelled after this block's SDP.
    const next = [...b.matchAll(/^Label: (.+)$/gm)].at(-1)?.[1]?.trim() ?? null;
    const from = label;
    label = next;
    if (!mode) continue;
    const port = Number(/^m=audio (\d+)/m.exec(b)?.[1] ?? NaN);
    if (Number.isInteger(port)) {
      const other = from !== null && parties.includes(from) ? parties.findIndex((p) => p !== from) : -1;
      if (other >= 0) into.channelOfPort.set(port, other);
      else if (!into.channelOfPort.has(port)) into.channelOfPort.set(port, mode === 'answer' ? 0 : 1);
    }
    for (const m of b.matchAll(/^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/gm))
      into.codecs.set(Number(m[1]), m[2]!.toLowerCase());
  }
  return into;
}

export const RATE = 8000;

export interface SpanAudio {
  startedAt: number;
  endedAt: number;
  /** samples per channel */
  channels: [Int16Array, Int16Array];
}

/**
 * One recorded span (one pcap) as two channels of 8 kHz samples: each party's packets
 * placed by their RTP timestamps from the instant its stream's first packet arrived.
 */
export function decodeSpan(packets: PcapPacket[], sdp: CallSdp): SpanAudio | { error: string } | null {
  const rtp = packets
    .map((p) => ({ p, r: parseRtp(p.payload) }))
    .filter((x): x is { p: PcapPacket; r: RtpPacket } => x.r !== null);
  if (rtp.length === 0) return null;
  const startedAt = Math.min(...rtp.map((x) => x.p.at));
  const endedAt = Math.max(...rtp.map((x) => x.p.at)) + 20;
  const length = Math.ceil(((endedAt - startedAt) * RATE) / 1000);
  const channels: [Int16Array, Int16Array] = [new Int16Array(length), new Int16Array(length)];
  const channelOfSsrc = new Map<number, number>();
  const firstOf = new Map<number, { at: number; ts: number }>();
  const undecodable = new Set<string>();
  let decoded = 0;
  for (const { p, r } of rtp) {
    const codec = sdp.codecs.get(r.pt) ?? (r.pt === 0 ? 'pcmu' : r.pt === 8 ? 'pcma' : `pt ${r.pt}`);
    if (codec === 'telephone-event' || codec === 'cn') continue;
    if (codec !== 'pcmu' && codec !== 'pcma') {
      undecodable.add(codec);
      continue;
    }
    const ch = sdp.channelOfPort.get(p.dstPort) ?? channelOfSsrc.get(r.ssrc);
    if (ch === undefined) continue;
    channelOfSsrc.set(r.ssrc, ch);
    let first = firstOf.get(r.ssrc);
    if (!first) firstOf.set(r.ssrc, (first = { at: p.at, ts: r.ts }));
    const base = Math.round(((first.at - startedAt) * RATE) / 1000);
    const pos = base + ((r.ts - first.ts) | 0);
    const table = codec === 'pcmu' ? ULAW : ALAW;
    const out = channels[ch as 0 | 1];
    for (let i = 0; i < r.payload.length; i++) {
      const at = pos + i;
      if (at >= 0 && at < length) out[at] = table[r.payload[i]!]!;
    }
    decoded++;
  }
  if (decoded === 0 && undecodable.size > 0)
    return {
      error: `the call's codec (${[...undecodable].join(', ')}) cannot be decoded: only PCMU/PCMA are (no Opus decoder is installed)`,
    };
  return { startedAt, endedAt, channels };
}

/** A 16-bit PCM WAV of interleaved channels. */
export function wavOf(channels: Int16Array[], rate = RATE): Buffer {
  const n = channels[0]?.length ?? 0;
  const ch = channels.length;
  const data = Buffer.alloc(n * ch * 2);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < ch; c++) data.writeInt16LE(channels[c]![i]!, (i * ch + c) * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(ch, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * ch * 2, 28);
  h.writeUInt16LE(ch * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Reads a 16-bit PCM WAV written by wavOf: its rate and channels. */
export function readWav(buf: Buffer): { rate: number; channels: Int16Array[] } {
  if (buf.toString('latin1', 0, 4) !== 'RIFF' || buf.toString('latin1', 8, 12) !== 'WAVE')
    throw new Error('not a WAV file');
  const ch = buf.readUInt16LE(22);
  const rate = buf.readUInt32LE(24);
  const len = buf.readUInt32LE(40);
  const n = len / (2 * ch);
  const channels = Array.from({ length: ch }, () => new Int16Array(n));
  for (let i = 0; i < n; i++)
    for (let c = 0; c < ch; c++) channels[c]![i] = buf.readInt16LE(44 + (i * ch + c) * 2);
  return { rate, channels };
}
