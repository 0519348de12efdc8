import type { CallTickets } from '../calls/call-tickets.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { normalisePhone } from '../customers/phones.ts';
import { badRequest, conflict, DomainError, notFound } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { RECORDING_CHANNELS, type Recordings } from '../media/recordings.ts';

/** The SIP server's report of a call out's end -> how the request shows it. */
const END_REASONS = {
  carrier_bye: 'customer_hung_up',
  agent_bye: 'agent_hung_up',
  cancel: 'cancelled',
  failed: 'not_answered',
} as const;

const notConfigured = () =>
  new DomainError(
    'unavailable',
    'target_unavailable',
    'calls out through the phone network are not configured here (no outbound caller ID, VD_OUTBOUND_CALLER_ID)',
  );

/**
 * Callbacks to a phone number (issue 14 item 5): for a customer without the app, staff
 * book a callback to the customer's registered number; it becomes a voice request in a
 * queue, offered like any other. The agent holding it dials: the authority signs a phone
 * call ticket naming the number (calls/call-tickets.ts), the console puts it on its
 * INVITE, and the SIP server (Kamailio, deploy/kamailio) asks the authority before it
 * lets that INVITE out to the carrier with the company's caller ID (`outboundCallerId`).
 */
export class PhoneCallbacks {
  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    private readonly tickets: CallTickets,
    private readonly recordings: Recordings | null = null,
  ) {}

  async book(
    staffId: string,
    body: { customerId: string; optionId: string; number?: string | undefined },
  ): Promise<{
    requestId: string;
    queueId: string;
    number: string;
    state: 'waiting' | 'offered' | 'assigned';
  }> {
    const read = this.ctx.data.read;
    const customer = await read.customers.byId(body.customerId);
    if (!customer || customer.deactivated_at !== null) throw notFound('no such customer');
    const numbers = (await read.customers.phonesOf(customer.id)).map((p) => p.e164);
    let number: string;
    if (body.number !== undefined) {
      const n = normalisePhone(body.number, this.ctx.config.defaultPhoneRegion);
      if (!n.ok) throw badRequest(`number: ${n.message}`);
      if (!numbers.includes(n.e164))
        throw conflict(`${n.e164} is not one of ${customer.display_name}'s registered numbers`);
      number = n.e164;
    } else if (numbers.length === 1) number = numbers[0]!;
    else if (numbers.length === 0)
      throw conflict(`${customer.display_name} has no registered phone number to call back`);
    else throw conflict(`${customer.display_name} has ${numbers.length} registered numbers: choose one`);
    const view = await this.pipeline.queuePhoneCallback({
      customerId: customer.id,
      optionId: body.optionId,
      number,
      staffId,
    });
    return {
      requestId: view.requestId,
      queueId: view.queueId,
      number,
      state: view.state === 'offered' || view.state === 'assigned' ? view.state : 'waiting',
    };
  }

  /** The holder dials: a ticket for the callback's number (the number must still be the customer's). */
  async dial(
    staffId: string,
    requestId: string,
    fence: number,
  ): Promise<{ ticket: string; expiresAt: string; number: string; target: string; callerId: string }> {
    const read = this.ctx.data.read;
    const r = checkHolder(await read.requests.get(requestId), staffId, fence);
    const cb = await read.phoneCallbacks.byRequest(requestId);
    if (!cb) throw conflict('this request is not a callback to a phone number');
    const callerId = this.ctx.config.outboundCallerId;
    if (!callerId) throw notConfigured();
    if ((await read.customers.activeHolderOf(cb.number, null)) !== r.customer_id)
      throw conflict("the number booked is no longer the customer's: book the callback again");
    const t = await this.tickets.issuePhone(staffId, requestId, fence, cb.number, callerId);
    return {
      ticket: t.ticket,
      expiresAt: iso(t.expiresAt),
      number: cb.number,
      target: `sip:${cb.number}@${this.ctx.config.sipDomain}`,
      callerId,
    };
  }

  /**
   * The SIP server asks before it lets an INVITE out to the trunk. Allowed: the callback is
   * placed, and when the SIP server has the call recorded (rtpengine), the recording is
   * kept with the request from now on like any anchored call's (the agent calls: channel 0;
   * the customer answers: channel 1), in the same unit.
   */
  async allowDialOut(check: {
    ticket: string;
    number: string;
    sipUser: string;
    callId: string;
    recorded?: boolean | undefined;
  }): Promise<{ requestId: string; number: string; callerId: string }> {
    const now = this.ctx.clock.now();
    const claims = await this.tickets.allowPhone(check, async (r, c, first) => {
      if (!first) return;
      await r.phoneCallbacks.placed(c.rid, check.callId, now);
      if (check.recorded && this.recordings)
        await this.recordings.startIn(r, {
          staffId: c.agt,
          requestId: c.rid,
          fence: c.fence,
          callId: check.callId,
          channels: RECORDING_CHANNELS,
        });
    });
    await this.pipeline.announce([claims.rid]);
    return { requestId: claims.rid, number: claims.tel, callerId: claims.cid };
  }

  /**
   * The SIP server says a call out ended (a BYE from the carrier or the console, a
   * cancel, or the carrier's refusal): the callback shows its latest call ended, once
   * (audited `phone.dial.end`); the request stays with the agent. A report about an
   * earlier call of the callback changes nothing.
   */
  async dialOutEnded(
    callId: string,
    end: { reason: 'carrier_bye' | 'agent_bye' | 'cancel' | 'failed'; status?: number | undefined },
  ): Promise<{ requestId: string; endedAt: string }> {
    const cb = await this.ctx.data.read.phoneCallbacks.byCallId(callId);
    if (!cb) throw notFound('no callback placed that call');
    const reason = END_REASONS[end.reason];
    const now = this.ctx.clock.now();
    const ended = await this.ctx.data.tx(async (r) => {
      if (!(await r.phoneCallbacks.ended(cb.request_id, callId, { reason, status: end.status ?? null }, now)))
        return false;
      await r.audit.append({
        actor: 'sip:trunk',
        action: 'phone.dial.end',
        subject: `request:${cb.request_id}`,
        outcome: 'success',
        data: { callId, reason, ...(end.status !== undefined ? { status: end.status } : {}) },
      });
      return true;
    });
    const after = await this.ctx.data.read.phoneCallbacks.byRequest(cb.request_id);
    if (ended) {
      const holder = (await this.ctx.data.read.requests.get(cb.request_id))?.agent_id;
      await this.pipeline.announce([cb.request_id], holder ? [holder] : []);
    }
    return { requestId: cb.request_id, endedAt: iso(after?.ended_at ?? now) };
  }
}
