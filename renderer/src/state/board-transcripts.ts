import type { RequestView } from '../../../protocol/src/pipeline.ts';
import type { ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

/** A chat whose transcript the supervisor may open from the board. */
export interface BoardChat {
  requestId: string;
  customerName: string;
  optionLabel: string;
  /** when it ended (ISO), or null while it is live on the board */
  endedAt: string | null;
}

export interface BoardTranscriptsState {
  /** The transcript open in the board's dialog. */
  opened: BoardChat | null;
  /** Chats that ended while the board was on screen, newest first (they leave its live list). */
  ended: BoardChat[];
}

/** Finished chats kept for the board (the newest). */
export const ENDED_CHATS_KEPT = 20;
const ENDED = new Set(['completed', 'abandoned']);

const chatOf = (r: RequestView, endedAt: string | null): BoardChat => ({
  requestId: r.requestId,
  customerName: r.customerName,
  optionLabel: r.optionLabel,
  endedAt,
});

/**
 * The supervisor's board opens a chat's transcript read-only (the authority lets
 * supervisors read any, audited): a live chat from its row, a finished one from the chats
 * that ended while the board was watched (queue.delta says when a request ends).
 */
export class BoardTranscriptsStore extends Store<BoardTranscriptsState> {
  constructor(
    bridge: ConsoleBridge,
    private readonly now: () => number = Date.now,
  ) {
    super({ opened: null, ended: [] });
    bridge.on('queue.delta', (d) => {
      const done = d.upserts.filter((r) => r.channel === 'chat' && ENDED.has(r.state));
      if (done.length === 0) return;
      const at = new Date(this.now()).toISOString();
      const fresh = done.map((r) => chatOf(r, at));
      const ids = new Set(fresh.map((x) => x.requestId));
      const ended = [...fresh.reverse(), ...this.state.ended.filter((x) => !ids.has(x.requestId))].slice(
        0,
        ENDED_CHATS_KEPT,
      );
      const opened =
        this.state.opened && ids.has(this.state.opened.requestId)
          ? { ...this.state.opened, endedAt: at }
          : this.state.opened;
      this.patch({ ended, opened });
    });
  }

  /** Open a chat's transcript: one on the board (live), or one of the ended. */
  open(chat: RequestView | BoardChat): void {
    this.patch({ opened: 'endedAt' in chat ? chat : chatOf(chat, null) });
  }

  close(): void {
    this.patch({ opened: null });
  }

  /** Signed out: nothing of the last supervisor's stays. */
  clear(): void {
    this.setState({ opened: null, ended: [] });
  }
}
