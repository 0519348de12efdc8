import { pcmWav } from './tones.ts';

/**
 * The ring of an incoming call: the North American ring cadence (440 Hz + 480 Hz,
 * 2 s on, 4 s off) as a 16-bit mono WAV, generated once (no audio file to ship).
 */
export function ringToneWav(sampleRate = 8000): Uint8Array {
  return pcmWav(sampleRate * 6, sampleRate, (i) => {
    const t = i / sampleRate;
    const on = t < 2;
    // 20 ms fade in and out so the cadence does not click.
    const fade = on ? Math.min(1, t / 0.02, (2 - t) / 0.02) : 0;
    return on ? 0.2 * fade * (Math.sin(2 * Math.PI * 440 * t) + Math.sin(2 * Math.PI * 480 * t)) : 0;
  });
}

let url: string | null = null;

/** A blob: URL of the ring tone (the console's CSP allows blob: media). */
export function ringToneUrl(): string {
  url ??= URL.createObjectURL(new Blob([ringToneWav() as BlobPart], { type: 'audio/wav' }));
  return url;
}
