/**
 * HTTP hardening of the authority, over real TCP on loopback:
 *
 * - An oversize body gets a 413 with the ApiError JSON that the client can read, never
 *   a connection reset: VD_OVERSIZE_POSTS (default 200) sequential 2 MB JSON posts to
 *   a route with the 64 KiB JSON limit, every other one writing most of its body after
 *   the response has arrived; all must answer 413 with the ApiError JSON and none may
 *   see EPIPE or ECONNRESET. A photo over the photo limit gets 413 too.
 * - Answers carrying a token or secret say Cache-Control: no-store (RFC 6749 section 5.1).
 * - /app/ (the customer web app, a stand-in build here; the e2e tests run the real one
 *   in Chromium under the same policy) has a strict Content-Security-Policy; every
 *   answer says nosniff, no-referrer and frame-ancestors 'none'.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, LIMITS } from '../../protocol/src/index.ts';
import { OVERSIZE_DRAIN_BYTES } from '../../authority/src/http/hardening.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin, type HttpResult } from '../support/http.ts';

/** A Content-Security-Policy header as directive -> sources. */
function directives(header: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

const OVERSIZE_POSTS = Math.max(1, Number(process.env.VD_OVERSIZE_POSTS ?? 200));

interface Outcome {
  status: number;
  text: string;
  /** The error code of the request or response stream (EPIPE, ECONNRESET ...), if any. */
  error: string | null;
}

/**
 * One POST over a plain TCP socket (node's http client stops reporting socket errors
 * once a response is complete, which would hide a reset), the body written in 64 KiB
 * chunks: all at once ('eager'), or the first chunk, then the rest once the response
 * has arrived ('after-response': a client that goes on sending the body while it reads
 * the answer). When the response is read and the whole body written, the client closes
 * its side; settles when the socket has closed, with the first error seen.
 */
function post(
  port: number,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  mode: 'eager' | 'after-response' = 'eager',
): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let response: { status: number; text: string } | null = null;
    let written = false;
    let error: string | null = null;
    const CHUNK = 64 * 1024;
    const writeFrom = (offset: number) => {
      for (let o = offset; o < body.length; o += CHUNK) {
        const last = o + CHUNK >= body.length;
        socket.write(body.subarray(o, o + CHUNK), last ? () => ((written = true), finish()) : undefined);
      }
    };
    const finish = () => {
      if (response && written && !socket.writableEnded) socket.end();
    };
    socket.on('data', (d: Buffer) => {
      if (response) return;
      received = Buffer.concat([received, d]);
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = received.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (received.length < end + 4 + length) return;
      response = {
        status: Number(head.split(' ')[1]),
        text: received.subarray(end + 4, end + 4 + length).toString('utf8'),
      };
      if (mode === 'after-response') writeFrom(CHUNK);
      finish();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error ??= e.code ?? e.message));
    socket.on('close', () =>
      resolve({
        status: response?.status ?? 0,
        text: response?.text ?? '',
        error: error ?? (response ? null : 'closed before the response was read'),
      }),
    );
    const lines = Object.entries({ ...headers, host: '127.0.0.1', 'content-length': String(body.length) });
    socket.write(`POST ${path} HTTP/1.1\r\n${lines.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    if (mode === 'eager') writeFrom(0);
    else socket.write(body.subarray(0, CHUNK));
  });
}

describe('HTTP hardening', () => {
  let a: TestAuthority;
  let device: TestDevice;
  const appDir = mkdtempSync(join(tmpdir(), 'vd-app-'));

  before(async () => {
    mkdirSync(join(appDir, 'assets'));
    writeFileSync(
      join(appDir, 'index.html'),
      '<!doctype html><script type="module" src="/app/assets/app.js"></script><div id="root"></div>',
    );
    writeFileSync(join(appDir, 'assets', 'app.js'), 'document.title = "app";');
    a = await startTestAuthority({ customerAppDir: appDir });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  });
  after(async () => {
    await a.dispose();
    rmSync(appDir, { recursive: true, force: true });
  });

  it(`oversize bodies get a readable 413, never a reset (${OVERSIZE_POSTS} x 2 MB to a 64 KiB route)`, async () => {
    const body = Buffer.from(JSON.stringify({ username: 'x'.repeat(2_000_000), password: 'y' }));
    assert.ok(body.length > 30 * LIMITS.jsonBodyBytes);
    const tally = new Map<string, number>();
    const bad: string[] = [];
    for (let i = 0; i < OVERSIZE_POSTS; i++) {
      const o = await post(
        a.port,
        '/v1/staff/login',
        { 'content-type': 'application/json' },
        body,
        i % 2 ? 'after-response' : 'eager',
      );
      const key = o.error ?? String(o.status);
      tally.set(key, (tally.get(key) ?? 0) + 1);
      if (o.error || o.status !== 413) {
        if (bad.length < 5) bad.push(`#${i}: ${o.error ?? ''} ${o.status} ${o.text.slice(0, 120)}`);
        continue;
      }
      const parsed = ApiError.safeParse(JSON.parse(o.text));
      assert.ok(parsed.success, `#${i}: not an ApiError: ${o.text.slice(0, 200)}`);
      assert.equal(parsed.data.code, 'payload_too_large');
    }
    console.log(
      `oversize: ${OVERSIZE_POSTS} posts of ${body.length} bytes -> ${JSON.stringify(Object.fromEntries(tally))}`,
    );
    assert.deepEqual(bad, [], `not a clean 413: ${JSON.stringify(Object.fromEntries(tally))}`);
    assert.equal(tally.get('413'), OVERSIZE_POSTS);
  });

  it('a body streaming on without end gets its 413, then the connection closes (no endless draining)', async () => {
    // Chunked, no length: the authority answers 413 after the first 64 KiB, reads on
    // (throwing the bytes away) up to OVERSIZE_DRAIN_BYTES, then closes.
    const outcome = await new Promise<{ status: number; sent: number; closedByServer: boolean }>(
      (resolve) => {
        const socket = connect(a.port, '127.0.0.1');
        let received = '';
        let sent = 0;
        let stop = false;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        const frame = Buffer.concat([
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]);
        const pump = () => {
          while (!stop && sent < 10 * OVERSIZE_DRAIN_BYTES) {
            sent += chunk.length;
            if (!socket.write(frame)) return void socket.once('drain', pump);
          }
          if (!stop) socket.end('0\r\n\r\n');
        };
        socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
        socket.on('error', () => (stop = true));
        socket.on('close', () =>
          resolve({
            status: Number(received.split(' ')[1]),
            sent,
            closedByServer: sent < 10 * OVERSIZE_DRAIN_BYTES,
          }),
        );
        socket.write(
          'POST /v1/staff/login HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n',
        );
        pump();
      },
    );
    console.log(
      `endless body: 413 after ${outcome.sent} bytes handed to the socket, closed by the authority`,
    );
    assert.equal(outcome.status, 413);
    assert.ok(outcome.closedByServer, `the authority read ${outcome.sent} bytes and did not close`);
  });

  it('a photo over the photo limit gets 413 "too large", readable', async () => {
    const path = '/v1/device/photos?purpose=verification';
    const huge = Buffer.concat([FAKE_JPEG.subarray(0, 4), Buffer.alloc(LIMITS.photoBytes + 1)]);
    for (let i = 0; i < 5; i++) {
      const o = await post(
        a.port,
        path,
        { ...(await device.headers('POST', path)), 'content-type': 'image/jpeg' },
        huge,
        i % 2 ? 'after-response' : 'eager',
      );
      assert.equal(o.error, null, `#${i}: ${o.error}`);
      assert.equal(o.status, 413, o.text);
      const err = ApiError.parse(JSON.parse(o.text));
      assert.equal(err.code, 'payload_too_large');
      assert.match(err.message, /too large/);
    }
  });
  it('every answer carrying a token or secret says Cache-Control: no-store and Pragma: no-cache', async () => {
    const seen: [string, HttpResult][] = [];
    const login = await call(a.url, 'POST', '/v1/staff/login', {
      json: { username: 'agent1', password: 'demo-agent-1' },
    });
    seen.push(['staff login', login]);
    seen.push([
      'refresh',
      await call(a.url, 'POST', '/v1/staff/refresh', { json: { refreshToken: login.body.refreshToken } }),
    ]);
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_alice_martin_01/enrolment-codes', {
      headers: bearer(admin),
    });
    seen.push(['enrolment code', code]);
    const d = new TestDevice(a.url);
    seen.push(['device enrolment', await d.enrol(code.body.code)]);
    seen.push(['device authentication', await d.authenticate()]);
    seen.push(['device SIP credentials', await d.call('GET', '/v1/sip/credentials')]);
    seen.push([
      'staff SIP credentials',
      await call(a.url, 'GET', '/v1/sip/credentials', { headers: bearer(login.body.accessToken) }),
    ]);
    for (const [what, r] of seen) {
      assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.headers.get('cache-control'), 'no-store', what);
      assert.equal(r.headers.get('pragma'), 'no-cache', what);
    }
  });

  it("/app/ has a strict Content-Security-Policy, frame-ancestors 'none', nosniff and no-referrer", async () => {
    const ws = a.url.replace(/^http/, 'ws');
    for (const path of ['/app/', '/app/assets/app.js', '/app/enrol/step-2']) {
      const res = await fetch(a.url + path);
      await res.arrayBuffer();
      assert.equal(res.status, 200, path);
      const csp = directives(res.headers.get('content-security-policy'));
      assert.deepEqual(csp.get('default-src'), ["'self'"], path);
      assert.deepEqual(csp.get('script-src'), ["'self'"], `${path}: no inline script, no eval`);
      assert.deepEqual(csp.get('object-src'), ["'none'"], path);
      assert.deepEqual(csp.get('base-uri'), ["'none'"], path);
      assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], path);
      assert.deepEqual(csp.get('form-action'), ["'none'"], path);
      assert.ok(csp.get('connect-src')?.includes("'self'"), path);
      assert.ok(csp.get('connect-src')?.includes(ws), `${path}: the API WebSocket and the SIP edge`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
    }
  });

  it("API answers (success, 4xx, 413, openapi) say nosniff, no-referrer and frame-ancestors 'none'", async () => {
    const answers: [string, Response][] = [
      ['health', await fetch(`${a.url}/healthz`)],
      ['openapi', await fetch(`${a.url}/openapi.json`)],
      ['404', await fetch(`${a.url}/v1/nothing-here`)],
      ['401', await fetch(`${a.url}/v1/staff/me`)],
      [
        '400',
        await fetch(`${a.url}/v1/staff/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username":1}',
        }),
      ],
      [
        '413',
        await fetch(`${a.url}/v1/staff/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pad: 'x'.repeat(LIMITS.jsonBodyBytes) }),
        }),
      ],
    ];
    for (const [what, res] of answers) {
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
      const csp = directives(res.headers.get('content-security-policy'));
      assert.deepEqual(csp.get('frame-ancestors'), ["'none'"], what);
      assert.deepEqual(csp.get('default-src'), ["'none'"], `${what}: an API answer loads nothing`);
    }
  });

  it("with a separate SIP server, the app's connect-src names it too", async () => {
    const other = await startTestAuthority({
      customerAppDir: appDir,
      sipWsUrl: 'wss://sip.example.test:8443/ws',
    });
    try {
      const res = await fetch(`${other.url}/app/`);
      await res.arrayBuffer();
      const connect = directives(res.headers.get('content-security-policy')).get('connect-src') ?? [];
      assert.ok(connect.includes('wss://sip.example.test:8443'), connect.join(' '));
    } finally {
      await other.dispose();
    }
  });
});
