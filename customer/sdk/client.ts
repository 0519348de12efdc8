import type { z } from 'zod';
import { ApiError, routes, type RouteDef, type Routes } from '../../protocol/src/index.ts';
import { deviceProof } from './proofs.ts';

/** The routes a device may call: its own and the public ones (never staff routes). */
export type DeviceRouteId = {
  [K in keyof Routes]: Routes[K]['auth'] extends 'staff' ? never : K;
}[keyof Routes];

type ParamsPart<R> = R extends { params: infer P extends z.ZodType }
  ? { params: z.input<P> }
  : { params?: never };
type QueryPart<R> = R extends { query: infer Q extends z.ZodType }
  ? { query: z.input<Q> }
  : { query?: never };
type BodyPart<R> = R extends { bodyKind: 'image' }
  ? { body: Blob }
  : R extends { body: infer B extends z.ZodType }
    ? { body: z.input<B> }
    : { body?: never };

/** What a call to route `R` takes: its path parameters, query and body, typed by the protocol schemas. */
export type CallInput<R> = ParamsPart<R> & QueryPart<R> & BodyPart<R>;
/** What it answers, after validation by the route's response schema. */
export type CallOutput<R> = R extends { response: infer S extends z.ZodType } ? z.output<S> : never;

/** A 4xx/5xx answer of the authority (its ApiError body). */
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
}

/** An answer that does not match the protocol: never trusted, never half-used. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** The device credentials a call needs: the token from authentication and the key that signs each proof. */
export interface DeviceCredentials {
  token: string;
  key: CryptoKey;
}

export interface AuthorityClientOptions {
  /** The authority's origin, e.g. https://desk.example.com (default: the page's origin). */
  baseUrl: string;
  fetch?: typeof fetch;
  now?: () => number;
}

const interpolate = (path: string, params: Record<string, string> | undefined): string =>
  path.replace(/:([A-Za-z]+)/g, (_m, name: string) => {
    const v = params?.[name];
    if (v === undefined) throw new Error(`missing path parameter ${name}`);
    return encodeURIComponent(v);
  });

/**
 * HTTP client of the authority for a device. Each call goes through the protocol's
 * route table: the input is validated before it is sent, device routes carry the
 * token and a fresh proof (method + path + query), and every answer is validated by
 * the route's response schema before anyone sees it.
 */
export class AuthorityClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  credentials: DeviceCredentials | null = null;

  constructor(opts: AuthorityClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = opts.fetch ?? ((input, init) => fetch(input, init));
    this.now = opts.now ?? Date.now;
  }

  async call<K extends DeviceRouteId>(id: K, input: CallInput<Routes[K]>): Promise<CallOutput<Routes[K]>> {
    const r: RouteDef = routes[id];
    const i = input as { params?: Record<string, string>; query?: Record<string, string>; body?: unknown };
    const params = r.params ? (r.params.parse(i.params) as Record<string, string>) : undefined;
    const query = r.query ? (r.query.parse(i.query) as Record<string, string>) : undefined;
    const qs = query ? new URLSearchParams(query).toString() : '';
    const htu = interpolate(r.path, params) + (qs ? `?${qs}` : '');

    const headers: Record<string, string> = { accept: 'application/json' };
    let body: BodyInit | undefined;
    if (r.bodyKind === 'image') {
      if (!(i.body instanceof Blob)) throw new TypeError(`${id} takes an image Blob`);
      headers['content-type'] = i.body.type;
      body = i.body;
    } else if (r.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(r.body.parse(i.body));
    }
    if (r.auth === 'device' || r.auth === 'deviceOrStaff') {
      const c = this.credentials;
      if (!c) throw new AuthorityError(401, 'unauthorized', 'the device is not authenticated');
      headers.authorization = `Device ${c.token}`;
      headers['device-proof'] = await deviceProof(c.key, c.token, r.method, htu, this.now());
    }

    const res = await this.fetchImpl(this.baseUrl + htu, { method: r.method, headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ProtocolError(`${id}: answer ${res.status} is not JSON`);
    }
    if (!res.ok) {
      const e = ApiError.safeParse(json);
      if (!e.success) throw new AuthorityError(res.status, 'internal', `${id} failed with ${res.status}`);
      throw new AuthorityError(res.status, e.data.code, e.data.message, e.data.details);
    }
    const out = r.response.safeParse(json);
    if (!out.success)
      throw new ProtocolError(
        `${id}: the answer does not match the protocol (${out.error.issues[0]?.message ?? ''})`,
      );
    return out.data as CallOutput<Routes[K]>;
  }
}
