import type { Session } from 'sip.js';
import { sampleQuality, type CallQuality, type StatsCursor, type StatsEntry } from './quality.ts';
import type { SoftphoneDevices } from './softphone.ts';

/** What the softphone needs of an <audio> element (remote voice, ring tone). */
export interface AudioSink {
  srcObject: MediaProvider | null;
  src: string;
  loop: boolean;
  autoplay: boolean;
  play(): Promise<void>;
  pause(): void;
  setSinkId?(id: string): Promise<void>;
}

/** The parts of the web platform's session description handler the softphone drives. */
export interface MediaSession {
  peerConnection: RTCPeerConnection | undefined;
  remoteMediaStream: MediaStream;
  sendDtmf(tones: string, options?: { duration: number; interToneGap: number }): boolean;
}

/** The microphone constraints of every call: echo cancellation and noise suppression on. */
export function microphoneConstraints(deviceId: string | null): MediaStreamConstraints {
  return {
    audio: {
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    },
    video: false,
  };
}

/** The web platform's SDH exposes exactly what MediaSession needs. */
function webMedia(session: Session): MediaSession | null {
  const sdh = session.sessionDescriptionHandler as unknown as Partial<MediaSession> | undefined;
  if (!sdh || typeof sdh.sendDtmf !== 'function' || !sdh.remoteMediaStream) return null;
  return sdh as MediaSession;
}

export interface SoftphoneMediaOptions {
  /** Where the other party's voice plays (speaker device). */
  remoteAudio: AudioSink;
  /** Where the ring of an incoming call plays (ringing device); its source is set here. */
  ringer: AudioSink;
  /** The ring tone (a URL the CSP allows: blob: or self). */
  ringTone?: () => string;
  /** Microphone access (navigator.mediaDevices). */
  media: Pick<MediaDevices, 'getUserMedia'> | null;
  /** Reads the media side of a session (tests substitute theirs). */
  mediaOf?: (session: Session) => MediaSession | null;
  /** How often call quality is sampled, ms (default 1000). */
  statsIntervalMs?: number;
}

/** Whether what the agent says and hears flows: muted stops sending, held stops both. */
export interface TrackState {
  muted: boolean;
  held: boolean;
}

/**
 * The softphone's media side: the speaker and ringer elements and their output
 * devices, the microphone (constraints, a swap mid-call), mute/hold on the tracks,
 * and call quality sampled from the peer connection's stats.
 */
export class SoftphoneMedia {
  private devices: SoftphoneDevices = { microphoneId: null, speakerId: null, ringerId: null };
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private statsCursor: StatsCursor | null = null;

  constructor(private readonly opts: SoftphoneMediaOptions) {}

  /** The microphone constraints for the chosen device (every INVITE, answer and re-INVITE). */
  constraints(): MediaStreamConstraints {
    return microphoneConstraints(this.devices.microphoneId);
  }

  of(session: Session): MediaSession | null {
    return (this.opts.mediaOf ?? webMedia)(session);
  }

  /** Play this session's remote audio in the speaker. */
  attachRemote(session: Session): void {
    const media = this.of(session);
    if (!media) return;
    const audio = this.opts.remoteAudio;
    audio.autoplay = true;
    audio.srcObject = media.remoteMediaStream;
    audio.play().catch(() => undefined);
  }

  detachRemote(): void {
    this.opts.remoteAudio.srcObject = null;
  }

  enableTracks(session: Session, state: TrackState): void {
    const pc = this.of(session)?.peerConnection;
    if (!pc) return;
    for (const sender of pc.getSenders())
      if (sender.track) sender.track.enabled = !state.muted && !state.held;
    for (const receiver of pc.getReceivers()) receiver.track.enabled = !state.held;
  }

  /** New output devices at once; a new microphone during a call swaps the sending track (no renegotiation). */
  async setDevices(
    devices: SoftphoneDevices,
    live: { session: Session; state: TrackState } | null,
  ): Promise<void> {
    const before = this.devices;
    this.devices = { ...devices };
    const sink = async (el: AudioSink, id: string | null) => {
      if (el.setSinkId) await el.setSinkId(id ?? '').catch(() => undefined);
    };
    await sink(this.opts.remoteAudio, devices.speakerId);
    await sink(this.opts.ringer, devices.ringerId);
    const pc = live ? this.of(live.session)?.peerConnection : undefined;
    if (!pc || !live || !this.opts.media || before.microphoneId === devices.microphoneId) return;
    const stream = await this.opts.media.getUserMedia(this.constraints());
    const track = stream.getAudioTracks()[0];
    const sender = pc.getSenders().find((s) => s.track?.kind === 'audio');
    if (!track || !sender) return;
    const old = sender.track;
    track.enabled = !live.state.muted && !live.state.held;
    await sender.replaceTrack(track);
    old?.stop();
  }

  startRinging(): void {
    const r = this.opts.ringer;
    if (!this.opts.ringTone) return;
    r.src = this.opts.ringTone();
    r.loop = true;
    r.play().catch(() => undefined);
  }

  stopRinging(): void {
    this.opts.ringer.pause();
  }

  /** Sample the quality of `current()`'s call every interval until stopStats(). */
  startStats(
    current: () => Session | null,
    onQuality: (quality: CallQuality, session: Session) => void,
  ): void {
    this.stopStats();
    this.statsCursor = null;
    this.statsTimer = setInterval(
      () => void this.sampleStats(current(), onQuality),
      this.opts.statsIntervalMs ?? 1000,
    );
  }

  stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private async sampleStats(
    session: Session | null,
    onQuality: (quality: CallQuality, session: Session) => void,
  ): Promise<void> {
    const pc = session ? this.of(session)?.peerConnection : undefined;
    if (!session || !pc) return;
    try {
      const report = await pc.getStats();
      const entries: StatsEntry[] = [];
      report.forEach((e: StatsEntry) => entries.push(e));
      const { quality, cursor } = sampleQuality(entries, this.statsCursor);
      this.statsCursor = cursor;
      onQuality(quality, session);
    } catch {
      // A closed peer connection between samples: the next state change stops the timer.
    }
  }
}
