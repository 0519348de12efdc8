import type {
  AppScreen,
  AuthenticationView,
  DeviceMe,
  FactorKind,
  LiveMenuNodeShape,
  RequestView,
} from '../../../protocol/src/index.ts';
import {
  AccessDevice,
  AuthorityError,
  CallMedia,
  CommandInputError,
  CustomerPhone,
  hasPlatformBiometric,
  type AgentCommand,
  type BlockedCall,
  type FormDraft,
  type RefusedCommand,
  type FeedStatus,
  type PhoneRegistration,
  type ScreenResult,
  type VerifiedCall,
} from '../../sdk/index.ts';

export interface MenuLeaf {
  id: string;
  label: string;
  level: number;
}

export type Screen =
  | { name: 'loading' }
  | { name: 'welcome' }
  | { name: 'enrol-pin' }
  | { name: 'enrol-fingerprint' }
  | { name: 'enrol-photo' }
  | { name: 'home' }
  | { name: 'menu'; path: string[] }
  | { name: 'step-up'; option: MenuLeaf; needed: FactorKind[]; requiredLevel: number; idempotencyKey: string }
  | { name: 'waiting' }
  | { name: 'incoming'; call: VerifiedCall }
  | { name: 'in-call'; call: VerifiedCall; verifiedAt: string; since: number; micError: string | null }
  | { name: 'call-ended'; call: VerifiedCall; seconds: number }
  | { name: 'account' }
  | { name: 'help' };

export interface AppState {
  screen: Screen;
  /** What is in progress (shown on the busy button), or null. */
  busy: string | null;
  error: string | null;
  notice: string | null;
  customerName: string | null;
  company: string | null;
  authentication: AuthenticationView | null;
  enrolled: DeviceMe['enrolled'] | null;
  /** "A new phone was set up for you…": changes made on the customer's other devices, not acknowledged yet. */
  securityNotices: DeviceMe['notices'];
  /** Which factors this phone may add now (only during enrolment, or at the level the factor grants). */
  setup: DeviceMe['setup'] | null;
  menu: LiveMenuNodeShape[] | null;
  request: RequestView | null;
  feed: FeedStatus;
  blocked: BlockedCall[];
  /** The newest blocked call not dismissed yet (the banner). */
  blockedBanner: BlockedCall | null;
  /** The agent's commands on screen (verified by the SDK), oldest first. */
  commands: readonly AgentCommand[];
  /** Per card: what is being sent, and the last problem (a message, and per-field messages for forms). */
  commandBusy: Record<string, string>;
  commandErrors: Record<string, { message: string; fields: Record<string, string> }>;
  /** The customer pressed "Stop all" for the open request. */
  controlStopped: boolean;
  /** "Dana Reyes ended the requests on your phone.", "You are now with Sam Patel." */
  controlNotice: string | null;
  /** The last command refused before it could be shown (a discreet line, dismissible). */
  refusedCommand: RefusedCommand | null;
  biometricAvailable: boolean;
  muted: boolean;
  speaker: boolean;
  /** The SIP phone's registration (calls reach this phone only when 'registered'). */
  phone: PhoneRegistration;
  /** Keypad keys the agent pressed on this call (SIP INFO DTMF). */
  keys: string;
}

const initial: AppState = {
  screen: { name: 'loading' },
  busy: null,
  error: null,
  notice: null,
  customerName: null,
  company: null,
  authentication: null,
  enrolled: null,
  securityNotices: [],
  setup: null,
  menu: null,
  request: null,
  feed: 'closed',
  blocked: [],
  blockedBanner: null,
  commands: [],
  commandBusy: {},
  commandErrors: {},
  controlStopped: false,
  controlNotice: null,
  refusedCommand: null,
  biometricAvailable: false,
  muted: false,
  speaker: false,
  phone: 'unregistered',
  keys: '',
};

export const messageOf = (e: unknown): string => {
  if (e instanceof AuthorityError) return e.message.charAt(0).toUpperCase() + e.message.slice(1);
  if (e instanceof DOMException && e.name === 'NotAllowedError')
    return 'The fingerprint check was cancelled or did not match. Try again.';
  return e instanceof Error ? e.message : String(e);
};

/**
 * The app's state and actions, outside React (components subscribe and render).
 * One AccessDevice from the SDK does the work; this class only sequences screens.
 */
export class AppController {
  private state: AppState = initial;
  private readonly listeners = new Set<() => void>();
  private device: AccessDevice | null = null;
  private media: CallMedia | null = null;
  private phone: CustomerPhone | null = null;
  /** The agent who last held the open request (to tell the customer about a transfer). */
  private holder: string | null = null;

  getState = (): AppState => this.state;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  private set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of this.listeners) l();
  }

  private go(screen: Screen, patch: Partial<AppState> = {}): void {
    this.set({ screen, error: null, busy: null, ...patch });
  }

  private requireDevice(): AccessDevice {
    if (!this.device) throw new Error('the app is not started');
    return this.device;
  }

  /** Run an action with a busy label; errors stay on the current screen. */
  private async run(busy: string, action: () => Promise<void>): Promise<void> {
    if (this.state.busy) return;
    this.set({ busy, error: null, notice: null });
    try {
      await action();
      if (this.state.busy === busy) this.set({ busy: null });
    } catch (e) {
      this.set({ busy: null, error: messageOf(e) });
    }
  }

  async start(device?: AccessDevice): Promise<void> {
    const d = device ?? (await AccessDevice.open());
    this.device = d;
    d.on('authentication', (a) => this.set({ authentication: a }));
    d.on('request', (r) => this.onRequest(r));
    d.on('feed', (s) => this.set({ feed: s }));
    d.guard.on('blocked', (b) =>
      this.set({ blocked: [b, ...this.state.blocked].slice(0, 20), blockedBanner: b }),
    );
    d.commands.on('changed', (list) => {
      const ids = new Set(list.map((c) => c.commandId));
      const keep = <T>(r: Record<string, T>) =>
        Object.fromEntries(Object.entries(r).filter(([id]) => ids.has(id))) as Record<string, T>;
      this.set({
        commands: list,
        commandBusy: keep(this.state.commandBusy),
        commandErrors: keep(this.state.commandErrors),
      });
    });
    d.commands.on('refused', (r) => this.set({ refusedCommand: r }));
    d.commands.on('ended', (e) =>
      this.set({
        controlNotice: `${e.agentName} ended the requests on your phone.${e.reason ? ` ${e.reason}` : ''}`,
      }),
    );
    d.commands.on('control', (c) => this.set({ controlStopped: c.stopped }));
    this.set({ biometricAvailable: await hasPlatformBiometric() });
    if (!d.enrolled) return this.go({ name: 'welcome' });
    try {
      await d.authenticate();
      this.startPhone();
      await this.loadProfile();
      const r = await d.resume();
      this.go(r ? { name: 'waiting' } : { name: 'home' });
    } catch (e) {
      if (e instanceof AuthorityError && e.status === 404) {
        // The authority no longer knows this device: start again.
        await d.forget();
        return this.go({ name: 'welcome' }, { notice: 'This phone needs to be set up again.' });
      }
      this.go({ name: 'home' }, { error: messageOf(e) });
    }
  }

  private async loadProfile(): Promise<void> {
    const d = this.requireDevice();
    const [me, menu] = await Promise.all([d.me(), d.menu()]);
    this.set({
      customerName: me.customerName,
      enrolled: me.enrolled,
      securityNotices: me.notices,
      setup: me.setup,
      company: menu.company,
      menu: menu.menu,
    });
  }

  private onRequest(r: RequestView | null): void {
    const live = r !== null && ['waiting', 'offered', 'assigned', 'scheduled'].includes(r.state);
    const patch: Partial<AppState> = {
      request: live ? r : null,
      controlStopped: this.device?.commands.stopped ?? false,
    };
    // A transfer: the request is assigned to someone else than before.
    if (live && r.state === 'assigned' && r.agentName) {
      if (this.holder && this.holder !== r.agentName)
        patch.controlNotice = `You are now with ${r.agentName}.`;
      this.holder = r.agentName;
    }
    if (!live) {
      this.holder = null;
      patch.controlNotice = null;
    }
    this.set(patch);
    if (!live && this.state.screen.name === 'waiting')
      this.go(
        { name: 'home' },
        { notice: r?.state === 'completed' ? 'Your request is complete.' : 'Your request has ended.' },
      );
  }

  /** "That was me": the notice is acknowledged on the authority and leaves the screen. */
  acknowledgeNotice(noticeId: string): Promise<void> {
    return this.run('Saving…', async () => {
      await this.requireDevice().acknowledgeNotice(noticeId);
      this.set({ securityNotices: this.state.securityNotices.filter((n) => n.noticeId !== noticeId) });
    });
  }

  // ---- enrolment ----------------------------------------------------------------

  enrol(code: string): Promise<void> {
    return this.run('Checking the code…', async () => {
      const d = this.requireDevice();
      const who = await d.enrol(code.trim().toUpperCase());
      this.startPhone();
      this.set({ customerName: who.customerName });
      await this.loadProfile();
      this.go({ name: 'enrol-pin' });
    });
  }

  /** Set the PIN, then verify with it at once: the authentication reaches level 2. */
  setPin(pin: string): Promise<void> {
    return this.run('Saving your PIN…', async () => {
      const d = this.requireDevice();
      await d.setPin(pin);
      await d.verifyPin(pin);
      await this.loadProfile();
      this.go({ name: 'enrol-fingerprint' });
    });
  }

  addFingerprint(next: Screen = { name: 'enrol-photo' }): Promise<void> {
    return this.run('Waiting for your fingerprint…', async () => {
      await this.requireDevice().registerBiometric();
      await this.loadProfile();
      this.go(next, { notice: 'Fingerprint added.' });
    });
  }

  skipTo(screen: Screen): void {
    this.go(screen);
  }

  uploadEnrolmentPhoto(photo: Blob): Promise<void> {
    return this.run('Saving your photo…', async () => {
      await this.requireDevice().uploadPhoto(photo, 'enrolment');
      await this.loadProfile();
      const first = this.state.customerName?.split(' ')[0];
      this.go({ name: 'home' }, { notice: first ? `You’re all set, ${first}.` : 'You’re all set.' });
    });
  }

  // ---- help: menu, step-up, request ---------------------------------------------------

  getHelp(): Promise<void> {
    if (this.state.request) return Promise.resolve(this.go({ name: 'waiting' }));
    return this.run('Loading the menu…', async () => {
      const menu = await this.requireDevice().menu();
      this.go({ name: 'menu', path: [] }, { company: menu.company, menu: menu.menu });
    });
  }

  openBranch(path: string[]): void {
    this.go({ name: 'menu', path });
  }

  home(): void {
    this.go({ name: 'home' });
  }

  showRequest(): void {
    this.go({ name: 'waiting' });
  }

  chooseOption(
    option: MenuLeaf,
    idempotencyKey: string = crypto.randomUUID().replace(/-/g, ''),
  ): Promise<void> {
    return this.run('Sending your request…', async () => {
      const r = await this.requireDevice().createRequest(option.id, idempotencyKey);
      if (r.status === 'queued') return this.go({ name: 'waiting' });
      this.go({
        name: 'step-up',
        option,
        needed: r.factorsNeeded,
        requiredLevel: r.requiredLevel,
        idempotencyKey,
      });
    });
  }

  private async retryAfterStepUp(): Promise<void> {
    const s = this.state.screen;
    if (s.name !== 'step-up') return;
    const r = await this.requireDevice().createRequest(s.option.id, s.idempotencyKey);
    if (r.status === 'queued') this.go({ name: 'waiting' });
    else
      this.go(
        { ...s, needed: r.factorsNeeded, requiredLevel: r.requiredLevel },
        { error: 'One more check is needed.' },
      );
  }

  stepUpWithPin(pin: string): Promise<void> {
    return this.run('Checking your PIN…', async () => {
      await this.requireDevice().verifyPin(pin);
      await this.retryAfterStepUp();
    });
  }

  stepUpWithFingerprint(): Promise<void> {
    return this.run('Waiting for your fingerprint…', async () => {
      await this.requireDevice().verifyBiometric();
      await this.retryAfterStepUp();
    });
  }

  /** A fingerprint registered on the spot (the option needs one and this phone has none yet), then used. */
  registerThenStepUp(): Promise<void> {
    return this.run('Waiting for your fingerprint…', async () => {
      const d = this.requireDevice();
      await d.registerBiometric();
      await this.loadProfile();
      await d.verifyBiometric();
      await this.retryAfterStepUp();
    });
  }

  stepUpWithPhoto(photo: Blob): Promise<void> {
    return this.run('Sending your photo…', async () => {
      await this.requireDevice().uploadPhoto(photo, 'verification');
      await this.retryAfterStepUp();
    });
  }

  // ---- waiting: callback choice and cancel -------------------------------------------

  loadSlots(day: string) {
    return this.requireDevice().callbackSlots(day);
  }

  keepPlace(): Promise<void> {
    return this.run('Keeping your place…', async () => {
      await this.requireDevice().keepPlace();
    });
  }

  bookSlot(slotStart: string): Promise<void> {
    return this.run('Booking your callback…', async () => {
      await this.requireDevice().bookSlot(slotStart);
    });
  }

  cancelRequest(): Promise<void> {
    return this.run('Cancelling…', async () => {
      await this.requireDevice().cancelRequest();
      this.go({ name: 'home' }, { notice: 'Your request was cancelled.', request: null });
    });
  }

  dismissBlocked(): void {
    this.set({ blockedBanner: null });
  }

  // ---- calls ---------------------------------------------------------------------

  /**
   * Register the SIP phone once the device is authenticated. Its INVITEs go through
   * the same IncomingCallGuard: blocked ones are refused (403) and shown by the
   * guard's 'blocked' event; verified ones ring here.
   */
  private startPhone(): void {
    if (this.phone || typeof document === 'undefined') return;
    const d = this.requireDevice();
    const audio = document.createElement('audio');
    audio.id = 'vd-remote-audio';
    audio.autoplay = true;
    audio.hidden = true;
    document.body.append(audio);
    const phone = new CustomerPhone({ credentials: () => d.sipCredentials(), guard: d.guard, audio });
    this.phone = phone;
    phone.on('registration', (s) => this.set({ phone: s }));
    phone.on('ringing', (call) => this.go({ name: 'incoming', call }, { blockedBanner: null, keys: '' }));
    phone.on('dtmf', ({ key }) => this.set({ keys: (this.state.keys + key).slice(-32) }));
    phone.on('ended', ({ call, by }) => {
      const s = this.state.screen;
      if (by === 'local') return;
      if (s.name === 'incoming' && s.call === call)
        this.go(this.state.request ? { name: 'waiting' } : { name: 'home' }, {
          notice: `Missed call from ${call.company}.`,
        });
      else if (s.name === 'in-call' && s.call === call) this.endCall();
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
    const result = await this.requireDevice().guard.screen(ticket);
    // A verified call takes the screen; older blocked calls stay listed on the home screen.
    if (result.verdict === 'ring')
      this.go({ name: 'incoming', call: result.call }, { blockedBanner: null, keys: '' });
    return result;
  }

  answer(): Promise<void> {
    const s = this.state.screen;
    if (s.name !== 'incoming') return Promise.resolve();
    return this.run('Connecting…', async () => {
      const { proof, result } = await this.requireDevice().guard.answer(s.call);
      const { media, error } = await CallMedia.open();
      this.media = media;
      // A call that came over SIP: 200 OK with the proof header and the microphone.
      if (this.phone?.isLive(s.call))
        await this.phone.answer(s.call, proof, media.microphone).catch((e: unknown) => {
          media.hangUp();
          this.media = null;
          throw e;
        });
      this.go(
        { name: 'in-call', call: s.call, verifiedAt: result.at, since: Date.now(), micError: error },
        { muted: false, speaker: false },
      );
    });
  }

  decline(): void {
    void this.phone?.hangUp();
    this.go(this.state.request ? { name: 'waiting' } : { name: 'home' });
  }

  toggleMute(): void {
    const muted = !this.state.muted;
    this.media?.setMuted(muted);
    this.set({ muted });
  }

  toggleSpeaker(): void {
    const speaker = !this.state.speaker;
    this.media?.setSpeaker(speaker);
    this.set({ speaker });
  }

  hangUp(): void {
    if (this.state.screen.name !== 'in-call') return;
    void this.phone?.hangUp();
    this.endCall();
  }

  private endCall(): void {
    const s = this.state.screen;
    if (s.name !== 'in-call') return;
    this.media?.hangUp();
    this.media = null;
    this.go({ name: 'call-ended', call: s.call, seconds: Math.round((Date.now() - s.since) / 1000) });
  }

  afterCall(): void {
    this.go(this.state.request ? { name: 'waiting' } : { name: 'home' });
  }

  // ---- the agent's commands on this phone ------------------------------------------------

  dismissControlNotice(): void {
    this.set({ controlNotice: null });
  }

  dismissRefused(): void {
    this.set({ refusedCommand: null });
  }

  /** A card is on screen: the SDK acknowledges it once (the agent sees "shown"). */
  commandShown(commandId: string): void {
    void this.requireDevice().commands.shown(commandId);
  }

  /** Run one card's answer with its own busy label; its problems stay on that card. */
  private async runCommand(commandId: string, busy: string, action: () => Promise<unknown>): Promise<void> {
    if (this.state.commandBusy[commandId]) return;
    const { [commandId]: _e, ...errors } = this.state.commandErrors;
    this.set({ commandBusy: { ...this.state.commandBusy, [commandId]: busy }, commandErrors: errors });
    try {
      await action();
    } catch (e) {
      if (this.state.commands.some((c) => c.commandId === commandId))
        this.set({
          commandErrors: {
            ...this.state.commandErrors,
            [commandId]: {
              message:
                e instanceof AuthorityError && e.code === 'menu_revised'
                  ? 'The options changed. Choose again.'
                  : messageOf(e),
              fields: e instanceof CommandInputError ? e.fields : {},
            },
          },
        });
      else if (!(e instanceof AuthorityError || e instanceof CommandInputError)) throw e;
    } finally {
      const { [commandId]: _b, ...rest } = this.state.commandBusy;
      this.set({ commandBusy: rest });
    }
  }

  declineCommand(commandId: string): Promise<void> {
    return this.runCommand(commandId, 'Declining…', () => this.requireDevice().commands.decline(commandId));
  }

  verifyCommandWithPin(commandId: string, pin: string): Promise<void> {
    return this.runCommand(commandId, 'Checking your PIN…', () =>
      this.requireDevice().commands.verifyWithPin(commandId, pin),
    );
  }

  verifyCommandWithFingerprint(commandId: string): Promise<void> {
    return this.runCommand(commandId, 'Waiting for your fingerprint…', () =>
      this.requireDevice().commands.verifyWithBiometric(commandId),
    );
  }

  sendCommandImage(commandId: string, image: Blob): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () =>
      this.requireDevice().commands.sendImage(commandId, image),
    );
  }

  answerCommandText(commandId: string, value: string): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () =>
      this.requireDevice().commands.answerText(commandId, value),
    );
  }

  chooseCommandItem(commandId: string, itemId: string): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () =>
      this.requireDevice().commands.chooseMenuItem(commandId, itemId),
    );
  }

  submitCommandForm(commandId: string, draft: FormDraft): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () =>
      this.requireDevice().commands.submitForm(commandId, draft),
    );
  }

  confirmCommandTransaction(commandId: string): Promise<void> {
    return this.runCommand(commandId, 'Signing on this phone…', () =>
      this.requireDevice().commands.confirmTransaction(commandId),
    );
  }

  /** The screen the agent asked for, then the answer. */
  navigateCommand(commandId: string, screen: AppScreen): Promise<void> {
    return this.runCommand(commandId, 'Opening…', async () => {
      const d = this.requireDevice();
      const current = this.state.screen;
      switch (screen) {
        case 'home':
          this.go({ name: 'home' });
          break;
        case 'menu':
          this.go({ name: 'menu', path: [] });
          break;
        case 'request':
          if (!this.state.request) throw new CommandInputError('There is no open request on this phone.');
          this.go({ name: 'waiting' });
          break;
        case 'call':
          if (current.name !== 'in-call' && current.name !== 'incoming')
            throw new CommandInputError('There is no call on this phone right now.');
          break;
        case 'account':
          this.go({ name: 'account' });
          break;
        case 'help':
          this.go({ name: 'help' });
          break;
        default: {
          const never: never = screen;
          return never;
        }
      }
      await d.commands.navigated(commandId);
    });
  }

  /** The customer's "Stop all": every open request of the agent is cancelled and no new one can arrive. */
  stopAll(): Promise<void> {
    return this.run('Stopping…', async () => {
      await this.requireDevice().commands.stopControl();
      this.set({ controlStopped: true, controlNotice: null });
    });
  }

  /** "Allow again" after "Stop all". */
  allowAgain(): Promise<void> {
    return this.run('Allowing…', async () => {
      await this.requireDevice().commands.resumeControl();
      this.set({ controlStopped: false });
    });
  }

  /**
   * A picture of the app's own screen (what the customer sees, without the agent's
   * cards), as a PNG, for a screenshot request. modern-screenshot renders the DOM.
   */
  async captureScreen(): Promise<Blob> {
    const root = document.querySelector<HTMLElement>('.app');
    if (!root) throw new Error('nothing to capture');
    const { domToBlob } = await import('modern-screenshot');
    return domToBlob(root, {
      type: 'image/png',
      scale: 1,
      backgroundColor: '#f3f5f9',
      filter: (n) => !(n instanceof HTMLElement && n.dataset.noCapture !== undefined),
    });
  }
}
