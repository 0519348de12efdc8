/**
 * The ring of an incoming call: the North American ring cadence (440 Hz + 480 Hz,
 * 2 s on, 4 s off) as a 16-bit mono WAV, generated once (no audio file to ship).
 */
export function ringToneWav(sampleRate = 8000): Uint8Array {
  const seconds = 6;
  const n = sampleRate * seconds;
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
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const on = t < 2;
    // 20 ms fade in and out so the cadence does not click.
    const fade = on ? Math.min(1, t / 0.02, (2 - t) / 0.02) : 0;
    const s = on ? 0.2 * fade * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 480 * t)) : 0;
    v.setInt16(44 + i * 2, Math.round(s * 32767), true);
  }
  return bytes;
}

let url: string | null = null;

/** A blob: URL of the ring tone (the console's CSP allows blob: media). */
export function ringToneUrl(): string {
  url ??= URL.createObjectURL(new Blob([ringToneWav() as BlobPart], { type: 'audio/wav' }));
  return url;
}
