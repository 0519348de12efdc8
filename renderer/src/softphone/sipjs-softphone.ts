import {
  Invitation,
  Inviter,
  Registerer,
  RegistererState,
  RequestPendingError,
  SessionState,
  UserAgent,
  type Session,
  type SessionDescriptionHandlerFactory,
  type Transport,
} from 'sip.js';
import type { IncomingResponse, Logger } from 'sip.js/lib/core/index.js';
import { CALL_PROOF_HEADER, CALL_TICKET_HEADER } from '../../../protocol/src/calls.ts';
import type { SipCredentials } from '../../../protocol/src/sip.ts';
import { sipUserForDevice } from '../../../protocol/src/sip.ts';
import { sampleQuality, type StatsCursor, type StatsEntry } from './quality.ts';
import {
  assertLineTransition,
  SoftphoneUnavailableError,
  type CallAnswer,
  type DtmfMethod,
  type LineState,
  type Softphone,
  type SoftphoneCallOptions,
  type SoftphoneDevices,
  type SoftphoneSnapshot,
} from './softphone.ts';

/** What the softphone needs of an <audio> element (remote voice, ring tone). */
export interface AudioSink {
  srcObject: MediaProvider | null;
  src: string;
  loop: boolean;
  autoplay: boolean;
  play(): Promise<void>;
  pause(): void;
  setSinkId?(id: string): Promise<void>;
}

/** The parts of the web platform's session description handler the softphone drives. */
export interface MediaSession {
  peerConnection: RTCPeerConnection | undefined;
  remoteMediaStream: MediaStream;
  sendDtmf(tones: string, options?: { duration: number; interToneGap: number }): boolean;
}

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
  /** Reconnection backoff after a WebSocket drop: first delay and cap, ms (default 500 doubling to 2,000, ±25 % jitter). */
  reconnectDelayMs?: { first: number; max: number };
  /** How often call quality is sampled, ms (default 1000). */
  statsIntervalMs?: number;
  now?: () => number;
}

/** The microphone constraints of every call: echo cancellation and noise suppression on. */
export function microphoneConstraints(deviceId: string | null): MediaStreamConstraints {
  return {
    audio: {
      echoCancellation: true,
      noiseSuppression: true,
      autoGainControl: true,
      ...(deviceId ? { deviceId: { exact: deviceId } } : {}),
    },
    video: false,
  };
}

const DTMF = /^[0-9A-D#*]{1,32}$/;

interface Live {
  session: Inviter | Invitation;
  requestId: string | null;
  outgoing: boolean;
  held: boolean;
  /** Settles the pending call()/dial() promise. */
  settle: { resolve: (a: CallAnswer) => void; reject: (e: Error) => void } | null;
  ended: boolean;
}

/** The web platform's SDH exposes exactly what MediaSession needs. */
function webMedia(session: Session): MediaSession | null {
  const sdh = session.sessionDescriptionHandler as unknown as Partial<MediaSession> | undefined;
  if (!sdh || typeof sdh.sendDtmf !== 'function' || !sdh.remoteMediaStream) return null;
  return sdh as MediaSession;
}

function statusText(r: IncomingResponse): string {
  const code = r.message.statusCode;
  const known: Record<number, string> = {
    403: 'the device refused the call (ticket not accepted)',
    404: 'the device is not reachable',
    480: 'the customer’s device is not connected right now',
    486: 'the customer is busy on another call',
    487: 'the call was cancelled',
    488: 'the device could not agree on audio',
    603: 'the customer declined the call',
  };
  return known[code ?? 0] ?? `the call failed (${code} ${r.message.reasonPhrase})`;
}

/**
 * The console's softphone on sip.js: a UserAgent and Registerer with the agent's
 * ephemeral credentials, Inviters carrying the call ticket, answered Invitations
 * for consult calls. Hold changes the line only when the re-INVITE is accepted. A
 * dropped WebSocket is reconnected with backoff, re-registered with a fresh
 * Registerer (never a stuck "request pending"), and a live call is re-INVITEd with an
 * ICE restart. Every sip.js promise is caught: nothing reaches unhandledrejection.
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
  private ua: UserAgent | null = null;
  private registerer: Registerer | null = null;
  private live: Live | null = null;
  /** The consult leg of a warm transfer (the live call is held meanwhile). */
  private consultLeg: { session: Inviter; peer: string } | null = null;
  private creds: SipCredentials | null = null;
  private devices: SoftphoneDevices = { microphoneId: null, speakerId: null, ringerId: null };
  private wanted = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private credentialTimer: ReturnType<typeof setTimeout> | null = null;
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private statsCursor: StatsCursor | null = null;
  private reconnectDelay: number;
  private readonly now: () => number;
  /** For diagnostics and tests: how many times the link was re-established, and ICE restarts sent. */
  readonly counters = { reconnects: 0, iceRestarts: 0, registrations: 0 };

  constructor(private readonly opts: SipJsSoftphoneOptions) {
    this.reconnectDelay = opts.reconnectDelayMs?.first ?? 500;
    this.now = opts.now ?? Date.now;
  }

  getSnapshot(): SoftphoneSnapshot {
    return this.snapshot;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private patch(p: Partial<SoftphoneSnapshot>): void {
    if (p.line && p.line !== this.snapshot.line) assertLineTransition(this.snapshot.line, p.line);
    this.snapshot = { ...this.snapshot, ...p };
    for (const l of this.listeners) l();
  }

  private line(to: LineState, extra: Partial<SoftphoneSnapshot> = {}): void {
    this.patch({ ...extra, line: to });
  }

  // ---- registration -------------------------------------------------------------------

  async connect(): Promise<void> {
    if (this.ua) return;
    this.wanted = true;
    this.line('connecting', { reason: null, registration: 'registering' });
    try {
      const creds = await this.opts.credentials();
      if (!creds.wsUrl) throw new Error('no SIP server configured (Settings → SIP server)');
      this.creds = creds;
      const uri = UserAgent.makeURI(creds.aor);
      if (!uri) throw new Error(`invalid SIP address ${creds.aor}`);
      const ua = new UserAgent({
        uri,
        authorizationUsername: creds.username,
        authorizationPassword: creds.password,
        transportOptions: { server: creds.wsUrl, connectionTimeout: 5 },
        ...(this.opts.transportConstructor ? { transportConstructor: this.opts.transportConstructor } : {}),
        ...(this.opts.sessionDescriptionHandlerFactory
          ? { sessionDescriptionHandlerFactory: this.opts.sessionDescriptionHandlerFactory }
          : {}),
        sessionDescriptionHandlerFactoryOptions: {
          peerConnectionConfiguration: { iceServers: this.opts.iceServers ?? [] },
          iceGatheringTimeout: 1000,
        },
        logBuiltinEnabled: false,
        logLevel: 'error',
        displayName: this.opts.displayName?.() ?? 'Verified Desk',
        delegate: {
          onInvite: (invitation) => this.onInvite(invitation),
          onDisconnect: (error) => this.onDisconnect(error),
        },
      });
      this.ua = ua;
      this.scheduleCredentialRefresh(creds);
      await ua.start();
      await this.register();
      this.line('ready', { registration: 'registered' });
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      await this.teardown();
      if (this.snapshot.line === 'connecting') this.line('failed', { reason, registration: 'unregistered' });
      throw new Error(`Softphone could not register: ${reason}`, { cause: e });
    }
  }

  /** A fresh Registerer each time (a REGISTER lost with a dead socket must not block the next). */
  private async register(): Promise<void> {
    const ua = this.ua;
    if (!ua) throw new Error('not connected');
    this.dropRegisterer();
    const registerer = new Registerer(ua, {
      expires: this.opts.registerExpires ?? 300,
      refreshFrequency: 80,
    });
    this.registerer = registerer;
    await new Promise<void>((resolve, reject) => {
      const off = () => registerer.stateChange.removeListener(onState);
      const onState = (s: RegistererState) => {
        if (s === RegistererState.Registered) {
          off();
          resolve();
        } else if (s === RegistererState.Terminated) {
          off();
          reject(new Error('registration ended'));
        }
      };
      registerer.stateChange.addListener(onState);
      registerer
        .register({
          requestDelegate: {
            onReject: (r) => {
              off();
              reject(new Error(`REGISTER refused: ${r.message.statusCode} ${r.message.reasonPhrase}`));
            },
          },
        })
        .catch((e: unknown) => {
          off();
          reject(e instanceof RequestPendingError ? new Error('a registration is already in progress') : e);
        });
    });
    this.counters.registrations++;
    // Unregistered later (e.g. a refresh refused): reconnect path takes over.
    registerer.stateChange.addListener((s) => {
      if (s === RegistererState.Unregistered && this.wanted && this.registerer === registerer)
        this.onDisconnect(new Error('registration lapsed'));
    });
  }

  /** Forget the current Registerer (its REGISTER may be stuck on a dead socket): never reused. */
  private dropRegisterer(): void {
    const old = this.registerer;
    this.registerer = null;
    old?.dispose().catch(() => undefined);
  }

  /** New ephemeral credentials before 80 % of their lifetime (the next REGISTER uses them). */
  private scheduleCredentialRefresh(creds: SipCredentials): void {
    if (this.credentialTimer) clearTimeout(this.credentialTimer);
    const lifetime = Date.parse(creds.expiresAt) - this.now();
    const delay = Math.max(5_000, Math.min(lifetime * 0.8, 2 ** 31 - 1));
    this.credentialTimer = setTimeout(() => {
      this.opts.credentials().then(
        (next) => {
          if (!this.ua || !this.wanted) return;
          this.creds = next;
          this.ua.configuration.authorizationUsername = next.username;
          this.ua.configuration.authorizationPassword = next.password;
          this.scheduleCredentialRefresh(next);
        },
        () => {
          if (this.wanted)
            this.scheduleCredentialRefresh({
              ...creds,
              expiresAt: new Date(this.now() + 10_000).toISOString(),
            });
        },
      );
    }, delay);
  }

  /** The WebSocket dropped (or the registration lapsed): reconnect with backoff, keep any call. */
  private onDisconnect(error: Error | undefined): void {
    if (!this.wanted || !this.ua) return;
    if (!error && this.ua.transport.isConnected()) return;
    if (this.reconnectTimer) return;
    if (!this.ua.transport.isConnected()) this.dropRegisterer();
    if (this.live) this.patch({ registration: 'reconnecting' });
    else if (this.snapshot.line === 'ready' || this.snapshot.line === 'ending')
      this.line('connecting', {
        registration: 'reconnecting',
        reason: 'Connection to the SIP server lost: reconnecting…',
      });
    else this.patch({ registration: 'reconnecting' });
    const delay = this.reconnectDelay;
    const max = this.opts.reconnectDelayMs?.max ?? 2_000;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, max);
    // Jitter so a room full of consoles does not come back in lock-step.
    const wait = delay * (0.75 + Math.random() * 0.5);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, wait);
  }

  private async reconnect(): Promise<void> {
    const ua = this.ua;
    if (!ua || !this.wanted) return;
    try {
      if (!ua.transport.isConnected()) await ua.reconnect();
      await this.register();
    } catch {
      this.onDisconnect(new Error('reconnect failed'));
      return;
    }
    this.counters.reconnects++;
    this.reconnectDelay = this.opts.reconnectDelayMs?.first ?? 500;
    if (this.snapshot.line === 'connecting') this.line('ready', { registration: 'registered', reason: null });
    else this.patch({ registration: 'registered', reason: null });
    const live = this.live;
    if (live && (this.snapshot.line === 'connected' || this.snapshot.line === 'held'))
      await this.reinvite(live, { hold: live.held, iceRestart: true }).catch(() => undefined);
  }

  async disconnect(): Promise<void> {
    this.wanted = false;
    await this.endConsult().catch(() => undefined);
    await this.hangUp().catch(() => undefined);
    const registerer = this.registerer;
    if (registerer && registerer.state === RegistererState.Registered)
      await registerer.unregister().catch(() => undefined);
    await this.teardown();
    if (this.snapshot.line !== 'disconnected')
      this.line('disconnected', { registration: 'unregistered', reason: null, quality: null });
  }

  private async teardown(): Promise<void> {
    for (const t of [this.reconnectTimer, this.credentialTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.credentialTimer = null;
    this.stopStats();
    this.stopRinging();
    const ua = this.ua;
    this.ua = null;
    await this.registerer?.dispose().catch(() => undefined);
    this.registerer = null;
    await ua?.stop().catch(() => undefined);
  }

  // ---- calls --------------------------------------------------------------------------

  call(options: SoftphoneCallOptions): Promise<CallAnswer> {
    if (!this.creds) return Promise.reject(new SoftphoneUnavailableError('The softphone is not registered'));
    const target = `sip:${sipUserForDevice(options.ticket.claims.dev)}@${this.creds.domain}`;
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
    const ua = this.ua;
    const held = this.live;
    if (!ua || !this.creds || !held || this.snapshot.line !== 'held')
      return Promise.reject(
        new SoftphoneUnavailableError('Put the customer on hold before the consult call'),
      );
    if (this.consultLeg)
      return Promise.reject(new SoftphoneUnavailableError('A consult call is already open'));
    const { uri: address, name } = this.address(target, peer);
    const uri = UserAgent.makeURI(address);
    if (!uri) return Promise.reject(new Error(`not a SIP address: ${target}`));
    const inviter = new Inviter(ua, uri, {
      sessionDescriptionHandlerOptions: { constraints: microphoneConstraints(this.devices.microphoneId) },
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
          this.attachRemoteAudio(inviter);
          this.patch({ consult: { peer: name, state: 'connected' } });
          settle(null);
        } else if (st === SessionState.Terminated) {
          if (this.consultLeg === leg) this.consultLeg = null;
          this.patch({ consult: null });
          // Back to the held call's audio (silent while held, there again on resume).
          if (this.live === held && !held.ended) this.attachRemoteAudio(held.session);
          settle(new Error('Consult call not connected'));
        }
      });
      inviter
        .invite({
          requestDelegate: {
            onReject: (r) => settle(new Error(`Consult call not connected: ${statusText(r)}`)),
          },
        })
        .catch((e: unknown) => settle(e instanceof Error ? e : new Error(String(e))));
    });
  }

  async endConsult(): Promise<void> {
    const leg = this.consultLeg;
    if (leg) await this.terminate(leg.session);
  }

  async dial(target: string, peer?: string): Promise<void> {
    if (!this.creds) throw new SoftphoneUnavailableError('The softphone is not registered');
    const { uri, name } = this.address(target, peer);
    await this.invite(uri, null, name, []);
  }

  /** A sip: URI as given, or a bare user on our domain; and how to name it on screen. */
  private address(target: string, peer: string | undefined): { uri: string; name: string } {
    const sip = /^sips?:/i.test(target);
    return {
      uri: sip ? target : `sip:${target}@${this.creds!.domain}`,
      name: peer ?? (sip ? target.replace(/^sips?:/i, '') : target),
    };
  }

  private invite(
    target: string,
    requestId: string | null,
    peer: string,
    extraHeaders: string[],
  ): Promise<CallAnswer> {
    const ua = this.ua;
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
      sessionDescriptionHandlerOptions: { constraints: microphoneConstraints(this.devices.microphoneId) },
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
      this.line('calling', { requestId, peer, reason: null, dtmf: '', quality: null, muted: false });
      inviter.stateChange.addListener((s) => this.onSessionState(live, s));
      inviter
        .invite({
          requestDelegate: {
            onAccept: (r) => {
              const proof = r.message.getHeader(CALL_PROOF_HEADER) ?? null;
              this.settle(live, null, { proof });
            },
            onReject: (r) => this.settle(live, new Error(`Call not connected: ${statusText(r)}`)),
          },
        })
        .catch((e: unknown) => this.settle(live, e instanceof Error ? e : new Error(String(e))));
    });
  }

  private settle(live: Live, error: Error | null, answer?: CallAnswer): void {
    const s = live.settle;
    live.settle = null;
    if (!s) return;
    if (error) s.reject(error);
    else s.resolve(answer ?? { proof: null });
  }

  private onInvite(invitation: Invitation): void {
    if (this.live || this.snapshot.line !== 'ready') {
      invitation.reject({ statusCode: 486 }).catch(() => undefined);
      return;
    }
    const from = invitation.remoteIdentity;
    const peer = from.displayName || from.uri.user || 'a caller';
    const live: Live = {
      session: invitation,
      requestId: null,
      outgoing: false,
      held: false,
      settle: null,
      ended: false,
    };
    this.live = live;
    invitation.stateChange.addListener((s) => this.onSessionState(live, s));
    this.line('incoming', { requestId: null, peer, reason: null, dtmf: '', quality: null, muted: false });
    invitation.progress().catch(() => undefined);
    this.startRinging();
  }

  async answer(): Promise<void> {
    const live = this.live;
    if (!live || live.outgoing || this.snapshot.line !== 'incoming')
      throw new SoftphoneUnavailableError('No call to answer');
    this.stopRinging();
    await (live.session as Invitation).accept({
      sessionDescriptionHandlerOptions: { constraints: microphoneConstraints(this.devices.microphoneId) },
    });
  }

  private onSessionState(live: Live, s: SessionState): void {
    if (live.ended) return;
    if (s === SessionState.Established) {
      this.stopRinging();
      this.attachRemoteAudio(live.session);
      this.line('connected', { reason: null });
      this.startStats();
      return;
    }
    if (s === SessionState.Terminated) {
      live.ended = true;
      // sip.js enters Terminated before it calls onReject: let the precise reason settle first.
      setTimeout(() =>
        this.settle(live, new Error('Call not connected: the call ended before it was answered')),
      );
      this.stopRinging();
      this.stopStats();
      // A consult leg still up (the held customer hung up meanwhile) keeps the speaker.
      const consult = this.consultLeg?.session;
      if (consult?.state === SessionState.Established) this.attachRemoteAudio(consult);
      else this.opts.remoteAudio.srcObject = null;
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

  async hangUp(): Promise<void> {
    const live = this.live;
    if (!live) return;
    const s = live.session;
    const line = this.snapshot.line;
    if (line === 'connected' || line === 'held') this.line('ending');
    await this.terminate(s);
  }

  /** End a session whatever its state: BYE, CANCEL, decline (603), or a local dispose. */
  private async terminate(s: Inviter | Invitation): Promise<void> {
    try {
      if (s.state === SessionState.Established) await s.bye();
      else if (s instanceof Inviter && s.state === SessionState.Establishing) await s.cancel();
      else if (
        s instanceof Invitation &&
        s.state !== SessionState.Terminated &&
        s.state !== SessionState.Terminating
      )
        await s.reject({ statusCode: 603 });
      else await s.dispose();
    } catch {
      // The transport may be down: dispose locally so the line does not stay stuck.
      await s.dispose().catch(() => undefined);
    }
  }

  async hold(on: boolean): Promise<void> {
    const live = this.live;
    const line = this.snapshot.line;
    if (!live || (line !== 'connected' && line !== 'held'))
      throw new SoftphoneUnavailableError('No call to hold');
    if (live.held === on) return;
    await this.reinvite(live, { hold: on, iceRestart: false });
    live.held = on;
    this.enableTracks(live);
    this.line(on ? 'held' : 'connected');
  }

  /** A re-INVITE; resolves only when the far end accepts it (2xx), rejects otherwise. */
  private reinvite(live: Live, o: { hold: boolean; iceRestart: boolean }): Promise<void> {
    const session = live.session;
    if (session.state !== SessionState.Established)
      return Promise.reject(new Error('The call is not established'));
    return new Promise<void>((resolve, reject) => {
      session
        .invite({
          sessionDescriptionHandlerOptions: {
            hold: o.hold,
            constraints: microphoneConstraints(this.devices.microphoneId),
            ...(o.iceRestart ? { offerOptions: { iceRestart: true } } : {}),
          } as object,
          requestDelegate: {
            onAccept: () => {
              if (o.iceRestart) this.counters.iceRestarts++;
              resolve();
            },
            onReject: (r) =>
              reject(
                new Error(
                  `${o.hold ? 'Hold' : o.iceRestart ? 'Media restart' : 'Resume'} refused by the other side (${r.message.statusCode} ${r.message.reasonPhrase})`,
                ),
              ),
          },
        })
        .catch((e: unknown) =>
          reject(
            e instanceof RequestPendingError
              ? new Error('A hold or resume is already in progress')
              : e instanceof Error
                ? e
                : new Error(String(e)),
          ),
        );
    }).finally(() => {
      // Later re-INVITEs (e.g. a session refresh) must not repeat the ICE restart.
      session.sessionDescriptionHandlerOptionsReInvite = {
        hold: live.held,
        constraints: microphoneConstraints(this.devices.microphoneId),
      } as object;
    });
  }

  mute(on: boolean): void {
    const live = this.live;
    if (!live || (this.snapshot.line !== 'connected' && this.snapshot.line !== 'held'))
      throw new SoftphoneUnavailableError('No call to mute');
    this.patch({ muted: on });
    this.enableTracks(live);
  }

  private enableTracks(live: Live): void {
    const pc = this.media(live.session)?.peerConnection;
    if (!pc) return;
    for (const sender of pc.getSenders())
      if (sender.track) sender.track.enabled = !this.snapshot.muted && !live.held;
    for (const receiver of pc.getReceivers()) receiver.track.enabled = !live.held;
  }

  async sendDtmf(digits: string, method: DtmfMethod = 'rfc4733'): Promise<void> {
    const live = this.live;
    if (!live || this.snapshot.line !== 'connected') throw new SoftphoneUnavailableError('No call for DTMF');
    if (!DTMF.test(digits)) throw new Error('DTMF digits are 0-9, *, # and A-D');
    if (method === 'rfc4733') {
      const media = this.media(live.session);
      if (!media?.sendDtmf(digits, { duration: 120, interToneGap: 70 }))
        throw new Error('The call has no telephone-event (RFC 4733) channel: use SIP INFO');
    } else {
      for (const d of digits)
        await new Promise<void>((resolve, reject) => {
          live.session
            .info({
              requestOptions: {
                body: {
                  contentDisposition: 'render',
                  contentType: 'application/dtmf-relay',
                  content: `Signal=${d}\r\nDuration=120\r\n`,
                },
              },
              requestDelegate: {
                onAccept: () => resolve(),
                onReject: (r) => reject(new Error(`DTMF ${d} refused (${r.message.statusCode})`)),
              },
            })
            .catch((e: unknown) => reject(e instanceof Error ? e : new Error(String(e))));
        });
    }
    this.patch({ dtmf: (this.snapshot.dtmf + digits).slice(-32) });
  }

  // ---- media --------------------------------------------------------------------------

  private media(session: Session): MediaSession | null {
    return (this.opts.mediaOf ?? webMedia)(session);
  }

  private attachRemoteAudio(session: Session): void {
    const media = this.media(session);
    if (!media) return;
    const audio = this.opts.remoteAudio;
    audio.autoplay = true;
    audio.srcObject = media.remoteMediaStream;
    audio.play().catch(() => undefined);
  }

  async setDevices(devices: SoftphoneDevices): Promise<void> {
    const before = this.devices;
    this.devices = { ...devices };
    const sink = async (el: AudioSink, id: string | null) => {
      if (el.setSinkId) await el.setSinkId(id ?? '').catch(() => undefined);
    };
    await sink(this.opts.remoteAudio, devices.speakerId);
    await sink(this.opts.ringer, devices.ringerId);
    // A new microphone during a call: swap the sending track, no renegotiation needed.
    const live = this.live;
    const pc = live ? this.media(live.session)?.peerConnection : undefined;
    if (pc && this.opts.media && before.microphoneId !== devices.microphoneId) {
      const stream = await this.opts.media.getUserMedia(microphoneConstraints(devices.microphoneId));
      const track = stream.getAudioTracks()[0];
      const sender = pc.getSenders().find((s) => s.track?.kind === 'audio');
      if (track && sender) {
        const old = sender.track;
        track.enabled = !this.snapshot.muted && !live!.held;
        await sender.replaceTrack(track);
        old?.stop();
      }
    }
  }

  private startRinging(): void {
    const r = this.opts.ringer;
    if (!this.opts.ringTone) return;
    r.src = this.opts.ringTone();
    r.loop = true;
    r.play().catch(() => undefined);
  }

  private stopRinging(): void {
    this.opts.ringer.pause();
  }

  private startStats(): void {
    this.stopStats();
    this.statsCursor = null;
    this.statsTimer = setInterval(() => void this.sampleStats(), this.opts.statsIntervalMs ?? 1000);
  }

  private stopStats(): void {
    if (this.statsTimer) clearInterval(this.statsTimer);
    this.statsTimer = null;
  }

  private async sampleStats(): Promise<void> {
    const live = this.live;
    const pc = live ? this.media(live.session)?.peerConnection : undefined;
    if (!pc) return;
    try {
      const report = await pc.getStats();
      const entries: StatsEntry[] = [];
      report.forEach((e: StatsEntry) => entries.push(e));
      const { quality, cursor } = sampleQuality(entries, this.statsCursor);
      this.statsCursor = cursor;
      if (this.live === live) this.patch({ quality });
    } catch {
      // A closed peer connection between samples: the next state change stops the timer.
    }
  }
}
