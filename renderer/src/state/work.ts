import { IllegalTransition } from '../../../protocol/src/lifecycles.ts';
import type { AgentView, OfferView, RequestView } from '../../../protocol/src/pipeline.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { AgentStore } from './agent.ts';
import { sentence } from './agent.ts';
import type { QueueStore } from './queue.ts';
import { Store } from './store.ts';
import type { WrapUpStore } from './wrap-up.ts';

/**
 * The agent's work item, a small state machine:
 *
 *   idle --offer--> offered --accept--> active --complete--> idle (wrap-up pending)
 *                   offered --reject / expired / withdrawn--> idle
 *                   active  --the customer left--> idle (wrap-up pending)
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
  | {
      phase: 'offered';
      offer: OfferView;
      /** When the offer reached this console (ms): the countdown's full length runs from here. */
      receivedAt: number;
      busy: 'accepting' | 'rejecting' | null;
      error: string | null;
    }
  | {
      phase: 'active';
      request: RequestView;
      /** When this console saw the request become the agent's (ms). */
      since: number;
      busy: 'completing' | null;
      error: string | null;
      notice: string | null;
    };

export type WorkPhase = WorkState['phase'];

const TRANSITIONS: Record<WorkPhase, readonly WorkPhase[]> = {
  idle: ['offered', 'active'],
  offered: ['idle', 'offered', 'active'],
  active: ['idle', 'offered', 'active'],
};

export class WorkStore extends Store<WorkState> {
  /** Requests whose ownership moved away from me, with what to tell the agent. */
  private readonly movedAway = new Map<string, string>();

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
    queue.subscribe(() => this.followRequest());
  }

  private go(next: WorkState): void {
    if (next.phase !== this.state.phase && !TRANSITIONS[this.state.phase].includes(next.phase))
      throw new IllegalTransition('work', this.state.phase, next.phase);
    this.setState(next);
  }

  /** The request the panel is about: the offered one before the call, the active one during it. */
  get focusRequestId(): string | null {
    const s = this.state;
    return s.phase === 'offered' ? s.offer.requestId : s.phase === 'active' ? s.request.requestId : null;
  }

  private onOffer(offer: OfferView): void {
    const s = this.state;
    if (s.phase === 'active') return; // an agent on a request gets no offer; a stale frame
    if (s.phase === 'offered' && s.offer.requestId === offer.requestId && s.offer.fence >= offer.fence)
      return;
    this.go({ phase: 'offered', offer, receivedAt: Date.now(), busy: null, error: null });
  }

  /** Align with the authority's view of this agent. */
  private sync(a: AgentView): void {
    const s = this.state;
    if (a.currentRequestId) {
      if (s.phase === 'active' && s.request.requestId === a.currentRequestId) return;
      const known =
        (s.phase === 'offered' && s.offer.requestId === a.currentRequestId ? s.offer.request : null) ??
        this.queue.get(a.currentRequestId);
      // Only a copy that already names me carries my fence (a transfer or take-over brings a new one).
      if (known && known.agentId === a.staffId)
        this.go({
          phase: 'active',
          request: { ...known, state: 'assigned' },
          since: Date.now(),
          busy: null,
          error: null,
          notice: null,
        });
      else void this.loadActive(a.currentRequestId);
      return;
    }
    if (a.offer) {
      this.onOffer(a.offer);
      return;
    }
    if (s.phase === 'offered' && s.busy === null) {
      const name = s.offer.request.customerName;
      this.go({
        phase: 'idle',
        notice:
          a.presence === 'missed'
            ? `The offer for ${name} timed out: ${name} is back in the queue.`
            : `The offer for ${name} was withdrawn.`,
      });
    } else if (s.phase === 'active' && s.busy === null) {
      const moved = this.movedAway.get(s.request.requestId);
      if (moved) {
        this.go({ phase: 'idle', notice: moved });
        return;
      }
      // The customer left or the session expired: the pipeline puts the agent in wrap-up.
      if (a.presence === 'wrap_up') return this.ended(s.request);
      // Otherwise ownership probably moved on (transfer, take-over, reassign): ask the authority.
      void this.whereDidItGo(s.request);
    }
  }

  private ended(request: RequestView): void {
    this.wrapUp.begin(request);
    this.go({ phase: 'idle', notice: `${request.customerName} ended the request. Record the wrap-up.` });
  }

  private async whereDidItGo(request: RequestView): Promise<void> {
    let now: RequestView | null = null;
    try {
      now = await this.bridge.invoke('request.get', { requestId: request.requestId });
    } catch {
      // Unknown: owe the wrap-up rather than lose it.
    }
    const s = this.state;
    if (s.phase !== 'active' || s.request.requestId !== request.requestId) return;
    const moved = this.movedAway.get(request.requestId);
    if (moved) this.go({ phase: 'idle', notice: moved });
    else if (!now || now.state === 'completed' || now.state === 'abandoned' || now.fence <= request.fence)
      this.ended(request);
    else
      this.go({
        phase: 'idle',
        notice: `${request.customerName} moved on${now.agentName ? ` to ${now.agentName}` : ''}. No wrap-up is owed.`,
      });
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
    if (s.phase === 'active' && s.request.requestId === requestId) this.go({ phase: 'idle', notice });
    else if (s.phase === 'idle' && !this.wrapUp.getState().item) this.setState({ phase: 'idle', notice });
  }

  /** After a reload mid-call: the request comes with the panel. */
  private async loadActive(requestId: string): Promise<void> {
    try {
      const panel = await this.bridge.invoke('panel.get', { requestId });
      if (this.agent.getState().agent?.currentRequestId === requestId)
        this.go({
          phase: 'active',
          request: panel.request,
          since: Date.now(),
          busy: null,
          error: null,
          notice: null,
        });
    } catch (e) {
      this.setState({ phase: 'idle', notice: `Could not load your current request: ${errorText(e)}` });
    }
  }

  /** Keep the active request (level, state) up to date from the queue feed. */
  private followRequest(): void {
    const s = this.state;
    if (s.phase !== 'active') return;
    const r = this.queue.get(s.request.requestId);
    if (!r || r === s.request) return;
    const me = this.agent.getState().agent?.staffId;
    if (
      r.fence === s.request.fence ||
      (r.fence > s.request.fence && r.state === 'assigned' && r.agentId === me)
    )
      this.setState({ ...s, request: r });
  }

  /** A request that became mine without an offer (a warm transfer I accepted, a take-over). */
  adopt(request: RequestView): void {
    const s = this.state;
    if (s.phase === 'active' && s.request.requestId === request.requestId && s.request.fence >= request.fence)
      return;
    if (s.phase === 'active' && s.request.requestId !== request.requestId) return;
    this.go({
      phase: 'active',
      request: { ...request, state: 'assigned' },
      since: Date.now(),
      busy: null,
      error: null,
      notice: null,
    });
  }

  async accept(): Promise<void> {
    const s = this.state;
    if (s.phase !== 'offered' || s.busy) return;
    this.setState({ ...s, busy: 'accepting', error: null });
    try {
      const request = await this.bridge.invoke('offer.accept', {
        requestId: s.offer.requestId,
        fence: s.offer.fence,
      });
      this.go({ phase: 'active', request, since: Date.now(), busy: null, error: null, notice: null });
      void this.screenPop(request.requestId);
    } catch (e) {
      const now = this.state;
      if (now.phase === 'offered' && now.offer.requestId === s.offer.requestId)
        this.setState({ ...now, busy: null, error: sentence(errorText(e)) });
      void this.agent.refresh();
    }
  }

  /**
   * CRM screen pop: the queue's CRM record for the request just accepted (the authority
   * fills the template and refuses origins that are not allow-listed). Browser mode opens
   * a new tab; the desktop app hands it to the system browser (shell.openExternal, whose
   * own host allow-list applies). Never in the way of the call: a failure is a notice.
   */
  private async screenPop(requestId: string): Promise<void> {
    try {
      const { url } = await this.bridge.invoke('crm.screenPop', { requestId });
      if (!url) return;
      if (this.bridge.mode === 'browser') globalThis.open?.(url, '_blank', 'noopener,noreferrer');
      else if (!(await this.bridge.invoke('shell.openExternal', { url })).opened) {
        // The desktop app opens only https links to the hosts IT allow-listed for it.
        const now = this.state;
        if (now.phase === 'active' && now.request.requestId === requestId)
          this.setState({
            ...now,
            notice: `The CRM record was not opened: ${new URL(url).host} is not allowed here.`,
          });
      }
    } catch (e) {
      const now = this.state;
      if (now.phase === 'active' && now.request.requestId === requestId)
        this.setState({ ...now, notice: `The CRM record could not be opened: ${errorText(e)}` });
    }
  }

  async reject(): Promise<void> {
    const s = this.state;
    if (s.phase !== 'offered' || s.busy) return;
    this.setState({ ...s, busy: 'rejecting', error: null });
    try {
      await this.bridge.invoke('offer.reject', { requestId: s.offer.requestId, fence: s.offer.fence });
      this.go({
        phase: 'idle',
        notice: `You passed on ${s.offer.request.customerName}; the request went back to the queue.`,
        declined: true,
      });
    } catch (e) {
      const now = this.state;
      if (now.phase === 'offered') this.setState({ ...now, busy: null, error: sentence(errorText(e)) });
      void this.agent.refresh();
    }
  }

  /** The offer's time ran out on this screen; the authority's agent.state confirms it. */
  expired(requestId: string): void {
    const s = this.state;
    if (s.phase === 'offered' && s.offer.requestId === requestId && !s.busy) void this.agent.refresh();
  }

  async complete(): Promise<void> {
    const s = this.state;
    if (s.phase !== 'active' || s.busy) return;
    this.setState({ ...s, busy: 'completing', error: null });
    try {
      const request = await this.bridge.invoke('request.complete', {
        requestId: s.request.requestId,
        fence: s.request.fence,
      });
      this.wrapUp.begin(request);
      // The customer hung up first: the authority keeps the request abandoned and the wrap-up mine.
      const left = request.state === 'abandoned';
      this.go({
        phase: 'idle',
        notice: left ? `${request.customerName} had already left. Record the wrap-up.` : null,
      });
    } catch (e) {
      const now = this.state;
      if (now.phase === 'active') this.setState({ ...now, busy: null, error: sentence(errorText(e)) });
    }
  }

  reset(): void {
    this.setState({ phase: 'idle', notice: null });
  }

  dismissNotice(): void {
    const s = this.state;
    if (s.phase === 'idle' && s.notice) this.setState({ phase: 'idle', notice: null });
  }
}
