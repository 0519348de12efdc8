import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { DtmfMethod, Softphone } from '../softphone/softphone.ts';
import { Store } from './store.ts';
import type { WorkStore } from './work.ts';

/**
 * Whether the voice on the current call comes from the verified device: the device's
 * proof from its 200 OK, checked by the authority. 'failed' is shown in red (and the
 * authority audited it).
 */
export type VoiceProof =
  | { requestId: string; status: 'checking' }
  | { requestId: string; status: 'verified'; at: string }
  | { requestId: string; status: 'failed'; reason: string };

/** The recording of the current customer call (null: not recorded, or no call). */
export interface CallRecording {
  requestId: string;
  state: 'recording' | 'paused';
}

export interface CallControlsState {
  busy: 'calling' | 'hanging_up' | 'holding' | 'answering' | 'dialing' | 'recording' | null;
  /** The last refused action, in words (e.g. "Hold refused by the other side (488 …)"). */
  message: string | null;
  /** A tel: or sip: link handed to the console (click-to-dial) that it could not place. */
  dial: string | null;
  voice: VoiceProof | null;
  recording?: CallRecording | null;
}

/**
 * Call controls for the active request: they get the call ticket from the authority,
 * drive the Softphone, and report the device's answer (its proof) back to the
 * authority. The shortcuts and the buttons both land here.
 */
export class CallControlsStore extends Store<CallControlsState> {
  constructor(
    private readonly bridge: ConsoleBridge,
    readonly softphone: Softphone,
    private readonly work: WorkStore,
  ) {
    super({ busy: null, message: null, dial: null, voice: null, recording: null });
    softphone.subscribe(() => {
      const line = softphone.getSnapshot().line;
      if (this.state.recording && line !== 'connected' && line !== 'held') this.patch({ recording: null });
    });
    bridge.on('dial', ({ uri }) => void this.clickToDial(uri));
    bridge.on('call.verified', (v) => {
      const voice = this.state.voice;
      if (voice?.requestId === v.requestId && voice.status !== 'verified')
        this.patch({ voice: { requestId: v.requestId, status: 'verified', at: v.at } });
    });
    work.subscribe(() => {
      const s = work.getState();
      if (s.phase !== 'active' && this.state.message) this.patch({ message: null });
      // Kept while the agent looks at another chat; gone with the request.
      if (this.state.voice && !work.holds(this.state.voice.requestId)) this.patch({ voice: null });
    });
  }

  dismissDial(): void {
    this.patch({ dial: null });
  }

  private async run(busy: CallControlsState['busy'], action: () => Promise<void>): Promise<void> {
    this.patch({ busy, message: null });
    try {
      await action();
      this.patch({ busy: null });
    } catch (e) {
      this.patch({ busy: null, message: errorText(e) });
    }
  }

  /** Call the active request's device with a fresh ticket; check its proof when it answers. */
  callCustomer(): Promise<void> {
    const s = this.work.getState();
    if (s.phase !== 'active') return Promise.resolve();
    const { requestId, fence } = s.request;
    return this.run('calling', async () => {
      if (!this.softphone.getSnapshot().present) throw new Error('No softphone connected');
      const ticket = await this.bridge.invoke('call.ticket', { requestId, fence });
      const answer = await this.softphone.call({
        requestId,
        ticket,
        peer: `${s.request.customerName}’s device`,
      });
      this.patch({ voice: { requestId, status: 'checking' } });
      try {
        const r = await this.bridge.invoke('call.answered', {
          requestId,
          fence,
          ticket: ticket.ticket,
          proof: answer.proof,
          ...(answer.callId ? { callId: answer.callId } : {}),
        });
        this.patch({
          voice: r.verified
            ? { requestId, status: 'verified', at: r.at }
            : { requestId, status: 'failed', reason: r.reason },
        });
        if (answer.recorded) {
          const rec = await this.bridge.invoke('recording.state', { requestId });
          this.patch({ recording: rec.state === 'none' ? null : { requestId, state: rec.state } });
        }
      } catch (e) {
        this.patch({ voice: { requestId, status: 'failed', reason: errorText(e) } });
      }
    });
  }

  /**
   * A caller from the phone network: the SIP server holding their call puts it through to
   * this console, which answers it (only that call: its INVITE names the request).
   */
  connectCaller(): Promise<void> {
    const s = this.work.getState();
    if (s.phase !== 'active' || !s.request.phone) return Promise.resolve();
    const { requestId, fence } = s.request;
    const peer = s.request.phone.caller ?? s.request.customerName;
    return this.run('calling', async () => {
      const phone = this.softphone;
      if (!phone.getSnapshot().present || !phone.expectCall) throw new Error('No softphone connected');
      const arriving = phone.expectCall(requestId, peer);
      try {
        await this.bridge.invoke('call.connectPhone', { requestId, fence });
      } catch (e) {
        arriving.catch(() => undefined);
        throw e;
      }
      await arriving;
      // The media server may record it (rtpengine anchors every phone call): pause/resume as for any call.
      const rec = await this.bridge.invoke('recording.state', { requestId });
      this.patch({ recording: rec.state === 'none' ? null : { requestId, state: rec.state } });
    });
  }

  /**
   * A callback to the customer's phone number: the authority's phone call ticket lets this
   * console's INVITE out through the SIP server's trunk to that number.
   */
  callBack(): Promise<void> {
    const s = this.work.getState();
    if (s.phase !== 'active' || !s.request.phoneCallback) return Promise.resolve();
    const { requestId, fence } = s.request;
    return this.run('calling', async () => {
      const phone = this.softphone;
      if (!phone.getSnapshot().present || !phone.dialNumber) throw new Error('No softphone connected');
      const t = await this.bridge.invoke('call.dialPhone', { requestId, fence });
      await phone.dialNumber({ requestId, target: t.target, ticket: t.ticket, peer: t.number });
      // Recorded by the media server like every anchored call: pause/resume as for any call.
      const rec = await this.bridge.invoke('recording.state', { requestId });
      this.patch({ recording: rec.state === 'none' ? null : { requestId, state: rec.state } });
    });
  }

  /** Pause the recording of the current customer call, or resume it (the holder only; audited). */
  toggleRecording(): Promise<void> {
    const rec = this.state.recording;
    const s = this.work.getState();
    if (!rec || s.phase !== 'active' || s.request.requestId !== rec.requestId) return Promise.resolve();
    const { requestId, fence } = s.request;
    return this.run('recording', async () => {
      const r = await this.bridge.invoke(rec.state === 'recording' ? 'recording.pause' : 'recording.resume', {
        requestId,
        fence,
      });
      this.patch({ recording: r.state === 'none' ? null : { requestId, state: r.state } });
    });
  }

  /** A sip: link (or a colleague's SIP user) from click-to-dial or a consult. */
  clickToDial(uri: string): Promise<void> {
    const phone = this.softphone.getSnapshot();
    if (!phone.present || phone.line !== 'ready' || !/^sips?:/i.test(uri)) {
      // Not placeable now (no softphone, busy, or a tel: number with no PSTN gateway): keep it on screen.
      this.patch({ dial: uri });
      return Promise.resolve();
    }
    return this.run('dialing', () => this.softphone.dial(uri));
  }

  answer(): Promise<void> {
    if (this.softphone.getSnapshot().line !== 'incoming') return Promise.resolve();
    return this.run('answering', () => this.softphone.answer());
  }

  private get inCall(): boolean {
    const line = this.softphone.getSnapshot().line;
    return line === 'calling' || line === 'incoming' || line === 'connected' || line === 'held';
  }

  hangUp(): Promise<void> {
    if (!this.inCall) return Promise.resolve();
    return this.run('hanging_up', () => this.softphone.hangUp());
  }

  toggleHold(): Promise<void> {
    const line = this.softphone.getSnapshot().line;
    if (line !== 'connected' && line !== 'held') return Promise.resolve();
    return this.run('holding', () => this.softphone.hold(line !== 'held'));
  }

  toggleMute(): void {
    const line = this.softphone.getSnapshot().line;
    if (line !== 'connected' && line !== 'held') return;
    try {
      this.softphone.mute(!this.softphone.getSnapshot().muted);
      this.patch({ message: null });
    } catch (e) {
      this.patch({ message: errorText(e) });
    }
  }

  async sendDtmf(digits: string, method: DtmfMethod): Promise<void> {
    try {
      await this.softphone.sendDtmf(digits, method);
      this.patch({ message: null });
    } catch (e) {
      this.patch({ message: errorText(e) });
    }
  }
}
