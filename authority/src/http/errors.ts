import type { ErrorCode } from '../../../protocol/src/index.ts';
import { DomainError, type DomainErrorKind } from '../errors.ts';

export { badRequest, conflict, forbidden, locked, notFound, rateLimited, unauthorized } from '../errors.ts';

/** The one place a domain error kind becomes an HTTP status. */
export const STATUS_OF: Record<DomainErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  too_large: 413,
  unsupported_type: 415,
  locked: 423,
  rate_limited: 429,
  unavailable: 503,
};

/** An error answered as it is (status, code, safe message): domain errors become these at the edge. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }

  static from(e: DomainError): HttpError {
    return new HttpError(
      STATUS_OF[e.kind],
      e.code,
      e.message,
      e.details,
      e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : undefined,
    );
  }
}

/** A domain error as the HTTP error it is answered with; anything else unchanged. */
export const asHttpError = (e: unknown): unknown => (e instanceof DomainError ? HttpError.from(e) : e);
