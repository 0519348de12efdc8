import { DomainError, notFound } from '../errors.ts';
import type { RequestRow, RequestStore } from './requests.ts';

/** Lease end reasons that mean "ownership moved to somebody else" (no wrap-up is owed for that fence). */
export const MOVED_REASONS = ['transferred', 'taken_over', 'reassigned'] as const;

export const notAssigned = (message = 'this request is not assigned to you') =>
  new DomainError('forbidden', 'not_assigned', message);
export const staleFence = (fence: number, current: number) =>
  new DomainError('conflict', 'stale_fence', `stale fencing number ${fence} (current ${current})`, {
    fence,
    current,
  });

/**
 * The request, if `staffId` holds its assignment under `fence` right now: 404 when it
 * does not exist, 403 not_assigned when somebody else (or nobody) holds it, 409
 * stale_fence when the fencing number is not the current one.
 */
export function requireHolder(
  requests: RequestStore,
  staffId: string,
  requestId: string,
  fence: number,
): RequestRow {
  const r = requests.get(requestId);
  if (!r) throw notFound('no such request');
  if (r.state !== 'assigned' || r.agent_id !== staffId)
    throw notAssigned(
      r.agent_id && r.agent_id !== staffId
        ? 'this request is held by somebody else now'
        : `this request is not assigned to you (state ${r.state})`,
    );
  if (r.fence !== fence) throw staleFence(fence, r.fence);
  return r;
}
