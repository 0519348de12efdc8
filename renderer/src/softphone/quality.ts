/**
 * Call quality from WebRTC statistics (RTCPeerConnection.getStats, once a second):
 * round-trip time, jitter, packet loss over the last interval, and a MOS estimate
 * from the ITU-T G.107 E-model. Pure functions: the softphone feeds them the raw
 * reports, tests feed them numbers.
 */

export interface CallQuality {
  /** Round-trip time in ms (RTCP, else the ICE candidate pair), null before the first measurement. */
  rttMs: number | null;
  /** Interarrival jitter of what we receive, ms. */
  jitterMs: number | null;
  /** Packets lost over the last interval, percent of expected. */
  lossPct: number | null;
  /** Mean opinion score estimate 1..4.5 (E-model), null until RTT and jitter are known. */
  mos: number | null;
  /** Warnings for the agent, e.g. "High latency (RTT 520 ms)". */
  warnings: string[];
  /** Whether the selected ICE pair goes through a TURN relay (either side); null before one is selected. */
  relayed?: boolean | null;
}

/** Thresholds from the voice issue: RTT > 400 ms, jitter > 30 ms, loss > 3 %, MOS < 3.5. */
export const QUALITY_LIMITS = { rttMs: 400, jitterMs: 30, lossPct: 3, mos: 3.5 } as const;

/** Counters carried from one sample to the next (loss is computed per interval). */
export interface StatsCursor {
  packetsReceived: number;
  packetsLost: number;
}

/**
 * R-factor from one-way delay and loss (G.107 simplified for a wideband-capable codec
 * with packet-loss concealment: Ie = 0, Bpl = 25.1 as for G.711 with PLC in G.113).
 * Delay impairment Id per Cole & Rosenbluth's fit of G.107: 0.024 d + 0.11 (d - 177.3) H(d - 177.3).
 */
export function rFactor(oneWayDelayMs: number, lossPct: number): number {
  const d = Math.max(0, oneWayDelayMs);
  const id = 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
  const ie = 0;
  const bpl = 25.1;
  const ppl = Math.min(100, Math.max(0, lossPct));
  const ieEff = ie + ((95 - ie) * ppl) / (ppl + bpl);
  return 93.2 - id - ieEff;
}

/** G.107 Annex B: MOS from R. */
export function mosFromR(r: number): number {
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  return 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
}

/**
 * MOS for a measured RTT, jitter and loss: one-way delay = RTT / 2 plus the jitter
 * buffer (2 x jitter) plus 10 ms of codec framing.
 */
export function estimateMos(rttMs: number, jitterMs: number, lossPct: number): number {
  const oneWay = rttMs / 2 + 2 * jitterMs + 10;
  return Math.round(mosFromR(rFactor(oneWay, lossPct)) * 100) / 100;
}

export function qualityWarnings(q: Omit<CallQuality, 'warnings'>): string[] {
  const w: string[] = [];
  if (q.rttMs !== null && q.rttMs > QUALITY_LIMITS.rttMs)
    w.push(`High latency (RTT ${Math.round(q.rttMs)} ms)`);
  if (q.jitterMs !== null && q.jitterMs > QUALITY_LIMITS.jitterMs)
    w.push(`High jitter (${Math.round(q.jitterMs)} ms)`);
  if (q.lossPct !== null && q.lossPct > QUALITY_LIMITS.lossPct)
    w.push(`Packet loss ${q.lossPct.toFixed(1)} %`);
  if (q.mos !== null && q.mos < QUALITY_LIMITS.mos) w.push(`Poor call quality (MOS ${q.mos.toFixed(1)})`);
  return w;
}

/** The fields of RTCStatsReport entries we read (kept structural for tests). */
export interface StatsEntry {
  type: string;
  kind?: string;
  mediaType?: string;
  roundTripTime?: number;
  currentRoundTripTime?: number;
  jitter?: number;
  packetsLost?: number;
  packetsReceived?: number;
  state?: string;
  nominated?: boolean;
  selected?: boolean;
  id?: string;
  localCandidateId?: string;
  remoteCandidateId?: string;
  candidateType?: string;
  /** on the transport entry: the pair in use */
  selectedCandidatePairId?: string;
}

/**
 * One sample: the audio inbound-rtp (jitter, received/lost counters), the remote's
 * RTCP report about what we send (roundTripTime), else the selected candidate pair's
 * currentRoundTripTime. `previous` makes loss an interval figure, not a call-long one.
 */
export function sampleQuality(
  entries: Iterable<StatsEntry>,
  previous: StatsCursor | null,
): { quality: CallQuality; cursor: StatsCursor | null } {
  let rtt: number | null = null;
  let pairRtt: number | null = null;
  let jitter: number | null = null;
  let cursor: StatsCursor | null = null;
  const all: StatsEntry[] = [...entries];
  for (const e of all) {
    const audio = (e.kind ?? e.mediaType ?? 'audio') === 'audio';
    if (e.type === 'inbound-rtp' && audio) {
      if (typeof e.jitter === 'number') jitter = e.jitter * 1000;
      cursor = { packetsReceived: e.packetsReceived ?? 0, packetsLost: Math.max(0, e.packetsLost ?? 0) };
    } else if (e.type === 'remote-inbound-rtp' && audio && typeof e.roundTripTime === 'number') {
      rtt = e.roundTripTime * 1000;
    } else if (
      e.type === 'candidate-pair' &&
      (e.nominated || e.selected) &&
      e.state === 'succeeded' &&
      typeof e.currentRoundTripTime === 'number'
    ) {
      pairRtt = e.currentRoundTripTime * 1000;
    }
  }
  rtt ??= pairRtt;
  let lossPct: number | null = null;
  if (cursor) {
    const base = previous ?? { packetsReceived: 0, packetsLost: 0 };
    const received = cursor.packetsReceived - base.packetsReceived;
    const lost = cursor.packetsLost - base.packetsLost;
    const expected = received + lost;
    lossPct = expected > 0 ? (Math.max(0, lost) / expected) * 100 : previous ? 0 : null;
  }
  const mos = rtt !== null && jitter !== null ? estimateMos(rtt, jitter, lossPct ?? 0) : null;
  const base = { rttMs: rtt, jitterMs: jitter, lossPct, mos };
  return { quality: { ...base, warnings: qualityWarnings(base), relayed: relayedPair(all) }, cursor };
}

/** Whether the pair in use (the transport's selected pair, else a nominated succeeded one) has a relay candidate. */
function relayedPair(entries: StatsEntry[]): boolean | null {
  const byId = new Map(entries.filter((e) => e.id).map((e) => [e.id!, e]));
  const selectedId = entries.find(
    (e) => e.type === 'transport' && e.selectedCandidatePairId,
  )?.selectedCandidatePairId;
  const pair =
    (selectedId ? byId.get(selectedId) : undefined) ??
    entries.find(
      (e) => e.type === 'candidate-pair' && (e.nominated || e.selected) && e.state === 'succeeded',
    );
  if (!pair) return null;
  const types = [pair.localCandidateId, pair.remoteCandidateId].map((id) =>
    id ? byId.get(id)?.candidateType : undefined,
  );
  if (types.every((t) => t === undefined)) return null;
  return types.includes('relay');
}
