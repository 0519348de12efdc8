import type { Board } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export interface BoardState {
  board: Board | null;
  error: string | null;
}

const ENDED = new Set(['completed', 'abandoned']);

/**
 * The supervisor board: every queue, request and agent, from board.snapshot, kept
 * live by queue.delta and agent.state (a supervisor's feed carries every agent).
 */
export class BoardStore extends Store<BoardState> {
  private enabled = false;

  constructor(private readonly bridge: ConsoleBridge) {
    super({ board: null, error: null });
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
    this.setState({ board: null, error: null });
  }
}
