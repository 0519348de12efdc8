/** A note of a generated sound: a sine at `hz` for `ms` (0 Hz: silence). */
export interface Note {
  hz: number;
  ms: number;
}

/**
 * Notes as a 16-bit mono PCM WAV, each faded in and out over 10 ms so it does not
 * click; generated in the page, no audio file to ship (the CSP allows blob: media).
 */
export function toneWav(notes: readonly Note[], sampleRate = 16000, gain = 0.35): Uint8Array {
  const counts = notes.map((n) => Math.round((sampleRate * n.ms) / 1000));
  const total = counts.reduce((a, b) => a + b, 0);
  const bytes = new Uint8Array(44 + total * 2);
  const v = new DataView(bytes.buffer);
  const ascii = (at: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(at + i, s.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + total * 2, true);
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
  v.setUint32(40, total * 2, true);
  let at = 44;
  notes.forEach((note, k) => {
    const n = counts[k]!;
    const dur = n / sampleRate;
    for (let i = 0; i < n; i++) {
      const t = i / sampleRate;
      const fade = Math.min(1, t / 0.01, (dur - t) / 0.01);
      const s = note.hz > 0 ? gain * fade * Math.sin(2 * Math.PI * note.hz * t) : 0;
      v.setInt16(at, Math.round(s * 32767), true);
      at += 2;
    }
  });
  return bytes;
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
