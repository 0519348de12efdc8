import { z } from 'zod';
import {
  ComparePhotoRequest,
  CustomerPanel,
  Dispositions,
  PhotoComparison,
  PhotoParams,
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
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: PhotoParams,
    body: ComparePhotoRequest,
    response: PhotoComparison,
  }),
  dispositions: route({
    method: 'GET',
    path: '/v1/agent/dispositions',
    summary: 'The disposition code tree for wrap-ups',
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    response: Dispositions,
  }),
  wrapUp: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/wrap-up',
    summary: 'Record a wrap-up once (idempotency key): a replay answers the first result with duplicate=true',
    tag: 'console',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: WrapUpRequest,
    response: WrapUpResult,
    status: 201,
  }),
} as const satisfies Record<string, RouteDef>;
