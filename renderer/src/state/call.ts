import type { RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { DtmfMethod, Softphone } from '../softphone/softphone.ts';
import { Store } from './store.ts';
import type { WorkStore } from './work.ts';

/**
 * What "Call the customer as soon as I accept" may place for this request, as the call
 * button decides: a callback dials its number ('number'); a request from the app calls the
 * customer's device ('device') once it is reachable (online, or an authority that does not
 * report reachability); 'wait' while the device is offline (it may be woken); null never:
 * a caller from the phone network (already on the line: "Take the call"), a chat, or a
 * request without a device (reachability null).
 */
export function autoDialTarget(r: RequestView): 'device' | 'number' | 'wait' | null {
  if (r.phoneCallback) return r.phoneCallback.number ? 'number' : null;
  if (r.phone || r.channel === 'chat') return null;
  if (r.reachability === undefined) return 'device';
  if (r.reachability === null) return null;
  return r.reachability.online ? 'device' : 'wait';
}

export interface CallControlsOptions {
  /** The agent's "Call the customer as soon as I accept" setting. */
  autoDial?: () => boolean;
}

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
  /** The calls of the requests in hand, oldest first (their durations go into the wrap-up summary). */
  segments?: readonly CallSegment[];
  /** The DTMF keypad is shown (closed by default; closes when the call ends). */
  keypadOpen?: boolean;
}

/** One call with a customer: when it connected and ended (ms since the epoch; null while it lasts). */
export interface CallSegment {
  requestId: string;
  connectedAt: number;
  endedAt: number | null;
}

/** Calls remembered for the wrap-up summary (the oldest are forgotten first). */
const MAX_SEGMENTS = 50;

/**
 * Call controls for the active request: they get the call ticket from the authority,
 * drive the Softphone, and report the device's answer (its proof) back to the
 * authority. The shortcuts and the buttons both land here.
 */
export class CallControlsStore extends Store<CallControlsState> {
  /** Requests accepted here with auto-dial on, not called yet (waiting for the device or the line). */
  private readonly autoDialPending = new Set<string>();
  /**
   * The call to a request's device placed with a ticket, until its end is reported: while
   * the device's proof stands the authority counts it as taking the agent's whole capacity
   * (no other chat is offered), so its end (either side hanging up, or the call failing)
   * is told at once. `began`: the line has left 'ready' for this call.
   */
  private placed: { requestId: string; fence: number; ticket: string; began: boolean } | null = null;

  constructor(
    private readonly bridge: ConsoleBridge,
    readonly softphone: Softphone,
    private readonly work: WorkStore,
    private readonly options: CallControlsOptions = {},
  ) {
    super({ busy: null, message: null, dial: null, voice: null, recording: null, segments: [] });
    softphone.subscribe(() => {
      const line = softphone.getSnapshot().line;
      if (this.state.recording && line !== 'connected' && line !== 'held') this.patch({ recording: null });
      if (this.state.keypadOpen && line !== 'connected' && line !== 'held') this.patch({ keypadOpen: false });
      this.followSegments();
      this.followPlaced(line);
      this.autoDial();
    });
    work.onAccepted((r) => {
      if (this.options.autoDial?.() && autoDialTarget(r) !== null) this.autoDialPending.add(r.requestId);
      this.autoDial();
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
      this.autoDial();
    });
  }

  /** A call with a customer connected or ended: its segment opens or closes. */
  private followSegments(): void {
    const phone = this.softphone.getSnapshot();
    const segments = this.state.segments ?? [];
    const open = segments.find((x) => x.endedAt === null);
    const live = (phone.line === 'connected' || phone.line === 'held') && phone.requestId !== null;
    if (open && (!live || open.requestId !== phone.requestId)) {
      this.patch({ segments: segments.map((x) => (x === open ? { ...x, endedAt: Date.now() } : x)) });
    }
    if (live && (!open || open.requestId !== phone.requestId)) {
      const next = [
        ...(this.state.segments ?? []),
        { requestId: phone.requestId!, connectedAt: phone.connectedAt ?? Date.now(), endedAt: null },
      ];
      this.patch({ segments: next.slice(-MAX_SEGMENTS) });
    }
  }

  /** The calls with the customer of this request (connected, maybe ended). */
  segmentsOf(requestId: string): CallSegment[] {
    return (this.state.segments ?? []).filter((x) => x.requestId === requestId);
  }

  /**
   * Whether calling is the next thing to do on this request: the line is ready and no
   * call with this customer connected yet (the call button is then the primary action).
   */
  callIsNext(request: RequestView): boolean {
    const phone = this.softphone.getSnapshot();
    if (!phone.present || phone.line !== 'ready' || request.channel === 'chat') return false;
    if (request.phone?.endedAt) return false;
    return !this.segmentsOf(request.requestId).length;
  }

  /**
   * Place the call auto-dial owes, once, when its request is the one selected, the line is
   * ready and the device reachable (a woken phone coming online places it then). A call
   * placed by hand, or the request leaving, settles it.
   */
  private autoDial(): void {
    if (!this.autoDialPending.size) return;
    for (const id of this.autoDialPending) if (!this.work.holds(id)) this.autoDialPending.delete(id);
    const s = this.work.getState();
    if (s.phase !== 'active' || !this.autoDialPending.has(s.request.requestId)) return;
    const phone = this.softphone.getSnapshot();
    // A call with this customer already (placed by hand): nothing left to place.
    if (phone.requestId === s.request.requestId && phone.line !== 'ready')
      return void this.autoDialPending.delete(s.request.requestId);
    if (!phone.present || phone.line !== 'ready' || this.state.busy) return;
    const target = autoDialTarget(s.request);
    if (target === 'wait') return;
    this.autoDialPending.delete(s.request.requestId);
    if (target === 'number') void this.callBack();
    else if (target === 'device') void this.callCustomer();
  }

  /** The placed call's line: once it has begun and is no longer up, its end goes to the authority. */
  private followPlaced(line: string): void {
    const p = this.placed;
    if (!p) return;
    const up = line === 'calling' || line === 'connected' || line === 'held';
    if (up) {
      p.began = true;
      return;
    }
    if (!p.began) return;
    this.placed = null;
    // Best effort: a report that fails (link down) leaves the call counted until the request moves on.
    void this.bridge
      .invoke('call.ended', { requestId: p.requestId, fence: p.fence, ticket: p.ticket })
      .catch(() => undefined);
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
      this.placed = { requestId, fence, ticket: ticket.ticket, began: false };
      this.followPlaced(this.softphone.getSnapshot().line);
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

  /** Show or hide the DTMF keypad (only during a call). */
  toggleKeypad(): void {
    const line = this.softphone.getSnapshot().line;
    if (line !== 'connected' && line !== 'held') return;
    this.patch({ keypadOpen: !this.state.keypadOpen });
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
