import type { BridgeArgs } from '../../../protocol/src/bridge.ts';
import type { AgentView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export type PresenceRequest = BridgeArgs<'agent.setPresence'>;

export interface AgentState {
  agent: AgentView | null;
  /** The presence change in flight, if any. */
  changing: PresenceRequest | null;
  error: string | null;
}

/** Break reasons offered to the agent (reason codes recorded by the authority). */
export const BREAK_REASONS = [
  { code: 'lunch', label: 'Lunch' },
  { code: 'coffee', label: 'Short break' },
  { code: 'training', label: 'Training' },
  { code: 'meeting', label: 'Meeting' },
] as const;

export const sentence = (s: string): string => (s ? s[0]!.toUpperCase() + s.slice(1) : s);

/**
 * The logged-in agent as the authority sees them: presence (available, break with a
 * reason, offline; missed, busy and wrap-up set by the pipeline), offer, current
 * request. Only this agent's agent.state events count (a supervisor's feed carries
 * everyone's).
 */
export class AgentStore extends Store<AgentState> {
  private staffId: string | null = null;

  constructor(private readonly bridge: ConsoleBridge) {
    super({ agent: null, changing: null, error: null });
    bridge.on('agent.state', (a) => {
      if (a.staffId === this.staffId) this.patch({ agent: a });
    });
  }

  start(staffId: string): void {
    this.staffId = staffId;
  }

  stop(): void {
    this.staffId = null;
    this.setState({ agent: null, changing: null, error: null });
  }

  async refresh(): Promise<AgentView | null> {
    try {
      const agent = await this.bridge.invoke('agent.me', {});
      if (agent.staffId === this.staffId) this.patch({ agent });
      return agent;
    } catch (e) {
      this.patch({ error: errorText(e) });
      return null;
    }
  }

  async setPresence(request: PresenceRequest): Promise<boolean> {
    this.patch({ changing: request, error: null });
    try {
      const agent = await this.bridge.invoke('agent.setPresence', request);
      this.patch({ agent, changing: null });
      return true;
    } catch (e) {
      const message = sentence(errorText(e));
      this.patch({
        changing: null,
        error: /record the wrap-up/i.test(message)
          ? `${message}: save the wrap-up below; the authority makes you available once it arrives.`
          : message,
      });
      return false;
    }
  }

  dismissError(): void {
    this.patch({ error: null });
  }
}
