import {
  CallMedia,
  CustomerPhone,
  type AccessDevice,
  type ScreenResult,
  type VerifiedCall,
} from '../../../sdk/index.ts';
import type { AppStore } from './app-state.ts';

/** Calls: the SIP phone, calls screened by the IncomingCallGuard (blocked ones listed), answer, mute, hang up. */
export class CallStore {
  private media: CallMedia | null = null;
  private phone: CustomerPhone | null = null;

  constructor(private readonly app: AppStore) {}

  /** Blocked calls (forged, expired, replayed tickets…) are listed, the newest as a banner. */
  attach(d: AccessDevice): void {
    d.guard.on('blocked', (b) =>
      this.app.set({ blocked: [b, ...this.app.getState().blocked].slice(0, 20), blockedBanner: b }),
    );
  }

  dismissBlocked(): void {
    this.app.set({ blockedBanner: null });
  }

  /**
   * Register the SIP phone once the device is authenticated. Its INVITEs go through
   * the same IncomingCallGuard: blocked ones are refused (403) and shown by the
   * guard's 'blocked' event; verified ones ring here.
   */
  startPhone(): void {
    if (this.phone || typeof document === 'undefined') return;
    const d = this.app.requireDevice();
    const audio = document.createElement('audio');
    audio.id = 'vd-remote-audio';
    audio.autoplay = true;
    audio.hidden = true;
    document.body.append(audio);
    const phone = new CustomerPhone({
      credentials: () => d.sipCredentials(),
      guard: d.guard,
      audio,
      continuation: d.continuation,
      // The call that ended took its microphone tracks with it: a fresh one, muted if the customer was.
      microphone: async () => {
        this.media?.hangUp();
        const { media } = await CallMedia.open();
        media.setMuted(this.app.getState().muted);
        this.media = media;
        return media.microphone;
      },
    });
    this.phone = phone;
    d.continuation.on('change', (c) => {
      const s = this.app.getState().screen;
      if (c.phase !== 'continuing') return; // pending: the call screen stays until the feed shows the move
      if ((s.name === 'in-call' && s.call.claims.rid === c.requestId) || s.name === 'continuing') {
        const from = s.name === 'in-call' ? s.call : s.from;
        this.app.go(
          { name: 'continuing', from, toAgent: c.toAgent, since: s.since },
          { onHold: false, keys: '' },
        );
      }
    });
    d.continuation.on('ended', ({ reason }) => {
      const s = this.app.getState().screen;
      if (reason === 'resumed' || reason === 'customer') return;
      if (reason === 'not-moved') {
        // An ordinary end of call: the request did not move.
        if ((s.name === 'in-call' && !this.phone?.isLive(s.call)) || s.name === 'continuing') this.endCall();
        return;
      }
      if (s.name === 'continuing') {
        this.media?.hangUp();
        this.media = null;
        this.app.go(this.app.getState().request ? { name: 'waiting' } : { name: 'home' });
      }
    });
    phone.on('continued', ({ call, from, verifiedAt }) => {
      const s = this.app.getState().screen;
      this.app.go(
        {
          name: 'in-call',
          call,
          verifiedAt,
          // The customer's conversation goes on: the time counts from the first agent's call.
          since: s.name === 'in-call' || s.name === 'continuing' ? s.since : Date.now(),
          micError: s.name === 'in-call' ? s.micError : null,
          continuedFrom: from,
        },
        // The call screen says "You are now with <agent>" itself.
        { onHold: false, keys: '', muted: this.app.getState().muted, controlNotice: null },
      );
    });
    phone.on('registration', (s) => this.app.set({ phone: s }));
    phone.on('ringing', (call) => this.app.go({ name: 'incoming', call }, { blockedBanner: null, keys: '' }));
    phone.on('hold', ({ call, held }) => this.held(call, held));
    phone.on('dtmf', ({ key }) => this.app.set({ keys: (this.app.getState().keys + key).slice(-32) }));
    phone.on('ended', ({ call, by, noMediaPath }) => {
      const s = this.app.getState().screen;
      // No path for the audio (either side saw ICE fail): the call ended, and the screen says why.
      if (noMediaPath && s.name === 'in-call' && s.call === call) return this.endCall(true);
      if (by === 'local') return;
      if (s.name === 'incoming' && s.call === call)
        this.app.go(this.app.getState().request ? { name: 'waiting' } : { name: 'home' }, {
          notice: `Missed call from ${call.company}.`,
        });
      else if (s.name === 'in-call' && s.call === call) {
        const c = d.continuation.current;
        // The request moved to another holder (or the old console says so, for wording): the
        // customer stays with it (see CallContinuation).
        if (c && (c.phase === 'continuing' || c.hint === 'transferred'))
          this.app.go(
            { name: 'continuing', from: call, toAgent: c.toAgent, since: s.since },
            { onHold: false, keys: '' },
          );
        else if (!c) this.endCall();
        // 'pending': the call screen stays a moment until the feed shows whether the request moved.
      }
    });
    phone.start().catch((e: unknown) => {
      console.warn('The phone could not register:', e);
    });
  }

  /**
   * An incoming call with the ticket from its INVITE (the sip.js delegate, or the
   * automation entry point). Only a ticket the guard accepts rings.
   */
  async incomingCall(ticket: string | null | undefined): Promise<ScreenResult> {
    const result = await this.app.requireDevice().guard.screen(ticket);
    // A verified call takes the screen; older blocked calls stay listed on the home screen.
    if (result.verdict === 'ring')
      this.app.go({ name: 'incoming', call: result.call }, { blockedBanner: null, keys: '' });
    return result;
  }

  /** The agent put the call on hold (their re-INVITE's audio is sendonly or inactive) or resumed it. */
  held(call: VerifiedCall | null, held: boolean): void {
    const s = this.app.getState().screen;
    if (s.name !== 'in-call' || (call !== null && s.call !== call)) return;
    this.app.set({ onHold: held });
  }

  answer(): Promise<void> {
    const s = this.app.getState().screen;
    if (s.name !== 'incoming') return Promise.resolve();
    return this.app.run('Connecting…', async () => {
      const { proof, result } = await this.app.requireDevice().guard.answer(s.call);
      const { media, error } = await CallMedia.open();
      this.media = media;
      // A call that came over SIP: 200 OK with the proof header and the microphone.
      if (this.phone?.isLive(s.call))
        await this.phone.answer(s.call, proof, media.microphone).catch((e: unknown) => {
          media.hangUp();
          this.media = null;
          throw e;
        });
      this.app.go(
        { name: 'in-call', call: s.call, verifiedAt: result.at, since: Date.now(), micError: error },
        { muted: false, speaker: false, onHold: false },
      );
    });
  }

  decline(): void {
    void this.phone?.hangUp();
    this.app.go(this.app.getState().request ? { name: 'waiting' } : { name: 'home' });
  }

  toggleMute(): void {
    const muted = !this.app.getState().muted;
    this.media?.setMuted(muted);
    this.app.set({ muted });
  }

  toggleSpeaker(): void {
    const speaker = !this.app.getState().speaker;
    this.media?.setSpeaker(speaker);
    this.app.set({ speaker });
  }

  hangUp(): void {
    const name = this.app.getState().screen.name;
    if (name === 'continuing') {
      // The customer ends the continuing state: the next agent's call will ring (or not come).
      this.app.device?.continuation.stop('customer');
      this.media?.hangUp();
      this.media = null;
      this.app.go(this.app.getState().request ? { name: 'waiting' } : { name: 'home' }, { onHold: false });
      return;
    }
    if (name !== 'in-call') return;
    this.app.device?.continuation.stop('customer');
    void this.phone?.hangUp();
    this.endCall();
  }

  private endCall(noMediaPath = false): void {
    const s = this.app.getState().screen;
    if (s.name !== 'in-call' && s.name !== 'continuing') return;
    this.media?.hangUp();
    this.media = null;
    const call = s.name === 'in-call' ? s.call : s.from;
    this.app.go(
      {
        name: 'call-ended',
        call,
        seconds: Math.round((Date.now() - s.since) / 1000),
        ...(noMediaPath ? { noMediaPath } : {}),
      },
      { onHold: false },
    );
  }

  /** This phone was removed: hang up and unregister (its credentials no longer work). */
  async stopPhone(): Promise<void> {
    const phone = this.phone;
    this.phone = null;
    this.media?.hangUp();
    this.media = null;
    await phone?.stop().catch(() => undefined);
    document.getElementById('vd-remote-audio')?.remove();
    this.app.set({ phone: 'unregistered', onHold: false });
  }

  afterCall(): void {
    this.app.go(this.app.getState().request ? { name: 'waiting' } : { name: 'home' });
  }
}
