import type { CallTicket } from '../../../protocol/src/calls.ts';
import type { CallQuality } from './quality.ts';

/**
 * The console's phone, as the rest of the UI sees it. SipJsSoftphone implements it
 * with sip.js over WebSocket (the authority's SIP edge or Kamailio); another SIP stack
 * could replace it. Without a SIP server the console runs with NoSoftphone and says so.
 *
 * Line states (transitions enforced by `assertLineTransition`):
 *
 *   disconnected -> connecting -> ready              (registered with the SIP server)
 *   ready -> calling -> connected <-> held           (INVITE carrying the call ticket)
 *   ready -> incoming -> connected                   (a colleague's consult call, answered)
 *   held (+ a consult leg to a colleague, `consult`)  (warm transfer: the line stays 'held')
 *   calling | incoming -> ready                      (refused, cancelled, declined)
 *   calling | incoming | connected | held -> ending -> ready   (hang-up, either side)
 *   ready | ending -> connecting                     (the WebSocket dropped: reconnect, re-register)
 *   connecting | calling -> failed -> connecting     (retry) ; any -> disconnected
 *
 * A live call keeps its line state while the signalling link reconnects underneath
 * (`registration` says 'reconnecting'); the media keeps flowing and an ICE-restart
 * re-INVITE follows the reconnection.
 */
export type LineState =
  | 'disconnected'
  | 'connecting'
  | 'ready'
  | 'calling'
  | 'incoming'
  | 'connected'
  | 'held'
  | 'ending'
  | 'failed';

export const LINE_TRANSITIONS: Readonly<Record<LineState, readonly LineState[]>> = {
  disconnected: ['connecting'],
  connecting: ['ready', 'failed', 'disconnected'],
  ready: ['calling', 'incoming', 'connecting', 'disconnected'],
  calling: ['connected', 'ready', 'ending', 'failed', 'disconnected'],
  incoming: ['connected', 'ready', 'ending', 'disconnected'],
  connected: ['held', 'ending', 'disconnected'],
  held: ['connected', 'ending', 'disconnected'],
  ending: ['ready', 'connecting', 'disconnected'],
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

export type Registration = 'unregistered' | 'registering' | 'registered' | 'reconnecting';

/** Why the console ends a call, when the far end may show it (the BYE's Reason header). */
export type HangUpReason = 'transferred' | 'no-media-path';

/** What the softphone shows: immutable, replaced on each change (useSyncExternalStore). */
export interface SoftphoneSnapshot {
  line: LineState;
  /** False when no softphone is wired in at all (the UI says so instead of pretending). */
  present: boolean;
  /** The signalling link to the SIP server. */
  registration: Registration;
  muted: boolean;
  /** The request the current call belongs to (null for a call to or from a colleague). */
  requestId: string | null;
  /** Who is on the other end, in words ("Alice Martin's device", "Dana Reyes"). */
  peer: string | null;
  /** Why the line is down or failed, or why the softphone ended the last call (no media path), in words for the agent. */
  reason: string | null;
  /** Call quality, sampled every second while connected. */
  quality: CallQuality | null;
  /** DTMF digits sent on this call. */
  dtmf: string;
  /** A second leg to a colleague while this call is held (warm transfer consult); absent when none. */
  consult?: ConsultLeg | null;
  /**
   * The call's media passes the operator's media server (Kamailio with rtpengine marks
   * such calls "X-VD-Media: anchored"); false or absent: peer to peer (maybe via TURN).
   */
  anchored?: boolean;
  /** When the call connected (ms since the epoch; kept through hold), null when no call is up. */
  connectedAt?: number | null;
  /** When the call was put on hold (ms since the epoch), null unless the line is held. */
  heldAt?: number | null;
}

/**
 * The call's times as the line moves: connecting starts the call timer, holding starts the
 * hold timer (the call timer runs on), resuming stops the hold timer, anything else clears both.
 */
export function lineTimes(
  from: Pick<SoftphoneSnapshot, 'line' | 'connectedAt' | 'heldAt'>,
  to: LineState,
  now: number,
): { connectedAt: number | null; heldAt: number | null } {
  const live = from.line === 'connected' || from.line === 'held';
  if (to === 'connected') return { connectedAt: live ? (from.connectedAt ?? now) : now, heldAt: null };
  if (to === 'held') return { connectedAt: live ? (from.connectedAt ?? now) : now, heldAt: now };
  return { connectedAt: null, heldAt: null };
}

/** The consult leg of a warm transfer: the customer's call stays held on the line meanwhile. */
export interface ConsultLeg {
  peer: string;
  state: 'calling' | 'connected';
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
  /** Shown as the peer while ringing and on the call. */
  peer?: string;
}

/** The device's answer: what it put in X-VD-Device-Proof on its 200 OK (null when nothing). */
export interface CallAnswer {
  proof: string | null;
  /** The call's SIP Call-ID (the authority keeps a recorded call with the request by it). */
  callId?: string;
  /** The SIP server says the media server records this call ("X-VD-Recording: on"). */
  recorded?: boolean;
}

export type DtmfMethod = 'rfc4733' | 'info';

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
  /** Call the customer's device for this request; resolves when it answers. */
  call(options: SoftphoneCallOptions): Promise<CallAnswer>;
  /** Call a SIP address (a colleague for a consult, a sip: link); resolves when answered. */
  dial(target: string, peer?: string): Promise<void>;
  /**
   * While the current call is held, call a colleague on a second leg (the consult of a
   * warm transfer); resolves when they answer. The held call keeps the line.
   */
  consult(target: string, peer?: string): Promise<void>;
  /** End the consult leg (either side may also hang it up); the held call stays held. */
  endConsult(): Promise<void>;
  /** Answer the incoming call. */
  answer(): Promise<void>;
  /**
   * Wait for the call the SIP server puts through for this request (a caller from the phone
   * network: its INVITE names the request in X-VD-Request) and answer it; resolves once
   * answered. Only that call is answered; the wait ends after `timeoutMs`.
   */
  expectCall?(requestId: string, peer: string, timeoutMs?: number): Promise<void>;
  /**
   * Call a phone number through the SIP server's trunk (a callback): INVITE `target` with
   * the authority's phone call ticket; resolves when the far end answers.
   */
  dialNumber?(o: { requestId: string; target: string; ticket: string; peer: string }): Promise<void>;
  /**
   * Hang up, cancel the ringing call, or decline the incoming one. 'transferred': the
   * request moved to another holder; the BYE says so (`Reason`), for the phone's wording only.
   */
  hangUp(reason?: HangUpReason): Promise<void>;
  /** Resolves once the re-INVITE is accepted; the line changes only then. */
  hold(on: boolean): Promise<void>;
  mute(on: boolean): void;
  /** Send DTMF digits (0-9 * # A-D) in-band as RFC 4733 events or as SIP INFO. */
  sendDtmf(digits: string, method?: DtmfMethod): Promise<void>;
  setDevices(devices: SoftphoneDevices): Promise<void>;
  disconnect(): Promise<void>;
  /**
   * The sender of the live call's audio (the microphone toward the other party), or null:
   * a supervisor's barge mixes their voice into it (softphone/monitor.ts).
   */
  outgoingSender?(): RTCRtpSender | null;
  /**
   * The ICE servers (TURN with its short-lived credentials) and transport policy the calls
   * use, for the page's other peer connections (supervisor monitoring); undefined: none known.
   */
  iceConfiguration?(): RTCConfiguration | undefined;
}

const NO_SOFTPHONE: SoftphoneSnapshot = {
  line: 'disconnected',
  present: false,
  registration: 'unregistered',
  muted: false,
  requestId: null,
  peer: null,
  reason: 'No softphone connected',
  quality: null,
  dtmf: '',
};

/** The stand-in when no SIP server is configured: never connected, every action refused honestly. */
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
  call(): Promise<CallAnswer> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  dial(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  consult(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  endConsult(): Promise<void> {
    return Promise.resolve();
  }
  answer(): Promise<void> {
    return Promise.reject(new SoftphoneUnavailableError());
  }
  sendDtmf(): Promise<void> {
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
