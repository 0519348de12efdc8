import { EventEmitter } from 'node:events';
import {
  WARM_TRANSFER_SECONDS,
  type CustodyHow,
  type RequestView,
  type TransferRequest,
  type TransferState,
  type TransferView,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import { requireHolder, staleFence } from './ownership.ts';
import type { Pipeline } from './pipeline.ts';
import type { RequestRow } from './requests.ts';

interface TransferRow {
  id: string;
  request_id: string;
  kind: 'transfer' | 'take_over' | 'reassign';
  mode: 'blind' | 'warm';
  by_staff: string;
  from_staff: string | null;
  target_kind: 'agent' | 'supervisor' | 'queue';
  target_staff: string | null;
  target_queue: string | null;
  state: TransferState;
  note: string | null;
  from_fence: number;
  to_fence: number | null;
  created_at: number;
  expires_at: number | null;
  resolved_at: number | null;
}

interface StaffRow {
  id: string;
  display_name: string;
  role: 'agent' | 'supervisor' | 'admin';
  disabled_at: number | null;
}

export interface TransferEvents {
  /** A transfer changed: tell these staff members. */
  update: [view: TransferView, staffIds: string[]];
  /** Ownership of the request left `fromFence` (the old holder's open commands end). */
  moved: [requestId: string, fromFence: number];
}

const targetUnavailable = (message: string) => new DomainError('conflict', 'target_unavailable', message);
const transferClosed = (message: string) => new DomainError('conflict', 'transfer_closed', message);

/**
 * Transfers (blind or warm, to a person or a queue), supervisor take-over and reassign.
 * Every ownership move is one guarded UPDATE that bumps the fencing number, ends the old
 * lease and opens the new one at the same instant, in one transaction: from that moment
 * the old holder's fence is stale everywhere. The request keeps its authentication and
 * service session (and so its absolute expiry).
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

  private async staff(id: string): Promise<StaffRow | undefined> {
    return this.ctx.db
      .prepare<[string], StaffRow>('SELECT id, display_name, role, disabled_at FROM staff WHERE id = ?')
      .get(id);
  }

  private get(id: string): TransferRow | undefined {
    return this.ctx.db.prepare<[string], TransferRow>('SELECT * FROM transfers WHERE id = ?').get(id);
  }

  private async ref(id: string) {
    return { staffId: id, displayName: (await this.staff(id))?.display_name ?? 'unknown' };
  }

  async view(t: TransferRow): Promise<TransferView> {
    const r = this.pipeline.requests.get(t.request_id)!;
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
      request: this.pipeline.requestView(r),
    };
  }

  private async announce(t: TransferRow): Promise<TransferView> {
    const v = await this.view(t);
    const who = new Set([t.by_staff, t.from_staff, t.target_staff].filter((s): s is string => !!s));
    this.emit('update', v, [...who]);
    return v;
  }

  /** A person who can take the request now: exists, enabled, not the caller, holding no request and no offer. */
  private async checkPersonTarget(
    callerId: string,
    staffId: string,
    kind: 'agent' | 'supervisor',
  ): Promise<StaffRow> {
    const s = await this.staff(staffId);
    if (!s || s.disabled_at !== null) throw notFound('no such staff member');
    if (staffId === callerId) throw targetUnavailable('you cannot transfer a request to yourself');
    if (kind === 'supervisor' && s.role === 'agent')
      throw badRequest('the target of a transfer to a supervisor must have the supervisor or admin role');
    const a = this.pipeline.agents.ensure(staffId);
    // Supervisors are reachable while they watch the board (not "available" for queue offers); agents must be online.
    if (s.role === 'agent' && a.presence === 'offline')
      throw targetUnavailable(`${s.display_name} is offline`);
    if (this.pipeline.requests.assignedTo(staffId))
      throw targetUnavailable(`${s.display_name} is handling another request`);
    if (this.pipeline.requests.offerOf(staffId))
      throw targetUnavailable(`${s.display_name} has an offer pending`);
    return s;
  }

  /** The previous holder is free again (an agent who went offline mid-call stays offline). */
  private release(staffId: string | null): void {
    if (!staffId) return;
    if (this.pipeline.agents.get(staffId)?.presence === 'offline') return;
    this.pipeline.agents.setPresence(staffId, 'available');
  }

  private insert(t: Omit<TransferRow, 'id' | 'created_at'>, at: number): TransferRow {
    const row: TransferRow = { ...t, id: randomId(16), created_at: at };
    this.ctx.db
      .prepare(
        `INSERT INTO transfers (id, request_id, kind, mode, by_staff, from_staff, target_kind, target_staff, target_queue, state, note, from_fence, to_fence, created_at, expires_at, resolved_at)
         VALUES (@id, @request_id, @kind, @mode, @by_staff, @from_staff, @target_kind, @target_staff, @target_queue, @state, @note, @from_fence, @to_fence, @created_at, @expires_at, @resolved_at)`,
      )
      .run(row);
    return row;
  }

  /** Open warm consults of a request are void once its ownership moved. */
  private closeConsults(requestId: string, at: number): TransferRow[] {
    return this.ctx.db
      .prepare<[number, string], TransferRow>(
        "UPDATE transfers SET state = 'cancelled', resolved_at = ? WHERE request_id = ? AND state = 'offered' RETURNING *",
      )
      .all(at, requestId);
  }

  /**
   * Offer the request to `staffId` under a new fence (blind transfer, reassign). The old
   * lease (assignment or offer) ends with `reason` at the instant the new offer starts.
   */
  private moveToOffer(r: RequestRow, staffId: string, reason: string, at: number): number {
    const expires = at + this.ctx.config.offerTimeoutSeconds * 1000;
    const row = this.ctx.db
      .prepare<[string, number, string, string, number], { fence: number }>(
        "UPDATE requests SET state = 'offered', fence = fence + 1, agent_id = ?, offer_expires_at = ? WHERE id = ? AND state = ? AND fence = ? RETURNING fence",
      )
      .get(staffId, expires, r.id, r.state, r.fence);
    if (!row) throw conflict('the request changed meanwhile: try again');
    if (r.state !== 'waiting')
      this.pipeline.endLease(r.id, r.fence, r.state === 'assigned' ? 'assignment' : 'offer', reason, at);
    this.ctx.db
      .prepare(
        "INSERT INTO leases (request_id, fence, kind, agent_id, started_at) VALUES (?, ?, 'offer', ?, ?)",
      )
      .run(r.id, row.fence, staffId, at);
    return row.fence;
  }

  /** Assign the request to `staffId` under a new fence (warm accept, take-over). */
  private moveToAssignment(
    r: RequestRow,
    staffId: string,
    how: CustodyHow,
    reason: string,
    at: number,
  ): number {
    const row = this.ctx.db
      .prepare<[string, string, string, number], { fence: number }>(
        "UPDATE requests SET agent_id = ?, fence = fence + 1 WHERE id = ? AND state = 'assigned' AND agent_id = ? AND fence = ? RETURNING fence",
      )
      .get(staffId, r.id, r.agent_id!, r.fence);
    if (!row) throw conflict('the request changed meanwhile: try again');
    this.pipeline.endLease(r.id, r.fence, 'assignment', reason, at);
    this.ctx.db
      .prepare(
        "INSERT INTO leases (request_id, fence, kind, agent_id, started_at) VALUES (?, ?, 'assignment', ?, ?)",
      )
      .run(r.id, row.fence, staffId, at);
    this.pipeline.custody.open(r.id, staffId, row.fence, how, at);
    this.pipeline.agents.ensure(staffId);
    this.pipeline.agents.setPresence(staffId, 'busy');
    this.pipeline.agents.touch(staffId);
    return row.fence;
  }

  private audit(actor: string, action: string, requestId: string, data: Record<string, unknown>): void {
    this.ctx.audit.append({
      actor: `staff:${actor}`,
      action,
      subject: `request:${requestId}`,
      outcome: 'success',
      data,
    });
  }

  private async afterMove(
    t: TransferRow,
    fromFence: number,
    agentIds: string[],
    consults: TransferRow[],
  ): Promise<void> {
    this.emit('moved', t.request_id, fromFence);
    for (const c of consults) await this.announce(c);
    this.pipeline.notify([t.request_id], agentIds);
    const r = this.pipeline.requests.get(t.request_id)!;
    if (r.state === 'offered' && r.agent_id) this.pipeline.emit('offer', r.agent_id, r.id);
  }

  async transfer(staffId: string, requestId: string, req: TransferRequest): Promise<TransferView> {
    const r = requireHolder(this.pipeline.requests, staffId, requestId, req.fence);
    const at = this.now();
    const base = {
      request_id: r.id,
      kind: 'transfer' as const,
      mode: req.mode,
      by_staff: staffId,
      from_staff: staffId,
      note: req.note ?? null,
      from_fence: r.fence,
    };
    if (req.target.kind === 'queue') {
      if (req.mode === 'warm')
        throw badRequest('a warm transfer needs a person to talk to: pick an agent or a supervisor');
      const queueId = req.target.queueId;
      if (!this.pipeline.config.queue(queueId)) throw notFound(`no queue "${queueId}"`);
      let consults: TransferRow[] = [];
      const t = this.ctx.db.transaction(() => {
        // Back to waiting in the target queue, new fence; enqueued_at and priority kept, so it is near the front.
        const row = this.ctx.db
          .prepare<[string, string, string, number], { fence: number }>(
            "UPDATE requests SET state = 'waiting', fence = fence + 1, agent_id = NULL, offer_expires_at = NULL, queue_id = ? WHERE id = ? AND state = 'assigned' AND agent_id = ? AND fence = ? RETURNING fence",
          )
          .get(queueId, r.id, staffId, r.fence);
        if (!row) throw conflict('the request changed meanwhile: try again');
        this.pipeline.endLease(r.id, r.fence, 'assignment', 'transferred', at);
        this.release(staffId);
        consults = this.closeConsults(r.id, at);
        return this.insert(
          {
            ...base,
            target_kind: 'queue',
            target_staff: null,
            target_queue: queueId,
            state: 'completed',
            to_fence: row.fence,
            expires_at: null,
            resolved_at: at,
          },
          at,
        );
      })();
      this.audit(staffId, 'transfer.queue', r.id, { queueId, fromFence: r.fence, toFence: t.to_fence });
      await this.afterMove(t, r.fence, [staffId], consults);
      return await this.announce(t);
    }
    const target = req.target;
    await this.checkPersonTarget(staffId, target.staffId, target.kind);
    if (req.mode === 'warm') {
      if (
        this.ctx.db
          .prepare("SELECT 1 FROM transfers WHERE target_staff = ? AND state = 'offered' AND expires_at > ?")
          .get(target.staffId, at)
      )
        throw targetUnavailable('that person is already considering another transfer');
      const t = this.insert(
        {
          ...base,
          target_kind: target.kind,
          target_staff: target.staffId,
          target_queue: null,
          state: 'offered',
          to_fence: null,
          expires_at: at + WARM_TRANSFER_SECONDS * 1000,
          resolved_at: null,
        },
        at,
      );
      this.audit(staffId, 'transfer.warm.offer', r.id, { to: target.staffId, fence: r.fence });
      return await this.announce(t);
    }
    let consults: TransferRow[] = [];
    const t = this.ctx.db.transaction(() => {
      const toFence = this.moveToOffer(r, target.staffId, 'transferred', at);
      this.release(staffId);
      consults = this.closeConsults(r.id, at);
      return this.insert(
        {
          ...base,
          target_kind: target.kind,
          target_staff: target.staffId,
          target_queue: null,
          state: 'completed',
          to_fence: toFence,
          expires_at: null,
          resolved_at: at,
        },
        at,
      );
    })();
    this.audit(staffId, 'transfer.blind', r.id, {
      to: target.staffId,
      fromFence: r.fence,
      toFence: t.to_fence,
    });
    await this.afterMove(t, r.fence, [staffId, target.staffId], consults);
    return await this.announce(t);
  }

  /** An open consult, expired ones marked on the way. */
  private async openConsult(transferId: string): Promise<TransferRow> {
    const t = this.get(transferId);
    if (!t || t.mode !== 'warm') throw notFound('no such transfer');
    if (t.state === 'offered' && t.expires_at !== null && t.expires_at <= this.now()) {
      await this.sweep();
      throw transferClosed('the transfer offer has expired');
    }
    if (t.state !== 'offered') throw transferClosed(`the transfer is ${t.state}`);
    return t;
  }

  async accept(staffId: string, transferId: string): Promise<TransferView> {
    const t0 = await this.openConsult(transferId);
    if (t0.target_staff !== staffId) throw notFound('no such transfer');
    const r = this.pipeline.requests.get(t0.request_id)!;
    if (r.state !== 'assigned' || r.agent_id !== t0.from_staff || r.fence !== t0.from_fence) {
      await this.resolve(t0, 'cancelled');
      throw transferClosed('the request moved on before the transfer was accepted');
    }
    if (this.pipeline.requests.assignedTo(staffId))
      throw targetUnavailable('finish your current request before accepting a transfer');
    const at = this.now();
    let consults: TransferRow[] = [];
    const t = this.ctx.db.transaction(() => {
      const toFence = this.moveToAssignment(r, staffId, 'transfer_warm', 'transferred', at);
      this.release(t0.from_staff);
      this.ctx.db
        .prepare("UPDATE transfers SET state = 'accepted', to_fence = ?, resolved_at = ? WHERE id = ?")
        .run(toFence, at, t0.id);
      consults = this.closeConsults(r.id, at);
      return this.get(t0.id)!;
    })();
    this.audit(staffId, 'transfer.warm.accept', r.id, {
      from: t0.from_staff,
      fromFence: r.fence,
      toFence: t.to_fence,
    });
    await this.afterMove(t, r.fence, [staffId, t0.from_staff!], consults);
    return await this.announce(t);
  }

  private async resolve(t: TransferRow, state: TransferState): Promise<TransferView> {
    const at = this.now();
    const row = this.ctx.db
      .prepare<[TransferState, number, string], TransferRow>(
        "UPDATE transfers SET state = ?, resolved_at = ? WHERE id = ? AND state = 'offered' RETURNING *",
      )
      .get(state, at, t.id);
    if (!row) throw transferClosed('the transfer is no longer open');
    return await this.announce(row);
  }

  async decline(staffId: string, transferId: string): Promise<TransferView> {
    const t = await this.openConsult(transferId);
    if (t.target_staff !== staffId) throw notFound('no such transfer');
    this.audit(staffId, 'transfer.warm.decline', t.request_id, { from: t.from_staff });
    return await this.resolve(t, 'declined');
  }

  async cancel(staffId: string, transferId: string, fence: number): Promise<TransferView> {
    const t = await this.openConsult(transferId);
    if (t.from_staff !== staffId) throw notFound('no such transfer');
    requireHolder(this.pipeline.requests, staffId, t.request_id, fence);
    this.audit(staffId, 'transfer.warm.cancel', t.request_id, { to: t.target_staff });
    return await this.resolve(t, 'cancelled');
  }

  /** Open consults for and from this staff member (stale ones, whose request moved on, are closed on the way). */
  async mine(staffId: string): Promise<{ incoming: TransferView[]; outgoing: TransferView[] }> {
    await this.sweep();
    const rows = this.ctx.db
      .prepare<[string, string], TransferRow>(
        "SELECT * FROM transfers WHERE state = 'offered' AND (target_staff = ? OR from_staff = ?) ORDER BY created_at",
      )
      .all(staffId, staffId);
    const incoming: TransferView[] = [];
    const outgoing: TransferView[] = [];
    for (const t of rows) {
      const r = this.pipeline.requests.get(t.request_id)!;
      if (r.state !== 'assigned' || r.agent_id !== t.from_staff || r.fence !== t.from_fence) {
        await this.resolve(t, 'cancelled');
        continue;
      }
      (t.target_staff === staffId ? incoming : outgoing).push(await this.view(t));
    }
    return { incoming, outgoing };
  }

  /** A supervisor becomes the owner of an assigned request at once. */
  async takeOver(supervisorId: string, requestId: string, fence: number | undefined): Promise<RequestView> {
    const r = this.pipeline.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (fence !== undefined && fence !== r.fence) throw staleFence(fence, r.fence);
    if (r.state !== 'assigned')
      throw conflict(`only an assigned request can be taken over (it is ${r.state})`);
    if (r.agent_id === supervisorId) throw conflict('you already hold this request');
    if (this.pipeline.requests.assignedTo(supervisorId))
      throw targetUnavailable('finish your current request before taking over another');
    const at = this.now();
    let consults: TransferRow[] = [];
    const t = this.ctx.db.transaction(() => {
      // After the request the supervisor returns to where they were (the board), not to Available.
      this.pipeline.agents.rememberReturn(supervisorId);
      const toFence = this.moveToAssignment(r, supervisorId, 'taken_over', 'taken_over', at);
      this.release(r.agent_id);
      consults = this.closeConsults(r.id, at);
      return this.insert(
        {
          request_id: r.id,
          kind: 'take_over',
          mode: 'blind',
          by_staff: supervisorId,
          from_staff: r.agent_id,
          target_kind: 'supervisor',
          target_staff: supervisorId,
          target_queue: null,
          state: 'completed',
          note: null,
          from_fence: r.fence,
          to_fence: toFence,
          expires_at: null,
          resolved_at: at,
        },
        at,
      );
    })();
    this.audit(supervisorId, 'supervisor.take_over', r.id, {
      from: r.agent_id,
      fromFence: r.fence,
      toFence: t.to_fence,
    });
    await this.afterMove(t, r.fence, [supervisorId, r.agent_id!], consults);
    await this.announce(t);
    return this.pipeline.requestView(this.pipeline.requests.get(r.id)!);
  }

  /** A supervisor offers a request (assigned, offered or waiting) to another agent under a new fence. */
  async reassign(
    supervisorId: string,
    requestId: string,
    staffId: string,
    fence: number | undefined,
  ): Promise<TransferView> {
    const r = this.pipeline.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (fence !== undefined && fence !== r.fence) throw staleFence(fence, r.fence);
    if (r.state !== 'assigned' && r.state !== 'offered' && r.state !== 'waiting')
      throw conflict(`a ${r.state} request cannot be reassigned`);
    if (r.agent_id === staffId) throw targetUnavailable('that agent already holds this request');
    const target = await this.staff(staffId);
    await this.checkPersonTarget(supervisorId, staffId, target?.role === 'agent' ? 'agent' : 'supervisor');
    const at = this.now();
    let consults: TransferRow[] = [];
    const t = this.ctx.db.transaction(() => {
      const toFence = this.moveToOffer(r, staffId, 'reassigned', at);
      if (r.state === 'assigned') this.release(r.agent_id);
      consults = this.closeConsults(r.id, at);
      return this.insert(
        {
          request_id: r.id,
          kind: 'reassign',
          mode: 'blind',
          by_staff: supervisorId,
          from_staff: r.state === 'assigned' ? r.agent_id : null,
          target_kind: target?.role === 'agent' ? 'agent' : 'supervisor',
          target_staff: staffId,
          target_queue: null,
          state: 'completed',
          note: null,
          from_fence: r.fence,
          to_fence: toFence,
          expires_at: null,
          resolved_at: at,
        },
        at,
      );
    })();
    this.audit(supervisorId, 'supervisor.reassign', r.id, {
      from: r.agent_id,
      to: staffId,
      fromFence: r.fence,
      toFence: t.to_fence,
    });
    await this.afterMove(t, r.fence, [staffId, ...(r.agent_id ? [r.agent_id] : [])], consults);
    return await this.announce(t);
  }

  /**
   * Warm consults past their expiry, and consults whose request moved on without them
   * (completed, abandoned, transferred, taken over: no longer held under the consult's
   * fence), so the target never sees a stale offer for more than a sweep (1 s).
   */
  async sweep(): Promise<void> {
    const now = this.now();
    const expired = this.ctx.db
      .prepare<[number, number], TransferRow>(
        "UPDATE transfers SET state = 'expired', resolved_at = ? WHERE state = 'offered' AND expires_at <= ? RETURNING *",
      )
      .all(now, now);
    const orphaned = this.ctx.db
      .prepare<[number], TransferRow>(
        `UPDATE transfers SET state = 'cancelled', resolved_at = ? WHERE state = 'offered' AND mode = 'warm'
         AND NOT EXISTS (SELECT 1 FROM requests r WHERE r.id = transfers.request_id AND r.state = 'assigned' AND r.fence = transfers.from_fence)
         RETURNING *`,
      )
      .all(now);
    for (const t of [...expired, ...orphaned]) await this.announce(t);
  }
}
