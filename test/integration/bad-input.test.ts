/**
 * RELIABILITY row 20: bad input gets a clear error.
 *
 * For every route of the protocol's route table, VD_FUZZ_RUNS (default 2000; the
 * RELIABILITY size is VD_FUZZ_RUNS=10000) generated invalid requests: schema-invalid
 * JSON bodies (mutations of a valid body: wrong types, missing and unknown fields,
 * prototype-pollution keys, over-long strings, huge arrays, wrong enum values, numbers
 * as strings, null bytes, unicode oddities, invalid UTF-8, deep nesting), text that is
 * not JSON, wrong content types, invalid path parameters, invalid or unexpected query
 * strings, bodies on routes that take none, (for the photo route) bytes that are no
 * image, and (for chat attachments) bytes that are not the declared file type. Each is sent authenticated as the route requires (staff bearer token, or a
 * device token with a fresh device proof per request): the authority authenticates
 * before it validates, so with valid credentials what answers is the validation, not
 * the authentication check. Every answer must be a 4xx carrying the protocol's
 * ApiError JSON, with the status the category calls for; 0 5xx; no unhandled
 * rejection or uncaught exception in this process, which hosts the authority.
 *
 * Most requests go through `app.inject()` (the same fastify instance, no sockets);
 * a sample of each route's cases also goes over real HTTP on loopback.
 * Reproduce a run with VD_FUZZ_SEED (printed at the start).
 *
 * Paths here are literal or built from the route templates by hand, not through the
 * tests' api() helper: the point is the exact bytes on the wire (raw HTTP, malformed
 * parameters, unknown paths), which a helper that encodes and builds paths would hide.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { z } from 'zod';
import {
  ApiError,
  ATTACHMENT_DEFAULT_MAX_BYTES,
  ATTACHMENT_TYPES,
  LIMITS,
  routes,
  type RouteDef,
  type RouteId,
} from '../../protocol/src/index.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, FAKE_PNG, TestDevice } from '../support/device.ts';
import { staffLogin } from '../support/http.ts';
import {
  type J,
  DEL,
  type Mut,
  isObj,
  clone,
  defineOwn,
  applyAt,
  nodes as treeNodes,
} from '../support/json-tree.ts';

// ---------------------------------------------------------------- process health
const faults = { unhandledRejection: 0, uncaughtException: 0, last: [] as string[] };
process.on('unhandledRejection', (e) => {
  faults.unhandledRejection++;
  faults.last.push(`unhandledRejection: ${String((e as Error)?.stack ?? e)}`);
});
process.on('uncaughtException', (e) => {
  faults.uncaughtException++;
  faults.last.push(`uncaughtException: ${String(e?.stack ?? e)}`);
});

const RUNS = Math.max(1, Number(process.env.VD_FUZZ_RUNS ?? 500));
const SEED = Number(process.env.VD_FUZZ_SEED ?? Date.now() % 2 ** 31);
/** The secret of the SIP server in front of the trunk (its routes are fuzzed as it calls them). */
const SIP_SERVER_SECRET = 'bad-input-sip-server-secret-0123456789abcdef';
/** Of each route's cases, this many also go over real HTTP. */
const HTTP_SAMPLE = Math.max(20, Math.ceil(RUNS / 20));
const CONCURRENCY = 16;
const JSON_CT = 'application/json';
const FORM_CT = 'application/x-www-form-urlencoded';
/** A flat body as an HTML form (the routes of bodyKind 'form'). */
const formOf = (body: unknown) =>
  new URLSearchParams(Object.entries(body as Record<string, string>)).toString();

// ---------------------------------------------------------------- valid samples
interface Sample {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: J;
}

const B43 = 'Q2hlY2tfdGhpc19pc19hX2Jhc2U2NHVybF92YWx1ZQA';
const OID = 'opaque_id_0123456789';
const SID = 'S'.repeat(43);
const CUSTOMER = 'c_alice_martin_01';
/**
 * Hand-written valid inputs (the starting points of the mutations). A route without
 * one here (or whose sample no longer fits its schema) gets one derived from its zod
 * schemas (`deriveValid`), so a route added to the table is fuzzed without editing
 * this file; the first test fails if no valid input can be found for some route.
 */
const VALID: Partial<Record<RouteId, Sample>> = {
  health: {},
  jwks: {},
  challenge: { body: { purpose: 'authenticate', deviceId: B43 } },
  identifyCaller: { body: { fence: 1, reference: 'CRM-1' } },
  bookPhoneCallback: { body: { customerId: CUSTOMER, optionId: 'other', number: '+447911123456' } },
  authorizeDialOut: {
    body: { ticket: 'a.b.c', number: '+447911123456', sipUser: 'a-staff_0123456789', callId: 'c1@127.0.0.1' },
  },
  dialOutEnded: { params: { callId: 'c1@127.0.0.1' }, body: { reason: 'failed', status: 486 } },
  sipCallEnd: {
    body: { ticket: 'a.b.c', sipUser: 'a-staff_0123456789', cause: 'bye', callId: 'c1@127.0.0.1' },
  },
  enrol: {
    body: {
      code: 'ALICE-DEMO-2026',
      publicKey: { kty: 'EC', crv: 'P-256', x: B43, y: B43, ext: true, key_ops: ['verify'], alg: 'ES256' },
      challengeId: OID,
      signature: B43 + B43,
      label: 'Phone',
    },
  },
  authenticate: { body: { deviceId: B43, challengeId: OID, signature: B43 + B43 } },
  deviceMe: {},
  setPin: { body: { pin: '482913' } },
  pinFactor: { body: { pin: '482913' } },
  webauthnRegistrationOptions: {},
  webauthnRegister: {
    body: {
      response: {
        id: 'Y3JlZA',
        rawId: 'Y3JlZA',
        type: 'public-key',
        response: {
          clientDataJSON: 'e30',
          attestationObject: 'o2NmbXRkbm9uZQ',
          authenticatorData: 'AAAA',
          transports: ['internal'],
          publicKeyAlgorithm: -7,
          publicKey: 'AAAA',
        },
        authenticatorAttachment: 'platform',
        clientExtensionResults: { credProps: { rk: true } },
      },
    },
  },
  webauthnAssertionOptions: {},
  webauthnFactor: {
    body: {
      response: {
        id: 'Y3JlZA',
        rawId: 'Y3JlZA',
        type: 'public-key',
        response: {
          clientDataJSON: 'e30',
          authenticatorData: 'AAAA',
          signature: 'MEUCIQ',
          userHandle: 'dXNlcg',
        },
        authenticatorAttachment: 'cross-platform',
        clientExtensionResults: {},
      },
    },
  },
  photo: { query: { purpose: 'verification' } },
  openSession: {},
  getSession: { params: { sessionId: SID } },
  endSession: { params: { sessionId: SID }, body: { reason: 'customer hung up' } },
  login: { body: { username: 'agent1', password: 'not-the-password' } },
  refresh: { body: { refreshToken: OID } },
  logout: { body: { refreshToken: OID } },
  staffMe: {},
  getAuthentication: { params: { authenticationId: OID } },
  knowledgeQuestions: { params: { customerId: CUSTOMER } },
  knowledgeCheck: {
    params: { customerId: CUSTOMER },
    body: { answers: [{ questionId: OID, answer: 'blue' }] },
  },
  issueEnrolmentCode: { params: { customerId: CUSTOMER } },
  unlockPin: { params: { customerId: CUSTOMER } },
  createStaff: {
    body: { username: 'new.agent', displayName: 'New Agent', role: 'agent', password: 'a long password' },
  },
  setRole: { params: { staffId: OID }, body: { role: 'supervisor' } },
  adminEndSession: { params: { sessionId: SID }, body: { reason: 'fraud suspected' } },
  auditVerify: {},
  putPipelineConfig: {
    body: {
      company: 'Acme Bank',
      queues: [{ id: 'cards', name: 'Cards', targetAnswerSeconds: 60, expectedHandleSeconds: 300 }],
      menu: [
        {
          id: 'cards-menu',
          label: 'Cards',
          children: [{ id: 'lost-card', label: 'Lost card', queue: 'cards', level: 2, skills: ['cards'] }],
        },
      ],
      priorityRules: [
        { id: 'vip', when: { minLevel: 2, queue: 'cards' }, addPriority: 10, moveToQueue: 'cards' },
      ],
    },
  },
};

// ---------------------------------------------------------------- valid inputs derived from zod schemas
type Schema = z.ZodType;
const NONE: unique symbol = Symbol('none');
const STRING_CANDIDATES = [
  OID,
  'a',
  'x1',
  B43,
  SID,
  B43 + B43,
  '2026-03-02T10:00:00.000Z',
  '2026-03-02T10:00:00Z',
  '2026-03-02',
  '10:00:00',
  'ABCD-1234',
  '482913',
  'agent1',
  'Some text',
  'https://example.com',
  'a long password',
];
const defOf = (s: Schema): any => (s as any)._zod.def;
const checksOf = (s: Schema): any[] => (defOf(s).checks ?? []).map((c: any) => c._zod.def);

/** A value `schema` accepts (NONE when none is found): structure from the zod definition, leaves tried against the schema. */
function deriveValid(schema: Schema, depth = 0): J | typeof NONE {
  const d = defOf(schema);
  const ok = (v: J | typeof NONE): J | typeof NONE => (v !== NONE && schema.safeParse(v).success ? v : NONE);
  switch (d.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return ok(deriveValid(d.innerType, depth));
    case 'nullable': {
      const v = ok(deriveValid(d.innerType, depth));
      return v !== NONE ? v : ok(null);
    }
    case 'lazy':
      return depth > 6 ? NONE : ok(deriveValid(d.getter(), depth + 1));
    case 'pipe':
      return ok(deriveValid(d.in, depth));
    case 'literal':
      return ok(d.values[0]);
    case 'enum':
      return ok(Object.values(d.entries)[0] as J);
    case 'boolean':
      return ok(true);
    case 'null':
      return ok(null);
    case 'unknown':
    case 'any':
      return ok('x');
    case 'record':
      return ok({});
    case 'number': {
      const cs = checksOf(schema);
      const lo = cs.find((c) => c.check === 'greater_than')?.value as number | undefined;
      const hi = cs.find((c) => c.check === 'less_than')?.value as number | undefined;
      for (const n of [1, 5, 60, 300, 0, lo, hi, lo !== undefined ? lo + 1 : undefined])
        if (n !== undefined && ok(n) !== NONE) return n;
      return NONE;
    }
    case 'string': {
      for (const c of STRING_CANDIDATES) if (ok(c) !== NONE) return c;
      const patterns = [d.pattern, ...checksOf(schema).map((c) => c.pattern)].filter(
        (p): p is RegExp => p instanceof RegExp,
      );
      for (const p of patterns)
        for (const c of fc.sample(fc.stringMatching(p), { numRuns: 300, seed: 42 }))
          if (ok(c) !== NONE) return c;
      for (let n = 1; n <= 256; n *= 2) if (ok('a'.repeat(n)) !== NONE) return 'a'.repeat(n);
      return NONE;
    }
    case 'array': {
      const min =
        (checksOf(schema).find((c) => c.check === 'min_length')?.minimum as number | undefined) ?? 0;
      const el = deriveValid(d.element, depth + 1);
      if (el === NONE) return ok([]);
      return ok(Array.from({ length: Math.max(1, min) }, () => clone(el)));
    }
    case 'tuple':
      return ok((d.items as Schema[]).map((i) => deriveValid(i, depth + 1)) as J);
    case 'object': {
      const full: Record<string, J> = {};
      const required: Record<string, J> = {};
      for (const [k, sub] of Object.entries(d.shape as Record<string, Schema>)) {
        const v = deriveValid(sub, depth + 1);
        const optional = sub.safeParse(undefined).success;
        if (v === NONE) {
          if (!optional) return NONE;
          continue;
        }
        full[k] = v;
        if (!optional) required[k] = v;
      }
      const f = ok(full);
      return f !== NONE ? f : ok(required);
    }
    case 'union': {
      for (const o of d.options as Schema[]) {
        const v = ok(deriveValid(o, depth + 1));
        if (v !== NONE) return v;
      }
      return NONE;
    }
    default:
      return NONE;
  }
}

/** The valid input of a route: the hand-written one when it fits the schemas, else one derived from them. */
function sampleFor(id: RouteId, r: RouteDef): Sample {
  const hand = VALID[id] ?? {};
  const out: Sample = {};
  const part = <K extends 'params' | 'query' | 'body'>(k: K, schema: Schema | undefined) => {
    if (!schema) return;
    if (hand[k] !== undefined && schema.safeParse(hand[k]).success)
      return void (out[k] = hand[k] as Sample[K]);
    const v = deriveValid(schema);
    if (v === NONE)
      throw new Error(`${id}: no valid ${k} found for the route's schema: add one to VALID in this file`);
    out[k] = v as Sample[K];
  };
  part('params', r.params);
  part('query', r.query);
  if (r.bodyKind !== 'image') part('body', r.body);
  return out;
}

const ROUTES = Object.entries(routes) as [RouteId, RouteDef][];

// ---------------------------------------------------------------- generators

/** Strings that break naive code: NUL, lone surrogates, bidi overrides, zero-width, BOM, look-alikes, injections. */
const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  '\uDBFF\uDBFF',
  '\u202Egnp.exe',
  '\u200B',
  '\uFEFF',
  '\u00A0',
  '\u2028\u2029',
  '１２３４５６',
  '٤٨٢٩١٣',
  'İı',
  'e\u0301\u0301\u0301',
  '🙂'.repeat(10),
  '\u{1F3F3}\u{FE0F}\u{200D}\u{1F308}',
  'ａｄｍｉｎ',
  'аdmin',
  'null',
  'true',
  'undefined',
  '0',
  '-1',
  '1e309',
  'NaN',
  'Infinity',
  '[object Object]',
  '__proto__',
  'constructor',
  "' OR 1=1 --",
  '"; DROP TABLE pins; --',
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '%s%s%s%n',
  '${jndi:ldap://x}',
  '\r\n\r\nX-Injected: 1',
  '\t\v\f',
  '\\u0000',
];
const PROTO_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
];

const odd = fc.constantFrom(...ODD_STRINGS);
const weird: fc.Arbitrary<J> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(1e308, -0, 2 ** 53 + 1, -1, 0.5),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  odd,
  fc.integer().map(String),
  fc.array(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>, { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>, {
    maxKeys: 5,
  }),
);
const keyArb = fc.oneof(
  fc.constantFrom(...PROTO_KEYS),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...ODD_STRINGS),
);

const HOMOGLYPH: Record<string, string> = {
  a: 'а',
  e: 'е',
  o: 'о',
  p: 'р',
  c: 'с',
  x: 'х',
  A: 'А',
  E: 'Е',
  O: 'О',
};
const homoglyphs = (s: string) => s.replace(/[aeopcxAEO]/, (c) => HOMOGLYPH[c] ?? c);
const fullwidth = (s: string) =>
  s.replace(/[0-9A-Za-z]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0));

function nest(depth: number, inner: J, useObjects: boolean): J {
  let v = inner;
  for (let i = 0; i < depth; i++) v = useObjects && i % 2 ? { n: v } : [v];
  return v;
}
const deepNest = (v: J) =>
  fc.tuple(fc.integer({ min: LIMITS.jsonDepth + 1, max: 3000 }), fc.boolean()).map(([d, o]) => nest(d, v, o));

function stringMutations(s: string): fc.Arbitrary<J> {
  return fc.oneof(
    fc
      .oneof(fc.integer({ min: 129, max: 300 }), fc.integer({ min: 4001, max: 20_000 }))
      .map((n) => s + 'x'.repeat(n)),
    fc.tuple(fc.nat(s.length), odd).map(([i, o]) => s.slice(0, i) + o + s.slice(i)),
    fc.constantFrom(
      s + '\u0000',
      '\u0000' + s,
      s.toUpperCase(),
      s.toLowerCase(),
      ` ${s}`,
      `${s} `,
      `${s}\n`,
      '',
    ),
    fc.constantFrom(
      homoglyphs(s),
      fullwidth(s),
      s.normalize('NFD') + '\u0301',
      s.slice(0, Math.max(0, s.length - 1)),
    ),
    fc.constant(/^-?\d+(\.\d+)?$/.test(s) ? Number(s) : s.length),
    fc.constant<J>([s]),
  );
}
const numberMutations = (n: number): fc.Arbitrary<J> =>
  fc.constantFrom(String(n), n + 0.5, -n - 1, 1e308, 2 ** 53 + 1, `${n}e0`, ` ${n}`);
const arrayMutations = (a: J[]): fc.Arbitrary<J> =>
  fc.oneof(
    fc.constant<J>([]),
    fc
      .integer({ min: LIMITS.arrayItems + 1, max: 3000 })
      .map((n) => Array.from({ length: n }, () => clone(a[0] ?? 0))),
    weird.map((w) => [...a, w]),
    fc.constant<J>([a]),
  );
const objectMutations = (o: Record<string, J>): fc.Arbitrary<J> =>
  fc.oneof(
    fc.tuple(keyArb, weird).map(([k, w]) => {
      const c = clone(o) as Record<string, J>;
      defineOwn(c, k, w);
      return c;
    }),
    fc
      .tuple(
        fc.constantFrom(...PROTO_KEYS),
        fc.constantFrom<J>({ polluted: true }, { prototype: { polluted: true } }),
      )
      .map(([k, w]) => {
        const c = clone(o) as Record<string, J>;
        defineOwn(c, k, w);
        return c;
      }),
    fc.constant({}),
    fc.constant(Object.entries(o) as J),
  );

/** One mutation of the node `value`; `canDelete` when it is a member of an object. */
function mutationAt(value: J, canDelete: boolean): fc.Arbitrary<Mut> {
  const opts: fc.Arbitrary<Mut>[] = [weird, fc.constantFrom<J>([value], { value }), deepNest(value)];
  if (canDelete) opts.push(fc.constant(DEL), fc.constant(DEL));
  if (typeof value === 'string') opts.push(stringMutations(value), stringMutations(value));
  if (typeof value === 'number') opts.push(numberMutations(value));
  if (Array.isArray(value)) opts.push(arrayMutations(value));
  if (isObj(value)) opts.push(objectMutations(value), objectMutations(value));
  return fc.oneof(...opts);
}

/** The nodes of a value (breadth-limited, at most 40 deep and 400 in all), each with its path. */
const nodes = (root: J) => treeNodes(root, { maxDepth: 40, maxItems: 50, maxNodes: 400 });
/** One or two mutations of a valid value, anywhere in its tree. */
function mutated(valid: J): fc.Arbitrary<J> {
  const once = (v: J) =>
    fc
      .constantFrom(...nodes(v))
      .chain((n) => mutationAt(n.value, n.canDelete).map((m) => applyAt(v, n.path, m)));
  return fc.oneof(
    { weight: 3, arbitrary: once(valid) },
    {
      weight: 1,
      arbitrary: once(valid).chain((v) =>
        depthOf(JSON.stringify(v)) > LIMITS.jsonDepth ? fc.constant(v) : once(v),
      ),
    },
    { weight: 1, arbitrary: weird },
  );
}

/** How the server sees a JSON text: too deep, not JSON, or the parsed value. */
function depthOf(text: string): number {
  let d = 0;
  let max = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++d);
    else if (c === ']' || c === '}') d--;
  }
  return max;
}
/** True when `text` is NOT a valid input for `schema` (too deep, not JSON, or rejected by the schema). */
function invalidJson(text: string, schema: RouteDef['body']): boolean {
  if (depthOf(text) > LIMITS.jsonDepth) return true;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return true;
  }
  // The authority reads a JSON null body as no body, i.e. as {} (bind.ts isEmptyBody / parseWith).
  return !schema!.safeParse(v ?? {}).success;
}

/** Percent-encode a path or query component; lone surrogates go out as UTF-8 of U+FFFD (what a client would send). */
function enc(s: string): string {
  let e: string;
  try {
    e = encodeURIComponent(s);
  } catch {
    e = [...Buffer.from(s, 'utf8')].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('');
  }
  // Also escape what URL parsers may re-encode ("'" in a query), so the URL the server sees is the one the proof names.
  return e.replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}
const BAD_ESCAPES = ['%', '%zz', '%C0%AF', '%ED%A0%80', '%FF', 'abc%', '%E2%82'];

// ---------------------------------------------------------------- cases
interface Case {
  kind: string;
  method: RouteDef['method'];
  url: string;
  contentType?: string;
  payload?: string | Buffer;
  /** Acceptable statuses for this case (every one a 4xx). */
  expect: readonly number[];
}

function urlOf(
  r: RouteDef,
  params: Record<string, string> | undefined,
  rawParams = false,
  query = '',
): string {
  let p = r.path;
  for (const [k, v] of Object.entries(params ?? {})) p = p.replace(`:${k}`, rawParams ? v : enc(v));
  return p + query;
}
const queryOf = (q: Record<string, string> | undefined) =>
  q && Object.keys(q).length
    ? '?' +
      Object.entries(q)
        .map(([k, v]) => `${enc(k)}=${enc(v)}`)
        .join('&')
    : '';
const sizeExpect = (payload: string | Buffer, small: readonly number[]) =>
  Buffer.byteLength(payload) > LIMITS.jsonBodyBytes ? [413] : small;

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/xml',
  'text/json',
  'application/jsonx',
  'application/json-patch+json',
  'application/octet-stream',
  'image/png',
  'image/jpeg',
  'video/mp4',
  'application/*',
  'application',
  '',
  undefined,
] as const;

const NOT_JSON = [
  "{'pin':'1234'}",
  '{"pin":"1234",}',
  '{pin:1234}',
  'NaN',
  'undefined',
  '{"a":1}garbage',
  '\uFEFF{}',
  '/* comment */ {}',
  '[1,2',
  '{"a":"\\x41"}',
  '"unterminated',
  '{"a":01}',
  'Infinity',
  '-',
  '{"a":1}{"b":2}',
  '\u0000',
  'true false',
  '{"__proto__":}',
  ' ',
  '\n\n',
];

function casesFor(id: RouteId, r: RouteDef): fc.Arbitrary<Case> {
  const v = sampleFor(id, r);
  const validUrl = urlOf(r, v.params, false, queryOf(v.query));
  const validBodyText = v.body !== undefined ? JSON.stringify(v.body) : undefined;
  const arbs: fc.Arbitrary<Case>[] = [];
  // For the photo route, a request is "otherwise valid" with a real-looking JPEG; a chat attachment with a PNG.
  const otherwise =
    r.bodyKind === 'image'
      ? { contentType: 'image/jpeg', payload: FAKE_JPEG }
      : r.bodyKind === 'file'
        ? { contentType: 'image/png', payload: FAKE_PNG }
        : r.bodyKind === 'form'
          ? { contentType: FORM_CT, payload: formOf(v.body) }
          : validBodyText
            ? { contentType: JSON_CT, payload: validBodyText }
            : {};

  if (r.bodyKind === 'form') {
    // A form route: forms whose fields are wrong (missing, extra, twice, too short or long,
    // odd characters), and the valid fields as JSON or another type (415).
    const good = v.body as Record<string, string>;
    const [field] = Object.keys(good) as [string];
    const forms = fc.oneof(
      fc.constant(''),
      fc.constant(`${field}=`),
      fc.constant(`${formOf(good)}&${field}=${encodeURIComponent(good[field]!)}`),
      fc.string({ maxLength: 30 }).map((x) => `${formOf(good)}&${encodeURIComponent(`x${x}`)}=1`),
      fc.string({ maxLength: 19 }).map((x) => new URLSearchParams({ [field]: x }).toString()),
      fc
        .integer({ min: 16_385, max: 30_000 })
        .map((n) => new URLSearchParams({ [field]: 'a'.repeat(n) }).toString()),
      fc.string({ unit: 'binary', maxLength: 60 }).map((x) => new URLSearchParams({ other: x }).toString()),
    );
    arbs.push(
      forms.map((payload) => ({
        kind: 'invalid body',
        method: r.method,
        url: validUrl,
        contentType: FORM_CT,
        payload,
        expect: sizeExpect(payload, [400]),
      })),
    );
    arbs.push(
      fc.constantFrom(JSON_CT, 'text/plain', 'multipart/form-data; boundary=xyz').map((ct) => ({
        kind: 'wrong content type',
        method: r.method,
        url: validUrl,
        contentType: ct,
        payload: ct === JSON_CT ? JSON.stringify(good) : formOf(good),
        expect: [415],
      })),
    );
  } else if (r.body) {
    const schema = r.body;
    // A: schema-invalid JSON bodies (mutations of the valid body, whole-body replacements, invalid UTF-8).
    const texts = fc.oneof(
      { weight: 8, arbitrary: mutated(v.body!).map((b) => JSON.stringify(b)) },
      {
        weight: 1,
        arbitrary: fc
          .tuple(mutated(v.body!), fc.nat(), fc.constantFrom(0xff, 0xc0, 0xed, 0x80))
          .map(([b, i, byte]) => {
            const buf = Buffer.from(JSON.stringify(b), 'utf8');
            // Replace a byte inside the text (not the first, so it stays "JSON-looking").
            buf[1 + (i % Math.max(1, buf.length - 2))] = byte;
            return buf;
          }),
      },
    );
    arbs.push(
      texts
        .filter((t) => invalidJson(typeof t === 'string' ? t : t.toString('utf8'), schema))
        .map((payload) => ({
          kind: 'invalid body',
          method: r.method,
          url: validUrl,
          contentType: JSON_CT,
          payload,
          expect: sizeExpect(payload, [400]),
        })),
    );
    arbs.push(
      fc
        .oneof(
          fc.constantFrom(...NOT_JSON),
          fc.string({ minLength: 1, maxLength: 200 }),
          fc.nat(validBodyText!.length - 1).map((n) => validBodyText!.slice(0, Math.max(1, n))),
          fc.uint8Array({ minLength: 1, maxLength: 200 }).map((u) => Buffer.from(u)),
        )
        .filter((t) => {
          try {
            JSON.parse(typeof t === 'string' ? t : t.toString('utf8'));
            return false;
          } catch {
            return true;
          }
        })
        .map((payload) => ({
          kind: 'not JSON',
          method: r.method,
          url: validUrl,
          contentType: JSON_CT,
          payload,
          expect: [400],
        })),
    );
    // E: the valid body under a wrong content type.
    arbs.push(
      fc.constantFrom(...WRONG_CONTENT_TYPES).map((ct) => ({
        kind: 'wrong content type',
        method: r.method,
        url: validUrl,
        ...(ct !== undefined ? { contentType: ct } : {}),
        payload: validBodyText!,
        expect: [400, 415],
      })),
    );
  }

  if (r.params) {
    const schema = r.params;
    const [[name, good]] = Object.entries(v.params!) as [[string, string]];
    const values = fc.oneof(
      {
        weight: 4,
        arbitrary: stringMutations(good).map((x) => (typeof x === 'string' ? x : JSON.stringify(x))),
      },
      {
        weight: 2,
        arbitrary: fc.oneof(odd, fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 60 })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 201, max: 5000 }).map((n) => 'A'.repeat(n)) },
    );
    arbs.push(
      values
        .map((s) => enc(s))
        .filter((e) => !schema.safeParse({ [name]: decodeURIComponent(e) }).success)
        .map((e) => ({
          kind: 'invalid path parameter',
          method: r.method,
          url: urlOf(r, { [name]: e }, true, queryOf(v.query)),
          ...otherwise,
          // Empty segment: 404 when the route continues after it ("/v1/sessions//end"); so do the
          // dot segments "." and ".." that URL parsers (inject's, any browser's) resolve away.
          // Too long (the router counts decoded characters, over 200): 414.
          // A device's proof names the path it meant; once "." is resolved away the path differs: 401.
          expect: ['', '.', '..'].includes(decodeURIComponent(e))
            ? r.auth === 'device'
              ? [400, 401, 404]
              : [400, 404]
            : decodeURIComponent(e).length > 200
              ? [414]
              : [400],
        })),
      fc.constantFrom(...BAD_ESCAPES).map((raw) => ({
        kind: 'invalid path parameter',
        method: r.method,
        url: urlOf(r, { [name]: raw }, true, queryOf(v.query)),
        ...otherwise,
        expect: [400],
      })),
    );
  }

  // C: query strings. With a query schema: anything but exactly one valid value; without: any query at all.
  const qKeys = r.query ? Object.keys(r.query.shape) : ['q'];
  const asText = (w: J) => (typeof w === 'string' ? w : JSON.stringify(w));
  // A query string carries text: a valid number (z.coerce) is mutated as its digits.
  const qVals = Object.values(v.query ?? {}).map((x) => asText(x as J));
  const pairs = fc.array(
    fc.tuple(
      fc.oneof(
        keyArb,
        fc.constantFrom(
          ...qKeys,
          'x',
          'a[b]',
          ...qKeys.map((k) => `${k}[]`),
          ...qKeys.map((k) => k.toUpperCase()),
        ),
      ),
      fc.oneof(
        weird.map(asText),
        qVals.length
          ? fc.constantFrom(...qVals).chain((q) => fc.oneof(fc.constant(q), stringMutations(q).map(asText)))
          : odd,
      ),
    ),
    { minLength: 1, maxLength: 4 },
  );
  const queryValid = (ps: [string, string][]) => {
    if (!r.query) return false;
    const q: Record<string, string | string[]> = {};
    for (const [k, val] of ps) q[k] = k in q ? ([] as string[]).concat(q[k]!, val) : val;
    return Object.keys(q).length === ps.length && r.query.safeParse(q).success;
  };
  arbs.push(
    pairs
      // Keep URLs under 8000 characters: beyond ~16 KiB of headers Node refuses the request itself (see the malformed HTTP test).
      .filter(
        (ps) =>
          ps.every(([k]) => k !== '') &&
          !queryValid(ps) &&
          ps.reduce((n, [k, x]) => n + k.length + x.length, 0) < 2500,
      )
      .map((ps) => ({
        kind: 'invalid query',
        method: r.method,
        url: urlOf(r, v.params) + '?' + ps.map(([k, val]) => `${enc(k)}=${enc(val)}`).join('&'),
        ...otherwise,
        expect: [400],
      })),
    fc
      .constantFrom(
        '?a',
        '?a[b]=1',
        '?__proto__=x',
        '?__proto__[polluted]=1',
        '?constructor[prototype][polluted]=1',
        '?=x',
        '?%',
        '?a=%zz',
        `?${qKeys[0]}`,
        `?${qKeys[0]}=`,
      )
      .map((q) => ({
        kind: 'invalid query',
        method: r.method,
        url: urlOf(r, v.params) + q,
        ...otherwise,
        expect: [400],
      })),
  );

  if (r.bodyKind === 'image') {
    // Bytes that are no JPEG/PNG, or a mismatched or non-image content type.
    arbs.push(
      fc
        .tuple(
          fc.constantFrom('image/jpeg', 'image/png'),
          fc.oneof(
            fc.uint8Array({ maxLength: 63 }).map((u) => Buffer.from(u)),
            fc.uint8Array({ minLength: 64, maxLength: 4096 }).map((u) => Buffer.from(u)),
            fc.constant(FAKE_PNG),
            fc.constant(FAKE_JPEG),
            fc.constant(Buffer.from('{"purpose":"verification"}')),
          ),
        )
        .filter(
          ([ct, b]) =>
            b.length < 64 ||
            !(
              ct === 'image/jpeg' ? [0xff, 0xd8, 0xff] : [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
            ).every((x, i) => b[i] === x),
        )
        .map(([contentType, payload]) => ({
          kind: 'not an image',
          method: r.method,
          url: validUrl,
          contentType,
          payload,
          expect: [400],
        })),
      fc
        .constantFrom(
          ...WRONG_CONTENT_TYPES.filter((c) => c !== 'image/png' && c !== 'image/jpeg'),
          'application/json',
          'image/gif',
          'image/svg+xml',
          'image/jpeg2',
        )
        .map((ct) => ({
          kind: 'wrong content type',
          method: r.method,
          url: validUrl,
          ...(ct !== undefined ? { contentType: ct } : {}),
          payload: ct === 'application/json' ? '{}' : FAKE_JPEG,
          expect: [400, 415],
        })),
    );
  } else if (r.bodyKind === 'file') {
    // A chat attachment: bytes that are none of the types (or not the declared one): 415; an empty body: 400.
    const MAGIC: Record<string, number[]> = {
      'image/png': [0x89, 0x50, 0x4e, 0x47],
      'image/jpeg': [0xff, 0xd8, 0xff],
      'image/webp': [0x52, 0x49, 0x46, 0x46],
      'application/pdf': [0x25, 0x50, 0x44, 0x46],
    };
    arbs.push(
      fc
        .tuple(
          fc.constantFrom(...ATTACHMENT_TYPES),
          fc.oneof(
            fc.uint8Array({ minLength: 1, maxLength: 4096 }).map((u) => Buffer.from(u)),
            fc.constant(FAKE_PNG),
            fc.constant(FAKE_JPEG),
            fc.constant(Buffer.from('MZ\x90\x00 renamed executable')),
            fc.constant(Buffer.from('<html><script>alert(1)</script></html>')),
          ),
        )
        .filter(([ct, b]) => !MAGIC[ct]!.every((x, i) => b[i] === x))
        .map(([contentType, payload]) => ({
          kind: 'not the declared file type',
          method: r.method,
          url: validUrl,
          contentType,
          payload,
          expect: [415],
        })),
      fc
        .constantFrom(
          ...WRONG_CONTENT_TYPES.filter((c) => c !== 'image/png' && c !== 'image/jpeg'),
          'image/gif',
        )
        .map((ct) => ({
          kind: 'wrong content type',
          method: r.method,
          url: validUrl,
          ...(ct !== undefined ? { contentType: ct } : {}),
          payload: FAKE_PNG,
          expect: [400, 415],
        })),
    );
  } else if (!r.body) {
    // G: a body on a route that takes none (anything but an empty JSON object).
    arbs.push(
      fc
        .oneof(
          weird.map((w) => JSON.stringify(w)),
          fc.constantFrom('[]', '""', '0', 'false', '{"a":1}', '{"__proto__":{"polluted":true}}', '[{}]'),
          fc.constantFrom(...NOT_JSON),
        )
        // The empty object and JSON null count as "no body" (bind.ts isEmptyBody).
        .filter((t) => t !== '{}' && t !== 'null')
        .map((payload) => ({
          kind: 'unexpected body',
          method: r.method,
          url: validUrl,
          contentType: JSON_CT,
          payload,
          expect: [400],
        })),
      fc
        .tuple(
          fc.constantFrom(...WRONG_CONTENT_TYPES.filter((c) => c !== undefined && c !== '')),
          fc.string({ minLength: 1, maxLength: 100 }),
        )
        .map(([contentType, payload]) => ({
          kind: 'unexpected body',
          method: r.method,
          url: validUrl,
          contentType,
          payload,
          expect: [400, 415],
        })),
    );
  }
  return fc.oneof(...arbs);
}

// ---------------------------------------------------------------- sending
interface Answer {
  status: number;
  contentType: string;
  text: string;
}

const CODE_FOR: Record<number, string> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  413: 'payload_too_large',
  414: 'invalid_request',
  415: 'unsupported_media_type',
  431: 'invalid_request',
};

/** Problems with an answer: not a 4xx, not ApiError JSON, a code that does not match the status, a status the case does not allow. */
function judge(c: Pick<Case, 'expect'>, a: Answer): string[] {
  const problems: string[] = [];
  if (a.status < 400 || a.status > 499) problems.push(`status ${a.status}`);
  else if (!c.expect.includes(a.status)) problems.push(`status ${a.status}, expected ${c.expect.join('/')}`);
  if (!a.contentType.startsWith('application/json')) problems.push(`content-type ${a.contentType}`);
  let body: unknown;
  try {
    body = JSON.parse(a.text);
  } catch {
    problems.push('body is not JSON');
    return problems;
  }
  const shape = ApiError.safeParse(body);
  if (!shape.success)
    problems.push(
      `not ApiError: ${shape.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')}`,
    );
  else if (CODE_FOR[a.status] && shape.data.code !== CODE_FOR[a.status])
    problems.push(`code ${shape.data.code} for ${a.status}`);
  return problems;
}

const show = (c: Case, a: Answer, problems: string[]) =>
  `${c.kind}: ${c.method} ${c.url.slice(0, 160)} [${c.contentType ?? 'no content-type'}] ${
    c.payload === undefined ? '' : JSON.stringify(String(c.payload).slice(0, 160))
  } -> ${a.status} ${a.text.slice(0, 200)} :: ${problems.join(', ')}`;

async function pool<T>(items: T[], n: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

describe('bad input gets a clear error (RELIABILITY row 20)', { timeout: 30 * 60_000 }, () => {
  let a: TestAuthority;
  let device: TestDevice;
  let staffToken = '';
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

  before(async () => {
    console.log(
      `bad-input: VD_FUZZ_RUNS=${RUNS} per route, VD_FUZZ_SEED=${SEED}, ${HTTP_SAMPLE} per route also over real HTTP`,
    );
    // The SQLite file on tmpfs when there is one: this test is about validation, not durability,
    // and every device request commits its proof's jti (an fsync per request on a disk).
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, authenticationTtlSeconds: 86_400, sipServerSecret: SIP_SERVER_SECRET },
      existsSync('/dev/shm') ? { dataDir: mkdtempSync('/dev/shm/vd-fuzz-') } : {},
    );
    device = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
    staffToken = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(async () => {
    agent.destroy();
    await a?.dispose();
  });

  /** Authorization for the route: a staff bearer, or the device token with a fresh proof for exactly this method and URL. */
  async function authFor(
    r: RouteDef,
    method: string,
    url: string,
    i: number,
  ): Promise<Record<string, string>> {
    if (r.auth === 'device' || (r.auth === 'deviceOrStaff' && i % 2 === 0))
      return device.headers(method, url);
    if (r.auth === 'staff' || r.auth === 'deviceOrStaff') return { authorization: `Bearer ${staffToken}` };
    if (r.auth === 'sipServer') return { authorization: `Bearer ${SIP_SERVER_SECRET}` };
    return {};
  }

  async function viaInject(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload?: string | Buffer,
  ): Promise<Answer> {
    const res = await a.app.inject({
      method: method as 'GET',
      url,
      headers,
      ...(payload !== undefined ? { payload } : {}),
    });
    return { status: res.statusCode, contentType: String(res.headers['content-type'] ?? ''), text: res.body };
  }
  function viaHttp(
    method: string,
    url: string,
    headers: Record<string, string>,
    payload?: string | Buffer,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: a.port,
          method,
          path: url,
          agent,
          headers:
            payload !== undefined
              ? { ...headers, 'content-length': String(Buffer.byteLength(payload)) }
              : headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              contentType: String(res.headers['content-type'] ?? ''),
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  async function send(
    r: RouteDef,
    c: Case,
    i: number,
    via: 'inject' | 'http',
  ): Promise<{ ans: Answer; headBytes: number }> {
    const headers: Record<string, string> = { ...(await authFor(r, c.method, c.url, i)) };
    if (c.contentType !== undefined) headers['content-type'] = c.contentType;
    const headBytes =
      c.url.length + Object.entries(headers).reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
    const ans =
      via === 'inject'
        ? await viaInject(c.method, c.url, headers, c.payload)
        : await viaHttp(c.method, c.url, headers, c.payload);
    return { ans, headBytes };
  }

  it('every route has a valid input to start the mutations from (hand-written or derived from its schemas)', () => {
    const derived: string[] = [];
    const stale = Object.keys(VALID).filter((id) => !(id in routes));
    assert.deepEqual(stale, [], 'samples for routes that are no longer in the table');
    for (const [id, r] of ROUTES) {
      const v = sampleFor(id, r);
      if (r.body && r.bodyKind !== 'image') assert.ok(r.body.safeParse(v.body).success, `${id}: sample body`);
      else assert.equal(v.body, undefined, `${id} takes no JSON body`);
      if (r.params) assert.ok(r.params.safeParse(v.params).success, `${id}: sample params`);
      if (r.query) assert.ok(r.query.safeParse(v.query).success, `${id}: sample query`);
      if ((r.params || r.query || r.body) && JSON.stringify(v) !== JSON.stringify(VALID[id] ?? {}))
        derived.push(id);
    }
    console.log(
      `routes: ${ROUTES.length} in the table; valid inputs derived from the schemas for: ${derived.join(', ') || 'none'}`,
    );
  });

  const totals = { sent: 0, fourxx: 0, fivexx: 0, bad: 0, http: 0 };
  for (const [id, r] of ROUTES) {
    it(`${id} (${r.method} ${r.path}): ${RUNS} invalid requests, each a 4xx ApiError`, async () => {
      const arb = casesFor(id, r);
      const statuses = new Map<number, number>();
      const kinds = new Map<string, number>();
      const failures: string[] = [];
      let fivexx = 0;
      let viaHttpCount = 0;
      const CHUNK = 500;
      for (let start = 0; start < RUNS; start += CHUNK) {
        const cases = fc.sample(arb, {
          numRuns: Math.min(CHUNK, RUNS - start),
          seed: (SEED + start + [...id].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) | 0, 0)) | 0,
        });
        await pool(cases, CONCURRENCY, async (c0, j) => {
          let c = c0;
          const i = start + j;
          const via = i % Math.max(1, Math.floor(RUNS / HTTP_SAMPLE)) === 0 ? 'http' : 'inject';
          if (via === 'http') viaHttpCount++;
          const { ans, headBytes } = await send(r, c, i, via);
          // A device proof names the URL and holds at most 2048 characters of it: a longer URL
          // cannot carry a valid proof, so the authentication refuses it first (401).
          const deviceAuthed = r.auth === 'device' || (r.auth === 'deviceOrStaff' && i % 2 === 0);
          if (deviceAuthed && c.url.length > 2048 && !c.expect.includes(414)) c = { ...c, expect: [401] };
          // Over HTTP, a request line beyond Node's 16 KiB header limit is refused by the HTTP parser: 431.
          if (via === 'http' && headBytes > 15_000) c = { ...c, expect: [...c.expect, 431] };
          statuses.set(ans.status, (statuses.get(ans.status) ?? 0) + 1);
          kinds.set(c.kind, (kinds.get(c.kind) ?? 0) + 1);
          if (ans.status >= 500) fivexx++;
          const problems = judge(c, ans);
          if (problems.length) failures.push(`[${via}] ${show(c, ans, problems)}`);
        });
      }
      const fourxx = [...statuses].filter(([s]) => s >= 400 && s < 500).reduce((n, [, k]) => n + k, 0);
      totals.sent += RUNS;
      totals.fourxx += fourxx;
      totals.fivexx += fivexx;
      totals.bad += failures.length;
      totals.http += viaHttpCount;
      console.log(
        `route ${id}: ${RUNS} invalid requests (${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}; ${viaHttpCount} over HTTP), ` +
          `${fourxx} 4xx (${[...statuses]
            .sort()
            .map(([s, n]) => `${s}: ${n}`)
            .join(', ')}), ${fivexx} 5xx, ${failures.length} wrong answers`,
      );
      assert.equal(
        failures.length,
        0,
        `${failures.length} wrong answers, e.g.:\n${failures.slice(0, 8).join('\n')}`,
      );
      assert.equal(fourxx, RUNS);
    });
  }

  it('JSON nested 10,000 deep is refused with 400 on every JSON route, without a stack overflow', async () => {
    const deepArray = '['.repeat(10_000) + ']'.repeat(10_000);
    const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    let n = 0;
    for (const [id, r] of ROUTES) {
      if (r.bodyKind === 'image') continue;
      const v = sampleFor(id, r);
      const url = urlOf(r, v.params, false, queryOf(v.query));
      for (const payload of [deepArray, deepObject]) {
        for (const via of ['inject', 'http'] as const) {
          if (r.method === 'GET' && via === 'http') continue; // covered by inject; GET bodies are refused by length
          const headers = { ...(await authFor(r, r.method, url, 0)), 'content-type': JSON_CT };
          const ans: Answer =
            via === 'inject'
              ? await viaInject(r.method, url, headers, payload)
              : await viaHttp(r.method, url, headers, payload);
          const problems = judge({ expect: [400] }, ans);
          assert.deepEqual(problems, [], `${id} ${via}: ${ans.status} ${ans.text.slice(0, 200)}`);
          n++;
        }
      }
    }
    console.log(`deep nesting: ${n} requests with JSON nested 10,000 deep, all 400`);
  });

  it('JSON bodies over 64 KiB get 413 on every route that reads JSON; photos over 2 MiB get 413', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(LIMITS.jsonBodyBytes) });
    let n = 0;
    for (const [id, r] of ROUTES) {
      if (r.method === 'GET' || r.bodyKind === 'image' || r.bodyKind === 'file') continue;
      const v = sampleFor(id, r);
      const url = urlOf(r, v.params, false, queryOf(v.query));
      for (const via of ['inject', 'http'] as const) {
        const headers = { ...(await authFor(r, r.method, url, 0)), 'content-type': JSON_CT };
        const ans: Answer =
          via === 'inject'
            ? await viaInject(r.method, url, headers, big)
            : await viaHttp(r.method, url, headers, big);
        assert.deepEqual(
          judge({ expect: [413] }, ans),
          [],
          `${id} ${via}: ${ans.status} ${ans.text.slice(0, 200)}`,
        );
        n++;
      }
    }
    // Exactly at the limit is not "too large" (it is just not a valid body).
    const atLimit = JSON.stringify({ pad: 'x'.repeat(LIMITS.jsonBodyBytes - 10) });
    assert.equal(Buffer.byteLength(atLimit), LIMITS.jsonBodyBytes);
    const ans = await viaHttp('POST', '/v1/staff/login', { 'content-type': JSON_CT }, atLimit);
    assert.deepEqual(
      judge({ expect: [400] }, ans),
      [],
      `at the limit: ${ans.status} ${ans.text.slice(0, 200)}`,
    );
    const photoUrl = '/v1/device/photos?purpose=verification';
    const hugePhoto = Buffer.concat([FAKE_JPEG.subarray(0, 4), Buffer.alloc(LIMITS.photoBytes + 1)]);
    const p = await viaHttp(
      'POST',
      photoUrl,
      { ...(await device.headers('POST', photoUrl)), 'content-type': 'image/jpeg' },
      hugePhoto,
    );
    assert.deepEqual(judge({ expect: [413] }, p), [], `photo: ${p.status} ${p.text.slice(0, 200)}`);
    const fileUrl = `/v1/device/conversations/${OID}/attachments?clientMsgId=${OID}&name=big.pdf`;
    const hugeFile = Buffer.concat([
      Buffer.from('%PDF-1.4\n'),
      Buffer.alloc(ATTACHMENT_DEFAULT_MAX_BYTES + 1),
    ]);
    const f = await viaHttp(
      'POST',
      fileUrl,
      { ...(await device.headers('POST', fileUrl)), 'content-type': 'application/pdf' },
      hugeFile,
    );
    assert.deepEqual(judge({ expect: [413] }, f), [], `attachment: ${f.status} ${f.text.slice(0, 200)}`);
    console.log(
      `oversize: ${n + 1} JSON bodies of ${Buffer.byteLength(big)} bytes -> 413, 1 photo of ${hugePhoto.length} bytes -> 413, 1 attachment of ${hugeFile.length} bytes -> 413`,
    );
  });

  it('a route that takes no body, given one, answers 400 (POST and GET alike)', async () => {
    let n = 0;
    for (const [id, r] of ROUTES) {
      if (r.body || r.bodyKind === 'image' || r.bodyKind === 'file') continue;
      const url = urlOf(r, sampleFor(id, r).params);
      for (const payload of ['{"unexpected":true}', '[]', '"text"', '0', 'false']) {
        const headers = { ...(await authFor(r, r.method, url, 0)), 'content-type': JSON_CT };
        const ans = await viaInject(r.method, url, headers, payload);
        assert.deepEqual(
          judge({ expect: [400] }, ans),
          [],
          `${id} ${r.method} with body ${payload}: ${ans.status} ${ans.text.slice(0, 200)}`,
        );
        n++;
      }
      // Over HTTP too, with a content type the server does not parse (the body is still there).
      const headers = { ...(await authFor(r, r.method, url, 0)), 'content-type': 'text/plain' };
      const ans = await viaHttp(r.method, url, headers, 'surprise');
      assert.deepEqual(
        judge({ expect: [400] }, ans),
        [],
        `${id} ${r.method} over HTTP: ${ans.status} ${ans.text.slice(0, 200)}`,
      );
      n++;
    }
    // ... while an empty body or an empty JSON object is fine (a client library may send "{}").
    const openOk = await device.call('POST', '/v1/device/sessions', { json: {} });
    assert.equal(openOk.status, 201, JSON.stringify(openOk.body));
    console.log(`no-body routes: ${n} requests with a body, all 400`);
  });

  it('unknown routes and wrong methods get a 404 ApiError', async () => {
    const patterns = [
      ...ROUTES.map(([, r]) => ({
        method: r.method as string,
        re: new RegExp('^' + r.path.replace(/:[^/]+/g, '[^/]*') + '$'),
      })),
      { method: 'GET', re: /^\/openapi\.json$/ },
      { method: 'GET', re: /^\/v1\/ws$/ },
    ];
    const known = (method: string, path: string) =>
      patterns.some(
        (p) => (p.method === method || (method === 'HEAD' && p.method === 'GET')) && p.re.test(path),
      );
    const segment = fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 12 }),
        odd,
        fc.constantFrom('v1', 'v2', 'device', 'admin', 'staff', 'sessions', 'me', 'api', 'ws'),
      )
      .map(enc)
      .filter((s) => s !== '' && s !== '.' && s !== '..');
    const paths = fc.oneof(
      fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => '/' + s.join('/')),
      fc
        .tuple(
          fc.constantFrom(...ROUTES.map(([id, r]) => urlOf(r, sampleFor(id, r).params))),
          fc.constantFrom('/', '/extra', '//', '.json', '/..%2f'),
        )
        .map(([p, s]) => p + s),
      fc
        .constantFrom(...ROUTES.map(([id, r]) => urlOf(r, sampleFor(id, r).params)))
        .map((p) => p.toUpperCase()),
      fc.constantFrom(...ROUTES.map(([id, r]) => urlOf(r, sampleFor(id, r).params))).map((p) => '/v2' + p),
      fc.integer({ min: 1, max: 3000 }).map((n) => '/x'.repeat(n)),
    );
    const cases = fc.sample(
      fc
        .tuple(fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE'), paths)
        .filter(([m, p]) => !known(m, p)),
      { numRuns: RUNS, seed: SEED },
    );
    const failures: string[] = [];
    await pool(cases, CONCURRENCY, async ([method, path], i) => {
      const ans = i % 20 === 0 ? await viaHttp(method, path, {}) : await viaInject(method, path, {});
      const problems = judge({ expect: [404] }, ans);
      if (problems.length)
        failures.push(
          `${method} ${path.slice(0, 120)} -> ${ans.status} ${ans.text.slice(0, 160)} :: ${problems.join(', ')}`,
        );
    });
    console.log(
      `unknown routes: ${cases.length} requests, ${cases.length - failures.length} 404 ApiError, ${failures.length} wrong answers`,
    );
    assert.equal(failures.length, 0, failures.slice(0, 8).join('\n'));
  });

  it('malformed HTTP (garbage, header overflow, bad framing) gets a 4xx ApiError and a closed connection', async () => {
    const raw = (text: string) =>
      new Promise<Answer>((resolve, reject) => {
        const sock = connect(a.port, '127.0.0.1');
        const chunks: Buffer[] = [];
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', () => undefined); // the server may reset after answering
        sock.on('close', () => {
          const res = Buffer.concat(chunks).toString('utf8');
          const [head = '', body = ''] = res.split('\r\n\r\n');
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
          const contentType = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
          if (!status)
            reject(
              new Error(
                `no HTTP answer to ${JSON.stringify(text.slice(0, 60))}: ${JSON.stringify(res.slice(0, 200))}`,
              ),
            );
          else resolve({ status, contentType, text: body });
        });
        sock.end(text);
      });
    const cases: [string, string, number][] = [
      ['garbage request line', 'HELLO THERE\r\n\r\n', 400],
      ['header overflow', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['space in a header name', 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n', 400],
      [
        'non-numeric content-length',
        'POST /v1/staff/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
        400,
      ],
      [
        'content-length and chunked together',
        'POST /v1/staff/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'bad chunk size',
        'POST /v1/staff/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
        400,
      ],
      ['NUL in the path', 'GET /heal\u0000thz HTTP/1.1\r\nHost: x\r\n\r\n', 400],
    ];
    for (const [name, text, status] of cases) {
      const ans = await raw(text);
      assert.deepEqual(
        judge({ expect: [status] }, ans),
        [],
        `${name}: ${ans.status} ${ans.text.slice(0, 200)}`,
      );
    }
    console.log(`malformed HTTP: ${cases.length} requests, all 4xx ApiError`);
  });

  it('the authority survived: healthy, a valid device call works, no prototype polluted, 0 unhandled rejections or exceptions', async () => {
    const health = await viaHttp('GET', '/healthz', {});
    assert.equal(health.status, 200);
    const me = await device.call('GET', '/v1/device/me');
    assert.equal(me.status, 200, JSON.stringify(me.body));
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(','), protoBefore);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    console.log(
      `bad-input totals: ${totals.sent} fuzzed requests (${totals.http} over HTTP), ${totals.fourxx} 4xx, ${totals.fivexx} 5xx, ${totals.bad} wrong answers; ` +
        `unhandled rejections ${faults.unhandledRejection}, uncaught exceptions ${faults.uncaughtException}`,
    );
    assert.equal(faults.unhandledRejection, 0, faults.last.join('\n'));
    assert.equal(faults.uncaughtException, 0, faults.last.join('\n'));
  });
});
