/** A note of a generated sound: a sine at `hz` for `ms` (0 Hz: silence). */
export interface Note {
  hz: number;
  ms: number;
}

/** `n` samples in -1..1 (`sample(i)`) as a 16-bit mono PCM WAV. */
export function pcmWav(n: number, sampleRate: number, sample: (i: number) => number): Uint8Array {
  const bytes = new Uint8Array(44 + n * 2);
  const v = new DataView(bytes.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) v.setInt16(44 + i * 2, Math.round(sample(i) * 32767), true);
  return bytes;
}

/**
 * Notes as a 16-bit mono PCM WAV, each faded in and out over 10 ms so it does not
 * click; generated in the page, no audio file to ship (the CSP allows blob: media).
 */
export function toneWav(notes: readonly Note[], sampleRate = 16000, gain = 0.35): Uint8Array {
  const counts = notes.map((n) => Math.round((sampleRate * n.ms) / 1000));
  // Which note each sample belongs to, and where that note starts.
  const starts = counts.map((_, k) => counts.slice(0, k).reduce((a, b) => a + b, 0));
  const total = counts.reduce((a, b) => a + b, 0);
  let k = 0;
  return pcmWav(total, sampleRate, (i) => {
    while (i >= starts[k]! + counts[k]!) k++;
    const note = notes[k]!;
    const t = (i - starts[k]!) / sampleRate;
    const dur = counts[k]! / sampleRate;
    const fade = Math.min(1, t / 0.01, (dur - t) / 0.01);
    return note.hz > 0 ? gain * fade * Math.sin(2 * Math.PI * note.hz * t) : 0;
  });
}

/** The offer sound: two short rising notes (E6, A6), distinct from the ring of a call. */
export const OFFER_TONE: readonly Note[] = [
  { hz: 1319, ms: 120 },
  { hz: 0, ms: 40 },
  { hz: 1760, ms: 180 },
];

/** The speaker test: one second of 440 Hz (A4). */
export const TEST_TONE: readonly Note[] = [{ hz: 440, ms: 1000 }];

const urls = new Map<readonly Note[], string>();

/** A blob: URL of these notes' WAV, made once per page. */
export function toneUrl(notes: readonly Note[]): string {
  let url = urls.get(notes);
  if (!url) {
    url = URL.createObjectURL(new Blob([toneWav(notes) as BlobPart], { type: 'audio/wav' }));
    urls.set(notes, url);
  }
  return url;
}
