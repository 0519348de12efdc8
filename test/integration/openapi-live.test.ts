/**
 * The contract a running authority serves at /openapi.json holds against what the
 * authority really answers. Every operation of the document is called with no
 * credentials, with a body of a type nobody reads, with an oversize body, and as an
 * authenticated caller (an admin and an agent for staff routes, an enrolled device for
 * device routes) with well-formed unknown ids and an empty body: every status seen must be
 * declared for that operation, every error must carry the ApiError body and every
 * success `Cache-Control: no-store`. Failed logins are driven into the per-source
 * throttle: the 429 (and any 423) must be declared and carry Retry-After.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import { ApiError, buildOpenApi, LIMITS, routes } from '../../protocol/src/index.ts';
import { VERSION } from '../../authority/src/http/handlers.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';

type Json = Record<string, any>;
interface Op {
  method: string;
  path: string;
  op: Json;
}

describe('the served OpenAPI contract against the live authority', () => {
  let a: TestAuthority;
  let doc: Json;
  let admin: string;
  let agent: string;
  let device: TestDevice;
  const ops: Op[] = [];

  before(async () => {
    a = await startTestAuthority();
    doc = (await call(a.url, 'GET', '/openapi.json')).body;
    for (const [path, item] of Object.entries(doc.paths as Json))
      for (const [method, op] of Object.entries(item as Json))
        ops.push({ method: method.toUpperCase(), path, op });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  });
  after(() => a.dispose());

  it('/openapi.json is the document built from the route table, and it validates', async () => {
    const built = JSON.parse(
      JSON.stringify(buildOpenApi(routes, { title: 'Verified Desk authority', version: VERSION })),
    );
    assert.deepEqual(doc, built);
    await SwaggerParser.validate(structuredClone(doc) as never);
    assert.equal(ops.length, Object.keys(routes).length);
  });

  /** A URL for the operation: path parameters filled with well-formed ids nobody has. */
  const urlOf = (o: Op) => o.path.replace(/\{[^}]+\}/g, () => randomBytes(32).toString('base64url'));

  const problems: string[] = [];
  const seen = new Map<string, Set<number>>();
  async function check(o: Op, how: string, res: Response): Promise<void> {
    const status = res.status;
    const id = o.op.operationId as string;
    if (!seen.has(id)) seen.set(id, new Set());
    seen.get(id)!.add(status);
    const text = await res.text();
    if (!(String(status) in o.op.responses))
      problems.push(`${id} ${how}: ${status} not declared (${text.slice(0, 120)})`);
    if (status >= 400) {
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      if (!ApiError.safeParse(body).success) problems.push(`${id} ${how}: ${status} body is not an ApiError`);
      if (status === 429 && !/^[1-9]\d*$/.test(res.headers.get('retry-after') ?? ''))
        problems.push(`${id} ${how}: 429 without Retry-After`);
    } else if (res.headers.get('cache-control') !== 'no-store')
      problems.push(`${id} ${how}: ${status} without Cache-Control: no-store`);
  }

  it('every status the authority answers to anonymous, mistyped, oversize and unknown-id calls is declared', async () => {
    problems.length = 0;
    let n = 0;
    for (const o of ops) {
      const url = urlOf(o);
      const hasBody = o.method !== 'GET';
      // Anonymous (public operations: with no body).
      await check(o, 'anonymous', await fetch(a.url + url, { method: o.method }));
      if (hasBody) {
        await check(
          o,
          'form body',
          await fetch(a.url + url, {
            method: o.method,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: 'a=b',
          }),
        );
        const big = JSON.stringify({ pad: 'x'.repeat(LIMITS.jsonBodyBytes) });
        await check(
          o,
          'oversize body',
          await fetch(a.url + url, {
            method: o.method,
            headers: { 'content-type': 'application/json' },
            body: big,
          }),
        );
        n += 2;
      }
      // Authenticated, unknown ids, an empty JSON object as the body (a valid one for none but optional-only bodies).
      const sec = (o.op.security as Json[]).flatMap((s) => Object.keys(s));
      const headers: Record<string, string> = hasBody ? { 'content-type': 'application/json' } : {};
      if (sec.includes('staffBearer')) Object.assign(headers, bearer(admin));
      else if (sec.includes('deviceToken')) Object.assign(headers, await device.headers(o.method, url));
      if (sec.length)
        await check(
          o,
          'authenticated',
          await fetch(a.url + url, { method: o.method, headers, ...(hasBody ? { body: '{}' } : {}) }),
        );
      // Staff operations again as an agent: the role check answers 403 where agents are not allowed.
      if (sec.includes('staffBearer'))
        await check(
          o,
          'as an agent',
          await fetch(a.url + url, {
            method: o.method,
            headers: { ...headers, ...bearer(agent) },
            ...(hasBody ? { body: '{}' } : {}),
          }),
        );
      n += 1 + (sec.length ? 1 : 0) + (sec.includes('staffBearer') ? 1 : 0);
    }
    assert.deepEqual(problems, []);
    const pairs = [...seen.values()].reduce((k, s) => k + s.size, 0);
    console.log(
      `${n} calls to ${ops.length} operations: ${pairs} distinct (operation, status) answers, all declared`,
    );
  });

  it('throttled logins answer declared statuses, 429 with Retry-After', async () => {
    const login = ops.find((o) => o.op.operationId === 'login')!;
    problems.length = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 40 && !statuses.includes(429); i++) {
      const res = await fetch(`${a.url}/v1/staff/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nobody-here', password: `wrong-password-${i}` }),
      });
      statuses.push(res.status);
      await check(login, `failed login ${i}`, res);
    }
    assert.ok(statuses.includes(429), `statuses: ${statuses.join(' ')}`);
    assert.deepEqual(problems, []);
    console.log(`failed logins answered ${[...new Set(statuses)].join(', ')}; 429 after ${statuses.length}`);
  });
});
