import type { z } from 'zod';
import { routes, type RouteId, type Routes } from '../../protocol/src/routes.ts';

/** Small JSON-over-HTTP helper for tests: returns status, parsed body and headers; never throws on 4xx/5xx. */
export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: {
    json?: unknown;
    raw?: Buffer | string;
    contentType?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<HttpResult<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.raw !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/octet-stream';
    body = opts.raw as BodyInit;
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** The path parameters of a route, named by its `params` schema (absent for routes without any). */
type RouteParams<K extends RouteId> = Routes[K] extends { params: infer P extends z.ZodType }
  ? { params: { [N in keyof z.input<P>]: string | number } }
  : { params?: undefined };

/** Query values (undefined ones are left out). */
export type Query = Record<string, string | number | boolean | undefined>;

/**
 * How to call a route of the table: its path parameters (encoded into the path template),
 * a query, and a body. Bodies and query values are not checked against the route's
 * schemas, so tests can send what a client should not (and expect the 4xx).
 */
export type ApiOptions<K extends RouteId> = RouteParams<K> & {
  query?: Query;
  json?: unknown;
  raw?: Buffer | string;
  contentType?: string;
  headers?: Record<string, string>;
};

/** The options argument, optional for routes without path parameters. */
export type ApiArgs<K extends RouteId> = Routes[K] extends { params: z.ZodType }
  ? [opts: ApiOptions<K>]
  : [opts?: ApiOptions<K>];

/** The path of route `name` with its parameters encoded and the query appended (`?a=1&b=2`). */
export function routePath<K extends RouteId>(
  name: K,
  opts: { params?: Record<string, string | number>; query?: Query } = {},
): string {
  const route = routes[name];
  if (!route) throw new Error(`no route named "${String(name)}" in protocol/src/routes.ts`);
  const params: Record<string, string | number> = opts.params ?? {};
  const path = route.path.replace(/:(\w+)/g, (_, p: string) => {
    const v = params[p];
    if (v === undefined) throw new Error(`${String(name)}: path parameter "${p}" missing`);
    return encodeURIComponent(String(v));
  });
  const extra = Object.keys(params).filter((p) => !route.path.includes(`:${p}`));
  if (extra.length)
    throw new Error(`${String(name)}: no path parameter ${extra.join(', ')} in ${route.path}`);
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) q.append(k, String(v));
  const qs = q.toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Call a route of protocol/src/routes.ts by name, e.g.
 * `api(base, 'acceptOffer', { params: { requestId }, json: { fence }, headers: bearer(token) })`:
 * the method and path come from the table. Returns what `call` returns.
 */
export function api<K extends RouteId>(base: string, name: K, ...[opts]: ApiArgs<K>): Promise<HttpResult> {
  const o = (opts ?? {}) as ApiOptions<K>;
  const { params, query, ...rest } = o as ApiOptions<K> & { params?: Record<string, string | number> };
  return call(base, routes[name].method, routePath(name, { params, query }), rest);
}

/**
 * api() with headers merged under the call's own (e.g. a staff member's bearer token), for
 * tests' per-user wrappers: `apiWith(base, bearer(token), 'agentMe')`.
 */
export function apiWith<K extends RouteId>(
  base: string,
  headers: Record<string, string>,
  name: K,
  opts?: ApiOptions<K>,
): Promise<HttpResult> {
  const o = (opts ?? {}) as ApiOptions<K>;
  return api(base, name, ...([{ ...o, headers: { ...headers, ...o.headers } }] as ApiArgs<K>));
}

export async function staffLogin(
  base: string,
  username: string,
  password: string,
): Promise<{ token: string; refreshToken: string; staffId: string }> {
  const r = await api(base, 'login', { json: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return { token: r.body.accessToken, refreshToken: r.body.refreshToken, staffId: r.body.staff.staffId };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
