import { EventEmitter } from 'node:events';
import {
  COMMAND_LEVELS,
  COMMAND_MAX_JSON,
  COMMAND_TTL,
  COMMAND_TYP,
  CONFIRM_SIGNATURE_TYP,
  CommandClaims,
  confirmCanonical,
  type CommandOf,
  type CommandOutcome,
  type CommandResultView,
  type CommandState,
  type ConfirmReceipt,
  type CommandView,
  type CreateCommandRequest,
  type DeviceCommand,
  type RequestCommands,
  type ServerFrame,
  type SignedCommand,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, forbidden, DomainError, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { Authentications } from '../identity/authentications.ts';
import { verifyDeviceJws } from '../identity/device-keys.ts';
import type { DevicePrincipal, Devices } from '../identity/devices.ts';
import { checkPhoto, type PhotoFactor } from '../identity/photos.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Repos } from '../store/repos/index.ts';
import type { CommandFilter, CommandRow, NewCommand } from '../store/repos/commands.ts';
import type { RequestRow } from '../store/repos/requests.ts';
import type { SessionRow } from '../store/repos/sessions.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { StaffPrincipal } from '../staff/staff-accounts.ts';
import { checkResultShape, invalidResult } from './command-results.ts';
import type { Confirmations } from './confirmations.ts';

type CancelReason = Extract<ServerFrame, { type: 'command.cancelled' }>['reason'];

export interface RelayEvents {
  /** A frame for the device sockets following this service session. */
  device: [sessionId: string, frame: ServerFrame];
  /** A frame for these staff members' sockets. */
  staff: [staffIds: string[], frame: ServerFrame];
}

const expired = () => new DomainError('gone', 'command_expired', 'the command has expired');
const replayed = (seq: number, fence: number) =>
  new DomainError('conflict', 'command_replayed', `seq ${seq} was already used under fence ${fence}`);
const finalAlready = (state: string) =>
  new DomainError('conflict', 'command_final', `the command already has its final answer (${state})`);

/**
 * The relay of remote control: agent -> authority -> device commands. Every hop is authorised: the agent
 * must hold the request's current lease (fence), the request's authentication must
 * reach the kind's level, the customer must not have stopped control, the session must
 * be alive; seq numbers strictly increase per request and fence. The device receives a
 * JWS signed by the authority and answers once, with its own device proof; each
 * command is single-use, time-limited, persisted and audited.
 *
 * Units of work: a command is signed first (CPU work, outside any unit), then ONE unit
 * checks everything again (holder and fence on the request row, locked on PostgreSQL;
 * session; stop; level; seq) and inserts it with its audit row, so a transfer that
 * commits in between is seen and the stale holder's command never goes in. Frames to
 * devices and agents are emitted after the unit resolved.
 */
export class CommandRelay extends EventEmitter<RelayEvents> {
  constructor(
    private readonly ctx: Ctx,
    private readonly keys: SigningKeys,
    private readonly pipeline: Pipeline,
    private readonly sessions: ServiceSessions,
    private readonly devices: Devices,
    private readonly authentications: Authentications,
    private readonly photos: PhotoFactor,
    private readonly confirmations: Confirmations,
  ) {
    super();
    // Durable (outbox): the session's open commands are cancelled in the consumer's unit, even after a crash.
    ctx.events.subscribe('relay.session-ended', ['session.ended'], (r, e) =>
      this.onSessionEnded(r, e.payload.sessionId),
    );
    // Durable (outbox): ownership left a fence (transfer, take-over, reassign): that holder's open commands end.
    ctx.events.subscribe('relay.request-moved', ['request.moved'], (r, e) =>
      this.onMoved(r, e.payload.requestId, e.payload.fromFence),
    );
  }

  /** Consumer of `request.moved`: the old fence's open commands cancelled and audited in its unit, told after it. */
  private async onMoved(
    r: Repos,
    requestId: string,
    fence: number,
  ): Promise<(() => Promise<void>) | undefined> {
    const rows = await this.cancelOpenIn(r, { requestId, fence }, 'transferred');
    for (const c of rows)
      await r.audit.append({
        actor: 'system',
        action: 'command.cancel',
        subject: `request:${c.request_id}`,
        outcome: 'success',
        reason: 'transferred',
        data: { commandId: c.id },
      });
    return rows.length ? () => this.announceCancelled(rows, 'transferred') : undefined;
  }

  /** Consumer of the `session.ended` event (events/): open commands cancelled and audited in its unit, told after it. */
  private async onSessionEnded(r: Repos, sessionId: string): Promise<(() => Promise<void>) | undefined> {
    const rows = await this.cancelOpenIn(r, { sessionId }, 'request_ended');
    for (const c of rows)
      await r.audit.append({
        actor: 'system',
        action: 'command.cancel',
        subject: `request:${c.request_id}`,
        outcome: 'success',
        reason: 'request_ended',
        data: { commandId: c.id },
      });
    return rows.length ? () => this.announceCancelled(rows, 'request_ended') : undefined;
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  /** Background work of a listener: its failure is logged, never unhandled. */
  private background(what: string, work: Promise<unknown>): void {
    work.catch((e: unknown) => console.error(`relay: ${what} failed:`, e));
  }

  view(c: CommandRow): CommandView {
    const lapsed = (c.state === 'pending' || c.state === 'shown') && c.expires_at <= this.now();
    return {
      commandId: c.id,
      requestId: c.request_id,
      agentId: c.agent_id,
      fence: c.fence,
      seq: c.seq,
      revision: c.revision,
      command: JSON.parse(c.command) as DeviceCommand,
      state: lapsed ? 'expired' : c.state,
      createdAt: iso(c.created_at),
      expiresAt: iso(c.expires_at),
      shownAt: c.shown_at === null ? null : iso(c.shown_at),
      finishedAt: lapsed ? iso(c.expires_at) : c.finished_at === null ? null : iso(c.finished_at),
      result: c.result === null ? null : (JSON.parse(c.result) as CommandResultView),
      reason: lapsed ? 'expired' : c.reason,
    };
  }

  /** The agents who see a command's updates: its sender and the request's current holder (committed). */
  private async tellStaff(c: CommandRow, frame?: ServerFrame): Promise<void> {
    const holder = (await this.ctx.data.read.requests.get(c.request_id))?.agent_id;
    this.tellStaffOf(c, holder ? [holder] : [], frame);
  }

  /** tellStaff when the request's holder is known (`holders`: it, or none). */
  private tellStaffOf(c: CommandRow, holders: string[], frame?: ServerFrame): void {
    const to = [...new Set([c.agent_id, ...holders])];
    this.emit('staff', to, frame ?? { type: 'command.update', command: this.view(c) });
  }

  /**
   * A fresh verification: when the request's verification has expired and this device stepped up
   * with `factor` on its own live authentication since the command, the request follows that
   * authentication from now on (audited as request.reverified). Inside the caller's unit.
   */
  private async reverifyIn(
    r: Repos,
    p: DevicePrincipal,
    req: RequestRow,
    factor: string,
    since: number,
  ): Promise<RequestRow> {
    const current = await r.authentications.get(req.authentication_id);
    if (current && this.authentications.isLive(current)) return req;
    const fresh = p.authentication;
    if (
      fresh.id === req.authentication_id ||
      p.device.id !== req.device_id ||
      p.device.customer_id !== req.customer_id ||
      !this.authentications.isLive(fresh)
    )
      return req;
    if ((await r.commands.stepUpSince(fresh.id, factor, since)) === undefined) return req;
    if (!(await r.commands.rebindAuthentication(req.id, req.authentication_id, fresh.id))) return req;
    await r.audit.append({
      actor: `device:${p.device.id}`,
      action: 'request.reverified',
      subject: `request:${req.id}`,
      outcome: 'success',
      reason: `expired authentication ${req.authentication_id} replaced by ${fresh.id} (${factor})`,
    });
    return { ...req, authentication_id: fresh.id };
  }

  /** The request, if `staffId` holds its assignment under `fence` (locked until `r`'s unit ends). */
  private async holderIn(r: Repos, staffId: string, requestId: string, fence: number): Promise<RequestRow> {
    return checkHolder(await r.commands.lockRequest(requestId), staffId, fence);
  }

  /**
   * Everything that must hold for `staffId` to command the device of `requestId` now, read
   * in the sending unit: the request (locked until the unit ends), its session, and the
   * sender's display name (signed into the command).
   */
  private async authorise(
    r: Repos,
    staffId: string,
    requestId: string,
    req: CreateCommandRequest,
  ): Promise<{ row: RequestRow; session: SessionRow; agentName: string }> {
    const row = await this.holderIn(r, staffId, requestId, req.fence);
    // read once the request is locked (a unit sending under it meanwhile has committed)
    const facts = await r.commands.sendFacts(row.id, row.fence, staffId);
    const s = await r.commands.session(row.session_id);
    if (!s || (await this.sessions.deadReasonIn(r, s)))
      throw new DomainError('gone', 'session_ended', 'the service session has ended');
    if (!row.device_id)
      throw new DomainError('conflict', 'conflict', 'this request has no device to command');
    if (facts.stoppedAt !== null)
      throw new DomainError(
        'conflict',
        'control_stopped',
        'the customer stopped remote control for this request',
      );
    const kind = req.command.kind;
    const auth = await r.authentications.get(row.authentication_id);
    const expired = !!auth && !this.authentications.isLive(auth);
    const level = this.authentications.effectiveLevel(auth);
    // An expired verification can always be asked to be done again (a fresh step-up on a new authentication).
    if (level < COMMAND_LEVELS[kind] && !(expired && kind === 'verify'))
      throw new DomainError(
        'forbidden',
        'level_too_low',
        expired
          ? `a ${kind} command needs assurance level ${COMMAND_LEVELS[kind]}: the customer's verification has expired`
          : `a ${kind} command needs assurance level ${COMMAND_LEVELS[kind]} (the customer is at ${level})`,
        { required: COMMAND_LEVELS[kind], current: level },
      );
    const last = facts.lastSeq;
    if (req.seq <= last) {
      throw (await r.commands.seqUsed(row.id, row.fence, req.seq))
        ? replayed(req.seq, row.fence)
        : new DomainError('conflict', 'seq_out_of_order', `seq ${req.seq} is not greater than ${last}`, {
            lastSeq: last,
          });
    }
    return { row, session: s, agentName: facts.agentName ?? 'Agent' };
  }

  private async checkKind(r: Repos, req: RequestRow, cmd: DeviceCommand): Promise<void> {
    if (JSON.stringify(cmd).length > COMMAND_MAX_JSON)
      throw badRequest(`a command is at most ${COMMAND_MAX_JSON} bytes of JSON`);
    if (cmd.kind !== 'verify') return;
    const unavailable = (m: string) => new DomainError('conflict', 'factor_unavailable', m);
    if (cmd.payload.factor === 'biometric') {
      if (!(await r.commands.hasBiometric(req.device_id!)))
        throw unavailable('the customer has no biometric registered on this device');
    } else {
      const pin = await r.commands.pinLock(req.customer_id);
      if (!pin) throw unavailable('the customer has no PIN');
      if (pin.locked_until !== null && pin.locked_until > this.now())
        throw unavailable("the customer's PIN is locked");
    }
  }

  private sign(
    c: Pick<
      CommandRow,
      | 'id'
      | 'revision'
      | 'request_id'
      | 'session_id'
      | 'device_id'
      | 'agent_id'
      | 'fence'
      | 'seq'
      | 'command'
      | 'expires_at'
    >,
    agentName: string,
  ): string {
    const claims: CommandClaims = {
      iss: 'verified-desk',
      jti: `${c.id}.${c.revision}`,
      cid: c.id,
      rid: c.request_id,
      sid: c.session_id,
      dev: c.device_id,
      agt: c.agent_id,
      agn: agentName,
      fence: c.fence,
      seq: c.seq,
      rev: c.revision,
      cmd: JSON.parse(c.command) as DeviceCommand,
      iat: Math.floor(this.now() / 1000),
      exp: Math.floor(c.expires_at / 1000),
    };
    return this.keys.signExact(CommandClaims.parse(claims), COMMAND_TYP);
  }

  private async agentName(staffId: string): Promise<string> {
    return (await this.ctx.data.read.commands.agentName(staffId)) ?? 'Agent';
  }

  async send(staffId: string, requestId: string, req0: CreateCommandRequest): Promise<CommandView> {
    // ONE unit decides and writes: everything is checked on the request row as it is now
    // (locked until the commit: a transfer cannot move the fence meanwhile), then the
    // command is signed and goes in with its audit row, or nothing does. Signing inside
    // keeps the unit open for one ES256 signature (about 40 µs); checking on committed
    // data first, to sign outside, read everything twice (on PostgreSQL about 1 ms).
    const out = await this.ctx.data.tx(async (r) => {
      const { row: request, session, agentName } = await this.authorise(r, staffId, requestId, req0);
      await this.checkKind(r, request, req0.command);
      // A confirmation carries the debited account and a nonce the factor given on the device binds to.
      const command =
        req0.command.kind === 'confirm'
          ? await this.confirmations.forDeviceIn(r, request.customer_id, request.device_id!, req0.command)
          : req0.command;
      const now = this.now();
      const ttl = (req0.ttlSeconds ?? COMMAND_TTL.defaultSeconds) * 1000;
      const draft: Omit<NewCommand, 'jws'> = {
        id: randomId(16),
        request_id: request.id,
        session_id: request.session_id,
        device_id: request.device_id!,
        agent_id: staffId,
        fence: request.fence,
        seq: req0.seq,
        kind: command.kind,
        command: JSON.stringify(command),
        created_at: now,
        expires_at: Math.min(now + ttl, session.absolute_expires_at),
      };
      const row = await r.commands.insert({ ...draft, jws: this.sign({ ...draft, revision: 1 }, agentName) });
      if (!row) throw replayed(req0.seq, draft.fence);
      const superseded =
        row.kind === 'end'
          ? await r.commands.cancelOpen({ requestId: row.request_id, exceptId: row.id }, 'superseded', now)
          : [];
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'command.send',
        subject: `request:${row.request_id}`,
        outcome: 'success',
        data: { commandId: row.id, kind: row.kind, fence: row.fence, seq: row.seq },
      });
      return { row, superseded, sendFrame: await this.frameIn(r, row) };
    });
    await this.announceCancelled(out.superseded, 'superseded');
    out.sendFrame();
    // the sender held the request when the unit committed: no need to read its holder
    this.tellStaffOf(out.row, [staffId]);
    return this.view(out.row);
  }

  /** A staff member's view of a request's commands: its current holder, or a supervisor/admin. */
  async list(p: StaffPrincipal, requestId: string): Promise<RequestCommands> {
    const read = this.ctx.data.read;
    const r = await read.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (p.staff.role === 'agent' && r.agent_id !== p.staff.id) throw forbidden('this request is not yours');
    const { stoppedAt, changedAt } = await read.commands.control(r.id);
    return {
      requestId: r.id,
      fence: r.fence,
      lastSeq: await read.commands.lastSeq(r.id, r.fence),
      control: {
        stopped: stoppedAt !== null,
        stoppedAt: stoppedAt === null ? null : iso(stoppedAt),
        changedAt: changedAt === null ? null : iso(changedAt),
      },
      commands: (await read.commands.ofRequest(r.id)).map((c) => this.view(c)),
    };
  }

  /** An open command of a request the caller holds under `fence`, read through `r`. */
  private async ownOpen(r: Repos, staffId: string, commandId: string, fence: number): Promise<CommandRow> {
    const c = await r.commands.get(commandId);
    if (!c) throw notFound('no such command');
    await this.holderIn(r, staffId, c.request_id, fence);
    if (c.fence !== fence)
      throw new DomainError('forbidden', 'not_assigned', 'this command was sent under another fence');
    if (c.state !== 'pending' && c.state !== 'shown') throw finalAlready(c.state);
    if (c.expires_at <= this.now()) throw expired();
    return c;
  }

  async updateMenu(
    staffId: string,
    commandId: string,
    body: { fence: number; title?: string; items: { id: string; label: string }[] },
  ): Promise<CommandView> {
    const c0 = await this.ownOpen(this.ctx.data.read, staffId, commandId, body.fence);
    if (c0.kind !== 'menu') throw badRequest('only a menu command can be edited');
    const old = JSON.parse(c0.command) as CommandOf<'menu'>;
    const command = JSON.stringify({
      kind: 'menu',
      payload: { title: body.title ?? old.payload.title, items: body.items },
    } satisfies CommandOf<'menu'>);
    const jws = this.sign({ ...c0, command, revision: c0.revision + 1 }, await this.agentName(staffId));
    const updated = await this.ctx.data.tx(async (r) => {
      await this.ownOpen(r, staffId, commandId, body.fence);
      const row = await r.commands.revise(commandId, c0.revision, command, jws, this.now());
      if (!row) return undefined;
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'command.menu_update',
        subject: `request:${row.request_id}`,
        outcome: 'success',
        data: { commandId, revision: row.revision, items: body.items.length },
      });
      return { row, sendFrame: await this.frameIn(r, row) };
    });
    if (!updated) throw new DomainError('conflict', 'conflict', 'the menu was changed meanwhile: try again');
    updated.sendFrame();
    await this.tellStaff(updated.row);
    return this.view(updated.row);
  }

  /**
   * The device's frame of command `row`, written in unit `r`; returns what to do once the
   * unit has committed. With many nodes (a shared bus) the frame is a `hub.frame` outbox
   * event in the unit itself: it commits with the command, before the agent is answered,
   * and every node (this one too) sends it to the device's sockets in outbox order
   * (ws/node-frames.ts). The agent's next command, whichever node it reaches, is written
   * after it, so the device gets commands in (fence, seq) order (it refuses one below the
   * last it executed). With one node the frame goes to the hub after the commit.
   */
  private async frameIn(r: Repos, row: CommandRow): Promise<() => void> {
    const frame = { type: 'command' as const, commandId: row.id, jws: row.jws };
    if (!this.ctx.events.shared) return () => this.emit('device', row.session_id, frame);
    await r.outbox.emit('hub.frame', { sessionId: row.session_id, frame });
    return () => undefined;
  }

  async cancel(staffId: string, commandId: string, fence: number): Promise<CommandView> {
    const { rows, id } = await this.ctx.data.tx(async (r) => {
      const c = await this.ownOpen(r, staffId, commandId, fence);
      const rows = await r.commands.cancelOpen({ id: c.id }, 'cancelled');
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'command.cancel',
        subject: `request:${c.request_id}`,
        outcome: 'success',
        data: { commandId },
      });
      return { rows, id: c.id };
    });
    await this.announceCancelled(rows, 'cancelled');
    return this.view(rows[0] ?? (await this.ctx.data.read.commands.get(id))!);
  }

  /**
   * Cancel the open commands matching `f` inside the caller's unit (no frames yet: after
   * the unit resolved, hand the rows to announceCancelled).
   */
  cancelOpenIn(r: Repos, f: CommandFilter, reason: CancelReason): Promise<CommandRow[]> {
    return r.commands.cancelOpen(f, reason, this.now());
  }

  /** Tell the devices and the agents about commands cancelled in a unit that has resolved. */
  async announceCancelled(rows: readonly CommandRow[], reason: CancelReason): Promise<void> {
    for (const c of rows) {
      this.emit('device', c.session_id, {
        type: 'command.cancelled',
        commandId: c.id,
        requestId: c.request_id,
        reason,
      });
      await this.tellStaff(c);
    }
  }

  /** Cancel the open commands matching `f` (a unit of its own); the device and the agents are told. */
  async cancelOpen(f: CommandFilter, reason: CancelReason): Promise<string[]> {
    const rows = await this.ctx.data.tx((r) => this.cancelOpenIn(r, f, reason));
    await this.announceCancelled(rows, reason);
    return rows.map((c) => c.id);
  }

  /** Ownership left `fence`: the old holder's open commands end (what onMoved does in its unit). */
  ownershipMovedIn(r: Repos, requestId: string, fence: number): Promise<CommandRow[]> {
    return this.cancelOpenIn(r, { requestId, fence }, 'transferred');
  }

  /** Commands past their expiry: marked, the device and the agents told. */
  async sweep(): Promise<void> {
    const now = this.now();
    const rows = await this.ctx.data.tx((r) => r.commands.expireDue(now));
    await this.announceCancelled(rows, 'expired');
  }

  // ---- device side --------------------------------------------------------

  /** Open requests of this device whose control the customer stopped. */
  async stoppedFor(p: DevicePrincipal): Promise<{ requestId: string; stoppedAt: string }[]> {
    return (await this.ctx.data.read.commands.stoppedForDevice(p.device.id)).map((x) => ({
      requestId: x.request_id,
      stoppedAt: iso(x.stopped_at),
    }));
  }

  async pending(p: DevicePrincipal): Promise<SignedCommand[]> {
    return (await this.ctx.data.read.commands.openForDevice(p.device.id, this.now())).map((c) => ({
      commandId: c.id,
      jws: c.jws,
    }));
  }

  private async deviceOwn(r: Repos, p: DevicePrincipal, commandId: string): Promise<CommandRow> {
    const c = await r.commands.get(commandId);
    if (!c || c.device_id !== p.device.id) throw notFound('no such command');
    return c;
  }

  /** Why an open-state write found nothing: expired (410) or already final (409). */
  private refusal(c: CommandRow, what: 'ack' | 'result'): DomainError {
    if (
      c.state === 'expired' ||
      ((c.state === 'pending' || c.state === 'shown') && c.expires_at <= this.now())
    )
      return expired();
    if (what === 'ack' && c.state === 'shown')
      return new DomainError('conflict', 'already_acknowledged', 'the command was already acknowledged');
    return finalAlready(c.state);
  }

  async ack(
    p: DevicePrincipal,
    commandId: string,
  ): Promise<{ commandId: string; state: CommandState; at: string }> {
    const now = this.now();
    const row = await this.ctx.data.tx(async (r) => {
      // guarded by the device: a command of another device is left alone (then 404 below)
      const shown = await r.commands.transition(commandId, ['pending'], 'shown', {
        at: now,
        liveAt: now,
        deviceId: p.device.id,
      });
      if (!shown) throw this.refusal(await this.deviceOwn(r, p, commandId), 'ack');
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'command.ack',
        subject: `request:${shown.request_id}`,
        outcome: 'success',
        data: { commandId },
      });
      return shown;
    });
    await this.tellStaff(row);
    return { commandId, state: 'shown', at: iso(now) };
  }

  /** Record the one final answer inside `r`'s unit (guarded: open and unexpired); refused: throws. */
  private async finishIn(
    r: Repos,
    p: DevicePrincipal,
    c: CommandRow,
    state: 'done' | 'declined' | 'failed',
    result: CommandResultView | null,
    reason: string | null,
    now: number,
  ): Promise<CommandRow> {
    const done = await r.commands.transition(c.id, ['pending', 'shown'], state, {
      at: now,
      liveAt: now,
      result: result === null ? null : JSON.stringify(result),
      reason,
    });
    if (!done) throw this.refusal((await r.commands.get(c.id))!, 'result');
    await r.audit.append({
      actor: `device:${p.device.id}`,
      action: 'command.result',
      subject: `request:${done.request_id}`,
      outcome: 'success',
      data: { commandId: c.id, kind: c.kind, state, ...(reason ? { reason } : {}) },
    });
    return done;
  }

  /** The final answer in a unit of its own; the agents are told after it. */
  private async finish(
    p: DevicePrincipal,
    c: CommandRow,
    state: 'done' | 'declined' | 'failed',
    result: CommandResultView | null,
    reason: string | null,
  ): Promise<{ commandId: string; state: CommandState; at: string }> {
    const now = this.now();
    const row = await this.ctx.data.tx((r) => this.finishIn(r, p, c, state, result, reason, now));
    await this.tellStaff(row);
    return { commandId: c.id, state, at: iso(now) };
  }

  private assertOpen(c: CommandRow): void {
    if (c.state !== 'pending' && c.state !== 'shown') throw this.refusal(c, 'result');
    if (c.expires_at <= this.now()) throw expired();
  }

  async result(
    p: DevicePrincipal,
    commandId: string,
    outcome: CommandOutcome,
  ): Promise<{ commandId: string; state: CommandState; at: string; receipt?: ConfirmReceipt }> {
    const c = await this.deviceOwn(this.ctx.data.read, p, commandId);
    this.assertOpen(c);
    if (outcome.outcome === 'declined')
      return await this.finish(p, c, 'declined', null, 'declined by the customer');
    if (outcome.outcome === 'failed') return await this.finish(p, c, 'failed', null, outcome.reason);
    const cmd = JSON.parse(c.command) as DeviceCommand;
    const shaped = checkResultShape(cmd, c.revision, outcome.result);
    if (shaped === 'verify') {
      const factor = (cmd as CommandOf<'verify'>).payload.factor;
      const now = this.now();
      // The step-up, the request following a fresh verification and the answer: one unit.
      const out = await this.ctx.data.tx(async (r) => {
        const req = await this.reverifyIn(r, p, (await r.requests.get(c.request_id))!, factor, c.created_at);
        const at = await r.commands.stepUpSince(req.authentication_id, factor, c.created_at);
        if (at === undefined)
          throw new DomainError(
            'conflict',
            'factor_missing',
            `no ${factor} step-up was recorded on this request's authentication since the command`,
          );
        const level = ((await r.authentications.get(req.authentication_id))?.level ?? 0) as 0 | 1 | 2 | 3;
        return await this.finishIn(
          r,
          p,
          c,
          'done',
          { kind: 'verify', factor, level, at: iso(at) },
          null,
          now,
        );
      });
      await this.tellStaff(out);
      return { commandId: c.id, state: 'done', at: iso(now) };
    }
    if (shaped === 'confirm') {
      const signature = (outcome.result as { signature: string }).signature;
      const canonical = confirmCanonical({
        commandId: c.id,
        requestId: c.request_id,
        sessionId: c.session_id,
        deviceId: c.device_id,
        transaction: (cmd as CommandOf<'confirm'>).payload.transaction,
      });
      const ok =
        verifyDeviceJws(this.devices.keyOf(p.device), signature, CONFIRM_SIGNATURE_TYP) === canonical;
      if (!ok)
        throw new DomainError(
          'invalid',
          'signature_invalid',
          'the confirmation is not a signature by this device of this transaction',
        );
      // The user-verifying factor given now, bound to this very transaction (PSD2 dynamic linking).
      const confirm = cmd as CommandOf<'confirm'>;
      const f = await this.confirmations.verifyFactor(
        p,
        c.id,
        confirm,
        (outcome.result as Extract<typeof outcome.result, { kind: 'confirm' }>).factor,
      );
      const at = this.now();
      // The receipt (single use by its challenge) and the answer commit together.
      const out = await this.ctx.data.tx(async (r) => {
        const receipt = await this.confirmations.recordIn(r, p, c, confirm, f, { signature, canonical }, at);
        const row = await this.finishIn(
          r,
          p,
          c,
          'done',
          { kind: 'confirm', signature, canonical, verifiedAt: iso(at), factor: f.factor, receipt },
          null,
          at,
        );
        return { row, receipt };
      });
      await this.tellStaff(out.row);
      return { commandId: c.id, state: 'done', at: iso(at), receipt: out.receipt };
    }
    return await this.finish(p, c, 'done', shaped, null);
  }

  /** A photo (stored as a verification photo, the photo factor once the agent compares it with the enrolment photo) or a screenshot answers its command. */
  async image(
    p: DevicePrincipal,
    commandId: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<{ commandId: string; state: CommandState; at: string }> {
    const type = checkPhoto(mediaType, bytes);
    const c = await this.deviceOwn(this.ctx.data.read, p, commandId);
    if (c.kind !== 'photo' && c.kind !== 'screenshot')
      throw invalidResult(`a ${c.kind} command is answered with POST /v1/device/commands/:commandId/result`);
    this.assertOpen(c);
    const now = this.now();
    // The verification photo and the command's answer commit in one unit; the
    // authentication's change is announced after it resolved.
    const row = await this.ctx.data.tx(async (r) => {
      if (c.kind === 'photo') {
        const stored = await this.photos.storeIn(r, p, 'verification', type, bytes);
        if ('refused' in stored) throw stored.refused;
        const photoId = stored.photoId;
        return await this.finishIn(r, p, c, 'done', { kind: 'photo', photoId }, null, now);
      }
      const imageId = randomId(16);
      await r.commands.insertScreenshot({
        id: imageId,
        customer_id: p.device.customer_id,
        device_id: p.device.id,
        authentication_id: p.authentication.id,
        media_type: type,
        bytes,
        created_at: now,
      });
      return await this.finishIn(r, p, c, 'done', { kind: 'screenshot', imageId }, null, now);
    });
    await this.tellStaff(row);
    return { commandId: c.id, state: 'done', at: iso(now) };
  }

  /** The customer's receipts of confirmed transactions. */
  async receipts(p: DevicePrincipal) {
    return await this.confirmations.list(p);
  }

  async stop(
    p: DevicePrincipal,
    requestId: string,
  ): Promise<{ requestId: string; stoppedAt: string; cancelled: string[] }> {
    const now = this.now();
    const out = await this.ctx.data.tx(async (r) => {
      const req = await this.ownRequestIn(r, p, requestId);
      const stoppedAt = await r.commands.stop(req.id, now);
      const rows = await this.cancelOpenIn(r, { requestId: req.id }, 'control_stopped');
      const cancelled = rows.map((c) => c.id);
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'control.stop',
        subject: `request:${req.id}`,
        outcome: 'success',
        data: { cancelled },
      });
      return { req, stoppedAt, rows, cancelled };
    });
    await this.announceCancelled(out.rows, 'control_stopped');
    await this.tellControl(out.req, true, out.stoppedAt, out.cancelled);
    return { requestId: out.req.id, stoppedAt: iso(out.stoppedAt), cancelled: out.cancelled };
  }

  async resume(p: DevicePrincipal, requestId: string): Promise<{ requestId: string; resumedAt: string }> {
    const now = this.now();
    const req = await this.ctx.data.tx(async (r) => {
      const req = await this.ownRequestIn(r, p, requestId);
      await r.commands.resume(req.id, now);
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'control.resume',
        subject: `request:${req.id}`,
        outcome: 'success',
      });
      return req;
    });
    await this.tellControl(req, false, now, []);
    return { requestId: req.id, resumedAt: iso(now) };
  }

  /** The device's own request (404 otherwise). */
  private async ownRequestIn(r: Repos, p: DevicePrincipal, requestId: string): Promise<RequestRow> {
    const req = await r.requests.get(requestId);
    if (!req || req.device_id !== p.device.id) throw notFound('no such request');
    return req;
  }

  private async tellControl(r: RequestRow, stopped: boolean, at: number, cancelled: string[]): Promise<void> {
    const senders = await this.ctx.data.read.commands.senders(r.id);
    const to = [...new Set([...(r.agent_id ? [r.agent_id] : []), ...senders])];
    this.emit('staff', to, { type: 'control.state', requestId: r.id, stopped, at: iso(at), cancelled });
  }
}
