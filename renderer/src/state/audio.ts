import { errorText } from '../bridge/types.ts';
import { microphoneConstraints } from '../softphone/media.ts';
import { OFFER_TONE, TEST_TONE, type Note } from '../softphone/tones.ts';
import { Store } from './store.ts';

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

/**
 * A microphone level from its samples: the RMS in dBFS mapped onto 0..1 (-60 dB and
 * below is 0, full scale is 1), as a level meter shows it.
 */
export function levelOf(samples: Float32Array): number {
  if (!samples.length) return 0;
  let sum = 0;
  for (const s of samples) sum += s * s;
  const rms = Math.sqrt(sum / samples.length);
  if (rms <= 0) return 0;
  const db = 20 * Math.log10(rms);
  return Math.min(1, Math.max(0, (db + 60) / 60));
}

export interface AudioTestState {
  microphone: 'off' | 'starting' | 'on';
  /** The microphone's level now, 0..1 (the meter). */
  level: number;
  /** The loudest level seen since the test started (proves the microphone hears something). */
  peak: number;
  /** The speaker test is playing. */
  playing: boolean;
  error: string | null;
}

/**
 * Settings' audio test: "Test microphone" opens the chosen input and measures its level
 * with an AnalyserNode (a meter the agent watches while speaking); "Play test sound"
 * plays a tone on the chosen speaker. Nothing is recorded or sent anywhere.
 */
export class AudioTestStore extends Store<AudioTestState> {
  private stream: MediaStream | null = null;
  private ctx: AudioContextLike | null = null;
  private analyser: ReturnType<AudioContextLike['createAnalyser']> | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private speaker: SoundElement | null = null;
  private buffer = new Float32Array(1024);

  constructor(
    private readonly env: AudioEnvironment | null,
    private readonly intervalMs = 100,
  ) {
    super({ microphone: 'off', level: 0, peak: 0, playing: false, error: null });
  }

  get available(): boolean {
    return this.env !== null;
  }

  async startMicrophone(deviceId: string | null): Promise<void> {
    if (!this.env) return this.patch({ error: 'This browser gives no audio access here.' });
    this.stopMicrophone();
    this.patch({ microphone: 'starting', level: 0, peak: 0, error: null });
    try {
      const stream = await this.env.getUserMedia(microphoneConstraints(deviceId));
      if (this.state.microphone !== 'starting') {
        for (const t of stream.getTracks()) t.stop();
        return;
      }
      const ctx = this.env.audioContext();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = this.buffer.length;
      ctx.createMediaStreamSource(stream).connect(analyser);
      this.stream = stream;
      this.ctx = ctx;
      this.analyser = analyser;
      this.timer = setInterval(() => this.sample(), this.intervalMs);
      this.patch({ microphone: 'on' });
    } catch (e) {
      this.patch({ microphone: 'off', error: `The microphone could not be opened: ${errorText(e)}` });
    }
  }

  /** Read the analyser once (every interval while the test runs). */
  sample(): void {
    if (!this.analyser) return;
    this.analyser.getFloatTimeDomainData(this.buffer);
    const level = levelOf(this.buffer);
    this.patch({ level, peak: Math.max(this.state.peak, level) });
  }

  stopMicrophone(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    void this.ctx?.close().catch(() => undefined);
    this.stream = null;
    this.ctx = null;
    this.analyser = null;
    if (this.state.microphone !== 'off' || this.state.level !== 0)
      this.patch({ microphone: 'off', level: 0 });
  }

  /** A one-second tone on this speaker (the choice on screen, saved or not). */
  async playTestSound(speakerId: string | null): Promise<void> {
    if (!this.env) return this.patch({ error: 'This browser gives no audio access here.' });
    this.speaker ??= this.env.element('test-sound');
    this.patch({ playing: true, error: null });
    try {
      await playOn(this.speaker, this.env.toneUrl(TEST_TONE), speakerId, 0.8);
      setTimeout(() => this.patch({ playing: false }), 1000);
    } catch (e) {
      this.patch({ playing: false, error: `The test sound could not play: ${errorText(e)}` });
    }
  }

  /** Settings left: the microphone is let go. */
  reset(): void {
    this.stopMicrophone();
    this.patch({ peak: 0, error: null });
  }
}
