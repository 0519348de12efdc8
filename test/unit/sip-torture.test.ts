import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { LIMITS } from '../../protocol/src/index.ts';
import { SipEdge } from '../../authority/src/sip/edge.ts';
import { badRequestFor, isRequest, parseSip } from '../../authority/src/sip/message.ts';

/**
 * The embedded SIP edge's message handling (parser + proxy/registrar front) against
 * the RFC 4475 torture messages and generated mutations of them (docs: RELIABILITY
 * row 18). Messages go straight to SipEdge.onMessage with a fake connection, so an
 * exception is seen here and not swallowed by the socket handler's catch.
 *
 * Messages are capped at the WebSocket frame limit (LIMITS.wsFrameBytes, 64 KiB):
 * the socket closes with 1009 on a larger frame before the edge sees it.
 *
 * Size: VD_SIP_MUTATIONS (default 20000; the RELIABILITY size is 100000), seed
 * VD_SIP_SEED (default 4475). Every handling time is measured; the max is printed
 * (an input over 100 ms is run three more times, to tell its own cost from a GC
 * pause or a busy machine), and only a generous bound (1 s) is asserted.
 */

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'sip-torture');
const MUTATIONS = Number(process.env.VD_SIP_MUTATIONS ?? 20_000);
const SEED = Number(process.env.VD_SIP_SEED ?? 4475);
const SLOW_BOUND_MS = 1000;

/**
 * A fixture in RFC 4475's own notation: lines end in CRLF; `<allOneLine>` ...
 * `</allOneLine>` joins the lines between; `<hex>` ... `</hex>` are raw octets.
 */
function loadTorture(notation: string): Buffer {
  const text = notation.replace(/<allOneLine>\n([\s\S]*?)\n<\/allOneLine>/g, (_, inner: string) =>
    inner.split('\n').join(''),
  );
  const parts: Buffer[] = [];
  let rest = text;
  for (;;) {
    const i = rest.indexOf('<hex>');
    if (i < 0) break;
    const j = rest.indexOf('</hex>', i);
    parts.push(Buffer.from(rest.slice(0, i).replace(/\n/g, '\r\n'), 'utf8'));
    parts.push(Buffer.from(rest.slice(i + 5, j).replace(/\s+/g, ''), 'hex'));
    rest = rest.slice(j + 6);
  }
  parts.push(Buffer.from(rest.replace(/\n/g, '\r\n'), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * What the edge must answer each RFC 4475 message with. "any" = a valid (if odd)
 * request: some answer other than 400 (typically the digest challenge); a list =
 * one of these statuses; "none" = a response or garbage: no answer at all.
 */
type Expect = 'any' | 'none' | number[];
const EXPECT: Record<string, { section: string; expect: Expect }> = {
  // 3.1.1 valid messages
  wsinv: { section: '3.1.1.1', expect: 'any' },
  intmeth: { section: '3.1.1.2', expect: 'any' },
  esc01: { section: '3.1.1.3', expect: 'any' },
  escnull: { section: '3.1.1.4', expect: 'any' },
  esc02: { section: '3.1.1.5', expect: 'any' },
  lwsdisp: { section: '3.1.1.6', expect: 'any' },
  longreq: { section: '3.1.1.7', expect: 'any' },
  dblreq: { section: '3.1.1.8', expect: 'any' },
  semiuri: { section: '3.1.1.9', expect: 'any' },
  transports: { section: '3.1.1.10', expect: 'any' },
  mpart01: { section: '3.1.1.11', expect: 'any' },
  unreason: { section: '3.1.1.12', expect: 'none' },
  noreason: { section: '3.1.1.13', expect: 'none' },
  // 3.1.2 invalid messages
  badinv01: { section: '3.1.2.1', expect: [400] },
  clerr: { section: '3.1.2.2', expect: [400] },
  ncl: { section: '3.1.2.3', expect: [400] },
  scalar02: { section: '3.1.2.4', expect: [400] },
  scalarlg: { section: '3.1.2.5', expect: 'none' },
  quotbal: { section: '3.1.2.6', expect: [400] },
  ltgtruri: { section: '3.1.2.7', expect: [400] },
  lwsruri: { section: '3.1.2.8', expect: [400] },
  lwsstart: { section: '3.1.2.9', expect: [400] },
  trws: { section: '3.1.2.10', expect: [400] },
  escruri: { section: '3.1.2.11', expect: [400] },
  baddate: { section: '3.1.2.12', expect: 'any' },
  regbadct: { section: '3.1.2.13', expect: [400] },
  badaspec: { section: '3.1.2.14', expect: [400] },
  baddn: { section: '3.1.2.15', expect: [400] },
  badvers: { section: '3.1.2.16', expect: [505] },
  mismatch01: { section: '3.1.2.17', expect: [400] },
  mismatch02: { section: '3.1.2.18', expect: [400, 501] },
  bigcode: { section: '3.1.2.19', expect: 'none' },
  // 3.2 transaction layer
  badbranch: { section: '3.2.1', expect: 'any' },
  // 3.3 application layer
  insuf: { section: '3.3.1', expect: [400] },
  unkscm: { section: '3.3.2', expect: [416] },
  novelsc: { section: '3.3.3', expect: [416] },
  unksm2: { section: '3.3.4', expect: [400, 416] },
  bext01: { section: '3.3.5', expect: [420] },
  invut: { section: '3.3.6', expect: 'any' },
  regaut01: { section: '3.3.7', expect: [401] },
  multi01: { section: '3.3.8', expect: [400] },
  mcl01: { section: '3.3.9', expect: [400] },
  bcast: { section: '3.3.10', expect: 'none' },
  zeromf: { section: '3.3.11', expect: [483] },
  cparam01: { section: '3.3.12', expect: 'any' },
  cparam02: { section: '3.3.13', expect: 'any' },
  regescrt: { section: '3.3.14', expect: 'any' },
  sdp01: { section: '3.3.15', expect: 'any' },
  // 3.4 backward compatibility
  inv2543: { section: '3.4.1', expect: 'any' },
};

const fixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.txt'))
  .sort()
  .map((f) => ({ name: f.slice(0, -4), bytes: loadTorture(readFileSync(join(FIXTURES, f), 'utf8')) }));

/** What a sip.js client sends over WebSocket: mutation bases beside the RFC's UDP-era messages. */
const CLIENT_MESSAGES = [
  [
    'REGISTER sip:verified-desk.local SIP/2.0',
    'Via: SIP/2.0/WSS abcdef.invalid;branch=z9hG4bK1234567',
    'Max-Forwards: 70',
    'To: <sip:a-agent@verified-desk.local>',
    'From: "Agent" <sip:a-agent@verified-desk.local>;tag=8cr2pj6',
    'Call-ID: 4ifd2bql2i0g1kbb5m9t',
    'CSeq: 1 REGISTER',
    'Authorization: Digest algorithm=MD5, username="1795500000:a-agent", realm="verified-desk.local", nonce="lq.ab.cd", uri="sip:verified-desk.local", response="0123456789abcdef0123456789abcdef", qop=auth, cnonce="x", nc=00000001',
    'Contact: <sip:k2k2@abcdef.invalid;transport=ws>;expires=300;+sip.ice',
    'Expires: 300',
    'Allow: ACK,CANCEL,INVITE,MESSAGE,BYE,OPTIONS,INFO,NOTIFY,REFER',
    'Supported: path, gruu, outbound',
    'User-Agent: SIP.js/0.21.1',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
  [
    'INVITE sip:d-device@verified-desk.local SIP/2.0',
    'Via: SIP/2.0/WSS abcdef.invalid;branch=z9hG4bK7654321',
    'Max-Forwards: 70',
    'To: <sip:d-device@verified-desk.local>',
    'From: <sip:a-agent@verified-desk.local>;tag=q1w2e3',
    'Call-ID: r5t6y7u8i9',
    'CSeq: 2 INVITE',
    'Contact: <sip:k2k2@abcdef.invalid;transport=ws;ob>',
    'Route: <sip:edge.verified-desk.local;transport=ws;lr>',
    'X-Call-Ticket: eyJhbGciOiJFUzI1NiJ9.e30.sig',
    'Content-Type: application/sdp',
    'Content-Length: 32',
    '',
    'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n',
  ].join('\r\n'),
  [
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/WSS edge.verified-desk.local;branch=z9hG4bKabcdef0123456789abcdef01',
    'Via: SIP/2.0/WSS abcdef.invalid;branch=z9hG4bK7654321',
    'To: <sip:d-device@verified-desk.local>;tag=zz9',
    'From: <sip:a-agent@verified-desk.local>;tag=q1w2e3',
    'Call-ID: r5t6y7u8i9',
    'CSeq: 2 INVITE',
    'Contact: <sip:m3m3@ghijkl.invalid;transport=ws>',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
].map((s) => Buffer.from(s, 'utf8'));

interface Harness {
  edge: SipEdge;
  handle(text: string): { replies: string[]; ms: number; error: unknown };
}

function harness(): Harness {
  const edge = new SipEdge({ secret: 's'.repeat(40), domain: 'verified-desk.local', now: () => Date.now() });
  const sent: string[] = [];
  const socket = {
    readyState: 1,
    OPEN: 1,
    send: (t: string) => void sent.push(t),
    close() {},
    terminate() {},
  };
  const conn = { id: 'torture', socket, hosts: new Set<string>() };
  return {
    edge,
    handle(text) {
      sent.length = 0;
      const t0 = performance.now();
      let error: unknown = null;
      try {
        (edge as unknown as { onMessage(c: unknown, t: string): void }).onMessage(conn, text);
      } catch (e) {
        error = e;
      }
      return { replies: [...sent], ms: performance.now() - t0, error };
    },
  };
}

const statusOf = (reply: string) => Number(/^SIP\/2\.0 (\d{3}) /.exec(reply)?.[1] ?? NaN);

/**
 * A reply must be a well-framed SIP response: a status line, header lines (folded
 * continuations allowed) separated by CRLF with no stray CR, LF or NUL, an empty
 * line, and a body as long as its Content-Length. Returns what is wrong, or null.
 */
function replyProblem(reply: string): string | null {
  const end = reply.indexOf('\r\n\r\n');
  if (end < 0) return 'no end of headers';
  const [status, ...headers] = reply.slice(0, end).split('\r\n');
  if (!/^SIP\/2\.0 [1-6]\d\d [^\r\n\0]*$/.test(status ?? '')) return 'bad status line';
  for (const line of headers) {
    if (/[\r\n]/.test(line)) return 'stray CR or LF in a header line';
    if (!/^[!#-'*+\-.0-9A-Z^-z|~]+:/.test(line) && !/^[ \t]/.test(line))
      return `not a header line: ${JSON.stringify(line.slice(0, 60))}`;
  }
  const cl = headers.find((l) => /^content-length:/i.test(l));
  if (cl && Number(cl.slice(cl.indexOf(':') + 1)) !== Buffer.byteLength(reply.slice(end + 4)))
    return 'wrong Content-Length';
  return null;
}

/** Whether SIP.js's own parser takes the reply (it will not when the request's From/To were garbage). */
function parses(reply: string): boolean {
  const m = parseSip(reply);
  return !!m && !isRequest(m) && Number.isInteger(m.statusCode);
}

describe('embedded SIP edge: RFC 4475 torture messages and generated mutations (RELIABILITY row 18)', () => {
  const h = harness();
  after(() => h.edge.close());
  // Warm the JIT with one ordinary message so the timings measure the handling, not compilation.
  h.handle(CLIENT_MESSAGES[0]!.toString('utf8'));

  it('has all 49 RFC 4475 messages as fixtures, each with an expectation', () => {
    assert.equal(fixtures.length, 49);
    assert.deepEqual(fixtures.map((f) => f.name).sort(), Object.keys(EXPECT).sort());
  });

  it('answers each RFC 4475 message as RFC 4475 says: clear 400s (or 416/420/483/505) for the malformed, no crash', () => {
    const rows: string[] = [];
    const wrong: string[] = [];
    let maxMs = 0;
    for (const f of fixtures) {
      const r = h.handle(f.bytes.toString('utf8'));
      maxMs = Math.max(maxMs, r.ms);
      const statuses = r.replies.map(statusOf);
      const { section, expect } = EXPECT[f.name]!;
      rows.push(
        `${section.padEnd(9)} ${f.name.padEnd(11)} ${(statuses.join(',') || '-').padEnd(4)} ${r.ms.toFixed(2)} ms`,
      );
      if (r.error) wrong.push(`${f.name}: threw ${String(r.error)}`);
      for (const reply of r.replies) {
        // Framing only: a reply copies the request's From/To (RFC 3261 8.2.6), malformed or not.
        const problem = replyProblem(reply);
        if (problem) wrong.push(`${f.name}: ${problem}: ${JSON.stringify(reply.slice(0, 120))}`);
      }
      if (expect === 'none') {
        if (r.replies.length) wrong.push(`${f.name}: expected no answer, got ${statuses.join(',')}`);
      } else if (r.replies.length !== 1)
        wrong.push(`${f.name}: expected one answer, got ${r.replies.length}`);
      else if (expect === 'any') {
        if (statuses[0] === 400)
          wrong.push(`${f.name}: a valid message was refused: ${r.replies[0]!.split('\r\n')[0]}`);
      } else if (!expect.includes(statuses[0]!))
        wrong.push(`${f.name}: expected ${expect.join(' or ')}, got ${r.replies[0]!.split('\r\n')[0]}`);
      const bad = r.replies.find((x) => statusOf(x) === 400);
      if (bad) assert.match(bad.split('\r\n')[0]!, /^SIP\/2\.0 400 Bad Request/);
    }
    // Again, now that every code path has been compiled: the steady-state figure.
    let warmMax = 0;
    for (let round = 0; round < 5; round++)
      for (const f of fixtures) warmMax = Math.max(warmMax, h.handle(f.bytes.toString('utf8')).ms);
    console.log(
      `RFC 4475: ${fixtures.length} messages, slowest ${maxMs.toFixed(2)} ms on first sight (JIT compiling), ` +
        `${warmMax.toFixed(2)} ms over 5 more rounds\n${rows.join('\n')}`,
    );
    assert.deepEqual(wrong, []);
    assert.ok(Math.max(maxMs, warmMax) < SLOW_BOUND_MS, `slowest ${maxMs} ms`);
  });

  it(`${MUTATIONS} generated mutations (byte flips, truncations, duplicated/removed lines, huge values): 0 exceptions`, () => {
    const bases = [...fixtures.map((f) => f.bytes), ...CLIENT_MESSAGES];
    const lines = (b: Buffer) => b.toString('latin1').split('\r\n');
    const join = (ls: string[]) => Buffer.from(ls.join('\r\n'), 'latin1');
    interface Mutation {
      kind: string;
      apply(b: Buffer): Buffer;
    }
    const flip = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })).map(([at, v]): Mutation => ({
      kind: 'flip',
      apply(b) {
        if (b.length === 0) return b;
        const c = Buffer.from(b);
        c[at % c.length] = v;
        return c;
      },
    }));
    const truncate = fc.nat().map((at): Mutation => ({
      kind: 'truncate',
      apply: (b) => b.subarray(0, b.length ? at % b.length : 0),
    }));
    const insert = fc
      .tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 }))
      .map(([at, bytes]): Mutation => ({
        kind: 'insert',
        apply(b) {
          const i = b.length ? at % b.length : 0;
          return Buffer.concat([b.subarray(0, i), Buffer.from(bytes), b.subarray(i)]);
        },
      }));
    const duplicate = fc.tuple(fc.nat(), fc.integer({ min: 1, max: 500 })).map(([at, times]): Mutation => ({
      kind: `duplicate x${times}`,
      apply(b) {
        const ls = lines(b);
        const i = at % ls.length;
        return join([...ls.slice(0, i + 1), ...Array<string>(times).fill(ls[i]!), ...ls.slice(i + 1)]);
      },
    }));
    const remove = fc.nat().map((at): Mutation => ({
      kind: 'remove',
      apply(b) {
        const ls = lines(b);
        const i = at % ls.length;
        return join([...ls.slice(0, i), ...ls.slice(i + 1)]);
      },
    }));
    // A header value replaced by, or extended with, up to the 64 KiB frame limit of one character.
    const huge = fc
      .tuple(
        fc.nat(),
        fc.integer({ min: 1000, max: LIMITS.wsFrameBytes }),
        fc.constantFrom('x', ';', ',', '"', '<', '%', ' ', '\\', '9', ':', '@', '='),
        fc.boolean(),
      )
      .map(([at, n, ch, extend]): Mutation => ({
        kind: `huge ${extend ? 'extended' : 'replaced'} ${JSON.stringify(ch)} x${n}`,
        apply(b) {
          const ls = lines(b);
          const i = at % ls.length;
          const c = ls[i]!.indexOf(':');
          ls[i] = extend
            ? ls[i]! + ch.repeat(n)
            : c > 0
              ? `${ls[i]!.slice(0, c + 1)} ${ch.repeat(n)}`
              : ch.repeat(n);
          return join(ls);
        },
      }));
    const newline = fc
      .tuple(fc.nat(), fc.constantFrom('\n', '\r', '', '\r\n\r\n'))
      .map(([at, sep]): Mutation => ({
        kind: `newline ${JSON.stringify(sep)}`,
        apply(b) {
          const ls = lines(b);
          const i = at % Math.max(1, ls.length - 1);
          return join([...ls.slice(0, i), `${ls[i]}${sep}${ls[i + 1] ?? ''}`, ...ls.slice(i + 2)]);
        },
      }));
    const testCase = fc.tuple(
      fc.integer({ min: 0, max: bases.length - 1 }),
      fc.array(fc.oneof(flip, truncate, insert, duplicate, remove, huge, newline), {
        minLength: 1,
        maxLength: 4,
      }),
    );
    const baseName = (i: number) => fixtures[i]?.name ?? `client message ${i - fixtures.length}`;

    const statuses = new Map<string, number>();
    const times: number[] = [];
    let exceptions = 0;
    let brokenReplies = 0;
    let unparsableReplies = 0;
    let unanswered = 0;
    const remeasured: number[] = [];
    const slowInputs: string[] = [];
    let first: string | null = null;
    let slowest = { ms: 0, what: '' };
    const t0 = performance.now();
    fc.assert(
      fc.property(testCase, ([base, muts]) => {
        let b = bases[base]!;
        for (const m of muts) b = m.apply(b);
        // The WebSocket refuses larger frames (1009) before the edge sees them.
        if (b.length > LIMITS.wsFrameBytes) b = b.subarray(0, LIMITS.wsFrameBytes);
        const text = b.toString('utf8');
        const r = h.handle(text);
        times.push(r.ms);
        // Over 100 ms once: the input's own cost, or a GC pause / a busy machine? The
        // fastest of three more runs of the same input tells.
        if (r.ms > 100) {
          const again = Math.min(...[0, 1, 2].map(() => h.handle(text).ms));
          remeasured.push(again);
          if (again > 100) slowInputs.push(`${again.toFixed(0)} ms: ${JSON.stringify(text.slice(0, 200))}`);
        }
        if (r.ms > slowest.ms)
          slowest = {
            ms: r.ms,
            what: `${baseName(base)} + ${muts.map((m) => m.kind).join(', ')} (${b.length} bytes)`,
          };
        const key = r.replies.length ? r.replies.map(statusOf).join('+') : 'none';
        // A request whose request line and Via/From/To/Call-ID/CSeq can be read (not an ACK) is always answered.
        if (!r.replies.length && badRequestFor(text)) {
          unanswered++;
          first ??= `no answer to ${JSON.stringify(text.slice(0, 300))}`;
        }
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (r.error) {
          exceptions++;
          first ??= `${String(r.error)} on ${JSON.stringify(text.slice(0, 300))}`;
        }
        for (const reply of r.replies) {
          const problem = replyProblem(reply);
          if (problem) {
            brokenReplies++;
            first ??= `${problem}: ${JSON.stringify(reply.slice(0, 300))} to ${JSON.stringify(text.slice(0, 300))}`;
          } else if (!parses(reply)) unparsableReplies++;
        }
        return !r.error;
      }),
      { numRuns: MUTATIONS, seed: SEED, endOnFailure: true },
    );
    const secs = (performance.now() - t0) / 1000;
    times.sort((x, y) => x - y);
    const max = times[times.length - 1] ?? 0;
    const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
    const slow = times.filter((t) => t > 100).length;
    console.log(
      `SIP mutations: ${times.length} (seed ${SEED}) in ${secs.toFixed(1)} s; ${exceptions} exceptions; ${unanswered} answerable requests unanswered; ${brokenReplies} broken replies ` +
        `(${unparsableReplies} well-framed replies echo header values a SIP parser refuses); handling time p99 ${p99.toFixed(2)} ms, ` +
        `max ${max.toFixed(2)} ms (${slowest.what}), ${slow} over 100 ms` +
        (remeasured.length
          ? ` (fastest of 3 re-runs of those: max ${Math.max(...remeasured).toFixed(2)} ms)`
          : '') +
        `; answers: ` +
        [...statuses]
          .sort((x, y) => y[1] - x[1])
          .map(([k, n]) => `${k}: ${n}`)
          .join(', '),
    );
    assert.equal(exceptions, 0, first ?? '');
    assert.equal(brokenReplies, 0, first ?? '');
    assert.equal(unanswered, 0, first ?? '');
    if (slowInputs.length) console.log(`inputs slow on every run:\n${slowInputs.join('\n')}`);
    assert.ok(max < SLOW_BOUND_MS, `slowest mutation took ${max.toFixed(1)} ms: ${slowest.what}`);
  });
});
