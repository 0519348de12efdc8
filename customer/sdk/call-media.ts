/**
 * The customer's side of an answered call: the microphone (taken when the call is
 * answered), mute and speaker. The voice issue connects it to the sip.js session;
 * here it owns the local audio track so "Mute" really silences it.
 */
export class CallMedia {
  private muted = false;
  private speaker = false;

  private constructor(readonly microphone: MediaStream | null) {}

  /** Open the microphone; a phone that refuses still gets the call UI, with the reason. */
  static async open(): Promise<{ media: CallMedia; error: string | null }> {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
        video: false,
      });
      return { media: new CallMedia(stream), error: null };
    } catch (e) {
      return { media: new CallMedia(null), error: (e as Error).message };
    }
  }

  get isMuted(): boolean {
    return this.muted;
  }
  get isSpeaker(): boolean {
    return this.speaker;
  }

  setMuted(muted: boolean): void {
    this.muted = muted;
    for (const t of this.microphone?.getAudioTracks() ?? []) t.enabled = !muted;
  }

  /** Loudspeaker on or off (the voice issue routes the remote audio element accordingly). */
  setSpeaker(on: boolean): void {
    this.speaker = on;
  }

  /** Whether the microphone track is live and sending (not muted). */
  get sending(): boolean {
    return this.microphone?.getAudioTracks().some((t) => t.readyState === 'live' && t.enabled) ?? false;
  }

  hangUp(): void {
    for (const t of this.microphone?.getTracks() ?? []) t.stop();
  }
}
