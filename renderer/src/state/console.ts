import { DEFAULT_OFFER_VOLUME } from '../../../protocol/src/bridge.ts';
import type { StaffView } from '../../../protocol/src/staff.ts';
import { errorCode, type ConsoleBridge } from '../bridge/types.ts';
import type { Softphone } from '../softphone/softphone.ts';
import { RemoteControlStore } from './remote-control.ts';
import { AgentStore } from './agent.ts';
import { BoardStore } from './board.ts';
import { BoardTranscriptsStore } from './board-transcripts.ts';
import { ChatDeskStore } from './chat.ts';
import { CallControlsStore } from './call.ts';
import { AudioTestStore, OfferSound, type AudioEnvironment } from './audio.ts';
import { ClockStore } from './clock.ts';
import { ConnectionStore } from './connection.ts';
import { HistoryStore } from './history.ts';
import { MyStatsStore } from './stats.ts';
import { MonitorStore } from './monitor.ts';
import type { MonitorMediaDeps } from '../softphone/monitor.ts';
import { microphoneConstraints } from '../softphone/media.ts';
import { PanelStore } from './panel.ts';
import { QueueStore } from './queue.ts';
import { SessionStore } from './session.ts';
import { SettingsStore, type MediaDevicesLike } from './settings.ts';
import { Store } from './store.ts';
import { TransferStore } from './transfer.ts';
import { WorkStore } from './work.ts';
import { WrapUpStore } from './wrap-up.ts';
import { wrapUpSummary } from './wrap-up-summary.ts';

export type ScreenName = 'desk' | 'history' | 'settings' | 'board' | 'reports';

/** Which screen is shown; a store so shortcuts and screen pops can switch it too. */
export class NavigationStore extends Store<ScreenName> {
  constructor() {
    super('desk');
  }
  show(screen: ScreenName): void {
    this.setState(screen);
  }
}

export interface ConsoleEnvironment {
  storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
  media: MediaDevicesLike | null;
  /** Peer connections, microphone and <audio> elements for supervisor monitoring (absent in tests). */
  monitorMedia?: MonitorMediaDeps | null;
  /** <audio> elements, microphone and WebAudio for the offer sound and Settings' audio test. */
  audio?: AudioEnvironment | null;
}

/** The bridge, with any call refused as 'unauthorized' (outside login) ending the session on screen. */
function watchSession(bridge: ConsoleBridge, onExpired: () => void): ConsoleBridge {
  return {
    mode: bridge.mode,
    get link() {
      return bridge.link;
    },
    onLink: (listener) => bridge.onLink(listener),
    on: (event, listener) => bridge.on(event, listener),
    invoke: (channel, args) =>
      bridge.invoke(channel, args).catch((e: unknown) => {
        if (channel !== 'session.login' && errorCode(e) === 'unauthorized') onExpired();
        throw e;
      }),
  };
}

/** A request asked for by chat (the authority's `channel`, when it sends one). */
export const isChatRequest = (r: object): boolean => (r as { channel?: unknown }).channel === 'chat';

export const isSupervisor = (staff: StaffView | null): boolean =>
  staff?.role === 'supervisor' || staff?.role === 'admin';

/**
 * The console without its UI: every store, wired to the bridge and to each other.
 * main.tsx makes one and hands it to React; tests make one with a fake bridge.
 */
export class ConsoleApp {
  readonly clock = new ClockStore(1000);
  readonly navigation = new NavigationStore();
  readonly session: SessionStore;
  readonly connection: ConnectionStore;
  readonly agent: AgentStore;
  readonly queue: QueueStore;
  readonly wrapUp: WrapUpStore;
  readonly work: WorkStore;
  readonly panel: PanelStore;
  /** The verification panel of a chat offered beside the chats held (issue 18: seen before accepting). */
  readonly offerPanel: PanelStore;
  readonly calls: CallControlsStore;
  readonly history: HistoryStore;
  /** "My stats": handled today and the average handling time (from the authority). */
  readonly myStats: MyStatsStore;
  readonly settings: SettingsStore;
  readonly board: BoardStore;
  /** Chat transcripts a supervisor opens from the board (live or finished chats). */
  readonly boardTranscripts: BoardTranscriptsStore;
  readonly remoteControl: RemoteControlStore;
  readonly transfers: TransferStore;
  readonly chats: ChatDeskStore;
  readonly monitor: MonitorStore;
  /** The short sound of an offer, on its own device (Settings "Offer sound"). */
  readonly offerSound: OfferSound;
  /** Settings' microphone level meter and speaker test. */
  readonly audioTest: AudioTestStore;
  private staffId: string | null = null;
  /** main's feed from the authority dropped while signed in: resync when it is back. */
  private feedLost = false;

  readonly bridge: ConsoleBridge;

  constructor(
    raw: ConsoleBridge,
    readonly softphone: Softphone,
    env: ConsoleEnvironment,
  ) {
    const bridge = (this.bridge = watchSession(raw, () => this.session.expired()));
    this.session = new SessionStore(bridge);
    this.connection = new ConnectionStore(bridge);
    this.agent = new AgentStore(bridge);
    this.queue = new QueueStore(bridge);
    this.wrapUp = new WrapUpStore(bridge, env.storage);
    this.work = new WorkStore(bridge, this.agent, this.queue, this.wrapUp);
    this.panel = new PanelStore(bridge);
    this.offerPanel = new PanelStore(bridge);
    this.calls = new CallControlsStore(bridge, softphone, this.work, {
      autoDial: () => this.settings.getState().settings?.autoDial === true,
    });
    this.history = new HistoryStore(bridge);
    this.myStats = new MyStatsStore(bridge, this.agent);
    this.settings = new SettingsStore(bridge, env.media);
    this.offerSound = new OfferSound(env.audio ?? null);
    this.audioTest = new AudioTestStore(env.audio ?? null);
    // Devices chosen in Settings apply to the softphone at once (mid-call too).
    this.settings.subscribe(() => {
      const s = this.settings.getState().settings;
      if (s)
        void this.softphone
          .setDevices({ microphoneId: s.microphoneId, speakerId: s.speakerId, ringerId: s.ringerId })
          .catch(() => undefined);
    });
    this.board = new BoardStore(bridge);
    this.boardTranscripts = new BoardTranscriptsStore(bridge);
    this.remoteControl = new RemoteControlStore(bridge);
    // The wrap-up opens with what happened on the request, from what this console holds.
    this.wrapUp.summarize = (request) =>
      wrapUpSummary({
        request,
        panel: this.panel.getState().panel,
        commands: this.remoteControl.getState().commands,
        calls: this.calls.segmentsOf(request.requestId),
        now: Date.now(),
      });
    this.monitor = new MonitorStore(
      bridge,
      softphone,
      env.monitorMedia ?? null,
      () => microphoneConstraints(this.settings.getState().settings?.microphoneId ?? null),
      (requestId) => this.work.heldRequest(requestId)?.fence ?? null,
    );
    // The call a supervisor monitors ended or moved: its streams stop.
    this.board.subscribe(() => {
      const id = this.monitor.getState().requestId;
      const r = id ? this.board.getState().board?.requests.find((x) => x.requestId === id) : undefined;
      if (id && r?.state !== 'assigned') this.monitor.requestGone();
    });
    this.transfers = new TransferStore(bridge, this.work, softphone);
    this.chats = new ChatDeskStore(bridge, (requestId) => {
      const r = this.work.heldRequest(requestId);
      return r ? { requestId, customerName: r.customerName, fence: r.fence } : null;
    });
    this.connection.subscribe(() =>
      this.chats.setOnline(this.connection.getState().authority === 'connected'),
    );
    // Verified chat: each chat request in hand has its conversation (resumed from the start, so a
    // transfer brings the whole transcript); when one leaves me its transcript stays, read-only.
    // A request whose channel is not (yet) known opens its chat when the first chat frame comes.
    let inHand = new Set<string>();
    let workSelected: string | null = null;
    this.work.subscribe(() => {
      const s = this.work.getState();
      const held = s.phase === 'active' ? s.held.map((h) => h.request) : [];
      for (const r of held)
        if (isChatRequest(r))
          this.chats.open({ requestId: r.requestId, customerName: r.customerName, fence: r.fence });
      const now = new Set(held.map((r) => r.requestId));
      for (const id of inHand)
        if (!now.has(id))
          this.chats.closeFor(id, 'This request is no longer in your hands: the chat is read-only.');
      inHand = now;
      // The conversation on screen follows the request selected (the list selects both ways).
      const selected = s.phase === 'active' ? s.request.requestId : null;
      if (selected && selected !== workSelected && this.chats.getState().selected !== selected)
        this.chats.select(selected);
      workSelected = selected;
    });
    this.chats.subscribe(() => {
      const id = this.chats.getState().selected;
      if (id) this.work.select(id);
    });
    // A chat's wrap-up recorded: its (read-only) conversation leaves the list.
    let lastWrapUp: string | null = null;
    this.wrapUp.subscribe(() => {
      const id = this.wrapUp.getState().last?.requestId ?? null;
      if (id && id !== lastWrapUp && !this.work.holds(id)) this.chats.remove(id);
      lastWrapUp = id;
    });

    this.session.subscribe(() => this.onSession());
    let offered: string | null = null;
    this.work.subscribe(() => {
      this.panel.focus(this.work.focusRequestId);
      this.focusRemoteControl();
      const s = this.work.getState();
      this.offerPanel.focus(s.phase === 'active' ? (s.offer?.offer.requestId ?? null) : null);
      // Screen pop: an offer (another chat beside those held too, or a request handed to me)
      // brings the desk forward.
      const offer = s.phase === 'offered' ? s.offer : s.phase === 'active' ? s.offer?.offer : null;
      const fresh = !!offer && offer.requestId !== offered;
      offered = offer?.requestId ?? null;
      if (fresh) this.playOfferSound();
      if (fresh || (s.phase === 'active' && this.navigation.getState() === 'board'))
        this.navigation.show('desk');
    });
    // A colleague's warm-transfer offer is an offer too: it brings the desk forward, where it is answered.
    let offers = new Set<string>();
    this.transfers.subscribe(() => {
      const incoming = this.transfers.getState().incoming;
      const now = new Set(incoming.map((t) => t.transferId));
      if (incoming.some((t) => !offers.has(t.transferId))) {
        this.navigation.show('desk');
        this.playOfferSound();
      }
      offers = now;
    });
    // The panel's level is the freshest (a step-up shows there first); it gates remote control.
    this.panel.subscribe(() => this.focusRemoteControl());
    // A step-up or a new photo from the device changes the panel: fetch it again.
    bridge.on('command.update', (cmd) => {
      if (
        cmd.requestId === this.panel.getState().requestId &&
        cmd.state === 'done' &&
        (cmd.command.kind === 'verify' || cmd.command.kind === 'photo')
      )
        this.panel.refresh();
    });
    let previous = bridge.link;
    bridge.onLink((next) => {
      const reopened = next === 'open' && previous === 'reconnecting';
      previous = next;
      if (reopened) void this.resync();
    });
    // main's feed from the authority came back: frames sent meanwhile were lost too.
    bridge.on('connection.state', ({ state }) => {
      if (state === 'reconnecting' || state === 'offline') this.feedLost = !!this.staffId;
      else if (state === 'connected' && this.feedLost) {
        this.feedLost = false;
        if (this.staffId) void this.resync();
      }
    });
  }

  start(): Promise<void> {
    return this.session.restore();
  }

  /** An offer arrived: its sound, on the device and at the volume chosen in Settings (0: off). */
  private playOfferSound(): void {
    const s = this.settings.getState().settings;
    void this.offerSound.play({
      offerSoundId: s?.offerSoundId ?? null,
      offerVolume: s?.offerVolume ?? DEFAULT_OFFER_VOLUME,
    });
  }

  /** Remote control follows the active request, at the fence and level I hold it. */
  private focusRemoteControl(): void {
    const s = this.work.getState();
    if (s.phase !== 'active') return this.remoteControl.focus(null);
    // A caller from the phone network has no app on this request: no device to act on.
    if (s.request.phone) return this.remoteControl.focus(null);
    const p = this.panel.getState().panel;
    const level = p && p.request.requestId === s.request.requestId ? p.verification.level : s.request.level;
    this.remoteControl.focus({
      requestId: s.request.requestId,
      fence: s.request.fence,
      level,
      customerName: s.request.customerName,
    });
  }

  private onSession(): void {
    const staff = this.session.staff;
    if (staff && staff.staffId !== this.staffId) void this.begin(staff);
    else if (!staff && this.session.getState().status === 'signed_out' && this.staffId) this.end();
  }

  private async begin(staff: StaffView): Promise<void> {
    this.staffId = staff.staffId;
    this.agent.start(staff.staffId);
    const loads: Promise<unknown>[] = [
      this.agent.refresh(),
      this.queue.refresh(),
      this.wrapUp.start(staff.staffId),
      this.transfers.start(staff.staffId),
      this.settings.load(),
    ];
    if (isSupervisor(staff)) loads.push(this.board.start());
    await Promise.all(loads);
    if (this.agent.getState().agent) this.connection.markReachable();
    await this.connectPhone();
  }

  /** Register the softphone for the signed-in agent, on the audio devices chosen in Settings. */
  private async connectPhone(): Promise<void> {
    if (!this.softphone.getSnapshot().present) return;
    try {
      // Loaded at sign-in (begin): auto-dial and the offer sound read them there too.
      const s = this.settings.getState().settings;
      if (s)
        await this.softphone.setDevices({
          microphoneId: s.microphoneId,
          speakerId: s.speakerId,
          ringerId: s.ringerId,
        });
      await this.softphone.connect();
    } catch {
      // The snapshot carries the reason ("could not register: …"); the call controls show it.
    }
  }

  private end(): void {
    this.staffId = null;
    this.feedLost = false;
    void this.softphone.disconnect();
    this.agent.stop();
    this.queue.reset();
    this.work.reset();
    this.wrapUp.reset();
    this.board.stop();
    this.boardTranscripts.clear();
    void this.monitor.leave();
    this.transfers.stop();
    this.chats.reset();
    this.audioTest.reset();
    this.connection.signedOut();
    this.navigation.show('desk');
  }

  /** The link to main came back: events were missed, so fetch everything again. */
  private async resync(): Promise<void> {
    await this.session.restore();
    const staff = this.session.staff;
    if (!staff || staff.staffId !== this.staffId) return;
    const loads: Promise<unknown>[] = [
      this.agent.refresh(),
      this.queue.refresh(),
      this.transfers.refresh(),
      this.remoteControl.reload(),
    ];
    if (isSupervisor(staff)) loads.push(this.board.start());
    await Promise.all(loads);
    this.panel.refresh();
  }
}
