/**
 * The text-message gateway behind its interface (issue 14 item 3): the HTTP provider
 * adapter against a provider on loopback (the request it receives, its answers: accepted,
 * refused, retryable, unreachable; no credential in any error) and the file sink the demo
 * and tests read the link from.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileTextSink, HttpTextGateway, TextGatewayError } from '../../authority/src/sms/gateway.ts';

describe('text-message gateway: HTTP provider adapter and file sink', () => {
  let server: Server;
  let url = '';
  let dir = '';
  const seen: { headers: IncomingMessage['headers']; body: unknown }[] = [];
  let answer: { status: number; body: string } = { status: 200, body: '{"id":"msg-1"}' };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-sms-'));
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        seen.push({ headers: req.headers, body: JSON.parse(body) as unknown });
        res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/messages`;
  });
  after(async () => {
    await new Promise((resolve) => server?.close(resolve));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const message = {
    to: '+447911123456',
    text: 'Verify your call with Northwind Bank: https://desk.example/v/abc',
  };

  it('posts { from, to, text } with the credentials and keeps the provider id', async () => {
    const bearer = new HttpTextGateway({
      url,
      from: 'Northwind',
      auth: { kind: 'bearer', token: 'tok-123456' },
    });
    assert.deepEqual(await bearer.send(message), { providerId: 'msg-1' });
    assert.deepEqual(seen.at(-1)!.body, { from: 'Northwind', ...message });
    assert.equal(seen.at(-1)!.headers.authorization, 'Bearer tok-123456');
    const basic = new HttpTextGateway({
      url,
      from: '+441134960000',
      auth: { kind: 'basic', username: 'acct', password: 'secret-pw' },
    });
    answer = { status: 202, body: 'queued' };
    assert.deepEqual(await basic.send(message), { providerId: null });
    assert.equal(
      seen.at(-1)!.headers.authorization,
      `Basic ${Buffer.from('acct:secret-pw').toString('base64')}`,
    );
  });

  it('refusals: 4xx final, 429/5xx and unreachable retryable, bad numbers never sent; no credential in errors', async () => {
    const g = new HttpTextGateway({ url, from: 'Northwind', auth: { kind: 'bearer', token: 'tok-123456' } });
    const refusal = async (p: Promise<unknown>) => {
      const e = await p.then(
        () => assert.fail('sent'),
        (x: unknown) => x,
      );
      assert.ok(e instanceof TextGatewayError, String(e));
      assert.ok(!e.message.includes('tok-123456'), e.message);
      return e;
    };
    for (const [status, retryable] of [
      [400, false],
      [401, false],
      [429, true],
      [503, true],
    ] as const) {
      answer = { status, body: '{"error":"x"}' };
      const e = await refusal(g.send(message));
      assert.equal(e.retryable, retryable, String(status));
      assert.match(e.message, new RegExp(`answered ${status}`));
    }
    const before = seen.length;
    assert.equal((await refusal(g.send({ ...message, to: '07911123456' }))).retryable, false);
    assert.equal((await refusal(g.send({ ...message, text: '' }))).retryable, false);
    assert.equal(seen.length, before, 'nothing reached the provider');
    const down = new HttpTextGateway({
      url: 'http://127.0.0.1:9/messages',
      from: 'Northwind',
      auth: { kind: 'bearer', token: 'tok-123456' },
      timeoutMs: 2000,
    });
    assert.equal((await refusal(down.send(message))).retryable, true);
    assert.throws(
      () =>
        new HttpTextGateway({
          url: 'http://sms.example.com/x',
          from: 'N',
          auth: { kind: 'bearer', token: 't' },
        }),
      /https/,
    );
  });

  it('the file sink appends one JSON line per message', async () => {
    const file = join(dir, 'texts', 'sent.jsonl');
    const sink = new FileTextSink(file, () => Date.parse('2026-03-02T10:00:00Z'));
    await sink.send(message);
    await sink.send({ to: '+442079460000', text: 'second' });
    const lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown);
    assert.deepEqual(lines, [
      { at: '2026-03-02T10:00:00.000Z', ...message },
      { at: '2026-03-02T10:00:00.000Z', to: '+442079460000', text: 'second' },
    ]);
    await assert.rejects(sink.send({ to: 'not a number', text: 'x' }), TextGatewayError);
  });
});
