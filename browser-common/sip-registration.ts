/**
 * SIP registration on sip.js, for both phones of the product (the console's softphone
 * and the customer's phone): a UserAgent with ephemeral credentials (renewed before
 * 80 % of their lifetime), a Registerer whose REGISTER sip.js refreshes at 80 % of
 * the granted expiry, and after a dropped WebSocket or a lapsed registration a
 * reconnect with backoff and a fresh Registerer (one whose REGISTER died with the old
 * socket must never block the next).
 *
 * Every REGISTER settles: accepted, refused, answered without a binding, its
 * Registerer terminated, the link lost while it was in flight, or stop() called.
 * Nothing stays "registering" with no way out, and no sip.js promise is left
 * unhandled.
 */
import { Registerer, RegistererState, RequestPendingError, UserAgent, type UserAgentOptions } from 'sip.js';
import { Backoff, type BackoffPolicy } from '../protocol/src/backoff.ts';
import type { SipCredentials } from '../protocol/src/sip.ts';

export type SipRegistrationState = 'unregistered' | 'registering' | 'registered' | 'reconnecting' | 'failed';

export interface SipRegistrationOptions {
  /** Fresh ephemeral credentials (the authority's GET /v1/sip/credentials, as staff or as the device). */
  credentials: () => Promise<SipCredentials>;
  /** The SIP server's WebSocket URL for these credentials; throw when there is none. */
  server: (credentials: SipCredentials) => string;
  /**
   * The rest of the UserAgent, read at each start: the invite delegate, media
   * (session description handler), display name, a test transport.
   */
  userAgent?: (credentials: SipCredentials) => Partial<UserAgentOptions>;
  iceServers?: RTCIceServer[];
  /** REGISTER expiry asked for, seconds (default 300); sip.js refreshes at 80 % of the granted expiry. */
  registerExpires?: number;
  /** Delays between reconnect attempts (default 500 ms doubling to 30 s, full jitter). */
  reconnect?: BackoffPolicy;
  random?: () => number;
  now?: () => number;
  /** Each change of state; `reason` says why for 'failed' and 'reconnecting'. */
  onChange?: (state: SipRegistrationState, reason: string | null) => void;
  /** Registered again after a drop (the softphone re-INVITEs its live call with an ICE restart). */
  onReconnected?: () => void;
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export class SipRegistration {
  state: SipRegistrationState = 'unregistered';
  /** The credentials in use (renewed in place), null when stopped. */
  credentials: SipCredentials | null = null;
  /** For diagnostics and tests: REGISTERs accepted, and re-registrations after a drop. */
  readonly counters = { registrations: 0, reconnects: 0 };
  private agent: UserAgent | null = null;
  private registerer: Registerer | null = null;
  /** Between start() and stop(). */
  private wanted = false;
  /** start() has not settled yet: a lost link fails it instead of reconnecting. */
  private starting: Promise<void> | null = null;
  /** Settles the REGISTER in flight with an error (link lost, stopped). */
  private abort: ((error: Error) => void) | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private credentialTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly backoff: Backoff;
  private readonly now: () => number;

  constructor(private readonly opts: SipRegistrationOptions) {
    this.backoff = new Backoff(opts.reconnect ?? { initialMs: 500, maxMs: 30_000 }, opts.random);
    this.now = opts.now ?? Date.now;
  }

  /** The UserAgent while started (calls are made on it). */
  get ua(): UserAgent | null {
    return this.agent;
  }

  /**
   * The ICE configuration calls use now (TURN servers with their current credentials, the
   * relay policy), or null before the first credentials: other peer connections of the
   * page (supervisor monitoring) take the same.
   */
  get iceConfiguration(): RTCConfiguration | null {
    return this.credentials ? this.peerConnectionConfiguration(this.credentials) : null;
  }

  /** Started or starting. */
  get active(): boolean {
    return this.wanted;
  }

  /** Fetch credentials, connect, REGISTER; resolves when registered, rejects (and tears down) otherwise. */
  start(): Promise<void> {
    if (this.starting) return this.starting;
    if (this.wanted) return Promise.resolve();
    const run = this.run();
    this.starting = run;
    return run;
  }

  private async run(): Promise<void> {
    this.wanted = true;
    this.set('registering', null);
    try {
      const creds = await this.opts.credentials();
      if (!this.wanted) throw new Error('registration stopped');
      const server = this.opts.server(creds);
      const uri = UserAgent.makeURI(creds.aor);
      if (!uri) throw new Error(`invalid SIP address ${creds.aor}`);
      const extra = this.opts.userAgent?.(creds) ?? {};
      const ua = new UserAgent({
        logBuiltinEnabled: false,
        logLevel: 'error',
        sessionDescriptionHandlerFactoryOptions: {
          peerConnectionConfiguration: this.peerConnectionConfiguration(creds),
          iceGatheringTimeout: 1000,
        },
        ...extra,
        uri,
        authorizationUsername: creds.username,
        authorizationPassword: creds.password,
        transportOptions: { server, connectionTimeout: 5 },
        delegate: { ...extra.delegate, onDisconnect: (error) => this.onDisconnect(error) },
      });
      this.credentials = creds;
      this.agent = ua;
      this.scheduleCredentialRefresh(creds);
      await ua.start();
      if (!this.wanted) throw new Error('registration stopped');
      await this.register();
      this.starting = null;
      this.set('registered', null);
    } catch (e) {
      this.starting = null;
      const stopped = !this.wanted;
      this.wanted = false;
      await this.teardown();
      if (!stopped) this.set('failed', toError(e).message);
      throw e;
    }
  }

  /** Unregister (when registered) and disconnect; a start() in progress rejects at once. */
  async stop(): Promise<void> {
    this.wanted = false;
    this.abort?.(new Error('registration stopped'));
    const registerer = this.registerer;
    if (registerer?.state === RegistererState.Registered) {
      this.registerer = null;
      try {
        await registerer.unregister();
        await registerer.dispose();
      } catch {
        // The link is gone: nothing to unregister from.
      }
    }
    await this.teardown();
    this.set('unregistered', null);
  }

  private set(state: SipRegistrationState, reason: string | null): void {
    if (this.state === state) return;
    this.state = state;
    this.opts.onChange?.(state, reason);
  }

  /** REGISTER with a fresh Registerer; settles whatever becomes of it. */
  private register(): Promise<void> {
    const ua = this.agent;
    if (!ua || !this.wanted) return Promise.reject(new Error('registration stopped'));
    this.dropRegisterer();
    const registerer = new Registerer(ua, {
      expires: this.opts.registerExpires ?? 300,
      refreshFrequency: 80,
    });
    this.registerer = registerer;
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const settle = (error: Error | null) => {
        if (done) return;
        done = true;
        registerer.stateChange.removeListener(onState);
        if (this.abort === settle) this.abort = null;
        if (error) return reject(error);
        this.counters.registrations++;
        this.watch(registerer);
        resolve();
      };
      const onState = (s: RegistererState) => {
        if (s === RegistererState.Registered) settle(null);
        else if (s === RegistererState.Terminated) settle(new Error('registration ended'));
        else if (s === RegistererState.Unregistered)
          // sip.js enters Unregistered just before it calls onReject: let the precise reason settle first.
          queueMicrotask(() =>
            settle(new Error('REGISTER not accepted: the registrar kept no registration')),
          );
      };
      this.abort = settle;
      registerer.stateChange.addListener(onState);
      try {
        registerer
          .register({
            requestDelegate: {
              onReject: (r) =>
                settle(new Error(`REGISTER refused: ${r.message.statusCode} ${r.message.reasonPhrase}`)),
            },
          })
          .catch((e: unknown) =>
            settle(
              e instanceof RequestPendingError
                ? new Error('a registration is already in progress')
                : toError(e),
            ),
          );
      } catch (e) {
        settle(toError(e));
      }
    });
  }

  /** The current registration lapsing later (a refresh refused, expired) takes the reconnect path. */
  private watch(registerer: Registerer): void {
    registerer.stateChange.addListener((s) => {
      if (this.registerer !== registerer || !this.wanted) return;
      if (s === RegistererState.Unregistered || s === RegistererState.Terminated)
        this.onDisconnect(new Error('registration lapsed'));
    });
  }

  /** Forget the current Registerer (its REGISTER may be stuck on a dead socket): never reused, never awaited. */
  private dropRegisterer(): void {
    const old = this.registerer;
    this.registerer = null;
    old?.dispose().catch(() => undefined);
  }

  /**
   * ICE for the calls: the authority's TURN servers (short-lived credentials) and policy
   * ("relay" on locked-down sites), else the servers given in the options, else none.
   */
  private peerConnectionConfiguration(creds: SipCredentials): RTCConfiguration {
    const servers = creds.ice.servers.length > 0 ? creds.ice.servers : (this.opts.iceServers ?? []);
    return { iceServers: servers, iceTransportPolicy: creds.ice.transportPolicy };
  }

  /** New ephemeral credentials before 80 % of their lifetime (the next REGISTER uses them). */
  private scheduleCredentialRefresh(creds: SipCredentials): void {
    if (this.credentialTimer) clearTimeout(this.credentialTimer);
    const lifetime = Date.parse(creds.expiresAt) - this.now();
    const delay = Math.max(5_000, Math.min(lifetime * 0.8, 2 ** 31 - 1));
    this.credentialTimer = setTimeout(() => {
      this.opts.credentials().then(
        (next) => {
          const ua = this.agent;
          if (!ua || !this.wanted) return;
          this.credentials = next;
          ua.configuration.authorizationUsername = next.username;
          ua.configuration.authorizationPassword = next.password;
          // New TURN credentials for the calls from now on (a call keeps the ones it started with).
          const sdh = ua.configuration.sessionDescriptionHandlerFactoryOptions as {
            peerConnectionConfiguration?: RTCConfiguration;
          };
          sdh.peerConnectionConfiguration = this.peerConnectionConfiguration(next);
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

  /** The WebSocket dropped or the registration lapsed: fail a start in progress, else reconnect with backoff. */
  private onDisconnect(error: Error | undefined): void {
    const ua = this.agent;
    if (!this.wanted || !ua) return;
    if (!error && ua.transport.isConnected()) return;
    this.abort?.(new Error('the link to the SIP server was lost'));
    if (this.starting || this.reconnectTimer) return;
    if (!ua.transport.isConnected()) this.dropRegisterer();
    this.set('reconnecting', error?.message ?? 'the link to the SIP server was closed');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.reconnect();
    }, this.backoff.next());
  }

  private async reconnect(): Promise<void> {
    const ua = this.agent;
    if (!ua || !this.wanted) return;
    try {
      if (!ua.transport.isConnected()) await ua.reconnect();
      await this.register();
    } catch {
      if (this.agent === ua) this.onDisconnect(new Error('reconnect failed'));
      return;
    }
    this.counters.reconnects++;
    this.backoff.reset();
    this.set('registered', null);
    this.opts.onReconnected?.();
  }

  private async teardown(): Promise<void> {
    for (const t of [this.reconnectTimer, this.credentialTimer]) if (t) clearTimeout(t);
    this.reconnectTimer = this.credentialTimer = null;
    this.backoff.reset();
    const ua = this.agent;
    this.agent = null;
    this.credentials = null;
    this.dropRegisterer();
    await ua?.stop().catch(() => undefined);
  }
}
