import { EventEmitter } from 'node:events';
import {
  WARM_TRANSFER_SECONDS,
  type CustodyHow,
  type RequestView,
  type TransferRequest,
  type TransferView,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { HeldRequest, Holding } from '../store/repos/custody.ts';
import type { Repos } from '../store/repos/index.ts';
import type { NewTransfer, TransferRow, TransferStaff } from '../store/repos/transfers.ts';
import { Capacity } from './capacity.ts';
import { checkHolder, staleFence } from './ownership.ts';
import type { Pipeline } from './pipeline.ts';

export interface TransferEvents {
  /** A transfer changed: tell these staff members. */
  update: [view: TransferView, staffIds: string[]];
}

const targetUnavailable = (message: string) => new DomainError('conflict', 'target_unavailable', message);
const transferClosed = (message: string) => new DomainError('conflict', 'transfer_closed', message);
const changedMeanwhile = () => conflict('the request changed meanwhile: try again');

/** A hand-over of a request that completes at once (blind transfer, take-over, reassign). */
interface HandOver {
  kind: TransferRow['kind'];
  by: string;
  /** The holder the request leaves (null: it was not assigned). */
  from: string | null;
  to: 'offered' | 'assigned' | 'waiting';
  target: { kind: TransferRow['target_kind']; staffId: string | null; queueId: string | null };
  mode?: TransferRow['mode'];
  note?: string | null;
  /** Lease end reason of the old holder. */
  reason: string;
  how?: CustodyHow;
  action: string;
  data: (toFence: number) => Record<string, unknown>;
}

/** What an ownership move left for after its unit of work: the transfer and the consults it voided. */
interface Moved {
  t: TransferRow;
  fromFence: number;
  consults: TransferRow[];
}

/**
 * Transfers (blind or warm, to a person or a queue), supervisor take-over and reassign.
 * Every ownership move is one unit of work: the guarded move of the request (new fencing
 * number; the old lease and custody row end at the instant the new ones start), the
 * transfer row, the voided consults and the audit row commit together or not at all. From
 * that moment the old holder's fence is stale everywhere. A transfer changes state only
 * by TRANSFER_LIFECYCLE's guarded transition (repos/transfers.ts). The request keeps its
 * authentication and service session (and so its absolute expiry).
 */
export class Transfers extends EventEmitter<TransferEvents> {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
  ) {
    super();
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private async ref(id: string) {
    return {
      staffId: id,
      displayName: (await this.ctx.data.read.transfers.staff(id))?.display_name ?? 'unknown',
    };
  }

  async view(t: TransferRow): Promise<TransferView> {
    const r = (await this.pipeline.requests.get(t.request_id))!;
    return {
      transferId: t.id,
      requestId: t.request_id,
      kind: t.kind,
      mode: t.mode,
      by: await this.ref(t.by_staff),
      from: t.from_staff ? await this.ref(t.from_staff) : null,
      target: {
        kind: t.target_kind,
        staffId: t.target_staff,
        queueId: t.target_queue,
        name: t.target_staff
          ? (await this.ref(t.target_staff)).displayName
          : (this.pipeline.config.queue(t.target_queue!)?.name ?? t.target_queue!),
      },
      state: t.state,
      note: t.note,
      fromFence: t.from_fence,
      toFence: t.to_fence,
      createdAt: iso(t.created_at),
      expiresAt: t.expires_at === null ? null : iso(t.expires_at),
      resolvedAt: t.resolved_at === null ? null : iso(t.resolved_at),
      request: await this.pipeline.requestView(r),
    };
  }

  private async announce(t: TransferRow): Promise<TransferView> {
    const v = await this.view(t);
    const who = new Set([t.by_staff, t.from_staff, t.target_staff].filter((s): s is string => !!s));
    this.emit('update', v, [...who]);
    // A consult makes its colleague busy for routing while it is open (the board says so);
    // when it closes they are offered work again.
    if (t.mode === 'warm' && t.target_staff) await this.pipeline.announce([], [t.target_staff]);
    return v;
  }

  /** The request, if `staffId` holds its assignment under `fence` in this unit (404, 403 not_assigned, 409 stale_fence). */
  private async holderOf(r: Repos, staffId: string, requestId: string, fence: number): Promise<HeldRequest> {
    return checkHolder(await r.custody.request(requestId), staffId, fence);
  }

  /**
   * Inside a unit: why `name` (`staffId`) cannot take `req` beside what they hold now, by
   * their own chat capacity too (Capacity.noRoom, in words), or null. `offerPending` false:
   * an offer waiting for them does not count (a consult accepted beside it).
   */
  private async noRoom(
    r: Repos,
    staffId: string,
    name: string,
    req: Pick<HeldRequest, 'channel' | 'queue_id'>,
    offerPending = true,
  ): Promise<string | null> {
    const holds: Holding = {
      ...(await r.custody.holding(staffId)),
      ...(offerPending ? {} : { offered: false }),
    };
    const own = (await r.agents.get(staffId))?.chat_capacity ?? null;
    const queueCapacity = this.pipeline.config.chatCapacity(req.queue_id);
    const capacity = Capacity.chatLimit(queueCapacity, own);
    const chats = (n: number) => `${n} ${n === 1 ? 'chat' : 'chats'}`;
    switch (Capacity.noRoom(holds, req.channel, capacity)) {
      case 'offer':
        return `${name} has an offer pending`;
      case 'call':
        return `${name} is busy with a call`;
      case 'chats':
        return `${name} is chatting with ${holds.chat === 1 ? 'a customer' : `${holds.chat} customers`}`;
      case 'full':
        return `${name} already holds ${chats(holds.chat)} (the most ${capacity < queueCapacity ? `for ${name}` : 'for this queue'}: ${capacity})`;
      case null:
        return null;
    }
  }

  /**
   * A person who can take the request now: exists, enabled, not the caller, with room for
   * it (noRoom: nothing held, or a chat beside their chats).
   */
  private async checkPersonTarget(
    r: Repos,
    callerId: string,
    staffId: string,
    kind: 'agent' | 'supervisor',
    req: Pick<HeldRequest, 'channel' | 'queue_id'>,
  ): Promise<TransferStaff> {
    const s = await r.transfers.staff(staffId);
    if (!s || s.disabled_at !== null) throw notFound('no such staff member');
    if (staffId === callerId) throw targetUnavailable('you cannot transfer a request to yourself');
    if (kind === 'supervisor' && s.role === 'agent')
      throw badRequest('the target of a transfer to a supervisor must have the supervisor or admin role');
    // Supervisors are reachable while they watch the board (not "available" for queue offers); agents must be online.
    if (s.role === 'agent' && (await r.transfers.presenceOf(staffId)) === 'offline')
      throw targetUnavailable(`${s.display_name} is offline`);
    const why = await this.noRoom(r, staffId, s.display_name, req);
    if (why) throw targetUnavailable(why);
    return s;
  }

  /**
   * The previous holder is free again (an agent who went offline mid-call stays offline;
   * one who still holds other chats stays busy with them). The row is read locked: an agent
   * who chose offline while the request was handed on was made available otherwise.
   */
  private async release(r: Repos, staffId: string | null): Promise<void> {
    if (!staffId) return;
    const row = await r.agents.getLocked(staffId);
    if (row?.presence === 'offline') return;
    if (await r.requests.assignedTo(staffId)) return;
    await this.pipeline.agents.setPresenceIn(r, staffId, 'available', { row });
  }

  /** The new holder of an assignment is busy. */
  private async occupy(r: Repos, staffId: string): Promise<void> {
    await r.agents.ensure(staffId);
    await this.pipeline.agents.setPresenceIn(r, staffId, 'busy');
    await r.agents.touch(staffId);
  }

  private transferRow(t: Omit<NewTransfer, 'id' | 'created_at'>, at: number): NewTransfer {
    return { ...t, id: randomId(16), created_at: at };
  }

  private audit(r: Repos, actor: string, action: string, requestId: string, data: Record<string, unknown>) {
    return r.audit.append({
      actor: `staff:${actor}`,
      action,
      subject: `request:${requestId}`,
      outcome: 'success',
      data,
    });
  }

  /** Inside a unit: the audit rows of consults closed without their parties' action (expired, voided by a move). */
  private async auditClosed(r: Repos, rows: readonly TransferRow[], why: string): Promise<void> {
    for (const t of rows)
      await r.audit.append({
        actor: 'system',
        action: `transfer.warm.${t.state === 'expired' ? 'expire' : 'void'}`,
        subject: `request:${t.request_id}`,
        outcome: 'success',
        reason: why,
        data: { transferId: t.id, from: t.from_staff, to: t.target_staff },
      });
  }

  /**
   * Inside a unit: move `req` to its new holder (or queue) and record the hand-over as a
   * completed transfer with its audit row. Blind transfers, take-overs and reassigns all
   * go this one way.
   */
  private async handOver(r: Repos, req: HeldRequest, h: HandOver): Promise<Moved> {
    const at = this.now();
    const toFence = await r.custody.move({
      requestId: req.id,
      from: { state: req.state, fence: req.fence, agentId: req.agent_id },
      to: h.to,
      agentId: h.target.staffId ?? undefined,
      offerExpiresAt: h.to === 'offered' ? at + this.pipeline.config.offerTimeoutMs(req.queue_id) : undefined,
      queueId: h.target.queueId ?? undefined,
      how: h.how,
      reason: h.reason,
      at,
    });
    if (toFence === undefined) throw changedMeanwhile();
    if (h.to === 'assigned') await this.occupy(r, h.target.staffId!);
    await this.release(r, h.from);
    const consults = await r.transfers.cancelOpen(req.id, at);
    await this.auditClosed(r, consults, 'the request changed hands');
    const t = await r.transfers.insert(
      this.transferRow(
        {
          request_id: req.id,
          kind: h.kind,
          mode: h.mode ?? 'blind',
          by_staff: h.by,
          from_staff: h.from,
          target_kind: h.target.kind,
          target_staff: h.target.staffId,
          target_queue: h.target.queueId,
          state: 'completed',
          note: h.note ?? null,
          from_fence: req.fence,
          to_fence: toFence,
          expires_at: null,
          resolved_at: at,
        },
        at,
      ),
    );
    await this.audit(r, h.by, h.action, req.id, h.data(toFence));
    // Durable (outbox): the old holder's open commands are cancelled by the relay's consumer, even after a crash.
    await r.outbox.emit('request.moved', { requestId: req.id, fromFence: req.fence });
    return { t, fromFence: req.fence, consults };
  }

  /** After the unit of work of a move: the old fence's commands end, the feeds and the new holder learn. */
  private async afterMove(m: Moved, agentIds: string[]): Promise<void> {
    for (const c of m.consults) await this.announce(c);
    await this.pipeline.announce([m.t.request_id], agentIds);
    const r = (await this.pipeline.requests.get(m.t.request_id))!;
    if (r.state === 'offered' && r.agent_id) this.pipeline.emit('offer', r.agent_id, r.id);
  }

  async transfer(staffId: string, requestId: string, req: TransferRequest): Promise<TransferView> {
    const base = {
      kind: 'transfer' as const,
      by: staffId,
      from: staffId,
      mode: req.mode,
      note: req.note ?? null,
    };
    if (req.target.kind === 'queue') {
      const queueId = req.target.queueId;
      const m = await this.ctx.data.tx(async (r) => {
        const held = await this.holderOf(r, staffId, requestId, req.fence);
        if (req.mode === 'warm')
          throw badRequest('a warm transfer needs a person to talk to: pick an agent or a supervisor');
        if (!this.pipeline.config.queue(queueId)) throw notFound(`no queue "${queueId}"`);
        // Back to waiting in the target queue, new fence; enqueued_at and priority kept, so it is near the front.
        return await this.handOver(r, held, {
          ...base,
          to: 'waiting',
          target: { kind: 'queue', staffId: null, queueId },
          reason: 'transferred',
          action: 'transfer.queue',
          data: (toFence) => ({ queueId, fromFence: held.fence, toFence }),
        });
      });
      await this.afterMove(m, [staffId]);
      return await this.announce(m.t);
    }
    const target = req.target;
    if (req.mode === 'warm') {
      const t = await this.ctx.data.tx(async (r) => {
        const held = await this.holderOf(r, staffId, requestId, req.fence);
        await this.checkPersonTarget(r, staffId, target.staffId, target.kind, held);
        const at = this.now();
        if (await r.transfers.considering(target.staffId, at))
          throw targetUnavailable('that person is already considering another transfer');
        const row = await r.transfers.insert(
          this.transferRow(
            {
              request_id: held.id,
              kind: 'transfer',
              mode: 'warm',
              by_staff: staffId,
              from_staff: staffId,
              target_kind: target.kind,
              target_staff: target.staffId,
              target_queue: null,
              state: 'offered',
              note: req.note ?? null,
              from_fence: held.fence,
              to_fence: null,
              expires_at: at + WARM_TRANSFER_SECONDS * 1000,
              resolved_at: null,
            },
            at,
          ),
        );
        await this.audit(r, staffId, 'transfer.warm.offer', held.id, {
          to: target.staffId,
          fence: held.fence,
        });
        return row;
      });
      return await this.announce(t);
    }
    const m = await this.ctx.data.tx(async (r) => {
      const held = await this.holderOf(r, staffId, requestId, req.fence);
      await this.checkPersonTarget(r, staffId, target.staffId, target.kind, held);
      return await this.handOver(r, held, {
        ...base,
        to: 'offered',
        target: { kind: target.kind, staffId: target.staffId, queueId: null },
        reason: 'transferred',
        action: 'transfer.blind',
        data: (toFence) => ({ to: target.staffId, fromFence: held.fence, toFence }),
      });
    });
    await this.afterMove(m, [staffId, target.staffId]);
    return await this.announce(m.t);
  }

  /**
   * Inside a unit: the open warm consult `transferId` whose party `staffId` is (404
   * otherwise), or why it is closed: an expired one is marked expired (the caller throws
   * after the unit, so the mark stays).
   */
  private async openConsult(
    r: Repos,
    transferId: string,
    party: (t: TransferRow) => string | null,
    staffId: string,
  ): Promise<{ t: TransferRow; closed?: undefined } | { closed: DomainError; announce: TransferRow[] }> {
    const t = await r.transfers.get(transferId);
    if (!t || t.mode !== 'warm' || party(t) !== staffId) throw notFound('no such transfer');
    if (t.state === 'offered' && t.expires_at !== null && t.expires_at <= this.now()) {
      const expired = await r.transfers.transition(t.id, 'offered', 'expired');
      await this.auditClosed(r, expired ? [expired] : [], 'the offer expired');
      return { closed: transferClosed('the transfer offer has expired'), announce: expired ? [expired] : [] };
    }
    if (t.state !== 'offered') throw transferClosed(`the transfer is ${t.state}`);
    return { t };
  }

  /** A refusal decided inside a unit whose writes must stay: announce them, then throw. */
  private async refuse(x: { closed: DomainError; announce: TransferRow[] }): Promise<never> {
    for (const t of x.announce) await this.announce(t);
    throw x.closed;
  }

  async accept(staffId: string, transferId: string): Promise<TransferView> {
    const out = await this.ctx.data.tx(async (r) => {
      const c = await this.openConsult(r, transferId, (t) => t.target_staff, staffId);
      if (c.closed) return c;
      const t0 = c.t;
      const req = await r.custody.request(t0.request_id);
      if (!req || req.state !== 'assigned' || req.agent_id !== t0.from_staff || req.fence !== t0.from_fence) {
        const cancelled = await r.transfers.transition(t0.id, 'offered', 'cancelled');
        await this.auditClosed(r, cancelled ? [cancelled] : [], 'the request moved on');
        return {
          closed: transferClosed('the request moved on before the transfer was accepted'),
          announce: cancelled ? [cancelled] : [],
        };
      }
      // An offer pending does not stop an accept (it stays beside); a call or full chats do.
      if (await this.noRoom(r, staffId, 'you', req, false))
        throw targetUnavailable('finish your current request before accepting a transfer');
      const at = this.now();
      const toFence = await r.custody.move({
        requestId: req.id,
        from: { state: 'assigned', fence: req.fence, agentId: req.agent_id },
        to: 'assigned',
        agentId: staffId,
        how: 'transfer_warm',
        reason: 'transferred',
        at,
      });
      if (toFence === undefined) throw changedMeanwhile();
      // Of two accepts (or an accept and a cancel) exactly one moves the transfer on.
      const t = await r.transfers.transition(t0.id, 'offered', 'accepted', { at, toFence });
      if (!t) throw transferClosed('the transfer is no longer open');
      await this.occupy(r, staffId);
      await this.release(r, t0.from_staff);
      const consults = await r.transfers.cancelOpen(req.id, at);
      await this.auditClosed(r, consults, 'the request changed hands');
      await this.audit(r, staffId, 'transfer.warm.accept', req.id, {
        from: t0.from_staff,
        fromFence: req.fence,
        toFence,
      });
      await r.outbox.emit('request.moved', { requestId: req.id, fromFence: req.fence });
      return { closed: undefined, moved: { t, fromFence: req.fence, consults } };
    });
    if (out.closed) return await this.refuse(out);
    await this.afterMove(out.moved, [staffId, out.moved.t.from_staff!]);
    return await this.announce(out.moved.t);
  }

  /** Decline (the target) or cancel (the holder) an open warm consult. */
  private async close(
    staffId: string,
    transferId: string,
    to: 'declined' | 'cancelled',
    fence?: number,
  ): Promise<TransferView> {
    const out = await this.ctx.data.tx(async (r) => {
      const c = await this.openConsult(
        r,
        transferId,
        (t) => (to === 'declined' ? t.target_staff : t.from_staff),
        staffId,
      );
      if (c.closed) return c;
      if (fence !== undefined) await this.holderOf(r, staffId, c.t.request_id, fence);
      const t = await r.transfers.transition(c.t.id, 'offered', to);
      if (!t) throw transferClosed('the transfer is no longer open');
      await this.audit(
        r,
        staffId,
        to === 'declined' ? 'transfer.warm.decline' : 'transfer.warm.cancel',
        t.request_id,
        to === 'declined' ? { from: t.from_staff } : { to: t.target_staff },
      );
      return { closed: undefined, t };
    });
    if (out.closed) return await this.refuse(out);
    return await this.announce(out.t);
  }

  async decline(staffId: string, transferId: string): Promise<TransferView> {
    return await this.close(staffId, transferId, 'declined');
  }

  async cancel(staffId: string, transferId: string, fence: number): Promise<TransferView> {
    return await this.close(staffId, transferId, 'cancelled', fence);
  }

  /** Open consults for and from this staff member (stale ones, whose request moved on, are closed by the sweep first). */
  async mine(staffId: string): Promise<{ incoming: TransferView[]; outgoing: TransferView[] }> {
    await this.sweep();
    const rows = await this.ctx.data.read.transfers.openOf(staffId);
    const incoming: TransferView[] = [];
    const outgoing: TransferView[] = [];
    for (const t of rows) (t.target_staff === staffId ? incoming : outgoing).push(await this.view(t));
    return { incoming, outgoing };
  }

  /** The request a supervisor acts on, as it stands in this unit (404; 409 stale_fence when a fence is given and is not current). */
  private async supervised(r: Repos, requestId: string, fence: number | undefined): Promise<HeldRequest> {
    const req = await r.custody.request(requestId);
    if (!req) throw notFound('no such request');
    if (fence !== undefined && fence !== req.fence) throw staleFence(fence, req.fence);
    return req;
  }

  /** A supervisor becomes the owner of an assigned request at once. */
  async takeOver(supervisorId: string, requestId: string, fence: number | undefined): Promise<RequestView> {
    const m = await this.ctx.data.tx(async (r) => {
      const req = await this.supervised(r, requestId, fence);
      if (req.state !== 'assigned')
        throw conflict(`only an assigned request can be taken over (it is ${req.state})`);
      if (req.agent_id === supervisorId) throw conflict('you already hold this request');
      if ((await r.custody.holding(supervisorId)).assigned)
        throw targetUnavailable('finish your current request before taking over another');
      // After the request the supervisor returns to where they were (the board), not to Available.
      await this.pipeline.agents.rememberReturnIn(r, supervisorId);
      return await this.handOver(r, req, {
        kind: 'take_over',
        by: supervisorId,
        from: req.agent_id,
        to: 'assigned',
        target: { kind: 'supervisor', staffId: supervisorId, queueId: null },
        how: 'taken_over',
        reason: 'taken_over',
        action: 'supervisor.take_over',
        data: (toFence) => ({ from: req.agent_id, fromFence: req.fence, toFence }),
      });
    });
    await this.afterMove(m, [supervisorId, m.t.from_staff!]);
    await this.announce(m.t);
    return await this.pipeline.requestViewOf(requestId);
  }

  /** A supervisor offers a request (assigned, offered or waiting) to another agent under a new fence. */
  async reassign(
    supervisorId: string,
    requestId: string,
    staffId: string,
    fence: number | undefined,
  ): Promise<TransferView> {
    const out = await this.ctx.data.tx(async (r) => {
      const req = await this.supervised(r, requestId, fence);
      if (req.state !== 'assigned' && req.state !== 'offered' && req.state !== 'waiting')
        throw conflict(`a ${req.state} request cannot be reassigned`);
      if (req.agent_id === staffId) throw targetUnavailable('that agent already holds this request');
      const kind = (await r.transfers.staff(staffId))?.role === 'agent' ? 'agent' : 'supervisor';
      await this.checkPersonTarget(r, supervisorId, staffId, kind, req);
      const m = await this.handOver(r, req, {
        kind: 'reassign',
        by: supervisorId,
        from: req.state === 'assigned' ? req.agent_id : null,
        to: 'offered',
        target: { kind, staffId, queueId: null },
        reason: 'reassigned',
        action: 'supervisor.reassign',
        data: (toFence) => ({ from: req.agent_id, to: staffId, fromFence: req.fence, toFence }),
      });
      return { m, previous: req.agent_id };
    });
    await this.afterMove(out.m, [staffId, ...(out.previous ? [out.previous] : [])]);
    return await this.announce(out.m.t);
  }

  /**
   * Warm consults past their expiry, and consults whose request moved on without them
   * (completed, abandoned, transferred, taken over: no longer held under the consult's
   * fence), so the target never sees a stale offer for more than a sweep (1 s).
   */
  async sweep(): Promise<void> {
    if (!(await this.ctx.data.read.transfers.anyOpen())) return; // nothing to sweep: no unit at all
    const closed = await this.ctx.data.tx(async (r) => {
      const now = this.now();
      const expired = await r.transfers.expireDue(now);
      const orphaned = await r.transfers.cancelOrphans(now);
      await this.auditClosed(r, expired, 'the offer expired');
      await this.auditClosed(r, orphaned, 'the request moved on');
      return [...expired, ...orphaned];
    });
    for (const t of closed) await this.announce(t);
  }
}
