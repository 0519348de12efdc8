import { z } from 'zod';
import { ApiError, ATTACHMENT_TYPES, LIMITS } from './common.ts';
import type { ErrorStatus, RouteDef } from './route-def.ts';
import { StaffRole } from './staff.ts';

type JsonSchema = Record<string, unknown>;

const COMPONENTS = '#/components/schemas/';

/**
 * Converts zod schemas to JSON Schema for one document. A schema named with
 * `.meta({ id })` (the recursive ones: MenuNode, LiveMenuNode, Disposition) becomes
 * `components/schemas/<id>`, referenced from everywhere it is used; zod puts it in the
 * `$defs` of each converted schema, which would not resolve inside an OpenAPI document.
 */
class Schemas {
  readonly components: Record<string, JsonSchema> = {};

  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'any',
    }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    for (const [name, def] of Object.entries(defs)) {
      if (name.startsWith('__schema'))
        throw new Error(
          `a recursive schema has no name (${name}): give it .meta({ id: 'Name' }) so it becomes components/schemas/Name`,
        );
      const named = relink(def);
      const known = this.components[name];
      if (known && JSON.stringify(known) !== JSON.stringify(named))
        throw new Error(`two different schemas are named "${name}" (an input and an output form?)`);
      this.components[name] = named;
    }
    return relink(json);
  }
}

/** `#/$defs/X` -> `#/components/schemas/X`, everywhere in a converted schema. */
function relink<T>(v: T): T {
  if (Array.isArray(v)) return v.map(relink) as T;
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v))
    out[k] = k === '$ref' && typeof x === 'string' ? x.replace(/^#\/\$defs\//, COMPONENTS) : relink(x);
  return out as T;
}

const toOpenApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

const IMAGE_CONTENT = (what: string) => ({
  'image/jpeg': {
    schema: { type: 'string', contentMediaType: 'image/jpeg', description: `${what} (JPEG bytes)` },
  },
  'image/png': {
    schema: { type: 'string', contentMediaType: 'image/png', description: `${what} (PNG bytes)` },
  },
});

const FILE_CONTENT = (what: string) =>
  Object.fromEntries(
    ATTACHMENT_TYPES.map((t) => [
      t,
      { schema: { type: 'string', contentMediaType: t, description: `${what} (${t} bytes)` } },
    ]),
  );

const TAGS: Record<string, string> = {
  meta: 'Liveness and the public keys that sign staff access tokens, call tickets and device commands.',
  device:
    'The customer device: single-use challenges, enrolment with a one-time code, authentication with the device key, factors (PIN, biometric via WebAuthn, photos) and security notices.',
  sessions:
    'Service sessions: opened for an authentication, with idle and absolute expiry, ended by the device or an admin.',
  staff:
    'Staff login with rotating refresh tokens, the logged-in staff member, authentications, and the security questions an agent asks.',
  admin:
    'Administration (admin role): enrolment codes, lockouts, staff accounts, the pipeline configuration, agent profiles and schedules, the audit chain.',
  voice: 'Ephemeral SIP credentials for the embedded SIP edge or a separate SIP server.',
  pipeline:
    'The customer side of the queue: the live service menu, asking for help, the request, leaving it.',
  callbacks:
    'Callbacks instead of waiting: keep the place in the queue (optionally within a window) or book a slot.',
  agents:
    'The agent side of the queue: presence, queues, offers under leases with fencing numbers, finishing a request.',
  calls:
    'Call tickets signed by the authority and the device proofs that bind the voice call to the verified device.',
  supervisor:
    'Supervisors (supervisor or admin role): the board, agent presence, taking over and reassigning requests.',
  console:
    "The agent console: the verified-customer panel, the customer's photos and their comparison, dispositions, wrap-ups.",
  control:
    "Remote control of the customer's device: signed commands, the device's acknowledgements and answers, stop and resume.",
  transfers:
    'Transfers of an assigned request (blind or warm, to a person or a queue) that keep the verification.',
  sip: "The SIP server (Kamailio) in front of a carrier's trunk: calls from the phone network becoming service requests, and their hang-ups.",
  reports:
    "Historical reports for supervisors: per queue, agent, day or hour in the site's time zone, and their CSV export.",
};

const INFO_DESCRIPTION = `The authority of Verified Desk: customers are verified on their own device before
and during a call with a contact-center agent. This document is generated from the same zod
schemas the authority validates every request and answer with; unknown fields are refused.

**Callers.** Staff (agents, supervisors, admins) log in with POST /v1/staff/login and send
\`Authorization: Bearer <accessToken>\`; the access token is short-lived and is renewed with the
rotating refresh token. A customer device enrols once with a one-time code (its P-256 key is
its identity), authenticates by signing a challenge, and then sends on every request
\`Authorization: Device <deviceToken>\` **and** a fresh \`Device-Proof\` header: a compact JWS
(ES256, the device key, \`typ\` \`vd-device-proof+jwt\`) whose claims are \`htm\` (the method),
\`htu\` (the path and query exactly as sent), \`iat\` (seconds; within 60 s of the authority's
clock), \`jti\` (16 to 128 characters, never reused) and \`ath\` (base64url SHA-256 of the device
token). See the \`deviceToken\` and \`deviceProof\` security schemes.

**Errors.** Every 4xx and 5xx answer is an \`ApiError\`: \`code\` (stable, machine-readable:
invalid_request, unauthorized, forbidden, not_found, conflict, stale_fence, ...), \`message\` (for
people) and sometimes \`details\`. Each operation lists the statuses it can answer.

**Fencing numbers.** A request moves between agents (offer, accept, transfer, take-over) under a
fencing number that grows at every move. Operations that act on a request as its holder take
the \`fence\` the holder was given; an old one is refused with 409 (\`stale_fence\` or
\`conflict\`), so a stale console can never act for the new holder.

**Limits.** JSON bodies up to ${LIMITS.jsonBodyBytes} bytes and nested at most ${LIMITS.jsonDepth} deep; photos up to
${LIMITS.photoBytes} bytes; bodies are only accepted by operations that declare one. Answers are never
cacheable (\`Cache-Control: no-store\`).

Live updates (queue positions, offers, commands, transfers) are pushed on the WebSocket
\`/v1/ws\` (first frame: a \`hello\` with the same credentials), which this document does not
describe; voice goes through SIP over WebSocket at \`/sip\`. The device protocol step by step
(enrolment, proofs, commands, calls) is served beside this document at /docs/device-protocol.md.`;

const describeParts = (r: RouteDef) => {
  const parts = [
    r.params && 'path parameters',
    r.query && 'query',
    (r.body || r.bodyKind === 'image' || r.bodyKind === 'file') && 'body',
  ].filter((p): p is string => typeof p === 'string');
  if (parts.length === 0) return 'request';
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} or ${parts.at(-1)}`;
};

/** The role check refuses somebody only when some role is not allowed. */
const restrictsRoles = (r: RouteDef) =>
  (r.auth === 'staff' || r.auth === 'deviceOrStaff') &&
  !!r.roles &&
  !StaffRole.options.every((role) => r.roles!.includes(role));

const DEVICE_401 =
  'the device token is missing, unknown, expired or revoked; the Device-Proof is missing or does not verify, names another method, URL or token, is more than 60 s off or was used before; or the authentication has expired (authenticate again)';
const STAFF_401 =
  'no valid staff access token: missing, malformed or expired (refresh it with POST /v1/staff/refresh), or the account is disabled';

/** The errors every route of this shape can answer, with a generic text each. */
function derivedErrors(r: RouteDef): Partial<Record<ErrorStatus, string>> {
  const e: Partial<Record<ErrorStatus, string>> = {};
  e[400] =
    r.bodyKind === 'file'
      ? `invalid_request: the ${describeParts(r)} do not match the schema (\`details\` lists the issues), or the body is empty.`
      : r.bodyKind === 'image'
        ? `invalid_request: the ${describeParts(r)} do not match the schema (\`details\` lists the issues), or the body is not an image/jpeg or image/png whose bytes are one.`
        : `invalid_request: the ${describeParts(r)} do not match the schema (\`details\` lists each issue as { path, message }), the body is not JSON or nests deeper than ${LIMITS.jsonDepth}${r.body ? '' : ', or a body or query was sent to an operation that takes none'}.`;
  if (r.auth === 'device') e[401] = `unauthorized: ${DEVICE_401}.`;
  if (r.auth === 'staff') e[401] = `unauthorized: ${STAFF_401}.`;
  if (r.auth === 'deviceOrStaff') e[401] = `unauthorized: a device: ${DEVICE_401}; staff: ${STAFF_401}.`;
  if (r.auth === 'sipServer')
    e[401] = 'unauthorized: not the SIP server (the shared secret is missing or wrong).';
  if (restrictsRoles(r)) e[403] = `forbidden: the staff member's role is not ${r.roles!.join(' or ')}.`;
  if (r.params) {
    const names = Object.keys(r.params.shape).join(', ');
    e[404] = `not_found: no such ${names}, or not one the caller may see.`;
    e[414] = 'invalid_request: a path parameter is longer than 200 characters.';
  }
  if (r.method !== 'GET') {
    e[413] =
      r.bodyKind === 'file'
        ? 'payload_too_large: the file is larger than the configured limit.'
        : r.bodyKind === 'image'
          ? `payload_too_large: the image is larger than ${LIMITS.photoBytes} bytes.`
          : `payload_too_large: the body is larger than ${LIMITS.jsonBodyBytes} bytes.`;
    e[415] =
      r.bodyKind === 'file'
        ? `unsupported_media_type: the body is not one of ${ATTACHMENT_TYPES.join(', ')}, or its bytes are not what the Content-Type says.`
        : r.bodyKind === 'image'
          ? 'unsupported_media_type: the body is neither image/jpeg nor image/png (nor any type the authority reads).'
          : r.bodyKind === 'form'
            ? 'unsupported_media_type: the body is not application/x-www-form-urlencoded.'
            : 'unsupported_media_type: the body has a Content-Type the authority does not read (send application/json).';
  }
  if (r.body instanceof z.ZodObject && Object.prototype.hasOwnProperty.call(r.body.shape, 'fence'))
    e[409] =
      "stale_fence or conflict: `fence` is not the request's current fencing number (ownership moved on: reload the request), or the request changed meanwhile.";
  return e;
}

const RETRY_AFTER = (required: boolean) => ({
  'Retry-After': {
    description: required
      ? 'Seconds to wait before trying again (also in `details.retryAfterSeconds`).'
      : 'Seconds to wait before trying again (also in `details.retryAfterSeconds`); absent when the lock lasts until an admin lifts it.',
    required,
    schema: { type: 'integer', minimum: 1 },
  },
});

const NO_STORE_HEADER = {
  'Cache-Control': {
    description: 'Always `no-store`: answers carry tokens, personal data or live state and are never cached.',
    schema: { type: 'string', const: 'no-store' },
  },
};

const apiError = (description: string, headers?: Record<string, unknown>) => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema: { $ref: `${COMPONENTS}ApiError` } } },
});

const SECURITY_SCHEMES = {
  sipServerSecret: {
    type: 'http',
    scheme: 'bearer',
    description:
      "The SIP server in front of a carrier's trunk (Kamailio): `Authorization: Bearer <secret>`, the secret it shares with the authority (VD_SIP_SERVER_SECRET on both). Nobody else calls these routes.",
  },
  staffBearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A staff access token from POST /v1/staff/login or /v1/staff/refresh (a short-lived ES256 JWT; keys at /.well-known/jwks.json): `Authorization: Bearer <accessToken>`. The role and the account state are checked again on every request.',
  },
  deviceToken: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'The device token from enrolment or POST /v1/device/authenticate, as `Authorization: Device <deviceToken>`. It lives as long as its authentication and is bound to the device key: it is only accepted together with a Device-Proof.',
  },
  deviceProof: {
    type: 'apiKey',
    in: 'header',
    name: 'Device-Proof',
    description:
      'A fresh proof per request (RFC 9449 pattern): a compact JWS signed with the device key (ES256), protected header `typ` `vd-device-proof+jwt`, claims `htm` (the HTTP method), `htu` (the path and query exactly as sent, e.g. `/v1/device/me`), `iat` (seconds since the epoch, within 60 s of the authority), `jti` (16 to 128 characters, unique: a replay is refused) and `ath` (base64url SHA-256 of the device token). At most 4096 characters.',
  },
} as const;

/** OpenAPI 3.1 document for a route table: request and response schemas come from the same zod schemas the authority validates with. */
export function buildOpenApi(routes: Record<string, RouteDef>, info: { title: string; version: string }) {
  const schemas = new Schemas();
  // ApiError is named (.meta({ id })): converting it puts it in components/schemas.
  schemas.convert(ApiError, 'output');
  const paths: Record<string, Record<string, unknown>> = {};
  const tags: string[] = [];
  for (const [operationId, r] of Object.entries(routes)) {
    if (!tags.includes(r.tag)) tags.push(r.tag);
    const parameters: unknown[] = [];
    for (const [where, obj] of [
      ['path', r.params],
      ['query', r.query],
    ] as const) {
      if (!obj) continue;
      for (const [name, schema] of Object.entries(obj.shape)) {
        const json = schemas.convert(schema as z.ZodType, 'input');
        parameters.push({
          name,
          in: where,
          ...(typeof json.description === 'string' ? { description: json.description } : {}),
          required: where === 'path' || !(schema as z.ZodType).safeParse(undefined).success,
          schema: json,
        });
      }
    }
    const security =
      r.auth === 'public'
        ? []
        : r.auth === 'device'
          ? [{ deviceToken: [], deviceProof: [] }]
          : r.auth === 'staff'
            ? [{ staffBearer: [] }]
            : r.auth === 'sipServer'
              ? [{ sipServerSecret: [] }]
              : [{ deviceToken: [], deviceProof: [] }, { staffBearer: [] }];
    const success = r.status ?? 200;
    const errors = { ...derivedErrors(r), ...r.errors };
    const responses: Record<string, unknown> = {
      [String(success)]: {
        description: success === 201 ? 'Created' : 'Success',
        headers: NO_STORE_HEADER,
        content:
          r.responseKind === 'image'
            ? IMAGE_CONTENT('The image as stored')
            : r.responseKind === 'file'
              ? FILE_CONTENT('The file as stored')
              : { 'application/json': { schema: schemas.convert(r.response, 'output') } },
      },
    };
    for (const s of Object.keys(errors).map(Number).sort() as ErrorStatus[])
      responses[String(s)] = apiError(
        errors[s]!,
        s === 429 ? RETRY_AFTER(true) : s === 423 ? RETRY_AFTER(false) : undefined,
      );
    responses.default = apiError(
      'internal: an unexpected error (500; the message says nothing more), or 503 while the authority shuts down.',
    );
    const op: Record<string, unknown> = {
      operationId,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      security,
      ...(r.roles && r.auth !== 'public' && r.auth !== 'device' ? { 'x-roles': r.roles } : {}),
      ...(parameters.length ? { parameters } : {}),
      responses,
    };
    if (r.bodyKind === 'image') {
      op.requestBody = { required: true, content: IMAGE_CONTENT('The photo') };
    } else if (r.bodyKind === 'file') {
      op.requestBody = { required: true, content: FILE_CONTENT('The file') };
    } else if (r.body) {
      op.requestBody = {
        required: true,
        content: {
          [r.bodyKind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json']: {
            schema: schemas.convert(r.body, 'input'),
          },
        },
      };
    }
    const p = toOpenApiPath(r.path);
    paths[p] ??= {};
    paths[p][r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      ...info,
      description: INFO_DESCRIPTION,
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: '/',
        description:
          'The authority that serves this document: paths are relative to its origin (for example https://authority.example.com). Use HTTPS outside a development machine.',
      },
    ],
    tags: tags.map((name) => ({ name, ...(TAGS[name] ? { description: TAGS[name] } : {}) })),
    paths,
    components: { schemas: schemas.components, securitySchemes: SECURITY_SCHEMES },
  };
}
