/**
 * The typed client of the route table, without a network: it builds each request
 * from the route (path parameters encoded, query, body validated with the route's
 * schemas before anything is sent), hands it to the caller's transport (which adds
 * its own authentication: a device proof in the customer SDK, a bearer token with
 * refresh in main/core) and validates the answer with the route's response schema.
 * An error answer becomes an AuthorityError carrying the authority's ApiError.
 *
 * It lives in protocol/ because the browser (customer SDK) and Node (main/core) both
 * need it, and it stays pure: zod and the route table, no fetch, no Node built-in.
 */
import type { z } from 'zod';
import { ApiError, ATTACHMENT_TYPES, type AttachmentType } from './common.ts';
import { PHOTO_TYPES } from './identity.ts';
import type { RouteDef } from './route-def.ts';
import { routes, type RouteId, type Routes } from './routes.ts';

type ParamsPart<R> = R extends { params: infer P extends z.ZodType }
  ? { params: z.input<P> }
  : { params?: never };
type QueryPart<R> = R extends { query: infer Q extends z.ZodType }
  ? { query: z.input<Q> }
  : { query?: never };
type BodyPart<R> = R extends { bodyKind: 'image' | 'file' }
  ? { body: ImageBody }
  : R extends { body: infer B extends z.ZodType }
    ? { body: z.input<B> }
    : { body?: never };

/** The body of an image route: a Blob (or File) in the browser and in Node, described by shape (protocol/ has no DOM). */
export interface ImageBody {
  readonly type: string;
  readonly size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

const isImageBody = (v: unknown): v is ImageBody =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ImageBody).type === 'string' &&
  typeof (v as ImageBody).size === 'number' &&
  typeof (v as ImageBody).arrayBuffer === 'function';

/** What a call to route `R` takes: its path parameters, query and body, typed by the protocol schemas. */
export type CallInput<R> = ParamsPart<R> & QueryPart<R> & BodyPart<R>;

/** An image answer (responseKind 'image'): its media type and bytes. */
export interface RouteImage {
  type: (typeof PHOTO_TYPES)[number];
  bytes: Uint8Array;
}

/** A file answer (responseKind 'file', a chat attachment): its sniffed media type and bytes. */
export interface RouteFile {
  type: AttachmentType;
  bytes: Uint8Array;
}

/** What it answers, after validation by the route's response schema. */
export type CallOutput<R> = R extends { responseKind: 'image' }
  ? RouteImage
  : R extends { responseKind: 'file' }
    ? RouteFile
    : R extends { response: infer S extends z.ZodType }
      ? z.output<S>
      : never;

/** The arguments after the route id: the input may be left out when the route takes none. */
export type CallArgs<R> = object extends CallInput<R> ? [input?: CallInput<R>] : [input: CallInput<R>];

/** One request as the client built it; the transport authenticates and sends it. */
export interface RouteRequest {
  readonly id: RouteId;
  readonly route: RouteDef;
  readonly method: RouteDef['method'];
  /** The path with its parameters encoded, then the query: what a device proof signs as `htu`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or the image as given (a Blob fetch can send). */
  readonly body: string | ImageBody | undefined;
}

/** What the client reads of an answer (a fetch Response fits). */
export interface RouteResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type RouteTransport = (request: RouteRequest) => Promise<RouteResponse>;

/** A 4xx/5xx answer of the authority (its ApiError body), or status 0 when it could not be reached. */
export class AuthorityError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AuthorityError';
  }

  /** Worth retrying later: unreachable, timed out, throttled or a server error. */
  get transient(): boolean {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** An answer that does not match the protocol: never trusted, never half-used. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** A call whose input does not match the route's schemas: refused before anything is sent. */
export class RouteInputError extends Error {
  override name = 'RouteInputError';
}

function valid(id: string, part: string, schema: z.ZodType, value: unknown): unknown {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => `${[part, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw new RouteInputError(`${id}: ${issues}`);
}

const fillPath = (path: string, params: Record<string, unknown> | undefined): string =>
  path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const v = params?.[name];
    if (v === undefined || v === null) throw new RouteInputError(`missing path parameter ${name}`);
    return encodeURIComponent(String(v));
  });

function queryString(query: Record<string, unknown> | undefined): string {
  const pairs = Object.entries(query ?? {})
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  return pairs.length ? `?${pairs.join('&')}` : '';
}

async function errorOf(id: string, res: RouteResponse): Promise<AuthorityError> {
  let json: unknown;
  try {
    json = JSON.parse(await res.text());
  } catch {
    json = undefined;
  }
  const e = ApiError.safeParse(json);
  if (!e.success) return new AuthorityError(res.status, 'http_error', `${id} failed with ${res.status}`);
  return new AuthorityError(res.status, e.data.code, e.data.message, e.data.details);
}

/** A binary answer whose Content-Type must be one of `types` (`what` names them in the error). */
async function bytesOf<T extends string>(
  id: string,
  res: RouteResponse,
  types: readonly T[],
  what: string,
): Promise<{ type: T; bytes: Uint8Array }> {
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!(types as readonly string[]).includes(type))
    throw new ProtocolError(`${id}: the answer is not ${what}`);
  return { type: type as T, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** Calls routes of the table by name, over the transport it is given; `Id` narrows which routes. */
export class RouteClient<Id extends RouteId = RouteId> {
  constructor(private readonly transport: RouteTransport) {}

  async call<K extends Id>(id: K, ...args: CallArgs<Routes[K]>): Promise<CallOutput<Routes[K]>> {
    const r = (routes as Record<RouteId, RouteDef>)[id];
    const i = ((args as unknown[])[0] ?? {}) as { params?: unknown; query?: unknown; body?: unknown };
    const params = r.params && (valid(id, 'params', r.params, i.params) as Record<string, unknown>);
    const query = r.query && (valid(id, 'query', r.query, i.query) as Record<string, unknown>);
    const path = fillPath(r.path, params) + queryString(query);

    const headers: Record<string, string> = {
      accept:
        r.responseKind === 'image'
          ? PHOTO_TYPES.join(', ')
          : r.responseKind === 'file'
            ? ATTACHMENT_TYPES.join(', ')
            : 'application/json',
    };
    let body: string | ImageBody | undefined;
    if (r.bodyKind === 'image' || r.bodyKind === 'file') {
      if (!isImageBody(i.body))
        throw new RouteInputError(`${id} takes ${r.bodyKind === 'image' ? 'an image' : 'a file'} Blob`);
      headers['content-type'] = i.body.type;
      body = i.body;
    } else if (r.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(valid(id, 'body', r.body, i.body));
    }

    const res = await this.transport({ id, route: r, method: r.method, path, headers, body });
    if (!res.ok) throw await errorOf(id, res);
    if (r.responseKind === 'image')
      return (await bytesOf(id, res, PHOTO_TYPES, 'a JPEG or PNG image')) as CallOutput<Routes[K]>;
    if (r.responseKind === 'file')
      return (await bytesOf(id, res, ATTACHMENT_TYPES, 'an attachment type')) as CallOutput<Routes[K]>;
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ProtocolError(`${id}: answer ${res.status} is not JSON`);
    }
    const out = r.response.safeParse(json);
    if (!out.success)
      throw new ProtocolError(
        `${id}: the answer does not match the protocol (${out.error.issues[0]?.message ?? ''})`,
      );
    return out.data as CallOutput<Routes[K]>;
  }
}
