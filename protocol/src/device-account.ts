import { z } from 'zod';
import { IsoTime, OpaqueId, ShortText } from './common.ts';
import { ConfirmReceipt } from './device-control.ts';
import { route, type RouteDef } from './route-def.ts';

/** The customer's own account on a device: past requests and their outcomes, a receipt, removing this phone. */

export const HISTORY_PAGE = Object.freeze({ defaultSize: 20, maxSize: 50 });

/** Where a page of the history ends: `<enqueuedAt ms>.<requestId>` of its last row. */
export const HistoryCursor = z
  .string()
  .max(160)
  .regex(/^[0-9]{1,15}\.[A-Za-z0-9_-]{16,128}$/, 'a cursor from a previous page (nextCursor)');

export const HistoryQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^(?:[1-9]|[1-4][0-9]|50)$/, `a page size from 1 to ${HISTORY_PAGE.maxSize}`)
    .optional()
    .describe(`Page size, 1 to ${HISTORY_PAGE.maxSize} (default ${HISTORY_PAGE.defaultSize}).`),
  cursor: HistoryCursor.optional().describe('nextCursor of the previous page; absent for the newest page.'),
});
export type HistoryQuery = z.infer<typeof HistoryQuery>;

/**
 * What became of a request: `open` (still waiting, offered, held or booked), `completed`
 * (the agent who took it finished it), `transferred` (finished by another agent it was
 * handed on to: a transfer, take-over or reassign), `abandoned` (ended without being
 * served: cancelled, the session ended, no agent in time).
 */
export const RequestOutcome = z.enum(['open', 'completed', 'transferred', 'abandoned']);
export type RequestOutcome = z.infer<typeof RequestOutcome>;

export const HistoryItem = z
  .strictObject({
    requestId: OpaqueId.describe('The request.'),
    optionLabel: ShortText.describe('What the customer asked for (the menu option).'),
    at: IsoTime.describe('When the customer asked (it joined the queue).'),
    endedAt: IsoTime.nullable().describe('When it ended, or null while open.'),
    outcome: RequestOutcome.describe('What became of it.'),
    agentName: ShortText.nullable().describe(
      'The display name of the agent who held it last (who finished it), or null if nobody took it.',
    ),
    handledBy: z
      .array(ShortText)
      .describe('Everyone who held it, in order (more than one after a transfer).'),
  })
  .meta({ id: 'HistoryItem', description: "One of the customer's requests and what became of it." });
export type HistoryItem = z.infer<typeof HistoryItem>;

export const RequestHistory = z.strictObject({
  requests: z.array(HistoryItem).describe("This page of the customer's requests, newest first."),
  nextCursor: HistoryCursor.nullable().describe(
    'Pass as `cursor` for the next (older) page; null on the last.',
  ),
});
export type RequestHistory = z.infer<typeof RequestHistory>;

export const ReceiptParams = z.strictObject({
  receiptId: z
    .string()
    .regex(/^R-[A-Z0-9]{8,16}$/, 'a receipt number such as R-7K2M9Q4X')
    .describe('The receipt number.'),
});

export const DeviceRevoked = z.strictObject({
  deviceId: z.string().describe('The device removed.'),
  revokedAt: IsoTime.describe('When it was removed.'),
  endedSessions: z.number().int().min(0).describe('Its service sessions that were open and are now ended.'),
  abandonedRequests: z.number().int().min(0).describe('Its requests that were open and are now abandoned.'),
});
export type DeviceRevoked = z.infer<typeof DeviceRevoked>;

export const deviceAccountRoutes = {
  deviceHistory: route({
    method: 'GET',
    path: '/v1/device/history',
    summary: "The customer's past and open requests with their outcomes, newest first, paged",
    description:
      "The requests of this device's customer (from any of its devices), newest first: the option asked for, when, when it ended, the outcome (open, completed, transferred, abandoned) and the agents who held it. Keyset-paged: pass `nextCursor` as `cursor` for older ones. Only the caller's own customer's requests are ever listed. Caller: an authenticated device (device token + Device-Proof). Changes nothing.",
    errors: {
      400: 'invalid_request: `limit` is not 1 to 50, or `cursor` is not a nextCursor of this route.',
    },
    tag: 'device',
    auth: 'device',
    query: HistoryQuery,
    response: RequestHistory,
  }),
  deviceReceipt: route({
    method: 'GET',
    path: '/v1/device/receipts/:receiptId',
    summary: 'One receipt of a transaction the customer confirmed',
    description:
      "The receipt with this number, if it is one of this device's customer's. Caller: an authenticated device (device token + Device-Proof). Changes nothing.",
    errors: {
      400: 'invalid_request: not a receipt number (R- and 8 to 16 capitals or digits).',
      404: "not_found: no such receipt of this customer (another customer's receipt answers the same).",
    },
    tag: 'device',
    auth: 'device',
    params: ReceiptParams,
    response: ConfirmReceipt,
  }),
  revokeDevice: route({
    method: 'POST',
    path: '/v1/device/revoke',
    summary: 'Remove this phone: the device is revoked, its sessions end, its open requests are abandoned',
    description:
      'The customer removes this phone from their account. In one unit: the device is revoked (its key no longer authenticates), its device tokens are revoked, its push subscription is deleted, and an audit row (device.revoke) records what it ends; its open service sessions end (audited session.end, reason "device revoked": sockets close, open commands are cancelled); then its open requests end as abandoned (device_revoked). The customer\'s other devices get nothing to do; to use this phone again it must be enrolled with a new code. Caller: an authenticated device (device token + Device-Proof). Once: afterwards the device\'s credentials answer 401.',
    tag: 'device',
    auth: 'device',
    response: DeviceRevoked,
  }),
} as const satisfies Record<string, RouteDef>;
