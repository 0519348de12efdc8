import type { Invitation } from 'sip.js';
import {
  Inviter,
  SessionState,
  UserAgent,
  type Session,
  type SessionDescriptionHandlerFactory,
  type Transport,
} from 'sip.js';
import type { Logger } from 'sip.js/lib/core/index.js';
import {
  isNoMediaPathReason,
  noMediaPathReason,
  watchMediaPath,
} from '../../../browser-common/media-path.ts';
import { SipRegistration, type SipRegistrationState } from '../../../browser-common/sip-registration.ts';
import {
  CALL_PROOF_HEADER,
  CALL_TICKET_HEADER,
  MEDIA_HEADER,
  RECORDING_HEADER,
  REQUEST_HEADER,
} from '../../../protocol/src/calls.ts';
import type { SipCredentials } from '../../../protocol/src/sip.ts';
import { sipUserForDevice } from '../../../protocol/src/sip.ts';
import {
  dialogGone,
  reinvite,
  sendInfoDtmf,
  sendInvite,
  terminate,
  type ConsultCall,
  type Live,
} from './call-leg.ts';
import { forgetCall, rememberCall } from './lost-call.ts';
import { SoftphoneMedia, type AudioSink, type MediaSession } from './media.ts';
import {
  assertLineTransition,
  lineTimes,
  SoftphoneUnavailableError,
  type CallAnswer,
  type DtmfMethod,
  type HangUpReason,
  type LineState,
  type Softphone,
  type SoftphoneCallOptions,
  type SoftphoneDevices,
  type SoftphoneSnapshot,
} from './softphone.ts';

export { microphoneConstraints, type AudioSink, type MediaSession } from './media.ts';

export interface SipJsSoftphoneOptions {
  /** Fresh ephemeral credentials for the logged-in agent (bridge 'sip.credentials'). */
  credentials: () => Promise<SipCredentials>;
  /** Where the other party's voice plays (speaker device). */
  remoteAudio: AudioSink;
  /** The caller name colleagues see on a consult call (the signed-in agent's name). */
  displayName?: () => string | null | undefined;
  /** Where the ring of an incoming call plays (ringing device); its source is set by the softphone. */
  ringer: AudioSink;
  /** The ring tone (a URL the CSP allows: blob: or self). */
  ringTone?: () => string;
  /** Microphone access (navigator.mediaDevices). */
  media: Pick<MediaDevices, 'getUserMedia'> | null;
  /** Tests: an in-memory transport instead of the WebSocket one. */
  transportConstructor?: new (logger: Logger, options: unknown) => Transport;
  /** Tests: a session description handler without WebRTC. */
  sessionDescriptionHandlerFactory?: SessionDescriptionHandlerFactory;
  /** Reads the media side of a session (tests substitute theirs). */
  mediaOf?: (session: Session) => MediaSession | null;
  iceServers?: RTCIceServer[];
  /** REGISTER expiry asked for, seconds (default 300); sip.js refreshes at 80 % of the granted expiry. */
  registerExpires?: number;
  /** Reconnection backoff after a WebSocket drop: first delay ceiling and cap, ms (default 500 doubling to 2,000, full jitter). */
  reconnectDelayMs?: { first: number; max: number };
  /** How often call quality is sampled, ms (default 1000). */
  statsIntervalMs?: number;
  now?: () => number;
}

const DTMF = /^[0-9A-D#*]{1,32}$/;

/**
 * The console's softphone on sip.js: registration (browser-common's SipRegistration:
 * the agent's ephemeral credentials, a fresh Registerer after a drop, reconnect with
 * backoff), Inviters carrying the call ticket, answered Invitations for consult
 * calls (call-leg.ts), and the speaker, ringer, microphone and call quality
 * (media.ts). Hold changes the line only when the re-INVITE is accepted; after a
 * reconnect a live call is re-INVITEd with an ICE restart. Every sip.js promise is
 * caught: nothing reaches unhandledrejection.
 */
export class SipJsSoftphone implements Softphone {
  private snapshot: SoftphoneSnapshot = {
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
  private readonly listeners = new Set<() => void>();
  private readonly registration: SipRegistration;
  private readonly mediaSide: SoftphoneMedia;
  private live: Live | null = null;
  /** The consult leg of a warm transfer (the live call is held meanwhile). */
  private consultLeg: ConsultCall | null = null;
  private iceRestarts = 0;
  /** The call the SIP server is putting through for a request (expectCall), answered when it comes. */
  private expected: {
    requestId: string;
    peer: string;
    resolve: () => void;
    reject: (e: Error) => void;
    timer: ReturnType<typeof setTimeout>;
  } | null = null;
  /** The page is going away: the call it ends stays marked as lost (lost-call.ts). */
  private unloading = false;

  constructor(private readonly opts: SipJsSoftphoneOptions) {
    this.mediaSide = new SoftphoneMedia(opts);
    // Reload or close: end the calls now (BYE while the socket is still open) rather than
    // leave the other side on a call with nobody; the SIP edge BYEs them too if this is lost.
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function')
      window.addEventListener('pagehide', () => {
        this.unloading = true;
        void this.endConsult().catch(() => undefined);
        void this.hangUp().catch(() => undefined);
      });
    const backoff = opts.reconnectDelayMs ?? { first: 500, max: 2_000 };
    this.registration = new SipRegistration({
      credentials: opts.credentials,
      server: (creds) => {
        if (!creds.wsUrl) throw new Error('no SIP server configured (Settings → SIP server)');
        return creds.wsUrl;
      },
      userAgent: () => ({
        ...(opts.transportConstructor ? { transportConstructor: opts.transportConstructor } : {}),
        ...(opts.sessionDescriptionHandlerFactory
          ? { sessionDescriptionHandlerFactory: opts.sessionDescriptionHandlerFactory }
          : {}),
        displayName: opts.displayName?.() ?? 'Verified Desk',
        delegate: { onInvite: (invitation) => this.onInvite(invitation) },
      }),
      ...(opts.iceServers ? { iceServers: opts.iceServers } : {}),
      ...(opts.registerExpires ? { registerExpires: opts.registerExpires } : {}),
      reconnect: { initialMs: backoff.first, maxMs: backoff.max },
      ...(opts.now ? { now: opts.now } : {}),
      onChange: (state) => this.onRegistration(state),
      onReconnected: () => this.onReconnected(),
    });
  }

  /** For diagnostics and tests: how many times the link was re-established, and ICE restarts sent. */
  get counters(): { reconnects: number; iceRestarts: number; registrations: number } {
    return { ...this.registration.counters, iceRestarts: this.iceRestarts };
  }

  getSnapshot(): SoftphoneSnapshot {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private patch(p: Partial<SoftphoneSnapshot>): void {
    if (p.line && p.line !== this.snapshot.line) {
      assertLineTransition(this.snapshot.line, p.line);
      // The call and hold timers run from the line's own times, not from when the page renders.
      p = { ...p, ...lineTimes(this.snapshot, p.line, Date.now()) };
    }
    this.snapshot = { ...this.snapshot, ...p };
    for (const l of this.listeners) l();
  }

  private line(to: LineState, extra: Partial<SoftphoneSnapshot> = {}): void {
    this.patch({ ...extra, line: to });
  }

  // ---- registration -------------------------------------------------------------------

  async connect(): Promise<void> {
    if (this.registration.active) return;
    this.line('connecting', { reason: null, registration: 'registering' });
    try {
      await this.registration.start();
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      this.stopMedia();
      if (this.snapshot.line === 'connecting') this.line('failed', { reason, registration: 'unregistered' });
      throw new Error(`Softphone could not register: ${reason}`, { cause: e });
    }
    this.line('ready', { registration: 'registered' });
  }

  /** The link dropped or the registration lapsed: a live call keeps its line, an idle line reconnects. */
  private onRegistration(state: SipRegistrationState): void {
    if (state !== 'reconnecting') return;
    if (!this.live && (this.snapshot.line === 'ready' || this.snapshot.line === 'ending'))
      this.line('connecting', {
        registration: 'reconnecting',
        reason: 'Connection to the SIP server lost: reconnecting…',
      });
    else this.patch({ registration: 'reconnecting' });
  }

  /** Registered again: the line is ready again, and a live call gets an ICE-restart re-INVITE. */
  private onReconnected(): void {
    if (this.snapshot.line === 'connecting') this.line('ready', { registration: 'registered', reason: null });
    else this.patch({ registration: 'registered', reason: null });
    const live = this.live;
    if (live && (this.snapshot.line === 'connected' || this.snapshot.line === 'held'))
      this.reinvite(live, { hold: live.held, iceRestart: true }).catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    await this.endConsult().catch(() => undefined);
    await this.hangUp().catch(() => undefined);
    this.stopMedia();
    await this.registration.stop();
    if (this.snapshot.line !== 'disconnected')
      this.line('disconnected', { registration: 'unregistered', reason: null, quality: null });
  }

  private stopMedia(): void {
    this.mediaSide.stopStats();
    this.mediaSide.stopRinging();
  }

  // ---- calls --------------------------------------------------------------------------

  /** The registered UserAgent and its credentials, or null when not registered. */
  private agent(): { ua: UserAgent; creds: SipCredentials } | null {
    const ua = this.registration.ua;
    const creds = this.registration.credentials;
    return ua && creds ? { ua, creds } : null;
  }

  call(options: SoftphoneCallOptions): Promise<CallAnswer> {
    const creds = this.registration.credentials;
    if (!creds) return Promise.reject(new SoftphoneUnavailableError('The softphone is not registered'));
    const target = `sip:${sipUserForDevice(options.ticket.claims.dev)}@${creds.domain}`;
    return this.invite(target, options.requestId, options.peer ?? 'the customer’s device', [
      `${CALL_TICKET_HEADER}: ${options.ticket.ticket}`,
    ]);
  }

  /**
   * The consult leg of a warm transfer: a second INVITE while the customer's call is
   * held. Its audio replaces the held call's in the speaker until it ends; the line
   * state stays 'held' throughout.
   */
  consult(target: string, peer?: string): Promise<void> {
    const agent = this.agent();
    const held = this.live;
    if (!agent || !held || this.snapshot.line !== 'held')
      return Promise.reject(
        new SoftphoneUnavailableError('Put the customer on hold before the consult call'),
      );
    if (this.consultLeg)
      return Promise.reject(new SoftphoneUnavailableError('A consult call is already open'));
    const { uri: address, name } = this.address(target, peer, agent.creds);
    const uri = UserAgent.makeURI(address);
    if (!uri) return Promise.reject(new Error(`not a SIP address: ${target}`));
    const inviter = new Inviter(agent.ua, uri, {
      sessionDescriptionHandlerOptions: { constraints: this.mediaSide.constraints() },
    });
    const leg = { session: inviter, peer: name };
    this.consultLeg = leg;
    this.patch({ consult: { peer: name, state: 'calling' } });
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const settle = (e: Error | null) => {
        if (settled) return;
        settled = true;
        if (e) reject(e);
        else resolve();
      };
      inviter.stateChange.addListener((st) => {
        if (st === SessionState.Established) {
          this.mediaSide.attachRemote(inviter);
          this.patch({ consult: { peer: name, state: 'connected' } });
          settle(null);
        } else if (st === SessionState.Terminated) {
          if (this.consultLeg === leg) this.consultLeg = null;
          this.patch({ consult: null });
          // Back to the held call's audio (silent while held, there again on resume);
          // nothing plays when the held call is gone too (its remote track ended with it).
          if (this.live === held && !held.ended) this.mediaSide.attachRemote(held.session);
          else if (!this.live) this.mediaSide.detachRemote();
          settle(new Error('Consult call not connected'));
        }
      });
      sendInvite(inviter, 'Consult call not connected', settle);
    });
  }

  async endConsult(): Promise<void> {
    const leg = this.consultLeg;
    if (leg) await terminate(leg.session);
  }

  async dialNumber(o: { requestId: string; target: string; ticket: string; peer: string }): Promise<void> {
    if (!this.registration.credentials)
      throw new SoftphoneUnavailableError('The softphone is not registered');
    await this.invite(o.target, o.requestId, o.peer, [`${CALL_TICKET_HEADER}: ${o.ticket}`]);
  }

  async dial(target: string, peer?: string): Promise<void> {
    const creds = this.registration.credentials;
    if (!creds) throw new SoftphoneUnavailableError('The softphone is not registered');
    const { uri, name } = this.address(target, peer, creds);
    await this.invite(uri, null, name, []);
  }

  /** A sip: URI as given, or a bare user on our domain; and how to name it on screen. */
  private address(
    target: string,
    peer: string | undefined,
    creds: SipCredentials,
  ): { uri: string; name: string } {
    const sip = /^sips?:/i.test(target);
    return {
      uri: sip ? target : `sip:${target}@${creds.domain}`,
      name: peer ?? (sip ? target.replace(/^sips?:/i, '') : target),
    };
  }

  private invite(
    target: string,
    requestId: string | null,
    peer: string,
    extraHeaders: string[],
  ): Promise<CallAnswer> {
    const ua = this.registration.ua;
    if (!ua || this.snapshot.line !== 'ready')
      return Promise.reject(
        new SoftphoneUnavailableError(
          this.live ? 'Already on a call' : 'The softphone is not ready (not registered)',
        ),
      );
    const uri = UserAgent.makeURI(target);
    if (!uri) return Promise.reject(new Error(`not a SIP address: ${target}`));
    const inviter = new Inviter(ua, uri, {
      extraHeaders,
      sessionDescriptionHandlerOptions: { constraints: this.mediaSide.constraints() },
    });
    return new Promise<CallAnswer>((resolve, reject) => {
      const live: Live = {
        session: inviter,
        requestId,
        outgoing: true,
        held: false,
        settle: { resolve, reject },
        ended: false,
      };
      this.live = live;
      this.readByeReason(live);
      this.line('calling', {
        requestId,
        peer,
        reason: null,
        dtmf: '',
        quality: null,
        muted: false,
        anchored: false,
      });
      inviter.stateChange.addListener((s) => this.onSessionState(live, s));
      sendInvite(
        inviter,
        'Call not connected',
        (e) => this.settle(live, e),
        (r) => {
          this.patch({ anchored: r.message.getHeader(MEDIA_HEADER) === 'anchored' });
          this.settle(live, null, {
            proof: r.message.getHeader(CALL_PROOF_HEADER) ?? null,
            callId: r.message.callId,
            recorded: r.message.getHeader(RECORDING_HEADER) === 'on',
          });
        },
      );
    });
  }

  private settle(live: Live, error: Error | null, answer?: CallAnswer): void {
    const s = live.settle;
    live.settle = null;
    if (!s) return;
    if (error) s.reject(error);
    else s.resolve(answer ?? { proof: null });
  }

  expectCall(requestId: string, peer: string, timeoutMs = 20_000): Promise<void> {
    if (this.live || this.snapshot.line !== 'ready')
      return Promise.reject(new SoftphoneUnavailableError('The line is busy: end the current call first'));
    this.expected?.reject(new Error('Another call is expected now'));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.expected?.requestId !== requestId) return;
        this.expected = null;
        reject(new Error('The call from the phone line did not arrive'));
      }, timeoutMs);
      this.expected = { requestId, peer, resolve, reject, timer };
    });
  }

  private onInvite(invitation: Invitation): void {
    if (this.live || this.snapshot.line !== 'ready') {
      invitation.reject({ statusCode: 486 }).catch(() => undefined);
      return;
    }
    // The call put through for the request this console asked for (the SIP server names it).
    const named = invitation.request.getHeader(REQUEST_HEADER) ?? null;
    const expected = this.expected && named === this.expected.requestId ? this.expected : null;
    const from = invitation.remoteIdentity;
    const peer = expected?.peer ?? (from.displayName || from.uri.user || 'a caller');
    const live: Live = {
      session: invitation,
      requestId: expected ? expected.requestId : null,
      outgoing: false,
      held: false,
      settle: null,
      ended: false,
    };
    this.live = live;
    this.readByeReason(live);
    invitation.stateChange.addListener((s) => this.onSessionState(live, s));
    this.line('incoming', {
      requestId: live.requestId,
      peer,
      reason: null,
      dtmf: '',
      quality: null,
      muted: false,
      anchored: invitation.request.getHeader(MEDIA_HEADER) === 'anchored',
    });
    invitation.progress().catch(() => undefined);
    if (expected) {
      this.expected = null;
      clearTimeout(expected.timer);
      this.answer().then(expected.resolve, (e: unknown) =>
        expected.reject(e instanceof Error ? e : new Error(String(e))),
      );
      return;
    }
    this.mediaSide.startRinging();
  }

  async answer(): Promise<void> {
    const live = this.live;
    if (!live || live.outgoing || this.snapshot.line !== 'incoming')
      throw new SoftphoneUnavailableError('No call to answer');
    this.mediaSide.stopRinging();
    await (live.session as Invitation).accept({
      sessionDescriptionHandlerOptions: { constraints: this.mediaSide.constraints() },
    });
  }

  private onSessionState(live: Live, s: SessionState): void {
    if (live.ended) return;
    if (s === SessionState.Established) {
      this.mediaSide.stopRinging();
      this.mediaSide.attachRemote(live.session);
      if (live.requestId) rememberCall(live.requestId);
      this.line('connected', { reason: null });
      // ICE found no path (no TURN relay between two blocked networks): end the call and say why.
      const pc = this.mediaSide.of(live.session)?.peerConnection;
      if (pc) live.unwatchMedia = watchMediaPath(pc, () => this.onNoMediaPath(live));
      this.mediaSide.startStats(
        () => this.live?.session ?? null,
        (quality, session) => {
          if (this.live?.session === session) this.patch({ quality });
        },
      );
      return;
    }
    if (s === SessionState.Terminated) {
      live.ended = true;
      live.unwatchMedia?.();
      if (live.requestId && !this.unloading && !live.lost) forgetCall();
      // sip.js enters Terminated before it calls onReject: let the precise reason settle first.
      setTimeout(() =>
        this.settle(live, new Error('Call not connected: the call ended before it was answered')),
      );
      this.stopMedia();
      // A consult leg still up (the held customer hung up meanwhile) keeps the speaker.
      const consult = this.consultLeg?.session;
      if (consult?.state === SessionState.Established) this.mediaSide.attachRemote(consult);
      else this.mediaSide.detachRemote();
      if (this.live === live) this.live = null;
      const line = this.snapshot.line;
      if (line === 'calling' || line === 'incoming') this.line('ready', { requestId: null, quality: null });
      else if (line === 'connected' || line === 'held' || line === 'ending') {
        if (line !== 'ending') this.line('ending');
        if (this.snapshot.registration === 'registered')
          this.line('ready', { requestId: null, quality: null });
        else this.line('connecting', { quality: null });
      }
    }
  }

  /** The far end's BYE may say the media had no path (its ICE gave up first): the line says so too. */
  private readByeReason(live: Live): void {
    live.session.delegate = {
      ...live.session.delegate,
      onBye: (bye) => {
        if (this.live === live && isNoMediaPathReason(bye.request.getHeader('Reason')))
          this.patch({ reason: this.noMediaPathText(live) });
        bye.accept().catch(() => undefined);
      },
    };
  }

  private noMediaPathText(live: Live): string {
    return noMediaPathReason(live.requestId ? 'the customer' : 'the other party');
  }

  /** The call's media has no path: hang up, the reason stays on the line (shown while 'ready'). */
  private onNoMediaPath(live: Live): void {
    if (live.ended || this.live !== live) return;
    this.patch({ reason: this.noMediaPathText(live) });
    this.hangUp('no-media-path').catch(() => undefined);
  }

  async hangUp(reason?: HangUpReason): Promise<void> {
    const live = this.live;
    if (!live) return;
    const line = this.snapshot.line;
    if (line === 'connected' || line === 'held') this.line('ending');
    await terminate(live.session, reason);
  }

  async hold(on: boolean): Promise<void> {
    const live = this.live;
    const line = this.snapshot.line;
    if (!live || (line !== 'connected' && line !== 'held'))
      throw new SoftphoneUnavailableError('No call to hold');
    if (live.held === on) return;
    await this.reinvite(live, { hold: on, iceRestart: false });
    live.held = on;
    this.mediaSide.enableTracks(live.session, { muted: this.snapshot.muted, held: live.held });
    this.line(on ? 'held' : 'connected');
  }

  /**
   * A re-INVITE of the live call. Refused because the call no longer exists (dialogGone:
   * e.g. the network was cut for longer than the SIP server's grace, which hung the
   * customer up meanwhile): the call ends here too and stays marked as lost, so the desk
   * says "Call lost — call again" rather than show a call with nobody on the far end.
   */
  private async reinvite(live: Live, o: { hold: boolean; iceRestart: boolean }): Promise<void> {
    try {
      await reinvite(live.session, {
        ...o,
        constraints: () => this.mediaSide.constraints(),
        held: () => live.held,
      });
    } catch (e) {
      if (dialogGone(e) && this.live === live && !live.ended) {
        live.lost = true;
        await terminate(live.session);
      }
      throw e;
    }
    if (o.iceRestart) this.iceRestarts++;
  }

  mute(on: boolean): void {
    const live = this.live;
    if (!live || (this.snapshot.line !== 'connected' && this.snapshot.line !== 'held'))
      throw new SoftphoneUnavailableError('No call to mute');
    this.patch({ muted: on });
    this.mediaSide.enableTracks(live.session, { muted: on, held: live.held });
  }

  async sendDtmf(digits: string, method: DtmfMethod = 'rfc4733'): Promise<void> {
    const live = this.live;
    if (!live || this.snapshot.line !== 'connected') throw new SoftphoneUnavailableError('No call for DTMF');
    if (!DTMF.test(digits)) throw new Error('DTMF digits are 0-9, *, # and A-D');
    if (method === 'rfc4733') {
      const media = this.mediaSide.of(live.session);
      if (!media?.sendDtmf(digits, { duration: 120, interToneGap: 70 }))
        throw new Error('The call has no telephone-event (RFC 4733) channel: use SIP INFO');
    } else await sendInfoDtmf(live.session, digits);
    this.patch({ dtmf: (this.snapshot.dtmf + digits).slice(-32) });
  }

  // ---- media --------------------------------------------------------------------------

  iceConfiguration(): RTCConfiguration | undefined {
    return this.registration.iceConfiguration ?? undefined;
  }

  outgoingSender(): RTCRtpSender | null {
    const live = this.live;
    const pc = live ? this.mediaSide.of(live.session)?.peerConnection : undefined;
    return pc?.getSenders().find((s) => s.track?.kind === 'audio') ?? null;
  }

  async setDevices(devices: SoftphoneDevices): Promise<void> {
    const live = this.live;
    await this.mediaSide.setDevices(
      devices,
      live ? { session: live.session, state: { muted: this.snapshot.muted, held: live.held } } : null,
    );
  }
}
