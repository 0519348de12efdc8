import { OFFER_TONE, type Note } from '../softphone/tones.ts';

/** What the console needs of an <audio> element of its own (the offer sound, the speaker test). */
export interface SoundElement {
  src: string;
  volume: number;
  currentTime: number;
  play(): Promise<void>;
  pause(): void;
  setSinkId?(id: string): Promise<void>;
}

/** The parts of WebAudio the microphone test uses. */
export interface AudioContextLike {
  createMediaStreamSource(stream: MediaStream): { connect(node: unknown): unknown; disconnect(): void };
  createAnalyser(): { fftSize: number; getFloatTimeDomainData(into: Float32Array): void };
  close(): Promise<void>;
}

/** The browser's audio, given by main.tsx (absent in tests that do not need it, and outside a secure context). */
export interface AudioEnvironment {
  element(testId: string): SoundElement;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  audioContext(): AudioContextLike;
  /** A URL of these notes as a WAV (softphone/tones.ts `toneUrl`). */
  toneUrl(notes: readonly Note[]): string;
}

/** Play `notes` once on `el`, on that output device (empty: the system default), at volume 0..1. */
async function playOn(el: SoundElement, url: string, deviceId: string | null, volume: number): Promise<void> {
  if (el.setSinkId) await el.setSinkId(deviceId ?? '');
  el.pause();
  el.src = url;
  el.volume = Math.min(1, Math.max(0, volume));
  el.currentTime = 0;
  await el.play();
}

/**
 * The short sound of an offer arriving, on its own output device and volume (Settings
 * "Offer sound"), apart from the ringer of a colleague's call. Volume 0 is off.
 */
export class OfferSound {
  private el: SoundElement | null = null;
  /** How many times it played (diagnostics and tests). */
  played = 0;

  constructor(private readonly env: AudioEnvironment | null) {}

  async play(settings: { offerSoundId: string | null; offerVolume: number }): Promise<boolean> {
    if (!this.env || settings.offerVolume <= 0) return false;
    this.el ??= this.env.element('offer-sound');
    try {
      await playOn(this.el, this.env.toneUrl(OFFER_TONE), settings.offerSoundId, settings.offerVolume / 100);
      this.played++;
      return true;
    } catch {
      // A device unplugged or autoplay refused: the offer card still shows.
      return false;
    }
  }
}

