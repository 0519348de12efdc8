import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LIMITS } from '../../../protocol/src/index.ts';
import { webAppCsp } from '../../../node-common/csp.ts';

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

/** What every answer says: no MIME sniffing, no Referer to anywhere it links. */
const COMMON_HEADERS = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' } as const;

/** An API answer (JSON, images) is never a page: it loads nothing and may not be framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'";

/** A Host header that can be named in a CSP source (host, IPv4/IPv6 literal, port). */
const PLAIN_HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Security headers on every answer of the authority: nosniff and no-referrer; the
 * customer app under `appPrefix` gets its CSP, everything else API_CSP. (A route may
 * still set its own, e.g. Cache-Control.) Older browsers do not take 'self' to cover
 * ws:/wss:, so the app's origin is also named with those schemes.
 */
export function addSecurityHeaders(
  app: FastifyInstance,
  opts: { appPrefix: string; sipWsUrl?: string },
): void {
  const sipOrigin = opts.sipWsUrl ? new URL(opts.sipWsUrl).origin : null;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(COMMON_HEADERS);
    const path = request.url.split('?')[0]!;
    if (path === opts.appPrefix || path.startsWith(`${opts.appPrefix}/`)) {
      const host = request.headers.host ?? '';
      const self = PLAIN_HOST.test(host) ? [`ws://${host}`, `wss://${host}`] : [];
      reply.header('content-security-policy', webAppCsp([...self, ...(sipOrigin ? [sipOrigin] : [])]));
    } else reply.header('content-security-policy', API_CSP);
    done();
  });
}
