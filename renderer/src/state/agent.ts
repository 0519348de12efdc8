import type { BridgeArgs } from '../../../protocol/src/bridge.ts';
import type { AgentView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { PRESENCE_TEXT } from '../format.ts';
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

/** A choice of the presence menu: its value (`available`, `offline`, `break:<code>`, or the automatic state) and words. */
export interface PresenceChoice {
  value: string;
  label: string;
  disabled?: boolean;
}

const breakLabel = (code: string): string => BREAK_REASONS.find((r) => r.code === code)?.label ?? code;

/**
 * The presence menu for the agent as the authority sees them. In wrap-up a break is the
 * next status ("Next: Lunch"): the agent stays in wrap-up and the break starts when it ends;
 * "Available" takes a next status back. The selected value is the next status when one is set.
 */
export function presenceMenu(agent: AgentView): { value: string; choices: PresenceChoice[] } {
  const wrapUp = agent.presence === 'wrap_up';
  const automatic = agent.presence === 'busy' || wrapUp || agent.presence === 'missed';
  const next = wrapUp ? (agent.nextPresence ?? null) : null;
  const choices: PresenceChoice[] = [];
  if (automatic)
    choices.push({ value: agent.presence, label: PRESENCE_TEXT[agent.presence], disabled: true });
  choices.push({ value: 'available', label: next ? 'Available after the wrap-up' : 'Available' });
  for (const r of BREAK_REASONS)
    choices.push({ value: `break:${r.code}`, label: wrapUp ? `Next: ${r.label}` : `Break: ${r.label}` });
  choices.push({ value: 'offline', label: 'Offline' });
  const value = next
    ? `break:${next.reasonCode}`
    : agent.presence === 'break'
      ? `break:${agent.reasonCode ?? BREAK_REASONS[0].code}`
      : agent.presence;
  return { value, choices };
}

/** What the agent is told of a next status chosen in wrap-up, or null. */
export function nextPresenceText(agent: AgentView): string | null {
  const next = agent.presence === 'wrap_up' ? agent.nextPresence : null;
  return next ? `Next: ${breakLabel(next.reasonCode)}, when the wrap-up ends` : null;
}

/** The request a menu value stands for (null for the automatic states). */
export function presenceRequestOf(value: string): PresenceRequest | null {
  if (value === 'available' || value === 'offline') return { state: value };
  if (value.startsWith('break:')) return { state: 'break', reasonCode: value.slice(6) };
  return null;
}
