import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { ATTACHMENT_TYPES, PHOTO_TYPES, LIMITS, type RouteDef } from '../../../protocol/src/index.ts';
import type { DevicePrincipal } from '../identity/devices.ts';
import type { Services } from '../services.ts';
import type { StaffPrincipal } from '../staff/staff-accounts.ts';
import { DomainError } from '../errors.ts';
import { badRequest, forbidden, HttpError, unauthorized } from './errors.ts';

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;

/** The SIP server in front of the phone network's trunk, proven by the secret it shares with the authority. */
export interface SipServerPrincipal {
  kind: 'sipServer';
}

export type PrincipalFor<R extends RouteDef> = R['auth'] extends 'device'
  ? DevicePrincipal
  : R['auth'] extends 'staff'
    ? StaffPrincipal
    : R['auth'] extends 'deviceOrStaff'
      ? DevicePrincipal | StaffPrincipal
      : R['auth'] extends 'sipServer'
        ? SipServerPrincipal
        : null;

/** Constant-time comparison of the bearer secret with the configured one (none configured: nobody). */
function isSipServer(authz: string | undefined, secret: string | undefined): boolean {
  if (!secret || !authz?.startsWith('Bearer ')) return false;
  const given = createHash('sha256').update(authz.slice('Bearer '.length)).digest();
  return timingSafeEqual(given, createHash('sha256').update(secret).digest());
}

export interface HandlerInput<R extends RouteDef> {
  params: Out<R['params']>;
  query: Out<R['query']>;
  body: R['bodyKind'] extends 'image' | 'file' ? Buffer : Out<R['body']>;
  contentType: string;
  principal: PrincipalFor<R>;
  request: FastifyRequest;
}

export type Handler<R extends RouteDef> = (
  input: HandlerInput<R>,
) => Promise<z.input<R['response']>> | z.input<R['response']>;
export type Handlers<T extends Record<string, RouteDef>> = { [K in keyof T]: Handler<T[K]> };

const parseWith = (schema: z.ZodType | undefined, value: unknown, where: string): unknown => {
  if (!schema) return undefined;
  const r = schema.safeParse(value ?? {});
  if (!r.success)
    throw badRequest(
      `invalid ${where}: ${r.error.issues.map((i) => `${i.path.join('.') || where}: ${i.message}`).join('; ')}`.slice(
        0,
        1000,
      ),
      r.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String), message: i.message })),
    );
  return r.data;
};

const isEmptyBody = (b: unknown): boolean =>
  b === undefined ||
  b === null ||
  (typeof b === 'object' && !Array.isArray(b) && !Buffer.isBuffer(b) && Object.keys(b).length === 0);
/** fastify never parses a GET body (request.body stays undefined), so look at the framing headers too. */
const carriesUnparsedBody = (req: FastifyRequest): boolean =>
  req.body === undefined &&
  (req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0);

async function authenticate(
  svc: Services,
  r: RouteDef,
  req: FastifyRequest,
): Promise<DevicePrincipal | StaffPrincipal | SipServerPrincipal | null> {
  if (r.auth === 'public') return null;
  const authz = req.headers.authorization;
  if (r.auth === 'sipServer') {
    if (!isSipServer(authz, svc.ctx.config.sipServerSecret)) throw unauthorized('not the SIP server');
    return { kind: 'sipServer' };
  }
  const htu = req.url;
  let principal: DevicePrincipal | StaffPrincipal;
  if (r.auth === 'device' || (r.auth === 'deviceOrStaff' && authz?.startsWith('Device '))) {
    const proof = req.headers['device-proof'];
    principal = await svc.devices.verifyRequest(
      authz,
      Array.isArray(proof) ? undefined : proof,
      req.method,
      htu,
    );
    if (!svc.authentications.isLive(principal.authentication))
      throw unauthorized('authentication expired: authenticate again');
  } else if (r.auth === 'staff' || r.auth === 'deviceOrStaff') {
    principal = await svc.staff.verifyAccess(authz);
    await svc.pipeline.touchAgent(principal.staff.id, principal.lastSeenAt);
    if (r.roles && !r.roles.includes(principal.staff.role))
      throw forbidden(`requires role ${r.roles.join(' or ')}`);
  } else {
    throw unauthorized();
  }
  return principal;
}

/** A file name safe inside a quoted Content-Disposition filename (the exact name goes in filename*). */
const asciiName = (name: string): string => name.replace(/[^\x20-\x7e]|["\\]/g, '_');

/**
 * Bind one handler per route of the table: params, query and body are validated with
 * the route's zod schemas (unknown fields refused), the caller is authenticated and
 * its role checked, and the answer is validated against the response schema.
 */
export function bindRoutes<T extends Record<string, RouteDef>>(
  app: FastifyInstance,
  svc: Services,
  table: T,
  handlers: Handlers<T>,
): void {
  for (const [id, r] of Object.entries(table) as [keyof T & string, RouteDef][]) {
    const handler = handlers[id] as unknown as Handler<RouteDef>;
    app.route({
      method: r.method,
      url: r.path,
      ...(r.bodyKind === 'image' ? { bodyLimit: LIMITS.photoBytes } : {}),
      ...(r.bodyKind === 'file' ? { bodyLimit: svc.ctx.config.chatAttachmentMaxBytes } : {}),
      handler: async (request, reply) => {
        // Answers carry tokens, secrets, personal data or live state: no cache keeps one (RFC 6749 section 5.1).
        reply.headers(NO_STORE);
        // Who is asking comes first: an anonymous caller learns nothing about the input rules.
        const principal = await authenticate(svc, r, request);
        const contentType = String(request.headers['content-type'] ?? '')
          .split(';')[0]!
          .trim()
          .toLowerCase();
        if (r.bodyKind === 'image') {
          if (!(PHOTO_TYPES as readonly string[]).includes(contentType) || !Buffer.isBuffer(request.body))
            throw badRequest('body must be an image/jpeg or image/png');
        } else if (r.bodyKind === 'file') {
          // Checked below, after the path and query.
        } else if (r.bodyKind === 'form' && contentType !== 'application/x-www-form-urlencoded') {
          throw new DomainError(
            'unsupported_type',
            'unsupported_media_type',
            'body must be application/x-www-form-urlencoded',
          );
        } else if (
          r.bodyKind !== 'form' &&
          contentType === 'application/x-www-form-urlencoded' &&
          request.body !== undefined
        ) {
          // Only the routes declared to take a form read one (the parser is there for them).
          throw new DomainError(
            'unsupported_type',
            'unsupported_media_type',
            r.body ? 'body must be application/json' : 'this operation takes no body',
          );
        } else if (!r.body && (!isEmptyBody(request.body) || carriesUnparsedBody(request))) {
          throw badRequest('this operation takes no body');
        }
        const params = parseWith(r.params, request.params, 'path parameters');
        if (!r.query && request.query && Object.keys(request.query as object).length > 0)
          throw badRequest('this operation takes no query parameters');
        const query = parseWith(r.query, r.query ? request.query : undefined, 'query');
        if (r.bodyKind === 'file') {
          if (request.body === undefined || (Buffer.isBuffer(request.body) && request.body.length === 0))
            throw badRequest('the body is empty: send the file');
          if (
            !(ATTACHMENT_TYPES as readonly string[]).includes(contentType) ||
            !Buffer.isBuffer(request.body)
          )
            throw new HttpError(
              415,
              'unsupported_media_type',
              `body must be one of ${ATTACHMENT_TYPES.join(', ')}`,
            );
        }
        const body =
          r.bodyKind === 'image' || r.bodyKind === 'file'
            ? request.body
            : parseWith(r.body, request.body, 'body');
        const result = await handler({ params, query, body, principal, contentType, request } as never);
        if (r.responseKind === 'image') {
          const img = result as { mediaType: string; bytes: Buffer };
          return reply
            .code(r.status ?? 200)
            .type(img.mediaType)
            .send(img.bytes);
        }
        if (r.responseKind === 'file') {
          // A stored attachment: its sniffed type; a PDF is downloaded, never shown in place.
          const file = result as { mediaType: string; bytes: Buffer; name: string };
          reply.header('x-content-type-options', 'nosniff');
          if (file.mediaType === 'application/pdf')
            reply.header(
              'content-disposition',
              `attachment; filename="${asciiName(file.name)}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
            );
          return reply
            .code(r.status ?? 200)
            .type(file.mediaType)
            .send(file.bytes);
        }
        const out = r.response.parse(result);
        return reply.code(r.status ?? 200).send(out);
      },
    });
  }
}
