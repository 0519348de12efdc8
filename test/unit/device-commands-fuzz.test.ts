/**
 * RELIABILITY row 11, device side: fuzzed and mutated command frames and JWS fed to the
 * real device client (AccessDevice: RequestFeed -> RequestFollower -> DeviceCommands ->
 * CommandVerifier) through a socket that hands it raw text frames. The authority is a
 * signing key plus a fetch that answers the device's command routes.
 *
 * Every delivery is judged by an independent model of the contract (signature by the
 * authority, header, CommandClaims, binding, time with the 5 s skew, single use, live
 * revisions, (fence, seq) order): a command may appear on screen only if the model says
 * it is valid, and every valid one must appear. Counted: crashes (uncaught exceptions,
 * unhandled rejections, rejected deliveries) and commands shown although invalid.
 *
 * Size: VD_DEVICE_FUZZ cases (default 10000, the RELIABILITY figure); seed: VD_FUZZ_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import {
  COMMAND_CLOCK_SKEW_SECONDS,
  COMMAND_TYP,
  CommandClaims,
  DeviceCommand,
  routes,
  type RequestView,
} from '../../protocol/src/index.ts';
import { AccessDevice, DeviceKey, MemoryStore, type WebSocketLike } from '../../customer/sdk/index.ts';
import { applyAt, DEL, isObj, nodes, type J } from '../support/json-tree.ts';
import { CommandSigner, commandClaims, opaqueId } from '../support/command-signer.ts';
import { until } from '../support/wait.ts';

const N = Number(process.env.VD_DEVICE_FUZZ ?? 10_000);
const SEED = Number(process.env.VD_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const NOW = Date.parse('2026-03-02T10:00:00Z');
const NOW_S = NOW / 1000;
const SID = 'S'.repeat(43);
const RID = 'req_fuzz_00000000001';
const BASE = 'http://authority.test';

// ---------------------------------------------------------------- the device client's socket

class FakeSocket implements WebSocketLike {
  readyState = 0;
  sent: string[] = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  send(data: string): void {
    this.sent.push(data);
  }
  close(): void {
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  deliver(data: string): void {
    this.onmessage?.({ data });
  }
}

const receipt = (id: string, state: string) => ({ commandId: id, state, at: new Date(NOW).toISOString() });

/** A real AccessDevice (enrolled key in its store) whose fetch answers like the authority's device routes. */
async function deviceClient(signer: CommandSigner) {
  const key = await DeviceKey.generate();
  const dev = await key.thumbprint();
  const store = new MemoryStore();
  await store.set('enrolment', {
    keyPair: key.keyPair,
    deviceId: dev,
    customerId: 'c_alice_martin_01',
    customerName: 'Alice Martin',
    enrolledAt: new Date(NOW).toISOString(),
  });
  /** Ack/result posts answered, and calls not answered yet (the SDK posts some fire-and-forget). */
  const posts = { ack: 0, result: 0, inFlight: 0 };
  const answer = async (input: RequestInfo | URL, init?: RequestInit) => {
    const path = new URL(String(input)).pathname;
    const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status });
    if (path === routes.challenge.path)
      return json(201, {
        challengeId: opaqueId(),
        nonce: opaqueId(),
        expiresAt: new Date(NOW + 60_000).toISOString(),
      });
    if (path === routes.authenticate.path)
      return json(201, {
        deviceToken: opaqueId(),
        tokenExpiresAt: new Date(NOW + 3_600_000).toISOString(),
        authentication: {
          authenticationId: opaqueId(),
          customerId: 'c_alice_martin_01',
          deviceId: dev,
          level: 1,
          factors: [],
          createdAt: new Date(NOW).toISOString(),
          expiresAt: new Date(NOW + 3_600_000).toISOString(),
        },
      });
    if (path === routes.deviceCommands.path) return json(200, { commands: [], stopped: [] });
    const m = /^\/v1\/device\/commands\/([^/]+)\/(ack|result)$/.exec(path);
    if (m && init?.method === 'POST') {
      posts[m[2] as 'ack' | 'result']++;
      return json(200, receipt(m[1]!, m[2] === 'ack' ? 'shown' : 'done'));
    }
    return json(404, { code: 'not_found', message: 'no such route' });
  };
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    posts.inFlight++;
    try {
      return await answer(input, init);
    } finally {
      posts.inFlight--;
    }
  }) as typeof fetch;
  const sockets: FakeSocket[] = [];
  const device = await AccessDevice.open({
    baseUrl: BASE,
    store,
    fetch: fetchImpl,
    now: () => NOW,
    authorityKeys: signer.keys(),
    createSocket: () => {
      const s = new FakeSocket();
      sockets.push(s);
      return s;
    },
  });
  const request: RequestView = {
    requestId: RID,
    sessionId: SID,
    customerId: 'c_alice_martin_01',
    customerName: 'Alice Martin',
    queueId: 'cards',
    optionId: 'lost-card',
    optionLabel: 'Lost or stolen card',
    level: 2,
    priority: 0,
    state: 'assigned',
    enqueuedAt: new Date(NOW).toISOString(),
    position: null,
    estimatedWaitSeconds: null,
    callback: { mode: 'keep_place', window: null },
    fence: 1,
    agentId: 'staff_agent1_000001',
    offerExpiresAt: null,
    agentName: 'Dana Reyes',
  };
  device.follow(request);
  const socket = sockets[0]!;
  socket.open();
  await until("the feed's hello", () => socket.sent.length > 0);
  assert.equal(JSON.parse(socket.sent[0]!).type, 'hello', 'the feed said hello with a device proof');
  socket.deliver(JSON.stringify({ type: 'welcome', connectionId: 'connection-000001', principal: 'device' }));
  assert.equal(device.feedStatus, 'open');
  return { device, socket, dev, posts };
}

// ---------------------------------------------------------------- the model of the contract

const normTyp = (t: string) => (t.includes('/') ? t.toLowerCase() : `application/${t.toLowerCase()}`);
/** What the device's bytes decode to (lone surrogates become U+FFFD on the wire). */
const wire = (t: string) => Buffer.from(t, 'utf8').toString('utf8');

class Model {
  last: { fence: number; seq: number } | null = null;
  readonly seen = new Map<string, { rev: number; open: boolean }>();
  constructor(
    readonly dev: string,
    readonly kid: string,
  ) {}

  headerOk(text: string): boolean {
    let h: unknown;
    try {
      h = JSON.parse(wire(text));
    } catch {
      return false;
    }
    if (!isObj(h) || h.alg !== 'ES256' || 'crit' in h) return false;
    if (typeof h.typ !== 'string' || normTyp(h.typ) !== normTyp(COMMAND_TYP)) return false;
    return h.kid === undefined || h.kid === this.kid;
  }

  /** The verdict for an authority-signed token with these texts: shown as new, as an update, or not at all. */
  judge(headerText: string, payloadText: string, envelopeId: string): 'show' | 'update' | null {
    if (!this.headerOk(headerText)) return null;
    let obj: unknown;
    try {
      obj = JSON.parse(wire(payloadText));
    } catch {
      return null;
    }
    const p = CommandClaims.safeParse(obj);
    if (!p.success) return null;
    const c = p.data;
    if (c.cid !== envelopeId || c.jti !== `${c.cid}.${c.rev}`) return null;
    if (c.dev !== this.dev || c.sid !== SID || c.rid !== RID) return null;
    if (NOW_S > c.exp + COMMAND_CLOCK_SKEW_SECONDS || c.iat > NOW_S + COMMAND_CLOCK_SKEW_SECONDS) return null;
    const k = this.seen.get(c.cid);
    if (k) return k.open && c.rev > k.rev ? 'update' : null;
    const l = this.last;
    if (l && !(c.fence > l.fence || (c.fence === l.fence && c.seq > l.seq))) return null;
    return 'show';
  }

  apply(payloadText: string, verdict: 'show' | 'update'): void {
    const c = CommandClaims.parse(JSON.parse(wire(payloadText)));
    // `end` is a notice: closed as soon as it is shown.
    const open = c.cmd.kind !== 'end';
    if (verdict === 'show') this.last = { fence: c.fence, seq: c.seq };
    this.seen.set(c.cid, { rev: c.rev, open });
  }

  closeAll(): void {
    for (const e of this.seen.values()) e.open = false;
  }
}

// ---------------------------------------------------------------- generators

const text = fc.string({ minLength: 1, maxLength: 30 });
const itemId = fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/);
const items = fc.uniqueArray(fc.record({ id: itemId, label: text }), {
  minLength: 1,
  maxLength: 5,
  selector: (i) => i.id,
});
const field = fc.oneof(
  fc.record({ id: itemId, label: text, required: fc.boolean(), type: fc.constant('text' as const) }),
  fc.record({ id: itemId, label: text, required: fc.boolean(), type: fc.constant('email' as const) }),
  fc.record({
    id: itemId,
    label: text,
    required: fc.boolean(),
    type: fc.constant('number' as const),
    min: fc.integer({ min: -5, max: 5 }),
  }),
  fc.record({
    id: itemId,
    label: text,
    required: fc.boolean(),
    type: fc.constant('select' as const),
    options: items,
  }),
  fc.record({ id: itemId, label: text, required: fc.boolean(), type: fc.constant('checkbox' as const) }),
);
const commandArb: fc.Arbitrary<DeviceCommand> = fc
  .oneof(
    fc.record({
      kind: fc.constant('verify'),
      payload: fc.record({ factor: fc.constantFrom('biometric', 'pin'), reason: text }),
    }),
    fc.record({
      kind: fc.constant('photo'),
      payload: fc.record({ prompt: text, camera: fc.constantFrom('front', 'back') }),
    }),
    fc.record({ kind: fc.constant('screenshot'), payload: fc.record({ prompt: text }) }),
    fc.record({
      kind: fc.constant('text'),
      payload: fc.record({ input: fc.constantFrom('tracking', 'email', 'free'), prompt: text }),
    }),
    fc.record({ kind: fc.constant('menu'), payload: fc.record({ title: text, items }) }),
    fc.record({
      kind: fc.constant('form'),
      payload: fc.record({
        title: text,
        fields: fc.uniqueArray(field, { minLength: 1, maxLength: 4, selector: (f) => f.id }),
      }),
    }),
    fc.record({
      kind: fc.constant('confirm'),
      payload: fc.record({
        transaction: fc.record({
          amount: fc.integer({ min: 1, max: 10_000_000 }),
          currency: fc.constantFrom('GBP', 'EUR', 'USD', 'JPY'),
          payee: text,
          reference: text,
          terms: text,
        }),
      }),
    }),
    fc.record({
      kind: fc.constant('navigate'),
      payload: fc.record({ screen: fc.constantFrom('home', 'menu', 'request', 'call', 'account', 'help') }),
    }),
    fc.record({ kind: fc.constant('end'), payload: fc.record({ reason: text }, { requiredKeys: [] }) }),
  )
  .filter((c) => DeviceCommand.safeParse(c).success) as fc.Arbitrary<DeviceCommand>;

const json = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>;
const TOP = [
  'iss',
  'jti',
  'cid',
  'rid',
  'sid',
  'dev',
  'agt',
  'agn',
  'fence',
  'seq',
  'rev',
  'cmd',
  'iat',
  'exp',
] as const;
/** One change to the claims; `pick` and `delta` are resolved against the current state. */
const claimMut = fc.oneof(
  fc.record({
    m: fc.constant('top' as const),
    key: fc.constantFrom(...TOP),
    pick: fc.nat(9),
    delta: fc.integer({ min: -8, max: 8 }),
    any: json,
  }),
  fc.record({ m: fc.constant('node' as const), at: fc.nat(), del: fc.boolean(), any: json }),
  fc.record({ m: fc.constant('extra' as const), key: fc.string({ maxLength: 8 }), any: json }),
  fc.record({ m: fc.constant('cmd' as const), cmd: commandArb }),
);
type ClaimMut = typeof claimMut extends fc.Arbitrary<infer T> ? T : never;

const byteMut = fc.record({
  op: fc.constantFrom('replace', 'insert', 'delete', 'truncate', 'swap', 'dup-dot'),
  pos: fc.nat(),
  ch: fc.constantFrom(...'AQgw_-.0z9+/= ~'.split('')),
});
type ByteMut = typeof byteMut extends fc.Arbitrary<infer T> ? T : never;

const headerArb = fc.record({
  alg: fc.constantFrom('ES256', 'ES256', 'ES256', 'ES384', 'none', 'HS256', 'es256'),
  typ: fc.oneof(
    fc.constantFrom(
      'vd-command+jwt',
      'application/vd-command+jwt',
      'VD-Command+JWT',
      'vd-call+jwt',
      'JWT',
      '',
      'vd-command+jwt ',
    ),
    fc.string({ maxLength: 12 }),
    fc.constant(undefined),
  ),
  kid: fc.constantFrom('own', 'own', 'none', 'other', 'number'),
  crit: fc.constantFrom(undefined, undefined, undefined, ['x-unknown'], [], 'b64'),
  extra: fc.dictionary(fc.constantFrom('jwk', 'jku', 'x5u', 'b64', 'cty', 'zip', '__proto__', 'foo'), json, {
    maxKeys: 2,
  }),
});

const rawFrame = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.json({ maxDepth: 3 }),
  fc
    .record({
      type: fc.constantFrom(
        'command',
        'command.cancelled',
        'request.update',
        'welcome',
        'session.ended',
        'pong',
      ),
      commandId: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(opaqueId())),
      jws: fc.oneof(fc.string({ maxLength: 300 }), fc.base64String({ maxLength: 300 })),
      requestId: fc.constantFrom(RID, 'x'),
      reason: fc.string({ maxLength: 12 }),
    })
    .map((o) => JSON.stringify(o)),
  fc
    .tuple(
      fc.base64String({ maxLength: 120 }),
      fc.base64String({ maxLength: 400 }),
      fc.base64String({ maxLength: 100 }),
    )
    .map(([a, b, c]) =>
      JSON.stringify({
        type: 'command',
        commandId: opaqueId(),
        jws: [a, b, c].map((x) => x.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_')).join('.'),
      }),
    ),
  fc.integer({ min: 1, max: 5000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
  fc
    .integer({ min: 1, max: 3000 })
    .map((n) => `{"type":"command","commandId":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
);

const caseArb = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('valid' as const),
      cmd: commandArb,
      step: fc.integer({ min: 1, max: 3 }),
      transfer: fc.integer({ min: 0, max: 9 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('claims' as const),
      cmd: commandArb,
      muts: fc.array(claimMut, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('text' as const),
      cmd: commandArb,
      muts: fc.array(byteMut, { minLength: 1, maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('bytes' as const),
      cmd: commandArb,
      muts: fc.array(byteMut, { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('header' as const), cmd: commandArb, header: headerArb }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('key' as const),
      cmd: commandArb,
      how: fc.constantFrom('other-key', 'embedded-jwk', 'hs256-public-key', 'none', 'empty-signature'),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('replay' as const), pick: fc.nat(), envelope: fc.boolean() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('menu' as const),
      cmd: commandArb,
      revs: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('envelope' as const), cmd: commandArb }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('frame' as const), raw: rawFrame }) },
);
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------- mutations

function mutateBytes(s: string, muts: ByteMut[]): string {
  let out = s;
  for (const m of muts) {
    const i = out.length ? m.pos % out.length : 0;
    switch (m.op) {
      case 'replace':
        out = out.slice(0, i) + (out[i] === m.ch ? (m.ch === 'A' ? 'B' : 'A') : m.ch) + out.slice(i + 1);
        break;
      case 'insert':
        out = out.slice(0, i) + m.ch + out.slice(i);
        break;
      case 'delete':
        out = out.slice(0, i) + out.slice(i + 1);
        break;
      case 'truncate':
        out = out.slice(0, i);
        break;
      case 'swap': {
        const p = out.split('.');
        out = p.length === 3 ? [p[1], p[0], p[2]].join('.') : out.split('').reverse().join('');
        break;
      }
      case 'dup-dot':
        out = out.slice(0, i) + '.' + out.slice(i);
        break;
    }
  }
  return out;
}

const segments = (jws: string) => {
  const [h, p] = jws.split('.');
  const dec = (x: string | undefined) => Buffer.from(x ?? '', 'base64url').toString('utf8');
  return { header: dec(h), payload: dec(p) };
};

// ---------------------------------------------------------------- the run

describe(`device client under ${N} fuzzed and mutated commands (RELIABILITY row 11)`, () => {
  it('0 crashes, 0 unhandled rejections, 0 commands shown unless valid, every valid one shown', async () => {
    const crashes: string[] = [];
    const onRejection = (e: unknown) => crashes.push(`unhandledRejection: ${String(e)}`);
    const onException = (e: unknown) => crashes.push(`uncaughtException: ${String(e)}`);
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);

    const signer = await CommandSigner.create();
    const impostor = await CommandSigner.create(signer.kid);
    const { device, socket, dev, posts } = await deviceClient(signer);
    const model = new Model(dev, signer.kid);
    const commands = device.commands;

    // What reached the screen: a new card, a card at a higher revision, or the "control ended" notice.
    let shownEvents = 0;
    let onScreen = new Map<string, number>();
    commands.on('changed', (list) => {
      for (const c of list) {
        const r = onScreen.get(c.commandId);
        if (r === undefined || c.revision > r) shownEvents++;
      }
      onScreen = new Map(list.map((c) => [c.commandId, c.revision]));
    });
    commands.on('ended', () => shownEvents++);
    let refusedEvents = 0;
    commands.on('refused', () => refusedEvents++);

    const stats = {
      cases: 0,
      deliveries: 0,
      valid: 0,
      shownValid: 0,
      shownInvalid: 0,
      missedValid: 0,
      rejected: 0,
    };
    const failures: string[] = [];
    const history: { jws: string; cid: string }[] = [];

    /** Deliver a raw text frame through the socket and wait until the client has dealt with it. */
    const deliverRaw = async (raw: string) => {
      stats.deliveries++;
      socket.deliver(raw);
      try {
        await commands.drain();
      } catch (e) {
        stats.rejected++;
        crashes.push(`drain rejected: ${String(e)}`);
      }
    };
    /** Deliver a command frame and compare what appeared with the model's verdict. */
    const deliver = async (
      jws: string,
      envelopeId: string,
      expected: 'show' | 'update' | null,
      label: string,
    ) => {
      const before = shownEvents;
      await deliverRaw(JSON.stringify({ type: 'command', commandId: envelopeId, jws }));
      const shown = shownEvents - before;
      if (expected) stats.valid++;
      if (shown > 0 && !expected) {
        stats.shownInvalid++;
        failures.push(`${label}: shown although invalid: ${jws.slice(0, 120)}`);
      } else if (shown === 0 && expected) {
        stats.missedValid++;
        failures.push(`${label}: valid (${expected}) but not shown: ${segments(jws).payload.slice(0, 200)}`);
      } else if (shown > 0) stats.shownValid++;
      if (expected) {
        model.apply(segments(jws).payload, expected);
        history.push({ jws, cid: JSON.parse(segments(jws).payload).cid });
      }
    };
    /** An authority-signed token over these texts, judged by the model. */
    const deliverSigned = async (
      headerText: string,
      payloadText: string,
      envelopeId: string,
      label: string,
    ) => {
      const jws = await signer.signRaw(headerText, payloadText);
      await deliver(jws, envelopeId, model.judge(headerText, payloadText, envelopeId), label);
      return jws;
    };
    const HEADER = JSON.stringify({ alg: 'ES256', kid: signer.kid, typ: COMMAND_TYP });
    /** Claims that continue the order: the next seq under the last fence (or a transfer to a new fence). */
    const nextClaims = (cmd: DeviceCommand, step = 1, transfer = false) => {
      const l = model.last ?? { fence: 1, seq: 0 };
      const safe = l.fence < 1e9 && l.seq < 1e12;
      const [fence, seq] = transfer || !safe ? [Math.min(l.fence + 1, 2 ** 40), 1] : [l.fence, l.seq + step];
      return commandClaims({ dev, sid: SID, rid: RID, nowMs: NOW }, { fence, seq, cmd });
    };
    const closeAll = async () => {
      for (const c of [...commands.list])
        await deliverRaw(
          JSON.stringify({
            type: 'command.cancelled',
            commandId: c.commandId,
            requestId: RID,
            reason: 'cancelled',
          }),
        );
      model.closeAll();
    };
    const resolveTop = (m: Extract<ClaimMut, { m: 'top' }>, c: Record<string, J>): J => {
      const l = model.last ?? { fence: 1, seq: 0 };
      const num = (base: number) =>
        [base + m.delta, base, base - 1, base + 1, m.any, 0, -1, 1.5, String(base), 2 ** 53][m.pick % 10]!;
      switch (m.key) {
        case 'iat':
          return [
            NOW_S + m.delta,
            NOW_S + 4,
            NOW_S + 6,
            NOW_S + 3600,
            m.any,
            NOW_S - 700,
            'now',
            null,
            NOW_S + m.delta * 100,
            -1,
          ][m.pick]!;
        case 'exp':
          return [
            NOW_S + m.delta,
            NOW_S - 4,
            NOW_S - 6,
            NOW_S - 3600,
            m.any,
            NOW_S + 600,
            0,
            null,
            NOW_S + m.delta * 100,
            1e20,
          ][m.pick]!;
        case 'fence':
          return num(l.fence);
        case 'seq':
          return num(l.seq + 1);
        case 'rev':
          return [m.delta, 1, 2, 0, m.any, -1, 1.5, '1', 3, null][m.pick]!;
        case 'dev':
          return [
            dev,
            'E'.repeat(43),
            dev.toLowerCase(),
            `${dev} `,
            m.any,
            '',
            dev.slice(1),
            SID,
            null,
            'D'.repeat(43),
          ][m.pick]!;
        case 'sid':
          return [
            SID,
            'T'.repeat(43),
            dev,
            m.any,
            '',
            SID.slice(1),
            null,
            'S'.repeat(44),
            SID.toLowerCase(),
            'x',
          ][m.pick]!;
        case 'rid':
          return [RID, 'req_fuzz_00000000002', m.any, '', RID.toUpperCase(), null, `${RID}x`, SID, 'r', RID][
            m.pick
          ]!;
        case 'jti':
          return [
            `${c.cid}.${Number(c.rev) + 1}`,
            `${c.cid}.${c.rev}`,
            m.any,
            '',
            `${opaqueId()}.1`,
            null,
            `${c.cid}`,
            'x'.repeat(200),
            `${c.cid}.0`,
            `${c.cid}.${c.rev}`,
          ][m.pick]!;
        case 'cid':
          return [
            opaqueId(),
            history.at(-1)?.cid ?? opaqueId(),
            m.any,
            '',
            'short',
            null,
            'x'.repeat(129),
            c.cid,
            '../../etc',
            c.cid,
          ][m.pick]!;
        case 'iss':
          return [
            'verified-desk',
            'Verified-Desk',
            'verified-desk ',
            m.any,
            '',
            null,
            'evil',
            'verified-desk',
            'verified_desk',
            1,
          ][m.pick]!;
        case 'agn':
          return [
            'Mallory',
            '',
            'x'.repeat(400),
            m.any,
            null,
            'Dana Reyes',
            '<script>alert(1)</script>',
            '\u202eesreveR',
            7,
            'Dana',
          ][m.pick]!;
        case 'agt':
          return [
            'staff_agent2_000002',
            '',
            m.any,
            null,
            'x',
            'staff_agent1_000001',
            'y'.repeat(16),
            1,
            'a b c d e f g h i',
            'z'.repeat(129),
          ][m.pick]!;
        case 'cmd':
          return m.any;
      }
    };
    const mutateClaims = (c0: Record<string, J>, muts: ClaimMut[]): J => {
      let c: J = c0;
      for (const m of muts) {
        if (!isObj(c)) break;
        if (m.m === 'top') {
          const v = resolveTop(m, c);
          c = applyAt(c, [m.key], v);
          // Keep jti consistent with cid/rev unless jti itself is being mutated (else everything is 'malformed').
          if ((m.key === 'cid' || m.key === 'rev') && isObj(c))
            c = applyAt(c, ['jti'], `${String(c.cid)}.${String(c.rev)}`);
        } else if (m.m === 'node') {
          const ns = nodes(c, { maxDepth: 6, maxItems: 8, maxNodes: 200 });
          const n = ns[m.at % ns.length]!;
          c = applyAt(c, n.path, m.del && n.canDelete ? DEL : m.any);
        } else if (m.m === 'extra') {
          c = { ...c, [m.key]: m.any };
        } else c = { ...c, cmd: m.cmd as unknown as J };
      }
      return c;
    };

    const runCase = async (k: Case) => {
      stats.cases++;
      switch (k.t) {
        case 'valid': {
          const c = nextClaims(k.cmd, k.step, k.transfer === 0);
          await deliverSigned(HEADER, JSON.stringify(c), c.cid, 'valid');
          break;
        }
        case 'claims': {
          const c = nextClaims(k.cmd) as unknown as Record<string, J>;
          const m = mutateClaims(c, k.muts);
          const cid = isObj(m) && typeof m.cid === 'string' ? m.cid : String(c.cid);
          await deliverSigned(HEADER, JSON.stringify(m), cid, 'claims');
          break;
        }
        case 'text': {
          const c = nextClaims(k.cmd);
          await deliverSigned(HEADER, mutateBytes(JSON.stringify(c), k.muts), c.cid, 'payload text');
          break;
        }
        case 'bytes': {
          // A valid command is shown and answered; then mutated copies of its token arrive.
          const c = nextClaims(k.cmd);
          const jws = await deliverSigned(HEADER, JSON.stringify(c), c.cid, 'bytes/original');
          await closeAll();
          const bad = mutateBytes(jws, k.muts);
          await deliver(bad, c.cid, null, 'bytes/mutated');
          break;
        }
        case 'header': {
          const c = nextClaims(k.cmd);
          const h: Record<string, unknown> = { ...k.header.extra, alg: k.header.alg };
          if (k.header.typ !== undefined) h.typ = k.header.typ;
          if (k.header.kid === 'own') h.kid = signer.kid;
          else if (k.header.kid === 'other') h.kid = 'someone-else';
          else if (k.header.kid === 'number') h.kid = 7;
          if (k.header.crit !== undefined) h.crit = k.header.crit;
          await deliverSigned(JSON.stringify(h), JSON.stringify(c), c.cid, 'header');
          break;
        }
        case 'key': {
          const c = nextClaims(k.cmd);
          let jws: string;
          if (k.how === 'other-key') jws = await impostor.sign(c);
          else if (k.how === 'embedded-jwk') jws = await impostor.sign(c, { jwk: impostor.publicJwk });
          else if (k.how === 'hs256-public-key')
            jws = await new SignJWT(c as never)
              .setProtectedHeader({ alg: 'HS256', kid: signer.kid, typ: COMMAND_TYP })
              .sign(new TextEncoder().encode(JSON.stringify(signer.publicJwk)));
          else if (k.how === 'none')
            jws = `${Buffer.from(JSON.stringify({ alg: 'none', typ: COMMAND_TYP })).toString('base64url')}.${Buffer.from(JSON.stringify(c)).toString('base64url')}.`;
          else jws = (await signer.sign(c)).replace(/\.[^.]+$/, '.AA');
          await deliver(jws, c.cid, null, `key/${k.how}`);
          break;
        }
        case 'replay': {
          if (history.length === 0) break;
          const h = history[k.pick % history.length]!;
          await deliver(h.jws, k.envelope ? h.cid : opaqueId(), null, 'replay');
          break;
        }
        case 'menu': {
          const cid = opaqueId();
          const base = nextClaims({
            kind: 'menu',
            payload: { title: 'Pick one', items: [{ id: 'a', label: 'A' }] },
          });
          const first = { ...base, cid, jti: `${cid}.1`, rev: 1 };
          await deliverSigned(HEADER, JSON.stringify(first), cid, 'menu/rev1');
          for (const rev of k.revs) {
            const items = Array.from({ length: Math.max(1, rev) }, (_, i) => ({
              id: `i${i}`,
              label: `Item ${i}`,
            }));
            const edit = {
              ...first,
              rev,
              jti: `${cid}.${rev}`,
              cmd: { kind: 'menu', payload: { title: 'Pick one', items } },
            };
            await deliverSigned(HEADER, JSON.stringify(edit), cid, `menu/rev${rev}`);
          }
          break;
        }
        case 'envelope': {
          const c = nextClaims(k.cmd);
          await deliverSigned(HEADER, JSON.stringify(c), opaqueId(), 'envelope');
          break;
        }
        case 'frame': {
          const before = shownEvents;
          await deliverRaw(k.raw);
          if (shownEvents !== before) {
            stats.shownInvalid++;
            failures.push(`raw frame shown: ${k.raw.slice(0, 120)}`);
          }
          break;
        }
      }
      await closeAll();
    };

    const started = performance.now();
    const cases = fc.sample(caseArb, { numRuns: N, seed: SEED });
    for (const k of cases) {
      try {
        await runCase(k);
      } catch (e) {
        crashes.push(`case ${k.t} threw: ${(e as Error).stack ?? String(e)}`);
      }
    }
    await commands.drain();
    // Fire-and-forget reports answered while the rejection listeners are still on.
    await until('every ack/result post answered', () => posts.inFlight === 0);
    const seconds = (performance.now() - started) / 1000;
    commands.dispose();
    device.unfollow(); // stops the feed's ping timer
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);

    console.log(
      `device fuzz: seed ${SEED}, ${stats.cases} cases, ${stats.deliveries} frames in ${seconds.toFixed(1)} s; ` +
        `valid ${stats.valid} (shown ${stats.shownValid}), shown although invalid ${stats.shownInvalid}, ` +
        `valid but not shown ${stats.missedValid}, refused events ${refusedEvents}, acks ${posts.ack}, results ${posts.result}, ` +
        `crashes ${crashes.length}`,
    );
    assert.deepEqual(crashes, [], 'no crash, no unhandled rejection');
    assert.deepEqual(failures.slice(0, 5), [], `seed ${SEED}`);
    assert.equal(stats.shownInvalid, 0);
    assert.equal(stats.missedValid, 0);
    assert.equal(stats.cases, N);
    assert.ok(stats.valid > N / 10, `enough valid commands to mean something (${stats.valid})`);
    assert.ok(refusedEvents > N / 4, `refusals reported (${refusedEvents})`);
  });
});
