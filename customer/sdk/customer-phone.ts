import type { Invitation } from 'sip.js';
import { Registerer, RegistererState, SessionState, UserAgent, type Session } from 'sip.js';
import {
  defaultSessionDescriptionHandlerFactory,
  SessionDescriptionHandler,
} from 'sip.js/lib/platform/web/index.js';
import type { SipCredentials } from '../../protocol/src/index.ts';
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
  /** An INVITE refused before ringing (403 sent). */
  blocked: BlockedCall;
  /** The answered call is connected (200 OK acknowledged). */
  established: VerifiedCall;
  /** A DTMF key the agent pressed, sent as SIP INFO (application/dtmf-relay). */
  dtmf: { call: VerifiedCall; key: string };
  /** The call (ringing or answered) ended: 'cancelled' by the caller before answer, 'remote' BYE, 'local' hang-up or decline. */
  ended: { call: VerifiedCall; by: 'cancelled' | 'remote' | 'local' };
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
  now?: () => number;
}

interface LiveCall {
  call: VerifiedCall;
  invitation: Invitation;
  /** The microphone stream to send when answered (CallMedia's, so Mute acts on what is sent). */
  microphone: MediaStream | null;
}

/**
 * The customer's SIP phone: a sip.js UserAgent and Registerer on the authority's
 * SIP edge with ephemeral credentials. Each INVITE is screened by the
 * IncomingCallGuard before anything rings: no valid call ticket for this device and
 * session -> 403, 'blocked'; a valid one -> 180 Ringing, 'ringing'. answer() sends
 * the 200 OK with the device's proof header and WebRTC audio; hangUp() sends BYE.
 */
export class CustomerPhone extends Emitter<CustomerPhoneEvents> {
  private ua: UserAgent | null = null;
  private registerer: Registerer | null = null;
  private live: LiveCall | null = null;
  private credentialTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private reconnectDelayMs = 500;
  private stopped = false;
  private readonly answered = new WeakSet<LiveCall>();
  private readonly endedLocally = new WeakSet<LiveCall>();
  private readonly now: () => number;
  state: PhoneRegistration = 'unregistered';
  /** The SIP user (d-<deviceId>) once started. */
  user: string | null = null;

  constructor(private readonly opts: CustomerPhoneOptions) {
    super();
    this.now = opts.now ?? Date.now;
  }

  private setState(s: PhoneRegistration): void {
    if (this.state === s) return;
    this.state = s;
    this.emit('registration', s);
  }

  /** Fetch credentials, connect, REGISTER; resolves when registered (rejects if refused). */
  async start(): Promise<void> {
    if (this.ua) return;
    this.stopped = false;
    const creds = await this.opts.credentials();
    const server = creds.wsUrl ?? this.opts.serverUrl;
    if (!server) throw new Error('no SIP server: the authority names none and none is configured');
    this.user = creds.user;
    const uri = UserAgent.makeURI(creds.aor);
    if (!uri) throw new Error(`invalid SIP address ${creds.aor}`);
    const ua = new UserAgent({
      uri,
      authorizationUsername: creds.username,
      authorizationPassword: creds.password,
      transportOptions: { server },
      logBuiltinEnabled: false,
      logLevel: 'error',
      sessionDescriptionHandlerFactory: defaultSessionDescriptionHandlerFactory((constraints) => {
        const mic = this.live?.microphone;
        return mic ? Promise.resolve(mic) : navigator.mediaDevices.getUserMedia(constraints);
      }),
      sessionDescriptionHandlerFactoryOptions: {
        peerConnectionConfiguration: { iceServers: this.opts.iceServers ?? [] },
        iceGatheringTimeout: 1000,
      },
      delegate: {
        onInvite: (invitation) => void this.onInvite(invitation),
        onDisconnect: (error) => {
          if (!error || this.stopped) return;
          const dead = this.registerer;
          this.registerer = null;
          dead?.dispose().catch(() => undefined);
          this.reconnectSoon();
        },
      },
    });
    this.ua = ua;
    this.scheduleCredentialRefresh(creds);
    await ua.start();
    await this.register();
  }

  /** REGISTER with a fresh Registerer (one whose REGISTER died with an old socket could block the next). */
  private register(): Promise<void> {
    const ua = this.ua;
    if (!ua) return Promise.resolve();
    this.registerer?.dispose().catch(() => undefined);
    const registerer = new Registerer(ua, {
      expires: this.opts.registerExpires ?? 300,
      refreshFrequency: 80,
    });
    this.registerer = registerer;
    this.setState('registering');
    return new Promise<void>((resolve, reject) => {
      const off = () => registerer.stateChange.removeListener(onState);
      const onState = (s: RegistererState) => {
        if (s === RegistererState.Registered) {
          off();
          this.reconnectDelayMs = 500;
          this.setState('registered');
          resolve();
        }
      };
      registerer.stateChange.addListener(onState);
      registerer
        .register({
          requestDelegate: {
            onReject: (r) => {
              off();
              this.setState('failed');
              reject(new Error(`REGISTER refused: ${r.message.statusCode} ${r.message.reasonPhrase}`));
            },
          },
        })
        .catch((e: unknown) => {
          off();
          this.setState('failed');
          reject(e instanceof Error ? e : new Error(String(e)));
        });
    });
  }

  /** New ephemeral credentials before 80 % of their lifetime is used (the next REGISTER uses them). */
  private scheduleCredentialRefresh(creds: SipCredentials): void {
    if (this.credentialTimer) clearTimeout(this.credentialTimer);
    const lifetime = Date.parse(creds.expiresAt) - this.now();
    const delay = Math.max(5_000, Math.min(lifetime * 0.8, 2 ** 31 - 1));
    this.credentialTimer = setTimeout(() => {
      void this.opts
        .credentials()
        .then((next) => {
          const ua = this.ua;
          if (!ua || this.stopped) return;
          ua.configuration.authorizationUsername = next.username;
          ua.configuration.authorizationPassword = next.password;
          this.scheduleCredentialRefresh(next);
        })
        .catch(() => {
          if (!this.stopped) this.scheduleCredentialRefresh(creds);
        });
    }, delay);
  }

  /** WebSocket lost: reconnect with backoff, then REGISTER again. */
  private reconnectSoon(): void {
    if (this.reconnectTimer || this.stopped) return;
    this.setState('registering');
    const delay = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.reconnectDelayMs * 2, 30_000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      const ua = this.ua;
      if (!ua || this.stopped) return;
      ua.reconnect()
        .then(() => this.register())
        .catch(() => this.reconnectSoon());
    }, delay);
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
    const live: LiveCall = { call: result.call, invitation, microphone: null };
    this.live = live;
    invitation.stateChange.addListener((s) => this.onSessionState(live, s));
    invitation.delegate = {
      onInfo: (info) => {
        const body = info.request.body ?? '';
        const key = /^Signal=\s*([0-9A-D#*])\s*$/im.exec(body)?.[1];
        const type = info.request.getHeader('Content-Type') ?? '';
        if (!key || !/^application\/dtmf-relay/i.test(type)) {
          info.reject({ statusCode: 415 }).catch(() => undefined);
          return;
        }
        info.accept().catch(() => undefined);
        this.emit('dtmf', { call: live.call, key });
      },
    };
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
      }
      this.emit('established', live.call);
    }
    if (s === SessionState.Terminated) {
      const wasAnswered = this.answered.has(live);
      if (this.live === live) this.live = null;
      this.opts.audio.srcObject = null;
      const by = this.endedLocally.has(live) ? 'local' : wasAnswered ? 'remote' : 'cancelled';
      this.emit('ended', { call: live.call, by });
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
    else if (inv.state === SessionState.Established) await inv.bye().catch(() => undefined);
    else if (inv.state === SessionState.Establishing) await inv.dispose().catch(() => undefined);
  }

  /** Unregister and disconnect. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.credentialTimer) clearTimeout(this.credentialTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.credentialTimer = this.reconnectTimer = null;
    await this.hangUp();
    await this.registerer?.unregister().catch(() => undefined);
    await this.ua?.stop().catch(() => undefined);
    this.ua = null;
    this.registerer = null;
    this.setState('unregistered');
  }

  /** For tests and diagnostics: the sip.js session of the live call. */
  get session(): Session | null {
    return this.live?.invitation ?? null;
  }
}
