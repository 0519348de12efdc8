import { z } from 'zod';
import {
  ComparePhotoRequest,
  CustomerPanel,
  Dispositions,
  PhotoComparison,
  PhotoParams,
  RequestKnowledgeCheck,
  RequestKnowledgeQuestions,
  RequestKnowledgeResult,
  WrapUpRequest,
  WrapUpResult,
} from './agent-desk.ts';
import { RequestParams } from './pipeline.ts';
import { ANY_STAFF, route, type RouteDef } from './route-def.ts';

/** What the agent console needs beyond the pipeline: the verified-customer panel, photos, dispositions, wrap-ups. */
export const deskRoutes = {
  customerPanel: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/panel',
    summary:
      'The verified-customer panel: verification state, factors, risk flags, photos, secure fields unlocked by level',
    description:
      'Everything the verified-customer panel shows for a request: the request, the customer, how far the verification got against what the request needs (level, factors, expiry), the device, risk signals, photos and their comparison, the secure account fields (values only when the level reaches theirs; locked ones never leave the authority), whether the voice call is bound to the device, and the chain of custody. Caller: the agent it is offered to or held by, or a supervisor or admin. Changes nothing.',
    errors: {
      403: 'forbidden: an agent asking about a request that is not offered to or held by them.',
      404: 'not_found: no such request.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: CustomerPanel,
  }),
  requestPhoto: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/photos/:photoId',
    summary: "A photo of the request's customer (JPEG or PNG bytes)",
    description:
      "A photo (or a screenshot a command asked for) of the request's customer, as JPEG or PNG bytes. Caller: the agent it is offered to or held by, or a supervisor or admin. Changes nothing.",
    errors: {
      403: 'forbidden: an agent asking about a request that is not offered to or held by them.',
      404: 'not_found: no such request, or no such photo of its customer.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: PhotoParams,
    responseKind: 'image',
    response: z.any(),
  }),
  comparePhoto: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/photos/:photoId/comparison',
    summary:
      "Record the holder's comparison of a verification photo with the enrolment photo: a match adds the photo factor (level 2)",
    description:
      'Records the holder\'s comparison of a verification photo of the request\'s authentication with the enrolment photo, once per photo: "match" adds the factor photo (level 2), recorded with who compared; "no_match" is a failed verification. Audited. Fenced: `fence` must be the fencing number the caller holds the request under; after a transfer or take-over the old holder is refused (409 stale_fence), so a stale console cannot act for the new holder. Caller: the staff member holding the request.',
    errors: {
      403: "not_assigned: the caller does not hold the request (somebody else does, or it is not assigned); or the staff member's role is not allowed.",
      404: 'not_found: no such request, or no such verification photo of its authentication.',
      409: 'stale_fence: the fencing number is not the current one; conflict: the photo was already compared; factor_unavailable: a match cannot count now (no enrolment photo, or the PIN or security questions are locked).',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: PhotoParams,
    body: ComparePhotoRequest,
    response: PhotoComparison,
  }),
  requestKnowledgeQuestions: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/knowledge-questions',
    summary: "The security questions to ask the request's caller (never the answers)",
    description:
      "The customer's security questions for the agent to ask the caller (a caller without the app), how many a check must answer, and the lockout so far. The answers never leave the authority. Caller: the agent the request is offered to or held by. Changes nothing.",
    errors: {
      404: 'not_found: no such request offered to or held by the caller.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: RequestKnowledgeQuestions,
  }),
  requestKnowledgeCheck: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/knowledge-checks',
    summary: "Check what the request's caller answered to the security questions",
    description:
      "Checks the answers the caller gave, as the holder typed them (hashed, compared normalised). All right: the factor knowledge is added to the request's authentication and its level rises (device + knowledge: 2; knowledge alone: 1), the panel turns verified live. Wrong: `passed` false; after the configured number of consecutive wrong checks (knowledgeMaxFailures) checks are paused (423). Every check is audited with the agent time spent (never the answers). Fenced like every holder action. Caller: the staff member holding the request.",
    errors: {
      400: "bad_request: fewer answers than needed, a question answered twice, or a question that is not the customer's.",
      403: 'not_assigned: the caller does not hold the request.',
      404: 'not_found: no such request.',
      409: 'stale_fence: the fencing number is not the current one.',
      423: 'locked: too many wrong answers: checks for this customer are paused for `Retry-After` seconds.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: RequestKnowledgeCheck,
    response: RequestKnowledgeResult,
  }),
  dispositions: route({
    method: 'GET',
    path: '/v1/agent/dispositions',
    summary: 'The disposition code tree for wrap-ups',
    description:
      "The disposition code tree the wrap-up's `disposition` path is chosen from. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.",
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    response: Dispositions,
  }),
  wrapUp: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/wrap-up',
    summary: 'Record a wrap-up once (idempotency key): a replay answers the first result with duplicate=true',
    description:
      "Records the wrap-up of a request the caller handled: a disposition path and notes. Sent from the console's outbox, so it may arrive late, after the request ended. Fenced: `fence` is the fencing number the caller handled it under; a request that moved on under that fence (transfer, take-over) belongs to the new holder (409 stale_fence). Idempotent with `idempotencyKey`: a replay answers the first result with `duplicate` true. Caller: the staff member who held the request under that fence.",
    errors: {
      400: 'invalid_request: the body does not match the schema, or the disposition path is not in the tree.',
      409: 'conflict: the caller did not hold the request under that fencing number, or the idempotency key was used for another wrap-up; stale_fence: the request moved on under that fence.',
    },
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: WrapUpRequest,
    response: WrapUpResult,
    status: 201,
  }),
} as const satisfies Record<string, RouteDef>;
