import type { AppScreen, ConfirmReceipt } from '../../../../protocol/src/index.ts';
import { AuthorityError, CommandInputError, type AccessDevice, type FormDraft } from '../../../sdk/index.ts';
import { messageOf, type AppStore } from './app-state.ts';

/**
 * Remote control on this phone: the agent's commands as cards (verified by the SDK's
 * DeviceCommands), each answered with its own busy label and errors, and the
 * customer's "Stop all" / "Allow again".
 */
export class AgentCommandsStore {
  constructor(private readonly app: AppStore) {}

  attach(d: AccessDevice): void {
    d.commands.on('changed', (list) => {
      const ids = new Set(list.map((c) => c.commandId));
      const keep = <T>(r: Record<string, T>) =>
        Object.fromEntries(Object.entries(r).filter(([id]) => ids.has(id))) as Record<string, T>;
      const s = this.app.getState();
      this.app.set({
        commands: list,
        commandBusy: keep(s.commandBusy),
        commandErrors: keep(s.commandErrors),
      });
    });
    d.commands.on('refused', (r) => this.app.set({ refusedCommand: r }));
    d.commands.on('ended', (e) =>
      this.app.set({
        controlNotice: `${e.agentName} ended the requests on your phone.${e.reason ? ` ${e.reason}` : ''}`,
      }),
    );
    d.commands.on('control', (c) => this.app.set({ controlStopped: c.stopped }));
  }

  dismissControlNotice(): void {
    this.app.set({ controlNotice: null });
  }

  dismissRefused(): void {
    this.app.set({ refusedCommand: null });
  }

  /** A card is on screen: the SDK acknowledges it once (the agent sees "shown"). */
  commandShown(commandId: string): void {
    void this.app.requireDevice().commands.shown(commandId);
  }

  /** Run one card's answer with its own busy label; its problems stay on that card. */
  private async runCommand(commandId: string, busy: string, action: () => Promise<unknown>): Promise<void> {
    if (this.app.getState().commandBusy[commandId]) return;
    const { [commandId]: _e, ...errors } = this.app.getState().commandErrors;
    this.app.set({
      commandBusy: { ...this.app.getState().commandBusy, [commandId]: busy },
      commandErrors: errors,
    });
    try {
      await action();
    } catch (e) {
      if (this.app.getState().commands.some((c) => c.commandId === commandId))
        this.app.set({
          commandErrors: {
            ...this.app.getState().commandErrors,
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
      const { [commandId]: _b, ...rest } = this.app.getState().commandBusy;
      this.app.set({ commandBusy: rest });
    }
  }

  private get commands() {
    return this.app.requireDevice().commands;
  }

  declineCommand(commandId: string): Promise<void> {
    return this.runCommand(commandId, 'Declining…', () => this.commands.decline(commandId));
  }

  verifyCommandWithPin(commandId: string, pin: string): Promise<void> {
    return this.runCommand(commandId, 'Checking your PIN…', () =>
      this.commands.verifyWithPin(commandId, pin),
    );
  }

  verifyCommandWithFingerprint(commandId: string): Promise<void> {
    return this.runCommand(commandId, 'Waiting for your fingerprint…', () =>
      this.commands.verifyWithBiometric(commandId),
    );
  }

  sendCommandImage(commandId: string, image: Blob): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () => this.commands.sendImage(commandId, image));
  }

  answerCommandText(commandId: string, value: string): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () => this.commands.answerText(commandId, value));
  }

  chooseCommandItem(commandId: string, itemId: string): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () => this.commands.chooseMenuItem(commandId, itemId));
  }

  submitCommandForm(commandId: string, draft: FormDraft): Promise<void> {
    return this.runCommand(commandId, 'Sending…', () => this.commands.submitForm(commandId, draft));
  }

  /** confirm: the fingerprint (over this very payment) or the PIN entered now; the receipt is kept. */
  confirmCommandTransaction(
    commandId: string,
    factor: { kind: 'biometric' } | { kind: 'pin'; pin: string },
  ): Promise<void> {
    return this.runCommand(
      commandId,
      factor.kind === 'biometric' ? 'Waiting for your fingerprint…' : 'Checking your PIN…',
      async () => {
        const { receipt } = await this.commands.confirmTransaction(commandId, factor);
        const s = this.app.getState();
        this.app.set({
          lastReceipt: receipt,
          receipts: [receipt, ...s.receipts.filter((r) => r.receiptId !== receipt.receiptId)],
        });
      },
    );
  }

  dismissReceipt(): void {
    this.app.set({ lastReceipt: null });
  }

  /** The customer's receipts from the authority (newest first). */
  async loadReceipts(): Promise<readonly ConfirmReceipt[]> {
    const receipts = await this.commands.receipts();
    this.app.set({ receipts });
    return receipts;
  }

  /** The screen the agent asked for, then the answer. */
  navigateCommand(commandId: string, screen: AppScreen): Promise<void> {
    return this.runCommand(commandId, 'Opening…', async () => {
      const d = this.app.requireDevice();
      const current = this.app.getState().screen;
      switch (screen) {
        case 'home':
          this.app.go({ name: 'home' });
          break;
        case 'menu':
          this.app.go({ name: 'menu', path: [] });
          break;
        case 'request':
          if (!this.app.getState().request)
            throw new CommandInputError('There is no open request on this phone.');
          this.app.go({ name: 'waiting' });
          break;
        case 'call':
          if (current.name !== 'in-call' && current.name !== 'incoming')
            throw new CommandInputError('There is no call on this phone right now.');
          break;
        case 'account':
          this.app.go({ name: 'account' });
          break;
        case 'help':
          this.app.go({ name: 'help' });
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
    return this.app.run('Stopping…', async () => {
      await this.app.requireDevice().commands.stopControl();
      this.app.set({ controlStopped: true, controlNotice: null });
    });
  }

  /** "Allow again" after "Stop all". */
  allowAgain(): Promise<void> {
    return this.app.run('Allowing…', async () => {
      await this.app.requireDevice().commands.resumeControl();
      this.app.set({ controlStopped: false });
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
