/**
 * The authority's OpenAPI contract is usable on its own by an integrator (native app,
 * CRM): it validates as OpenAPI 3.1, every `$ref` resolves (recursive schemas are named
 * components), every operation and every schema property is described, every status a
 * route can answer is declared with the ApiError body, and a typed client generated
 * from it with openapi-typescript compiles under `strict` with a small program that
 * uses it. Whatever routes are in the table when this runs are covered.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import SwaggerParser from '@apidevtools/swagger-parser';
import openapiTS, { astToString } from 'openapi-typescript';
import ts from 'typescript';
import { z } from 'zod';
import { buildOpenApi, routes, type RouteDef } from '../../protocol/src/index.ts';

type Json = Record<string, any>;
const doc = buildOpenApi(routes, { title: 'Verified Desk authority', version: '0.1.0' }) as Json;
const ROUTES = Object.entries(routes) as [string, RouteDef][];
const oaPath = (p: string) => p.replace(/:([A-Za-z]+)/g, '{$1}');
const opOf = (r: RouteDef): Json => doc.paths[oaPath(r.path)]?.[r.method.toLowerCase()];

/** Every JSON value under `v` with its JSON pointer. */
function* walk(v: unknown, pointer = '#'): Generator<[unknown, string]> {
  yield [v, pointer];
  if (v !== null && typeof v === 'object')
    for (const [k, child] of Object.entries(v))
      yield* walk(child, `${pointer}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`);
}

function resolvePointer(root: unknown, ref: string): unknown {
  if (!ref.startsWith('#')) return undefined;
  let at: unknown = root;
  for (const raw of ref
    .slice(2)
    .split('/')
    .filter((s, i, a) => !(a.length === 1 && s === ''))) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (at === null || typeof at !== 'object' || !(key in at)) return undefined;
    at = (at as Json)[key];
  }
  return at;
}

/** Every schema object in the document (request, response, parameter, header and component schemas, and all their subschemas). */
function schemaRoots(): [Json, string][] {
  const out: [Json, string][] = [];
  for (const [s, ptr] of walk(doc))
    if (/\/schema$/.test(ptr) || /^#\/components\/schemas\/[^/]+$/.test(ptr)) out.push([s as Json, ptr]);
  return out;
}

/** The body is a JSON object with a `fence` member: the route is fenced. */
const fenced = (r: RouteDef) =>
  r.body instanceof z.ZodObject && Object.prototype.hasOwnProperty.call(r.body.shape, 'fence');

/**
 * Statuses the authority answers for a route whatever its domain does: 400 for any
 * invalid input; 401 without valid credentials; 403 when some role is refused; 404 and 414
 * (over-long parameter) with path parameters; 413 and 415 on every POST/PUT (fastify
 * reads a body, if any, before the route runs); 409 when a fencing number is sent.
 */
function shapeStatuses(r: RouteDef): number[] {
  const s = [400];
  if (r.auth !== 'public') s.push(401);
  const everyRole = ['agent', 'supervisor', 'admin'].every((role) => r.roles?.includes(role as never));
  if ((r.auth === 'staff' || r.auth === 'deviceOrStaff') && r.roles && !everyRole) s.push(403);
  if (r.params) s.push(404, 414);
  if (r.method !== 'GET') s.push(413, 415);
  if (fenced(r)) s.push(409);
  return s;
}

/** What the handlers and services answer beyond the shape (read from authority/src): route -> statuses. */
const DOMAIN: Record<string, number[]> = {
  challenge: [404],
  enrol: [401, 409],
  authenticate: [401],
  login: [401, 423, 429],
  refresh: [401, 429],
  logout: [401],
  setPin: [403],
  pinFactor: [401, 409, 423],
  webauthnRegistrationOptions: [403],
  webauthnRegister: [401, 403],
  webauthnFactor: [401],
  photo: [403, 409, 413, 415],
  knowledgeCheck: [404, 423],
  createRequest: [404],
  cancelRequest: [409],
  setCallback: [409],
  setPresence: [409],
  setAgentPresence: [404, 409],
  createStaff: [409],
  issueEnrolmentCode: [404, 409],
  setRole: [403, 404],
  unlockPin: [404],
  adminEndSession: [404, 409],
  callTicket: [404, 409],
  callProof: [401, 409],
  sendCommand: [403, 404, 409, 410],
  updateMenu: [400, 403, 404, 409, 410],
  cancelCommand: [403, 404, 409, 410],
  ackCommand: [404, 409, 410],
  commandResult: [400, 404, 409, 410],
  commandImage: [400, 404, 409, 410, 413, 415],
  transfer: [403, 404, 409],
  acceptTransfer: [404, 409],
  declineTransfer: [404, 409],
  cancelTransfer: [403, 404, 409],
  takeOver: [404, 409],
  reassign: [404, 409],
  wrapUp: [409],
  comparePhoto: [403, 404, 409],
  customerPanel: [403, 404],
  requestPhoto: [403, 404],
  requestCommands: [403, 404],
};

describe('OpenAPI contract', () => {
  it('validates as OpenAPI 3.1 with swagger-parser', async () => {
    const api = await SwaggerParser.validate(structuredClone(doc) as never);
    assert.equal((api as Json).openapi, '3.1.0');
    console.log(`valid: ${Object.keys(doc.paths).length} paths, ${ROUTES.length} operations`);
  });

  it('every $ref resolves; recursive schemas are named components', () => {
    let refs = 0;
    const dangling: string[] = [];
    for (const [v, ptr] of walk(doc)) {
      if (ptr.endsWith('/$ref') && typeof v === 'string') {
        refs++;
        if (resolvePointer(doc, v) === undefined) dangling.push(`${ptr} -> ${v}`);
      }
      if (ptr.endsWith('/$defs')) dangling.push(`${ptr}: local $defs (refs into them do not resolve)`);
    }
    assert.deepEqual(dangling, []);
    for (const name of ['MenuNode', 'LiveMenuNode', 'Disposition', 'ApiError'])
      assert.ok(doc.components.schemas[name], `components/schemas/${name}`);
    assert.ok(refs > 0);
    console.log(`${refs} $refs, all resolve; components: ${Object.keys(doc.components.schemas).join(', ')}`);
  });

  it('servers, info, security schemes and tags are there and described', () => {
    assert.equal(doc.servers?.[0]?.url, '/');
    assert.ok(doc.servers[0].description.length > 20);
    assert.ok(doc.info.version && doc.info.description.length > 100);
    assert.equal(doc.info.contact, undefined);
    const schemes = doc.components.securitySchemes;
    assert.equal(schemes.staffBearer.scheme, 'bearer');
    assert.equal(schemes.deviceProof.name.toLowerCase(), 'device-proof');
    for (const [name, s] of Object.entries(schemes) as [string, Json][])
      assert.ok(s.description?.length > 30, `security scheme ${name} described`);
    const tags = new Map((doc.tags as Json[]).map((t) => [t.name, t.description]));
    for (const [id, r] of ROUTES) assert.ok(tags.get(r.tag)?.length > 20, `${id}: tag "${r.tag}" described`);
  });

  it('every operation has a short summary and a description', () => {
    const missing: string[] = [];
    for (const [id, r] of ROUTES) {
      const op = opOf(r);
      assert.ok(op, `${id} in the document`);
      assert.equal(op.operationId, id);
      if (!(typeof op.summary === 'string' && op.summary.length > 0 && op.summary.length <= 200))
        missing.push(`${id}: summary`);
      if (!(typeof op.description === 'string' && op.description.length >= 80))
        missing.push(`${id}: description`);
    }
    assert.deepEqual(missing, []);
  });

  it('every status a route can answer is declared, errors with the ApiError body, Retry-After on 423/429', () => {
    const problems: string[] = [];
    let declared = 0;
    for (const [id, r] of ROUTES) {
      const op = opOf(r);
      const statuses = Object.keys(op.responses);
      declared += statuses.length;
      const want = new Set([...shapeStatuses(r), ...(DOMAIN[id] ?? []), r.status ?? 200]);
      for (const s of want) if (!statuses.includes(String(s))) problems.push(`${id}: ${s} not declared`);
      for (const s of statuses) {
        const res = op.responses[s];
        if (!(res.description?.length > 5)) problems.push(`${id} ${s}: no description`);
        if (Number(s) >= 400 || s === 'default') {
          const schema = res.content?.['application/json']?.schema;
          if (schema?.$ref !== '#/components/schemas/ApiError') problems.push(`${id} ${s}: not ApiError`);
        }
        if ((s === '423' || s === '429') && !res.headers?.['Retry-After']?.description)
          problems.push(`${id} ${s}: no Retry-After header`);
      }
    }
    assert.deepEqual(problems, []);
    console.log(`${ROUTES.length} operations declare ${declared} responses`);
  });

  it('every parameter, header and schema property has a description', () => {
    const missing: string[] = [];
    let properties = 0;
    for (const [root, ptr] of schemaRoots())
      for (const [v, p] of walk(root, ptr)) {
        if (!p.endsWith('/properties') || v === null || typeof v !== 'object') continue;
        for (const [name, prop] of Object.entries(v as Json)) {
          properties++;
          if (!(typeof prop?.description === 'string' && prop.description.length > 0))
            missing.push(`${p}/${name}`);
        }
      }
    for (const [v, p] of walk(doc.paths, '#/paths')) {
      if (p.endsWith('/parameters'))
        for (const [i, prm] of (v as Json[]).entries())
          if (!prm.description) missing.push(`${p}/${i} (${prm.name})`);
      if (p.endsWith('/headers'))
        for (const [name, h] of Object.entries(v as Json)) if (!h.description) missing.push(`${p}/${name}`);
    }
    // Schemas are shared by many operations: show each missing property once.
    const unique = [
      ...new Set(
        missing.map((m) =>
          m.replace(/^.*\/schema\//, '…/').replace(/^#\/paths.*?\/(parameters|headers)/, '…/$1'),
        ),
      ),
    ];
    assert.deepEqual(unique, [], `${missing.length} undescribed`);
    console.log(`${properties} schema properties, all described`);
  });

  describe('a typed client generated with openapi-typescript', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vd-openapi-client-'));
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('compiles under strict with a program that uses it', async () => {
      const ast = await openapiTS(structuredClone(doc) as never, { silent: true });
      const source = astToString(ast);
      writeFileSync(join(dir, 'api.d.ts'), source);
      writeFileSync(
        join(dir, 'usage.ts'),
        `import type { components, operations, paths } from './api';

type Json<R> = R extends { content: { 'application/json': infer B } } ? B : never;
type ApiError = components['schemas']['ApiError'];

// Staff login: body, answer, and the throttling answers with Retry-After.
type Login = paths['/v1/staff/login']['post'];
export const login: Json<Login['requestBody']> = { username: 'dana', password: 'correct horse battery' };
export const tokens = (t: Json<Login['responses'][200]>): string => t.accessToken + t.staff.role;
export const throttled = (e: Json<Login['responses'][429]>): ApiError => e;
export type LockedRetryAfter = Login['responses'][423]['headers']['Retry-After'];
// @ts-expect-error the password is required
export const noPassword: Json<Login['requestBody']> = { username: 'dana' };

// A device asks for help; the answer is queued or a step-up.
type Create = operations['createRequest'];
export const create: Json<Create['requestBody']> = { optionId: 'cards-lost', idempotencyKey: 'k-0123456789' };
export function position(r: Json<Create['responses'][200]>): number | null {
  return r.status === 'queued' ? r.request.position : r.requiredLevel;
}

// Path parameters and a fenced action with its 409.
type Accept = paths['/v1/agent/requests/{requestId}/accept']['post'];
export const acceptPath: Accept['parameters']['path'] = { requestId: 'r-0123456789abcdef' };
export const fence: Json<Accept['requestBody']> = { fence: 3 };
export const stale = (e: Json<Accept['responses'][409]>): string => e.code;
// @ts-expect-error the fencing number is a number
export const badFence: Json<Accept['requestBody']> = { fence: '3' };

// Recursive schemas are named: a menu tree and the disposition tree.
export const menu: components['schemas']['MenuNode'] = {
  id: 'cards',
  label: 'Cards',
  children: [{ id: 'cards-lost', label: 'Lost card', queue: 'cards', level: 2 }],
};
export const dispositions: Json<operations['dispositions']['responses'][200]> = {
  dispositions: [{ code: 'resolved', label: 'Resolved', children: [{ code: 'card-blocked', label: 'Card blocked' }] }],
};
export const panel = (p: Json<operations['customerPanel']['responses'][200]>) => p.verification.level;
// Views used by many operations are named components.
export const waiting = (r: components['schemas']['RequestView']): boolean => r.state === 'waiting';
export const board = (b: Json<operations['board']['responses'][200]>): components['schemas']['AgentView'][] => b.agents;
`,
      );
      const program = ts.createProgram([join(dir, 'usage.ts')], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        moduleResolution: ts.ModuleResolutionKind.Bundler,
        noUnusedLocals: true,
        exactOptionalPropertyTypes: true,
        types: [],
      });
      const diagnostics = ts.getPreEmitDiagnostics(program);
      const text = diagnostics.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      assert.deepEqual(text, []);
      console.log(`client: ${source.length} characters of types, usage compiles with 0 diagnostics`);
    });
  });
});
