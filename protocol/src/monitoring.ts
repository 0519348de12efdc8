import { z } from 'zod';
import { OpaqueId } from './common.ts';
import { RequestParams } from './pipeline.ts';
import { ANY_STAFF, route } from './route-def.ts';

/**
 * Supervisor monitoring of a call anchored through Kamailio + rtpengine (issue 13 item 4).
 * The authority speaks rtpengine's ng protocol itself (publish / subscribe request /
 * subscribe answer / unsubscribe: Kamailio 5.6's module has no such commands); each
 * route hands back the SDP step of the exchange the browser must answer.
 *
 *   listen:   monitorListen -> rtpengine's send-only offers (one per party) -> the
 *             supervisor's browser answers each -> monitorListenAnswer (subscribe answer)
 *   whisper:  monitorMode {mode, offer}: the supervisor's microphone offer is published,
 *             rtpengine's answer comes back; the agent's console is sent a send-only offer
 *             of that audio (frame `monitor.update`) and answers with monitorAgentAnswer.
 *             The customer receives nothing of it.
 *   barge:    as whisper, and the agent's console mixes the supervisor's audio into what
 *             it sends the customer (rtpengine 10.5 forks media but does not mix).
 *   leave:    monitorLeave: every subscription of the supervisor ends.
 */

/** An SDP body (RFC 8866) of one step of the exchange. */
export const Sdp = z
  .string()
  .min(10)
  .max(16_384)
  .regex(/^v=0\r?\n/, 'must be an SDP body starting with v=0')
  .describe('An SDP body (RFC 8866), as an RTCPeerConnection makes or takes it (no trickle ICE).');

export const MonitorMode = z
  .enum(['listen', 'whisper', 'barge'])
  .describe(
    'listen: the supervisor hears both parties; whisper: also talks to the agent only; barge: all three hear each other.',
  );
export type MonitorMode = z.infer<typeof MonitorMode>;

/** Who each m= line of the listening offer carries. */
export const MonitorParty = z
  .enum(['agent', 'customer', 'unknown'])
  .describe('The party whose audio an m= line carries (unknown: the SIP server did not label it).');

/** A talk exchange: the supervisor's published microphone and the agent's subscription to it. */
export const TalkId = z
  .string()
  .min(8)
  .max(32)
  .regex(/^[A-Za-z0-9_-]+$/)
  .describe("One publication of the supervisor's microphone (a new one for each new offer).");

export const ListenLeg = z
  .number()
  .int()
  .min(0)
  .max(7)
  .describe("One party's subscription of the supervisor (the index in `legs`).");

export const MonitorListenOffer = z.strictObject({
  requestId: OpaqueId.describe('The request whose call is monitored.'),
  legs: z
    .array(
      z.strictObject({
        leg: ListenLeg,
        party: MonitorParty,
        offer: Sdp.describe(
          "rtpengine's send-only offer of this party's audio (one audio m= line). Answer it receive-only (a connection of its own) and post the answer to monitorListenAnswer with `leg`.",
        ),
      }),
    )
    .describe("One subscription per party of the call: the agent's audio, the customer's."),
});
export type MonitorListenOffer = z.infer<typeof MonitorListenOffer>;

export const MonitorAnswerBody = z.strictObject({
  leg: ListenLeg,
  answer: Sdp.describe("The browser's receive-only answer to rtpengine's offer of this leg."),
});

export const MonitorModeBody = z.strictObject({
  mode: MonitorMode,
  offer: Sdp.optional().describe(
    "whisper/barge: the supervisor's send-only offer of their microphone, when they start talking (a new publication); leave it out to only switch between whisper and barge. Ignored for listen.",
  ),
});

export const MonitorModeResult = z.strictObject({
  requestId: OpaqueId.describe('The request whose call is monitored.'),
  mode: MonitorMode,
  answer: Sdp.nullable().describe(
    "rtpengine's answer to `offer` (set it as the talking connection's remote description), or null when no offer was sent.",
  ),
  talkId: TalkId.nullable().describe('The publication the agent was offered, or null (listen).'),
});
export type MonitorModeResult = z.infer<typeof MonitorModeResult>;

export const MonitorAgentAnswerBody = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number under which the agent holds the request.'),
  supervisorId: OpaqueId.describe('The supervisor whose audio the agent was offered (from the frame).'),
  talkId: TalkId,
  answer: Sdp.describe("The agent's receive-only answer to the offer of the `monitor.update` frame."),
});

export const MonitorOk = z.strictObject({
  ok: z.literal(true).describe('Always true: the media server took it.'),
});

/**
 * The WebSocket frame to the agent holding a monitored request: a supervisor started or
 * changed talking to them (`offer` to answer with monitorAgentAnswer when not null), or
 * stopped (`mode` listen or ended: close the supervisor's audio, send the microphone alone).
 */
export const MonitorUpdateFrame = z.strictObject({
  type: z.literal('monitor.update'),
  requestId: OpaqueId,
  supervisorId: OpaqueId,
  supervisorName: z.string().max(200),
  mode: z.enum(['listen', 'whisper', 'barge', 'ended']),
  talkId: TalkId.nullable(),
  offer: Sdp.nullable(),
  at: z.string().max(40),
});
export type MonitorUpdateFrame = z.infer<typeof MonitorUpdateFrame>;

const SUPERVISOR_ONLY =
  'forbidden: the caller is not a supervisor or admin (the refusal is audited); not_assigned for monitorAgentAnswer when the caller does not hold the request.';
const NO_CALL =
  'conflict: the request has no live call through the media server (not assigned, not anchored and recorded through Kamailio + rtpengine, or the media server refused the step).';

export const monitoringRoutes = {
  monitorListen: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/monitor/listen',
    summary: "Starts listening to a request's live call (rtpengine subscribe request)",
    description:
      "The supervisor starts listening to the request's call anchored through Kamailio + rtpengine: the authority asks rtpengine (ng `subscribe request`) for a send-only offer of each party's audio and returns them; the supervisor's browser answers each receive-only and posts the answers to monitorListenAnswer. Listening again replaces the previous listening offer. Audited (`monitor.listen`, refusals too). Caller: a supervisor or admin (an agent gets 403, audited).",
    errors: { 403: SUPERVISOR_ONLY, 404: 'not_found: no such request.', 409: NO_CALL },
    tag: 'supervisor',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: MonitorListenOffer,
  }),
  monitorListenAnswer: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/monitor/listen/answer',
    summary: "The supervisor's browser answers the listening offer (rtpengine subscribe answer)",
    description:
      "Hands the supervisor's receive-only answer to rtpengine (ng `subscribe answer`): media flows from then on. Caller: the supervisor who asked to listen.",
    errors: { 403: SUPERVISOR_ONLY, 404: 'not_found: no such request.', 409: NO_CALL },
    tag: 'supervisor',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: MonitorAnswerBody,
    response: MonitorOk,
  }),
  monitorMode: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/monitor/mode',
    summary: 'Whisper to the agent, barge into the call, or go back to listening only',
    description:
      "whisper: the supervisor's microphone (`offer`, published with ng `publish`) is offered to the agent's console only (ng `subscribe request`; the console answers with monitorAgentAnswer); the customer hears nothing of it. barge: the same, and the agent's console mixes it into what it sends the customer, so all three hear each other (rtpengine 10.5 does not mix audio). listen: the agent's subscription ends; the supervisor keeps listening. The agent's console is told by a `monitor.update` frame. Audited (`monitor.whisper`, `monitor.barge`, `monitor.listen`, refusals too). Caller: a supervisor or admin (an agent gets 403, audited).",
    errors: {
      400: 'invalid_request: whisper or barge without an offer before any publication.',
      403: SUPERVISOR_ONLY,
      404: 'not_found: no such request.',
      409: NO_CALL,
    },
    tag: 'supervisor',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: MonitorModeBody,
    response: MonitorModeResult,
  }),
  monitorLeave: route({
    method: 'POST',
    path: '/v1/supervisor/requests/:requestId/monitor/leave',
    summary: "Stops monitoring a request's call (rtpengine unsubscribe)",
    description:
      "Ends every subscription of the supervisor on the call (ng `unsubscribe`): their listening stream stops, the agent's console is told to drop the supervisor's audio (`monitor.update` ended). Safe to repeat. Audited (`monitor.leave`). Caller: a supervisor or admin (an agent gets 403, audited).",
    errors: { 403: SUPERVISOR_ONLY, 404: 'not_found: no such request.', 409: NO_CALL },
    tag: 'supervisor',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: MonitorOk,
  }),
  monitorAgentAnswer: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/monitor/answer',
    summary: "The agent's console answers the offer of a supervisor's audio (whisper or barge)",
    description:
      "Hands the agent's receive-only answer to the offer of the `monitor.update` frame to rtpengine (ng `subscribe answer`): the supervisor's voice reaches the agent from then on. Fenced: only the holder under the current fencing number. Caller: the agent holding the request.",
    errors: {
      403: 'not_assigned: the caller does not hold the request.',
      409: 'stale_fence: the fencing number is not current; conflict: no such offer on the media server.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: MonitorAgentAnswerBody,
    response: MonitorOk,
  }),
} as const;
