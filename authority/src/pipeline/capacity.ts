import type { NotOfferedReason, QueueStats } from '../../../protocol/src/pipeline.ts';
import type { Ctx } from '../context.ts';
import type { Repos } from '../store/repos/index.ts';
import { NOTHING_HELD, type Held } from '../store/repos/requests.ts';
import { onShift, servesLater, type AgentInfo, type AgentRow, type Agents } from './agents.ts';
import type { PipelineConfigStore } from './pipeline-config.ts';
import { estimateWait } from './rules.ts';

type Channel = 'voice' | 'chat';
const CHANNELS: readonly Channel[] = ['voice', 'chat'];
/** The key of a queue's measured handling time for one channel in `Staffing.handle`. */
const handleKey = (queueId: string, channel: Channel) => `${queueId}\u0000${channel}`;

/** Presences in which an agent takes calls (now or after the current one). */
const SERVING = new Set(['available', 'busy', 'wrap_up', 'missed']);

export interface Staffing {
  agents: {
    row: AgentRow;
    info: AgentInfo;
    onShift: boolean;
    /** An offer waits for them: a request, or a colleague's warm transfer (a consult: busy with it). */
    hasOffer: boolean;
    /** What the agent holds now, by channel. */
    held: Held;
    /** Could serve later: a shift still to end, or no schedule at all (servesLater). */
    later: boolean;
  }[];
  /** Measured handling time per queue and channel (seconds; key handleKey), when the snapshot carries it. */
  handle?: Map<string, number>;
  /** The instant the snapshot describes. */
  at?: number;
}

/** What queue statistics are computed from (read in one place, from either way to the data). */
interface QueueFigures {
  waiting: {
    n: number;
    oldest: number | null;
    groups: { skills: string; channel: Channel; n: number }[];
  };
  answered: { n: number; ok: number };
}

/** Who can serve what, and how long the wait is: computed from agents, shifts and measured handling times. */
export class Capacity {
  constructor(
    private readonly ctx: Ctx,
    private readonly agents: Agents,
    private readonly config: PipelineConfigStore,
  ) {}

  /**
   * Who can serve now, with their shifts and every queue's measured handling time: a
   * snapshot read from the store (committed data by default, or the caller's unit), on
   * which counts(), wait() and queueStatsOf() compute without reading again.
   */
  async staffingOf(r: Repos = this.ctx.data.read): Promise<Staffing> {
    const at = this.ctx.clock.now();
    const rows = await r.custody.staffingAgents();
    const shifts = await r.custody.shiftStateOf(
      rows.map((a) => a.staff_id),
      at,
    );
    const offered = await r.custody.offeredAgents();
    const consulted = await r.transfers.consultedStaff();
    const held = await r.requests.heldByAgent();
    const handle = new Map<string, number>();
    for (const q of this.config.config.queues)
      for (const channel of CHANNELS) {
        const measured = await r.custody.measuredHandleSeconds(q.id, channel);
        if (measured !== null) handle.set(handleKey(q.id, channel), measured);
      }
    return {
      at,
      handle,
      agents: rows.map((row) => {
        const own = shifts.get(row.staff_id);
        return {
          row,
          info: this.agents.info(row),
          onShift: onShift(own),
          later: servesLater(own),
          hasOffer: offered.has(row.staff_id) || consulted.has(row.staff_id),
          held: held.get(row.staff_id) ?? NOTHING_HELD,
        };
      }),
    };
  }

  static eligible(info: AgentInfo, queue: string, skills: readonly string[]): boolean {
    return info.queues.has(queue) && skills.every((s) => info.skills.has(s));
  }

  /**
   * Why a person holding `held` cannot take one more request of this channel now, whatever
   * their presence (null: they can): a call takes the whole capacity (a voice request, or a
   * chat escalated to a live call to its device), so it needs nothing held; a chat may join
   * chats while fewer than `chatCapacity` are held; nobody takes one with an offer pending.
   * Routing (hasRoom), transfers, the transfer directory and the queue statistics all
   * decide by this one rule.
   */
  static noRoom(
    held: Held & { offered?: boolean },
    channel: 'voice' | 'chat',
    chatCapacity: number,
  ): 'offer' | 'call' | 'chats' | 'full' | null {
    if (held.offered) return 'offer';
    if (held.voice > 0 || held.chatCalls > 0) return 'call';
    if (channel === 'voice') return held.chat > 0 ? 'chats' : null;
    return held.chat >= chatCapacity ? 'full' : null;
  }

  /**
   * Whether an agent has room for a request of this channel: a call needs an agent who is
   * available and holds nothing (a call takes the whole capacity); a chat needs one who is
   * available, or busy with chats only and fewer than the queue's chat capacity (bounded by
   * the agent's own: chatLimit) of them.
   */
  static hasRoom(
    a: { row: { presence: string; chat_capacity: number | null }; held: Held },
    channel: 'voice' | 'chat',
    queueChatCapacity: number,
  ): boolean {
    const present =
      channel === 'voice'
        ? a.row.presence === 'available'
        : a.row.presence === 'available' || a.row.presence === 'busy';
    const limit = Capacity.chatLimit(queueChatCapacity, a.row.chat_capacity);
    return present && Capacity.noRoom(a.held, channel, limit) === null;
  }

  /** The chats a person may hold in a queue: the queue's capacity, bounded by their own when they have one. */
  static chatLimit(queueChatCapacity: number, own: number | null | undefined): number {
    return own == null ? queueChatCapacity : Math.min(queueChatCapacity, own);
  }

  /**
   * Average of the last 20 measured handling times of the queue's requests of `channel`
   * (from the snapshot when it carries them), or the queue's expected time: a chat's wait
   * from chat handling, a call's (and a callback's slot) from call handling.
   */
  handleSeconds(queueId: string, st?: Staffing, channel: Channel = 'voice'): number {
    const measured = st?.handle?.get(handleKey(queueId, channel)) ?? null;
    return Math.max(1, Math.round(measured ?? this.config.queue(queueId)?.expectedHandleSeconds ?? 300));
  }

  /**
   * Whether an agent of the snapshot is free for one more request of `channel` in `queue`
   * now: on shift, no offer pending, with room for it (hasRoom, bounded by their own chat
   * capacity): for a chat, an agent chatting below their capacity is free too.
   */
  private freeFor(a: Staffing['agents'][number], queue: string, channel: Channel): boolean {
    return a.onShift && !a.hasOffer && Capacity.hasRoom(a, channel, this.config.chatCapacity(queue));
  }

  /**
   * free: on shift with room now for a request of `channel` (freeFor); serving: on shift and
   * taking requests; later: could serve on a later shift.
   */
  counts(st: Staffing, queue: string, skills: readonly string[], channel: Channel = 'voice') {
    let free = 0;
    let serving = 0;
    let later = 0;
    for (const a of st.agents) {
      if (!Capacity.eligible(a.info, queue, skills)) continue;
      if (a.onShift && SERVING.has(a.row.presence)) {
        serving++;
        if (this.freeFor(a, queue, channel)) free++;
      }
      if (a.later) later++;
    }
    return { free, serving, later };
  }

  /**
   * Waiting requests of the queue that no agent can take now, by the skills they need and
   * their channel: how many, how many agents are free for them (freeFor: on shift, with the
   * skills, room for that channel, no offer), and why none is (nobody has the skills, all off
   * shift, away, busy). Groups with a free agent are being offered and are left out.
   */
  private notOffered(
    st: Staffing,
    queueId: string,
    groups: QueueFigures['waiting']['groups'],
  ): NonNullable<QueueStats['notOffered']> {
    const out: NonNullable<QueueStats['notOffered']> = [];
    for (const g of groups) {
      const skills = [...new Set(JSON.parse(g.skills) as string[])].sort();
      const able = st.agents.filter((a) => Capacity.eligible(a.info, queueId, skills));
      const onShift = able.filter((a) => a.onShift);
      const free = onShift.filter((a) => this.freeFor(a, queueId, g.channel)).length;
      if (free > 0) continue;
      let reason: NotOfferedReason;
      if (!able.length) reason = 'no_skill';
      else if (!onShift.length) reason = 'off_shift';
      else if (onShift.some((a) => SERVING.has(a.row.presence))) reason = 'busy';
      else reason = 'away';
      out.push({ skills, channel: g.channel, waiting: g.n, free, reason });
    }
    return out;
  }

  /** The estimated wait of a request of `channel` at `position` in the queue (agents free for that channel). */
  wait(
    st: Staffing,
    queue: string,
    skills: readonly string[],
    position: number,
    channel: Channel = 'voice',
  ): number | null {
    const c = this.counts(st, queue, skills, channel);
    return estimateWait(position, c.free, c.serving, this.handleSeconds(queue, st, channel));
  }

  private stats(st: Staffing, queueId: string, f: QueueFigures, now: number): QueueStats {
    const q = this.config.queue(queueId);
    const target = q?.targetAnswerSeconds ?? 20;
    const w = f.waiting;
    const voice = this.counts(st, queueId, [], 'voice');
    const chat = this.counts(st, queueId, [], 'chat');
    // A new request's wait behind those waiting, per channel (each from its own handling);
    // the queue's: a call's, unless the queue is offered for chat only.
    const byChannel = {
      voice: estimateWait(w.n + 1, voice.free, voice.serving, this.handleSeconds(queueId, st, 'voice')),
      chat: estimateWait(w.n + 1, chat.free, chat.serving, this.handleSeconds(queueId, st, 'chat')),
    };
    return {
      queueId,
      name: q?.name ?? queueId,
      waiting: w.n,
      longestWaitSeconds: w.oldest === null ? 0 : Math.max(0, Math.round((now - w.oldest) / 1000)),
      estimatedWaitSeconds: this.config.channelsOf(queueId).includes('voice')
        ? byChannel.voice
        : byChannel.chat,
      estimatedWaitSecondsByChannel: byChannel,
      agentsAvailable: st.agents.filter(
        (a) =>
          a.onShift &&
          !a.hasOffer &&
          a.row.presence === 'available' &&
          Capacity.eligible(a.info, queueId, []),
      ).length,
      agentsWithRoom: { voice: voice.free, chat: chat.free },
      channels: this.config.channelsOf(queueId),
      agentsOnShift: st.agents.filter(
        (a) => a.onShift && a.info.queues.has(queueId) && a.row.presence !== 'offline',
      ).length,
      answeredWithinTarget: f.answered.n === 0 ? null : f.answered.ok / f.answered.n,
      targetAnswerSeconds: target,
      notOffered: w.n ? this.notOffered(st, queueId, w.groups) : [],
    };
  }

  /** Per-queue figures of the board and the agent's queues, read from the store (committed data by default). */
  async queueStatsOf(
    st: Staffing,
    queueIds: readonly string[],
    r: Repos = this.ctx.data.read,
  ): Promise<QueueStats[]> {
    const now = this.ctx.clock.now();
    const out: QueueStats[] = [];
    for (const queueId of queueIds) {
      const target = (this.config.queue(queueId)?.targetAnswerSeconds ?? 20) * 1000;
      out.push(
        this.stats(
          st,
          queueId,
          {
            waiting: await r.custody.waitingIn(queueId),
            answered: await r.custody.answeredSince(queueId, now - 86_400_000, target),
          },
          now,
        ),
      );
    }
    return out;
  }
}
