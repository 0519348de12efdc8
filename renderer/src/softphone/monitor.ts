import type { MonitorListenOffer, MonitorUpdateFrame } from '../../../protocol/src/monitoring.ts';

/**
 * The media of supervisor monitoring (protocol/src/monitoring.ts), in the browser:
 *
 * - SupervisorMonitor: a receive-only RTCPeerConnection per party answering rtpengine's
 *   listening offers (each party played in an <audio> element of its own), and for
 *   whisper/barge a send-only one offering the supervisor's microphone (rtpengine
 *   `publish`).
 * - AgentMonitor: the agent's receive-only RTCPeerConnection answering rtpengine's offer
 *   of the supervisor's microphone (whisper), and for barge the mix: WebAudio adds the
 *   supervisor's audio to the agent's microphone in a MediaStreamDestination whose track
 *   replaces the call's outgoing track (RTCRtpSender.replaceTrack: no renegotiation), so
 *   the customer hears both. rtpengine 10.5 forks media but does not mix: the agent's
 *   console is the one place that has both voices and the leg to the customer.
 *
 * Remote audio plays through <audio> elements, never WebAudio output: Chromium's echo
 * cancellation covers media elements only. The element also keeps the remote WebRTC
 * track flowing into WebAudio (a remote track no media element consumes can be silent there).
 * rtpengine takes no trickled candidates: every description is sent once ICE gathering
 * is complete.
 */

export type MonitorLeg = MonitorListenOffer['legs'][number];
export type MonitorParty = MonitorLeg['party'];
export type MonitorUpdate = Omit<MonitorUpdateFrame, 'type'>;

/** What the monitor needs of the page (main.tsx passes the real ones; tests theirs). */
export interface MonitorMediaDeps {
  peerConnection(): RTCPeerConnection;
  getUserMedia(constraints: MediaStreamConstraints): Promise<MediaStream>;
  /** A new <audio> element in the page, playing automatically, with this data-testid. */
  audioElement(testId: string): HTMLAudioElement;
  audioContext(): AudioContext;
}

/** The local description once ICE gathering is complete (bounded: what was gathered by then). */
export async function gatheredSdp(pc: RTCPeerConnection, timeoutMs = 5000): Promise<string> {
  if (pc.iceGatheringState !== 'complete')
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        pc.removeEventListener('icegatheringstatechange', check);
        resolve();
      }
      function check() {
        if (pc.iceGatheringState === 'complete') done();
      }
      pc.addEventListener('icegatheringstatechange', check);
    });
  const sdp = pc.localDescription?.sdp;
  if (!sdp) throw new Error('no local description');
  return sdp;
}

function play(el: HTMLAudioElement, stream: MediaStream): void {
  el.autoplay = true;
  el.srcObject = stream;
  el.play().catch(() => undefined);
}

function stopElement(el: HTMLAudioElement): void {
  el.pause();
  el.srcObject = null;
  el.remove();
}

export class SupervisorMonitor {
  private listenPcs: RTCPeerConnection[] = [];
  private talkPc: RTCPeerConnection | null = null;
  private mic: MediaStream | null = null;
  private elements: HTMLAudioElement[] = [];

  constructor(private readonly deps: MonitorMediaDeps) {}

  get talking(): boolean {
    return this.talkPc !== null;
  }

  /** Answers rtpengine's listening offers; each party's audio plays in `monitor-audio-<party>`. */
  async listen(legs: MonitorLeg[], send: (leg: number, answer: string) => Promise<void>): Promise<void> {
    this.stopListening();
    await Promise.all(
      legs.map(async ({ leg, party, offer }) => {
        const pc = this.deps.peerConnection();
        this.listenPcs.push(pc);
        pc.addEventListener('track', (e) => {
          const el = this.deps.audioElement(
            `monitor-audio-${party === 'unknown' ? `party-${leg + 1}` : party}`,
          );
          this.elements.push(el);
          play(el, new MediaStream([e.track]));
        });
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        await pc.setLocalDescription(await pc.createAnswer());
        await send(leg, await gatheredSdp(pc));
      }),
    );
  }

  /** Offers the microphone (send-only); `send` returns rtpengine's answer. */
  async talk(constraints: MediaStreamConstraints, send: (offer: string) => Promise<string>): Promise<void> {
    if (this.talkPc) return;
    const mic = (this.mic = await this.deps.getUserMedia(constraints));
    const track = mic.getAudioTracks()[0];
    if (!track) throw new Error('no microphone');
    const pc = (this.talkPc = this.deps.peerConnection());
    try {
      pc.addTransceiver(track, { direction: 'sendonly', streams: [mic] });
      await pc.setLocalDescription(await pc.createOffer());
      const answer = await send(await gatheredSdp(pc));
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    } catch (e) {
      this.stopTalking();
      throw e;
    }
  }

  stopTalking(): void {
    this.talkPc?.close();
    this.talkPc = null;
    for (const t of this.mic?.getTracks() ?? []) t.stop();
    this.mic = null;
  }

  private stopListening(): void {
    for (const pc of this.listenPcs.splice(0)) pc.close();
    for (const el of this.elements.splice(0)) stopElement(el);
  }

  /** Everything stops: no stream plays, the microphone is released. */
  leave(): void {
    this.stopTalking();
    this.stopListening();
  }
}

interface Mix {
  ctx: AudioContext;
  sender: RTCRtpSender;
  original: MediaStreamTrack;
  mixed: MediaStreamTrack;
}

export class AgentMonitor {
  private pc: RTCPeerConnection | null = null;
  private talk: { supervisorId: string; talkId: string } | null = null;
  private remote: MediaStream | null = null;
  private el: HTMLAudioElement | null = null;
  private mix: Mix | null = null;

  constructor(private readonly deps: MonitorMediaDeps) {}

  /**
   * A supervisor's `monitor.update`: answer a new offer (whisper, barge), mix for barge,
   * unmix for whisper, stop everything for listen/ended. `sender` is the live call's
   * outgoing audio sender (softphone).
   */
  async update(
    u: MonitorUpdate,
    send: (answer: string) => Promise<void>,
    sender: () => RTCRtpSender | null,
  ): Promise<void> {
    if (u.mode === 'listen' || u.mode === 'ended') {
      if (!this.talk || this.talk.supervisorId === u.supervisorId) await this.stop();
      return;
    }
    if (u.offer && u.talkId && (this.talk?.talkId !== u.talkId || !this.pc)) {
      await this.stop();
      const pc = (this.pc = this.deps.peerConnection());
      this.talk = { supervisorId: u.supervisorId, talkId: u.talkId };
      const remote = (this.remote = new MediaStream());
      pc.addEventListener('track', (e) => {
        remote.addTrack(e.track);
        const el = (this.el ??= this.deps.audioElement('monitor-audio-supervisor'));
        play(el, remote);
      });
      await pc.setRemoteDescription({ type: 'offer', sdp: u.offer });
      await pc.setLocalDescription(await pc.createAnswer());
      await send(await gatheredSdp(pc));
    }
    if (u.mode === 'barge') await this.mixIn(sender());
    else await this.unmix();
  }

  get barging(): boolean {
    return this.mix !== null;
  }

  private async mixIn(sender: RTCRtpSender | null): Promise<void> {
    if (this.mix || !sender?.track || !this.remote) return;
    const original = sender.track;
    const ctx = this.deps.audioContext();
    await ctx.resume().catch(() => undefined);
    const dest = ctx.createMediaStreamDestination();
    ctx.createMediaStreamSource(new MediaStream([original])).connect(dest);
    ctx.createMediaStreamSource(this.remote).connect(dest);
    const mixed = dest.stream.getAudioTracks()[0];
    if (!mixed) return void ctx.close();
    mixed.enabled = original.enabled;
    await sender.replaceTrack(mixed);
    this.mix = { ctx, sender, original, mixed };
  }

  private async unmix(): Promise<void> {
    const m = this.mix;
    if (!m) return;
    this.mix = null;
    // Mute/hold meanwhile acted on the mixed track: the microphone takes its state back.
    m.original.enabled = m.mixed.enabled;
    await m.sender.replaceTrack(m.original).catch(() => undefined);
    m.mixed.stop();
    await m.ctx.close().catch(() => undefined);
  }

  /** The supervisor's audio stops and the microphone alone goes to the customer again. */
  async stop(): Promise<void> {
    await this.unmix();
    this.pc?.close();
    this.pc = null;
    this.talk = null;
    this.remote = null;
    if (this.el) stopElement(this.el);
    this.el = null;
  }
}
