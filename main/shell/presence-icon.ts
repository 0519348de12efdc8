import type { Presence } from '../../protocol/src/pipeline.ts';

/** What the tray says for each presence (a Record, so a new presence fails to compile until labelled). */
export const PRESENCE_LABELS: Record<Presence, string> = {
  offline: 'Offline',
  available: 'Available',
  busy: 'On a call',
  wrap_up: 'Wrap-up',
  break: 'On break',
  missed: 'Missed an offer',
};

const PRESENCE_COLORS: Record<Presence, readonly [number, number, number]> = {
  offline: [120, 128, 140],
  available: [22, 163, 74],
  busy: [220, 38, 38],
  wrap_up: [217, 119, 6],
  break: [37, 99, 235],
  missed: [234, 88, 12],
};

/**
 * The tray icon: a filled dot in the presence colour, drawn as a raw BGRA bitmap
 * (nativeImage.createFromBitmap), so there is no image file to ship or load.
 */
export function presenceBitmap(presence: Presence, size = 16): Buffer {
  const [r, g, b] = PRESENCE_COLORS[presence];
  const buf = Buffer.alloc(size * size * 4);
  const c = (size - 1) / 2;
  const radius = size / 2 - 1;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const d = Math.hypot(x - c, y - c);
      // One pixel of anti-aliasing at the edge.
      const alpha = Math.max(0, Math.min(1, radius + 0.5 - d));
      const i = (y * size + x) * 4;
      buf[i] = b;
      buf[i + 1] = g;
      buf[i + 2] = r;
      buf[i + 3] = Math.round(alpha * 255);
    }
  return buf;
}
