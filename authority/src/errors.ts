import type { ErrorCode } from '../../protocol/src/index.ts';

/**
 * What went wrong, in the domain's words. The domain throws these; `http/` alone turns
 * a kind into a status code (http/errors.ts `STATUS_OF`), so no service knows HTTP.
 */
export type DomainErrorKind =
  | 'invalid'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'gone'
  | 'too_large'
  | 'unsupported_type'
  | 'locked'
  | 'rate_limited'
  /** a service this one needs (the identity provider) cannot be reached now */
  | 'unavailable';

/** An error whose message is safe to show the client. Anything else becomes a 500 with no detail. */
export class DomainError extends Error {
  constructor(
    readonly kind: DomainErrorKind,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    /** when trying again makes sense (locked, rate_limited) */
    readonly retryAfterSeconds?: number | null,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) =>
  new DomainError('invalid', 'invalid_request', message, details);
export const unauthorized = (message = 'authentication required') =>
  new DomainError('unauthenticated', 'unauthorized', message);
export const forbidden = (message = 'not allowed') => new DomainError('forbidden', 'forbidden', message);
export const notFound = (message = 'not found') => new DomainError('not_found', 'not_found', message);
export const conflict = (message: string) => new DomainError('conflict', 'conflict', message);
export const locked = (message: string, retryAfterSeconds: number | null) =>
  new DomainError('locked', 'locked', message, { retryAfterSeconds }, retryAfterSeconds);
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new DomainError('rate_limited', 'rate_limited', message, { retryAfterSeconds }, retryAfterSeconds);
