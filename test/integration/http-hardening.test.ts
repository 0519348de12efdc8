/**
 * HTTP hardening of the authority, over real TCP on loopback:
 *
 * - An oversize body gets a 413 with the ApiError JSON that the client can read, never
 *   a connection reset: VD_OVERSIZE_POSTS (default 200) sequential 2 MB JSON posts to
 *   a route with the 64 KiB JSON limit, every other one writing most of its body after
 *   the response has arrived; all must answer 413 with the ApiError JSON and none may
 *   see EPIPE or ECONNRESET. A photo over the photo limit gets 413 too.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ApiError, LIMITS } from '../../protocol/src/index.ts';
import { OVERSIZE_DRAIN_BYTES } from '../../authority/src/http/hardening.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin } from '../support/http.ts';

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

  before(async () => {
    a = await startTestAuthority();
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    device = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  });
  after(async () => {
    await a.dispose();
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
});
