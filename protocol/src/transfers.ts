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
  z.strictObject({
    kind: z.literal('agent').describe('To a colleague.'),
    staffId: OpaqueId.describe('The colleague (enabled, not you, holding no request and no offer).'),
  }),
  /** The staff member must have the supervisor or admin role. */
  z.strictObject({
    kind: z.literal('supervisor').describe('To a supervisor.'),
    staffId: OpaqueId.describe('A staff member with the supervisor or admin role (free, not you).'),
  }),
  z.strictObject({
    kind: z.literal('queue').describe('Back to a queue (blind only).'),
    queueId: ConfigId.describe('The queue.'),
  }),
]);
export type TransferTarget = z.infer<typeof TransferTarget>;

export const TransferMode = z.enum(['blind', 'warm']);
export const TransferRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  mode: TransferMode.describe(
    'blind: the request moves now; warm: the target gets a consult offer and ownership moves when they accept.',
  ),
  target: TransferTarget.describe('Who or which queue gets it.'),
  note: z.string().max(500).optional().describe('A note for the target.'),
});
export type TransferRequest = z.infer<typeof TransferRequest>;

/** offered: a warm consult waiting for the target; completed: ownership left the transferring agent. */
export const TransferState = z.enum(['offered', 'accepted', 'declined', 'cancelled', 'expired', 'completed']);
export type TransferState = z.infer<typeof TransferState>;
export const TransferKind = z.enum(['transfer', 'take_over', 'reassign']);

export const StaffRef = z.strictObject({
  staffId: OpaqueId.describe('The staff member.'),
  displayName: ShortText.describe('Their display name.'),
});

export const TransferView = z
  .strictObject({
    transferId: OpaqueId.describe('The transfer.'),
    requestId: OpaqueId.describe('The request.'),
    kind: TransferKind.describe('transfer (by the holder), take_over or reassign (by a supervisor).'),
    mode: TransferMode.describe('blind or warm.'),
    /** Who asked for it (the transferring agent, or the supervisor). */
    by: StaffRef.describe('Who asked for it (the transferring agent, or the supervisor).'),
    /** The owner the request moves away from (null when it was not assigned). */
    from: StaffRef.nullable().describe(
      'The holder the request moves away from, or null when it was not assigned.',
    ),
    target: z
      .strictObject({
        kind: z.enum(['agent', 'supervisor', 'queue']).describe('A person or a queue.'),
        staffId: OpaqueId.nullable().describe('The person, or null for a queue.'),
        queueId: ConfigId.nullable().describe('The queue, or null for a person.'),
        name: ShortText.describe("The person's display name or the queue's name."),
      })
      .describe('Where it goes.'),
    state: TransferState.describe(
      'offered (a warm consult waiting for the target), accepted, declined, cancelled, expired, or completed (ownership left the transferring agent).',
    ),
    note: z.string().max(500).nullable().describe('The note for the target, or null.'),
    fromFence: z.number().int().describe('The fencing number before the move.'),
    /** The fence ownership moved with (null while a warm consult is open, or when it never moved). */
    toFence: z
      .number()
      .int()
      .nullable()
      .describe(
        'The fencing number ownership moved with (null while a warm consult is open, or when it never moved).',
      ),
    createdAt: IsoTime.describe('When it was asked for.'),
    expiresAt: IsoTime.nullable().describe('When a warm consult offer lapses, or null.'),
    resolvedAt: IsoTime.nullable().describe(
      'When it was accepted, declined, cancelled, expired or completed, or null.',
    ),
    request: RequestView.describe('The request as it is now.'),
  })
  .meta({
    id: 'TransferView',
    description: 'A transfer, take-over or reassignment of a request, and where it stands.',
  });
export type TransferView = z.infer<typeof TransferView>;

export const TransferParams = z.strictObject({ transferId: OpaqueId.describe('The warm transfer.') });
/** Cancel a warm transfer (the transferring agent, with its current fence). */
export const CancelTransferRequest = z.strictObject({
  fence: z
    .number()
    .int()
    .min(1)
    .describe('The fencing number the transferring agent holds the request under.'),
});
export const Transfers = z.strictObject({
  /** Warm consult offers waiting for me. */
  incoming: z.array(TransferView).describe('Warm consult offers waiting for me.'),
  /** My open warm transfers. */
  outgoing: z.array(TransferView).describe('My open warm transfers.'),
});

/** Optional guard for supervisor actions: act only if the request is still at the fence the board showed. */
const SupervisorFence = z
  .number()
  .int()
  .min(0)
  .optional()
  .describe(
    'Act only if the request is still at this fencing number (the one the board showed); omit to act anyway.',
  );
export const TakeOverRequest = z.strictObject({ fence: SupervisorFence });
export const ReassignRequest = z.strictObject({
  staffId: OpaqueId.describe('The agent to offer it to.'),
  fence: SupervisorFence,
});

/** How a staff member came to hold the request. */
export const CustodyHow = z.enum(['accepted', 'transfer_blind', 'transfer_warm', 'taken_over', 'reassigned']);
export type CustodyHow = z.infer<typeof CustodyHow>;
/** One interval during which one staff member held the session. */
export const CustodyEntry = z.strictObject({
  staffId: OpaqueId.describe('The staff member who held it.'),
  displayName: ShortText.describe('Their display name.'),
  role: StaffRole.describe('Their role.'),
  fence: z.number().int().describe('The fencing number they held it under.'),
  how: CustodyHow.describe('How they came to hold it.'),
  from: IsoTime.describe('Since when.'),
  until: IsoTime.nullable().describe('Until when, or null while held.'),
  /** completed, transferred, taken_over, reassigned, abandoned, ... (null while held). */
  endReason: z
    .string()
    .max(64)
    .nullable()
    .describe('completed, transferred, taken_over, reassigned, abandoned, ... (null while held).'),
});
export type CustodyEntry = z.infer<typeof CustodyEntry>;
