import type { TransferTargets } from '../../../protocol/src/directory.ts';
import { canTransition, TRANSFER_LIFECYCLE } from '../../../protocol/src/lifecycles.ts';
import { sipUserForAgent } from '../../../protocol/src/sip.ts';
import type { TransferTarget, TransferView } from '../../../protocol/src/transfers.ts';
import { errorText, type ConsoleBridge } from '../bridge/types.ts';
import type { Softphone } from '../softphone/softphone.ts';
import { sentence } from './agent.ts';
import { refusalText } from './remote-control.ts';
import { rememberRecent, Store } from './store.ts';
import type { WorkStore } from './work.ts';

export interface TransferState {
  /** Colleagues and queues (loaded when the dialog opens). */
  targets: TransferTargets | null;
  targetsError: string | null;
  dialogOpen: boolean;
  busy: 'starting' | 'cancelling' | 'accepting' | 'declining' | 'calling' | null;
  error: string | null;
  /** My warm transfer waiting for the colleague. */
  outgoing: TransferView | null;
  /** Warm consult offers waiting for me. */
  incoming: readonly TransferView[];
  /** Requests handed to me (blind, reassigned, warm accepted), by request id: shown on the offer and the active card. */
  arriving: Readonly<Record<string, TransferView>>;
  /** What happened to my last outgoing transfer, in words. */
  notice: string | null;
}

/** How many transfers' last states a console remembers (to drop updates that arrive late). */
const SEEN_TRANSFERS = 500;

/** "Alice Martin is now with Sam Patel (blind transfer)." */
export function handoverText(t: TransferView): string {
  const who = t.request.customerName;
  if (t.kind === 'take_over') return `${t.by.displayName} took over ${who}. No wrap-up is owed.`;
  if (t.kind === 'reassign')
    return `${t.by.displayName} reassigned ${who} to ${t.target.name}. No wrap-up is owed.`;
  if (t.target.kind === 'queue')
    return `${who} is back in the ${t.target.name} queue, keeping their place and their verification.`;
  return `${who} is now with ${t.target.name} (${t.mode} transfer), with their verification. No wrap-up is owed.`;
}

/**
 * Transfers for the agent in hand: the dialog (blind or warm, to an agent, a supervisor
 * or a queue), a warm consult (call the colleague on the softphone while the customer
 * waits, then they accept or decline; or cancel), consult offers from colleagues, and
 * the hand-over itself: when ownership leaves this agent the desk goes idle with no
 * wrap-up owed.
 */
export class TransferStore extends Store<TransferState> {
  private staffId: string | null = null;
  /**
   * The last state seen of each recent transfer. Updates can arrive out of order (with
   * several authority nodes, a frame from the node that made a change reaches its own
   * sockets at once, one from another node comes through the outbox), so an update whose
   * state cannot follow the one seen (TRANSFER_LIFECYCLE) is an old one and is dropped:
   * a late "offered" does not bring back a consult that was declined or cancelled.
   */
  private readonly seen = new Map<string, TransferView['state']>();

  constructor(
    private readonly bridge: ConsoleBridge,
    private readonly work: WorkStore,
    private readonly softphone: Softphone,
  ) {
    super({
      targets: null,
      targetsError: null,
      dialogOpen: false,
      busy: null,
      error: null,
      outgoing: null,
      incoming: [],
      arriving: {},
      notice: null,
    });
    bridge.on('transfer.update', (t) => this.onUpdate(t));
    // The dialog belongs to the request selected (it closes when another is selected); the
    // consult to the request it transfers, while it is in my hands.
    let selected: string | null = null;
    work.subscribe(() => {
      const s = work.getState();
      const id = s.phase === 'active' ? s.request.requestId : null;
      if (this.state.dialogOpen && (!id || id !== selected)) this.patch({ dialogOpen: false });
      selected = id;
      if (this.state.outgoing && !work.holds(this.state.outgoing.requestId))
        this.patch({ outgoing: null, busy: null });
    });
  }

  start(staffId: string): Promise<void> {
    this.staffId = staffId;
    return this.refresh();
  }

  stop(): void {
    this.staffId = null;
    this.setState({
      targets: null,
      targetsError: null,
      dialogOpen: false,
      busy: null,
      error: null,
      outgoing: null,
      incoming: [],
      arriving: {},
      notice: null,
    });
  }

  /** Open consults for and from me (after login or a reconnect). */
  async refresh(): Promise<void> {
    try {
      const mine = await this.bridge.invoke('transfer.mine', {});
      const current = (t: TransferView) => this.current(t);
      this.patch({ incoming: mine.incoming.filter(current), outgoing: mine.outgoing.find(current) ?? null });
    } catch {
      // Consults also arrive as transfer.update; a failed fetch only delays them.
    }
  }

  /** Records `t`'s state unless an update already seen came after it (then false: `t` is stale). */
  private current(t: TransferView): boolean {
    const was = this.seen.get(t.transferId);
    if (was !== undefined && was !== t.state && !canTransition(TRANSFER_LIFECYCLE, was, t.state))
      return false;
    rememberRecent(this.seen, t.transferId, t.state, SEEN_TRANSFERS);
    return true;
  }

  private onUpdate(t: TransferView): void {
    const me = this.staffId;
    if (!me || !this.current(t)) return;
    const toMe = t.target.staffId === me;
    const fromMe = t.from?.staffId === me;
    const incoming = this.state.incoming.filter((x) => x.transferId !== t.transferId);
    if (t.state === 'offered') {
      if (toMe) this.patch({ incoming: [...incoming, t] });
      if (fromMe) this.patch({ outgoing: t });
      return;
    }
    if (incoming.length !== this.state.incoming.length) this.patch({ incoming });
    const outgoing = this.state.outgoing?.transferId === t.transferId;
    if (fromMe && outgoing) this.patch({ outgoing: null, busy: null });
    if (toMe && (t.state === 'completed' || t.state === 'accepted'))
      this.patch({ arriving: { ...this.state.arriving, [t.requestId]: t } });
    // Whatever ends my warm transfer (accepted, declined, cancelled, expired) ends the consult
    // call with the colleague: no leg stays open with live audio on either console.
    if (fromMe) this.hangUpConsult();
    if (toMe && t.state !== 'completed') this.hangUpColleague();
    if (fromMe && (t.state === 'completed' || t.state === 'accepted') && t.toFence !== null) {
      // Ownership left me: the desk goes idle, no wrap-up owed.
      this.leaveCustomer(t.requestId, handoverText(t));
      this.patch({ notice: null, dialogOpen: false });
    } else if (fromMe && outgoing) {
      const name = t.target.name;
      const words: Partial<Record<TransferView['state'], string>> = {
        declined: `${name} declined the transfer: ${t.request.customerName} is still with you.`,
        expired: `${name} did not accept in time: ${t.request.customerName} is still with you.`,
        cancelled: `The transfer to ${name} was cancelled: ${t.request.customerName} is still with you.`,
      };
      this.patch({ notice: words[t.state] ?? null });
    }
  }

  openDialog(): void {
    this.patch({ dialogOpen: true, error: null, notice: null });
    void this.loadTargets();
  }

  closeDialog(): void {
    this.patch({ dialogOpen: false, error: null });
  }

  async loadTargets(): Promise<void> {
    try {
      this.patch({ targets: await this.bridge.invoke('transfer.targets', {}), targetsError: null });
    } catch (e) {
      this.patch({ targetsError: errorText(e) });
    }
  }

  /** Blind: ownership moves now. Warm: a consult offer; the customer stays with me until they accept. */
  async transfer(mode: 'blind' | 'warm', target: TransferTarget, note: string): Promise<boolean> {
    const s = this.work.getState();
    if (s.phase !== 'active' || this.state.busy) return false;
    const { requestId, fence } = s.request;
    this.patch({ busy: 'starting', error: null, notice: null });
    try {
      const t = await this.bridge.invoke('transfer.start', {
        requestId,
        fence,
        mode,
        target,
        ...(note.trim() ? { note: note.trim() } : {}),
      });
      this.patch({ busy: null, dialogOpen: false });
      if (!this.current(t)) return true; // its end came first (frames); the update said what
      if (t.state === 'offered') this.patch({ outgoing: t });
      else if (t.toFence !== null) this.leaveCustomer(requestId, handoverText(t));
      return true;
    } catch (e) {
      this.patch({ busy: null, error: refusalText(e) });
      return false;
    }
  }

  /** Withdraw my warm transfer before the colleague accepts it. */
  async cancelOutgoing(): Promise<void> {
    const t = this.state.outgoing;
    const held = t ? this.work.heldRequest(t.requestId) : null;
    if (!t || !held) return;
    this.patch({ busy: 'cancelling', error: null });
    try {
      this.current(
        await this.bridge.invoke('transfer.cancel', { transferId: t.transferId, fence: held.fence }),
      );
      this.hangUpConsult();
      this.patch({
        busy: null,
        outgoing: null,
        notice: `Transfer to ${t.target.name} cancelled: ${t.request.customerName} is still with you.`,
      });
    } catch (e) {
      this.patch({ busy: null, error: refusalText(e) });
    }
  }

  /**
   * The consult call: put the customer's call on hold when there is one, then call the
   * colleague's console on the softphone (their SIP user, on this softphone's domain).
   */
  async callColleague(): Promise<void> {
    const t = this.state.outgoing;
    if (!t?.target.staffId) return;
    this.patch({ busy: 'calling', error: null });
    const user = sipUserForAgent(t.target.staffId);
    try {
      const phone = this.softphone.getSnapshot();
      const withCustomer =
        phone.requestId === t.requestId && (phone.line === 'connected' || phone.line === 'held');
      if (withCustomer) {
        // The customer waits on hold while the agents talk (a second leg on the softphone).
        if (phone.line === 'connected') await this.softphone.hold(true);
        await this.softphone.consult(user, t.target.name);
      } else await this.softphone.dial(user, t.target.name);
      this.patch({ busy: null });
    } catch (e) {
      this.patch({ busy: null, error: sentence(errorText(e)) });
    }
  }

  /** Hang up the consult call (the second leg, or the plain call to the colleague). */
  async endConsultCall(): Promise<void> {
    const phone = this.softphone.getSnapshot();
    try {
      if (phone.consult) await this.softphone.endConsult();
      else if (phone.requestId === null && (phone.line === 'connected' || phone.line === 'calling'))
        await this.softphone.hangUp();
    } catch (e) {
      this.patch({ error: sentence(errorText(e)) });
    }
  }

  /** End my consult leg with the colleague (or the plain call I dialled to them). */
  private hangUpConsult(): void {
    const phone = this.softphone.getSnapshot();
    if (phone.consult) void this.softphone.endConsult().catch(() => undefined);
    else if (phone.requestId === null && phone.line !== 'ready' && phone.line !== 'disconnected')
      void this.softphone.hangUp().catch(() => undefined);
  }

  /** A consult offer to me is settled: the consult call from the colleague (no request on it) ends. */
  private hangUpColleague(): void {
    const phone = this.softphone.getSnapshot();
    if (
      phone.requestId === null &&
      (phone.line === 'connected' || phone.line === 'held' || phone.line === 'incoming')
    )
      void this.softphone.hangUp().catch(() => undefined);
  }

  /** The request left me: my call with its customer ends (the new holder calls them with their own ticket). */
  private leaveCustomer(requestId: string, notice: string): void {
    this.work.handedOver(requestId, notice);
    // The customer's phone stays with the request and answers the new holder by itself.
    if (this.softphone.getSnapshot().requestId === requestId)
      void this.softphone.hangUp('transferred').catch(() => undefined);
  }

  async accept(transferId: string): Promise<void> {
    if (this.state.busy) return;
    this.patch({ busy: 'accepting', error: null });
    try {
      const t = await this.bridge.invoke('transfer.accept', { transferId });
      this.current(t);
      this.hangUpColleague();
      this.work.adopt(t.request);
      this.patch({
        busy: null,
        incoming: this.state.incoming.filter((x) => x.transferId !== transferId),
        arriving: { ...this.state.arriving, [t.requestId]: t },
      });
    } catch (e) {
      this.patch({
        busy: null,
        error: refusalText(e),
        incoming: this.state.incoming.filter((x) => x.transferId !== transferId),
      });
    }
  }

  async decline(transferId: string): Promise<void> {
    if (this.state.busy) return;
    this.patch({ busy: 'declining', error: null });
    try {
      this.current(await this.bridge.invoke('transfer.decline', { transferId }));
      this.hangUpColleague();
    } catch (e) {
      this.patch({ error: refusalText(e) });
    }
    this.patch({ busy: null, incoming: this.state.incoming.filter((x) => x.transferId !== transferId) });
  }

  dismiss(): void {
    this.patch({ error: null, notice: null });
  }
}
