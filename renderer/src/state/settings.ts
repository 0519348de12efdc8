import type { BridgeArgs, ConsoleSettings } from '../../../protocol/src/bridge.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { sentence } from './agent.ts';
import { Store } from './store.ts';

export interface AudioDevice {
  deviceId: string;
  label: string;
}

export interface SettingsState {
  settings: ConsoleSettings | null;
  microphones: AudioDevice[];
  speakers: AudioDevice[];
  /** False until the browser allowed microphone access: device names stay hidden before. */
  deviceNames: boolean;
  saving: boolean;
  saved: boolean;
  error: string | null;
  deviceError: string | null;
}

/** What the settings screen needs of the browser's media devices (absent outside a secure context). */
export type MediaDevicesLike = Pick<MediaDevices, 'enumerateDevices' | 'getUserMedia'>;

/** Console settings (main's store, IT's managed values read-only) and the audio devices to pick from. */
export class SettingsStore extends Store<SettingsState> {
  constructor(
    private readonly bridge: ConsoleBridge,
    private readonly media: MediaDevicesLike | null,
  ) {
    super({
      settings: null,
      microphones: [],
      speakers: [],
      deviceNames: false,
      saving: false,
      saved: false,
      error: null,
      deviceError: null,
    });
  }

  protected override onObserved(): void {
    void this.load();
  }

  async load(): Promise<void> {
    try {
      this.patch({ settings: await this.bridge.invoke('settings.get', {}), error: null, saved: false });
    } catch (e) {
      this.patch({ error: errorText(e) });
    }
    await this.enumerate();
  }

  async enumerate(): Promise<void> {
    if (!this.media) {
      this.patch({ deviceError: 'This browser does not list audio devices here.' });
      return;
    }
    try {
      const all = await this.media.enumerateDevices();
      const named = (kind: MediaDeviceKind, fallback: string) =>
        all
          .filter((d) => d.kind === kind && d.deviceId !== '')
          .map((d, i) => ({ deviceId: d.deviceId, label: d.label || `${fallback} ${i + 1}` }));
      this.patch({
        microphones: named('audioinput', 'Microphone'),
        speakers: named('audiooutput', 'Speaker'),
        deviceNames: all.some((d) => d.label !== ''),
        deviceError: null,
      });
    } catch (e) {
      this.patch({ deviceError: errorText(e) });
    }
  }

  /** Ask for the microphone once so the browser reveals device names, then let go of it. */
  async revealDeviceNames(): Promise<void> {
    if (!this.media) return;
    try {
      const stream = await this.media.getUserMedia({ audio: true });
      for (const t of stream.getTracks()) t.stop();
      await this.enumerate();
    } catch (e) {
      this.patch({ deviceError: `Microphone access was refused: ${errorText(e)}` });
    }
  }

  async save(patch: BridgeArgs<'settings.set'>): Promise<boolean> {
    this.patch({ saving: true, saved: false, error: null });
    try {
      this.patch({ settings: await this.bridge.invoke('settings.set', patch), saving: false, saved: true });
      return true;
    } catch (e) {
      this.patch({ saving: false, error: sentence(errorText(e)) });
      return false;
    }
  }
}
