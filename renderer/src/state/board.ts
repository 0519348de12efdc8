import type { BridgeArgs } from '../../../protocol/src/bridge.ts';
import type { AgentView, Board, Presence, QueueStats, RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { chatCount, PRESENCE_TEXT } from '../format.ts';
import { refusalText } from './remote-control.ts';
import { Store } from './store.ts';

export interface BoardState {
  board: Board | null;
  error: string | null;
  /** The supervisor action in flight: `<what>:<request or staff id>`. */
  busy: string | null;
  /** The last action's outcome, in words. */
  actionError: string | null;
  notice: string | null;
}

export type AgentPresenceRequest = BridgeArgs<'supervisor.setAgentPresence'>['presence'];

const ENDED = new Set(['completed', 'abandoned']);

/** The requests an agent holds (several chats at once; older views name only the current one). */
const heldBy = (a: AgentView): string[] =>
  a.heldRequestIds ?? (a.currentRequestId ? [a.currentRequestId] : []);

/**
 * What an agent holds, in words for the board: the customers' names, and for chats how many
 * (of the agent's own capacity when they have one); null when they hold nothing.
 */
export function heldText(a: AgentView, requests: readonly RequestView[]): string | null {
  const held = heldBy(a).map((id) => requests.find((r) => r.requestId === id));
  if (held.length === 0) return null;
  const names = held.map((r) => r?.customerName ?? 'a customer').join(', ');
  const chats = held.filter((r) => r?.channel === 'chat').length;
  if (chats < 2 && a.chatCapacity == null) return names;
  const count = chatCount(chats);
  return `${names} · ${a.chatCapacity == null ? count : `${count} of ${a.chatCapacity}`}`;
}

/**
 * An agent's presence as the board shows it: a colleague in a consult (an open warm
 * transfer to them) is busy with it, whatever their own presence says (the authority
 * offers them nothing meanwhile); a break says its reason.
 */
export function boardPresence(a: AgentView): { presence: Presence; text: string } {
  if (a.inConsult && a.presence !== 'offline') return { presence: 'busy', text: 'Busy: in a consult' };
  const reason = a.presence === 'break' && a.reasonCode ? `: ${a.reasonCode}` : '';
  return { presence: a.presence, text: `${PRESENCE_TEXT[a.presence]}${reason}` };
}

/**
 * What the supervisor confirms before a take-over, in words true to what happens: the
 * holder leaves; a customer on a call stays connected (make before break: their phone keeps
 * the call "continuing" and joins the new holder's call without ringing or answering again);
 * a chat simply moves. `holder` is the holder's display name (null: not known to the board).
 */
export function takeOverConfirmText(request: RequestView, holder: string | null): string {
  const who = holder ?? 'the agent';
  const customer = request.customerName;
  if (request.channel === 'chat')
    return `Take over ${customer} from ${who}? The chat moves to you with its transcript; ${who} can no longer write in it.`;
  return `Take over ${customer} from ${who}? ${who} leaves the call; ${customer} stays connected and their phone joins your call without answering again when you call them.`;
}

/**
 * Who is free for a queue, in words for the board, from the authority's queue statistics
 * (its one rule, Capacity.hasRoom): agents available now (holding nothing) of those on shift,
 * and for a queue offered on chat the agents chatting with room for one more of its chats:
 * "2 of 4 free · 1 chatting with room". An agent on a call has room for nothing.
 */
export function freeText(q: QueueStats): string {
  const out = `${q.agentsAvailable} of ${q.agentsOnShift} free`;
  const chatting = q.agentsWithRoom ? q.agentsWithRoom.chat - q.agentsAvailable : 0;
  return q.channels?.includes('chat') && chatting > 0 ? `${out} · ${chatting} chatting with room` : out;
}

/**
 * Who a supervisor may offer `request` to: online, no offer pending, not its holder, not on
 * a call or in a consult, and holding nothing, or for a chat holding only chats (the authority checks the
 * capacity of the queue and the agent, and says why when it refuses).
 */
export function reassignCandidates(
  request: RequestView,
  agents: readonly AgentView[],
  requests: readonly RequestView[],
): AgentView[] {
  const channelOf = (id: string) => requests.find((r) => r.requestId === id)?.channel ?? 'voice';
  return agents.filter((a) => {
    if (a.staffId === request.agentId || a.presence === 'offline' || a.offer || a.onCall || a.inConsult)
      return false;
    const held = heldBy(a);
    if (held.length === 0) return true;
    return request.channel === 'chat' && held.every((id) => channelOf(id) === 'chat');
  });
}

/**
 * The supervisor board: every queue, request and agent, from board.snapshot, kept
 * live by queue.delta and agent.state (a supervisor's feed carries every agent).
 */
export class BoardStore extends Store<BoardState> {
  private enabled = false;

  constructor(private readonly bridge: ConsoleBridge) {
    super({ board: null, error: null, busy: null, actionError: null, notice: null });
    bridge.on('board.snapshot', (board) => {
      if (this.enabled) this.patch({ board, error: null });
    });
    bridge.on('queue.delta', (d) => {
      const b = this.state.board;
      if (!this.enabled || !b) return;
      const requests = new Map(b.requests.map((r) => [r.requestId, r]));
      for (const r of d.upserts) {
        if (ENDED.has(r.state)) requests.delete(r.requestId);
        else requests.set(r.requestId, r);
      }
      const queues = new Map(b.queues.map((q) => [q.queueId, q]));
      for (const q of d.queues) queues.set(q.queueId, q);
      this.patch({ board: { ...b, requests: [...requests.values()], queues: [...queues.values()] } });
    });
    bridge.on('agent.state', (a) => {
      const b = this.state.board;
      if (!this.enabled || !b) return;
      const agents = b.agents.some((x) => x.staffId === a.staffId)
        ? b.agents.map((x) => (x.staffId === a.staffId ? a : x))
        : [...b.agents, a];
      this.patch({ board: { ...b, agents } });
    });
  }

  async start(): Promise<void> {
    this.enabled = true;
    try {
      this.patch({ board: await this.bridge.invoke('board.snapshot', {}), error: null });
    } catch (e) {
      this.patch({ error: errorText(e) });
    }
  }

  stop(): void {
    this.enabled = false;
    this.setState({ board: null, error: null, busy: null, actionError: null, notice: null });
  }

  private async act(busy: string, run: () => Promise<string>): Promise<boolean> {
    if (this.state.busy) return false;
    this.patch({ busy, actionError: null, notice: null });
    try {
      const notice = await run();
      this.patch({ busy: null, notice });
      return true;
    } catch (e) {
      this.patch({ busy: null, actionError: refusalText(e) });
      return false;
    }
  }

  /** Become the owner of an assigned request (new fencing number; the agent's rights end at once). */
  takeOver(r: RequestView, adopt: (request: RequestView) => void): Promise<boolean> {
    return this.act(`takeOver:${r.requestId}`, async () => {
      adopt(await this.bridge.invoke('supervisor.takeOver', { requestId: r.requestId, fence: r.fence }));
      return `You took over ${r.customerName}: the request is on your desk.`;
    });
  }

  /** Offer a request (assigned, offered or waiting) to this agent. */
  reassign(r: RequestView, staffId: string): Promise<boolean> {
    return this.act(`reassign:${r.requestId}`, async () => {
      const t = await this.bridge.invoke('supervisor.reassign', {
        requestId: r.requestId,
        staffId,
        fence: r.fence,
      });
      return `${r.customerName} is offered to ${t.target.name}.`;
    });
  }

  setAgentPresence(staffId: string, presence: AgentPresenceRequest): Promise<boolean> {
    return this.act(`presence:${staffId}`, async () => {
      const a = await this.bridge.invoke('supervisor.setAgentPresence', { staffId, presence });
      const b = this.state.board;
      if (b) this.patch({ board: { ...b, agents: b.agents.map((x) => (x.staffId === a.staffId ? a : x)) } });
      return `${a.displayName} is now ${a.presence === 'break' ? `on a break (${a.reasonCode ?? 'break'})` : a.presence}.`;
    });
  }

  dismiss(): void {
    this.patch({ actionError: null, notice: null });
  }
}
