/**
 * RELIABILITY rows 19-20 for the WebSocket endpoint: bad frames get a clear close.
 *
 * VD_FUZZ_RUNS (default 500; the RELIABILITY size is VD_FUZZ_RUNS=10000) generated
 * invalid frames, each on its own connection (an invalid frame closes it), sent either
 * first (before any hello) or after a valid staff or device hello: text that is not
 * JSON, JSON nested too deep, frames that fail the protocol's ClientFrame schema
 * (mutations of valid frames: wrong types, missing and unknown fields, prototype-pollution
 * keys, over-long strings, huge arrays, wrong enum values, null bytes, unicode oddities),
 * a valid frame out of turn (anything but hello first; a second hello), binary frames.
 * Every one must end with close code 1008 (and an "error" frame before it), with 0
 * internal-error closes (1011), 0 unhandled rejections or uncaught exceptions in this
 * process (which hosts the authority), and every connection gone from the hub afterwards.
 * Plus: a frame over 64 KiB -> 1009; no hello in time -> closed; a hello with a bad
 * token -> 4401; a valid device hello -> welcome; ping -> pong.
 * Reproduce a run with VD_FUZZ_SEED (printed at the start).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import WebSocket from 'ws';
import { ClientFrame, LIMITS, ServerFrame, WS_CLOSE, WS_PATH } from '../../protocol/src/index.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
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
/** Connections in flight at once. */
const CONCURRENCY = 8;
/** A frame that has not closed its connection after this long counts as a failure (a watchdog, not a wait). */
const WATCHDOG_MS = 10_000;

// ---------------------------------------------------------------- frame generators

const OID = 'opaque_token_0123456789abcdefghijklmnopqrstu';
const SID = 'S'.repeat(43);
/** Valid frames (for some state) that the mutations start from. */
const SEEDS: J[] = [
  { type: 'hello', auth: { kind: 'device', token: OID, proof: 'aGVhZGVy.cGF5bG9hZA.c2ln' }, sessionId: SID },
  { type: 'hello', auth: { kind: 'staff', accessToken: 'aGVhZGVy.cGF5bG9hZA.c2ln' } },
  { type: 'ping', id: 'p-1' },
  { type: 'subscribe', topic: 'queues' },
];

const ODD = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  '\u202Egnp.exe',
  '\u200B',
  '\uFEFF',
  '１２３',
  'İı',
  'e\u0301\u0301',
  '🙂🙂🙂',
  'ｈｅｌｌｏ',
  'hеllo',
  'null',
  'true',
  '0',
  'NaN',
  '__proto__',
  'constructor',
  "' OR 1=1 --",
  '<script>',
  '\r\n',
];
const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty'];
const odd = fc.constantFrom(...ODD);
const weird: fc.Arbitrary<J> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  odd,
  fc.integer().map(String),
  fc.array(fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>, { maxLength: 5 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<J>, {
    maxKeys: 4,
  }),
);
const keyArb = fc.oneof(fc.constantFrom(...PROTO_KEYS), fc.string({ maxLength: 12 }), odd);

function nest(depth: number, inner: J, objects: boolean): J {
  let v = inner;
  for (let i = 0; i < depth; i++) v = objects && i % 2 ? { n: v } : [v];
  return v;
}

function mutationAt(value: J, canDelete: boolean): fc.Arbitrary<Mut> {
  const opts: fc.Arbitrary<Mut>[] = [
    weird,
    fc.constantFrom<J>([value], { value }),
    fc
      .tuple(fc.integer({ min: LIMITS.jsonDepth + 1, max: 2000 }), fc.boolean())
      .map(([d, o]) => nest(d, value, o)),
  ];
  if (canDelete) opts.push(fc.constant(DEL), fc.constant(DEL));
  if (typeof value === 'string')
    opts.push(
      fc
        .oneof(fc.integer({ min: 129, max: 300 }), fc.integer({ min: 4001, max: 20_000 }))
        .map((n) => value + 'x'.repeat(n)),
      fc.tuple(fc.nat(value.length), odd).map(([i, o]) => value.slice(0, i) + o + value.slice(i)),
      fc.constantFrom(value.toUpperCase(), ` ${value}`, `${value}\u0000`, '', value.length as J),
    );
  if (Array.isArray(value))
    opts.push(
      fc.integer({ min: LIMITS.arrayItems + 1, max: 2000 }).map((n) => Array.from({ length: n }, () => 0)),
    );
  if (isObj(value))
    opts.push(
      fc.tuple(keyArb, weird).map(([k, w]) => {
        const c = clone(value) as Record<string, J>;
        defineOwn(c, k, w);
        return c;
      }),
      fc.tuple(fc.constantFrom(...PROTO_KEYS), fc.constant<J>({ polluted: true })).map(([k, w]) => {
        const c = clone(value) as Record<string, J>;
        defineOwn(c, k, w);
        return c;
      }),
      fc.constant<J>({}),
    );
  return fc.oneof(...opts);
}
const nodes = (root: J) => treeNodes(root, { maxDepth: 20, maxItems: 20, maxNodes: 200 });

const mutatedFrame = fc
  .constantFrom(...SEEDS)
  .chain((seed) =>
    fc
      .constantFrom(...nodes(seed))
      .chain((n) => mutationAt(n.value, n.canDelete).map((m) => applyAt(seed, n.path, m))),
  );

const NOT_JSON = [
  "{'type':'ping'}",
  '{"type":"ping",}',
  '{type:"ping"}',
  'ping',
  'NaN',
  '{"type":"ping","id":"1"}garbage',
  '\uFEFF{"type":"ping","id":"1"}',
  '[1,2',
  '"unterminated',
  '{"a":01}',
  '{"type":"ping"}{"type":"ping"}',
  '\u0000',
  ' ',
  '',
];

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

type State = 'fresh' | 'staff' | 'device';
interface FrameCase {
  state: State;
  /** A text frame, or binary bytes. */
  frame: string | Buffer;
  kind: string;
}

/** True when `text` (as the server decodes it) must be refused with 1008 in `state`. */
function refusedIn(state: State, text: string): boolean {
  const seen = Buffer.from(text, 'utf8').toString('utf8'); // lone surrogates travel as U+FFFD
  if (depthOf(seen) > LIMITS.jsonDepth) return true;
  let v: unknown;
  try {
    v = JSON.parse(seen);
  } catch {
    return true;
  }
  const p = ClientFrame.safeParse(v);
  if (!p.success) return true;
  // Valid frames out of turn: the first frame must be a hello; a hello comes only once.
  return state === 'fresh' ? p.data.type !== 'hello' : p.data.type === 'hello';
}

const frameCases: fc.Arbitrary<FrameCase> = fc
  .tuple(
    fc.constantFrom<State>('fresh', 'fresh', 'staff', 'device'),
    fc.oneof(
      {
        weight: 10,
        arbitrary: mutatedFrame.map((f) => ({ kind: 'invalid shape', text: JSON.stringify(f) })),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(...SEEDS).map((f) => ({ kind: 'out of turn', text: JSON.stringify(f) })),
      },
      {
        weight: 2,
        arbitrary: fc
          .oneof(
            fc.constantFrom(...NOT_JSON),
            fc.string({ maxLength: 100 }),
            fc.string({ unit: 'binary', maxLength: 100 }),
          )
          .map((text) => ({ kind: 'not JSON', text })),
      },
      {
        weight: 1,
        arbitrary: fc
          .jsonValue({ maxDepth: 3 })
          .map((v) => ({ kind: 'random JSON', text: JSON.stringify(v) })),
      },
      {
        weight: 1,
        arbitrary: fc
          .integer({ min: LIMITS.jsonDepth + 1, max: 20_000 })
          .map((d) => ({ kind: 'deep nesting', text: '['.repeat(d) + ']'.repeat(d) })),
      },
    ),
    fc.nat(99),
  )
  .filter(([state, f]) => Buffer.byteLength(f.text) <= LIMITS.wsFrameBytes && refusedIn(state, f.text))
  .map(([state, f, r]) =>
    // 3% binary frames (any content: binary is refused whatever it holds).
    r < 3
      ? { state, kind: 'binary', frame: Buffer.from(f.text, 'utf8') }
      : { state, kind: f.kind, frame: f.text },
  );

// ---------------------------------------------------------------- client
interface Closed {
  code: number;
  reason: string;
  frames: unknown[];
}

/** A client connection that records every frame and resolves `closed` on the close event. */
class Client {
  readonly frames: unknown[] = [];
  readonly closed: Promise<Closed>;
  private waiter: ((f: unknown) => void) | null = null;
  private constructor(readonly ws: WebSocket) {
    ws.on('error', () => undefined); // a reset after the server's close is reported by 'close' (1006)
    ws.on('message', (data, isBinary) => {
      let f: unknown;
      try {
        f = JSON.parse(String(data));
      } catch {
        f = { unparsable: String(data), isBinary };
      }
      this.frames.push(f);
      this.waiter?.(f);
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => resolve({ code, reason: String(reason), frames: this.frames })),
    );
  }
  static async open(base: string): Promise<Client> {
    const ws = new WebSocket(base.replace(/^http/, 'ws') + WS_PATH);
    const c = new Client(ws);
    await Promise.race([
      once(ws, 'open'),
      c.closed.then((x) => Promise.reject(new Error(`closed before open: ${x.code}`))),
    ]);
    return c;
  }
  /** The first received frame (already received or arriving) matching `pred`, or the close if it comes first. */
  async until(pred: (f: any) => boolean): Promise<any> {
    const seen = this.frames.find(pred);
    if (seen) return seen;
    return Promise.race([
      new Promise((resolve) => {
        this.waiter = (f) => {
          if (pred(f)) resolve(f);
        };
      }),
      this.closed.then((c) => Promise.reject(new Error(`closed ${c.code} ${c.reason} while waiting`))),
    ]);
  }
  send(frame: string | Buffer): void {
    this.ws.send(frame, { binary: Buffer.isBuffer(frame) });
  }
}

/** Resolve with the close, or with 'watchdog' if the connection is still open after WATCHDOG_MS. */
function closedOrWatchdog(c: Client): Promise<Closed | 'watchdog'> {
  let t: NodeJS.Timeout;
  const dog = new Promise<'watchdog'>((resolve) => {
    t = setTimeout(() => resolve('watchdog'), WATCHDOG_MS);
  });
  return Promise.race([c.closed, dog]).finally(() => clearTimeout(t));
}

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

describe('WebSocket bad input gets a clear close (RELIABILITY rows 19-20)', { timeout: 30 * 60_000 }, () => {
  let a: TestAuthority;
  let device: TestDevice;
  let staffToken = '';
  const protoBefore = Object.getOwnPropertyNames(Object.prototype).sort().join(',');

  before(async () => {
    console.log(
      `ws-bad-input: VD_FUZZ_RUNS=${RUNS} invalid frames, VD_FUZZ_SEED=${SEED}, ${CONCURRENCY} connections at a time`,
    );
    // The SQLite file on tmpfs when there is one: this test is about validation, not durability,
    // and every device request commits its proof's jti (an fsync per request on a disk).
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, authenticationTtlSeconds: 86_400 },
      existsSync('/dev/shm') ? { dataDir: mkdtempSync('/dev/shm/vd-fuzz-') } : {},
    );
    device = await new TestDevice(a.url).enrolAndAuthenticate('ALICE-DEMO-2026');
    staffToken = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  });
  after(() => a?.dispose());

  /** A connection in `state`: fresh, or welcomed after a valid staff or device hello. */
  async function connect(state: State): Promise<Client> {
    const c = await Client.open(a.url);
    if (state === 'fresh') return c;
    c.send(
      JSON.stringify(
        state === 'staff'
          ? { type: 'hello', auth: { kind: 'staff', accessToken: staffToken } }
          : await device.wsHello(),
      ),
    );
    const w = await c.until((f) => f?.type === 'welcome');
    assert.equal(w.principal, state);
    return c;
  }

  it(`${RUNS} generated invalid frames: each closes its connection with 1008 after an error frame`, async () => {
    const codes = new Map<number | string, number>();
    const byKind = new Map<string, number>();
    const byState = new Map<string, number>();
    const failures: string[] = [];
    let errorFrames = 0;
    const t0 = performance.now();
    const CHUNK = 500;
    for (let start = 0; start < RUNS; start += CHUNK) {
      const cases = fc.sample(frameCases, { numRuns: Math.min(CHUNK, RUNS - start), seed: SEED + start });
      await pool(cases, CONCURRENCY, async (fc0) => {
        byKind.set(fc0.kind, (byKind.get(fc0.kind) ?? 0) + 1);
        byState.set(fc0.state, (byState.get(fc0.state) ?? 0) + 1);
        const c = await connect(fc0.state);
        c.send(fc0.frame);
        const res = await closedOrWatchdog(c);
        if (res === 'watchdog') {
          c.ws.terminate();
          codes.set('still open', (codes.get('still open') ?? 0) + 1);
          failures.push(
            `${fc0.state} ${fc0.kind} ${JSON.stringify(String(fc0.frame).slice(0, 160))}: still open after ${WATCHDOG_MS} ms`,
          );
          return;
        }
        codes.set(res.code, (codes.get(res.code) ?? 0) + 1);
        const err = res.frames.find((f: any) => f?.type === 'error') as any;
        if (err && ServerFrame.safeParse(err).success && err.code === 'invalid_frame') errorFrames++;
        if (res.code !== WS_CLOSE.policyViolation || !err)
          failures.push(
            `${fc0.state} ${fc0.kind} ${JSON.stringify(String(fc0.frame).slice(0, 160))}: close ${res.code} "${res.reason}", error frame ${JSON.stringify(err ?? null)}`,
          );
      });
    }
    const secs = (performance.now() - t0) / 1000;
    console.log(
      `ws fuzz: ${RUNS} invalid frames (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')}; ` +
        `${[...byState].map(([k, n]) => `${k} ${n}`).join(', ')}) on ${RUNS} connections in ${secs.toFixed(1)} s; ` +
        `closes: ${[...codes].map(([k, n]) => `${k}: ${n}`).join(', ')}; ${errorFrames} error frames; ${failures.length} wrong`,
    );
    assert.equal(failures.length, 0, failures.slice(0, 8).join('\n'));
    assert.equal(codes.get(WS_CLOSE.policyViolation), RUNS);
    assert.equal(errorFrames, RUNS);
  });

  it('a frame over 64 KiB closes with 1009, before and after hello; exactly 64 KiB is only invalid (1008)', async () => {
    for (const state of ['fresh', 'staff'] as const) {
      const c = await connect(state);
      c.send(JSON.stringify({ type: 'ping', id: 'x'.repeat(LIMITS.wsFrameBytes) }));
      const res = await c.closed;
      assert.equal(res.code, WS_CLOSE.tooBig, `${state}: ${res.code} ${res.reason}`);
    }
    const c = await connect('staff');
    const exact = JSON.stringify({ type: 'ping', id: '' });
    const frame = exact.replace('""', `"${'x'.repeat(LIMITS.wsFrameBytes - exact.length)}"`);
    assert.equal(Buffer.byteLength(frame), LIMITS.wsFrameBytes);
    c.send(frame);
    assert.equal((await c.closed).code, WS_CLOSE.policyViolation);
  });

  it('a binary frame closes with 1008, before and after hello', async () => {
    for (const state of ['fresh', 'staff', 'device'] as const) {
      const c = await connect(state);
      c.send(Buffer.from(JSON.stringify({ type: 'ping', id: '1' })));
      const res = await c.closed;
      assert.equal(res.code, WS_CLOSE.policyViolation, `${state}: ${res.code} ${res.reason}`);
      assert.match(res.reason, /binary/);
    }
  });

  it('a text frame that is not UTF-8 closes with 1007 (RFC 6455 "inconsistent data"), without reaching the hub', async () => {
    const c = await connect('fresh');
    // ws validates UTF-8 in text frames before any handler sees them.
    c.ws.send(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    const res = await c.closed;
    assert.equal(res.code, 1007, `${res.code} ${res.reason}`);
  });

  it('no hello within the time: the connection is closed with 1008', async () => {
    const c = await connect('fresh');
    const t0 = performance.now();
    const res = await c.closed;
    const ms = performance.now() - t0;
    assert.equal(res.code, WS_CLOSE.policyViolation);
    assert.match(res.reason, /hello/);
    assert.ok(ms >= 4000, `closed after ${ms.toFixed(0)} ms, before the hello time`);
    console.log(`hello timeout: closed with ${res.code} after ${(ms / 1000).toFixed(2)} s`);
  });

  it('a hello with a bad token closes with 4401 after an "unauthorized" error frame', async () => {
    const hellos = [
      { type: 'hello', auth: { kind: 'device', token: OID, proof: (await device.wsHello()).auth.proof } },
      { type: 'hello', auth: { kind: 'device', token: device.token, proof: 'aGVhZGVy.cGF5bG9hZA.c2ln' } },
      { type: 'hello', auth: { kind: 'staff', accessToken: 'not.a.token' } },
      { type: 'hello', auth: { kind: 'staff', accessToken: staffToken.slice(0, -4) + 'AAAA' } },
    ];
    for (const h of hellos) {
      const c = await connect('fresh');
      c.send(JSON.stringify(h));
      const res = await c.closed;
      assert.equal(
        res.code,
        WS_CLOSE.unauthorized,
        `${JSON.stringify(h).slice(0, 120)}: ${res.code} ${res.reason}`,
      );
      const err = res.frames.find((f: any) => f?.type === 'error') as any;
      assert.equal(err?.code, 'unauthorized');
    }
    // A replayed device hello (same proof twice) is refused as well.
    const hello = await device.wsHello();
    const first = await connect('fresh');
    first.send(JSON.stringify(hello));
    await first.until((f) => f?.type === 'welcome');
    const second = await connect('fresh');
    second.send(JSON.stringify(hello));
    assert.equal((await second.closed).code, WS_CLOSE.unauthorized);
    first.ws.close();
    await first.closed;
  });

  it('a valid device hello gets a welcome; ping gets pong with the same id', async () => {
    const c = await Client.open(a.url);
    c.send(JSON.stringify(await device.wsHello()));
    const welcome = await c.until((f) => f?.type === 'welcome');
    assert.ok(ServerFrame.safeParse(welcome).success, JSON.stringify(welcome));
    assert.equal(welcome.principal, 'device');
    for (const id of ['1', 'p-2', '🙂', 'x'.repeat(LIMITS.shortText)]) {
      c.send(JSON.stringify({ type: 'ping', id }));
      const pong = await c.until((f) => f?.type === 'pong' && f.id === id);
      assert.ok(ServerFrame.safeParse(pong).success, JSON.stringify(pong));
    }
    c.ws.close(1000);
    assert.equal((await c.closed).code, 1000);
  });

  it('the authority survived: 0 unhandled rejections or exceptions, no prototype polluted, every connection gone from the hub', async () => {
    // The hub forgets a connection on the server-side close event, which may trail the client's.
    await until('every connection gone from the hub', () => a.hub.size === 0);
    assert.equal((await api(a.url, 'health')).status, 200);
    const c = await connect('device');
    c.ws.close();
    await c.closed;
    assert.equal(Object.getOwnPropertyNames(Object.prototype).sort().join(','), protoBefore);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    console.log(
      `ws survival: hub empty, unhandled rejections ${faults.unhandledRejection}, uncaught exceptions ${faults.uncaughtException}`,
    );
    assert.equal(faults.unhandledRejection, 0, faults.last.join('\n'));
    assert.equal(faults.uncaughtException, 0, faults.last.join('\n'));
  });
});
