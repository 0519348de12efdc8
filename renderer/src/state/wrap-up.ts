import type { OutboxStatus } from '../../../protocol/src/bridge.ts';
import { LIMITS } from '../../../protocol/src/common.ts';
import type { DispositionShape, RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import { sentence } from './agent.ts';
import { Store } from './store.ts';

/** The request a wrap-up is owed for. */
export interface WrapUpItem {
  requestId: string;
  fence: number;
  customerName: string;
  optionLabel: string;
  completedAt: string;
  /** What happened on the request, as the console saw it: the notes start from it. */
  summary?: string;
}

export interface SavedWrapUp {
  requestId: string;
  customerName: string;
  disposition: string[];
  idempotencyKey: string;
  /** pending: kept in the local outbox until the authority acknowledges it. */
  state: 'pending' | 'sent';
}

export interface WrapUpState {
  item: WrapUpItem | null;
  /** Further wrap-ups owed (several chats ended), first owed first: each becomes `item` in turn. */
  queued: readonly WrapUpItem[];
  /** The chosen disposition codes, from the top of the tree down. */
  path: string[];
  notes: string;
  saving: boolean;
  error: string | null;
  dispositions: DispositionShape[] | null;
  last: SavedWrapUp | null;
  outbox: OutboxStatus | null;
}

const DRAFT_PREFIX = 'vd.wrapUpDraft.';

/** The nodes offered at each depth of the chosen path (the next level appears once a node is chosen). */
export function dispositionLevels(
  tree: readonly DispositionShape[],
  path: readonly string[],
): DispositionShape[][] {
  const levels: DispositionShape[][] = [[...tree]];
  let nodes: readonly DispositionShape[] = tree;
  for (const code of path) {
    const node = nodes.find((n) => n.code === code);
    if (!node?.children?.length) break;
    levels.push([...node.children]);
    nodes = node.children;
  }
  return levels;
}

/** A path is complete when it ends on a leaf. */
export function isCompletePath(tree: readonly DispositionShape[], path: readonly string[]): boolean {
  let nodes: readonly DispositionShape[] | undefined = tree;
  let last: DispositionShape | undefined;
  for (const code of path) {
    last = nodes?.find((n) => n.code === code);
    if (!last) return false;
    nodes = last.children;
  }
  return !!last && !last.children?.length;
}

export function dispositionLabels(tree: readonly DispositionShape[], path: readonly string[]): string[] {
  const out: string[] = [];
  let nodes: readonly DispositionShape[] | undefined = tree;
  for (const code of path) {
    const node: DispositionShape | undefined = nodes?.find((n) => n.code === code);
    out.push(node?.label ?? code);
    nodes = node?.children;
  }
  return out;
}

/**
 * The wrap-up owed after each request: disposition (a path in the authority's tree)
 * and notes. The draft survives a reload (sessionStorage); saving hands it to main's
 * outbox, which keeps it until the authority acknowledges it, so the agent sees
 * 'pending' turn into 'sent'.
 */
export class WrapUpStore extends Store<WrapUpState> {
  /** Drafts are kept per agent, so a session that ends mid-wrap-up loses nothing. */
  private draftKey: string | null = null;

  /** The summary of what happened on a request (ConsoleApp wires wrapUpSummary over its stores). */
  summarize: ((r: RequestView) => string) | null = null;

  constructor(
    private readonly bridge: ConsoleBridge,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null,
  ) {
    super({
      item: null,
      queued: [],
      path: [],
      notes: '',
      saving: false,
      error: null,
      dispositions: null,
      last: null,
      outbox: null,
    });
    bridge.on('outbox.status', (outbox) => {
      this.patch({ outbox });
      void this.followLast();
    });
  }

  /** Load dispositions, outbox status and any draft left by a reload. */
  async start(staffId: string): Promise<void> {
    this.draftKey = DRAFT_PREFIX + staffId;
    const draft = this.readDraft();
    if (draft) this.patch(draft);
    const [d, outbox] = await Promise.allSettled([
      this.bridge.invoke('wrapUp.dispositions', {}),
      this.bridge.invoke('outbox.status', {}),
    ]);
    this.patch({
      dispositions: d.status === 'fulfilled' ? d.value.dispositions : this.state.dispositions,
      outbox: outbox.status === 'fulfilled' ? outbox.value : this.state.outbox,
      error: d.status === 'rejected' ? `Disposition codes could not be loaded: ${errorText(d.reason)}` : null,
    });
  }

  /** Signed out: forget the screen state; a draft stays in storage for this agent's next sign-in. */
  reset(): void {
    this.draftKey = null;
    this.setState({
      ...this.state,
      item: null,
      queued: [],
      path: [],
      notes: '',
      saving: false,
      error: null,
      last: null,
    });
  }

  /** A wrap-up is owed for this request: the form's item, or queued after the one being written. */
  begin(r: RequestView): void {
    const { item, queued } = this.state;
    if (item?.requestId === r.requestId || queued.some((q) => q.requestId === r.requestId)) return;
    const owed: WrapUpItem = {
      requestId: r.requestId,
      fence: r.fence,
      customerName: r.customerName,
      optionLabel: r.optionLabel,
      completedAt: new Date().toISOString(),
    };
    // Taken now, while the panel and the commands still show this request.
    const summary = this.summary(r);
    if (summary) owed.summary = summary;
    if (item) this.patch({ queued: [...queued, owed] });
    else this.patch({ item: owed, path: [], notes: owed.summary ?? '', error: null });
    this.saveDraft();
  }

  private summary(r: RequestView): string {
    try {
      return (this.summarize?.(r) ?? '').slice(0, LIMITS.longText);
    } catch {
      return ''; // A summary is a help: never in the way of the wrap-up.
    }
  }

  choose(depth: number, code: string): void {
    this.patch({ path: [...this.state.path.slice(0, depth), code], error: null });
    this.saveDraft();
  }

  setNotes(notes: string): void {
    this.patch({ notes });
    this.saveDraft();
  }

  get canSave(): boolean {
    const s = this.state;
    return !!s.item && !!s.dispositions && isCompletePath(s.dispositions, s.path) && !s.saving;
  }

  async save(): Promise<boolean> {
    const s = this.state;
    if (!s.item || s.saving) return false;
    if (!s.dispositions || !isCompletePath(s.dispositions, s.path)) {
      this.patch({ error: 'Choose a disposition down to the last level.' });
      return false;
    }
    this.patch({ saving: true, error: null });
    try {
      const r = await this.bridge.invoke('wrapUp.save', {
        requestId: s.item.requestId,
        fence: s.item.fence,
        disposition: s.path,
        notes: s.notes,
      });
      const [next = null, ...rest] = this.state.queued;
      this.patch({
        item: next,
        queued: rest,
        path: [],
        notes: next?.summary ?? '',
        saving: false,
        last: {
          requestId: s.item.requestId,
          customerName: s.item.customerName,
          disposition: s.path,
          idempotencyKey: r.idempotencyKey,
          state: r.state,
        },
      });
      if (next) this.saveDraft();
      else if (this.draftKey) this.storage?.removeItem(this.draftKey);
      return true;
    } catch (e) {
      this.patch({ saving: false, error: sentence(errorText(e)) });
      return false;
    }
  }

  /** A pending wrap-up turns 'sent' once the outbox reports the authority's acknowledgement. */
  private async followLast(): Promise<void> {
    const last = this.state.last;
    if (!last || last.state === 'sent') return;
    try {
      const history = await this.bridge.invoke('history.list', { limit: 50 });
      const entry = history.find((h) => h.requestId === last.requestId);
      if (entry?.wrapUpState === 'sent' && this.state.last?.requestId === last.requestId)
        this.patch({ last: { ...last, state: 'sent' } });
    } catch {
      // The next outbox event tries again.
    }
  }

  private saveDraft(): void {
    const { item, queued, path, notes } = this.state;
    if (item && this.draftKey)
      this.storage?.setItem(this.draftKey, JSON.stringify({ item, queued, path, notes }));
  }

  private readDraft(): Pick<WrapUpState, 'item' | 'queued' | 'path' | 'notes'> | null {
    try {
      const raw = this.draftKey ? this.storage?.getItem(this.draftKey) : null;
      if (!raw) return null;
      const d = JSON.parse(raw) as Pick<WrapUpState, 'item' | 'path' | 'notes'> & { queued?: unknown };
      if (!d.item || !Array.isArray(d.path) || typeof d.notes !== 'string') return null;
      // A draft from before several chats has no queue.
      return { ...d, queued: Array.isArray(d.queued) ? (d.queued as WrapUpItem[]) : [] };
    } catch {
      return null;
    }
  }
}
