import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { compactVerify } from 'jose';
import {
  CALL_PROOF_TYP,
  CALL_TICKET_TYP,
  CallProofClaims,
  CallTicketClaims,
  type CallTicket,
} from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { conflict, DomainError, notFound, unauthorized } from '../errors.ts';
import { randomId } from '../ids.ts';
import type { DevicePrincipal, DeviceRow, Devices } from '../identity/devices.ts';
import type { SigningKeys } from '../keys/signing-keys.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

export const CALL_TICKET_TTL_S = 60;
const PROOF_MAX_SKEW_S = 120;

export const ticketHash = (ticket: string): string => createHash('sha256').update(ticket).digest('base64url');

/**
 * Call tickets: the agent who holds a request's assignment (current fence) gets a
 * short-lived ticket signed by the authority to put on the INVITE; the device proves
 * with its own key that it answered that ticket, which binds the voice channel to
 * the authenticated device.
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
    const r = this.pipeline.requests.get(requestId);
    if (!r) throw notFound('no such request');
    if (r.state !== 'assigned' || r.agent_id !== staffId || r.fence !== fence)
      throw conflict(
        'only the agent holding the request under its current fencing number gets a call ticket',
      );
    if (!r.device_id) throw conflict('this request has no device to call');
    const staff = this.ctx.db
      .prepare<[string], { display_name: string }>('SELECT display_name FROM staff WHERE id = ?')
      .get(staffId)!;
    const now = this.ctx.clock.now();
    const jti = randomId(16);
    const claims = {
      iss: 'verified-desk' as const,
      sid: r.session_id,
      dev: r.device_id,
      rid: r.id,
      agt: staffId,
      agn: staff.display_name,
      org: this.pipeline.config.config.company,
      fence,
      jti,
    };
    const ticket = await this.keys.sign(claims, CALL_TICKET_TYP, CALL_TICKET_TTL_S);
    const expiresAt = now + CALL_TICKET_TTL_S * 1000;
    this.ctx.db
      .prepare(
        'INSERT INTO call_tickets (jti, request_id, session_id, device_id, agent_id, fence, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(jti, r.id, r.session_id, r.device_id, staffId, fence, now, expiresAt);
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'call.ticket',
      subject: `request:${r.id}`,
      outcome: 'success',
      data: { fence, jti },
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
   * (transfer, take-over, reassign) or the request ended, it proves nothing. Synchronous,
   * so callers run it after their last await, right before recording the proof.
   */
  private staleProblem(claims: CallTicketClaims): DomainError | null {
    const r = this.pipeline.requests.get(claims.rid);
    if (!r) return conflict('the request of this call ticket no longer exists');
    if (r.fence !== claims.fence)
      return new DomainError(
        'conflict',
        'stale_fence',
        `this call ticket was issued under fencing number ${claims.fence}; the request has moved on (current ${r.fence}): it proves nothing now`,
        { fence: claims.fence, current: r.fence },
      );
    if (r.state !== 'assigned' || r.agent_id !== claims.agt)
      return conflict(`this call ticket's agent no longer holds the request (state ${r.state})`);
    return null;
  }

  /** Why `proof` is not this device's fresh signature over `ticket` (null when it is). */
  private async proofProblem(device: DeviceRow, ticket: string, proof: string): Promise<string | null> {
    let claims;
    try {
      const r = await compactVerify(proof, this.devices.keyOf(device), { algorithms: ['ES256'] });
      if (r.protectedHeader.typ !== CALL_PROOF_TYP) throw new Error('typ');
      claims = CallProofClaims.parse(JSON.parse(new TextDecoder().decode(r.payload)));
    } catch {
      return 'device proof does not verify';
    }
    if (claims.tkt !== ticketHash(ticket)) return 'device proof is for another ticket';
    if (Math.abs(claims.iat - this.ctx.clock.now() / 1000) > PROOF_MAX_SKEW_S) return 'device proof too old';
    return null;
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
      claims = CallTicketClaims.parse(
        await this.keys.verify(ticket, CALL_TICKET_TYP, { toleranceSeconds: 300 }),
      );
    } catch {
      throw unauthorized('call ticket does not verify');
    }
    if (claims.rid !== requestId || claims.agt !== staffId)
      throw conflict('this call ticket was issued to another agent or request');
    const refuse = (reason: string) => {
      this.ctx.audit.append({
        actor: `staff:${staffId}`,
        action: 'call.answer',
        subject: `request:${requestId}`,
        outcome: 'failure',
        reason,
        data: { jti: claims.jti, device: claims.dev, fence: claims.fence },
      });
      return { verified: false as const, reason };
    };
    const stale = () => {
      const e =
        this.staleProblem(claims) ??
        (fence !== claims.fence
          ? conflict(`this call ticket was issued under fencing number ${claims.fence}, not ${fence}`)
          : null);
      if (!e) return;
      refuse(e.message);
      throw e;
    };
    stale();
    if (!proof) return refuse('the answer carried no device proof');
    const device = await this.devices.get(claims.dev);
    if (!device) return refuse('the ticket names an unknown device');
    const wrong = await this.proofProblem(device, ticket, proof);
    if (wrong) return refuse(wrong);
    stale(); // ownership may have moved while the proof was being checked
    const now = this.ctx.clock.now();
    const first = this.ctx.db
      .prepare('UPDATE call_tickets SET proven_at = ? WHERE jti = ? AND proven_at IS NULL')
      .run(now, claims.jti).changes;
    this.ctx.audit.append({
      actor: `staff:${staffId}`,
      action: 'call.answer',
      subject: `request:${requestId}`,
      outcome: 'success',
      data: { jti: claims.jti, device: claims.dev },
    });
    if (first) this.emit('verified', requestId, staffId, now);
    return { verified: true, at: now };
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
    const fail = (reason: string): never => {
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'call.proof',
        outcome: 'failure',
        reason,
      });
      throw unauthorized(reason);
    };
    let claims: CallTicketClaims;
    try {
      claims = CallTicketClaims.parse(await this.keys.verify(ticket, CALL_TICKET_TYP));
    } catch {
      return fail('call ticket does not verify or has expired');
    }
    if (claims.dev !== p.device.id) return fail('call ticket is for another device');
    const wrong = await this.proofProblem(p.device, ticket, proof);
    if (wrong) return fail(wrong);
    const stale = this.staleProblem(claims);
    if (stale) {
      this.ctx.audit.append({
        actor: `device:${p.device.id}`,
        action: 'call.proof',
        subject: `request:${claims.rid}`,
        outcome: 'failure',
        reason: stale.message,
        data: { jti: claims.jti, fence: claims.fence },
      });
      throw stale;
    }
    const now = this.ctx.clock.now();
    const row = this.ctx.db
      .prepare<[number, string, string], { request_id: string; session_id: string; agent_id: string }>(
        'UPDATE call_tickets SET proven_at = ? WHERE jti = ? AND device_id = ? AND proven_at IS NULL RETURNING request_id, session_id, agent_id',
      )
      .get(now, claims.jti, p.device.id);
    if (!row) return fail('call ticket unknown or already answered');
    this.ctx.audit.append({
      actor: `device:${p.device.id}`,
      action: 'call.proof',
      subject: `request:${row.request_id}`,
      outcome: 'success',
      data: { jti: claims.jti },
    });
    this.emit('verified', row.request_id, row.agent_id, now);
    return { requestId: row.request_id, sessionId: row.session_id, at: now };
  }
}
