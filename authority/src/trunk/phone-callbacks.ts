import type { CallTickets } from '../calls/call-tickets.ts';
import { iso } from '../clock.ts';
import type { Ctx } from '../context.ts';
import { normalisePhone } from '../customers/phones.ts';
import { badRequest, conflict, DomainError, notFound } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';

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

  /** The SIP server asks before it lets an INVITE out to the trunk. */
  async allowDialOut(check: {
    ticket: string;
    number: string;
    sipUser: string;
    callId: string;
  }): Promise<{ requestId: string; number: string; callerId: string }> {
    const now = this.ctx.clock.now();
    const claims = await this.tickets.allowPhone(check, async (r, c, first) => {
      if (first) await r.phoneCallbacks.placed(c.rid, check.callId, now);
    });
    await this.pipeline.announce([claims.rid]);
    return { requestId: claims.rid, number: claims.tel, callerId: claims.cid };
  }
}
