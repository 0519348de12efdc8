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
  staffId: OpaqueId,
  displayName: ShortText,
  role: StaffRole,
  presence: Presence,
  onShift: z.boolean(),
  /** Holding a request or an offer: a transfer to them is refused until they are free. */
  busy: z.boolean(),
  queues: z.array(ConfigId),
});
export type TransferTargetStaff = z.infer<typeof TransferTargetStaff>;

export const TransferTargets = z.strictObject({
  /** Every enabled staff member except the caller. */
  staff: z.array(TransferTargetStaff),
  queues: z.array(z.strictObject({ queueId: ConfigId, name: ShortText })),
});
export type TransferTargets = z.infer<typeof TransferTargets>;

export const directoryRoutes = {
  transferTargets: route({
    method: 'GET',
    path: '/v1/agent/transfer-targets',
    summary: 'Colleagues (presence, busy) and queues a request can be transferred to',
    tag: 'transfers',
    auth: 'staff',
    roles: ANY_STAFF,
    response: TransferTargets,
  }),
} as const satisfies Record<string, RouteDef>;
