import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type {
  MonitorListenOffer,
  MonitorMode,
  MonitorModeResult,
  MonitorUpdateFrame,
  ServerFrame,
} from '../../../protocol/src/index.ts';
import type { AuditTrail } from '../audit/trail.ts';
import type { Ctx } from '../context.ts';
import { badRequest, conflict, DomainError, forbidden, notFound } from '../errors.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { StaffRow } from '../staff/staff-accounts.ts';
import type { Bencodable, Decoded } from './rtpengine-ng.ts';
import { NgClient, NgError } from './rtpengine-ng.ts';

/** What every WebRTC leg rtpengine offers or answers gets: ICE (its address only), DTLS-SRTP, RTCP muxed. */
const WEBRTC: Record<string, string | string[]> = {
  ICE: 'force',
  DTLS: 'passive',
  SDES: ['off'],
  'transport-protocol': 'UDP/TLS/RTP/SAVPF',
  'rtcp-mux': ['require'],
};

type Party = MonitorListenOffer['legs'][number]['party'];
type Tag = { tag: string; label?: string; subscriptions: string[]; medias: number };

/**
 * rtpengine's tags of one supervisor on a call. A "." never occurs in an opaque id, so
 * the prefix names one supervisor; a talk (publication) and the agent's subscription to
 * it share a fresh id, so a new publication never reuses a deleted monologue's tag.
 */
const tags = (staffId: string) => ({
  prefix: `vdmon.${staffId}.`,
  /** One subscription per party: a browser completes DTLS on one m= per unbundled transport only. */
  listen: (leg: number) => `vdmon.${staffId}.listen.${leg}`,
  listenPrefix: `vdmon.${staffId}.listen.`,
  talk: (talkId: string) => `vdmon.${staffId}.talk.${talkId}`,
  agent: (talkId: string) => `vdmon.${staffId}.agent.${talkId}`,
});

/**
 * Supervisor monitoring of calls anchored through Kamailio + rtpengine: listen, whisper,
 * barge and leave, with rtpengine's media forking driven over its ng socket by the
 * authority itself (Kamailio 5.6's rtpengine module has no subscribe commands).
 *
 * Nothing of a monitor is stored here: rtpengine holds the subscriptions (every node
 * talks to the same rtpengine, so any node can serve any step), the audit log holds
 * who did what. The call is found like recording finds it: the recording row the
 * console's verified answer created names the SIP Call-ID; a call from or to the phone
 * network is found by its phone line's Call-ID, recorded or not. Its two parties are the
 * monologues Kamailio labelled "agent" and "customer" (whoever called).
 *
 * - listen: a `subscribe request` of each party to a tag of the supervisor's: one
 *   send-only offer per party (one m= line each: rtpengine 10.5 does not BUNDLE, and
 *   Chromium completed DTLS on only the first m= of a two-party offer); the supervisor's
 *   answers go back as `subscribe answer`.
 * - whisper: the supervisor's microphone is a `publish`ed monologue; the agent's console
 *   gets a `subscribe request` offer of it (a `monitor.update` frame) and answers it.
 *   The customer is never subscribed to it.
 * - barge: the same exchange; the agent's console mixes the supervisor's audio into
 *   what it sends (rtpengine 10.5 forks media but does not mix).
 * - leave: every subscription of the supervisor's tags ends (`unsubscribe`), the
 *   publication is deleted, the agent's console is told.
 */
export class Monitoring extends EventEmitter<{ staff: [staffIds: string[], frame: ServerFrame] }> {
  private readonly ng: NgClient | null;

  constructor(
    private readonly ctx: Ctx,
    private readonly audit: AuditTrail,
  ) {
    super();
    this.ng = ctx.config.rtpengineNg ? new NgClient(ctx.config.rtpengineNg) : null;
  }

  listen(staff: StaffRow, requestId: string): Promise<MonitorListenOffer> {
    return this.audited(staff, requestId, 'listen', async () => {
      const call = await this.callOf(requestId);
      const t = tags(staff.id);
      const known = await this.tagsOf(call.callId);
      const parties = this.parties(known);
      // Listening again (a reload, a new connection): the old subscriptions go first.
      await this.unsubscribe(
        call.callId,
        known.filter((x) => x.tag.startsWith(t.listenPrefix)),
      );
      const legs: MonitorListenOffer['legs'] = [];
      for (const [leg, p] of parties.entries()) {
        const sub = await this.command('subscribe request', {
          'call-id': call.callId,
          'from-tag': p.tag,
          'to-tag': t.listen(leg),
          ...WEBRTC,
        });
        const offer = str(sub.sdp);
        if (!offer) throw conflict('the media server made no offer');
        legs.push({ leg, party: p.party, offer });
      }
      await this.record(staff, requestId, 'monitor.listen', { callId: call.callId, agentId: call.agentId });
      // The site's policy says whether the agent sees a "being monitored" marker while a supervisor listens.
      if (this.ctx.config.monitorNotice) this.tellAgent(staff, requestId, call.agentId, 'listen', null, null);
      return { requestId, legs };
    });
  }

  async listenAnswer(staff: StaffRow, requestId: string, leg: number, answer: string): Promise<void> {
    this.mustSupervise(staff);
    const call = await this.callOf(requestId);
    await this.command('subscribe answer', {
      'call-id': call.callId,
      'to-tag': tags(staff.id).listen(leg),
      sdp: answer,
      ...WEBRTC,
    });
  }

  mode(staff: StaffRow, requestId: string, mode: MonitorMode, offer?: string): Promise<MonitorModeResult> {
    return this.audited(staff, requestId, mode, async () => {
      const call = await this.callOf(requestId);
      const t = tags(staff.id);
      const agentTalks = (await this.tagsOf(call.callId)).filter(
        (x) => x.tag.startsWith(`${t.prefix}agent.`) && x.subscriptions.length > 0,
      );
      const frame = (m: MonitorUpdateFrame['mode'], talkId: string | null, sdp: string | null) =>
        this.tellAgent(staff, requestId, call.agentId, m, talkId, sdp);
      if (mode === 'listen') {
        await this.endTalks(call.callId, agentTalks);
        await this.record(staff, requestId, 'monitor.listen', { callId: call.callId, agentId: call.agentId });
        frame('listen', null, null);
        return { requestId, mode, answer: null, talkId: null };
      }
      let answer: string | null = null;
      let talkId: string;
      let agentOffer: string | null = null;
      if (offer) {
        // A new publication of the supervisor's microphone: the previous one ends.
        await this.endTalks(call.callId, agentTalks);
        talkId = randomBytes(9).toString('base64url');
        const pub = await this.command('publish', {
          'call-id': call.callId,
          'from-tag': t.talk(talkId),
          sdp: offer,
          ...WEBRTC,
        });
        answer = str(pub.sdp);
        const sub = await this.command('subscribe request', {
          'call-id': call.callId,
          'from-tag': t.talk(talkId),
          'to-tag': t.agent(talkId),
          ...WEBRTC,
        });
        agentOffer = str(sub.sdp);
        if (!answer || !agentOffer) throw conflict('the media server made no offer');
      } else {
        const current = agentTalks[agentTalks.length - 1];
        if (!current) throw badRequest(`${mode} needs the offer of your microphone first`);
        talkId = current.tag.slice(`${t.prefix}agent.`.length);
      }
      await this.record(staff, requestId, `monitor.${mode}`, {
        callId: call.callId,
        agentId: call.agentId,
        talkId,
      });
      frame(mode, talkId, agentOffer);
      return { requestId, mode, answer, talkId };
    });
  }

  leave(staff: StaffRow, requestId: string): Promise<void> {
    return this.audited(staff, requestId, 'leave', async () => {
      const call = await this.callOf(requestId);
      const t = tags(staff.id);
      const mine = (await this.tagsOf(call.callId)).filter((x) => x.tag.startsWith(t.prefix));
      await this.endTalks(
        call.callId,
        mine.filter((x) => x.tag.startsWith(`${t.prefix}agent.`)),
      );
      await this.unsubscribe(
        call.callId,
        mine.filter((x) => x.tag.startsWith(t.listenPrefix)),
      );
      await this.record(staff, requestId, 'monitor.leave', { callId: call.callId, agentId: call.agentId });
      this.tellAgent(staff, requestId, call.agentId, 'ended', null, null);
    });
  }

  /** A `monitor.update` frame to the agent holding the call (on whichever node their socket is). */
  private tellAgent(
    staff: StaffRow,
    requestId: string,
    agentId: string,
    mode: MonitorUpdateFrame['mode'],
    talkId: string | null,
    offer: string | null,
  ): void {
    this.emit('staff', [agentId], {
      type: 'monitor.update',
      requestId,
      supervisorId: staff.id,
      supervisorName: staff.display_name,
      mode,
      talkId,
      offer,
      at: new Date(this.ctx.clock.now()).toISOString(),
    } satisfies MonitorUpdateFrame);
  }

  /** The holder's console answers the offer of a supervisor's audio. */
  async agentAnswer(
    staffId: string,
    requestId: string,
    fence: number,
    supervisorId: string,
    talkId: string,
    answer: string,
  ): Promise<void> {
    checkHolder(await this.ctx.data.read.requests.get(requestId), staffId, fence);
    const call = await this.callOf(requestId);
    await this.command('subscribe answer', {
      'call-id': call.callId,
      'to-tag': tags(supervisorId).agent(talkId),
      sdp: answer,
      ...WEBRTC,
    });
  }

  close(): void {
    this.ng?.close();
  }

  // ---- helpers ----------------------------------------------------------------------

  private mustSupervise(staff: StaffRow): void {
    if (staff.role !== 'supervisor' && staff.role !== 'admin')
      throw forbidden('monitoring calls needs the supervisor or admin role');
  }

  /** Role check, then the work; a refusal (role, no call, media server) leaves its audit row. */
  private async audited<T>(
    staff: StaffRow,
    requestId: string,
    action: string,
    work: () => Promise<T>,
  ): Promise<T> {
    try {
      this.mustSupervise(staff);
      return await work();
    } catch (e) {
      if (e instanceof DomainError)
        await this.audit.refused({
          actor: `staff:${staff.id}`,
          action: `monitor.${action}`,
          subject: `request:${requestId}`,
          data: { code: e.code, reason: e.message },
        });
      throw e;
    }
  }

  private async record(
    staff: StaffRow,
    requestId: string,
    action: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    await this.ctx.data.tx(async (r) => {
      await r.audit.append({
        actor: `staff:${staff.id}`,
        action,
        subject: `request:${requestId}`,
        outcome: 'success',
        data,
      });
    });
  }

  /**
   * The request's live call through rtpengine and its holder. The SIP Call-ID is the live
   * recording's (a call to the customer's device, named by the console's verified answer,
   * under the current fence); else, recorded or not, the phone line's: a call from the
   * phone network (put through by Kamailio, always through rtpengine) or the callback's
   * latest call out, while it lasts.
   */
  private async callOf(requestId: string): Promise<{ callId: string; agentId: string }> {
    const read = this.ctx.data.read;
    const req = await read.requests.get(requestId);
    if (!req) throw notFound('no such request');
    if (req.state !== 'assigned' || !req.agent_id) throw conflict('the request has no live call');
    const none = () =>
      conflict('the request has no call through the media server (Kamailio + rtpengine) to monitor');
    if (!this.ng) throw none();
    const rec = await read.recordings.live(requestId);
    if (rec && rec.fence === req.fence) return { callId: rec.call_id, agentId: req.agent_id };
    const phoneIn = await read.phoneCalls.byRequest(requestId);
    if (phoneIn && phoneIn.ended_at === null) return { callId: phoneIn.sip_call_id, agentId: req.agent_id };
    const callOut = await read.phoneCallbacks.byRequest(requestId);
    if (callOut?.sip_call_id && callOut.ended_at === null)
      return { callId: callOut.sip_call_id, agentId: req.agent_id };
    throw none();
  }

  private async command(command: string, args: Record<string, Bencodable | undefined>) {
    if (!this.ng) throw conflict('no media server is configured');
    try {
      return await this.ng.command(command, args);
    } catch (e) {
      if (e instanceof NgError) throw conflict(`the media server refused: ${e.message}`);
      throw e;
    }
  }

  private async tagsOf(callId: string): Promise<Tag[]> {
    const q = await this.command('query', { 'call-id': callId });
    const all = q.tags;
    if (!all || typeof all !== 'object' || Array.isArray(all)) return [];
    return Object.values(all).flatMap((v): Tag[] => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return [];
      const subs = Array.isArray(v.subscriptions) ? v.subscriptions : [];
      return [
        {
          tag: str(v.tag) ?? '',
          label: str(v.label) ?? undefined,
          subscriptions: subs.map(
            (s) => (s && typeof s === 'object' && !Array.isArray(s) ? str(s.tag) : null) ?? '',
          ),
          medias: Array.isArray(v.medias) ? v.medias.length : 0,
        },
      ];
    });
  }

  /** The call's two parties: labelled by Kamailio (agent = caller, customer = callee), else the unlabelled monologues. */
  private parties(known: Tag[]): { tag: string; party: Party }[] {
    const agent = known.find((x) => x.label === 'agent');
    const customer = known.find((x) => x.label === 'customer');
    if (agent && customer)
      return [
        { tag: agent.tag, party: 'agent' },
        { tag: customer.tag, party: 'customer' },
      ];
    const parties = known.filter(
      (x) => !x.tag.startsWith('vdmon.') && x.medias > 0 && x.subscriptions.length > 0,
    );
    if (parties.length === 0) throw conflict('the media server has no media of this call');
    return parties.map((p) => ({ tag: p.tag, party: 'unknown' as const }));
  }

  /**
   * The subscriptions end and their monologues go: a supervisor's monologue left in the
   * call is a branch of its own, and a BYE from the callee would then end only the
   * callee's branch (rtpengine keeps the call, its recording is never closed).
   */
  private async unsubscribe(callId: string, subscribers: Tag[]): Promise<void> {
    for (const x of subscribers) {
      await this.command('unsubscribe', { 'call-id': callId, 'to-tag': x.tag }).catch(() => undefined);
      await this.command('delete', { 'call-id': callId, 'from-tag': x.tag }).catch(() => undefined);
    }
  }

  /** The agent's subscriptions end and their publications go (every monologue of them). */
  private async endTalks(callId: string, agentTags: Tag[]): Promise<void> {
    for (const a of agentTags) {
      await this.unsubscribe(callId, [a]);
      for (const pub of a.subscriptions)
        await this.command('delete', { 'call-id': callId, 'from-tag': pub }).catch(() => undefined);
    }
  }
}

const str = (v: Decoded | undefined): string | null => (typeof v === 'string' ? v : null);
