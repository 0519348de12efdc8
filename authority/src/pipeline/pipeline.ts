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
import { conflict, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications } from '../identity/authentications.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { PhotoFactor } from '../identity/photos.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { Agents } from './agents.ts';
import { Capacity, type Staffing } from './capacity.ts';
import { Custody } from './custody.ts';
import type { PipelineConfigStore } from './pipeline-config.ts';
import { QUEUE_ORDER, type RequestRow, type RequestStore } from './requests.ts';
import { applyRules, factorsFor } from './rules.ts';
import type { Reachability } from '../push/reachability.ts';

/** Added to a booked callback's priority when its slot starts, so the booking is honoured first. */
export const CALLBACK_BOOST = 1000;
const DISPATCH_SCAN_LIMIT = 5000;
const DISPATCH_PAGE = 200;

export interface PipelineEvents {
  /** Requests and agents whose views changed (for the live feeds). */
  changed: [requestIds: string[], agentIds: string[]];
  offer: [agentId: string, requestId: string];
  /** An agent accepted an offer (the authority wakes the customer's device if it is offline). */
  accepted: [agentId: string, requestId: string];
}

/**
 * The pipeline: service requests in queues, offered to one eligible agent at a time
 * under a lease with a fencing number. Every ownership-dependent write is one UPDATE
 * guarded by state, agent and fence, so a stale holder can never write. Every
 * mutation dispatches at once (synchronously) and emits what changed.
 */
export class Pipeline extends EventEmitter<PipelineEvents> {
  readonly capacity: Capacity;
  /** Who held each request, when, and how they came to hold it. */
  readonly custody: Custody;
  private timer: NodeJS.Timeout | null = null;
  /** Which customer devices are reachable now (set when the authority wires its services). */
  reach: Reachability | null = null;

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
    sessions.holdWhile((sessionId) => {
      const r = requests.bySession(sessionId);
      return !!r && r.state !== 'completed' && r.state !== 'abandoned';
    });
    sessions.on('ended', (sessionId) => this.onSessionEnded(sessionId));
    authentications.on('changed', (authenticationId) => this.onAuthenticationChanged(authenticationId));
  }

  async start(intervalMs = 250): Promise<void> {
    await this.tick();
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private levelOf(r: RequestRow): number {
    return this.authentications.get(r.authentication_id)?.level ?? 0;
  }

  // ---- views -------------------------------------------------------------

  /**
   * Views of many rows at once, given in queue order (as RequestStore.live returns them,
   * every waiting row of their queues or a prefix of them): positions are counted in one
   * pass and wait estimates computed once per queue, skills and position, instead of a
   * COUNT query per row (a 10,000-request snapshot took seconds that way).
   */
  requestViews(rows: readonly RequestRow[], st: Staffing = this.capacity.staffing()): RequestView[] {
    const ahead = new Map<string, number>();
    const waits = new Map<string, number | null>();
    return rows.map((r) => {
      let position: number | null = null;
      let wait: number | null = null;
      if (r.state === 'waiting') {
        position = (ahead.get(r.queue_id) ?? 0) + 1;
        ahead.set(r.queue_id, position);
        const key = `${r.queue_id}\u0000${r.skills}\u0000${position}`;
        if (!waits.has(key))
          waits.set(key, this.capacity.wait(st, r.queue_id, JSON.parse(r.skills), position));
        wait = waits.get(key)!;
      }
      return this.withReach(r, this.requests.view(r, position, wait, this.levelOf(r)));
    });
  }

  private withReach(r: RequestRow, v: RequestView): RequestView {
    const auth = this.authentications.get(r.authentication_id);
    return {
      ...v,
      verificationExpiresAt: auth ? iso(auth.expires_at) : null,
      ...(this.reach ? { reachability: this.reach.view(r.device_id, r.id) } : {}),
    };
  }

  /** A customer device came or went: the views of its live requests change. */
  async deviceReachabilityChanged(deviceId: string): Promise<void> {
    const ids = this.ctx.db
      .prepare<[string], { id: string }>(
        "SELECT id FROM requests WHERE device_id = ? AND state NOT IN ('completed', 'abandoned')",
      )
      .all(deviceId)
      .map((x) => x.id);
    if (ids.length) this.changed(ids, []);
  }

  requestView(r: RequestRow, st: Staffing = this.capacity.staffing()): RequestView {
    const position = this.requests.position(r);
    const wait =
      position === null ? null : this.capacity.wait(st, r.queue_id, JSON.parse(r.skills), position);
    return this.withReach(r, this.requests.view(r, position, wait, this.levelOf(r)));
  }

  agentView(staffId: string): AgentView {
    const row = this.agents.ensure(staffId);
    const offer = this.requests.offerOf(staffId);
    const current = this.requests.assignedTo(staffId);
    return {
      ...this.agents.baseView(row),
      currentSessionId: current?.session_id ?? null,
      timeInStateSeconds: Math.max(0, Math.floor((this.now() - row.since) / 1000)),
      offer: offer
        ? {
            requestId: offer.id,
            fence: offer.fence,
            expiresAt: iso(offer.offer_expires_at!),
            request: this.requestView(offer),
          }
        : null,
      currentRequestId: current?.id ?? null,
    };
  }

  async liveMenu() {
    const st = this.capacity.staffing();
    const walk = (nodes: MenuNodeInput[]): LiveMenuNodeShape[] => {
      const out: LiveMenuNodeShape[] = [];
      for (const n of nodes) {
        if (n.children) {
          const children = walk(n.children);
          if (children.length) out.push({ id: n.id, label: n.label, children });
          continue;
        }
        const skills = n.skills ?? [];
        const c = this.capacity.counts(st, n.queue!, skills);
        if (c.serving > 0) {
          const waiting = this.ctx.db
            .prepare<[string], { n: number }>(
              "SELECT count(*) AS n FROM requests WHERE state = 'waiting' AND queue_id = ?",
            )
            .get(n.queue!)!.n;
          out.push({
            id: n.id,
            label: n.label,
            level: n.level ?? 0,
            availability: 'now',
            estimatedWaitSeconds: this.capacity.wait(st, n.queue!, skills, waiting + 1),
          });
        } else if (c.later > 0) {
          out.push({
            id: n.id,
            label: n.label,
            level: n.level ?? 0,
            availability: 'callback_only',
            estimatedWaitSeconds: null,
          });
        }
      }
      return out;
    };
    return { company: this.config.config.company, menu: walk(this.config.config.menu) };
  }

  // ---- customer side -------------------------------------------------------

  private rulesFor(customerId: string, queue: string, level: number) {
    const c = this.ctx.db
      .prepare<[string], { attributes: string; account: string }>(
        'SELECT attributes, account FROM customers WHERE id = ?',
      )
      .get(customerId)!;
    const account = JSON.parse(c.account) as { balance?: { amount?: number } };
    return applyRules(this.config.config.priorityRules, {
      queue,
      level,
      attributes: JSON.parse(c.attributes),
      balance: typeof account.balance?.amount === 'number' ? account.balance.amount : null,
    });
  }

  createRequest(p: DevicePrincipal, optionId: string, idempotencyKey?: string): CreateRequestResult {
    const leaf = this.config.leaf(optionId);
    if (!leaf) throw notFound(`no menu option "${optionId}"`);
    if (idempotencyKey) {
      const existing = this.ctx.db
        .prepare<[string, string], RequestRow>(
          'SELECT * FROM requests WHERE device_id = ? AND idempotency_key = ?',
        )
        .get(p.device.id, idempotencyKey);
      if (existing) return { status: 'queued', request: this.requestView(existing) };
    }
    const auth = this.authentications.get(p.authentication.id)!;
    // A verification photo awaiting the agent's comparison may carry the request to the
    // agent (who compares before anything level 2 unlocks), never further than level 2.
    const photoPending =
      leaf.level <= FACTOR_SETUP_LEVEL.photo && this.photos.hasPendingComparison(auth.id, auth.customer_id);
    if (auth.level < leaf.level && !photoPending)
      return {
        status: 'step_up_required',
        optionId,
        requiredLevel: leaf.level,
        currentLevel: auth.level as 0 | 1 | 2 | 3,
        factorsNeeded: factorsFor(leaf.level, auth.level, true).filter(
          (f) => f !== 'photo' || this.photos.unavailable(auth.customer_id) === null,
        ),
      };
    const ruled = this.rulesFor(auth.customer_id, leaf.queue, auth.level);
    const id = randomId(16);
    const now = this.now();
    this.ctx.db.transaction(() => {
      const session = this.sessions.open(auth);
      this.ctx.db
        .prepare(
          `INSERT INTO requests (id, session_id, customer_id, device_id, authentication_id, option_id, option_label, queue_id, skills, required_level, priority, enqueued_at, state, idempotency_key)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'waiting', ?)`,
        )
        .run(
          id,
          session.id,
          auth.customer_id,
          p.device.id,
          auth.id,
          leaf.id,
          leaf.label,
          ruled.queue,
          JSON.stringify(leaf.skills),
          leaf.level,
          ruled.priority,
          now,
          idempotencyKey ?? null,
        );
    })();
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'request.create',
      subject: `request:${id}`,
      outcome: 'success',
      data: { queue: ruled.queue, priority: ruled.priority, rules: ruled.matched },
    });
    this.changed([id], []);
    this.dispatch();
    return { status: 'queued', request: this.requestView(this.requests.get(id)!) };
  }

  ownRequest(p: DevicePrincipal, requestId: string): RequestRow {
    const r = this.requests.get(requestId);
    if (!r || r.device_id !== p.device.id) throw notFound('no such request');
    return r;
  }

  /** The customer leaves: abandoned; an offer is withdrawn; an agent on it goes to wrap-up. */
  abandon(requestId: string, reason: string): RequestRow | undefined {
    const r = this.requests.get(requestId);
    if (!r || r.state === 'completed' || r.state === 'abandoned') return r;
    const now = this.now();
    this.ctx.db.transaction(() => {
      this.ctx.db
        .prepare(
          "UPDATE requests SET state = 'abandoned', ended_at = ?, end_reason = ?, offer_expires_at = NULL WHERE id = ? AND fence = ?",
        )
        .run(now, reason, r.id, r.fence);
      this.endLease(r.id, r.fence, r.state === 'offered' ? 'offer' : 'assignment', reason);
      if (r.agent_id && r.state === 'assigned') this.toWrapUp(r.agent_id);
    })();
    this.ctx.audit.append({
      actor: 'system',
      action: 'request.abandon',
      subject: `request:${r.id}`,
      outcome: 'success',
      reason,
    });
    this.changed([r.id], r.agent_id ? [r.agent_id] : []);
    this.dispatch();
    return this.requests.get(r.id);
  }

  private onSessionEnded(sessionId: string): void {
    const r = this.requests.bySession(sessionId);
    if (r) this.abandon(r.id, 'session_ended');
  }

  private onAuthenticationChanged(authenticationId: string): void {
    const live = this.ctx.db
      .prepare<[string], RequestRow>(
        "SELECT * FROM requests WHERE authentication_id = ? AND state = 'waiting'",
      )
      .all(authenticationId);
    // Offered and assigned requests keep their queue; announcing them lets the agent's panel unlock live after a step-up.
    const held = this.ctx.db
      .prepare<[string], { id: string }>(
        "SELECT id FROM requests WHERE authentication_id = ? AND state IN ('offered', 'assigned')",
      )
      .all(authenticationId);
    if (!live.length && !held.length) return;
    const level = this.authentications.get(authenticationId)?.level ?? 0;
    for (const r of live) {
      const leaf = this.config.leaf(r.option_id);
      const ruled = this.rulesFor(r.customer_id, leaf?.queue ?? r.queue_id, level);
      const boost = r.callback_mode === 'slot' ? CALLBACK_BOOST : 0;
      this.ctx.db
        .prepare("UPDATE requests SET queue_id = ?, priority = ? WHERE id = ? AND state = 'waiting'")
        .run(ruled.queue, ruled.priority + boost, r.id);
    }
    this.changed(
      [...live, ...held].map((r) => r.id),
      [],
    );
    if (live.length) this.dispatch();
  }

  // ---- agent side ----------------------------------------------------------

  async setPresence(
    staffId: string,
    state: 'available' | 'break' | 'offline',
    reasonCode: string | null,
    actor: string,
  ): Promise<AgentView> {
    const row = this.agents.ensure(staffId);
    // Busy, or still holding a request after going offline mid-call: only offline, else a second customer arrives.
    if ((row.presence === 'busy' || this.requests.assignedTo(staffId)) && state !== 'offline')
      throw conflict('finish the current request first');
    if (
      row.presence === 'wrap_up' &&
      row.wrap_up_until === null &&
      state === 'available' &&
      this.ctx.config.wrapUpRequired
    )
      throw conflict('record the wrap-up first');
    this.ctx.db.transaction(() => {
      this.agents.setPresence(staffId, state, { reasonCode });
      this.agents.touch(staffId);
      if (state !== 'available') this.withdrawOfferOf(staffId, 'agent_unavailable');
    })();
    this.ctx.audit.append({
      actor,
      action: 'agent.presence',
      subject: `staff:${staffId}`,
      outcome: 'success',
      data: { from: row.presence, to: state, reasonCode },
    });
    this.changed([], [staffId]);
    this.dispatch();
    return this.agentView(staffId);
  }

  private offerFor(staffId: string, requestId: string, fence: number, what: string): RequestRow {
    const r = this.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (r.agent_id !== staffId) throw conflict(`${what}: this request is not yours`);
    if (r.fence !== fence) throw conflict(`${what}: stale fencing number ${fence} (current ${r.fence})`);
    return r;
  }

  async accept(staffId: string, requestId: string, fence: number): Promise<RequestView> {
    const r = this.offerFor(staffId, requestId, fence, 'accept');
    if (r.state === 'assigned') return this.requestView(r); // a retried accept
    const now = this.now();
    const ok = this.ctx.db.transaction(() => {
      const changed = this.ctx.db
        .prepare(
          "UPDATE requests SET state = 'assigned', assigned_at = ?, offer_expires_at = NULL WHERE id = ? AND state = 'offered' AND agent_id = ? AND fence = ? AND offer_expires_at > ?",
        )
        .run(now, requestId, staffId, fence, now).changes;
      if (!changed) return false;
      // The same instant ends the offer and starts the assignment: the intervals touch, never overlap.
      this.endLease(requestId, fence, 'offer', 'accepted', now);
      this.ctx.db
        .prepare(
          "INSERT INTO leases (request_id, fence, kind, agent_id, started_at) VALUES (?, ?, 'assignment', ?, ?)",
        )
        .run(requestId, fence, staffId, now);
      this.custody.open(requestId, staffId, fence, this.custody.howForOffer(requestId, fence), now);
      this.agents.setPresence(staffId, 'busy');
      this.agents.touch(staffId);
      return true;
    })();
    if (!ok) throw conflict('accept: the offer has expired or was withdrawn');
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'request.accept',
      subject: `request:${requestId}`,
      outcome: 'success',
      data: { fence },
    });
    this.changed([requestId], [staffId]);
    this.emit('accepted', staffId, requestId);
    return this.requestView(this.requests.get(requestId)!);
  }

  async reject(staffId: string, requestId: string, fence: number): Promise<void> {
    this.offerFor(staffId, requestId, fence, 'reject');
    const ok = this.ctx.db.transaction(() => {
      const changed = this.ctx.db
        .prepare(
          "UPDATE requests SET state = 'waiting', agent_id = NULL, offer_expires_at = NULL WHERE id = ? AND state = 'offered' AND agent_id = ? AND fence = ?",
        )
        .run(requestId, staffId, fence).changes;
      if (!changed) return false;
      this.endLease(requestId, fence, 'offer', 'rejected');
      this.agents.setPresence(staffId, 'missed');
      return true;
    })();
    if (!ok) throw conflict('reject: the offer has expired or was withdrawn');
    this.changed([requestId], [staffId]);
    this.dispatch();
  }

  /**
   * The holder finishes the request. When the customer left first (abandoned while this
   * agent held it under this fence) the agent's side still finishes: the request stays
   * abandoned (that is the answer's state), the agent stays in the wrap-up the customer's
   * leaving started, and the completion is audited as coming after the customer left.
   */
  async complete(staffId: string, requestId: string, fence: number): Promise<RequestView> {
    const r = this.offerFor(staffId, requestId, fence, 'complete');
    if (r.state === 'completed') return this.requestView(r); // a retried complete
    if (r.state === 'abandoned') return await this.completeAfterLeaving(staffId, r);
    const now = this.now();
    const ok = this.ctx.db.transaction(() => {
      const changed = this.ctx.db
        .prepare(
          "UPDATE requests SET state = 'completed', ended_at = ?, end_reason = 'completed' WHERE id = ? AND state = 'assigned' AND agent_id = ? AND fence = ?",
        )
        .run(now, requestId, staffId, fence).changes;
      if (!changed) return false;
      this.endLease(requestId, fence, 'assignment', 'completed', now);
      if (r.assigned_at !== null)
        this.ctx.db
          .prepare('INSERT INTO handle_times (queue_id, seconds, at) VALUES (?, ?, ?)')
          .run(r.queue_id, Math.round((now - r.assigned_at) / 1000), now);
      this.toWrapUp(staffId);
      return true;
    })();
    if (!ok) throw conflict('complete: the request is not assigned to you under this fencing number');
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'request.complete',
      subject: `request:${requestId}`,
      outcome: 'success',
      data: { fence },
    });
    await this.sessions.end(r.session_id, 'ended', `staff:${staffId}`);
    this.changed([requestId], [staffId]);
    this.dispatch();
    return this.requestView(this.requests.get(requestId)!);
  }

  private async completeAfterLeaving(staffId: string, r: RequestRow): Promise<RequestView> {
    const held = this.ctx.db
      .prepare<[string, number, string], { 1: number }>(
        "SELECT 1 FROM leases WHERE request_id = ? AND fence = ? AND agent_id = ? AND kind = 'assignment'",
      )
      .get(r.id, r.fence, staffId);
    if (!held)
      throw conflict(
        'complete: the customer left before you accepted the request; there is nothing to complete',
      );
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'request.complete',
      subject: `request:${r.id}`,
      outcome: 'success',
      reason: `the customer left first (${r.end_reason ?? 'abandoned'})`,
      data: { fence: r.fence },
    });
    return this.requestView(r);
  }

  /** The agent's last socket closed: presence and offer survive a reconnect within `graceMs`. */
  agentDisconnected(staffId: string, graceMs: number): void {
    this.agents.touch(staffId, this.now() - this.ctx.config.agentTimeoutSeconds * 1000 + graceMs);
  }

  /** Any staff route call counts as a sign of life. */
  touchAgent(staffId: string): void {
    this.agents.touch(staffId);
  }

  // ---- leases, timers, routing ----------------------------------------------

  /** End a lease (transfers use it too: the old holder's interval ends at the instant the new one starts). */
  endLease(
    requestId: string,
    fence: number,
    kind: 'offer' | 'assignment',
    reason: string,
    at = this.now(),
  ): void {
    this.ctx.db
      .prepare(
        'UPDATE leases SET ended_at = ?, end_reason = ? WHERE request_id = ? AND fence = ? AND kind = ? AND ended_at IS NULL',
      )
      .run(at, reason, requestId, fence, kind);
    if (kind === 'assignment') this.custody.close(requestId, fence, reason, at);
  }

  /** Wrap-up after a request: until the wrap-up is recorded when it is required, else for wrapUpSeconds. */
  private toWrapUp(staffId: string): void {
    const { wrapUpSeconds, wrapUpRequired } = this.ctx.config;
    // An agent who went offline mid-call stays offline: never offered work again unasked.
    if (this.agents.get(staffId)?.presence === 'offline') return;
    if (wrapUpSeconds <= 0) this.agents.setPresence(staffId, 'available');
    else
      this.agents.setPresence(staffId, 'wrap_up', {
        wrapUpUntil: wrapUpRequired ? null : this.now() + wrapUpSeconds * 1000,
      });
  }

  /** The agent's wrap-up arrived: a required wrap-up ends, the agent is available again. */
  wrapUpRecorded(staffId: string): void {
    const a = this.agents.get(staffId);
    if (a?.presence !== 'wrap_up' || !this.ctx.config.wrapUpRequired) return;
    this.agents.setPresence(staffId, 'available');
    this.changed([], [staffId]);
    this.dispatch();
  }

  private withdrawOfferOf(staffId: string, reason: string): string | null {
    const r = this.requests.offerOf(staffId);
    if (!r) return null;
    const changed = this.ctx.db
      .prepare(
        "UPDATE requests SET state = 'waiting', agent_id = NULL, offer_expires_at = NULL WHERE id = ? AND state = 'offered' AND fence = ?",
      )
      .run(r.id, r.fence).changes;
    if (changed) this.endLease(r.id, r.fence, 'offer', reason);
    return changed ? r.id : null;
  }

  private offer(r: RequestRow, staffId: string): boolean {
    const now = this.now();
    const expires = now + this.ctx.config.offerTimeoutSeconds * 1000;
    const row = this.ctx.db
      .prepare<[string, number, string], { fence: number }>(
        "UPDATE requests SET state = 'offered', fence = fence + 1, agent_id = ?, offer_expires_at = ? WHERE id = ? AND state = 'waiting' RETURNING fence",
      )
      .get(staffId, expires, r.id);
    if (!row) return false;
    this.ctx.db
      .prepare(
        "INSERT INTO leases (request_id, fence, kind, agent_id, started_at) VALUES (?, ?, 'offer', ?, ?)",
      )
      .run(r.id, row.fence, staffId, now);
    return true;
  }

  /**
   * Offer waiting requests, in queue order, each to the longest-idle eligible free
   * agent (available, on shift, holding no offer). Stops when nobody is free.
   */
  dispatch(): number {
    const now = this.now();
    const st = this.capacity.staffing();
    const free = st.agents
      .filter((a) => a.row.presence === 'available' && a.onShift && !a.hasOffer)
      .sort((x, y) => x.info.idleSince - y.info.idleSince || x.row.staff_id.localeCompare(y.row.staff_id));
    if (!free.length) return 0;
    const offered: [string, string][] = [];
    this.ctx.db.transaction(() => {
      // Pages, not one iterator: better-sqlite3 cannot write while a statement iterates.
      const page = this.ctx.db.prepare<[number, number], RequestRow>(
        `SELECT * FROM requests WHERE state = 'waiting' ORDER BY ${QUEUE_ORDER} LIMIT ? OFFSET ?`,
      );
      // Reachable customers first: a request whose device is offline waits until every
      // reachable request of the same priority has been tried (then it is offered too:
      // accepting it wakes the device).
      let deferred: RequestRow[] = [];
      let deferredPriority: number | null = null;
      let removed = 0;
      const tryOffer = (r: RequestRow): void => {
        const skills = JSON.parse(r.skills) as string[];
        const i = free.findIndex((a) => Capacity.eligible(a.info, r.queue_id, skills));
        if (i < 0) return;
        const agent = free[i]!;
        if (this.offer(r, agent.row.staff_id)) {
          free.splice(i, 1);
          offered.push([agent.row.staff_id, r.id]);
          removed++; // the offered row left the waiting set: the next page starts one earlier
        }
      };
      const flush = (): void => {
        for (const d of deferred) if (free.length) tryOffer(d);
        deferred = [];
        deferredPriority = null;
      };
      for (let offset = 0; offset < DISPATCH_SCAN_LIMIT && free.length; offset += DISPATCH_PAGE - removed) {
        removed = 0;
        const rows = page.all(DISPATCH_PAGE, offset);
        for (const r of rows) {
          if (!free.length) break;
          if (
            (r.window_from !== null && r.window_from > now) ||
            (r.window_until !== null && r.window_until < now)
          )
            continue;
          if (deferredPriority !== null && r.priority !== deferredPriority) flush();
          if (!free.length) break;
          if (this.reach && r.device_id !== null && !this.reach.online(r.device_id)) {
            deferred.push(r);
            deferredPriority = r.priority;
            continue;
          }
          tryOffer(r);
        }
        if (rows.length < DISPATCH_PAGE) break;
      }
      flush();
    })();
    if (offered.length) {
      this.changed(
        offered.map(([, r]) => r),
        offered.map(([a]) => a),
      );
      for (const [agentId, requestId] of offered) this.emit('offer', agentId, requestId);
    }
    return offered.length;
  }

  /** Timers: expired offers, finished wrap-ups, due callbacks, agents gone silent; then dispatch. */
  async tick(): Promise<void> {
    const now = this.now();
    const requestIds: string[] = [];
    const agentIds: string[] = [];
    this.ctx.db.transaction(() => {
      for (const r of this.ctx.db
        .prepare<[number], RequestRow>(
          "SELECT * FROM requests WHERE state = 'offered' AND offer_expires_at <= ?",
        )
        .all(now)) {
        const changed = this.ctx.db
          .prepare(
            "UPDATE requests SET state = 'waiting', agent_id = NULL, offer_expires_at = NULL WHERE id = ? AND state = 'offered' AND fence = ?",
          )
          .run(r.id, r.fence).changes;
        if (!changed) continue;
        this.endLease(r.id, r.fence, 'offer', 'timeout');
        if (r.agent_id) {
          this.agents.setPresence(r.agent_id, 'missed');
          agentIds.push(r.agent_id);
        }
        requestIds.push(r.id);
      }
      for (const a of this.ctx.db
        .prepare<[number], { staff_id: string }>(
          "SELECT staff_id FROM agents WHERE presence = 'wrap_up' AND wrap_up_until <= ?",
        )
        .all(now)) {
        this.agents.setPresence(a.staff_id, 'available');
        agentIds.push(a.staff_id);
      }
      for (const r of this.ctx.db
        .prepare<[number], { id: string }>(
          "SELECT id FROM requests WHERE state = 'scheduled' AND slot_start <= ?",
        )
        .all(now)) {
        this.ctx.db
          .prepare(
            "UPDATE requests SET state = 'waiting', priority = priority + ? WHERE id = ? AND state = 'scheduled'",
          )
          .run(CALLBACK_BOOST, r.id);
        requestIds.push(r.id);
      }
      const silentSince = now - this.ctx.config.agentTimeoutSeconds * 1000;
      for (const a of this.ctx.db
        .prepare<[number], { staff_id: string }>(
          "SELECT staff_id FROM agents WHERE presence NOT IN ('offline', 'busy') AND (last_seen_at IS NULL OR last_seen_at < ?)",
        )
        .all(silentSince)) {
        const withdrawn = this.withdrawOfferOf(a.staff_id, 'agent_gone');
        if (withdrawn) requestIds.push(withdrawn);
        this.agents.setPresence(a.staff_id, 'offline');
        agentIds.push(a.staff_id);
      }
    })();
    if (requestIds.length || agentIds.length) this.changed(requestIds, agentIds);
    this.dispatch();
  }

  private changed(requestIds: string[], agentIds: string[]): void {
    this.emit('changed', requestIds, agentIds);
  }

  /** Used by callbacks: a request left the queue or came back. */
  notify(requestIds: string[], agentIds: string[] = []): void {
    this.changed(requestIds, agentIds);
    this.dispatch();
  }
}
