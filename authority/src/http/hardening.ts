import type { FastifyReply, FastifyRequest } from 'fastify';
import { LIMITS } from '../../../protocol/src/index.ts';

/**
 * The most bytes of an over-limit request body that are read and thrown away so that
 * its 413 reaches the client. Closing with unread bytes in the socket makes the kernel
 * send a reset, which a client still writing the body sees as EPIPE or ECONNRESET,
 * often before it has read the answer (RFC 9112 section 9.6 asks for a lingering
 * close instead). A body declared larger than this, or streaming past it, has its
 * connection closed: no client of this API sends one.
 */
export const OVERSIZE_DRAIN_BYTES = 4 * LIMITS.photoBytes;

/**
 * For fastify's "body too large" error (413), before the reply is sent: keep the
 * connection open and read the rest of the body into nowhere, instead of the
 * `Connection: close` fastify asks for, up to OVERSIZE_DRAIN_BYTES. The connection
 * then serves the next request as usual.
 */
export function drainOversizeBody(request: FastifyRequest, reply: FastifyReply): void {
  const raw = request.raw;
  if (raw.complete || raw.destroyed) return;
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > OVERSIZE_DRAIN_BYTES) return;
  reply.removeHeader('connection');
  let seen = 0;
  raw.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > OVERSIZE_DRAIN_BYTES) raw.socket?.destroy();
  });
  raw.resume();
}
