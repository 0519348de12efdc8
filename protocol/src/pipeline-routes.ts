import { z } from 'zod';
import { Ok, OpaqueId } from './common.ts';
import {
  AgentProfile,
  AgentSchedule,
  AgentStats,
  AgentStatsQuery,
  AgentView,
  Board,
  CallbackSlots,
  CreateRequest,
  CreateRequestResult,
  FenceBody,
  LiveMenu,
  PipelineConfig,
  QueueSnapshot,
  RequestParams,
  RequestView,
  SetCallbackRequest,
  SetPresenceRequest,
  SlotsQuery,
} from './pipeline.ts';
import { ADMIN, ANY_STAFF, route, SUPERVISORS, type RouteDef } from './route-def.ts';
import {
  CallAnswerRequest,
  CallAnswerResult,
  CallEndRequest,
  CallEndResult,
  SipCallEndRequest,
  SipCallEndResult,
  CallProofRequest,
  CallProofResult,
  CallTicket,
  CallTicketRequest,
} from './calls.ts';

const StaffParams = z.strictObject({ staffId: OpaqueId });

/** Menus, service requests, queues, agent presence, offers under leases, callbacks, the supervisor board. */
export const pipelineRoutes = {
  deviceMenu: route({
    method: 'GET',
    path: '/v1/device/menu',
    summary:
      'The service menu, live: options nobody can serve are hidden, the rest carry their estimated wait',
    description:
      'The service menu as this device may use it now: options nobody can serve (no agent with the queue and skills, now or on a later shift) are left out, the rest carry their level, availability and estimated wait. Caller: an authenticated device (device token + Device-Proof). Changes nothing; live changes arrive on the WebSocket.',
    tag: 'pipeline',
    auth: 'device',
    response: LiveMenu,
  }),
  createRequest: route({
    method: 'POST',
    path: '/v1/device/requests',
    summary: 'Ask for help with a menu option: queued, or the factors still needed for its level',
    description:
      "Asks for help with a menu option. When the current authentication is below the option's level nothing is queued and the answer says which factors would reach it (`step_up_required`); otherwise a service session is opened and the request joins its queue (priority rules may raise it or move it) and the answer carries it (`queued`). A verification photo waiting for the agent's comparison may carry a request of level 2 or less. Caller: an authenticated device (device token + Device-Proof). Idempotent with `idempotencyKey`: a retry with the same key answers the same request.",
    errors: {
      404: 'not_found: no menu option with this `optionId`.',
    },
    tag: 'pipeline',
    auth: 'device',
    body: CreateRequest,
    response: CreateRequestResult,
  }),
  deviceRequest: route({
    method: 'GET',
    path: '/v1/device/requests/:requestId',
    summary: 'The device’s own request: position, estimated wait, callback',
    description:
      "The device's own request: state, queue position, estimated wait, callback, the agent's name once offered or assigned. Caller: an authenticated device (device token + Device-Proof). Changes nothing.",
    errors: {
      404: 'not_found: no such request of this device.',
    },
    tag: 'pipeline',
    auth: 'device',
    params: RequestParams,
    response: RequestView,
  }),
  cancelRequest: route({
    method: 'POST',
    path: '/v1/device/requests/:requestId/cancel',
    summary: 'The customer leaves: the request is abandoned',
    description:
      'The customer leaves: the request is abandoned (an agent holding it goes to wrap-up) and its service session ends (open device commands are cancelled). Caller: an authenticated device (device token + Device-Proof). Idempotent for an abandoned request.',
    errors: {
      404: 'not_found: no such request of this device.',
      409: 'conflict: the request is already completed.',
    },
    tag: 'pipeline',
    auth: 'device',
    params: RequestParams,
    response: RequestView,
  }),
  callbackSlots: route({
    method: 'GET',
    path: '/v1/device/requests/:requestId/callback-slots',
    summary: 'Callback slots of a day, from agent schedules, handling times and bookings',
    description:
      "The callback slots of a UTC day for this request's queue and skills, from agent schedules, measured handling times and the bookings already made, with how many more each can take. Caller: an authenticated device (device token + Device-Proof). Counts as activity on the request's session.",
    errors: {
      401: "unauthorized: the credentials are not valid, or the request's service session has ended or expired.",
      404: 'not_found: no such request of this device.',
    },
    tag: 'callbacks',
    auth: 'device',
    params: RequestParams,
    query: SlotsQuery,
    response: CallbackSlots,
  }),
  setCallback: route({
    method: 'PUT',
    path: '/v1/device/requests/:requestId/callback',
    summary: 'Keep my place (optionally within an availability window) or book/move a slot',
    description:
      'Instead of waiting on the line: keep the place in the queue (optionally only within an availability window), or book a free callback slot (or move the booking). The request keeps its original enqueue time. Caller: an authenticated device (device token + Device-Proof). A slot is never overbooked: the check and the booking are one transaction.',
    errors: {
      400: 'invalid_request: the body does not match the schema, or the window does not end after it starts, in the future.',
      401: "unauthorized: the credentials are not valid, or the request's service session has ended or expired.",
      404: 'not_found: no such request of this device.',
      409: 'conflict: the request is assigned, completed or abandoned; the slot is full or not a slot; or the request changed meanwhile.',
    },
    tag: 'callbacks',
    auth: 'device',
    params: RequestParams,
    body: SetCallbackRequest,
    response: RequestView,
  }),

  agentMe: route({
    method: 'GET',
    path: '/v1/agent/me',
    summary: 'The agent’s presence, skills, queues, current offer and request',
    description:
      "The caller's agent state: presence and since when, skills, queues, whether on shift, the offer waiting (with its fence) and the request held. The agent record is created on first use. Caller: any logged-in staff member (agent, supervisor, admin).",
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    response: AgentView,
  }),
  setPresence: route({
    method: 'PUT',
    path: '/v1/agent/presence',
    summary: 'Go available, on break (with a reason code) or offline',
    description:
      "Sets the caller's presence: available (ready for offers), on a break with a reason code, or offline. In wrap-up a break is the next status (`nextPresence`): the agent stays in wrap-up and the break starts when it ends; available then takes the next status back. Audited. Caller: any logged-in staff member (agent, supervisor, admin). Idempotent.",
    errors: {
      409: 'conflict: still holding a request (only offline is allowed), or the wrap-up of the last request is not recorded yet.',
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    body: SetPresenceRequest,
    response: AgentView,
  }),
  agentStats: route({
    method: 'GET',
    path: '/v1/agent/stats',
    summary: 'My stats: requests handled and the average handling time since a start (today)',
    description:
      "The caller's own figures since `since` (default the start of the UTC day): how many requests they completed and the average time they held them (accept, take-over or transfer to completion). Caller: any logged-in staff member (agent, supervisor, admin), about themselves only. Changes nothing.",
    errors: {
      400: 'invalid_request: `since` is not an ISO time, is in the future or more than 31 days back.',
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    query: AgentStatsQuery,
    response: AgentStats,
  }),
  agentQueues: route({
    method: 'GET',
    path: '/v1/agent/queues',
    summary: 'Snapshot of the agent’s queues',
    description:
      "Statistics of the caller's queues and their live requests, in queue order. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.",
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    response: QueueSnapshot,
  }),
  acceptOffer: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/accept',
    summary: 'Accept an offer (fencing number required): the agent owns the session',
    description:
      "Accepts the offer made to the caller: the request becomes assigned to them and they become busy; the customer's panel, commands, calls and wrap-up are then theirs. Fenced: `fence` must be the fencing number of the offer or assignment; an older one is refused (409), so a stale console cannot act for a new holder. Audited. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      404: 'not_found: no such request.',
      409: 'conflict or stale_fence: the request is not offered to the caller, the fencing number is not the current one, or the offer has expired or was withdrawn.',
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: RequestView,
  }),
  rejectOffer: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/reject',
    summary: 'Reject an offer: it goes to the next agent, this one to "missed"',
    description:
      "Rejects the offer: the request goes back to waiting (for the next agent) and the caller's presence becomes missed. Fenced: `fence` must be the fencing number of the offer or assignment; an older one is refused (409), so a stale console cannot act for a new holder. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      404: 'not_found: no such request.',
      409: 'conflict: the request is not offered to the caller under this fencing number, or the offer has expired or was withdrawn.',
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: Ok,
  }),
  completeRequest: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/complete',
    summary:
      'Finish the request (fencing number required): the session ends, the agent goes to wrap-up; when the customer left first it answers the request as abandoned and the wrap-up is still owed',
    description:
      "Finishes the assigned request: it becomes completed, its service session ends and the caller goes to wrap-up. When the customer left first the request stays abandoned (that is the answer's state) and the wrap-up is still owed. Fenced: `fence` must be the fencing number of the offer or assignment; an older one is refused (409), so a stale console cannot act for a new holder. Idempotent: completing a completed request answers it again. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      404: 'not_found: no such request.',
      409: "conflict: the request is not the caller's under this fencing number, or the customer left before the caller accepted it.",
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: RequestView,
  }),
  callTicket: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/call-ticket',
    summary:
      'A short-lived call ticket, signed by the authority, for calling the device of an assigned request',
    description:
      "Issues a short-lived call ticket, signed by the authority, for calling the device of the caller's assigned request: put it in the X-VD-Call-Ticket header of the SIP INVITE; the device rings only for a ticket that verifies, names it and is new. Recorded and audited. Fenced: `fence` must be the fencing number of the offer or assignment; an older one is refused (409), so a stale console cannot act for a new holder. Each call issues a new ticket. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      404: 'not_found: no such request.',
      409: 'conflict: the caller does not hold the request under this fencing number, or the request has no device to call.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: CallTicketRequest,
    response: CallTicket,
    status: 201,
  }),
  callAnswer: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/call-answers',
    summary:
      "The console reports the device proof found on the call's 200 OK (or its absence); the authority checks and audits it",
    description:
      "The console reports the device proof found on the call's 200 OK (X-VD-Device-Proof), or null when there was none. The authority checks it against the ticket and the device's key and records it: `verified` true binds the voice call to the verified device (the panel shows it), false is audited with the reason. Fenced: `fence` must be the fencing number of the offer or assignment; an older one is refused (409), so a stale console cannot act for a new holder. Idempotent. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      401: 'unauthorized: the staff token is not valid, or the call ticket does not verify.',
      409: 'conflict or stale_fence: the ticket was issued to another agent or request, or under another fencing number, or its agent no longer holds the request.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: CallAnswerRequest,
    response: CallAnswerResult,
  }),
  callEnd: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/call-ends',
    summary:
      "The console's call to the device ended: the agent has room for other requests again (a call takes the whole capacity)",
    description:
      "The console reports that its call to the request's device (the call of this ticket) ended, hung up on either side. From the device's proof of the ticket until this report the call takes the agent's whole capacity: no other request is offered or transferred to them, even when the request is a chat. Fenced: the ticket must have been issued to the caller for this request under `fence` (409 otherwise, audited); once the request moved on (transfer, completion) the call no longer counts anyway, and its end is still recorded. Idempotent: a second report answers `ended` false with the first end. Caller: any logged-in staff member (agent, supervisor, admin).",
    errors: {
      404: 'not_found: no such call ticket.',
      409: 'conflict: the ticket was issued to another agent or request, or under another fencing number.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: CallEndRequest,
    response: CallEndResult,
  }),
  sipCallEnd: route({
    method: 'POST',
    path: '/v1/sip/call-ends',
    summary:
      "The SIP server saw a device call's dialog end: the agent has room again without the console's report",
    description:
      "The SIP server (Kamailio, `event_route[dialog:end]`) says the dialog of a call whose INVITE carried this call ticket ended: a BYE from either side, or the server ended it itself (a party's connection gone). The same end as the console's report (callEnd), so a console that closed or crashed mid-call does not keep its agent at full capacity: the ticket's call is recorded ended (proven or not yet: a later proof never makes it live), audited `call.end` by `system:sip-server`, and waiting requests are offered. Only while the ticket is current: `sipUser` must be the ticket's agent, who still holds the request under the ticket's fencing number (409 otherwise, audited). Idempotent: whichever of the console and the SIP server reports first records the end; a repeat answers `ended` false with the first end. Caller: the SIP server only.",
    errors: {
      401: 'unauthorized: not the SIP server (the shared secret is missing or wrong, or none is configured).',
      404: 'not_found: no such call ticket.',
      409: "conflict: the ticket was issued to another agent than `sipUser`; stale_fence: the ticket's agent no longer holds the request under the ticket's fencing number (the call no longer counts anyway).",
    },
    tag: 'sip',
    auth: 'sipServer',
    body: SipCallEndRequest,
    response: SipCallEndResult,
  }),
  callProof: route({
    method: 'POST',
    path: '/v1/device/call-proofs',
    summary:
      'The device proves, with its key, that it answered the call of this ticket (binds voice to the verified device)',
    description:
      "The device proves with its key that it answered the call of this ticket (the same proof it puts on the 200 OK); the authority verifies ticket and proof and records the call as verified. Caller: an authenticated device (device token + Device-Proof). Idempotent while the ticket's agent still holds the request.",
    errors: {
      401: "unauthorized: the device credentials are not valid, or the ticket or the proof does not verify, or the ticket is not this device's.",
      409: 'conflict or stale_fence: the request moved on since the ticket was issued (another fencing number or holder).',
    },
    tag: 'calls',
    auth: 'device',
    body: CallProofRequest,
    response: CallProofResult,
    status: 201,
  }),
  getRequest: route({
    method: 'GET',
    path: '/v1/requests/:requestId',
    summary: 'A service request',
    description:
      'A service request by id. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.',
    errors: {
      404: 'not_found: no such request.',
    },
    tag: 'agents',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: RequestView,
  }),

  board: route({
    method: 'GET',
    path: '/v1/supervisor/board',
    summary: 'All queues, waiting requests and agents',
    description:
      'Every queue with its statistics, every live request in queue order and every agent. Caller: a supervisor or an admin. Changes nothing; live changes arrive on the WebSocket.',
    tag: 'supervisor',
    auth: 'staff',
    roles: SUPERVISORS,
    response: Board,
  }),
  setAgentPresence: route({
    method: 'PUT',
    path: '/v1/supervisor/agents/:staffId/presence',
    summary: 'Set an agent’s presence',
    description:
      "Sets an agent's presence (available, break with a reason code, offline), as the agent could. Audited with the supervisor as actor. Caller: a supervisor or an admin. Idempotent.",
    errors: {
      404: 'not_found: no such staff member.',
      409: 'conflict: the agent still holds a request (only offline is allowed) or owes a wrap-up.',
    },
    tag: 'supervisor',
    auth: 'staff',
    roles: SUPERVISORS,
    params: StaffParams,
    body: SetPresenceRequest,
    response: AgentView,
  }),

  getPipelineConfig: route({
    method: 'GET',
    path: '/v1/admin/pipeline',
    summary: 'Queues, service menu and priority rules',
    description:
      'The pipeline configuration: company name, queues, service menu, priority rules, secure field levels, dispositions and the verification policy. Caller: an admin. Changes nothing.',
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    response: PipelineConfig,
  }),
  putPipelineConfig: route({
    method: 'PUT',
    path: '/v1/admin/pipeline',
    summary: 'Replace queues, service menu and priority rules',
    description:
      'Replaces the whole pipeline configuration (validated: menu ids unique, leaves and rules name known queues) and applies it at once; defaults fill the omitted lists. Audited. Caller: an admin. Idempotent.',
    errors: {
      400: 'invalid_request: the body does not match the schema, a menu id is used twice, or a menu option or rule names an unknown queue.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    body: PipelineConfig,
    response: PipelineConfig,
  }),
  setAgentProfile: route({
    method: 'PUT',
    path: '/v1/admin/agents/:staffId/profile',
    summary: 'An agent’s skills (with levels) and queue memberships',
    description:
      "Replaces an agent's skills (with levels) and queue memberships; offers follow them at once. Caller: an admin. Idempotent.",
    errors: {
      404: 'not_found: no such staff member.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: StaffParams,
    body: AgentProfile,
    response: AgentView,
  }),
  setAgentSchedule: route({
    method: 'PUT',
    path: '/v1/admin/agents/:staffId/schedule',
    summary: 'An agent’s shifts',
    description:
      "Replaces an agent's shifts; on-shift state, wait estimates and callback slots follow them. Caller: an admin. Idempotent.",
    errors: {
      404: 'not_found: no such staff member.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: StaffParams,
    body: AgentSchedule,
    response: AgentView,
  }),
} as const satisfies Record<string, RouteDef>;
