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

export async function staffLogin(
  base: string,
  username: string,
  password: string,
): Promise<{ token: string; refreshToken: string; staffId: string }> {
  const r = await call(base, 'POST', '/v1/staff/login', { json: { username, password } });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return { token: r.body.accessToken, refreshToken: r.body.refreshToken, staffId: r.body.staff.staffId };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
