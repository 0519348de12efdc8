import { IllegalTransition } from '../../../protocol/src/lifecycles.ts';
import type { AgentView, OfferView, RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { AgentStore } from './agent.ts';
import { sentence } from './agent.ts';
import type { QueueStore } from './queue.ts';
import { CrmPanelStore } from './crm-panel.ts';
import { Store } from './store.ts';
import type { WrapUpStore } from './wrap-up.ts';

/**
 * The agent's work, a small state machine over the requests in hand:
 *
 *   idle --offer--> offered --accept--> active --complete (the last one)--> idle (wrap-up pending)
 *                   offered --reject / expired / withdrawn--> idle
 *                   active  --the customer left (the last one)--> idle (wrap-up pending)
 *                   active  --another chat offered (room left)--> active with `offer` beside the held ones
 *
 * An agent may hold several chats at once (the authority routes up to the queue's chat
 * capacity; a call takes the whole capacity, so no offer arrives during one). `held` lists
 * them, oldest first; `request` is the one selected (the panel, device actions, transfer,
 * complete and the call follow it). Completing, transferring or losing one leaves the
 * others open; the desk goes idle (wrap-up) only when the last one ends, as the authority
 * keeps the agent busy until then. Each request's own steps follow ITEM_TRANSITIONS.
 *
 * The authority is the source of truth: agent.state events move the machine too
 * (another window accepted, the offer timed out), so the UI never disagrees with it.
 */
export type WorkState =
  | {
      phase: 'idle';
      notice: string | null;
      /** The agent passed on the last offer (the authority says "missed" either way). */
      declined?: boolean;
    }
  | ({ phase: 'offered' } & PendingOffer)
  | {
      phase: 'active';
      /** The request selected among those held. */
      request: RequestView;
      /** When the selected request became the agent's (ms): the authority's `heldSince`, else when this console saw it. */
      since: number;
      busy: 'completing' | null;
      error: string | null;
      /** What happened to the other requests (an offer timed out, a chat ended), in plain words. */
      notice: string | null;
      /** Every request in my hands, oldest first (the selected one included). */
      held: readonly HeldRequest[];
      /** Another chat offered while I hold chats with room left, or null. */
      offer: PendingOffer | null;
    };

/** An offer shown to the agent. */
export interface PendingOffer {
  offer: OfferView;
  /** When the offer reached this console (ms): the countdown's full length runs from here. */
  receivedAt: number;
  busy: 'accepting' | 'rejecting' | null;
  error: string | null;
}

/** A request in the agent's hands. */
export interface HeldRequest {
  request: RequestView;
  /**
   * When the request became the agent's (ms): the authority's `heldSince` (the accept,
   * take-over, reassign or transfer), so a reload keeps the in-progress timer; when this
   * console saw it only for an authority that does not say.
   */
  since: number;
  busy: 'completing' | null;
  error: string | null;
}

/** When the agent's handling of `request` began: the authority's word, else `fallback`. */
export function heldSinceOf(request: RequestView, fallback: number): number {
  const at = request.heldSince ? Date.parse(request.heldSince) : NaN;
  return Number.isFinite(at) ? at : fallback;
}

export type WorkPhase = WorkState['phase'];

const TRANSITIONS: Record<WorkPhase, readonly WorkPhase[]> = {
  idle: ['offered', 'active'],
  offered: ['idle', 'offered', 'active'],
  active: ['idle', 'offered', 'active'],
};

/** One request's steps on this desk ('new': not seen yet; 'gone': left the desk, forgotten). */
export type ItemStep = 'new' | 'offered' | 'accepting' | 'rejecting' | 'held' | 'completing' | 'gone';

export const ITEM_TRANSITIONS: Record<ItemStep, readonly ItemStep[]> = {
  // Offered, or mine without an offer (a reload, a take-over, a warm transfer I accepted).
  new: ['offered', 'held'],
  // Re-offered with a new fence; accepted in another window; timed out or withdrawn.
  offered: ['offered', 'accepting', 'rejecting', 'held', 'gone'],
  accepting: ['offered', 'held', 'gone'],
  rejecting: ['offered', 'held', 'gone'],
  // A new fence (take-over); completed, ended by the customer or moved to someone else.
  held: ['held', 'completing', 'gone'],
  completing: ['held', 'gone'],
  gone: [],
};

export class WorkStore extends Store<WorkState> {
  /** Requests whose ownership moved away from me, with what to tell the agent. */
  private readonly movedAway = new Map<string, string>();
  /** Each request's step (ITEM_TRANSITIONS); absent: new or gone. */
  private readonly steps = new Map<string, ItemStep>();
  /** Requests I am asking the authority about (where did it go?). */
  private readonly asking = new Set<string>();
  /** Held phone requests of a caller nobody recognised: their CRM record opens once identified. */
  private readonly popWhenIdentified = new Set<string>();
  private held: HeldRequest[] = [];
  private selectedId: string | null = null;
  private pending: PendingOffer | null = null;
  private notice: string | null = null;
  /** The desk's side panel: the CRM record of a queue whose screen pop opens there. */
  readonly crmPanel = new CrmPanelStore();
  /** Told of each request this console accepted (auto-dial places its call). */
  private readonly accepted = new Set<(request: RequestView) => void>();

  constructor(
    private readonly bridge: ConsoleBridge,
    private readonly agent: AgentStore,
    private readonly queue: QueueStore,
    private readonly wrapUp: WrapUpStore,
  ) {
    super({ phase: 'idle', notice: null });
    bridge.on('offer', (offer) => this.onOffer(offer));
    bridge.on('shortcut.accept', () => void this.accept());
    agent.subscribe(() => {
      const a = agent.getState().agent;
      if (a) this.sync(a);
    });
    queue.subscribe(() => this.followRequests());
  }

  private go(next: WorkState): void {
    if (next.phase !== this.state.phase && !TRANSITIONS[this.state.phase].includes(next.phase))
      throw new IllegalTransition('work', this.state.phase, next.phase);
    this.setState(next);
  }

  private step(requestId: string, next: ItemStep): void {
    const from = this.steps.get(requestId) ?? 'new';
    if (!ITEM_TRANSITIONS[from].includes(next)) throw new IllegalTransition('work item', from, next);
    if (next === 'gone') this.steps.delete(requestId);
    else this.steps.set(requestId, next);
  }

  /**
   * The state from the model: active while anything is held (the selected request on top,
   * the offer beside), else the offer, else idle (with `idle`, or the idle notice kept).
   */
  private publish(idle?: { notice: string | null; declined?: boolean }): void {
    if (this.held.length) {
      const sel = this.held.find((h) => h.request.requestId === this.selectedId) ?? this.held.at(-1)!;
      this.selectedId = sel.request.requestId;
      this.go({
        phase: 'active',
        request: sel.request,
        since: sel.since,
        busy: sel.busy,
        error: sel.error,
        notice: this.notice,
        held: this.held,
        offer: this.pending,
      });
      return;
    }
    this.selectedId = null;
    this.notice = null;
    if (this.pending) this.go({ phase: 'offered', ...this.pending });
    else if (idle) this.go({ phase: 'idle', ...idle });
    else this.go(this.state.phase === 'idle' ? this.state : { phase: 'idle', notice: null });
  }

  /** The request the panel is about: the offered one before the call, the selected one while holding. */
  get focusRequestId(): string | null {
    const s = this.state;
    return s.phase === 'offered' ? s.offer.requestId : s.phase === 'active' ? s.request.requestId : null;
  }

  /** A request in my hands, if this one is. */
  heldRequest(requestId: string): RequestView | null {
    return this.held.find((h) => h.request.requestId === requestId)?.request ?? null;
  }

  holds(requestId: string): boolean {
    return this.heldRequest(requestId) !== null;
  }

  /** Show another of the requests held (its panel, device actions, transfer and complete). */
  select(requestId: string): void {
    if (this.selectedId === requestId || !this.holds(requestId)) return;
    this.selectedId = requestId;
    this.publish();
  }

  private item(requestId: string): HeldRequest | undefined {
    return this.held.find((h) => h.request.requestId === requestId);
  }

  private patchItem(requestId: string, patch: Partial<HeldRequest>): void {
    this.held = this.held.map((h) => (h.request.requestId === requestId ? { ...h, ...patch } : h));
  }

  /** Mine now (accepted, adopted, loaded): added to the held list (or updated), and selected. */
  private hold(request: RequestView, select = true): void {
    const id = request.requestId;
    if (this.pending?.offer.requestId === id) this.pending = null;
    this.step(id, 'held');
    const h = this.item(id);
    if (h) this.patchItem(id, { request, since: heldSinceOf(request, h.since) });
    else
      this.held = [
        ...this.held,
        { request, since: heldSinceOf(request, Date.now()), busy: null, error: null },
      ];
    if (select) this.selectedId = id;
    this.publish();
  }

  /** A request left my hands: the others stay; the desk goes idle with the notice after the last. */
  private release(requestId: string, notice: string | null): void {
    if (!this.item(requestId)) return;
    this.step(requestId, 'gone');
    this.held = this.held.filter((h) => h.request.requestId !== requestId);
    if (this.held.length) {
      this.notice = notice;
      this.publish();
    } else this.publish({ notice });
  }

  private onOffer(offer: OfferView): void {
    if (this.holds(offer.requestId)) return; // a stale frame about a request already mine
    const p = this.pending;
    if (p && p.offer.requestId === offer.requestId && p.offer.fence >= offer.fence) return;
    if (p && p.offer.requestId !== offer.requestId) this.step(p.offer.requestId, 'gone');
    this.step(offer.requestId, 'offered');
    this.pending = { offer, receivedAt: Date.now(), busy: null, error: null };
    this.publish();
  }

  /** Align with the authority's view of this agent. */
  private sync(a: AgentView): void {
    const heldIds = a.heldRequestIds ?? (a.currentRequestId ? [a.currentRequestId] : []);
    // Mine without this console's accept: another window accepted, a reload, a take-over.
    for (const id of heldIds) if (!this.holds(id)) this.arrived(id, a.staffId);
    const p = this.pending;
    if (a.offer) this.onOffer(a.offer);
    else if (p && p.busy === null && !heldIds.includes(p.offer.requestId)) {
      const name = p.offer.request.customerName;
      this.step(p.offer.requestId, 'gone');
      this.pending = null;
      const notice =
        a.presence === 'missed'
          ? `The offer for ${name} timed out: ${name} is back in the queue.`
          : `The offer for ${name} was withdrawn.`;
      if (this.held.length) this.notice = notice;
      this.publish({ notice });
    }
    for (const h of this.held) {
      const id = h.request.requestId;
      if (heldIds.includes(id) || h.busy !== null) continue;
      const moved = this.movedAway.get(id);
      if (moved) this.release(id, moved);
      // The customer left or the session expired: the pipeline puts the agent in wrap-up after the last.
      else if (!heldIds.length && a.presence === 'wrap_up') this.ended(h.request);
      // Otherwise ask the authority: the customer left one of several chats, or ownership moved on.
      else void this.whereDidItGo(h.request);
    }
  }

  private arrived(requestId: string, me: string): void {
    const p = this.pending;
    const known = (p?.offer.requestId === requestId ? p.offer.request : null) ?? this.queue.get(requestId);
    // Only a copy that already names me carries my fence (a transfer or take-over brings a new one).
    if (known && known.agentId === me) this.hold({ ...known, state: 'assigned' });
    else void this.loadActive(requestId);
  }

  private ended(request: RequestView): void {
    this.wrapUp.begin(request);
    this.release(request.requestId, `${request.customerName} ended the request. Record the wrap-up.`);
  }

  private async whereDidItGo(request: RequestView): Promise<void> {
    if (this.asking.has(request.requestId)) return;
    this.asking.add(request.requestId);
    let now: RequestView | null = null;
    try {
      now = await this.bridge.invoke('request.get', { requestId: request.requestId });
    } catch {
      // Unknown: owe the wrap-up rather than lose it.
    } finally {
      this.asking.delete(request.requestId);
    }
    const h = this.item(request.requestId);
    if (!h || h.busy !== null) return;
    const moved = this.movedAway.get(request.requestId);
    if (moved) this.release(request.requestId, moved);
    else if (now?.state === 'assigned' && now.agentId === this.agent.getState().agent?.staffId) return;
    else if (!now || now.state === 'completed' || now.state === 'abandoned' || now.fence <= request.fence)
      this.ended(request);
    else
      this.release(
        request.requestId,
        `${request.customerName} moved on${now.agentName ? ` to ${now.agentName}` : ''}. No wrap-up is owed.`,
      );
  }

  /**
   * Ownership of this request left me (my transfer, a supervisor's take-over or
   * reassign): no wrap-up is owed. Remembered, because the agent.state saying I hold
   * nothing may come before or after this.
   */
  handedOver(requestId: string, notice: string): void {
    this.movedAway.set(requestId, notice);
    if (this.movedAway.size > 50) this.movedAway.delete(this.movedAway.keys().next().value!);
    const s = this.state;
    if (this.holds(requestId)) this.release(requestId, notice);
    else if (s.phase === 'idle' && !this.wrapUp.getState().item) this.setState({ phase: 'idle', notice });
  }

  /** After a reload mid-request: the request comes with the panel. */
  private async loadActive(requestId: string): Promise<void> {
    try {
      const panel = await this.bridge.invoke('panel.get', { requestId });
      const a = this.agent.getState().agent;
      const heldIds = a?.heldRequestIds ?? (a?.currentRequestId ? [a.currentRequestId] : []);
      if (heldIds.includes(requestId) && !this.holds(requestId)) this.hold(panel.request);
    } catch (e) {
      const notice = `Could not load your current request: ${errorText(e)}`;
      if (this.held.length) {
        this.notice = notice;
        this.publish();
      } else this.setState({ phase: 'idle', notice });
    }
  }

  /** Keep the held requests (level, state) up to date from the queue feed. */
  private followRequests(): void {
    if (!this.held.length) return;
    const me = this.agent.getState().agent?.staffId;
    let changed = false;
    this.held = this.held.map((h) => {
      const r = this.queue.get(h.request.requestId);
      if (!r || r === h.request) return h;
      if (
        r.fence === h.request.fence ||
        (r.fence > h.request.fence && r.state === 'assigned' && r.agentId === me)
      ) {
        changed = true;
        // A phone caller nobody knew, now identified: their CRM record opens (none did on accept).
        if (this.popWhenIdentified.has(r.requestId) && r.phone && !r.phone.unknownCaller) {
          this.popWhenIdentified.delete(r.requestId);
          void this.screenPop(r.requestId);
        }
        return { ...h, request: r, since: heldSinceOf(r, h.since) };
      }
      return h;
    });
    if (changed) this.publish();
  }

  /** Listen for the offers accepted on this console (not a reload, take-over or transfer). */
  onAccepted(listener: (request: RequestView) => void): () => void {
    this.accepted.add(listener);
    return () => this.accepted.delete(listener);
  }

  /** A request that became mine without an offer (a warm transfer I accepted, a take-over). */
  adopt(request: RequestView): void {
    const h = this.item(request.requestId);
    if (h && h.request.fence >= request.fence) return;
    this.hold({ ...request, state: 'assigned' });
  }

  async accept(): Promise<void> {
    const p = this.pending;
    if (!p || p.busy) return;
    const id = p.offer.requestId;
    this.step(id, 'accepting');
    this.pending = { ...p, busy: 'accepting', error: null };
    this.publish();
    try {
      const request = await this.bridge.invoke('offer.accept', { requestId: id, fence: p.offer.fence });
      this.hold(request);
      for (const l of this.accepted) l(request);
      void this.screenPop(request.requestId);
    } catch (e) {
      if (this.pending?.offer.requestId === id && this.pending.busy === 'accepting') {
        this.step(id, 'offered');
        this.pending = { ...this.pending, busy: null, error: sentence(errorText(e)) };
        this.publish();
      }
      void this.agent.refresh();
    }
  }

  /**
   * CRM screen pop: the queue's CRM record for the request just accepted (the authority
   * fills the template and refuses origins that are not allow-listed). Where the queue says
   * 'sidePanel', it opens in the desk's side panel (main/core refuses an origin not in the
   * console's own screenPopOrigins; the CSP's frame-src allows those alone). Otherwise browser
   * mode opens a new tab; the desktop app hands it to the system browser (shell.openExternal,
   * whose own allow-list applies). Never in the way of the call: a failure is a notice. A
   * phone caller nobody recognised has no record yet: it opens once the agent identified them.
   */
  private async screenPop(requestId: string): Promise<void> {
    try {
      const { url, unknownCaller, opensIn } = await this.bridge.invoke('crm.screenPop', { requestId });
      if (unknownCaller && this.holds(requestId)) this.popWhenIdentified.add(requestId);
      if (!url) return;
      if (opensIn === 'sidePanel') {
        if (this.holds(requestId)) this.crmPanel.show(requestId, url);
      } else if (this.bridge.mode === 'browser') globalThis.open?.(url, '_blank', 'noopener,noreferrer');
      else if (!(await this.bridge.invoke('shell.openExternal', { url })).opened) {
        // The desktop app opens only https links to the hosts IT allow-listed for it.
        this.tell(requestId, `The CRM record was not opened: ${new URL(url).host} is not allowed here.`);
      }
    } catch (e) {
      this.tell(requestId, `The CRM record could not be opened: ${errorText(e)}`);
    }
  }

  /** A notice about a request still in my hands. */
  private tell(requestId: string, notice: string): void {
    if (!this.holds(requestId)) return;
    this.notice = notice;
    this.publish();
  }

  async reject(): Promise<void> {
    const p = this.pending;
    if (!p || p.busy) return;
    const id = p.offer.requestId;
    this.step(id, 'rejecting');
    this.pending = { ...p, busy: 'rejecting', error: null };
    this.publish();
    try {
      await this.bridge.invoke('offer.reject', { requestId: id, fence: p.offer.fence });
      if (this.pending?.offer.requestId === id) {
        this.step(id, 'gone');
        this.pending = null;
      }
      const notice = `You passed on ${p.offer.request.customerName}; the request went back to the queue.`;
      if (this.held.length) {
        this.notice = notice;
        this.publish();
      } else this.publish({ notice, declined: true });
    } catch (e) {
      if (this.pending?.offer.requestId === id && this.pending.busy === 'rejecting') {
        this.step(id, 'offered');
        this.pending = { ...this.pending, busy: null, error: sentence(errorText(e)) };
        this.publish();
      }
      void this.agent.refresh();
    }
  }

  /** The offer's time ran out on this screen; the authority's agent.state confirms it. */
  expired(requestId: string): void {
    const p = this.pending;
    if (p?.offer.requestId === requestId && !p.busy) void this.agent.refresh();
  }

  /** Complete a request in my hands (the selected one by default); the others stay open. */
  async complete(requestId: string | null = this.selectedId): Promise<void> {
    const h = requestId ? this.item(requestId) : undefined;
    if (!h || h.busy) return;
    const id = h.request.requestId;
    this.step(id, 'completing');
    this.patchItem(id, { busy: 'completing', error: null });
    this.publish();
    try {
      const request = await this.bridge.invoke('request.complete', { requestId: id, fence: h.request.fence });
      this.wrapUp.begin(request);
      // The customer hung up first: the authority keeps the request abandoned and the wrap-up mine.
      const left = request.state === 'abandoned';
      this.release(
        id,
        left
          ? `${request.customerName} had already left. Record the wrap-up.`
          : this.held.length > 1
            ? `${request.customerName}: completed. Record the wrap-up.`
            : null,
      );
    } catch (e) {
      if (this.item(id)?.busy === 'completing') {
        this.step(id, 'held');
        this.patchItem(id, { busy: null, error: sentence(errorText(e)) });
        this.publish();
      }
    }
  }

  reset(): void {
    this.held = [];
    this.pending = null;
    this.selectedId = null;
    this.notice = null;
    this.steps.clear();
    this.setState({ phase: 'idle', notice: null });
  }

  dismissNotice(): void {
    const s = this.state;
    if (s.phase === 'idle' && s.notice) this.setState({ phase: 'idle', notice: null });
    else if (s.phase === 'active' && s.notice) {
      this.notice = null;
      this.publish();
    }
  }
}
