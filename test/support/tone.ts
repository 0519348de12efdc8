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
