import type { Invitation, SessionDescriptionHandlerFactory, Transport } from 'sip.js';
import { SessionState, type Session } from 'sip.js';
import type { Logger } from 'sip.js/lib/core/index.js';
import {
  defaultSessionDescriptionHandlerFactory,
  SessionDescriptionHandler,
} from 'sip.js/lib/platform/web/index.js';
import { parseDtmfRelay } from '../../browser-common/dtmf-relay.ts';
import {
  isNoMediaPathReason,
  NO_MEDIA_PATH_BYE_REASON,
  watchMediaPath,
} from '../../browser-common/media-path.ts';
import { SipRegistration } from '../../browser-common/sip-registration.ts';
import type { BackoffPolicy } from '../../protocol/src/backoff.ts';
import type { SipCredentials } from '../../protocol/src/index.ts';
import type { CallContinuation } from './call-continuation.ts';
import type { BlockedCall, IncomingCallGuard, VerifiedCall } from './call-guard.ts';
import { Emitter } from './emitter.ts';
import { proofHeader, screenInvitation } from './sip-adapter.ts';

/** The microphone constraints of every call: echo cancellation and noise suppression on. */
export const CALL_AUDIO_CONSTRAINTS: MediaStreamConstraints = {
  audio: { echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  video: false,
};

export type PhoneRegistration = 'unregistered' | 'registering' | 'registered' | 'failed';

export interface CustomerPhoneEvents extends Record<string, unknown> {
  registration: PhoneRegistration;
  /** A verified INVITE: it rings (180 sent). */
  ringing: VerifiedCall;
  /**
   * The new holder's call continued the one a transfer ended (CallContinuation admitted it):
   * answered without ringing, with the device's proof; 'established' follows.
   */
  continued: { call: VerifiedCall; from: string; verifiedAt: string };
  /** An INVITE refused before ringing (403 sent). */
  blocked: BlockedCall;
  /** The answered call is connected (200 OK acknowledged). */
  established: VerifiedCall;
  /** A DTMF key the agent pressed, sent as SIP INFO (application/dtmf-relay). */
  dtmf: { call: VerifiedCall; key: string };
  /** The agent put the call on hold (a re-INVITE whose audio is sendonly or inactive) or took it off hold. */
  hold: { call: VerifiedCall; held: boolean };
  /** The call (ringing or answered) ended: 'cancelled' by the caller before answer, 'remote' BYE, 'local' hang-up or decline. */
  ended: {
    call: VerifiedCall;
    by: 'cancelled' | 'remote' | 'local';
    /** The audio had no path (ICE failed here, or the agent's BYE says so): the app says why. */
    noMediaPath: boolean;
  };
}

export interface CustomerPhoneOptions {
  /** Fresh ephemeral credentials (GET /v1/sip/credentials as the device). */
  credentials: () => Promise<SipCredentials>;
  guard: IncomingCallGuard;
  /** Where the caller's voice plays (also what a test analyses). */
  audio: HTMLAudioElement;
  /** SIP server when the authority names none (credentials.wsUrl null: a separate Kamailio). */
  serverUrl?: string;
  /** ICE servers (default none: the authority and the agents are on the same network as the phone in tests). */
  iceServers?: RTCIceServer[];
  /** REGISTER expiry asked for, seconds (default 300); refreshed at 80 % of what the registrar grants. */
  registerExpires?: number;
  /** Reconnection after a dropped link: first delay ceiling and cap, ms (default 500 doubling to 30,000, full jitter). */
  reconnectBackoff?: BackoffPolicy;
  now?: () => number;
  /**
   * The continuation rule (AccessDevice.continuation): after the far end hung up because the
   * request moved, the new holder's call is answered without ringing. Without it every call rings.
   */
  continuation?: CallContinuation;
  /**
   * The microphone for a call answered without ringing (a fresh CallMedia of the app: the
   * ended call's tracks were stopped with it), or null for one the phone opens itself.
   */
  microphone?: () => Promise<MediaStream | null>;
  /** Tests: an in-memory transport instead of the WebSocket one. */
  transportConstructor?: new (logger: Logger, options: unknown) => Transport;
  /** Tests: a session description handler without WebRTC. */
  sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
}

interface LiveCall {
  call: VerifiedCall;
  invitation: Invitation;
  /** The microphone stream to send when answered (CallMedia's, so Mute acts on what is sent). */
  microphone: MediaStream | null;
  /** The agent holds the call (their last offer was sendonly or inactive). */
  held: boolean;
  /** The Reason header of the far end's BYE (wording only: "transferred", "no media path"). */
  byeReason: string | null;
  /** ICE failed on this call (browser-common/media-path.ts): the phone hung up. */
  noMediaPath?: boolean;
  unwatchMedia?: () => void;
}

/**
 * Whether an SDP offer puts the receiver on hold (RFC 3264 section 8.4): its audio is
 * sendonly or inactive (at media level, or at session level when the media line says nothing).
 */
export function isHoldOffer(sdp: string | undefined): boolean {
  if (!sdp) return false;
  const lines = sdp.split(/\r?\n/);
  const audio = lines.findIndex((l) => l.startsWith('m=audio'));
  const dir = (ls: string[]) =>
    ls
      .find((l) => /^a=(sendonly|recvonly|inactive|sendrecv)\s*$/.test(l))
      ?.slice(2)
      .trim();
  const next = audio < 0 ? -1 : lines.findIndex((l, i) => i > audio && l.startsWith('m='));
  const media = audio < 0 ? undefined : dir(lines.slice(audio + 1, next < 0 ? undefined : next));
  const firstMedia = lines.findIndex((l) => l.startsWith('m='));
  const session = dir(firstMedia < 0 ? lines : lines.slice(0, firstMedia));
  const d = media ?? session ?? 'sendrecv';
  return d === 'sendonly' || d === 'inactive';
}

/**
 * The customer's SIP phone: a sip.js UserAgent and Registerer on the authority's
 * SIP edge with ephemeral credentials. Each INVITE is screened by the
 * IncomingCallGuard before anything rings: no valid call ticket for this device and
 * session -> 403, 'blocked'; a valid one -> 180 Ringing, 'ringing'. answer() sends
 * the 200 OK with the device's proof header and WebRTC audio; hangUp() sends BYE.
 */
export class CustomerPhone extends Emitter<CustomerPhoneEvents> {
  private readonly registration: SipRegistration;
  private live: LiveCall | null = null;
  private readonly answered = new WeakSet<LiveCall>();
  private readonly endedLocally = new WeakSet<LiveCall>();
  state: PhoneRegistration = 'unregistered';
  /** The SIP user (d-<deviceId>) once started. */
  user: string | null = null;

  constructor(private readonly opts: CustomerPhoneOptions) {
    super();
    this.registration = new SipRegistration({
      credentials: opts.credentials,
      server: (creds) => {
        const server = creds.wsUrl ?? opts.serverUrl;
        if (!server) throw new Error('no SIP server: the authority names none and none is configured');
        return server;
      },
      userAgent: (creds) => {
        this.user = creds.user;
        return {
          ...(opts.transportConstructor ? { transportConstructor: opts.transportConstructor } : {}),
          sessionDescriptionHandlerFactory:
            opts.sessionDescriptionHandlerFactory ??
            defaultSessionDescriptionHandlerFactory((constraints) => {
              const mic = this.live?.microphone;
              return mic ? Promise.resolve(mic) : navigator.mediaDevices.getUserMedia(constraints);
            }),
          delegate: { onInvite: (invitation) => void this.onInvite(invitation) },
        };
      },
      ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
      ...(opts.registerExpires ? { registerExpires: opts.registerExpires } : {}),
      reconnect: opts.reconnectBackoff ?? { initialMs: 500, maxMs: 30_000 },
      ...(opts.now ? { now: opts.now } : {}),
      // A dropped link is shown as registering again, not as a failure.
      onChange: (s) => this.setState(s === 'reconnecting' ? 'registering' : s),
    });
  }

  private setState(s: PhoneRegistration): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('registration', s);
  }

  /**
   * Fetch credentials, connect, REGISTER; resolves when registered, rejects when the
   * REGISTER is refused or not kept, the link is lost meanwhile, or stop() is called.
   * Afterwards a dropped link is re-registered with backoff.
   */
  start(): Promise<void> {
    return this.registration.start();
  }

  private async onInvite(invitation: Invitation): Promise<void> {
    let result;
    try {
      result = await screenInvitation(this.opts.guard, invitation);
    } catch {
      await invitation.reject({ statusCode: 500 }).catch(() => undefined);
      return;
    }
    if (result.verdict === 'blocked') {
      this.emit('blocked', result.blocked);
      return;
    }
    if (this.live) {
      // Already on a (verified) call: busy.
      await invitation.reject({ statusCode: 486 }).catch(() => undefined);
      return;
    }
    const live: LiveCall = { call: result.call, invitation, microphone: null, held: false, byeReason: null };
    this.live = live;
    invitation.stateChange.addListener((s) => this.onSessionState(live, s));
    invitation.delegate = {
      onInfo: (info) => {
        const key = parseDtmfRelay(info.request.getHeader('Content-Type'), info.request.body);
        if (!key) {
          info.reject({ statusCode: 415 }).catch(() => undefined);
          return;
        }
        info.accept().catch(() => undefined);
        this.emit('dtmf', { call: live.call, key });
      },
      // A re-INVITE after the answer: hold (a=sendonly / a=inactive from the agent) or resume.
      onInvite: (request) => {
        if (!request.body) return; // an offerless re-INVITE: the direction comes in the ACK
        const held = isHoldOffer(request.body);
        if (held === live.held) return;
        live.held = held;
        this.emit('hold', { call: live.call, held });
      },
      onBye: (bye) => {
        live.byeReason = bye.request.getHeader('Reason') ?? null;
        bye.accept().catch(() => undefined);
      },
    };
    const continuation = this.opts.continuation;
    if (continuation?.admits(result.call)) {
      // The new holder of the request whose call a transfer ended: answer without ringing.
      const from = continuation.current?.fromAgent ?? '';
      continuation.stop('resumed');
      try {
        const { proof, result: checked } = await this.opts.guard.answer(result.call);
        await this.answer(result.call, proof, (await this.opts.microphone?.()) ?? null);
        this.emit('continued', { call: result.call, from, verifiedAt: checked.at });
      } catch {
        // The proof or the answer failed: let the customer answer it themselves.
        if (this.live === live && invitation.state === SessionState.Initial) {
          this.answered.delete(live);
          await invitation.progress().catch(() => undefined);
          this.emit('ringing', result.call);
        }
      }
      return;
    }
    await invitation.progress().catch(() => undefined);
    this.emit('ringing', result.call);
  }

  private onSessionState(live: LiveCall, s: SessionState): void {
    if (s === SessionState.Established) {
      const sdh = live.invitation.sessionDescriptionHandler;
      if (sdh instanceof SessionDescriptionHandler) {
        const audio = this.opts.audio;
        audio.autoplay = true;
        audio.srcObject = sdh.remoteMediaStream;
        void audio.play().catch(() => undefined);
        // No path for the audio (blocked networks, no TURN relay): end the call rather than sit in silence.
        const pc = sdh.peerConnection;
        if (pc)
          live.unwatchMedia = watchMediaPath(pc, () => {
            live.noMediaPath = true;
            void this.hangUp();
          });
      }
      this.emit('established', live.call);
    }
    if (s === SessionState.Terminated) {
      live.unwatchMedia?.();
      const wasAnswered = this.answered.has(live);
      if (this.live === live) this.live = null;
      this.opts.audio.srcObject = null;
      const by = this.endedLocally.has(live) ? 'local' : wasAnswered ? 'remote' : 'cancelled';
      // Before 'ended': whoever handles it already sees whether the call continues.
      if (wasAnswered) this.opts.continuation?.callEnded(live.call, by, live.byeReason);
      const noMediaPath = !!live.noMediaPath || isNoMediaPathReason(live.byeReason);
      this.emit('ended', { call: live.call, by, noMediaPath });
    }
  }

  /** Whether `call` is the one ringing or connected on this phone. */
  isLive(call: VerifiedCall): boolean {
    return this.live?.call === call;
  }

  /**
   * Answer the ringing call: 200 OK with the device's proof (X-VD-Device-Proof) and
   * the microphone (the given stream, or a fresh one with echo cancellation and
   * noise suppression). Resolves when the call is established.
   */
  async answer(call: VerifiedCall, proof: string, microphone: MediaStream | null): Promise<void> {
    const live = this.live;
    if (!live || live.call !== call) throw new Error('this call is no longer ringing');
    live.microphone = microphone;
    this.answered.add(live);
    await live.invitation.accept({
      extraHeaders: [proofHeader(proof)],
      sessionDescriptionHandlerOptions: { constraints: CALL_AUDIO_CONSTRAINTS },
    });
  }

  /** Decline the ringing call (603) or hang up the answered one (BYE). */
  async hangUp(): Promise<void> {
    const live = this.live;
    if (!live) return;
    this.endedLocally.add(live);
    const inv = live.invitation;
    if (inv.state === SessionState.Initial)
      await inv.reject({ statusCode: 603, reasonPhrase: 'Decline' }).catch(() => undefined);
    else if (inv.state === SessionState.Established)
      // The agent's console says why too when this phone's ICE gave up first.
      await inv
        .bye(live.noMediaPath ? { requestOptions: { extraHeaders: [NO_MEDIA_PATH_BYE_REASON] } } : undefined)
        .catch(() => undefined);
    else if (inv.state === SessionState.Establishing) await inv.dispose().catch(() => undefined);
  }

  /** Hang up, unregister and disconnect. */
  async stop(): Promise<void> {
    await this.hangUp();
    await this.registration.stop();
  }

  /** For tests and diagnostics: the sip.js session of the live call. */
  get session(): Session | null {
    return this.live?.invitation ?? null;
  }
}
