import { enableWake } from '../wake.ts';
import { closingMessage } from './closing.ts';
import type { RequestView } from '../../../../protocol/src/index.ts';
import type { AppState, AppStore, MenuLeaf } from './app-state.ts';

/** Getting help: the menu, a step-up when the option needs a higher level, the open request (callbacks, cancel). */
export class HelpStore {
  /** The agent who last held the open request (to tell the customer about a transfer). */
  private holder: string | null = null;
  /** The request and level the authentication was last fetched again for (refreshAuthentication). */
  private refreshedFor: string | null = null;

  constructor(private readonly app: AppStore) {}

  /**
   * The request's level rose above this phone's authentication on the agent's side (the
   * security questions, a compared photo): fetch the authentication again, once per level,
   * so "Verified: ..." names the factors really used, never the level's "PIN or photo".
   */
  private refreshAuthentication(r: RequestView): void {
    const auth = this.app.getState().authentication;
    const key = `${r.requestId}:${r.level}`;
    if (!auth || r.level <= auth.level || this.refreshedFor === key) return;
    this.refreshedFor = key;
    this.app.device?.me().catch(() => undefined);
  }

  /** The open request changed (feed or resume): keep it while it lives, say so when it ends or moves. */
  onRequest(r: RequestView | null): void {
    const live = r !== null && ['waiting', 'offered', 'assigned', 'scheduled'].includes(r.state);
    const patch: Partial<AppState> = {
      request: live ? r : null,
      ...(live ? {} : { consulting: false }),
      controlStopped: this.app.device?.commands.stopped ?? false,
    };
    // A transfer: the request is assigned to someone else than before.
    if (live && r.state === 'assigned' && r.agentName) {
      if (this.holder && this.holder !== r.agentName)
        patch.controlNotice = `You are now with ${r.agentName}.`;
      this.holder = r.agentName;
    }
    const holder = this.holder;
    if (!live) {
      this.holder = null;
      patch.controlNotice = null;
    }
    const wasOpen = this.app.getState().request !== null;
    this.app.set(patch);
    if (live) this.refreshAuthentication(r);
    if (!live && (wasOpen || this.app.getState().screen.name === 'waiting')) {
      const notice = closingMessage(r, holder, this.app.getState().company);
      if (['waiting', 'call-ended', 'continuing'].includes(this.app.getState().screen.name))
        this.app.go({ name: 'home' }, { notice });
      else this.app.set({ notice });
    }
  }

  getHelp(): Promise<void> {
    if (this.app.getState().request) return Promise.resolve(this.app.go({ name: 'waiting' }));
    return this.app.run('Loading the menu…', async () => {
      const menu = await this.app.requireDevice().menu();
      this.app.go({ name: 'menu', path: [] }, { company: menu.company, menu: menu.menu });
    });
  }

  openBranch(path: string[]): void {
    this.app.go({ name: 'menu', path });
  }

  showRequest(): void {
    this.app.go({ name: 'waiting' });
  }

  chooseOption(option: MenuLeaf, idempotencyKey: string): Promise<void> {
    return this.app.run('Sending your request…', async () => {
      const r = await this.app.requireDevice().createRequest(option.id, idempotencyKey, option.channel);
      if (r.status === 'queued') return this.queued(option);
      this.app.go({
        name: 'step-up',
        option,
        needed: r.factorsNeeded,
        requiredLevel: r.requiredLevel,
        idempotencyKey,
        verifyOnCall: r.verifyOnCall === true,
      });
    });
  }

  private async retryAfterStepUp(): Promise<void> {
    const s = this.app.getState().screen;
    if (s.name !== 'step-up') return;
    const r = await this.app.requireDevice().createRequest(s.option.id, s.idempotencyKey, s.option.channel);
    if (r.status === 'queued') this.queued(s.option);
    else
      this.app.go(
        {
          ...s,
          needed: r.factorsNeeded,
          requiredLevel: r.requiredLevel,
          verifyOnCall: r.verifyOnCall === true,
        },
        { error: 'One more check is needed.' },
      );
  }

  /**
   * No check this phone can do: queue at the level it has, the agent asks the security
   * questions on the call (only where the option allows it: the step-up answer said so).
   */
  explainOnCall(): Promise<void> {
    return this.app.run('Sending your request…', async () => {
      const s = this.app.getState().screen;
      if (s.name !== 'step-up' || !s.verifyOnCall) return;
      const r = await this.app
        .requireDevice()
        .createRequest(s.option.id, s.idempotencyKey, s.option.channel, { verifyOnCall: true });
      if (r.status !== 'queued') return this.app.go(s, { error: 'This option needs one more check.' });
      this.queued(s.option);
    });
  }

  /** The request is in the queue: the phone may be woken for it, the waiting screen shows it. */
  private queued(option: MenuLeaf): void {
    void enableWake(this.app.requireDevice());
    this.app.go({ name: 'waiting' }, { chatWanted: option.channel === 'chat' });
  }

  stepUpWithPin(pin: string): Promise<void> {
    return this.app.run('Checking your PIN…', async () => {
      await this.app.requireDevice().verifyPin(pin);
      await this.retryAfterStepUp();
    });
  }

  stepUpWithFingerprint(): Promise<void> {
    return this.app.run('Waiting for your fingerprint…', async () => {
      await this.app.requireDevice().verifyBiometric();
      await this.retryAfterStepUp();
    });
  }

  /** A fingerprint registered on the spot (the option needs one and this phone has none yet), then used. */
  registerThenStepUp(): Promise<void> {
    return this.app.run('Waiting for your fingerprint…', async () => {
      const d = this.app.requireDevice();
      await d.registerBiometric();
      await this.app.loadProfile();
      await d.verifyBiometric();
      await this.retryAfterStepUp();
    });
  }

  stepUpWithPhoto(photo: Blob): Promise<void> {
    return this.app.run('Sending your photo…', async () => {
      await this.app.requireDevice().uploadPhoto(photo, 'verification');
      await this.retryAfterStepUp();
    });
  }

  // ---- waiting: callback choice and cancel -------------------------------------------

  loadSlots(day: string) {
    return this.app.requireDevice().callbackSlots(day);
  }

  keepPlace(): Promise<void> {
    return this.app.run('Keeping your place…', async () => {
      await this.app.requireDevice().keepPlace();
    });
  }

  bookSlot(slotStart: string): Promise<void> {
    return this.app.run('Booking your callback…', async () => {
      await this.app.requireDevice().bookSlot(slotStart);
    });
  }

  cancelRequest(): Promise<void> {
    return this.app.run('Cancelling…', async () => {
      await this.app.requireDevice().cancelRequest();
      this.app.go({ name: 'home' }, { notice: 'Your request was cancelled.', request: null });
    });
  }
}
