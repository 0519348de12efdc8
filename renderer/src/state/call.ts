import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { Softphone } from '../softphone/softphone.ts';
import { Store } from './store.ts';
import type { WorkStore } from './work.ts';

export interface CallControlsState {
  busy: 'calling' | 'hanging_up' | 'holding' | null;
  /** The last refused action, in words (e.g. "No softphone connected"). */
  message: string | null;
  /** A tel: or sip: link handed to the console (click-to-dial) that it could not place. */
  dial: string | null;
}

/**
 * Call controls for the active request: they get the call ticket from the authority
 * and drive the Softphone. The shortcuts and the buttons both land here.
 */
export class CallControlsStore extends Store<CallControlsState> {
  constructor(
    private readonly bridge: ConsoleBridge,
    readonly softphone: Softphone,
    private readonly work: WorkStore,
  ) {
    super({ busy: null, message: null, dial: null });
    bridge.on('dial', ({ uri }) => {
      // Outbound calls need the softphone; until one is connected, say so instead of dropping the click.
      if (!softphone.getSnapshot().present) this.patch({ dial: uri });
    });
    work.subscribe(() => {
      if (work.getState().phase !== 'active' && this.state.message) this.patch({ message: null });
    });
  }

  dismissDial(): void {
    this.patch({ dial: null });
  }

  private async run(busy: CallControlsState['busy'], action: () => Promise<void>): Promise<void> {
    this.patch({ busy, message: null });
    try {
      await action();
      this.patch({ busy: null });
    } catch (e) {
      this.patch({ busy: null, message: errorText(e) });
    }
  }

  callCustomer(): Promise<void> {
    const s = this.work.getState();
    if (s.phase !== 'active') return Promise.resolve();
    return this.run('calling', async () => {
      if (!this.softphone.getSnapshot().present) throw new Error('No softphone connected');
      const ticket = await this.bridge.invoke('call.ticket', {
        requestId: s.request.requestId,
        fence: s.request.fence,
      });
      await this.softphone.call({ requestId: s.request.requestId, ticket });
    });
  }

  private get active(): boolean {
    return this.work.getState().phase === 'active';
  }

  hangUp(): Promise<void> {
    if (!this.active) return Promise.resolve();
    return this.run('hanging_up', () => this.softphone.hangUp());
  }

  toggleHold(): Promise<void> {
    if (!this.active) return Promise.resolve();
    const on = this.softphone.getSnapshot().line !== 'held';
    return this.run('holding', () => this.softphone.hold(on));
  }

  toggleMute(): void {
    if (!this.active) return;
    try {
      this.softphone.mute(!this.softphone.getSnapshot().muted);
      this.patch({ message: null });
    } catch (e) {
      this.patch({ message: errorText(e) });
    }
  }
}
