import type {
  CallAnswer,
  DtmfMethod,
  HangUpReason,
  Softphone,
  SoftphoneCallOptions,
  SoftphoneDevices,
  SoftphoneSnapshot,
} from './softphone.ts';

/** What the softphone shows before sip.js is loaded: present, not yet registered. */
const BEFORE_LOAD: SoftphoneSnapshot = {
  line: 'disconnected',
  present: true,
  registration: 'unregistered',
  muted: false,
  requestId: null,
  peer: null,
  reason: null,
  quality: null,
  dtmf: '',
};

/**
 * The softphone, with its implementation (sip.js, the largest part of the console)
 * fetched on first use — connect() after sign-in — instead of before the login shows.
 * Listeners subscribed earlier follow the real softphone once it is there.
 */
export class LazySoftphone implements Softphone {
  private inner: Softphone | null = null;
  private loading: Promise<Softphone> | null = null;
  private readonly listeners = new Map<() => void, (() => void) | null>();

  constructor(private readonly load: () => Promise<Softphone>) {}

  /** Starts fetching the implementation (idempotent); resolves with it. */
  ready(): Promise<Softphone> {
    this.loading ??= this.load().then((phone) => {
      this.inner = phone;
      for (const listener of this.listeners.keys()) {
        this.listeners.set(listener, phone.subscribe(listener));
        listener();
      }
      return phone;
    });
    return this.loading;
  }

  getSnapshot(): SoftphoneSnapshot {
    return this.inner ? this.inner.getSnapshot() : BEFORE_LOAD;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.set(listener, this.inner ? this.inner.subscribe(listener) : null);
    return () => {
      this.listeners.get(listener)?.();
      this.listeners.delete(listener);
    };
  }

  async connect(): Promise<void> {
    return (await this.ready()).connect();
  }
  async call(options: SoftphoneCallOptions): Promise<CallAnswer> {
    return (await this.ready()).call(options);
  }
  async dial(target: string, peer?: string): Promise<void> {
    return (await this.ready()).dial(target, peer);
  }
  async consult(target: string, peer?: string): Promise<void> {
    return (await this.ready()).consult(target, peer);
  }
  async endConsult(): Promise<void> {
    return (await this.ready()).endConsult();
  }
  async answer(): Promise<void> {
    return (await this.ready()).answer();
  }
  async expectCall(requestId: string, peer: string, timeoutMs?: number): Promise<void> {
    const phone = await this.ready();
    if (!phone.expectCall)
      throw new Error('This softphone cannot take calls put through from the phone line');
    return phone.expectCall(requestId, peer, timeoutMs);
  }
  async dialNumber(o: { requestId: string; target: string; ticket: string; peer: string }): Promise<void> {
    const phone = await this.ready();
    if (!phone.dialNumber) throw new Error('This softphone cannot call phone numbers');
    return phone.dialNumber(o);
  }
  async hangUp(reason?: HangUpReason): Promise<void> {
    return (await this.ready()).hangUp(reason);
  }
  async hold(on: boolean): Promise<void> {
    return (await this.ready()).hold(on);
  }
  mute(on: boolean): void {
    if (this.inner) this.inner.mute(on);
    else void this.ready().then((phone) => phone.mute(on));
  }
  async sendDtmf(digits: string, method?: DtmfMethod): Promise<void> {
    return (await this.ready()).sendDtmf(digits, method);
  }
  async setDevices(devices: SoftphoneDevices): Promise<void> {
    return (await this.ready()).setDevices(devices);
  }
  outgoingSender(): RTCRtpSender | null {
    return this.inner?.outgoingSender?.() ?? null;
  }
  iceConfiguration(): RTCConfiguration | undefined {
    return this.inner?.iceConfiguration?.();
  }
  async disconnect(): Promise<void> {
    // Nothing to disconnect before it was loaded.
    if (this.inner) return this.inner.disconnect();
  }
}
