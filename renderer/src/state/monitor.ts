import type { MonitorMode } from '../../../protocol/src/monitoring.ts';
import type { RequestView } from '../../../protocol/src/pipeline.ts';
import type { ConsoleBridge } from '../bridge/types.ts';
import {
  AgentMonitor,
  SupervisorMonitor,
  type MonitorMediaDeps,
  type MonitorParty,
  type MonitorUpdate,
} from '../softphone/monitor.ts';
import type { Softphone } from '../softphone/softphone.ts';
import { refusalText } from './remote-control.ts';
import { rememberRecent, Store } from './store.ts';

export interface MonitorState {
  /** Supervisor: the request whose call I monitor, and how. */
  requestId: string | null;
  customerName: string | null;
  mode: MonitorMode | null;
  parties: MonitorParty[];
  /** The step in flight: 'listen' | 'whisper' | 'barge' | 'leave'. */
  busy: string | null;
  error: string | null;
  /** Agent: a supervisor talking on my call (whisper: to me only; barge: to the customer too). */
  coached: { requestId: string; supervisorName: string; mode: 'listen' | 'whisper' | 'barge' } | null;
}

const IDLE: MonitorState = {
  requestId: null,
  customerName: null,
  mode: null,
  parties: [],
  busy: null,
  error: null,
  coached: null,
};

/**
 * Supervisor monitoring in the console (protocol/src/monitoring.ts): the supervisor's
 * Listen / Whisper / Barge / Leave on the board, and on the agent's side the answer to a
 * supervisor's audio (`monitor.update`), played and, for barge, mixed into the call.
 * The media is softphone/monitor.ts; without page media (tests) the steps are refused.
 */
export class MonitorStore extends Store<MonitorState> {
  private readonly supervisor: SupervisorMonitor | null;
  private readonly agent: AgentMonitor | null;
  private updates: Promise<void> = Promise.resolve();
  /**
   * Agent: the time of the last `monitor.update` applied, by request. With several
   * authority nodes a frame from the node that made the change reaches its own sockets at
   * once and one from another node comes through the outbox, so one can arrive after a
   * later one: an update older than the last applied is dropped (a late "whisper" after
   * the "ended" that followed it would answer the audio of a supervisor who left).
   */
  private readonly lastUpdate = new Map<string, number>();

  constructor(
    private readonly bridge: ConsoleBridge,
    private readonly softphone: Softphone,
    deps: MonitorMediaDeps | null,
    private readonly microphone: () => MediaStreamConstraints,
    /** The fence under which I hold this request, or null. */
    private readonly fenceOf: (requestId: string) => number | null,
  ) {
    super(IDLE);
    this.supervisor = deps ? new SupervisorMonitor(deps) : null;
    this.agent = deps ? new AgentMonitor(deps) : null;
    bridge.on('monitor.update', (u) => {
      // One at a time, in order: an answer must be sent before the next mode applies.
      this.updates = this.updates.then(() => this.onUpdate(u)).catch(() => undefined);
    });
    // My call ended: a supervisor's audio goes with it.
    softphone.subscribe(() => {
      const line = softphone.getSnapshot().line;
      if (this.state.coached && line !== 'connected' && line !== 'held') void this.stopCoaching();
    });
  }

  /** Start listening to this request's call (another monitored call is left first). */
  async listen(r: RequestView): Promise<void> {
    const sup = this.supervisor;
    if (this.state.busy) return;
    if (!sup) return this.patch({ error: 'Monitoring needs the console in a browser with audio.' });
    if (this.state.requestId && this.state.requestId !== r.requestId) await this.leave();
    this.patch({ busy: 'listen', error: null, requestId: r.requestId, customerName: r.customerName });
    try {
      const offer = await this.bridge.invoke('monitor.listen', { requestId: r.requestId });
      await sup.listen(offer.legs, async (leg, answer) => {
        await this.bridge.invoke('monitor.listenAnswer', { requestId: r.requestId, leg, answer });
      });
      this.patch({ busy: null, mode: 'listen', parties: offer.legs.map((l) => l.party) });
    } catch (e) {
      sup.leave();
      this.patch({ ...IDLE, coached: this.state.coached, error: refusalText(e) });
    }
  }

  /** Whisper (the agent hears me), barge (both parties do) or listen only again. */
  async setMode(mode: MonitorMode): Promise<void> {
    const sup = this.supervisor;
    const requestId = this.state.requestId;
    if (!sup || !requestId || this.state.busy || this.state.mode === mode) return;
    this.patch({ busy: mode, error: null });
    try {
      if (mode === 'listen') {
        await this.bridge.invoke('monitor.mode', { requestId, mode });
        sup.stopTalking();
      } else if (sup.talking) {
        await this.bridge.invoke('monitor.mode', { requestId, mode });
      } else {
        await sup.talk(this.microphone(), async (offer) => {
          const r = await this.bridge.invoke('monitor.mode', { requestId, mode, offer });
          if (!r.answer) throw new Error('the media server did not answer the microphone');
          return r.answer;
        });
      }
      this.patch({ busy: null, mode });
    } catch (e) {
      this.patch({ busy: null, error: refusalText(e) });
    }
  }

  /** Stop monitoring: my streams stop at once, the authority ends the subscriptions. */
  async leave(): Promise<void> {
    const requestId = this.state.requestId;
    this.supervisor?.leave();
    if (!requestId) return;
    this.patch({ busy: 'leave', error: null });
    let error: string | null = null;
    try {
      await this.bridge.invoke('monitor.leave', { requestId });
    } catch (e) {
      error = refusalText(e);
    }
    this.setState({ ...IDLE, coached: this.state.coached, error });
  }

  /** The monitored request is no longer live (ended, moved): its streams stop. */
  requestGone(): void {
    if (!this.state.requestId || this.state.busy) return;
    this.supervisor?.leave();
    this.setState({ ...IDLE, coached: this.state.coached });
  }

  dismiss(): void {
    this.patch({ error: null });
  }

  private async onUpdate(u: MonitorUpdate): Promise<void> {
    const at = Date.parse(u.at);
    if (at < (this.lastUpdate.get(u.requestId) ?? -Infinity)) return;
    rememberRecent(this.lastUpdate, u.requestId, at, 100);
    const agent = this.agent;
    if (!agent) return;
    const fence = this.fenceOf(u.requestId);
    if (fence === null) return;
    await agent.update(
      u,
      async (answer) => {
        await this.bridge.invoke('monitor.agentAnswer', {
          requestId: u.requestId,
          fence,
          supervisorId: u.supervisorId,
          talkId: u.talkId!,
          answer,
        });
      },
      () => this.softphone.outgoingSender?.() ?? null,
    );
    this.patch({
      coached:
        u.mode === 'whisper' || u.mode === 'barge' || u.mode === 'listen'
          ? { requestId: u.requestId, supervisorName: u.supervisorName, mode: u.mode }
          : null,
    });
  }

  private async stopCoaching(): Promise<void> {
    await this.agent?.stop();
    this.patch({ coached: null });
  }
}
