import { z } from 'zod';
import { IsoTime, Ok } from './common.ts';
import { route, type RouteDef } from './route-def.ts';

/**
 * Whether the customer's device can be reached now: online while one of its WebSocket
 * connections to the authority is open or its SIP registration is live; otherwise
 * offline since `lastSeenAt`. `wakeable`: a push subscription (Web Push, or a native
 * token the authority's push webhook delivers) is stored for the device, so the
 * authority can wake it when an agent takes the request.
 */
export const DeviceReachability = z
  .strictObject({
    online: z.boolean().describe('A WebSocket of the device is connected or its SIP registration is live.'),
    lastSeenAt: IsoTime.nullable().describe(
      'When the device was last connected (now when online), or null if never.',
    ),
    wakeable: z.boolean().describe('A push subscription is stored: the authority can wake the device.'),
    wokenAt: IsoTime.nullable()
      .optional()
      .describe('When the authority last sent a wake-up push for this request, or null.'),
  })
  .meta({ id: 'DeviceReachability', description: "Whether the customer's device can be reached now." });
export type DeviceReachability = z.infer<typeof DeviceReachability>;

const B64Url = z
  .string()
  .min(16)
  .max(256)
  .regex(/^[A-Za-z0-9_-]+=*$/, 'base64url');

/** A push channel of one device: Web Push (the customer app) or a native token (the SDK's push hook). */
export const PushSubscriptionBody = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z
      .literal('webpush')
      .describe('A Web Push subscription (RFC 8030, payload encrypted per RFC 8291).'),
    endpoint: z.url().max(2048).describe("The push service's endpoint of the subscription."),
    keys: z
      .strictObject({
        p256dh: B64Url.describe("The subscription's P-256 public key (base64url)."),
        auth: B64Url.describe("The subscription's authentication secret (base64url)."),
      })
      .describe("The subscription's keys (PushSubscription.toJSON().keys), used to encrypt the payload."),
  }),
  z.strictObject({
    kind: z
      .enum(['fcm', 'apns'])
      .describe('A native push token, delivered through the configured push webhook.'),
    token: z.string().min(8).max(4096).describe('The platform push token of the app.'),
  }),
]);
export type PushSubscriptionBody = z.infer<typeof PushSubscriptionBody>;

export const PushConfig = z.strictObject({
  vapidPublicKey: z.string().describe("The authority's VAPID public key (applicationServerKey, base64url)."),
  kinds: z
    .array(z.enum(['webpush', 'fcm', 'apns']))
    .describe('The push kinds the authority can deliver now (native kinds need the push webhook).'),
  subscribed: z.boolean().describe('This device has a stored push subscription.'),
});
export type PushConfig = z.infer<typeof PushConfig>;

/** What the push says (the Web Push payload, JSON, encrypted to the subscription). */
export const WakePayload = z.strictObject({
  type: z.literal('wake'),
  title: z.string(),
  body: z.string(),
  requestId: z.string(),
  sessionId: z.string(),
});
export type WakePayload = z.infer<typeof WakePayload>;

export const pushRoutes = {
  pushConfig: route({
    method: 'GET',
    path: '/v1/device/push',
    summary: "The authority's VAPID key and this device's push state",
    description:
      'The VAPID public key to subscribe with (applicationServerKey), which push kinds can be delivered, and whether this device has a subscription. Caller: an authenticated device. Changes nothing.',
    tag: 'device',
    auth: 'device',
    response: PushConfig,
  }),
  putPushSubscription: route({
    method: 'PUT',
    path: '/v1/device/push',
    summary: "Store this device's push subscription (replaces the previous one)",
    description:
      "Stores how to wake this device when an agent takes its request while it is offline: a Web Push subscription, or a native token (`fcm`/`apns`) the authority hands to its push webhook. Replaces the device's previous subscription; a retry is safe. Caller: an authenticated device.",
    tag: 'device',
    auth: 'device',
    body: PushSubscriptionBody,
    response: Ok,
  }),
  deletePushSubscription: route({
    method: 'DELETE',
    path: '/v1/device/push',
    summary: "Remove this device's push subscription",
    description: 'The device will not be woken any more. A retry is safe. Caller: an authenticated device.',
    tag: 'device',
    auth: 'device',
    response: Ok,
  }),
} as const satisfies Record<string, RouteDef>;
