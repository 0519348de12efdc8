import type { AgentStats, AgentView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { clockDuration } from '../format.ts';
import type { AgentStore } from './agent.ts';
import { Store } from './store.ts';

export interface MyStatsState {
  stats: AgentStats | null;
  error: string | null;
}

/** The start of the local day of `now` (ms): "today" as the agent reads it. */
export function localMidnight(now: number): number {
  const d = new Date(now);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** "My stats" in words: "Handled today: 3 · average 4:05" (no average before the first). */
export function myStatsText(stats: AgentStats): string {
  const avg = stats.averageHandleSeconds;
  return `Handled today: ${stats.handled}${avg === null ? '' : ` · average ${clockDuration(avg)}`}`;
}

/**
 * "My stats": requests handled today and the average handling time, from the authority
 * (`agent.stats`, counted from this console's local midnight). Fetched when the agent's
 * own state says a request may have ended (they leave busy) and when asked.
 */
export class MyStatsStore extends Store<MyStatsState> {
  private lastPresence: AgentView['presence'] | null = null;

  constructor(
    private readonly bridge: ConsoleBridge,
    agent: AgentStore,
    private readonly now: () => number = () => Date.now(),
  ) {
    super({ stats: null, error: null });
    agent.subscribe(() => {
      const a = agent.getState().agent;
      const was = this.lastPresence;
      this.lastPresence = a?.presence ?? null;
      if (!a) return this.setState({ stats: null, error: null });
      // The first view after sign-in, and every time the agent stops being busy (a request ended).
      if (was === null || (was === 'busy' && a.presence !== 'busy')) void this.refresh();
    });
  }

  async refresh(): Promise<void> {
    try {
      const since = new Date(localMidnight(this.now())).toISOString();
      this.setState({ stats: await this.bridge.invoke('agent.stats', { since }), error: null });
    } catch (e) {
      this.setState((s) => ({ ...s, error: errorText(e) }));
    }
  }
}
