import { z } from 'zod';
import { OpaqueId, ShortText } from './common.ts';
import { ConfigId, Presence } from './pipeline.ts';
import { ANY_STAFF, route, type RouteDef } from './route-def.ts';
import { StaffRole } from './staff.ts';

/**
 * Who a request can be transferred to, for any staff member (the board with its
 * request details is for supervisors only): colleagues with their presence, and the
 * queues. The authority still checks the target when the transfer is made.
 */
export const TransferTargetStaff = z.strictObject({
  staffId: OpaqueId.describe('The colleague.'),
  displayName: ShortText.describe('Their display name.'),
  role: StaffRole.describe('Their role (a transfer to a supervisor needs supervisor or admin).'),
  presence: Presence.describe('Their presence (offline when they have no agent record).'),
  onShift: z.boolean().describe('Within one of their shifts now.'),
  /** Holding a request or an offer: a transfer to them is refused until they are free (a chat: see chatRoomIn). */
  busy: z
    .boolean()
    .describe(
      'Holding a request or an offer: a transfer to them is refused until they are free, except a chat where chatRoomIn names its queue.',
    ),
  queues: z.array(ConfigId).describe('The queues they serve.'),
  /** Chats they hold now (a busy person may still take a chat beside them: chatRoomIn). */
  chatsHeld: z.number().int().min(0).describe('Chats they hold now.'),
  /** Queues whose chat they can take now beside what they hold (no call, no offer pending, fewer chats than the queue allows). */
  chatRoomIn: z
    .array(ConfigId)
    .describe(
      "The queues whose chat they can take now beside what they hold (no call, no offer pending, fewer chats than the queue's chat capacity); a chat of such a queue may be transferred to them while busy.",
    ),
});
export type TransferTargetStaff = z.infer<typeof TransferTargetStaff>;

export const TransferTargets = z.strictObject({
  /** Every enabled staff member except the caller. */
  staff: z.array(TransferTargetStaff).describe('Every enabled staff member except the caller, by name.'),
  queues: z
    .array(
      z.strictObject({
        queueId: ConfigId.describe('The queue.'),
        name: ShortText.describe("The queue's name."),
      }),
    )
    .describe('Every configured queue.'),
});
export type TransferTargets = z.infer<typeof TransferTargets>;

export const directoryRoutes = {
  transferTargets: route({
    method: 'GET',
    path: '/v1/agent/transfer-targets',
    summary: 'Colleagues (presence, busy) and queues a request can be transferred to',
    description:
      'Who a request can be transferred to: every enabled colleague except the caller with their role, presence, shift and whether they are busy (a transfer to a busy person is refused), and every queue. The transfer itself checks the target again. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.',
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    response: TransferTargets,
  }),
} as const satisfies Record<string, RouteDef>;
