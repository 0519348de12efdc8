import { DomainError, notFound } from '../errors.ts';

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
 * `row`, if `staffId` holds its assignment under `fence`: 404 when there is no row, 403
 * not_assigned when somebody else (or nobody) holds it, 409 stale_fence when the fencing
 * number is not the current one. Callers read the row where their decision needs it (a
 * unit of work, a locked row, committed data).
 */
export function checkHolder<T extends { state: string; agent_id: string | null; fence: number }>(
  r: T | undefined,
  staffId: string,
  fence: number,
): T {
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
