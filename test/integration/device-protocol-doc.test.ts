/**
 * docs/device-protocol.md is executable. Its worked examples are fenced blocks tagged
 * `example=NAME` (`http` requests, `json` answers with `status=NNN`, frames and JWS parts,
 * `text` exact strings). This test
 *  (a) recomputes the signed strings, the thumbprint, the token hash and the confirmation
 *      bytes from the document's own inputs and compares them with the strings it shows;
 *  (b) verifies every signature and JWS of the document with its example keys (the
 *      device proofs, the call ticket and call proof, the commands through the customer
 *      SDK's own verifier, the transaction confirmation) and checks every example body
 *      and answer against the protocol's schemas and route table;
 *  (c) follows the document's recipe against a live authority with a fresh key: the
 *      header names, JWS headers, claim sets, signed-string templates, request targets
 *      and bodies all come from the document; each answer must have the status and the
 *      shape the document shows;
 *  (d) compares its tables with the implementation: every ErrorCode with the statuses
 *      the authority answers it with, every device route, every WebSocket frame, the
 *      numbers.
 * The authority must also serve the document at GET /docs/device-protocol.md.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  calculateJwkThumbprint,
  CompactSign,
  compactVerify,
  createLocalJWKSet,
  decodeProtectedHeader,
  type JSONWebKeySet,
} from 'jose';
import {
  ApiError,
  CALL_PROOF_HEADER,
  CALL_PROOF_TYP,
  CALL_TICKET_HEADER,
  CALL_TICKET_TYP,
  CallProofClaims,
  CallTicketClaims,
  ClientFrame,
  COMMAND_CLOCK_SKEW_SECONDS,
  COMMAND_TTL,
  COMMAND_TYP,
  CommandClaims,
  CONFIRM_SIGNATURE_TYP,
  confirmCanonical,
  DEVICE_PROOF_HEADER,
  DEVICE_PROOF_TYP,
  DeviceProofClaims,
  ErrorCodes,
  LIMITS,
  routes,
  SecurityNotice,
  ServerFrame,
  SETUP_WINDOW_MS,
  signedMessages,
  WS_PATH,
  type RouteDef,
} from '../../protocol/src/index.ts';
import { CALL_TICKET_TTL_S } from '../../authority/src/calls/call-tickets.ts';
import { ConfigSchema } from '../../authority/src/config.ts';
import { DEVICE_PROTOCOL_DOC_PATH } from '../../authority/src/http/docs.ts';
import { CHALLENGE_TTL_MS } from '../../authority/src/identity/challenges.ts';
import { PIN_DELAY_FROM, PIN_MAX_FAILURES } from '../../authority/src/identity/pin.ts';
import { IncomingCallGuard } from '../../customer/sdk/call-guard.ts';
import { CommandVerifier } from '../../customer/sdk/command-verifier.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.ts';
import type { DomainErrorKind } from '../../authority/src/errors.ts';
import { STATUS_OF } from '../../authority/src/http/errors.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const ROOT = new URL('../../', import.meta.url);
const DOC = readFileSync(new URL('docs/device-protocol.md', ROOT), 'utf8');

// ------------------------------------------------------------------ reading the document

interface Example {
  lang: string;
  name: string;
  attrs: Record<string, string>;
  text: string;
}

function parseExamples(md: string): Map<string, Example> {
  const out = new Map<string, Example>();
  const fence = /^```(\w+)((?:[ \t]+[\w-]+=[^\s`]+)*)[ \t]*\n([\s\S]*?)\n```[ \t]*$/gm;
  for (const m of md.matchAll(fence)) {
    const attrs = Object.fromEntries(
      [...m[2]!.matchAll(/([\w-]+)=([^\s`]+)/g)].map((a) => [a[1]!, a[2]!] as [string, string]),
    );
    if (!attrs.example) continue;
    assert.ok(!out.has(attrs.example), `example ${attrs.example} is named twice`);
    out.set(attrs.example, { lang: m[1]!, name: attrs.example, attrs, text: m[3]! });
  }
  return out;
}
const examples = parseExamples(DOC);
const ex = (name: string): Example => {
  const e = examples.get(name);
  assert.ok(e, `the document has no example=${name}`);
  return e;
};
const json = (name: string): any => JSON.parse(ex(name).text);
const text = (name: string): string => ex(name).text;

interface HttpExample {
  method: string;
  target: string;
  headers: [string, string][];
  body: string | null;
}
function http(name: string): HttpExample {
  const e = ex(name);
  assert.equal(e.lang, 'http', `${name} is not an http example`);
  const [head, ...rest] = e.text.split('\n\n');
  const [requestLine, ...headerLines] = head!.split('\n');
  const m = /^([A-Z]+) (\S+) HTTP\/1\.1$/.exec(requestLine!);
  assert.ok(m, `${name}: bad request line ${requestLine}`);
  const headers = headerLines.map((l) => {
    const i = l.indexOf(': ');
    assert.ok(i > 0, `${name}: bad header line ${l}`);
    return [l.slice(0, i), l.slice(i + 2)] as [string, string];
  });
  return { method: m[1]!, target: m[2]!, headers, body: rest.length ? rest.join('\n\n') : null };
}
const header = (h: HttpExample, name: string) => h.headers.find(([n]) => n.toLowerCase() === name)?.[1];

/** The first markdown table whose header row starts with `| first `, as rows of trimmed cells. */
function table(first: string): string[][] {
  const lines = DOC.split('\n');
  const start = lines.findIndex((l) => new RegExp(`^\\|\\s*${first}\\s*\\|`).test(l));
  assert.ok(start >= 0, `the document has no table starting with "${first}"`);
  const rows: string[][] = [];
  for (const l of lines.slice(start + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim()),
    );
  }
  return rows;
}
const unquote = (cell: string) => cell.replace(/^`|`$/g, '');

function routeOf(method: string, target: string): [string, RouteDef] {
  const path = target.split('?')[0]!;
  const hit = Object.entries(routes as Record<string, RouteDef>).find(
    ([, r]) => r.method === method && new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`).test(path),
  );
  assert.ok(hit, `the document names a route that does not exist: ${method} ${path}`);
  return hit;
}

// ------------------------------------------------------------------ crypto helpers

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('base64url');
const b64json = (part: string): any => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const devicePublicKey = () => createPublicKey({ key: json('device-public-jwk'), format: 'jwk' });
const verifyRaw = (jwk: object, message: string, signature: string) =>
  verify(
    'sha256',
    Buffer.from(message, 'utf8'),
    { key: createPublicKey({ key: jwk as never, format: 'jwk' }), dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
const fill = (template: string, vars: Record<string, string>) =>
  template.replace(/\{(\w+)\}/g, (_m, k: string) => {
    assert.ok(k in vars, `template names {${k}}`);
    return vars[k]!;
  });
async function verifiedJws(jws: string, key: ReturnType<typeof createPublicKey>) {
  const r = await compactVerify(jws, key, { algorithms: ['ES256'] });
  return { header: r.protectedHeader, payload: new TextDecoder().decode(r.payload) };
}

/** Same members (recursively) and the same JSON types; null stands for "nullable" on either side. */
function assertShape(live: unknown, doc: unknown, path: string): void {
  if (doc === null || live === null) return;
  if (Array.isArray(doc)) {
    assert.ok(Array.isArray(live), `${path}: an array in the document`);
    if (doc.length) live.forEach((x, i) => assertShape(x, doc[0], `${path}[${i}]`));
    return;
  }
  if (typeof doc === 'object') {
    assert.equal(typeof live, 'object', `${path}: an object in the document`);
    assert.deepEqual(
      Object.keys(live as object).sort(),
      Object.keys(doc as object).sort(),
      `${path}: the members differ from the document's`,
    );
    for (const k of Object.keys(doc as object))
      assertShape((live as Record<string, unknown>)[k], (doc as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  assert.equal(typeof live, typeof doc, `${path}: a ${typeof doc} in the document`);
}

/** The errors table: code -> statuses, and whether a device gets it. */
const errorTable = () =>
  new Map(
    table('code').map((r) => [
      unquote(r[0]!),
      { statuses: [...r[1]!.matchAll(/\d{3}/g)].map((x) => Number(x[0])), toDevice: r[2] === 'yes' },
    ]),
  );
/** The numbers table: name -> the first integer of its value. */
const numbers = () => new Map(table('name').map((r) => [unquote(r[0]!), Number(/\d+/.exec(r[1]!)![0])]));

// =====================================================================================
describe('docs/device-protocol.md: the worked examples hold with the example keys', () => {
  it('every example is named once, every json example parses, every request names a real route', () => {
    assert.ok(examples.size > 40, `only ${examples.size} examples found`);
    for (const e of examples.values()) {
      if (e.lang === 'json') assert.doesNotThrow(() => JSON.parse(e.text), `${e.name} is not JSON`);
      if (e.lang === 'http') {
        const h = http(e.name);
        routeOf(h.method, h.target);
      }
    }
  });

  it('(a) the device id is the RFC 7638 thumbprint of the example key, made exactly as shown', async () => {
    const priv = json('device-private-jwk');
    const pub = json('device-public-jwk');
    assert.deepEqual(pub, { kty: priv.kty, crv: priv.crv, x: priv.x, y: priv.y });
    // The private key really is the public key's.
    const derived = createPublicKey({ key: priv, format: 'jwk' }).export({ format: 'jwk' });
    assert.equal(derived.x, pub.x);
    assert.equal(derived.y, pub.y);
    assert.equal(
      text('thumbprint-input'),
      JSON.stringify({ crv: pub.crv, kty: pub.kty, x: pub.x, y: pub.y }),
    );
    assert.equal(sha256(text('thumbprint-input')), text('device-id'));
    assert.equal(await calculateJwkThumbprint(pub, 'sha256'), text('device-id'));
    assert.equal(json('enrol-response').deviceId, text('device-id'));
  });

  it('(a) the signed strings are recomputed from the example inputs; (b) the signatures verify', () => {
    const pub = json('device-public-jwk');
    // Enrolment.
    const ch = json('enrol-challenge-response');
    const enrol = JSON.parse(http('enrol').body!);
    const vars = { challengeId: ch.challengeId, nonce: ch.nonce, code: enrol.code };
    assert.equal(fill(text('enrol-template'), vars), text('enrol-signed-string'));
    assert.equal(
      signedMessages.enrolment(ch.challengeId, ch.nonce, enrol.code),
      text('enrol-signed-string'),
      'the implementation signs another string than the document shows',
    );
    assert.equal(
      text('enrol-signed-hex').replace(/\s+/g, ''),
      Buffer.from(text('enrol-signed-string'), 'utf8').toString('hex'),
    );
    assert.equal(enrol.challengeId, ch.challengeId);
    assert.deepEqual(enrol.publicKey, pub);
    assert.equal(enrol.signature.length, 86);
    assert.ok(verifyRaw(pub, text('enrol-signed-string'), enrol.signature), 'enrolment signature');
    // Authentication.
    const ach = json('auth-challenge-response');
    const auth = JSON.parse(http('authenticate').body!);
    assert.equal(JSON.parse(http('auth-challenge').body!).deviceId, text('device-id'));
    const avars = { challengeId: ach.challengeId, nonce: ach.nonce, deviceId: auth.deviceId };
    assert.equal(fill(text('auth-template'), avars), text('auth-signed-string'));
    assert.equal(
      signedMessages.authentication(ach.challengeId, ach.nonce, auth.deviceId),
      text('auth-signed-string'),
    );
    assert.equal(auth.deviceId, text('device-id'));
    assert.equal(auth.challengeId, ach.challengeId);
    assert.ok(verifyRaw(pub, text('auth-signed-string'), auth.signature), 'authentication signature');
  });

  it('(b) every device proof verifies with the example key, has the documented header and claims and names its own request', async () => {
    const key = devicePublicKey();
    const tokens = [json('enrol-response').deviceToken, json('authenticate-response').deviceToken];
    const jtis = new Set<string>();
    let proofs = 0;
    for (const e of examples.values()) {
      if (e.lang !== 'http') continue;
      const h = http(e.name);
      const [, route] = routeOf(h.method, h.target);
      const proof = header(h, DEVICE_PROOF_HEADER);
      const authz = header(h, 'authorization');
      if (route.auth === 'public') {
        assert.equal(proof, undefined, `${e.name}: a public route takes no proof`);
        continue;
      }
      assert.ok(proof, `${e.name}: a device route needs the ${DEVICE_PROOF_HEADER} header`);
      assert.match(authz ?? '', /^Device [A-Za-z0-9_-]{16,128}$/, `${e.name}: authorization`);
      const token = authz!.slice('Device '.length);
      assert.ok(tokens.includes(token), `${e.name}: a token the examples never issued`);
      const { header: ph, payload } = await verifiedJws(proof, key);
      assert.deepEqual(ph, json('proof-header'), `${e.name}: proof header`);
      assert.equal(ph.typ, DEVICE_PROOF_TYP);
      const claims = DeviceProofClaims.parse(JSON.parse(payload));
      assert.deepEqual(Object.keys(JSON.parse(payload)), Object.keys(json('proof-claims')));
      assert.equal(claims.htm, h.method, `${e.name}: htm`);
      assert.equal(claims.htu, h.target, `${e.name}: htu is the path and query as sent`);
      assert.equal(claims.ath, sha256(token), `${e.name}: ath`);
      assert.ok(!jtis.has(claims.jti), `${e.name}: jti used twice`);
      jtis.add(claims.jti);
      proofs++;
    }
    assert.ok(proofs >= 15, `only ${proofs} proofs checked`);
    // The anatomy shown for GET /v1/device/me is that request's proof.
    const me = header(http('me'), DEVICE_PROOF_HEADER)!;
    assert.equal(me.split('.').slice(0, 2).join('.'), text('proof-signing-input'));
    assert.deepEqual(b64json(me.split('.')[1]!), json('proof-claims'));
    assert.equal(text('token-for-ath'), json('enrol-response').deviceToken);
    assert.equal(text('ath'), sha256(text('token-for-ath')));
    assert.equal(json('proof-claims').ath, text('ath'));
    assert.deepEqual(
      b64json(header(http('photo-enrolment'), DEVICE_PROOF_HEADER)!.split('.')[1]!),
      json('photo-enrolment-claims'),
    );
    // The WebSocket hello's proof: htm WS, htu the socket's path.
    const hello = ClientFrame.parse(json('ws-hello')) as { auth: { token: string; proof: string } };
    const hp = await verifiedJws(hello.auth.proof, key);
    const hc = DeviceProofClaims.parse(JSON.parse(hp.payload));
    assert.deepEqual(hp.header, json('proof-header'));
    assert.equal(hc.htm, 'WS');
    assert.equal(hc.htu, WS_PATH);
    assert.equal(hc.ath, sha256(hello.auth.token));
    assert.ok(!jtis.has(hc.jti));
  });

  it('(b) every request body and every answer matches the protocol schemas and the route table', () => {
    const codes = errorTable();
    for (const e of examples.values()) {
      if (e.lang === 'http') {
        const h = http(e.name);
        const [, r] = routeOf(h.method, h.target);
        if (r.bodyKind === 'image') {
          assert.match(header(h, 'content-type') ?? '', /^image\/(jpeg|png)$/, e.name);
        } else if (r.body) {
          assert.equal(header(h, 'content-type'), 'application/json', e.name);
          r.body.parse(JSON.parse(h.body!));
        } else assert.equal(h.body, null, `${e.name}: this route takes no body`);
        if (r.query) r.query.parse(Object.fromEntries(new URL(h.target, 'http://x').searchParams));
        continue;
      }
      if (e.lang !== 'json' || !e.attrs.status) continue;
      const status = Number(e.attrs.status);
      const body = JSON.parse(e.text);
      if (status >= 400) {
        ApiError.parse(body);
        assert.ok(
          (ErrorCodes as readonly string[]).includes(body.code),
          `${e.name}: unknown code ${body.code}`,
        );
        assert.ok(
          codes.get(body.code)?.statuses.includes(status),
          `${e.name}: ${status} ${body.code} not in the table`,
        );
        continue;
      }
      const requestName = e.attrs.for ?? e.name.replace(/-response$/, '');
      const h = http(requestName);
      const [id, r] = routeOf(h.method, h.target);
      assert.equal(status, r.status ?? 200, `${e.name}: ${id} answers ${r.status ?? 200}`);
      r.response.parse(body);
    }
    for (const n of ['ws-hello', 'ws-ping']) ClientFrame.parse(json(n));
    for (const n of [
      'ws-welcome',
      'ws-request-update',
      'ws-pong',
      'ws-session-ended',
      'ws-error',
      'ws-command',
      'ws-command-confirm',
      'ws-command-cancelled',
    ])
      ServerFrame.parse(json(n));
    for (const n of json('me-notice-excerpt')) SecurityNotice.parse(n);
    CallTicketClaims.parse(json('call-ticket-claims'));
    CallProofClaims.parse(json('call-proof-claims'));
    CommandClaims.parse(json('command-claims'));
    CommandClaims.parse(json('confirm-command-claims'));
  });

  it('(b) the call ticket verifies with the example authority key and rings once in the SDK guard; the call proof is the device key over its hash', async () => {
    const keys = createLocalJWKSet(json('jwks-response') as JSONWebKeySet);
    const invite = text('invite').split('\n');
    const ticket = invite
      .find((l) => l.startsWith(`${CALL_TICKET_HEADER}: `))!
      .slice(CALL_TICKET_HEADER.length + 2);
    assert.ok(ticket, `the INVITE has no ${CALL_TICKET_HEADER} header`);
    const claims = json('call-ticket-claims');
    assert.deepEqual(decodeProtectedHeader(ticket), json('call-ticket-header'));
    assert.equal(json('call-ticket-header').typ, CALL_TICKET_TYP);
    assert.deepEqual(b64json(ticket.split('.')[1]!), claims);
    const proved: string[] = [];
    const guard = new IncomingCallGuard({
      keys,
      now: () => claims.iat * 1000,
      device: {
        deviceId: () => text('device-id'),
        isLiveSession: (sid) => sid === json('create-request-again-response').request.sessionId,
        proveCall: async (t) => {
          proved.push(t);
          throw new Error('not in this test');
        },
      },
    });
    const first = await guard.screen(ticket);
    assert.equal(first.verdict, 'ring', JSON.stringify(first));
    const again = await guard.screen(ticket);
    assert.equal(again.verdict === 'blocked' && again.blocked.reason, 'replayed');
    // The proof.
    assert.equal(text('ticket-hash'), sha256(ticket));
    assert.equal(json('call-proof-claims').tkt, text('ticket-hash'));
    const ok = text('sip-200')
      .split('\n')
      .find((l) => l.startsWith(`${CALL_PROOF_HEADER}: `))!
      .slice(CALL_PROOF_HEADER.length + 2);
    const p = await verifiedJws(ok, devicePublicKey());
    assert.deepEqual(p.header, json('call-proof-header'));
    assert.equal(p.header.typ, CALL_PROOF_TYP);
    assert.deepEqual(JSON.parse(p.payload), json('call-proof-claims'));
    assert.deepEqual(JSON.parse(http('call-proof').body!), { ticket, proof: ok });
  });

  it('(b) the example commands pass the SDK verifier in the documented order; a replay is refused; the confirmation signs exactly the canonical bytes', async () => {
    const keys = createLocalJWKSet(json('jwks-response') as JSONWebKeySet);
    const request = json('create-request-again-response').request;
    let now = json('command-claims').iat * 1000;
    const verifier = new CommandVerifier({
      keys,
      now: () => now,
      binding: {
        deviceId: () => text('device-id'),
        sessionId: () => request.sessionId,
        requestId: () => request.requestId,
      },
    });
    const frame = json('ws-command');
    assert.deepEqual(decodeProtectedHeader(frame.jws), json('command-header'));
    assert.equal(json('command-header').typ, COMMAND_TYP);
    const shown = await verifier.check(frame.jws, frame.commandId);
    assert.equal(shown.verdict, 'show', JSON.stringify(shown));
    assert.deepEqual(shown.verdict === 'show' && shown.claims, json('command-claims'));
    // The pending list delivers the same revision again: a duplicate, not a second card.
    const pending = json('pending-commands-response').commands[0];
    assert.equal((await verifier.check(pending.jws, pending.commandId)).verdict, 'duplicate');
    // Answered: a later delivery of the first command is a replay.
    verifier.close(frame.commandId);
    const replay = await verifier.check(frame.jws, frame.commandId);
    assert.equal(replay.verdict === 'refuse' && replay.reason, 'replayed');
    // The confirmation command comes next: (fence 1, seq 2) after (1, 1).
    const confirm = json('ws-command-confirm');
    now = json('confirm-command-claims').iat * 1000;
    const c2 = await verifier.check(confirm.jws, confirm.commandId);
    assert.equal(c2.verdict, 'show', JSON.stringify(c2));
    assert.deepEqual(c2.verdict === 'show' && c2.claims, json('confirm-command-claims'));
    // The confirmation's bytes and signature.
    const c = json('confirm-command-claims');
    const canonical = confirmCanonical({
      commandId: c.cid,
      requestId: c.rid,
      sessionId: c.sid,
      deviceId: c.dev,
      transaction: c.cmd.payload.transaction,
    });
    assert.equal(text('confirm-canonical'), canonical);
    const result = JSON.parse(http('command-result-confirm').body!);
    const sig = await verifiedJws(result.result.signature, devicePublicKey());
    assert.deepEqual(sig.header, json('confirm-signature-header'));
    assert.equal(sig.header.typ, CONFIRM_SIGNATURE_TYP);
    assert.equal(sig.payload, canonical);
  });

  it('(d) the error table lists every ErrorCode once, with every status the authority answers it with', () => {
    const rows = table('code').map((r) => unquote(r[0]!));
    assert.equal(new Set(rows).size, rows.length, 'a code is listed twice');
    const unknown = rows.filter((c) => !(ErrorCodes as readonly string[]).includes(c));
    assert.deepEqual(unknown, [], 'the document names codes that do not exist');
    const missing = ErrorCodes.filter((c) => !rows.includes(c));
    assert.deepEqual(missing, [], 'the document misses codes');
    const codes = errorTable();
    for (const [code, row] of codes) assert.ok(row.statuses.length > 0, `${code}: no status`);
    // Every (status, code) pair the authority's source can answer.
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) files.push(p);
      }
    };
    walk(new URL('authority/src', ROOT).pathname);
    const pairs = new Set<string>();
    for (const f of files) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/new HttpError\(\s*(\d{3}),\s*'([a-z_]+)'/g)) pairs.add(`${m[1]} ${m[2]}`);
      // Domain errors carry a kind; http/errors.ts's STATUS_OF is its status.
      for (const m of src.matchAll(/new DomainError\(\s*'([a-z_]+)',\s*'([a-z_]+)'/g))
        pairs.add(`${STATUS_OF[m[1] as DomainErrorKind]} ${m[2]}`);
      for (const m of src.matchAll(/\.code\((\d{3})\)\s*\.send\(\{\s*code:\s*'([a-z_]+)'/g))
        pairs.add(`${m[1]} ${m[2]}`);
      if (f.endsWith('app.ts'))
        for (const m of src.matchAll(/^\s*(\d{3}): '([a-z_]+)',$/gm)) pairs.add(`${m[1]} ${m[2]}`);
    }
    assert.ok(pairs.size > 20, `only ${pairs.size} (status, code) pairs found in authority/src`);
    for (const pair of pairs) {
      const [status, code] = pair.split(' ') as [string, string];
      assert.ok(codes.has(code), `authority/src answers ${code}, which the document does not list`);
      assert.ok(
        codes.get(code)!.statuses.includes(Number(status)),
        `authority/src answers ${code} with ${status}; the document says ${codes.get(code)!.statuses.join(', ')}`,
      );
    }
  });

  it('(d) the routes table lists exactly the routes a device calls, with their auth and success status', () => {
    const documented = new Map(
      table('route').map((r) => [unquote(r[0]!), { auth: r[1], status: Number(r[2]) }]),
    );
    const expected = new Map<string, { auth: string; status: number }>();
    for (const [id, r] of Object.entries(routes as Record<string, RouteDef>)) {
      const forDevice =
        r.auth === 'device' || r.auth === 'deviceOrStaff' || (r.auth === 'public' && r.tag === 'device');
      if (forDevice || id === 'jwks')
        expected.set(`${r.method} ${r.path}`, {
          auth: r.auth === 'public' ? 'public' : 'device',
          status: r.status ?? 200,
        });
    }
    assert.deepEqual(
      [...documented.keys()].filter((k) => !expected.has(k)),
      [],
      'the document lists routes a device does not call',
    );
    assert.deepEqual(
      [...expected.keys()].filter((k) => !documented.has(k)),
      [],
      'the document misses device routes',
    );
    for (const [k, v] of expected) assert.deepEqual(documented.get(k), v, k);
  });

  it('(d) the frames table lists every WebSocket frame of the protocol', () => {
    type FrameSchema = { shape: { type: { value?: unknown; values?: Set<unknown> } } };
    const typeOf = (o: FrameSchema) => String(o.shape.type.value ?? [...(o.shape.type.values ?? [])][0]);
    const protocolFrames = new Set([
      ...(ClientFrame.options as unknown as FrameSchema[]).map(typeOf),
      ...(ServerFrame.options as unknown as FrameSchema[]).map(typeOf),
    ]);
    const documented = table('frame').map((r) => unquote(r[0]!));
    assert.deepEqual(new Set(documented), protocolFrames);
    assert.equal(documented.length, protocolFrames.size, 'a frame is listed twice');
  });

  it('(d) the numbers table matches the implementation', () => {
    const n = numbers();
    const defaults = ConfigSchema.parse({});
    const fixed: Record<string, number> = {
      challengeTtl: CHALLENGE_TTL_MS / 1000,
      setupWindow: SETUP_WINDOW_MS / 1000,
      authenticationTtl: defaults.authenticationTtlSeconds,
      pinDelayFrom: PIN_DELAY_FROM,
      pinLockAt: PIN_MAX_FAILURES,
      callTicketTtl: CALL_TICKET_TTL_S,
      commandTtl: COMMAND_TTL.defaultSeconds,
      commandTtlMax: COMMAND_TTL.maxSeconds,
      commandSkew: COMMAND_CLOCK_SKEW_SECONDS,
      sessionIdle: defaults.sessionIdleSeconds,
      sessionAbsolute: defaults.sessionAbsoluteSeconds,
      jsonBody: LIMITS.jsonBodyBytes,
      photo: LIMITS.photoBytes,
    };
    // Checked against the live authority below; helloWithin is the hub's private 5 s timer.
    const live = ['proofWindow', 'callProofWindow', 'webauthnCeremony', 'helloWithin'];
    assert.deepEqual([...n.keys()].sort(), [...Object.keys(fixed), ...live].sort());
    for (const [k, v] of Object.entries(fixed)) assert.equal(n.get(k), v, k);
    assert.equal(LIMITS.wsFrameBytes, LIMITS.jsonBodyBytes, 'the table gives one number for both');
  });
});

// =====================================================================================
describe('docs/device-protocol.md: its recipe works against a live authority', () => {
  const ORIGIN = 'http://localhost:5173';
  const clock = new FakeClock(Date.parse('2026-03-02T09:15:00.000Z'));
  let a: TestAuthority;
  /** Example value -> live value, filled in as the flow learns them. */
  const subst = new Map<string, string>();
  /** (status, code) of every error answer met on the way. */
  const liveErrors: { status: number; code: string; where: string }[] = [];
  const nowS = () => Math.floor(clock.now() / 1000);
  const replaceAll = (s: string) => {
    let out = s;
    for (const [from, to] of subst) out = out.split(from).join(to);
    return out;
  };

  /** A device that knows nothing but the document: its templates, header names, JWS headers and claim sets. */
  class DocDevice {
    readonly privateKey;
    readonly jwk: Record<string, string>;
    deviceId = '';
    token = '';
    constructor() {
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      this.privateKey = privateKey;
      const k = publicKey.export({ format: 'jwk' }) as Record<string, string>;
      // The members of the document's public JWK, in its order.
      this.jwk = Object.fromEntries(Object.keys(json('device-public-jwk')).map((m) => [m, k[m]!]));
    }

    /** The thumbprint made as the document shows it: its members in its order, no spaces. */
    thumbprint(): string {
      const members = Object.keys(JSON.parse(text('thumbprint-input')));
      return sha256(JSON.stringify(Object.fromEntries(members.map((m) => [m, this.jwk[m]]))));
    }

    signText(message: string): string {
      return sign('sha256', Buffer.from(message, 'utf8'), {
        key: this.privateKey,
        dsaEncoding: 'ieee-p1363',
      }).toString('base64url');
    }

    jws(headerExample: string, payload: string): Promise<string> {
      return new CompactSign(new TextEncoder().encode(payload))
        .setProtectedHeader(json(headerExample))
        .sign(this.privateKey);
    }

    /** A proof with the document's header and exactly the document's claims. */
    proof(htm: string, htu: string, iat = nowS()): Promise<string> {
      const recipe: Record<string, unknown> = {
        htm,
        htu,
        iat,
        jti: randomBytes(16).toString('base64url'),
        ath: sha256(this.token),
      };
      const claims = Object.fromEntries(
        Object.keys(json('proof-claims')).map((k) => {
          assert.ok(k in recipe, `the document's proof has a claim "${k}" this recipe does not know`);
          return [k, recipe[k]];
        }),
      );
      return this.jws('proof-header', JSON.stringify(claims));
    }

    /** Send the request of example `name` with live values: target, headers and body come from the document. */
    async send(
      name: string,
      opts: {
        body?: (docBody: any) => unknown;
        raw?: Buffer;
        proof?: (htm: string, htu: string) => Promise<string>;
      } = {},
    ): Promise<{ status: number; body: any; headers: Headers }> {
      const h = http(name);
      const target = replaceAll(h.target);
      const headers: Record<string, string> = {};
      for (const [hn, value] of h.headers) {
        const lower = hn.toLowerCase();
        if (lower === 'host') continue;
        if (lower === 'content-type') headers[hn] = value;
        else if (lower === 'authorization') {
          assert.match(value, /^Device /);
          headers[hn] = `Device ${this.token}`;
        } else {
          // Any other header must be the documented proof JWS.
          assert.equal(decodeProtectedHeader(value).typ, json('proof-header').typ, `${name}: header ${hn}`);
          headers[hn] = await (opts.proof ?? ((m, u) => this.proof(m, u)))(h.method, target);
        }
      }
      let body: BodyInit | undefined;
      if (opts.raw) body = new Uint8Array(opts.raw);
      else if (h.body !== null) {
        const docBody = JSON.parse(replaceAll(h.body));
        body = JSON.stringify(opts.body ? opts.body(docBody) : docBody);
      }
      const res = await fetch(a.url + target, { method: h.method, headers, body });
      const t = await res.text();
      return { status: res.status, body: t ? JSON.parse(t) : undefined, headers: res.headers };
    }
  }

  /** The answer has the status and the shape of the document's example (and is a valid protocol answer). */
  const expectLike = (res: { status: number; body: any }, name: string) => {
    const e = ex(name);
    assert.equal(res.status, Number(e.attrs.status), `${name}: ${JSON.stringify(res.body)}`);
    assertShape(res.body, JSON.parse(e.text), name);
    if (res.status >= 400) liveErrors.push({ status: res.status, code: res.body.code, where: name });
  };
  const expectError = (res: { status: number; body: any }, status: number, code: string, where: string) => {
    assert.equal(res.status, status, `${where}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.code, code, where);
    liveErrors.push({ status, code, where });
  };
  const adminCode = async () => {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const r = await call(a.url, 'POST', '/v1/admin/customers/c_alice_martin_01/enrolment-codes', {
      headers: bearer(admin),
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.code as string;
  };
  /** Enrolment exactly as sections 3 shows it. */
  const enrolByTheDoc = async (d: DocDevice, code: string) => {
    const ch = await d.send('enrol-challenge');
    expectLike(ch, 'enrol-challenge-response');
    const signature = d.signText(
      fill(text('enrol-template'), { challengeId: ch.body.challengeId, nonce: ch.body.nonce, code }),
    );
    const r = await d.send('enrol', {
      body: (b) => ({ ...b, code, publicKey: d.jwk, challengeId: ch.body.challengeId, signature }),
    });
    return { challenge: ch, enrol: r };
  };

  const d = new DocDevice();
  const authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: 'localhost' });
  let socket: TestSocket;
  let feed: FrameLog;
  let request: any;
  let agent: { token: string; staffId: string };
  let fence: number;
  let enrolledAt: number;

  before(async () => {
    a = await startTestAuthority(
      {
        rpId: 'localhost',
        origins: [ORIGIN],
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
      },
      { clock },
    );
  });
  after(async () => {
    socket?.close();
    await a.dispose();
  });

  it(`the authority serves this document at ${DEVICE_PROTOCOL_DOC_PATH}, beside /openapi.json`, async () => {
    const res = await fetch(a.url + DEVICE_PROTOCOL_DOC_PATH);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/markdown/);
    assert.equal(await res.text(), DOC);
    assert.equal((await fetch(a.url + '/openapi.json')).status, 200);
  });

  it('(c) enrolment: challenge, the documented string signed, the answer opens the first authentication', async () => {
    const code = await adminCode();
    const { challenge, enrol } = await enrolByTheDoc(d, code);
    assert.equal(
      (Date.parse(challenge.body.expiresAt) - clock.now()) / 1000,
      numbers().get('challengeTtl'),
      'challenge lifetime',
    );
    expectLike(enrol, 'enrol-response');
    assert.equal(enrol.body.deviceId, d.thumbprint(), 'the authority computes the documented thumbprint');
    d.deviceId = enrol.body.deviceId;
    d.token = enrol.body.deviceToken;
    subst.set(json('enrol-response').deviceId, d.deviceId);
    const auth = enrol.body.authentication;
    const docAuth = json('enrol-response').authentication;
    assert.equal(auth.level, docAuth.level);
    assert.deepEqual(
      auth.factors.map((f: any) => [f.kind, f.detail]),
      docAuth.factors.map((f: any) => [f.kind, f.detail]),
    );
    enrolledAt = Date.parse(auth.createdAt);
    assert.equal((Date.parse(enrol.body.setupUntil) - enrolledAt) / 1000, numbers().get('setupWindow'));
    assert.equal(
      (Date.parse(enrol.body.tokenExpiresAt) - enrolledAt) / 1000,
      numbers().get('authenticationTtl'),
    );
    // The challenge was used up.
    const again = await d.send('enrol', {
      body: (b) => ({
        ...b,
        code,
        publicKey: d.jwk,
        challengeId: challenge.body.challengeId,
        signature: 'A'.repeat(86),
      }),
    });
    expectError(again, 401, 'unauthorized', 'enrolment with a used challenge');
  });

  it('(c) the per-request proof: the documented headers and claims; single use; the clock window', async () => {
    let used = '';
    const me = await d.send('me', {
      proof: async (m, u) => (used = await d.proof(m, u)),
    });
    expectLike(me, 'me-response');
    assert.deepEqual(me.body.setup, { ...json('me-response').setup, until: me.body.setup.until });
    // The same proof again: refused exactly as documented.
    const replay = await d.send('me', { proof: async () => used });
    expectLike(replay, 'error-proof-replayed');
    assert.deepEqual(replay.body, json('error-proof-replayed'));
    // A proof for another target.
    const other = await d.send('me', { proof: (m) => d.proof(m, '/v1/device/menu') });
    expectError(other, 401, 'unauthorized', 'proof for another htu');
    assert.equal(other.body.message, 'device proof is for another request');
    // The window, to the second.
    const w = numbers().get('proofWindow')!;
    expectError(
      await d.send('me', { proof: (m, u) => d.proof(m, u, nowS() - w - 1) }),
      401,
      'unauthorized',
      'proof outside the window',
    );
    expectError(
      await d.send('me', { proof: (m, u) => d.proof(m, u, nowS() + w + 1) }),
      401,
      'unauthorized',
      'proof from the future',
    );
    expectLike(await d.send('me', { proof: (m, u) => d.proof(m, u, nowS() - w) }), 'me-response');
    expectLike(await d.send('me', { proof: (m, u) => d.proof(m, u, nowS() + w) }), 'me-response');
  });

  it('(c) factors set up within the enrolment window: PIN, biometric (the documented WebAuthn options), enrolment photo', async () => {
    clock.advance(18_000);
    expectLike(await d.send('set-pin'), 'set-pin-response');
    const options = await d.send('webauthn-registration-options');
    expectLike(options, 'webauthn-registration-options-response');
    const docOptions = json('webauthn-registration-options-response');
    assert.deepEqual(options.body.authenticatorSelection, docOptions.authenticatorSelection);
    assert.equal(options.body.timeout, docOptions.timeout);
    assert.equal(options.body.timeout / 1000, numbers().get('webauthnCeremony'));
    const registered = await d.send('webauthn-registration', {
      body: () => ({ response: authr.register(options.body) }),
    });
    expectLike(registered, 'webauthn-registration-response');
    const photo = await d.send('photo-enrolment', { raw: FAKE_JPEG });
    expectLike(photo, 'photo-enrolment-response');
    assert.equal(photo.body.pendingComparison, false);
  });

  it('(c) authentication: the documented string signed; a new level-1 authentication that may not set up factors', async () => {
    clock.advance(107 * 60_000);
    const ch = await d.send('auth-challenge');
    expectLike(ch, 'auth-challenge-response');
    const signature = d.signText(
      fill(text('auth-template'), {
        challengeId: ch.body.challengeId,
        nonce: ch.body.nonce,
        deviceId: d.deviceId,
      }),
    );
    const r = await d.send('authenticate', {
      body: (b) => ({ ...b, challengeId: ch.body.challengeId, signature }),
    });
    expectLike(r, 'authenticate-response');
    assert.equal(r.body.authentication.level, 1);
    d.token = r.body.deviceToken;
    const refused = await d.send('set-pin-again');
    expectLike(refused, 'set-pin-again-response');
    assert.deepEqual(refused.body, json('set-pin-again-response'));
  });

  it('(c) a request: step_up_required exactly as documented, the PIN step-up, one request per idempotency key', async () => {
    const key = randomBytes(12).toString('base64url');
    const withKey = (b: any) => ({ ...b, idempotencyKey: key });
    const first = await d.send('create-request', { body: withKey });
    assert.equal(first.status, Number(ex('create-request-response').attrs.status));
    assert.deepEqual(first.body, json('create-request-response'));
    const stepUp = await d.send('pin-step-up');
    expectLike(stepUp, 'pin-step-up-response');
    assert.equal(stepUp.body.level, json('pin-step-up-response').level);
    const queued = await d.send('create-request-again', { body: withKey });
    expectLike(queued, 'create-request-again-response');
    request = queued.body.request;
    assert.equal(request.state, 'waiting');
    const docRequest = json('create-request-again-response').request;
    subst.set(docRequest.requestId, request.requestId);
    subst.set(docRequest.sessionId, request.sessionId);
    // Sent again (a retry, a double tap): the same request, never a second one.
    const retry = await d.send('create-request-again', { body: withKey });
    expectLike(retry, 'create-request-again-response');
    assert.equal(retry.body.request.requestId, request.requestId);
    assert.equal(retry.body.request.sessionId, request.sessionId);
  });

  it('(c) the WebSocket: the documented hello (proof for WS and /v1/ws), welcome, the request, ping/pong', async () => {
    socket = await TestSocket.open(a.url, WS_PATH);
    const hello = json('ws-hello');
    const docProof = b64json(hello.auth.proof.split('.')[1]);
    socket.send({
      ...hello,
      auth: { ...hello.auth, token: d.token, proof: await d.proof(docProof.htm, docProof.htu) },
      sessionId: request.sessionId,
    });
    feed = new FrameLog(socket);
    const welcome = await feed.take((f) => f.type === json('ws-welcome').type);
    assertShape(welcome, json('ws-welcome'), 'ws-welcome');
    const update = await feed.take((f) => f.type === json('ws-request-update').type);
    assertShape(update, json('ws-request-update'), 'ws-request-update');
    assert.equal(update.request.requestId, request.requestId);
    socket.send(json('ws-ping'));
    assert.deepEqual(await feed.take((f) => f.type === 'pong'), json('ws-pong'));
  });

  it('(c) the biometric step-up: the documented assertion options, level 3, seen on the feed', async () => {
    const options = await d.send('webauthn-options');
    expectLike(options, 'webauthn-options-response');
    assert.equal(options.body.userVerification, json('webauthn-options-response').userVerification);
    assert.equal(options.body.timeout / 1000, numbers().get('webauthnCeremony'));
    const r = await d.send('webauthn-assertion', { body: () => ({ response: authr.assert(options.body) }) });
    expectLike(r, 'webauthn-assertion-response');
    assert.equal(r.body.level, 3);
    await feed.take((f) => f.type === 'request.update' && f.request.level === 3);
  });

  it('(c) a verified call: SIP credentials, the ticket checked as documented, the call proof and its window', async () => {
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await call(a.url, 'PUT', '/v1/agent/presence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, request.requestId, JSON.stringify(av.body));
    fence = av.body.offer.fence;
    const acc = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/accept`, {
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const moved = await feed.take((f) => f.type === 'request.update' && f.request.state === 'assigned');
    assert.equal(moved.request.fence, fence);
    assert.equal(moved.request.agentName, 'Dana Reyes');

    const sip = await d.send('sip-credentials');
    expectLike(sip, 'sip-credentials-response');
    assert.equal(sip.body.user, replaceAll(json('sip-credentials-response').user));

    const jwks = await d.send('jwks');
    expectLike(jwks, 'jwks-response');
    const t = await call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/call-ticket`, {
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const ticket: string = t.body.ticket;
    assert.deepEqual(Object.keys(decodeProtectedHeader(ticket)), Object.keys(json('call-ticket-header')));
    assert.equal(decodeProtectedHeader(ticket).typ, json('call-ticket-header').typ);
    assert.deepEqual(Object.keys(b64json(ticket.split('.')[1]!)), Object.keys(json('call-ticket-claims')));
    assert.equal(t.body.claims.exp - t.body.claims.iat, numbers().get('callTicketTtl'));
    const guard = new IncomingCallGuard({
      keys: createLocalJWKSet(jwks.body),
      now: () => clock.now(),
      device: {
        deviceId: () => d.deviceId,
        isLiveSession: (sid) => sid === request.sessionId,
        proveCall: async () => {
          throw new Error('not used');
        },
      },
    });
    assert.equal((await guard.screen(ticket)).verdict, 'ring');

    const callProof = (iat: number) => {
      const recipe: Record<string, unknown> = { tkt: sha256(ticket), iat };
      return d.jws(
        'call-proof-header',
        JSON.stringify(Object.fromEntries(Object.keys(json('call-proof-claims')).map((k) => [k, recipe[k]]))),
      );
    };
    const w = numbers().get('callProofWindow')!;
    const tooOld = await callProof(nowS() - w - 1);
    expectError(
      await d.send('call-proof', { body: () => ({ ticket, proof: tooOld }) }),
      401,
      'unauthorized',
      'call proof outside its window',
    );
    const proof = await callProof(nowS() - w);
    const ok = await d.send('call-proof', { body: () => ({ ticket, proof }) });
    expectLike(ok, 'call-proof-response');
    assert.equal(ok.body.requestId, request.requestId);
    const twice = await d.send('call-proof', { body: () => ({ ticket, proof }) });
    expectError(twice, 401, 'unauthorized', 'the same ticket answered twice');
  });

  it('(c) remote control: commands verified in the documented order, acknowledged and answered once, the confirmation signed as documented', async () => {
    const jwks = (await call(a.url, 'GET', '/.well-known/jwks.json')).body as JSONWebKeySet;
    const verifier = new CommandVerifier({
      keys: createLocalJWKSet(jwks),
      now: () => clock.now(),
      binding: {
        deviceId: () => d.deviceId,
        sessionId: () => request.sessionId,
        requestId: () => request.requestId,
      },
    });
    const sendCommand = (seq: number, command: unknown) =>
      call(a.url, 'POST', `/v1/agent/requests/${request.requestId}/commands`, {
        headers: bearer(agent.token),
        json: { fence, seq, command },
      });
    const docClaims = json('command-claims');
    const sent = await sendCommand(1, docClaims.cmd);
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const frame = await feed.take((f) => f.type === 'command');
    assertShape(frame, json('ws-command'), 'ws-command');
    assert.deepEqual(Object.keys(decodeProtectedHeader(frame.jws)), Object.keys(json('command-header')));
    assert.equal(decodeProtectedHeader(frame.jws).typ, json('command-header').typ);
    const v = await verifier.check(frame.jws, frame.commandId);
    assert.equal(v.verdict, 'show', JSON.stringify(v));
    const claims = v.verdict === 'show' ? v.claims : (null as never);
    assert.deepEqual(Object.keys(claims), Object.keys(docClaims));
    assert.deepEqual(claims.cmd, docClaims.cmd);
    assert.equal(claims.exp - claims.iat, numbers().get('commandTtl'));
    subst.set(json('ws-command').commandId, frame.commandId);

    expectLike(await d.send('pending-commands'), 'pending-commands-response');
    const ack = await d.send('ack');
    expectLike(ack, 'ack-response');
    assert.equal(ack.body.state, 'shown');
    const ackAgain = await d.send('ack-again');
    expectLike(ackAgain, 'ack-again-response');
    assert.deepEqual(ackAgain.body, json('ack-again-response'));
    const done = await d.send('command-result');
    expectLike(done, 'command-result-response');
    assert.equal(done.body.state, 'done');
    verifier.close(frame.commandId);
    expectError(await d.send('command-result'), 409, 'command_final', 'a second answer');

    // The transaction: the canonical array rebuilt in the document's order, from the live claims.
    const docConfirm = json('confirm-command-claims');
    const sent2 = await sendCommand(2, docConfirm.cmd);
    assert.equal(sent2.status, 201, JSON.stringify(sent2.body));
    const frame2 = await feed.take((f) => f.type === 'command');
    const v2 = await verifier.check(frame2.jws, frame2.commandId);
    assert.equal(v2.verdict, 'show', JSON.stringify(v2));
    const live = v2.verdict === 'show' ? v2.claims : (null as never);
    subst.set(json('ws-command-confirm').commandId, frame2.commandId);
    const sources: Record<string, (c: any) => unknown> = {
      cid: (c) => c.cid,
      rid: (c) => c.rid,
      sid: (c) => c.sid,
      dev: (c) => c.dev,
      ...Object.fromEntries(
        ['amount', 'currency', 'payee', 'reference', 'terms'].map((k) => [
          k,
          (c: any) => c.cmd.payload.transaction[k],
        ]),
      ),
    };
    const order = (JSON.parse(text('confirm-canonical')) as unknown[]).map((value) => {
      const from = Object.entries(sources).find(([, get]) => get(docConfirm) === value)?.[0];
      return from ?? { literal: value };
    });
    const canonical = JSON.stringify(
      order.map((o) => (typeof o === 'string' ? sources[o]!(live) : o.literal)),
    );
    const signature = await d.jws('confirm-signature-header', canonical);
    const confirmed = await d.send('command-result-confirm', {
      body: (b) => ({ ...b, result: { ...b.result, signature } }),
    });
    expectLike(confirmed, 'command-result-confirm-response');
    assert.equal(confirmed.body.state, 'done');
  });

  it('(c) security notices: a second device of the customer is announced on the first, which acknowledges it; a verification photo waits for the comparison', async () => {
    const second = new DocDevice();
    const { enrol } = await enrolByTheDoc(second, await adminCode());
    expectLike(enrol, 'enrol-response');
    second.deviceId = enrol.body.deviceId;
    second.token = enrol.body.deviceToken;
    const me = await d.send('me');
    assert.equal(me.status, 200);
    assert.equal(me.body.notices.length, 1, JSON.stringify(me.body.notices));
    assertShape(me.body.notices, json('me-notice-excerpt'), 'notices');
    assert.equal(me.body.notices[0].kind, json('me-notice-excerpt')[0].kind);
    assert.equal(me.body.notices[0].byDevice.deviceId, second.deviceId);
    subst.set(json('me-notice-excerpt')[0].noticeId, me.body.notices[0].noticeId);
    expectLike(await d.send('ack-notice'), 'ack-notice-response');
    assert.deepEqual((await d.send('me')).body.notices, []);

    // The second phone authenticates later (no set-up right) and sends a verification photo.
    clock.advance(40 * 60_000);
    const ch = await second.send('auth-challenge', {
      body: (b) => ({ ...b, deviceId: second.deviceId }),
    });
    const signature = second.signText(
      fill(text('auth-template'), {
        challengeId: ch.body.challengeId,
        nonce: ch.body.nonce,
        deviceId: second.deviceId,
      }),
    );
    const r = await second.send('authenticate', {
      body: (b) => ({ ...b, deviceId: second.deviceId, challengeId: ch.body.challengeId, signature }),
    });
    expectLike(r, 'authenticate-response');
    second.token = r.body.deviceToken;
    const target = '/v1/device/photos?purpose=verification';
    const res = await fetch(a.url + target, {
      method: 'POST',
      headers: {
        authorization: `Device ${second.token}`,
        [DEVICE_PROOF_HEADER]: await second.proof('POST', target),
        'content-type': 'image/jpeg',
      },
      body: FAKE_JPEG,
    });
    expectLike({ status: res.status, body: await res.json() }, 'photo-verification-response');
  });

  it('(d) every error met on the way is in the errors table, with its status, as one a device gets', () => {
    assert.ok(liveErrors.length >= 8, `only ${liveErrors.length} errors met`);
    const codes = errorTable();
    for (const e of liveErrors) {
      const row = codes.get(e.code);
      assert.ok(row, `${e.where}: ${e.code} is not in the table`);
      assert.ok(row.statuses.includes(e.status), `${e.where}: ${e.code} with ${e.status}`);
      assert.ok(row.toDevice, `${e.where}: ${e.code} reached a device but the table says no`);
    }
  });
});
