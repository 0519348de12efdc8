import { sipUserForAgent, type PipelineConfig, type RequestView } from '../../../protocol/src/index.ts';
import type { Ctx } from '../context.ts';
import { CallerRecognition, identifiedByAgent } from '../customers/caller-recognition.ts';
import { normalisePhone } from '../customers/phones.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { Recordings } from '../media/recordings.ts';
import { SipServerControl } from './sip-server.ts';
import type { VerificationLinks } from './verification-links.ts';

/** What the SIP server learns about a call from the phone network that passed its gate. */
export interface PhoneInQueued {
  requestId: string;
  queueId: string;
  recognition: string;
  state: 'waiting' | 'offered' | 'assigned';
}

/**
 * Calls from the phone network (issue 14): the SIP server in front of the carrier's trunk
 * (Kamailio, deploy/kamailio) asks what becomes of each call that passed its gate. The
 * number dialled picks the menu option (pipeline configuration `phoneNumbers`); the
 * caller ID is recognised against the customers' numbers, never as proof: the request
 * starts at level 0 with no device, and the agent verifies the caller (security
 * questions, or a link texted to the customer's app: verification-links.ts).
 */
export class PhoneIn {
  private readonly recognition: CallerRecognition;

  constructor(
    private readonly ctx: Ctx,
    private readonly pipeline: Pipeline,
    private readonly config: () => PipelineConfig,
    private readonly recordings: Recordings | null = null,
    private readonly links: VerificationLinks | null = null,
    private readonly sipServer = new SipServerControl(ctx.config.sipServerSecret),
  ) {
    this.recognition = new CallerRecognition(ctx);
  }

  /**
   * The holder puts the caller through: the SIP server holding the call delivers it to the
   * holder's console registration (an incoming call naming the request). Audited.
   */
  async connect(
    staffId: string,
    requestId: string,
    fence: number,
  ): Promise<{ requestId: string; sipUser: string }> {
    const read = this.ctx.data.read;
    checkHolder(await read.requests.get(requestId), staffId, fence);
    const call = await read.phoneCalls.byRequest(requestId);
    if (!call) throw conflict('this request did not come from the phone network: call the customer instead');
    if (call.ended_at !== null) throw conflict('the caller is no longer on the line (they hung up)');
    if (!call.sip_server) throw conflict('the SIP server holding this call did not say where to reach it');
    const sipUser = sipUserForAgent(staffId);
    const outcome = await this.sipServer.deliver(call.sip_server, call.sip_call_id, sipUser, requestId);
    await this.ctx.data.tx((t) =>
      t.audit.append({
        actor: `staff:${staffId}`,
        action: 'phone.connect',
        subject: `request:${requestId}`,
        outcome: outcome === 'delivered' ? 'success' : 'failure',
        ...(outcome === 'gone' ? { reason: 'the caller is no longer held' } : {}),
        data: { fence },
      }),
    );
    if (outcome === 'gone')
      throw conflict('the caller is no longer on the line (hung up, or already put through)');
    // Recorded by the media server (rtpengine records the call it anchors): kept with the
    // request, the customer on channel 0 (they called), the agent on channel 1.
    await this.recordings?.callAnswered(staffId, requestId, fence, call.sip_call_id, ['customer', 'agent']);
    return { requestId, sipUser };
  }

  /**
   * The holder says who an unknown caller is, by a registered number or the customer's
   * reference the caller gives: the request, its session and authentication become that
   * customer's, still at level 0 (what a caller says is never proof: the knowledge
   * questions verify them). Every attempt is audited, those that find nobody too.
   */
  async identify(
    staffId: string,
    requestId: string,
    fence: number,
    by: { number?: string | undefined; reference?: string | undefined },
  ): Promise<{ requestId: string; customerName: string; recognition: string }> {
    const read = this.ctx.data.read;
    const r = checkHolder(await read.requests.get(requestId), staffId, fence);
    const call = await read.phoneCalls.byRequest(requestId);
    if (!call) throw conflict('this request did not come from the phone network');
    if (!(await read.customers.isUnknownCaller(r.customer_id)))
      throw conflict('the caller is identified already');
    const how = by.number !== undefined ? ('number' as const) : ('reference' as const);
    let customerId: string | undefined;
    if (by.number !== undefined) {
      const n = normalisePhone(by.number, this.ctx.config.defaultPhoneRegion);
      if (!n.ok) throw badRequest(`number: ${n.message}`);
      customerId = await read.customers.activeHolderOf(n.e164, null);
    } else customerId = await read.customers.externalRefHolder(by.reference!.trim(), null);
    const customer = customerId === undefined ? undefined : await read.customers.byId(customerId);
    const audit = { actor: `staff:${staffId}`, action: 'phone.identify', subject: `request:${requestId}` };
    if (!customer || customer.deactivated_at !== null) {
      await this.ctx.data.tx((t) =>
        t.audit.append({
          ...audit,
          outcome: 'failure',
          reason: `no active customer has that ${how}`,
          data: { by: how },
        }),
      );
      throw notFound(`no active customer has that ${how === 'number' ? 'phone number' : 'reference'}`);
    }
    const recognition = identifiedByAgent(call.recognition, customer.display_name);
    const moved = await this.ctx.data.tx(async (t) => {
      const ok = await t.customers.rebindUnknownCaller(
        r.customer_id,
        { requestId, sessionId: r.session_id, authenticationId: r.authentication_id },
        customer.id,
      );
      if (!ok) return false;
      await t.phoneCalls.identified(requestId, staffId, recognition, this.ctx.clock.now());
      await t.outbox.emit('caller.identified', { requestId, customerId: customer.id, staffId, by: how });
      await t.audit.append({
        ...audit,
        outcome: 'success',
        data: { by: how, customer: customer.id },
      });
      return true;
    });
    if (!moved) throw conflict('the caller is identified already');
    await this.pipeline.announce([requestId]);
    return { requestId, customerName: customer.display_name, recognition };
  }

  async arrived(call: {
    callId: string;
    caller: string;
    dialled: string;
    sipServer?: string;
  }): Promise<PhoneInQueued> {
    const route = this.routeOf(call.dialled);
    if (!route) throw notFound(`${call.dialled} is not a number this contact center answers`);
    // An unknown caller (no customer holds the number, or it is withheld) queues under a
    // placeholder "Unknown caller" until the agent identifies them (identify).
    const who = await this.recognition.recognise(call.caller);
    // The patent family's flow: a caller whose number is registered to a customer with the
    // app enrolled is texted the verification link as the call joins the queue (unless the
    // number's route says otherwise), so they can verify while they wait. The link is issued
    // in the unit that creates the request (a retried arrival texts nothing) and texted
    // after it, without holding up the SIP server's answer.
    const links = this.links;
    const texted =
      links?.canText && route.linkWhileQueued && who.hasDevice && who.number !== null && who.customerId
        ? { to: who.number, customerId: who.customerId, token: null as string | null }
        : null;
    const view = await this.pipeline.queuePhoneCall(
      {
        sipCallId: call.callId,
        caller: who.number,
        dialled: call.dialled,
        customerId: who.customerId,
        optionId: route.optionId,
        recognition: who.text,
        ...(call.sipServer ? { sipServer: call.sipServer } : {}),
      },
      texted && links
        ? async (t, requestId) => {
            const link = await links.issueIn(t, {
              requestId,
              customerId: texted.customerId,
              sentTo: texted.to,
              actor: 'sip:trunk',
              data: { whileQueued: true, dialled: call.dialled },
            });
            texted.token = link.token;
          }
        : undefined,
    );
    if (texted?.token && links)
      void links
        .textWhileQueued(view.requestId, texted.to, texted.token)
        .catch((e: unknown) => console.error('phone-in: texting the verification link failed:', e));
    return {
      requestId: view.requestId,
      queueId: view.queueId,
      recognition: view.phone?.recognition ?? who.text,
      state: liveState(view),
    };
  }

  /** The caller hung up (CANCEL while waiting, BYE after). */
  async hungUp(
    callId: string,
    how: 'cancel' | 'bye' | 'timeout',
  ): Promise<{ requestId: string; state: 'completed' | 'abandoned' }> {
    const view = await this.pipeline.phoneCallEnded(
      callId,
      how === 'timeout' ? 'sip_timeout' : how === 'bye' ? 'call_ended' : 'caller_hung_up',
    );
    return { requestId: view.requestId, state: view.state === 'completed' ? 'completed' : 'abandoned' };
  }

  /** The configured number the caller dialled (E.164 as configured; digits without "+" or national form accepted). */
  private routeOf(dialled: string) {
    const digits = dialled.replace(/^\+/, '');
    const national = normalisePhone(dialled, this.ctx.config.defaultPhoneRegion);
    return this.config().phoneNumbers.find(
      (p) => p.number.slice(1) === digits || (national.ok && national.e164 === p.number),
    );
  }
}

const liveState = (v: RequestView): PhoneInQueued['state'] =>
  v.state === 'offered' || v.state === 'assigned' ? v.state : 'waiting';
