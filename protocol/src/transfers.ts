import { z } from 'zod';
import { IsoTime, OpaqueId, ShortText } from './common.ts';
import { ConfigId, RequestView } from './pipeline.ts';
import { StaffRole } from './staff.ts';

/**
 * Transfers and supervisor actions. Ownership of a request moves only with a new
 * fencing number: from that instant the previous holder's commands, call tickets,
 * transfers and wrap-up for the old fence are refused. The authentication record and
 * the service session (with its absolute expiry) stay as they were: the customer is
 * not asked to verify again.
 *
 * - blind to a person (agent or supervisor): the request is offered to that person at
 *   once (state "offered", fence + 1, the normal offer timeout). They accept with the
 *   ordinary accept route; if they reject it or let it time out it waits in its queue,
 *   keeping its original enqueue time (so it is near the front).
 * - blind to a queue: back to "waiting" in the target queue, fence + 1, original
 *   enqueue time and priority kept.
 * - warm (person only): the target gets a consult offer naming the transferring agent;
 *   the transferring agent keeps ownership until the target accepts (then fence + 1),
 *   and may cancel before that. The consult offer expires after WARM_TRANSFER_SECONDS.
 * - supervisor take-over: the supervisor becomes the owner at once (fence + 1).
 * - supervisor reassign: like a blind transfer to the named agent (also for waiting
 *   or offered requests).
 * The previous holder goes back to "available" (or stays offline): no wrap-up is owed
 * for a request that moved on.
 */
export const WARM_TRANSFER_SECONDS = 120;

export const TransferTarget = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('agent'), staffId: OpaqueId }),
  /** The staff member must have the supervisor or admin role. */
  z.strictObject({ kind: z.literal('supervisor'), staffId: OpaqueId }),
  z.strictObject({ kind: z.literal('queue'), queueId: ConfigId }),
]);
export type TransferTarget = z.infer<typeof TransferTarget>;

export const TransferMode = z.enum(['blind', 'warm']);
export const TransferRequest = z.strictObject({
  fence: z.number().int().min(1),
  mode: TransferMode,
  target: TransferTarget,
  note: z.string().max(500).optional(),
});
export type TransferRequest = z.infer<typeof TransferRequest>;

/** offered: a warm consult waiting for the target; completed: ownership left the transferring agent. */
export const TransferState = z.enum(['offered', 'accepted', 'declined', 'cancelled', 'expired', 'completed']);
export type TransferState = z.infer<typeof TransferState>;
export const TransferKind = z.enum(['transfer', 'take_over', 'reassign']);

export const StaffRef = z.strictObject({ staffId: OpaqueId, displayName: ShortText });

export const TransferView = z.strictObject({
  transferId: OpaqueId,
  requestId: OpaqueId,
  kind: TransferKind,
  mode: TransferMode,
  /** Who asked for it (the transferring agent, or the supervisor). */
  by: StaffRef,
  /** The owner the request moves away from (null when it was not assigned). */
  from: StaffRef.nullable(),
  target: z.strictObject({
    kind: z.enum(['agent', 'supervisor', 'queue']),
    staffId: OpaqueId.nullable(),
    queueId: ConfigId.nullable(),
    name: ShortText,
  }),
  state: TransferState,
  note: z.string().max(500).nullable(),
  fromFence: z.number().int(),
  /** The fence ownership moved with (null while a warm consult is open, or when it never moved). */
  toFence: z.number().int().nullable(),
  createdAt: IsoTime,
  expiresAt: IsoTime.nullable(),
  resolvedAt: IsoTime.nullable(),
  request: RequestView,
});
export type TransferView = z.infer<typeof TransferView>;

export const TransferParams = z.strictObject({ transferId: OpaqueId });
/** Cancel a warm transfer (the transferring agent, with its current fence). */
export const CancelTransferRequest = z.strictObject({ fence: z.number().int().min(1) });
export const Transfers = z.strictObject({
  /** Warm consult offers waiting for me. */
  incoming: z.array(TransferView),
  /** My open warm transfers. */
  outgoing: z.array(TransferView),
});

/** Optional guard for supervisor actions: act only if the request is still at the fence the board showed. */
export const TakeOverRequest = z.strictObject({ fence: z.number().int().min(0).optional() });
export const ReassignRequest = z.strictObject({
  staffId: OpaqueId,
  fence: z.number().int().min(0).optional(),
});

/** How a staff member came to hold the request. */
export const CustodyHow = z.enum(['accepted', 'transfer_blind', 'transfer_warm', 'taken_over', 'reassigned']);
export type CustodyHow = z.infer<typeof CustodyHow>;
/** One interval during which one staff member held the session. */
export const CustodyEntry = z.strictObject({
  staffId: OpaqueId,
  displayName: ShortText,
  role: StaffRole,
  fence: z.number().int(),
  how: CustodyHow,
  from: IsoTime,
  until: IsoTime.nullable(),
  /** completed, transferred, taken_over, reassigned, abandoned, ... (null while held). */
  endReason: z.string().max(64).nullable(),
});
export type CustodyEntry = z.infer<typeof CustodyEntry>;
