import type { BridgeEventPayload } from '../../../protocol/src/bridge.ts';
import type { QueueStats, RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { Store } from './store.ts';

export interface QueueFilter {
  /** A queue id, or null for every queue. */
  queueId: string | null;
  /** A menu option (which carries the skills the request needs), or null for all. */
  optionId: string | null;
}

export interface QueueState {
  requests: ReadonlyMap<string, RequestView>;
  /** Bumped on every change of `requests` (the map is reused between frames). */
  version: number;
  stats: readonly QueueStats[];
  filter: QueueFilter;
  loaded: boolean;
  error: string | null;
}

type Delta = BridgeEventPayload<'queue.delta'>;

const ENDED = new Set(['completed', 'abandoned']);
const STATE_RANK: Record<RequestView['state'], number> = {
  offered: 0,
  waiting: 1,
  assigned: 2,
  scheduled: 3,
  completed: 4,
  abandoned: 5,
};

/** Code-unit order, as SQLite's default BINARY collation compares TEXT (ISO times sort by time). */
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Queue order as the agent reads it: offers first, then waiting by priority and age, then
 * the rest. Within a state it is the authority's dispatch order (`priority DESC,
 * enqueued_at ASC, id ASC` in SQLite), so ties break the same way on both sides; plain
 * comparisons, not localeCompare, which orders ids differently ('a' < 'B') and costs ~4x
 * per sort of 10,000 rows.
 */
export function compareRequests(a: RequestView, b: RequestView): number {
  return (
    STATE_RANK[a.state] - STATE_RANK[b.state] ||
    b.priority - a.priority ||
    byCodeUnit(a.enqueuedAt, b.enqueuedAt) ||
    byCodeUnit(a.requestId, b.requestId)
  );
}

/**
 * Positions counted from the live list itself (sorted in queue order): a delta carries only
 * the requests that changed, so when one leaves or jumps ahead, the rows behind it move at
 * once instead of keeping the number of their last update. The list holds every live
 * request of the queues it shows (the authority's snapshot and deltas), so the count is
 * the authority's. Rows keep their identity when their position did not change.
 */
function withPositions(sorted: readonly RequestView[]): RequestView[] {
  const ahead = new Map<string, number>();
  return sorted.map((r) => {
    let position: number | null = null;
    if (r.state === 'waiting') {
      position = (ahead.get(r.queueId) ?? 0) + 1;
      ahead.set(r.queueId, position);
    }
    return r.position === position ? r : { ...r, position };
  });
}

/** Per queue, from the live list: how many wait and since when the oldest waits (so the figure can tick). */
export function waitingByQueue(requests: Iterable<RequestView>): Map<string, { n: number; oldest: string }> {
  const out = new Map<string, { n: number; oldest: string }>();
  for (const r of requests) {
    if (r.state !== 'waiting') continue;
    const w = out.get(r.queueId);
    if (!w) out.set(r.queueId, { n: 1, oldest: r.enqueuedAt });
    else {
      w.n++;
      if (r.enqueuedAt < w.oldest) w.oldest = r.enqueuedAt;
    }
  }
  return out;
}

/** Notify at most once per frame: a burst of deltas costs one render. */
const nextFrame = (fn: () => void): void => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(fn);
  else setTimeout(fn, 16);
};

/**
 * The live queue: queue.snapshot replaces it, queue.delta updates it (ended requests
 * leave). Deltas that arrive while a snapshot is being fetched are replayed on top of
 * it, so a slow snapshot never rolls the view back.
 */
export class QueueStore extends Store<QueueState> {
  private buffered: Delta[] | null = null;
  private scheduled = false;
  /** The map deltas write to until the next frame's notification: one copy per frame, not per delta. */
  private draft: Map<string, RequestView> | null = null;
  private readonly knownOptions = new Map<string, string>();
  private sortedCache: { version: number; filter: QueueFilter; rows: RequestView[] } | null = null;
  private waitingCache: {
    version: number;
    total: number;
    byQueue: Map<string, { n: number; oldest: string }>;
  } | null = null;
  private optionsCache: { version: number; options: { id: string; label: string }[] } | null = null;

  constructor(private readonly bridge: ConsoleBridge) {
    super({
      requests: new Map(),
      version: 0,
      stats: [],
      filter: { queueId: null, optionId: null },
      loaded: false,
      error: null,
    });
    bridge.on('queue.snapshot', (s) => this.applySnapshot(s.queues, s.requests));
    bridge.on('board.snapshot', (b) => this.applySnapshot(b.queues, b.requests));
    bridge.on('queue.delta', (d) => this.applyDelta(d));
  }

  async refresh(): Promise<void> {
    this.buffered = [];
    try {
      const s = await this.bridge.invoke('queue.snapshot', {});
      const replay = this.buffered;
      this.buffered = null;
      this.applySnapshot(s.queues, s.requests);
      for (const d of replay) this.applyDelta(d);
    } catch (e) {
      this.buffered = null;
      this.patch({ error: errorText(e) });
    }
  }

  reset(): void {
    this.buffered = null;
    this.draft = null;
    this.knownOptions.clear();
    this.setState({
      ...this.state,
      requests: new Map(),
      version: this.state.version + 1,
      stats: [],
      loaded: false,
      error: null,
    });
  }

  applySnapshot(stats: readonly QueueStats[], requests: readonly RequestView[]): void {
    const map = new Map<string, RequestView>();
    for (const r of requests) if (!ENDED.has(r.state)) map.set(r.requestId, r);
    this.draft = map;
    this.state = {
      ...this.state,
      requests: map,
      version: this.state.version + 1,
      stats: [...stats],
      loaded: true,
      error: null,
    };
    this.notifySoon();
  }

  applyDelta(d: Delta): void {
    if (this.buffered) this.buffered.push(d);
    const requests = (this.draft ??= new Map(this.state.requests));
    for (const r of d.upserts) {
      if (ENDED.has(r.state)) requests.delete(r.requestId);
      else requests.set(r.requestId, r);
    }
    let stats = this.state.stats;
    if (d.queues.length) {
      const byId = new Map(stats.map((s) => [s.queueId, s]));
      for (const s of d.queues) byId.set(s.queueId, s);
      stats = [...byId.values()];
    }
    this.state = { ...this.state, requests, version: this.state.version + 1, stats };
    this.notifySoon();
  }

  setFilter(filter: Partial<QueueFilter>): void {
    this.patch({ filter: { ...this.state.filter, ...filter } });
  }

  get(requestId: string): RequestView | undefined {
    return this.state.requests.get(requestId);
  }

  /** The filtered, ordered rows for a state (memoised: the same state gives the same array). */
  rows(state: QueueState = this.state): RequestView[] {
    const c = this.sortedCache;
    if (c && c.version === state.version && c.filter === state.filter) return c.rows;
    const { queueId, optionId } = state.filter;
    const rows = withPositions([...state.requests.values()].sort(compareRequests)).filter(
      (r) => (!queueId || r.queueId === queueId) && (!optionId || r.optionId === optionId),
    );
    this.sortedCache = { version: state.version, filter: state.filter, rows };
    return rows;
  }

  /**
   * Waiting requests in all and per queue (memoised per version: the ticking wait times
   * re-render the stats every second, and 10,000 rows are not counted again each time).
   */
  waiting(state: QueueState = this.state): {
    total: number;
    byQueue: Map<string, { n: number; oldest: string }>;
  } {
    const c = this.waitingCache;
    if (c && c.version === state.version) return c;
    const byQueue = waitingByQueue(state.requests.values());
    let total = 0;
    for (const w of byQueue.values()) total += w.n;
    this.waitingCache = { version: state.version, total, byQueue };
    return this.waitingCache;
  }

  /** Menu options seen in the queue this session (kept when their last request leaves, so a chosen filter stays listed). */
  options(state: QueueState = this.state): { id: string; label: string }[] {
    const c = this.optionsCache;
    if (c && c.version === state.version) return c.options;
    for (const r of state.requests.values()) this.knownOptions.set(r.optionId, r.optionLabel);
    const options = [...this.knownOptions]
      .map(([id, label]) => ({ id, label }))
      .sort((a, b) => a.label.localeCompare(b.label));
    this.optionsCache = { version: state.version, options };
    return options;
  }

  private notifySoon(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    nextFrame(() => {
      this.scheduled = false;
      this.draft = null;
      this.emitChange();
    });
  }
}
