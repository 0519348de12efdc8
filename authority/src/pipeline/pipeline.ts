import { EventEmitter } from 'node:events';
import type {
  AgentView,
  CreateRequestResult,
  LiveMenuNodeShape,
  MenuNodeInput,
  RequestView,
} from '../../../protocol/src/index.ts';
import { FACTOR_SETUP_LEVEL } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import type { RequestState } from '../../../protocol/src/index.ts';
import { canTransition, REQUEST_LIFECYCLE } from '../../../protocol/src/lifecycles.ts';
import { badRequest, conflict, notFound, unauthorized } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications } from '../identity/authentications.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { PhotoFactor } from '../identity/photos.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import { onShift, type AgentRow, type Agents } from './agents.ts';
import { Capacity, type Staffing } from './capacity.ts';
import { Custody } from './custody.ts';
import type { PipelineConfigStore } from './pipeline-config.ts';
import type { RequestRow, RequestStore } from './requests.ts';
import type { Repos } from '../store/repos/index.ts';
import { NOTHING_HELD, type TransitionChange } from '../store/repos/requests.ts';
import type { AuthenticationRow } from '../store/repos/authentications.ts';
import { phoneCallbackView, phoneView, type PhoneCallArrival } from './phone-calls.ts';
import { maskPhone } from '../customers/phones.ts';
import { applyRules, factorsFor } from './rules.ts';
import type { Reachability } from '../push/reachability.ts';
import { SerialPasses } from '../serial-passes.ts';

/** Added to a booked callback's priority when its slot starts, so the booking is honoured first. */
export const CALLBACK_BOOST = 1000;
const DISPATCH_SCAN_LIMIT = 5000;
const DISPATCH_PAGE = 200;
/** A dispatch that had to pass over a queue or an agent tries again this often at most (then the timer's does). */
const DISPATCH_RETRIES = 40;

export interface PipelineEvents {
  /** Requests and agents whose views changed (for the live feeds). */
  changed: [requestIds: string[], agentIds: string[]];
  offer: [agentId: string, requestId: string];
}

/**
 * The pipeline: service requests in queues, offered to one eligible agent at a time
 * under a lease with a fencing number. Every change of a request is the guarded
 * transition of repos/requests.ts (state, fence and holder in one UPDATE, with its
 * leases; REQUEST_LIFECYCLE), inside a unit of work with its custody and audit rows, so
 * a stale holder can never write. Every mutation dispatches once its unit committed (a
 * unit of its own that reads who is free inside it) and then emits what changed.
 */
export class Pipeline extends EventEmitter<PipelineEvents> {
  readonly capacity: Capacity;
  /** Who held each request, when, and how they came to hold it. */
  readonly custody: Custody;
  private timer: NodeJS.Timeout | null = null;
  /** This node's dispatch passes, one at a time (dispatch()). */
  private readonly dispatches = new SerialPasses(() => this.dispatchPass());
  private ticking: Promise<void> | null = null;
  /** Which customer devices are reachable now (set when the authority wires its services). */
  reach: Reachability | null = null;
  /**
   * Awaited after an accept committed and before its answer is built (the authority
   * decides there whether to wake the customer's device, so the answer says so).
   */
  private readonly acceptHooks: ((agentId: string, row: RequestRow) => Promise<void>)[] = [];

  constructor(
    private readonly ctx: Ctx,
    readonly config: PipelineConfigStore,
    readonly agents: Agents,
    readonly requests: RequestStore,
    private readonly sessions: ServiceSessions,
    private readonly authentications: Authentications,
    private readonly photos: PhotoFactor,
  ) {
    super();
    this.capacity = new Capacity(ctx, agents, config);
    this.custody = new Custody(ctx);
    // Durable (outbox): the session's request is abandoned in the consumer's unit, even after a crash.
    ctx.events.subscribe('pipeline.session-ended', ['session.ended'], (r, e) =>
      // A session that complete ended with its request: nothing left to abandon.
      e.payload.requestEnded ? Promise.resolve(undefined) : this.onSessionEnded(r, e.payload.sessionId),
    );
    // Durable (outbox): a step-up re-rules its waiting requests on whichever node consumes it.
    ctx.events.subscribe('pipeline.authentication-changed', ['authentication.changed'], (r, e) =>
      this.onAuthenticationChanged(r, e.payload.authenticationId),
    );
  }

  async start(intervalMs = 250): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => {
      // One tick at a time: a slow one is not piled on, and stop() can wait for it.
      if (this.ticking) return;
      this.ticking = this.tick()
        .catch((e: unknown) => console.error('pipeline: tick failed:', e))
        .finally(() => (this.ticking = null));
    }, intervalMs);
    this.timer.unref();
  }

  /**
   * A tick now, for the deadline timer (events/deadline-timer.ts): joins the one in flight
   * if any, then runs one more (what is due now is done when it resolves). Nothing once stopped.
   */
  async tickNow(): Promise<void> {
    while (this.ticking) await this.ticking;
    if (!this.timer) return;
    const run = this.tick();
    // stop() awaits `ticking`: it never rejects (the failure goes to the caller)
    const done = () => {
      this.ticking = null;
    };
    this.ticking = run.then(done, done);
    await run;
  }

  /** No more ticks; resolves once the one in flight (if any) has finished, before the store closes. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  /**
   * Run `hook` after every accept, before its answer (see acceptHooks), with the request's
   * row as the accept committed it; its failure is logged.
   */
  onAccepted(hook: (agentId: string, row: RequestRow) => Promise<void>): void {
    this.acceptHooks.push(hook);
  }

  // ---- views -------------------------------------------------------------

  /**
   * Views of many rows at once, given in queue order (as RequestStore.live returns them,
   * every waiting row of their queues or a prefix of them): positions are counted in one
   * pass and wait estimates computed once per queue, skills and position, instead of a
   * COUNT query per row (a 10,000-request snapshot took seconds that way).
   */
  async requestViews(rows: readonly RequestRow[], st?: Staffing): Promise<RequestView[]> {
    const ahead = new Map<string, number>();
    const waits = new Map<string, number | null>();
    const positions: (number | null)[] = [];
    const estimates: (number | null)[] = [];
    if (!st && rows.some((r) => r.state === 'waiting')) st = await this.capacity.staffingOf();
    for (const r of rows) {
      let position: number | null = null;
      let wait: number | null = null;
      if (r.state === 'waiting') {
        position = (ahead.get(r.queue_id) ?? 0) + 1;
        ahead.set(r.queue_id, position);
        const key = `${r.queue_id}\u0000${r.skills}\u0000${r.channel}\u0000${position}`;
        if (!waits.has(key))
          waits.set(key, this.capacity.wait(st!, r.queue_id, JSON.parse(r.skills), position, r.channel));
        wait = waits.get(key)!;
      }
      positions.push(position);
      estimates.push(wait);
    }
    return await this.viewsOf(rows, positions, estimates);
  }

  /** Views of rows whose positions and wait estimates are known: one query for all of them (viewContext). */
  private async viewsOf(
    rows: readonly RequestRow[],
    positions: readonly (number | null)[],
    waits: readonly (number | null)[],
  ): Promise<RequestView[]> {
    if (!rows.length) return [];
    const vc = await this.requests.viewContext(rows);
    const reach = this.reach
      ? this.reach.viewsFrom(
          rows.map((r) => ({ deviceId: r.device_id, requestId: r.id })),
          vc.lastSeen,
          vc.wakeable,
        )
      : null;
    return rows.map((r, i) => {
      const auth = vc.auths.get(r.authentication_id);
      return {
        ...this.requests.view(r, positions[i]!, waits[i]!, vc),
        verificationExpiresAt: auth ? iso(auth.expires_at) : null,
        ...(reach ? { reachability: reach[i]! } : {}),
        ...phoneView(vc.phones.get(r.id), vc.links.get(r.id)),
        ...phoneCallbackView(vc.callbacks.get(r.id)),
      };
    });
  }

  /** Of these requests, those whose agent consults a colleague now (an open warm transfer), since when. */
  consultingOf(requestIds: readonly string[]): Promise<Map<string, number>> {
    return this.ctx.data.read.transfers.openWarmOf(requestIds);
  }

  /** A customer device came or went: the views of its live requests change. */
  async deviceReachabilityChanged(deviceId: string): Promise<void> {
    const ids = await this.ctx.data.read.requests.liveIdsOfDevice(deviceId);
    if (ids.length) this.changed(ids, []);
  }

  /** The view of one request as committed now (its position counted, its wait estimated). */
  async requestView(r: RequestRow, st?: Staffing): Promise<RequestView> {
    return (await this.requestViewsEach([r], st))[0]!;
  }

  /** Views of any rows (not a queue's prefix): each position counted, one staffing snapshot for all. */
  async requestViewsEach(rows: readonly RequestRow[], st?: Staffing): Promise<RequestView[]> {
    const positions: (number | null)[] = [];
    for (const r of rows) positions.push(await this.requests.position(r));
    if (!st && positions.some((p) => p !== null)) st = await this.capacity.staffingOf();
    const waits = rows.map((r, i) =>
      positions[i] === null
        ? null
        : this.capacity.wait(st!, r.queue_id, JSON.parse(r.skills), positions[i]!, r.channel),
    );
    return await this.viewsOf(rows, positions, waits);
  }

  /** The view of a request by id as committed now (404 when unknown). */
  async requestViewOf(requestId: string): Promise<RequestView> {
    const r = await this.requests.get(requestId);
    if (!r) throw notFound('no such request');
    return await this.requestView(r);
  }

  async agentView(staffId: string): Promise<AgentView> {
    return (await this.agentViews([await this.agents.ensure(staffId)]))[0]!;
  }

  /**
   * For each of these agents: the chats they hold and the queues whose chat they have room
   * for now (Capacity.noRoom, bounded by their own chat capacity), by staff id.
   */
  async chatRoom(
    agents: readonly AgentRow[],
  ): Promise<Map<string, { chatsHeld: number; chatRoomIn: string[] }>> {
    const read = this.ctx.data.read;
    const held = await read.requests.heldByAgent();
    const offered = await read.requests.offeredAgentIds();
    const queues = this.config.config.queues;
    return new Map(
      agents.map((a) => {
        const h = { ...(held.get(a.staff_id) ?? NOTHING_HELD), offered: offered.has(a.staff_id) };
        const limit = (queueId: string) =>
          Capacity.chatLimit(this.config.chatCapacity(queueId), a.chat_capacity);
        const chatRoomIn = queues
          .filter((q) => Capacity.noRoom(h, 'chat', limit(q.id)) === null)
          .map((q) => q.id);
        return [a.staff_id, { chatsHeld: h.chat, chatRoomIn }];
      }),
    );
  }

  /** Views of these agents (committed data): their offers and current requests read for all at once. */
  async agentViews(rows: readonly AgentRow[], st?: Staffing): Promise<AgentView[]> {
    if (!rows.length) return [];
    const read = this.ctx.data.read;
    const ids = rows.map((a) => a.staff_id);
    const setters = rows.map((a) => a.presence_set_by).filter((x): x is string => x !== null);
    const names = await read.staff.displayNames([...new Set([...ids, ...setters])]);
    const now = this.now();
    const shifts = await read.custody.shiftStateOf(ids, now);
    const held = await read.requests.heldBy(ids);
    const holding = await read.requests.heldByAgent();
    const consulted = await read.transfers.consultedStaff();
    const offers = held.filter((r) => r.state === 'offered');
    const offerViews = new Map<string, RequestView>();
    const views = await this.requestViews(offers, st);
    offers.forEach((r, i) => offerViews.set(r.id, views[i]!));
    return rows.map((row) => {
      const offer = offers.find((r) => r.agent_id === row.staff_id);
      // Every assignment (several chats), oldest first; the current one is the latest, as assignedTo() reads it.
      const mine = held
        .filter((r) => r.state === 'assigned' && r.agent_id === row.staff_id)
        .sort((x, y) => (x.assigned_at ?? 0) - (y.assigned_at ?? 0));
      const current = [...mine].sort((x, y) => (y.assigned_at ?? 0) - (x.assigned_at ?? 0))[0];
      return {
        ...this.agents.baseView(row, names, onShift(shifts.get(row.staff_id))),
        currentSessionId: current?.session_id ?? null,
        timeInStateSeconds: Math.max(0, Math.floor((now - row.since) / 1000)),
        offer: offer
          ? {
              requestId: offer.id,
              fence: offer.fence,
              expiresAt: iso(offer.offer_expires_at!),
              request: offerViews.get(offer.id)!,
            }
          : null,
        currentRequestId: current?.id ?? null,
        heldRequestIds: mine.map((r) => r.id),
        onCall: Capacity.noRoom(holding.get(row.staff_id) ?? NOTHING_HELD, 'chat', Infinity) === 'call',
        inConsult: consulted.has(row.staff_id),
      };
    });
  }

  async liveMenu() {
    const st = await this.capacity.staffingOf();
    const leafQueues = (nodes: MenuNodeInput[]): string[] =>
      nodes.flatMap((n) => (n.children ? leafQueues(n.children) : [n.queue!]));
    const waitingIn = new Map<string, number>();
    for (const q of new Set(leafQueues(this.config.config.menu)))
      waitingIn.set(q, await this.ctx.data.read.requests.countWaiting(q));
    // An option offering chat says so (the app offers "Chat" beside "Call me"); voice is the default.
    const chatOf = (n: MenuNodeInput) => (n.channels?.includes('chat') ? { channels: n.channels } : {});
    const walk = (nodes: MenuNodeInput[]): LiveMenuNodeShape[] => {
      const out: LiveMenuNodeShape[] = [];
      for (const n of nodes) {
        if (n.children) {
          const children = walk(n.children);
          if (children.length) out.push({ id: n.id, label: n.label, children });
          continue;
        }
        const skills = n.skills ?? [];
        // The option's wait: a call's, unless it offers chat only.
        const channel = (n.channels ?? ['voice']).includes('voice') ? 'voice' : 'chat';
        const c = this.capacity.counts(st, n.queue!, skills, channel);
        if (c.serving > 0) {
          const waiting = waitingIn.get(n.queue!)!;
          out.push({
            id: n.id,
            label: n.label,
            level: n.level ?? 0,
            availability: 'now',
            estimatedWaitSeconds: this.capacity.wait(st, n.queue!, skills, waiting + 1, channel),
            ...chatOf(n),
          });
        } else if (c.later > 0) {
          out.push({
            id: n.id,
            label: n.label,
            level: n.level ?? 0,
            availability: 'callback_only',
            estimatedWaitSeconds: null,
            ...chatOf(n),
          });
        }
      }
      return out;
    };
    return { company: this.config.config.company, menu: walk(this.config.config.menu) };
  }

  // ---- customer side -------------------------------------------------------

  /** The priority rules for a customer (null: an unknown caller, who has no attributes). */
  private async rulesFor(r: Repos, customerId: string | null, queue: string, level: number) {
    const c = customerId === null ? undefined : await r.customers.byId(customerId);
    const account = JSON.parse(c?.account ?? '{}') as { balance?: { amount?: number } };
    return applyRules(this.config.config.priorityRules, {
      queue,
      level,
      attributes: JSON.parse(c?.attributes ?? '{}'),
      balance: typeof account.balance?.amount === 'number' ? account.balance.amount : null,
    });
  }

  async createRequest(
    p: DevicePrincipal,
    optionId: string,
    idempotencyKey?: string,
    channel: 'voice' | 'chat' = 'voice',
    verifyOnCall = false,
  ): Promise<CreateRequestResult> {
    const leaf = this.config.leaf(optionId);
    if (!leaf) throw notFound(`no menu option "${optionId}"`);
    if (!leaf.channels.includes(channel))
      throw badRequest(`menu option "${optionId}" does not offer ${channel}`);
    if (verifyOnCall && !leaf.verifyOnCall)
      throw badRequest(`menu option "${optionId}" does not allow being verified on the call`);
    if (idempotencyKey) {
      const existing = await this.ctx.data.read.requests.byIdempotencyKey(p.device.id, idempotencyKey);
      if (existing) return { status: 'queued', request: await this.requestView(existing) };
    }
    const read = this.ctx.data.read;
    const auth = (await read.authentications.get(p.authentication.id))!;
    // A verification photo awaiting the agent's comparison may carry the request to the
    // agent (who compares before anything level 2 unlocks), never further than level 2.
    const photoPending =
      leaf.level <= FACTOR_SETUP_LEVEL.photo &&
      (await this.photos.hasPendingComparisonIn(read, auth.id, auth.customer_id));
    // Verified on the call: queued at the level it has, below the option's; the agent asks
    // the security questions and secure fields stay locked until the level is reached.
    const onCall = verifyOnCall && auth.level < leaf.level && !photoPending;
    if (auth.level < leaf.level && !photoPending && !onCall) {
      const photoOk = (await this.photos.unavailableIn(read, auth.customer_id)) === null;
      return {
        status: 'step_up_required',
        optionId,
        requiredLevel: leaf.level,
        currentLevel: auth.level as 0 | 1 | 2 | 3,
        factorsNeeded: factorsFor(leaf.level, auth.level, true).filter((f) => f !== 'photo' || photoOk),
        ...(leaf.verifyOnCall ? { verifyOnCall: true as const } : {}),
      };
    }
    const ruled = await this.rulesFor(read, auth.customer_id, leaf.queue, auth.level);
    const id = randomId(16);
    const now = this.now();
    const row = await this.ctx.data.tx(async (r) => {
      // The phone removed or the customer deactivated since the proof was checked: refused
      // here, or, when this unit commits first, the removal finds this request and abandons it.
      if (!(await r.devices.active(p.device.id)))
        throw unauthorized('device revoked or customer deactivated');
      // The same key twice at once: the second unit finds the first's request.
      if (idempotencyKey) {
        const existing = await r.requests.byIdempotencyKey(p.device.id, idempotencyKey);
        if (existing) return { row: existing, created: false };
      }
      const session = await this.sessions.openIn(r, auth);
      const created = await r.requests.insert({
        id,
        session_id: session.id,
        customer_id: auth.customer_id,
        device_id: p.device.id,
        authentication_id: auth.id,
        option_id: leaf.id,
        option_label: leaf.label,
        queue_id: ruled.queue,
        skills: JSON.stringify(leaf.skills),
        required_level: leaf.level,
        priority: ruled.priority,
        enqueued_at: now,
        idempotency_key: idempotencyKey ?? null,
        channel,
        verify_on_call: onCall ? 1 : 0,
      });
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'request.create',
        subject: `request:${id}`,
        outcome: 'success',
        data: {
          queue: ruled.queue,
          priority: ruled.priority,
          rules: ruled.matched,
          ...(onCall ? { verifyOnCall: true, level: auth.level, requiredLevel: leaf.level } : {}),
        },
      });
      return { row: created, created: true };
    });
    if (!row.created) return { status: 'queued', request: await this.requestView(row.row) };
    this.changed([id], []);
    await this.dispatch();
    return { status: 'queued', request: await this.requestViewOf(id) };
  }

  /**
   * A call from the phone network joins the queue of its menu option as a request of the
   * customer its caller ID points to: a level-0 authentication with no device and no
   * factor (a caller ID recognises, it never verifies), its service session, the request
   * and its phone_calls row, with the audit row, in one unit. A retried arrival (the same
   * SIP Call-ID) answers the request the first one made. `alsoInUnit` runs in the unit
   * that creates the request, never for a retry that finds it (the link texted while the
   * caller waits: trunk/phone-in.ts).
   */
  async queuePhoneCall(
    call: PhoneCallArrival,
    alsoInUnit?: (r: Repos, requestId: string) => Promise<void>,
  ): Promise<RequestView> {
    const leaf = this.config.leaf(call.optionId);
    if (!leaf || !leaf.channels.includes('voice'))
      throw notFound(`no menu option "${call.optionId}" taking calls`);
    const known = await this.ctx.data.read.phoneCalls.byCallId(call.sipCallId);
    if (known) return await this.requestViewOf(known.request_id);
    const ruled = await this.rulesFor(this.ctx.data.read, call.customerId, leaf.queue, 0);
    const id = randomId(16);
    const now = this.now();
    const out = await this.ctx.data.tx(async (r) => {
      const again = await r.phoneCalls.byCallId(call.sipCallId);
      if (again) return { id: again.request_id, created: false };
      // An unknown caller: a placeholder customer of this call holds the request until the
      // agent identifies the caller (trunk/phone-in.ts identify).
      let customerId = call.customerId;
      if (customerId === null) {
        customerId = randomId(16);
        await r.customers.insertUnknownCaller(customerId, 'Unknown caller');
      }
      await this.insertPhoneRequest(r, { id, customerId, leaf, ruled, now });
      await r.phoneCalls.insert({
        request_id: id,
        sip_call_id: call.sipCallId,
        caller: call.caller,
        dialled: call.dialled,
        recognition: call.recognition,
        sip_server: call.sipServer ?? null,
        created_at: now,
      });
      await r.audit.append({
        actor: 'sip:trunk',
        action: 'request.create',
        subject: `request:${id}`,
        outcome: 'success',
        reason: 'phoned in',
        data: { queue: ruled.queue, priority: ruled.priority, rules: ruled.matched, dialled: call.dialled },
      });
      await alsoInUnit?.(r, id);
      return { id, created: true };
    });
    if (out.created) {
      this.changed([out.id], []);
      await this.dispatch();
    }
    return await this.requestViewOf(out.id);
  }

  /**
   * A voice request with no device (a call from the phone network, a callback to a phone
   * number): its own authentication at level 0 and session, in the caller's unit.
   */
  private async insertPhoneRequest(
    r: Repos,
    q: {
      id: string;
      customerId: string;
      leaf: NonNullable<ReturnType<PipelineConfigStore['leaf']>>;
      ruled: { queue: string; priority: number };
      now: number;
    },
  ): Promise<void> {
    const auth: AuthenticationRow = {
      id: randomId(16),
      customer_id: q.customerId,
      device_id: null,
      level: 0,
      created_at: q.now,
      expires_at: q.now + this.ctx.config.authenticationTtlSeconds * 1000,
      setup_until: null,
    };
    await r.authentications.insert(auth);
    const session = await this.sessions.openIn(r, auth);
    await r.requests.insert({
      id: q.id,
      session_id: session.id,
      customer_id: q.customerId,
      device_id: null,
      authentication_id: auth.id,
      option_id: q.leaf.id,
      option_label: q.leaf.label,
      queue_id: q.ruled.queue,
      skills: JSON.stringify(q.leaf.skills),
      required_level: q.leaf.level,
      priority: q.ruled.priority,
      enqueued_at: q.now,
      idempotency_key: null,
      channel: 'voice',
    });
  }

  /**
   * A callback to a customer's phone number through the trunk (issue 14 item 5): a voice
   * request of that customer in the option's queue, at level 0 with no device (like a
   * call from the phone network), routed and offered like any other; the number to call
   * is kept with it (phone_callbacks). The request, its callback row and the audit row
   * are one unit.
   */
  async queuePhoneCallback(cb: {
    customerId: string;
    optionId: string;
    number: string;
    staffId: string;
  }): Promise<RequestView> {
    const leaf = this.config.leaf(cb.optionId);
    if (!leaf || !leaf.channels.includes('voice'))
      throw notFound(`no menu option "${cb.optionId}" taking calls`);
    const ruled = await this.rulesFor(this.ctx.data.read, cb.customerId, leaf.queue, 0);
    const id = randomId(16);
    const now = this.now();
    await this.ctx.data.tx(async (r) => {
      await this.insertPhoneRequest(r, { id, customerId: cb.customerId, leaf, ruled, now });
      await r.phoneCallbacks.insert({
        request_id: id,
        number: cb.number,
        booked_by: cb.staffId,
        booked_at: now,
        placed_at: null,
        sip_call_id: null,
      });
      await r.audit.append({
        actor: `staff:${cb.staffId}`,
        action: 'phone.callback.book',
        subject: `request:${id}`,
        outcome: 'success',
        data: {
          customer: cb.customerId,
          number: maskPhone(cb.number),
          queue: ruled.queue,
          priority: ruled.priority,
          rules: ruled.matched,
        },
      });
    });
    this.changed([id], []);
    await this.dispatch();
    return await this.requestViewOf(id);
  }

  /**
   * The caller of a phone request hung up: the call ends (once) and a request still
   * waiting or offered is abandoned; one an agent holds stays theirs to complete.
   */
  async phoneCallEnded(sipCallId: string, reason: string): Promise<RequestView> {
    const call = await this.ctx.data.read.phoneCalls.byCallId(sipCallId);
    if (!call) throw notFound('no request came from that call');
    const out = await this.ctx.data.tx(async (r) => {
      const ended = await r.phoneCalls.end(call.request_id, reason, this.now());
      const row = await r.requests.get(call.request_id);
      if (row && (row.state === 'waiting' || row.state === 'offered' || row.state === 'scheduled'))
        return { ...(await this.abandonIn(r, row, reason)), ended };
      return { row, moved: false, agentId: null, ended };
    });
    // Moved (abandoned), or only the call on the line ended: the holder's view says so.
    if (out.moved || out.ended) await this.announce([call.request_id], out.agentId ? [out.agentId] : []);
    return await this.requestViewOf(call.request_id);
  }

  async ownRequest(p: DevicePrincipal, requestId: string): Promise<RequestRow> {
    const r = await this.requests.get(requestId);
    if (!r || r.device_id !== p.device.id) throw notFound('no such request');
    return r;
  }

  /**
   * Move a request from the state it was read in (inside this unit) with the guarded
   * transition; an ended assignment closes its custody row, in the same unit. Undefined
   * when the row moved meanwhile (another state or fence) or the move is not a legal one
   * from its state.
   */
  private async move(
    r: Repos,
    row: RequestRow,
    to: RequestState,
    change: TransitionChange = {},
  ): Promise<RequestRow | undefined> {
    if (!canTransition(REQUEST_LIFECYCLE, row.state, to)) return undefined;
    const at = change.at ?? this.now();
    const after = await r.requests.transition(row.id, row.state, to, row.fence, { ...change, at });
    if (after && row.state === 'assigned' && (to !== 'assigned' || after.fence !== row.fence))
      await r.custody.close(row.id, row.fence, change.reason ?? to, at);
    return after;
  }

  /** The customer leaves: abandoned; an offer is withdrawn; an agent on it goes to wrap-up. */
  async abandon(requestId: string, reason: string): Promise<RequestRow | undefined> {
    const out = await this.ctx.data.tx(async (r) =>
      this.abandonIn(r, await r.requests.get(requestId), reason),
    );
    if (out.moved) await this.announce([requestId], out.agentId ? [out.agentId] : []);
    return out.row;
  }

  /**
   * abandon() of `row` (as read in the caller's unit) inside that unit (moved and audited
   * once, guarded by state); the caller announces after the commit.
   */
  private async abandonIn(
    r: Repos,
    row: RequestRow | undefined,
    reason: string,
  ): Promise<{ row: RequestRow | undefined; moved: boolean; agentId?: string | null }> {
    if (!row || row.state === 'completed' || row.state === 'abandoned') return { row, moved: false };
    const after = await this.move(r, row, 'abandoned', { reason });
    if (!after) return { row: await r.requests.get(row.id), moved: false };
    if (row.agent_id && row.state === 'assigned') await this.toWrapUp(r, row.agent_id);
    await r.audit.append({
      actor: 'system',
      action: 'request.abandon',
      subject: `request:${row.id}`,
      outcome: 'success',
      reason,
    });
    await r.outbox.emit('request.ended', { requestId: row.id, outcome: 'abandoned', reason });
    return { row: after, moved: true, agentId: row.agent_id };
  }

  /** Consumer of the `session.ended` event (events/): the session's live request is abandoned in the consumer's unit. */
  private async onSessionEnded(r: Repos, sessionId: string): Promise<(() => Promise<void>) | undefined> {
    const row = await r.requests.bySession(sessionId);
    const out = row ? await this.abandonIn(r, row, 'session_ended') : undefined;
    if (!row || !out?.moved) return undefined;
    return () => this.announce([row.id], out.agentId ? [out.agentId] : []);
  }

  /**
   * A step-up (or a photo) changed an authentication: in the consumer's unit its waiting
   * requests are ruled again at the level as it stands now (queue, priority); after the
   * commit they and the ones it holds (offered, assigned: the agent's panel unlocks live)
   * are announced, and a dispatch runs when a waiting one moved.
   */
  private async onAuthenticationChanged(
    r: Repos,
    authenticationId: string,
  ): Promise<(() => Promise<void>) | undefined> {
    const level = (await r.authentications.get(authenticationId))?.level ?? 0;
    const live = await r.requests.ofAuthentication(authenticationId, ['waiting']);
    const held = await r.requests.ofAuthentication(authenticationId, ['offered', 'assigned']);
    for (const row of live) {
      const leaf = this.config.leaf(row.option_id);
      const ruled = await this.rulesFor(r, row.customer_id, leaf?.queue ?? row.queue_id, level);
      const boost = row.callback_mode === 'slot' ? CALLBACK_BOOST : 0;
      await r.requests.transition(row.id, 'waiting', 'waiting', row.fence, {
        queueId: ruled.queue,
        priority: ruled.priority + boost,
      });
    }
    if (!live.length && !held.length) return undefined;
    return async () => {
      this.changed(
        [...live, ...held].map((x) => x.id),
        [],
      );
      if (live.length) await this.dispatch();
    };
  }

  // ---- agent side ----------------------------------------------------------

  async setPresence(
    staffId: string,
    state: 'available' | 'break' | 'offline',
    reasonCode: string | null,
    actor: string,
  ): Promise<AgentView> {
    const withdrawn = await this.ctx.data.tx(async (r) => {
      const row = await r.agents.ensure(staffId);
      const held = (await r.requests.heldByAgent()).get(staffId);
      // An agent holding chats only (no call) who says "ready" again after a missed offer
      // goes back to busy: offered further chats up to the capacity.
      const readyForChats =
        state === 'available' && held !== undefined && held.voice === 0 && row.presence !== 'offline';
      // Busy, or still holding a request after going offline mid-call: only offline, else a second customer arrives.
      if ((row.presence === 'busy' || held) && state !== 'offline' && !readyForChats)
        throw conflict('finish the current request first');
      // A supervisor's change is shown to the agent with the supervisor's name.
      const setBy = actor.startsWith('staff:') && actor !== `staff:${staffId}` ? actor.slice(6) : null;
      // In wrap-up a break is the next status: the wrap-up goes on (its time too) and the break
      // starts when it ends (Agents.endWrapUpIn). Available takes a next status back.
      const next = row.presence === 'wrap_up' && state === 'break' ? reasonCode : null;
      const takeBack = row.presence === 'wrap_up' && state === 'available' && row.reason_code !== null;
      if (next !== null || takeBack) {
        await this.agents.setPresenceIn(r, staffId, 'wrap_up', {
          reasonCode: next,
          wrapUpUntil: row.wrap_up_until,
          setBy,
        });
        await r.agents.touch(staffId);
        await r.audit.append({
          actor,
          action: 'agent.presence',
          subject: `staff:${staffId}`,
          outcome: 'success',
          data: { from: row.presence, to: 'wrap_up', reasonCode: next, next: next !== null ? 'break' : null },
        });
        return null;
      }
      if (
        row.presence === 'wrap_up' &&
        row.wrap_up_until === null &&
        state === 'available' &&
        this.ctx.config.wrapUpRequired
      )
        throw conflict('record the wrap-up first');
      const to = readyForChats ? 'busy' : state;
      if (!(readyForChats && row.presence === 'busy'))
        await this.agents.setPresenceIn(r, staffId, to, { reasonCode, setBy });
      await r.agents.touch(staffId);
      const withdrawn =
        state !== 'available' ? await this.withdrawOfferOf(r, staffId, 'agent_unavailable') : null;
      await r.audit.append({
        actor,
        action: 'agent.presence',
        subject: `staff:${staffId}`,
        outcome: 'success',
        data: { from: row.presence, to, reasonCode },
      });
      return withdrawn;
    });
    this.changed(withdrawn ? [withdrawn] : [], [staffId]);
    await this.dispatch();
    return await this.agentView(staffId);
  }

  /** The request an agent may act on as its offer's holder: 404, or 409 when not theirs or stale. */
  private offerFor(r: RequestRow | undefined, staffId: string, fence: number, what: string): RequestRow {
    if (!r) throw notFound('no such request');
    if (r.agent_id !== staffId) throw conflict(`${what}: this request is not yours`);
    if (r.fence !== fence) throw conflict(`${what}: stale fencing number ${fence} (current ${r.fence})`);
    return r;
  }

  async accept(staffId: string, requestId: string, fence: number): Promise<RequestView> {
    const out = await this.ctx.data.tx(async (r) => {
      const row = this.offerFor(await r.requests.get(requestId), staffId, fence, 'accept');
      if (row.state === 'assigned') return { row, retried: true }; // a retried accept
      const now = this.now();
      // The same instant ends the offer and starts the assignment: the intervals touch, never overlap.
      const after =
        row.state === 'offered'
          ? await this.move(r, row, 'assigned', {
              holder: staffId,
              offerLiveAt: now,
              reason: 'accepted',
              at: now,
            })
          : undefined;
      if (!after) throw conflict('accept: the offer has expired or was withdrawn');
      await r.custody.openForOffer(requestId, staffId, fence, now);
      // A second chat leaves the time in state of the first running.
      const agent = await r.agents.get(staffId);
      if (agent?.presence !== 'busy')
        await this.agents.setPresenceIn(r, staffId, 'busy', { row: agent, seen: true });
      else await r.agents.touch(staffId);
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'request.accept',
        subject: `request:${requestId}`,
        outcome: 'success',
        data: { fence },
      });
      await r.outbox.emit('request.accepted', { requestId, agentId: staffId, fence });
      return { row: after, retried: false };
    });
    if (out.retried) return await this.requestView(out.row);
    this.changed([requestId], [staffId]);
    for (const hook of this.acceptHooks)
      await hook(staffId, out.row).catch((e: unknown) => console.error('pipeline: accept hook failed:', e));
    // A chat leaves room for more (up to the capacity): the next one may be offered now.
    if (out.row.channel === 'chat') await this.dispatch();
    // The view of the row the accept committed (its hooks and a dispatch leave an assigned
    // request as it is; its reachability says whether the hooks woke the device).
    return await this.requestView(out.row);
  }

  async reject(staffId: string, requestId: string, fence: number): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      const row = this.offerFor(await r.requests.get(requestId), staffId, fence, 'reject');
      const after =
        row.state === 'offered'
          ? await this.move(r, row, 'waiting', { holder: staffId, reason: 'rejected' })
          : undefined;
      if (!after) throw conflict('reject: the offer has expired or was withdrawn');
      await this.agents.setPresenceIn(r, staffId, 'missed');
    });
    this.changed([requestId], [staffId]);
    await this.dispatch();
  }

  /**
   * The holder finishes the request. When the customer left first (abandoned while this
   * agent held it under this fence) the agent's side still finishes: the request stays
   * abandoned (that is the answer's state), the agent stays in the wrap-up the customer's
   * leaving started, and the completion is audited as coming after the customer left.
   */
  async complete(staffId: string, requestId: string, fence: number): Promise<RequestView> {
    const out = await this.ctx.data.tx(async (r) => {
      const row = this.offerFor(await r.requests.get(requestId), staffId, fence, 'complete');
      if (row.state === 'completed') return { row, done: false }; // a retried complete
      if (row.state === 'abandoned')
        return { row: await this.completeAfterLeaving(r, staffId, row), done: false };
      const now = this.now();
      const after =
        row.state === 'assigned'
          ? await this.move(r, row, 'completed', { holder: staffId, reason: 'completed', at: now })
          : undefined;
      if (!after) throw conflict('complete: the request is not assigned to you under this fencing number');
      if (row.assigned_at !== null)
        await r.requests.addHandleTime(
          row.queue_id,
          row.channel,
          Math.round((now - row.assigned_at) / 1000),
          now,
        );
      await this.toWrapUp(r, staffId);
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'request.complete',
        subject: `request:${requestId}`,
        outcome: 'success',
        data: { fence },
      });
      await r.outbox.emit('request.ended', { requestId, outcome: 'completed', reason: null });
      // The session ends in the same unit (its audit row and `session.ended` event with it):
      // a crash after the commit cannot leave a completed request with its session open.
      const sessionEnded = await this.sessions.endIn(r, after.session_id, 'ended', `staff:${staffId}`, {
        requestEnded: true,
      });
      return { row: after, done: true, sessionEnded };
    });
    if (!out.done) return await this.requestView(out.row);
    if (out.sessionEnded) this.sessions.announceEnded(out.row.session_id, 'ended');
    this.changed([requestId], [staffId]);
    await this.dispatch();
    // Completed changes no more (REQUEST_LIFECYCLE): the row as committed is the row now.
    return await this.requestView(out.row);
  }

  private async completeAfterLeaving(r: Repos, staffId: string, row: RequestRow): Promise<RequestRow> {
    const held = await r.requests.lease(row.id, row.fence, 'assignment');
    if (held?.agent_id !== staffId)
      throw conflict(
        'complete: the customer left before you accepted the request; there is nothing to complete',
      );
    await r.audit.append({
      actor: `staff:${staffId}`,
      action: 'request.complete',
      subject: `request:${row.id}`,
      outcome: 'success',
      reason: `the customer left first (${row.end_reason ?? 'abandoned'})`,
      data: { fence: row.fence },
    });
    return row;
  }

  /** The agent's last socket closed: presence and offer survive a reconnect within `graceMs`. */
  async agentDisconnected(staffId: string, graceMs: number): Promise<void> {
    await this.agents.touch(staffId, this.now() - this.ctx.config.agentTimeoutSeconds * 1000 + graceMs);
  }

  /** Any staff route call counts as a sign of life. */
  /** `lastSeenAt`: the agent's last sighting as the caller read it just now (not read again), if it did. */
  async touchAgent(staffId: string, lastSeenAt?: number | null): Promise<void> {
    await this.agents.touch(staffId, undefined, lastSeenAt);
  }

  // ---- leases, timers, routing ----------------------------------------------

  /**
   * Wrap-up after a request: until the wrap-up is recorded when it is required, else for
   * wrapUpSeconds. An agent who still holds other chats stays busy with them (their place
   * for a next chat opens at once); the wrap-up comes after the last one.
   */
  private async toWrapUp(r: Repos, staffId: string): Promise<void> {
    const { wrapUpSeconds, wrapUpRequired } = this.ctx.config;
    // An agent who went offline mid-call stays offline: never offered work again unasked.
    const held = await r.agents.getHolding(staffId);
    const row = held?.row;
    const presence = row?.presence;
    if (presence === 'offline') return;
    if (held ? held.holds : await r.requests.assignedTo(staffId)) {
      if (presence !== 'busy' && presence !== 'missed')
        await this.agents.setPresenceIn(r, staffId, 'busy', { row });
      return;
    }
    if (wrapUpSeconds <= 0) await this.agents.setPresenceIn(r, staffId, 'available', { row });
    else
      await this.agents.setPresenceIn(r, staffId, 'wrap_up', {
        wrapUpUntil: wrapUpRequired ? null : this.now() + wrapUpSeconds * 1000,
        row,
      });
  }

  /** The agent's wrap-up arrived: a required wrap-up ends, the agent is available again. */
  async wrapUpRecorded(staffId: string): Promise<void> {
    if (!this.ctx.config.wrapUpRequired) return;
    const ended = await this.ctx.data.tx((r) => this.agents.endWrapUpIn(r, staffId));
    if (!ended) return;
    this.changed([], [staffId]);
    await this.dispatch();
  }

  /** Withdraw the offer an agent holds (back to waiting): the request's id, or null. */
  private async withdrawOfferOf(r: Repos, staffId: string, reason: string): Promise<string | null> {
    const row = await r.requests.offerOf(staffId);
    if (!row) return null;
    return (await this.move(r, row, 'waiting', { reason })) ? row.id : null;
  }

  /**
   * Offer waiting requests, in queue order, each to the longest-idle eligible agent with
   * room for it (on shift, holding no offer; a call: available and holding nothing; a
   * chat: available, or busy with fewer chats than the queue's chat capacity and no call).
   * Stops when nobody has room.
   *
   * Short units that never wait for each other (issue 12, many nodes): a unit dispatches
   * the queues whose turn it gets (`tryDispatchTurn`, a per-queue try-lock) and offers
   * agents whose rows it can lock (`lockForOffer`, SKIP LOCKED); who has room is read
   * inside it. What it had to pass over (a queue or an agent another unit holds now) is
   * tried again after a short pause, until no unit stands in the way: the holder may
   * have read who was free before a change this call was made for. The rules
   * (one open offer per request and per agent) are unique indexes all the same.
   *
   * One pass at a time on this node (`SerialPasses`): a call while a pass runs gets one more pass after
   * it, shared by every call meanwhile (the running one may have read who was free
   * before the change the call was made for). Side by side, this node's passes only
   * took each other's queue turns and tried again (on PostgreSQL at 16 cycles in flight,
   * about 5 units of work a cycle more). Resolves with the offers of the caller's pass.
   */
  dispatch(): Promise<number> {
    return this.dispatches.run();
  }

  private async dispatchPass(): Promise<number> {
    let total = 0;
    // No queue has a committed waiting request: no unit of work at all (on PostgreSQL a
    // unit is a BEGIN and a COMMIT more, and this node's passes run one at a time, so an
    // empty one delayed the next). A request that commits after this read is dispatched by
    // the pass its own change calls for, which runs after this one.
    let queues: readonly string[] | null = await this.ctx.data.read.requests.waitingQueues();
    if (queues.length === 0) return 0;
    for (let attempt = 0; ; attempt++) {
      const { offered, passedOver } = await this.ctx.data.tx((r) => this.dispatchIn(r, queues));
      if (offered.length) {
        this.changed(
          offered.map(([, r]) => r),
          offered.map(([a]) => a),
        );
        for (const [agentId, requestId] of offered) this.emit('offer', agentId, requestId);
      }
      total += offered.length;
      // Nothing passed over, or given up to the timer's next dispatch (every node ticks).
      if (passedOver === false || attempt >= DISPATCH_RETRIES || !this.timer) return total;
      queues = passedOver;
      const pause = Math.min(50, 2 * 2 ** attempt);
      await new Promise((resolve) => setTimeout(resolve, pause / 2 + Math.random() * (pause / 2)));
    }
  }

  /**
   * One dispatch unit over `only` (null: every queue with waiting requests): the offers
   * made, and what to try again: false (nothing), the queues whose turn another unit
   * had, or null (every queue: an agent was held by another unit).
   */
  private async dispatchIn(
    r: Repos,
    only: readonly string[] | null,
  ): Promise<{ offered: [string, string][]; passedOver: string[] | null | false }> {
    const offered: [string, string][] = [];
    const busyQueues: string[] = [];
    let agentPassedOver = false;
    const passedOver = () => (agentPassedOver ? null : busyQueues.length ? busyQueues : false);
    const queues: string[] = [];
    for (const q of only ?? (await r.requests.waitingQueues()))
      if (await r.requests.tryDispatchTurn(q)) queues.push(q);
      else busyQueues.push(q);
    if (!queues.length) return { offered, passedOver: passedOver() };
    const now = this.now();
    const st = await this.agents.staffingIn(r, now);
    const free = st.agents
      .filter(
        (a) =>
          a.onShift &&
          !a.hasOffer &&
          (Capacity.hasRoom(a, 'voice', 0) || Capacity.hasRoom(a, 'chat', Number.MAX_SAFE_INTEGER)),
      )
      .sort((x, y) => x.info.idleSince - y.info.idleSince || x.row.staff_id.localeCompare(y.row.staff_id));
    if (!free.length) return { offered, passedOver: passedOver() };
    // Reachable customers first: a request whose device is offline waits until every
    // reachable request of the same priority has been tried (then it is offered too:
    // accepting it wakes the device).
    let deferred: RequestRow[] = [];
    let deferredPriority: number | null = null;
    let removed = 0;
    const locked = new Set<string>();
    const tryOffer = async (row: RequestRow): Promise<void> => {
      const skills = JSON.parse(row.skills) as string[];
      const chatCapacity = this.config.chatCapacity(row.queue_id);
      let i: number;
      let agent: (typeof free)[number];
      for (;;) {
        i = free.findIndex(
          (a) =>
            Capacity.eligible(a.info, row.queue_id, skills) && Capacity.hasRoom(a, row.channel, chatCapacity),
        );
        if (i < 0) return;
        agent = free[i]!;
        if (locked.has(agent.row.staff_id)) break;
        // Its row, locked for this unit (another unit offering it something: passed over),
        // as it stands now: it may have changed since staffing was read.
        const fresh = await r.agents.lockForOffer(agent.row);
        if (
          fresh &&
          fresh.presence === agent.row.presence &&
          fresh.chat_capacity === agent.row.chat_capacity
        ) {
          locked.add(agent.row.staff_id);
          break;
        }
        free.splice(i, 1);
        agentPassedOver = true;
      }
      const after = await this.move(r, row, 'offered', {
        agentId: agent.row.staff_id,
        // The queue's accept window (its own, else the authority's).
        offerExpiresAt: now + this.config.offerTimeoutMs(row.queue_id),
        at: now,
      });
      if (after) {
        free.splice(i, 1);
        offered.push([agent.row.staff_id, row.id]);
        removed++; // the offered row left the waiting set: the next page starts one earlier
      }
    };
    const flush = async (): Promise<void> => {
      for (const d of deferred) if (free.length) await tryOffer(d);
      deferred = [];
      deferredPriority = null;
    };
    for (let offset = 0; offset < DISPATCH_SCAN_LIMIT && free.length; offset += DISPATCH_PAGE - removed) {
      removed = 0;
      const rows = await r.requests.waiting(queues, DISPATCH_PAGE, offset);
      for (const row of rows) {
        if (!free.length) break;
        if (
          (row.window_from !== null && row.window_from > now) ||
          (row.window_until !== null && row.window_until < now)
        )
          continue;
        if (deferredPriority !== null && row.priority !== deferredPriority) await flush();
        if (!free.length) break;
        if (this.reach && row.device_id !== null && !this.reach.online(row.device_id)) {
          deferred.push(row);
          deferredPriority = row.priority;
          continue;
        }
        await tryOffer(row);
      }
      if (rows.length < DISPATCH_PAGE) break;
    }
    await flush();
    return { offered, passedOver: passedOver() };
  }

  /** Timers: expired offers, finished wrap-ups, due callbacks, agents gone silent; then dispatch. */
  async tick(): Promise<void> {
    const now = this.now();
    const requestIds: string[] = [];
    const agentIds: string[] = [];
    await this.ctx.data.tx(async (r) => {
      for (const row of await r.requests.expiredOffers(now)) {
        if (!(await this.move(r, row, 'waiting', { reason: 'timeout', at: now }))) continue;
        if (row.agent_id) {
          await this.agents.setPresenceIn(r, row.agent_id, 'missed');
          agentIds.push(row.agent_id);
        }
        requestIds.push(row.id);
      }
      for (const staffId of await r.agents.wrapUpsEnded(now))
        if (await this.agents.endWrapUpIn(r, staffId, now)) agentIds.push(staffId);
      for (const row of await r.requests.dueCallbacks(now))
        if (await this.move(r, row, 'waiting', { priorityDelta: CALLBACK_BOOST, at: now }))
          requestIds.push(row.id);
      const silentSince = now - this.ctx.config.agentTimeoutSeconds * 1000;
      for (const staffId of await r.agents.silentSince(silentSince)) {
        const withdrawn = await this.withdrawOfferOf(r, staffId, 'agent_gone');
        if (withdrawn) requestIds.push(withdrawn);
        await this.agents.setPresenceIn(r, staffId, 'offline');
        agentIds.push(staffId);
      }
    });
    if (requestIds.length || agentIds.length) this.changed(requestIds, agentIds);
    await this.dispatch();
  }

  private changed(requestIds: string[], agentIds: string[]): void {
    this.emit('changed', requestIds, agentIds);
  }

  /** Background work of a listener: its failure is logged, never unhandled. */
  private background(what: string, work: Promise<unknown>): void {
    work.catch((e: unknown) => console.error(`pipeline: ${what} failed:`, e));
  }

  /** Requests left the queue or came back, agents changed (callbacks, transfers, configuration): announce and dispatch. */
  async announce(requestIds: string[], agentIds: string[] = []): Promise<void> {
    this.changed(requestIds, agentIds);
    await this.dispatch();
  }

  /**
   * Only the views of these requests changed, nothing routing reads (a push wake-up's
   * outcome: when the device was woken): the feeds send them again, no dispatch runs.
   */
  viewsChanged(requestIds: string[]): void {
    this.changed(requestIds, []);
  }

  /**
   * announce() for callers that cannot await (a configuration reloaded): the dispatch runs
   * in the background, its failure logged. Callers that can await use announce().
   */
  notify(requestIds: string[], agentIds: string[] = []): void {
    this.background('dispatch', this.announce(requestIds, agentIds));
  }
}
