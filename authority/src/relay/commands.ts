import { EventEmitter } from 'node:events';
import { compactVerify } from 'jose';
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
import type { DevicePrincipal, Devices } from '../identity/devices.ts';
import { checkPhoto, type PhotoFactor } from '../identity/photos.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import { requireHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { RequestRow } from '../pipeline/requests.ts';
import type { ServiceSessions } from '../sessions/service-sessions.ts';
import type { StaffPrincipal } from '../staff/staff-accounts.ts';
import { checkResultShape, invalidResult } from './command-results.ts';
import type { Confirmations } from './confirmations.ts';

interface CommandRow {
  id: string;
  request_id: string;
  session_id: string;
  device_id: string;
  agent_id: string;
  fence: number;
  seq: number;
  kind: DeviceCommand['kind'];
  command: string;
  revision: number;
  jws: string;
  state: CommandState;
  created_at: number;
  expires_at: number;
  shown_at: number | null;
  finished_at: number | null;
  result: string | null;
  reason: string | null;
}

type CancelReason = Extract<ServerFrame, { type: 'command.cancelled' }>['reason'];

export interface RelayEvents {
  /** A frame for the device sockets following this service session. */
  device: [sessionId: string, frame: ServerFrame];
  /** A frame for these staff members' sockets. */
  staff: [staffIds: string[], frame: ServerFrame];
}

const OPEN = "state IN ('pending','shown')";

const expired = () => new DomainError('gone', 'command_expired', 'the command has expired');
const finalAlready = (state: string) =>
  new DomainError('conflict', 'command_final', `the command already has its final answer (${state})`);

/**
 * The relay of remote control: agent -> authority -> device commands. Every hop is authorised: the agent
 * must hold the request's current lease (fence), the request's authentication must
 * reach the kind's level, the customer must not have stopped control, the session must
 * be alive; seq numbers strictly increase per request and fence. The device receives a
 * JWS signed by the authority and answers once, with its own device proof; each
 * command is single-use, time-limited, persisted and audited.
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
    sessions.on('ended', (sessionId) => this.cancelWhere('session_id = ?', [sessionId], 'request_ended'));
  }

  private now(): number {
    return this.ctx.clock.now();
  }

  private row(id: string): CommandRow | undefined {
    return this.ctx.db.prepare<[string], CommandRow>('SELECT * FROM device_commands WHERE id = ?').get(id);
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

  /** The agents who see a command's updates: its sender and the request's current holder. */
  private tellStaff(c: CommandRow, frame?: ServerFrame): void {
    const holder = this.pipeline.requests.get(c.request_id)?.agent_id;
    const to = [...new Set([c.agent_id, ...(holder ? [holder] : [])])];
    this.emit('staff', to, frame ?? { type: 'command.update', command: this.view(c) });
  }

  private stoppedAt(requestId: string): number | null {
    return (
      this.ctx.db
        .prepare<[string], { stopped_at: number | null }>(
          'SELECT stopped_at FROM remote_control WHERE request_id = ?',
        )
        .get(requestId)?.stopped_at ?? null
    );
  }

  private lastSeq(requestId: string, fence: number): number {
    return (
      this.ctx.db
        .prepare<[string, number], { m: number | null }>(
          'SELECT max(seq) AS m FROM device_commands WHERE request_id = ? AND fence = ?',
        )
        .get(requestId, fence)?.m ?? 0
    );
  }

  /**
   * A fresh verification: when the request's verification has expired and this device stepped up
   * with `factor` on its own live authentication since the command, the request follows that
   * authentication from now on (audited as request.reverified).
   */
  private async reverify(
    p: DevicePrincipal,
    r: RequestRow,
    factor: string,
    since: number,
  ): Promise<RequestRow> {
    const current = this.authentications.get(r.authentication_id);
    if (current && this.authentications.isLive(current)) return r;
    const fresh = p.authentication;
    if (
      fresh.id === r.authentication_id ||
      p.device.id !== r.device_id ||
      p.device.customer_id !== r.customer_id ||
      !this.authentications.isLive(fresh)
    )
      return r;
    const stepped = this.ctx.db
      .prepare('SELECT 1 FROM factors WHERE authentication_id = ? AND kind = ? AND at >= ?')
      .get(fresh.id, factor, since);
    if (!stepped) return r;
    this.ctx.db.transaction(() => {
      this.ctx.db.prepare('UPDATE requests SET authentication_id = ? WHERE id = ?').run(fresh.id, r.id);
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'request.reverified',
        subject: `request:${r.id}`,
        outcome: 'success',
        reason: `expired authentication ${r.authentication_id} replaced by ${fresh.id} (${factor})`,
      });
    })();
    return this.pipeline.requests.get(r.id)!;
  }

  /** Everything that must hold for `staffId` to command the device of `requestId` now. */
  private authorise(staffId: string, requestId: string, req: CreateCommandRequest): RequestRow {
    const r = requireHolder(this.pipeline.requests, staffId, requestId, req.fence);
    const s = this.sessions.peek(r.session_id);
    if (!s || this.sessions.deadReason(s))
      throw new DomainError('gone', 'session_ended', 'the service session has ended');
    if (!r.device_id) throw new DomainError('conflict', 'conflict', 'this request has no device to command');
    if (this.stoppedAt(r.id) !== null)
      throw new DomainError(
        'conflict',
        'control_stopped',
        'the customer stopped remote control for this request',
      );
    const kind = req.command.kind;
    const auth = this.authentications.get(r.authentication_id);
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
    const last = this.lastSeq(r.id, r.fence);
    if (req.seq <= last) {
      const used = this.ctx.db
        .prepare('SELECT 1 FROM device_commands WHERE request_id = ? AND fence = ? AND seq = ?')
        .get(r.id, r.fence, req.seq);
      throw used
        ? new DomainError(
            'conflict',
            'command_replayed',
            `seq ${req.seq} was already used under fence ${r.fence}`,
          )
        : new DomainError('conflict', 'seq_out_of_order', `seq ${req.seq} is not greater than ${last}`, {
            lastSeq: last,
          });
    }
    return r;
  }

  private async checkKind(r: RequestRow, cmd: DeviceCommand): Promise<void> {
    if (JSON.stringify(cmd).length > COMMAND_MAX_JSON)
      throw badRequest(`a command is at most ${COMMAND_MAX_JSON} bytes of JSON`);
    if (cmd.kind !== 'verify') return;
    const unavailable = (m: string) => new DomainError('conflict', 'factor_unavailable', m);
    if (cmd.payload.factor === 'biometric') {
      if (!this.ctx.db.prepare('SELECT 1 FROM webauthn_credentials WHERE device_id = ?').get(r.device_id))
        throw unavailable('the customer has no biometric registered on this device');
    } else {
      const pin = this.ctx.db
        .prepare<[string], { locked_until: number | null }>(
          'SELECT locked_until FROM pins WHERE customer_id = ?',
        )
        .get(r.customer_id);
      if (!pin) throw unavailable('the customer has no PIN');
      if (pin.locked_until !== null && pin.locked_until > this.now())
        throw unavailable("the customer's PIN is locked");
    }
  }

  private async sign(c: Omit<CommandRow, 'jws'>, agentName: string): Promise<string> {
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
    return (
      this.ctx.db
        .prepare<[string], { display_name: string }>('SELECT display_name FROM staff WHERE id = ?')
        .get(staffId)?.display_name ?? 'Agent'
    );
  }

  async send(staffId: string, requestId: string, req0: CreateCommandRequest): Promise<CommandView> {
    const r0 = this.authorise(staffId, requestId, req0);
    await this.checkKind(r0, req0.command);
    // A confirmation carries the debited account and a nonce the factor given on the device binds to.
    const req =
      req0.command.kind === 'confirm'
        ? {
            ...req0,
            command: await this.confirmations.prepare(r0.customer_id, r0.device_id!, req0.command),
          }
        : req0;
    const now = this.now();
    const session = this.sessions.peek(r0.session_id)!;
    const ttl = (req.ttlSeconds ?? COMMAND_TTL.defaultSeconds) * 1000;
    const draft: Omit<CommandRow, 'jws'> = {
      id: randomId(16),
      request_id: r0.id,
      session_id: r0.session_id,
      device_id: r0.device_id!,
      agent_id: staffId,
      fence: r0.fence,
      seq: req.seq,
      kind: req.command.kind,
      command: JSON.stringify(req.command),
      revision: 1,
      state: 'pending',
      created_at: now,
      expires_at: Math.min(now + ttl, session.absolute_expires_at),
      shown_at: null,
      finished_at: null,
      result: null,
      reason: null,
    };
    const jws = await this.sign(draft, await this.agentName(staffId));
    // Signing yielded the event loop: check everything again and insert in one synchronous step,
    // so a transfer or a concurrent command in between is never overtaken. The command and
    // its audit row commit together.
    const row: CommandRow = { ...draft, jws };
    this.ctx.db.transaction(() => {
      this.authorise(staffId, requestId, req);
      this.ctx.db
        .prepare(
          `INSERT INTO device_commands (id, request_id, session_id, device_id, agent_id, fence, seq, kind, command, revision, jws, state, created_at, expires_at)
           VALUES (@id, @request_id, @session_id, @device_id, @agent_id, @fence, @seq, @kind, @command, @revision, @jws, @state, @created_at, @expires_at)`,
        )
        .run(row);
      this.ctx.audit.append({
        actor: `staff:${staffId}`,
        action: 'command.send',
        subject: `request:${row.request_id}`,
        outcome: 'success',
        data: { commandId: row.id, kind: row.kind, fence: row.fence, seq: row.seq },
      });
    })();
    if (row.kind === 'end')
      this.cancelWhere('request_id = ? AND id != ?', [row.request_id, row.id], 'superseded');
    this.emit('device', row.session_id, { type: 'command', commandId: row.id, jws: row.jws });
    this.tellStaff(row);
    return this.view(row);
  }

  /** A staff member's view of a request's commands: its current holder, or a supervisor/admin. */
  async list(p: StaffPrincipal, requestId: string): Promise<RequestCommands> {
    const r = this.pipeline.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (p.staff.role === 'agent' && r.agent_id !== p.staff.id) throw forbidden('this request is not yours');
    const stoppedAt = this.stoppedAt(r.id);
    return {
      requestId: r.id,
      fence: r.fence,
      lastSeq: this.lastSeq(r.id, r.fence),
      control: { stopped: stoppedAt !== null, stoppedAt: stoppedAt === null ? null : iso(stoppedAt) },
      commands: this.ctx.db
        .prepare<[string], CommandRow>(
          'SELECT * FROM device_commands WHERE request_id = ? ORDER BY created_at, fence, seq',
        )
        .all(r.id)
        .map((c) => this.view(c)),
    };
  }

  /** An open command of a request the caller holds under `fence`. */
  private ownOpen(staffId: string, commandId: string, fence: number): CommandRow {
    const c = this.row(commandId);
    if (!c) throw notFound('no such command');
    requireHolder(this.pipeline.requests, staffId, c.request_id, fence);
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
    const c0 = this.ownOpen(staffId, commandId, body.fence);
    if (c0.kind !== 'menu') throw badRequest('only a menu command can be edited');
    const old = JSON.parse(c0.command) as CommandOf<'menu'>;
    const command = JSON.stringify({
      kind: 'menu',
      payload: { title: body.title ?? old.payload.title, items: body.items },
    } satisfies CommandOf<'menu'>);
    const draft = { ...c0, command, revision: c0.revision + 1 };
    const jws = await this.sign(draft, await this.agentName(staffId));
    const updated = this.ctx.db.transaction(() => {
      this.ownOpen(staffId, commandId, body.fence);
      return this.ctx.db
        .prepare<[string, string, string, number], CommandRow>(
          `UPDATE device_commands SET command = ?, jws = ?, revision = revision + 1 WHERE id = ? AND ${OPEN} AND revision = ? RETURNING *`,
        )
        .get(command, jws, commandId, c0.revision);
    })();
    if (!updated) throw new DomainError('conflict', 'conflict', 'the menu was changed meanwhile: try again');
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'command.menu_update',
      subject: `request:${updated.request_id}`,
      outcome: 'success',
      data: { commandId, revision: updated.revision, items: body.items.length },
    });
    this.emit('device', updated.session_id, { type: 'command', commandId: updated.id, jws: updated.jws });
    this.tellStaff(updated);
    return this.view(updated);
  }

  cancel(staffId: string, commandId: string, fence: number): CommandView {
    const c = this.ownOpen(staffId, commandId, fence);
    this.cancelWhere('id = ?', [c.id], 'cancelled');
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'command.cancel',
      subject: `request:${c.request_id}`,
      outcome: 'success',
      data: { commandId },
    });
    return this.view(this.row(c.id)!);
  }

  /** Cancel the open commands matching `where`; the device and the agents are told. */
  cancelWhere(where: string, args: unknown[], reason: CancelReason): string[] {
    const rows = this.ctx.db
      .prepare<unknown[], CommandRow>(
        `UPDATE device_commands SET state = 'cancelled', finished_at = ?, reason = ? WHERE ${OPEN} AND ${where} RETURNING *`,
      )
      .all(this.now(), reason, ...args);
    for (const c of rows) {
      this.emit('device', c.session_id, {
        type: 'command.cancelled',
        commandId: c.id,
        requestId: c.request_id,
        reason,
      });
      this.tellStaff(c);
    }
    return rows.map((c) => c.id);
  }

  /** Ownership left `fence`: the old holder's open commands end. */
  ownershipMoved(requestId: string, fence: number): void {
    this.cancelWhere('request_id = ? AND fence = ?', [requestId, fence], 'transferred');
  }

  /** Commands past their expiry: marked, the device and the agents told. */
  async sweep(): Promise<void> {
    const now = this.now();
    const rows = this.ctx.db
      .prepare<[number], CommandRow>(
        `UPDATE device_commands SET state = 'expired', finished_at = expires_at, reason = 'expired' WHERE ${OPEN} AND expires_at <= ? RETURNING *`,
      )
      .all(now);
    for (const c of rows) {
      this.emit('device', c.session_id, {
        type: 'command.cancelled',
        commandId: c.id,
        requestId: c.request_id,
        reason: 'expired',
      });
      this.tellStaff(c);
    }
  }

  // ---- device side --------------------------------------------------------

  /** Open requests of this device whose control the customer stopped. */
  async stoppedFor(p: DevicePrincipal): Promise<{ requestId: string; stoppedAt: string }[]> {
    return this.ctx.db
      .prepare<[string], { request_id: string; stopped_at: number }>(
        `SELECT c.request_id, c.stopped_at FROM remote_control c JOIN requests r ON r.id = c.request_id
         WHERE r.device_id = ? AND c.stopped_at IS NOT NULL AND r.state IN ('waiting','offered','assigned','scheduled')
         ORDER BY c.stopped_at LIMIT 100`,
      )
      .all(p.device.id)
      .map((x) => ({ requestId: x.request_id, stoppedAt: iso(x.stopped_at) }));
  }

  async pending(p: DevicePrincipal): Promise<SignedCommand[]> {
    return this.ctx.db
      .prepare<[string, number], CommandRow>(
        `SELECT * FROM device_commands WHERE device_id = ? AND ${OPEN} AND expires_at > ? ORDER BY fence, seq`,
      )
      .all(p.device.id, this.now())
      .map((c) => ({ commandId: c.id, jws: c.jws }));
  }

  private deviceOwn(p: DevicePrincipal, commandId: string): CommandRow {
    const c = this.row(commandId);
    if (!c || c.device_id !== p.device.id) throw notFound('no such command');
    return c;
  }

  /** Why an open-state write found nothing: expired (410) or already final (409). */
  private refusal(id: string, what: 'ack' | 'result'): DomainError {
    const c = this.row(id)!;
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
    const c = this.deviceOwn(p, commandId);
    const now = this.now();
    const row = this.ctx.db.transaction(() => {
      const shown = this.ctx.db
        .prepare<[number, string, number], CommandRow>(
          "UPDATE device_commands SET state = 'shown', shown_at = ? WHERE id = ? AND state = 'pending' AND expires_at > ? RETURNING *",
        )
        .get(now, c.id, now);
      if (shown)
        this.ctx.audit.append({
          actor: `device:${p.device.id}`,
          action: 'command.ack',
          subject: `request:${shown.request_id}`,
          outcome: 'success',
          data: { commandId },
        });
      return shown;
    })();
    if (!row) throw this.refusal(c.id, 'ack');
    this.tellStaff(row);
    return { commandId, state: 'shown', at: iso(now) };
  }

  /** Record the one final answer (guarded: open and unexpired), tell the agents. */
  private finish(
    p: DevicePrincipal,
    c: CommandRow,
    state: 'done' | 'declined' | 'failed',
    result: CommandResultView | null,
    reason: string | null,
  ): { commandId: string; state: CommandState; at: string } {
    const now = this.now();
    const row = this.ctx.db.transaction(() => {
      const done = this.ctx.db
        .prepare<[string, number, string | null, string | null, string, number], CommandRow>(
          `UPDATE device_commands SET state = ?, finished_at = ?, result = ?, reason = ? WHERE id = ? AND ${OPEN} AND expires_at > ? RETURNING *`,
        )
        .get(state, now, result === null ? null : JSON.stringify(result), reason, c.id, now);
      if (done)
        this.ctx.audit.append({
          actor: `device:${p.device.id}`,
          action: 'command.result',
          subject: `request:${done.request_id}`,
          outcome: 'success',
          data: { commandId: c.id, kind: c.kind, state, ...(reason ? { reason } : {}) },
        });
      return done;
    })();
    if (!row) throw this.refusal(c.id, 'result');
    this.tellStaff(row);
    return { commandId: c.id, state, at: iso(now) };
  }

  private assertOpen(c: CommandRow): void {
    if (c.state !== 'pending' && c.state !== 'shown') throw this.refusal(c.id, 'result');
    if (c.expires_at <= this.now()) throw expired();
  }

  async result(
    p: DevicePrincipal,
    commandId: string,
    outcome: CommandOutcome,
  ): Promise<{ commandId: string; state: CommandState; at: string; receipt?: ConfirmReceipt }> {
    const c = this.deviceOwn(p, commandId);
    this.assertOpen(c);
    if (outcome.outcome === 'declined')
      return this.finish(p, c, 'declined', null, 'declined by the customer');
    if (outcome.outcome === 'failed') return this.finish(p, c, 'failed', null, outcome.reason);
    const cmd = JSON.parse(c.command) as DeviceCommand;
    const shaped = checkResultShape(cmd, c.revision, outcome.result);
    if (shaped === 'verify') {
      const factor = (cmd as CommandOf<'verify'>).payload.factor;
      let r = this.pipeline.requests.get(c.request_id)!;
      r = await this.reverify(p, r, factor, c.created_at);
      const f = this.ctx.db
        .prepare<[string, string, number], { at: number }>(
          'SELECT at FROM factors WHERE authentication_id = ? AND kind = ? AND at >= ? ORDER BY at DESC LIMIT 1',
        )
        .get(r.authentication_id, factor, c.created_at);
      if (!f)
        throw new DomainError(
          'conflict',
          'factor_missing',
          `no ${factor} step-up was recorded on this request's authentication since the command`,
        );
      const level = (this.authentications.get(r.authentication_id)?.level ?? 0) as 0 | 1 | 2 | 3;
      return this.finish(p, c, 'done', { kind: 'verify', factor, level, at: iso(f.at) }, null);
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
      const ok = await compactVerify(signature, this.devices.keyOf(p.device), { algorithms: ['ES256'] }).then(
        (v) =>
          v.protectedHeader.typ === CONFIRM_SIGNATURE_TYP &&
          new TextDecoder().decode(v.payload) === canonical,
        () => false,
      );
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
      return this.ctx.db.transaction(() => {
        const receipt = this.confirmations.record(p, c, confirm, f, { signature, canonical }, at);
        const done = this.finish(
          p,
          c,
          'done',
          { kind: 'confirm', signature, canonical, verifiedAt: iso(at), factor: f.factor, receipt },
          null,
        );
        return { ...done, receipt };
      })();
    }
    return this.finish(p, c, 'done', shaped, null);
  }

  /** A photo (stored as a verification photo, the photo factor once the agent compares it with the enrolment photo) or a screenshot answers its command. */
  async image(
    p: DevicePrincipal,
    commandId: string,
    mediaType: string,
    bytes: Buffer,
  ): Promise<{ commandId: string; state: CommandState; at: string }> {
    const type = checkPhoto(mediaType, bytes);
    const c = this.deviceOwn(p, commandId);
    if (c.kind !== 'photo' && c.kind !== 'screenshot')
      throw invalidResult(`a ${c.kind} command is answered with POST /v1/device/commands/:commandId/result`);
    this.assertOpen(c);
    return this.ctx.db.transaction(() => {
      if (c.kind === 'photo') {
        const { photoId } = this.photos.store(p, 'verification', type, bytes);
        return this.finish(p, c, 'done', { kind: 'photo', photoId }, null);
      }
      const imageId = randomId(16);
      this.ctx.db
        .prepare(
          "INSERT INTO photos (id, customer_id, device_id, authentication_id, purpose, media_type, bytes, created_at) VALUES (?, ?, ?, ?, 'screenshot', ?, ?, ?)",
        )
        .run(imageId, p.device.customer_id, p.device.id, p.authentication.id, type, bytes, this.now());
      return this.finish(p, c, 'done', { kind: 'screenshot', imageId }, null);
    })();
  }

  /** The customer's receipts of confirmed transactions. */
  async receipts(p: DevicePrincipal) {
    return await this.confirmations.list(p);
  }

  async stop(
    p: DevicePrincipal,
    requestId: string,
  ): Promise<{ requestId: string; stoppedAt: string; cancelled: string[] }> {
    const r = this.pipeline.ownRequest(p, requestId);
    const now = this.now();
    this.ctx.db
      .prepare(
        'INSERT INTO remote_control (request_id, stopped_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (request_id) DO UPDATE SET stopped_at = COALESCE(stopped_at, excluded.stopped_at), updated_at = excluded.updated_at',
      )
      .run(r.id, now, now);
    const stoppedAt = this.stoppedAt(r.id)!;
    const cancelled = this.cancelWhere('request_id = ?', [r.id], 'control_stopped');
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'control.stop',
      subject: `request:${r.id}`,
      outcome: 'success',
      data: { cancelled },
    });
    await this.tellControl(r, true, stoppedAt, cancelled);
    return { requestId: r.id, stoppedAt: iso(stoppedAt), cancelled };
  }

  async resume(p: DevicePrincipal, requestId: string): Promise<{ requestId: string; resumedAt: string }> {
    const r = this.pipeline.ownRequest(p, requestId);
    const now = this.now();
    this.ctx.db
      .prepare(
        'INSERT INTO remote_control (request_id, stopped_at, updated_at) VALUES (?, NULL, ?) ON CONFLICT (request_id) DO UPDATE SET stopped_at = NULL, updated_at = excluded.updated_at',
      )
      .run(r.id, now);
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'control.resume',
      subject: `request:${r.id}`,
      outcome: 'success',
    });
    await this.tellControl(r, false, now, []);
    return { requestId: r.id, resumedAt: iso(now) };
  }

  private async tellControl(r: RequestRow, stopped: boolean, at: number, cancelled: string[]): Promise<void> {
    const senders = this.ctx.db
      .prepare<[string], { agent_id: string }>(
        'SELECT DISTINCT agent_id FROM device_commands WHERE request_id = ?',
      )
      .all(r.id)
      .map((x) => x.agent_id);
    const to = [...new Set([...(r.agent_id ? [r.agent_id] : []), ...senders])];
    this.emit('staff', to, { type: 'control.state', requestId: r.id, stopped, at: iso(at), cancelled });
  }
}
