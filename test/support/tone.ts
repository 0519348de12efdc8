/**
 * Tone analysis for recordings: the Goertzel power of a frequency in a window of samples,
 * and the strongest of a set of frequencies (the tone a channel carries).
 */
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
