import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { decodeJwt } from 'jose';
import {
  CALL_PROOF_TYP,
  CALL_TICKET_TYP,
  CallProofClaims,
  CallTicketClaims,
  PHONE_CALL_TICKET_TYP,
  PhoneCallTicketClaims,
  sipUserForAgent,
  type CallTicket,
  type SipCallEndRequest,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, forbidden, notFound, unauthorized } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import { randomId } from '../ids.ts';
import { verifyDeviceJws } from '../identity/device-keys.ts';
import type { DevicePrincipal, DeviceRow, Devices } from '../identity/devices.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { AuditEntry } from '../audit/audit-log.ts';
import type { Repos } from '../store/repos/index.ts';
import type { CallTicketRow } from '../store/repos/call-tickets.ts';

export const CALL_TICKET_TTL_S = 60;
const PROOF_MAX_SKEW_S = 120;

export const ticketHash = (ticket: string): string => createHash('sha256').update(ticket).digest('base64url');

/** The id (jti) a call ticket names, read without checking its signature (undefined: not a ticket). */
function jtiOf(ticket: string): string | undefined {
  try {
    const claims = decodeJwt(ticket);
    return typeof claims.jti === 'string' ? claims.jti : undefined;
  } catch {
    return undefined;
  }
}

/** Who saw a call's dialog end on the SIP side: the embedded edge, or the SIP server (Kamailio). */
type SipEndWitness = 'system:sip-edge' | 'system:sip-server';

/** What a SIP-side end of a call changed (`done`), or why it changed nothing. */
type SipEndOutcome =
  | { kind: 'unknown' }
  | { kind: 'refused'; problem: DomainError }
  | { kind: 'done'; row: CallTicketRow; ended: boolean; at: number };

/**
 * Call tickets: the agent who holds a request's assignment (current fence) gets a
 * short-lived ticket signed by the authority to put on the INVITE; the device proves
 * with its own key that it answered that ticket, which binds the voice channel to
 * the authenticated device.
 *
 * Signatures are checked or made outside any unit of work; the decision (the ticket's
 * holder and fence still current, the proof recorded once, its audit row) is one unit.
 * A refusal's audit row commits in the deciding unit (which then returns the refusal) or
 * in a unit of its own.
 */
export class CallTickets extends EventEmitter<{
  verified: [requestId: string, agentId: string, at: number];
}> {
  constructor(
    private readonly ctx: Ctx,
    private readonly keys: SigningKeys,
    private readonly pipeline: Pipeline,
    private readonly devices: Devices,
  ) {
    super();
  }

  async issue(staffId: string, requestId: string, fence: number): Promise<CallTicket> {
    const read = this.ctx.data.read;
    const r0 = await read.requests.get(requestId);
    const refusal = (
      r: { state: string; agent_id: string | null; fence: number; device_id: string | null } | undefined,
    ) => {
      if (!r) return notFound('no such request');
      if (r.state !== 'assigned' || r.agent_id !== staffId || r.fence !== fence)
        return conflict(
          'only the agent holding the request under its current fencing number gets a call ticket',
        );
      if (!r.device_id) return conflict('this request has no device to call');
      return null;
    };
    const early = refusal(r0);
    if (early) throw early;
    const r = r0!;
    const agentName = (await read.commands.agentName(staffId)) ?? 'Agent';
    const now = this.ctx.clock.now();
    const jti = randomId(16);
    const claims = {
      iss: 'verified-desk' as const,
      sid: r.session_id,
      dev: r.device_id!,
      rid: r.id,
      agt: staffId,
      agn: agentName,
      org: this.pipeline.config.config.company,
      fence,
      jti,
    };
    const ticket = this.keys.sign(claims, CALL_TICKET_TYP, CALL_TICKET_TTL_S);
    const expiresAt = now + CALL_TICKET_TTL_S * 1000;
    // Signed outside; the holder is checked again and the ticket stored in one unit.
    await this.ctx.data.tx(async (u) => {
      const late = refusal(await u.commands.lockRequest(requestId));
      if (late) throw late;
      await u.callTickets.insert({
        jti,
        request_id: r.id,
        session_id: r.session_id,
        device_id: r.device_id!,
        agent_id: staffId,
        fence,
        issued_at: now,
        expires_at: expiresAt,
      });
      await u.audit.append({
        actor: `staff:${staffId}`,
        action: 'call.ticket',
        subject: `request:${r.id}`,
        outcome: 'success',
        data: { fence, jti },
      });
    });
    const iat = Math.floor(now / 1000);
    return {
      ticket,
      expiresAt: iso(expiresAt),
      claims: CallTicketClaims.parse({ ...claims, iat, exp: iat + CALL_TICKET_TTL_S }),
    };
  }

  /**
   * Why the ticket no longer speaks for its agent (null when it still does): a ticket is
   * bound to the holder and fencing number of its issue, so once ownership moved on
   * (transfer, take-over, reassign) or the request ended, it proves nothing. Read through
   * `r`: inside the unit that records the proof, on the request row locked until it ends.
   */
  private async staleProblem(
    r: Repos,
    claims: Pick<CallTicketClaims, 'rid' | 'fence' | 'agt'>,
  ): Promise<DomainError | null> {
    const req = await r.commands.lockRequest(claims.rid);
    if (!req) return conflict('the request of this call ticket no longer exists');
    if (req.fence !== claims.fence)
      return new DomainError(
        'conflict',
        'stale_fence',
        `this call ticket was issued under fencing number ${claims.fence}; the request has moved on (current ${req.fence}): it proves nothing now`,
        { fence: claims.fence, current: req.fence },
      );
    if (req.state !== 'assigned' || req.agent_id !== claims.agt)
      return conflict(`this call ticket's agent no longer holds the request (state ${req.state})`);
    return null;
  }

  /** Why `proof` is not this device's fresh signature over `ticket` (null when it is). */
  private proofProblem(device: DeviceRow, ticket: string, proof: string): string | null {
    let claims;
    try {
      const text = verifyDeviceJws(this.devices.keyOf(device), proof, CALL_PROOF_TYP);
      if (text === undefined) throw new Error('signature');
      claims = CallProofClaims.parse(JSON.parse(text));
    } catch {
      return 'device proof does not verify';
    }
    if (claims.tkt !== ticketHash(ticket)) return 'device proof is for another ticket';
    if (Math.abs(claims.iat - this.ctx.clock.now() / 1000) > PROOF_MAX_SKEW_S) return 'device proof too old';
    return null;
  }

  /** A failure audit row in a unit of its own. */
  private async auditFailure(e: AuditEntry): Promise<void> {
    await this.ctx.data.statement((r) => r.audit.append(e));
  }

  /**
   * The agent's console saw the device answer: `proof` is the X-VD-Device-Proof header
   * of the 200 OK (null when missing). The ticket must be one this agent was issued for
   * this request under `fence`, and that fence must still be the request's current one
   * with this agent holding it (else 409, audited); the proof must verify with the
   * ticket's device key. A verified answer
   * records the proof like the device's own POST does (first one wins); a missing or
   * failed proof is audited and reported so the console shows it in red.
   */
  async checkAnswer(
    staffId: string,
    requestId: string,
    fence: number,
    ticket: string,
    proof: string | null,
  ): Promise<{ verified: true; at: number } | { verified: false; reason: string }> {
    let claims: CallTicketClaims;
    try {
      claims = CallTicketClaims.parse(this.keys.verify(ticket, CALL_TICKET_TYP, { toleranceSeconds: 300 }));
    } catch {
      throw unauthorized('call ticket does not verify');
    }
    if (claims.rid !== requestId || claims.agt !== staffId)
      throw conflict('this call ticket was issued to another agent or request');
    const failure = (reason: string): AuditEntry => ({
      actor: `staff:${staffId}`,
      action: 'call.answer',
      subject: `request:${requestId}`,
      outcome: 'failure',
      reason,
      data: { jti: claims.jti, device: claims.dev, fence: claims.fence },
    });
    const refuse = async (reason: string) => {
      await this.auditFailure(failure(reason));
      return { verified: false as const, reason };
    };
    const staleIn = async (r: Repos) =>
      (await this.staleProblem(r, claims)) ??
      (fence !== claims.fence
        ? conflict(`this call ticket was issued under fencing number ${claims.fence}, not ${fence}`)
        : null);
    const early = await staleIn(this.ctx.data.read);
    if (early) {
      await this.auditFailure(failure(early.message));
      throw early;
    }
    if (!proof) return await refuse('the answer carried no device proof');
    const device = await this.devices.get(claims.dev);
    if (!device) return await refuse('the ticket names an unknown device');
    const wrong = this.proofProblem(device, ticket, proof);
    if (wrong) return await refuse(wrong);
    const now = this.ctx.clock.now();
    // Ownership may have moved while the proof was being checked: decide in one unit.
    const out = await this.ctx.data.tx(async (r) => {
      const stale = await staleIn(r);
      if (stale) {
        await r.audit.append(failure(stale.message));
        return { stale };
      }
      const first = await r.callTickets.prove(claims.jti, now);
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'call.answer',
        subject: `request:${requestId}`,
        outcome: 'success',
        data: { jti: claims.jti, device: claims.dev },
      });
      return { first: !!first };
    });
    if ('stale' in out) throw out.stale;
    if (out.first) await this.started(requestId, staffId, now);
    return { verified: true, at: now };
  }

  /**
   * The proven call started: it takes its agent's whole capacity until it ends (the
   * queue statistics, the board and the transfer directory change; nothing is offered).
   */
  private async started(requestId: string, agentId: string, at: number): Promise<void> {
    this.emit('verified', requestId, agentId, at);
    await this.pipeline.announce([], [agentId]);
  }

  /**
   * The console's call of `ticket` ended (hung up on either side). The ticket must be one
   * issued to `staffId` for `requestId` under `fence` (else 409, audited; 404 when unknown):
   * a stale console cannot end its successor's call, whose ticket is their own. The end is
   * recorded once with its audit row (call.end) in one unit; the agent then has room again
   * and waiting requests are dispatched. A call whose request moved on no longer counts
   * anyway (the capacity reads the current holder's tickets under the current fence).
   */
  async end(
    staffId: string,
    requestId: string,
    fence: number,
    ticket: string,
  ): Promise<{ ended: boolean; at: number }> {
    const jti = jtiOf(ticket);
    if (!jti) throw badRequest('the call ticket is not a call ticket');
    const id = jti;
    const now = this.ctx.clock.now();
    const out = await this.ctx.data.tx(async (r) => {
      const row = await r.callTickets.get(id);
      if (!row) return { refused: notFound('no such call ticket') };
      if (row.request_id !== requestId || row.agent_id !== staffId || row.fence !== fence) {
        const reason =
          'this call ticket was issued to another agent or request, or under another fencing number';
        await r.audit.append({
          actor: `staff:${staffId}`,
          action: 'call.end',
          subject: `request:${requestId}`,
          outcome: 'failure',
          reason,
          data: { jti: id, fence },
        });
        return { refused: conflict(reason) };
      }
      const ended = await r.callTickets.end(id, now);
      if (ended)
        await r.audit.append({
          actor: `staff:${staffId}`,
          action: 'call.end',
          subject: `request:${requestId}`,
          outcome: 'success',
          data: { jti: id, fence },
        });
      return { ended: !!ended, at: ended ? now : (row.ended_at ?? now) };
    });
    if ('refused' in out) throw out.refused;
    if (out.ended) await this.pipeline.announce([], [staffId]);
    return out;
  }

  /**
   * The embedded SIP edge saw the end of the call whose INVITE carried `ticket` (a BYE from
   * either side, or a party's connection gone for good): the same end as the console's
   * report, so a console that vanished does not keep its agent at full capacity. `sipUser`
   * is the INVITE's authenticated user: only the ticket's own agent's call ends it.
   * Recorded once as endOnSip says (actor system:sip-edge). False when nothing changed (not
   * a ticket of ours, another agent's, no longer current, ended already).
   */
  async endedOnSip(ticket: string, sipUser: string, cause: 'bye' | 'connection_lost'): Promise<boolean> {
    const jti = jtiOf(ticket);
    if (!jti) return false;
    const out = await this.endOnSip(jti, sipUser, 'system:sip-edge', { cause }, false);
    return out.kind === 'done' && out.ended;
  }

  /**
   * The SIP server (Kamailio) saw the dialog of the call whose INVITE carried `report.ticket`
   * end (`POST /v1/sip/call-ends`): as endedOnSip, audited `call.end` by system:sip-server,
   * with the refusals the route answers: 404 for a ticket we never issued, 409 (audited) for
   * another agent's ticket or one whose request moved on.
   */
  async endedOnSipServer(
    report: SipCallEndRequest,
  ): Promise<{ requestId: string; ended: boolean; at: number }> {
    const jti = jtiOf(report.ticket);
    if (!jti) throw notFound('no such call ticket');
    const data = { cause: report.cause, ...(report.callId ? { callId: report.callId } : {}) };
    const out = await this.endOnSip(jti, report.sipUser, 'system:sip-server', data, true);
    if (out.kind === 'unknown') throw notFound('no such call ticket');
    if (out.kind === 'refused') throw out.problem;
    return { requestId: out.row.request_id, ended: out.ended, at: out.at };
  }

  /**
   * The SIP side (`witness`) saw the end of the dialog whose INVITE carried ticket `jti` and
   * was authenticated as `sipUser`. The ticket must be that SIP user's agent's (`a-<staff
   * id>`) and still current (its agent holding the request under its fence); it is then
   * recorded ended, proven or not yet (a proof that comes afterwards never makes it live),
   * once (ended_at: whichever of the console and the SIP side comes first; the other changes
   * nothing), with its audit row (call.end, `data` added) in one unit; the agent then has room
   * again and waiting requests are dispatched. Refusals are audited when `auditRefusals`.
   */
  private async endOnSip(
    jti: string,
    sipUser: string,
    witness: SipEndWitness,
    data: Record<string, string>,
    auditRefusals: boolean,
  ): Promise<SipEndOutcome> {
    const now = this.ctx.clock.now();
    const out = await this.ctx.data.tx(async (r): Promise<SipEndOutcome> => {
      const row = await r.callTickets.get(jti);
      if (!row) return { kind: 'unknown' };
      const entry = { actor: witness, action: 'call.end', subject: `request:${row.request_id}` };
      const facts = { jti, fence: row.fence, agentId: row.agent_id, sipUser, ...data };
      const refuse = async (problem: DomainError): Promise<SipEndOutcome> => {
        if (auditRefusals)
          await r.audit.append({ ...entry, outcome: 'failure', reason: problem.message, data: facts });
        return { kind: 'refused', problem };
      };
      if (sipUserForAgent(row.agent_id) !== sipUser)
        return await refuse(conflict('this call ticket was issued to another agent'));
      // A repeat (the console's report or the SIP side's came first) answers the first end.
      if (row.ended_at !== null) return { kind: 'done', row, ended: false, at: row.ended_at };
      const stale = await this.staleProblem(r, { rid: row.request_id, fence: row.fence, agt: row.agent_id });
      if (stale) return await refuse(stale);
      const done = await r.callTickets.endSeen(jti, now);
      if (done) await r.audit.append({ ...entry, outcome: 'success', data: facts });
      const at = done ? now : ((await r.callTickets.get(jti))?.ended_at ?? now);
      return { kind: 'done', row, ended: !!done, at };
    });
    if (out.kind === 'done' && out.ended) await this.pipeline.announce([], [out.row.agent_id]);
    return out;
  }

  /**
   * The device answered the ticket's call: check the ticket, the device's signature over
   * it and that the ticket's agent still holds the request under the ticket's fence
   * (else 409, audited); record it once.
   */
  async prove(
    p: DevicePrincipal,
    ticket: string,
    proof: string,
  ): Promise<{ requestId: string; sessionId: string; at: number }> {
    const failure = (reason: string): AuditEntry => ({
      actor: `device:${p.device.id}`,
      action: 'call.proof',
      outcome: 'failure',
      reason,
    });
    const fail = async (reason: string): Promise<never> => {
      await this.auditFailure(failure(reason));
      throw unauthorized(reason);
    };
    let claims: CallTicketClaims;
    try {
      claims = CallTicketClaims.parse(this.keys.verify(ticket, CALL_TICKET_TYP));
    } catch {
      return await fail('call ticket does not verify or has expired');
    }
    if (claims.dev !== p.device.id) return await fail('call ticket is for another device');
    const wrong = this.proofProblem(p.device, ticket, proof);
    if (wrong) return await fail(wrong);
    const now = this.ctx.clock.now();
    // The holder check, the one-time proof and its audit row: one unit.
    const out = await this.ctx.data.tx(async (r) => {
      const stale = await this.staleProblem(r, claims);
      if (stale) {
        await r.audit.append({
          actor: `device:${p.device.id}`,
          action: 'call.proof',
          subject: `request:${claims.rid}`,
          outcome: 'failure',
          reason: stale.message,
          data: { jti: claims.jti, fence: claims.fence },
        });
        return { refused: stale };
      }
      const row = await r.callTickets.prove(claims.jti, now, p.device.id);
      if (!row) {
        const reason = 'call ticket unknown or already answered';
        await r.audit.append(failure(reason));
        return { refused: unauthorized(reason) };
      }
      await r.audit.append({
        actor: `device:${p.device.id}`,
        action: 'call.proof',
        subject: `request:${row.request_id}`,
        outcome: 'success',
        data: { jti: claims.jti },
      });
      return { row };
    });
    if ('refused' in out) throw out.refused;
    await this.started(out.row.request_id, out.row.agent_id, now);
    return { requestId: out.row.request_id, sessionId: out.row.session_id, at: now };
  }

  /**
   * A phone call ticket (a callback through the trunk, issue 14 item 5): the holder of the
   * callback request under `fence` gets a ticket naming `number` and the company's caller
   * ID `callerId`, signed like a device's call ticket (other typ: one never passes for the
   * other). The holder check, the stored ticket and its audit row (phone.dial) are one unit.
   */
  async issuePhone(
    staffId: string,
    requestId: string,
    fence: number,
    number: string,
    callerId: string,
  ): Promise<{ ticket: string; expiresAt: number }> {
    checkHolder(await this.ctx.data.read.requests.get(requestId), staffId, fence);
    const now = this.ctx.clock.now();
    const jti = randomId(16);
    const ticket = this.keys.sign(
      { iss: 'verified-desk', rid: requestId, agt: staffId, tel: number, cid: callerId, fence, jti },
      PHONE_CALL_TICKET_TYP,
      CALL_TICKET_TTL_S,
    );
    const expiresAt = now + CALL_TICKET_TTL_S * 1000;
    await this.ctx.data.tx(async (u) => {
      checkHolder(await u.commands.lockRequest(requestId), staffId, fence);
      await u.phoneCallbacks.insertTicket({
        jti,
        request_id: requestId,
        agent_id: staffId,
        fence,
        number,
        issued_at: now,
        expires_at: expiresAt,
        used_at: null,
        sip_call_id: null,
      });
      await u.audit.append({
        actor: `staff:${staffId}`,
        action: 'phone.dial',
        subject: `request:${requestId}`,
        outcome: 'success',
        data: { fence, jti },
      });
    });
    return { ticket, expiresAt };
  }

  /**
   * The SIP server asks whether an INVITE from `sipUser` to `number` may go out to the
   * trunk with `ticket`: a phone call ticket that verifies and has not expired, naming
   * this number and this SIP user's agent, that agent still holding the request under the
   * ticket's fence, the ticket unused (or used by this same Call-ID). Allowed: the
   * callback is marked placed. Every answer is audited (phone.dial.out); refusals are 403.
   */
  async allowPhone(
    check: { ticket: string; number: string; sipUser: string; callId: string },
    onAllowed: (r: Repos, claims: PhoneCallTicketClaims, first: boolean) => Promise<void>,
  ): Promise<PhoneCallTicketClaims> {
    let claims: PhoneCallTicketClaims | undefined;
    const refuse = async (reason: string): Promise<never> => {
      await this.auditFailure({
        actor: 'sip:trunk',
        action: 'phone.dial.out',
        ...(claims ? { subject: `request:${claims.rid}` } : {}),
        outcome: 'failure',
        reason,
        data: { sipUser: check.sipUser, ...(claims ? { jti: claims.jti } : {}) },
      });
      throw forbidden(reason);
    };
    try {
      claims = PhoneCallTicketClaims.parse(this.keys.verify(check.ticket, PHONE_CALL_TICKET_TYP));
    } catch {
      return await refuse('the call ticket does not verify or has expired');
    }
    if (claims.tel !== check.number) return await refuse('the call ticket is for another number');
    if (sipUserForAgent(claims.agt) !== check.sipUser)
      return await refuse('the call ticket was issued to another agent');
    const c = claims;
    const now = this.ctx.clock.now();
    const out = await this.ctx.data.tx(async (r) => {
      const req = await r.commands.lockRequest(c.rid);
      const why = !req
        ? 'the request of this call ticket no longer exists'
        : req.state !== 'assigned' || req.agent_id !== c.agt
          ? "the call ticket's agent no longer holds the request"
          : req.fence !== c.fence
            ? `the call ticket was issued under fencing number ${c.fence}; the request has moved on (current ${req.fence})`
            : null;
      if (why) return { why };
      const used = await r.phoneCallbacks.useTicket(c.jti, check.callId, now);
      if (!used) return { why: 'the call ticket was used by another call, or has expired' };
      await onAllowed(r, c, used === 'first');
      await r.audit.append({
        actor: 'sip:trunk',
        action: 'phone.dial.out',
        subject: `request:${c.rid}`,
        outcome: 'success',
        data: { sipUser: check.sipUser, jti: c.jti, fence: c.fence },
      });
      return { why: null };
    });
    if (out.why) return await refuse(out.why);
    return c;
  }
}
