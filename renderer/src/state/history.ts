import type { HistoryEntry } from '../../../protocol/src/bridge.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export interface HistoryState {
  entries: HistoryEntry[] | null;
  loading: boolean;
  error: string | null;
}

/** This console's call history (main's local store), refreshed when shown and when the outbox moves. */
export class HistoryStore extends Store<HistoryState> {
  private active = false;

  constructor(private readonly bridge: ConsoleBridge) {
    super({ entries: null, loading: false, error: null });
    bridge.on('outbox.status', () => {
      if (this.active) void this.refresh();
    });
  }

  protected override onObserved(): void {
    this.active = true;
    void this.refresh();
  }

  protected override onUnobserved(): void {
    this.active = false;
  }

  async refresh(): Promise<void> {
    this.patch({ loading: true });
    try {
      this.patch({
        entries: await this.bridge.invoke('history.list', { limit: 200 }),
        loading: false,
        error: null,
      });
    } catch (e) {
      this.patch({ loading: false, error: errorText(e) });
    }
  }
}
