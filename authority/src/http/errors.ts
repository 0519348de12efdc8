import type { ErrorCode } from '../../../protocol/src/index.ts';

/** An error whose message is safe to show the client. Anything else becomes a 500 with no detail. */
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
}

export const badRequest = (message: string, details?: unknown) =>
  new HttpError(400, 'invalid_request', message, details);
export const unauthorized = (message = 'authentication required') =>
  new HttpError(401, 'unauthorized', message);
export const forbidden = (message = 'not allowed') => new HttpError(403, 'forbidden', message);
export const notFound = (message = 'not found') => new HttpError(404, 'not_found', message);
export const conflict = (message: string) => new HttpError(409, 'conflict', message);
export const locked = (message: string, retryAfterSeconds: number | null) =>
  new HttpError(
    423,
    'locked',
    message,
    { retryAfterSeconds },
    retryAfterSeconds ? { 'retry-after': String(retryAfterSeconds) } : undefined,
  );
export const rateLimited = (message: string, retryAfterSeconds: number) =>
  new HttpError(
    429,
    'rate_limited',
    message,
    { retryAfterSeconds },
    { 'retry-after': String(retryAfterSeconds) },
  );
