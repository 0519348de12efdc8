import type { CallTicket } from '../../../protocol/src/calls.ts';

/**
 * The console's phone, as the rest of the UI sees it. The voice issue implements it
 * with sip.js over WebSocket (the authority's SIP edge or Kamailio); until then the
 * console runs with NoSoftphone and says so.
 *
 * Line states (SIP.js-style, transitions enforced by `assertLineTransition`):
 *
 *   disconnected -> connecting -> ready            (registered with the SIP server)
 *   ready -> calling -> connected <-> held         (INVITE carrying the call ticket)
 *   calling | connected | held -> ending -> ready  (hang-up, either side)
 *   connecting | calling -> failed -> connecting   (retry)  ; any -> disconnected
 */
export type LineState =
  'disconnected' | 'connecting' | 'ready' | 'calling' | 'connected' | 'held' | 'ending' | 'failed';

export const LINE_TRANSITIONS: Readonly<Record<LineState, readonly LineState[]>> = {
  disconnected: ['connecting'],
  connecting: ['ready', 'failed', 'disconnected'],
  ready: ['calling', 'disconnected'],
  calling: ['connected', 'ending', 'failed', 'disconnected'],
  connected: ['held', 'ending', 'disconnected'],
  held: ['connected', 'ending', 'disconnected'],
  ending: ['ready', 'disconnected'],
  failed: ['connecting', 'disconnected'],
};

export class IllegalLineTransition extends Error {
  constructor(
    readonly from: LineState,
    readonly to: LineState,
  ) {
    super(`softphone: no transition from ${from} to ${to}`);
  }
}

export function assertLineTransition(from: LineState, to: LineState): void {
  if (!LINE_TRANSITIONS[from].includes(to)) throw new IllegalLineTransition(from, to);
}

/** What the softphone shows: immutable, replaced on each change (useSyncExternalStore). */
export interface SoftphoneSnapshot {
  line: LineState;
  /** False when no softphone is wired in at all (the UI says so instead of pretending). */
  present: boolean;
  muted: boolean;
  /** The request the current call belongs to. */
  requestId: string | null;
  /** Why the line is down or failed, in words for the agent. */
  reason: string | null;
}

export interface SoftphoneDevices {
  microphoneId: string | null;
  speakerId: string | null;
  /** Where the ring of an incoming call plays (often a loudspeaker rather than the headset). */
  ringerId: string | null;
}

export interface SoftphoneCallOptions {
  requestId: string;
  /** The authority-signed ticket the device checks before it rings (put on the INVITE). */
  ticket: CallTicket;
}

/** Raised for any action the current line state (or a missing softphone) does not allow. */
export class SoftphoneUnavailableError extends Error {
  constructor(message = 'No softphone connected') {
    super(message);
    this.name = 'SoftphoneUnavailableError';
  }
}

export interface Softphone {
  getSnapshot(): SoftphoneSnapshot;
  subscribe(listener: () => void): () => void;
  /** Register with the SIP server (ephemeral credentials from the authority). */
  connect(): Promise<void>;
  /** Call the customer's device for this request. */
  call(options: SoftphoneCallOptions): Promise<void>;
  hangUp(): Promise<void>;
  hold(on: boolean): Promise<void>;
  mute(on: boolean): void;
  setDevices(devices: SoftphoneDevices): Promise<void>;
  disconnect(): Promise<void>;
}

const NO_SOFTPHONE: SoftphoneSnapshot = {
  line: 'disconnected',
  present: false,
  muted: false,
  requestId: null,
  reason: 'No softphone connected',
};

/** The stand-in until the voice issue lands: never connected, every action refused honestly. */
export class NoSoftphone implements Softphone {
  getSnapshot(): SoftphoneSnapshot {
    return NO_SOFTPHONE;
  }
  subscribe(): () => void {
    return () => undefined;
  }
  connect(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  call(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  hangUp(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  hold(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  mute(): void {
    throw new SoftphoneUnavailableError();
  }
  setDevices(): Promise<void> {
    return Promise.resolve();
  }
  disconnect(): Promise<void> {
    return Promise.resolve();
  }
}
