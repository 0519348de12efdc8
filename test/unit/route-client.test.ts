/**
 * The typed route client (protocol/src/route-client.ts) that the customer SDK and
 * main/core both use, over a recording transport: what goes out (path parameters
 * encoded, query, body validated before anything is sent) and what comes back
 * (validated by the route's response schema, ApiError bodies as AuthorityError,
 * image answers as bytes of a JPEG or PNG only).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AuthorityError,
  ProtocolError,
  RouteClient,
  RouteInputError,
  type RouteRequest,
  type RouteResponse,
} from '../../protocol/src/route-client.ts';

const answer = (status: number, body: unknown, type = 'application/json'): RouteResponse => {
  const bytes =
    body instanceof Uint8Array
      ? body
      : new TextEncoder().encode(typeof body === 'string' ? body : JSON.stringify(body));
  return new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]), {
    status,
    headers: { 'content-type': type },
  });
};

function recording(reply: (r: RouteRequest) => RouteResponse) {
  const sent: RouteRequest[] = [];
  const client = new RouteClient(async (r) => {
    sent.push(r);
    return reply(r);
  });
  return { client, sent };
}

const REQUEST_ID = 'request-0000000001';
const PHOTO_ID = 'photo_-0000000001';

describe('RouteClient: the route table as a typed client', () => {
  it('builds the path from the route with its parameters, the query, the method and the validated body', async () => {
    const { client, sent } = recording(() => answer(200, { ok: true }));
    await client.call('rejectOffer', { params: { requestId: REQUEST_ID }, body: { fence: 3 } });
    assert.equal(sent[0]!.method, 'POST');
    assert.equal(sent[0]!.path, `/v1/agent/requests/${REQUEST_ID}/reject`);
    assert.equal(sent[0]!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(sent[0]!.body as string), { fence: 3 });
    assert.equal(sent[0]!.route.auth, 'staff', 'the transport knows whom to authenticate as');

    const slots = recording(() => answer(200, { day: '2026-03-02', slotSeconds: 900, slots: [] }));
    await slots.client.call('callbackSlots', {
      params: { requestId: REQUEST_ID },
      query: { day: '2026-03-02' },
    });
    assert.equal(slots.sent[0]!.path, `/v1/device/requests/${REQUEST_ID}/callback-slots?day=2026-03-02`);
    assert.equal(slots.sent[0]!.body, undefined);
  });

  it('refuses bad input before anything is sent: path parameters, query and body', async () => {
    const { client, sent } = recording(() => answer(200, { ok: true }));
    for (const requestId of ['../../v1/admin/staff', 'short', `${REQUEST_ID}?x=1`, `${REQUEST_ID}/reject`])
      await assert.rejects(
        client.call('rejectOffer', { params: { requestId }, body: { fence: 1 } }),
        RouteInputError,
        requestId,
      );
    await assert.rejects(
      client.call('rejectOffer', { params: { requestId: REQUEST_ID }, body: { fence: 'one' } as never }),
      /rejectOffer: body\.fence/,
    );
    await assert.rejects(
      client.call('callbackSlots', { params: { requestId: REQUEST_ID }, query: { day: 'tomorrow' } }),
      /callbackSlots: query\.day/,
    );
    await assert.rejects(
      client.call('photo', { query: { purpose: 'enrolment' }, body: 'jpeg' as never }),
      /image Blob/,
    );
    assert.equal(sent.length, 0, 'nothing left');
  });

  it('validates the answer with the route schema: anything else is a ProtocolError', async () => {
    const wrong = recording(() => answer(200, { ok: 'yes' }));
    await assert.rejects(
      wrong.client.call('rejectOffer', { params: { requestId: REQUEST_ID }, body: { fence: 1 } }),
      ProtocolError,
    );
    const html = recording(() => answer(200, '<html>proxy</html>', 'text/html'));
    await assert.rejects(
      html.client.call('rejectOffer', { params: { requestId: REQUEST_ID }, body: { fence: 1 } }),
      /not JSON/,
    );
  });

  it('error answers: the ApiError as an AuthorityError (code, message, details); anything else keeps its status', async () => {
    const locked = recording(() =>
      answer(423, { code: 'locked', message: 'PIN locked', details: { retryAfterSeconds: 30 } }),
    );
    const e = await locked.client.call('pinFactor', { body: { pin: '1234' } }).catch((x: unknown) => x);
    assert.ok(e instanceof AuthorityError);
    assert.deepEqual(
      [e.status, e.code, e.message, e.details],
      [423, 'locked', 'PIN locked', { retryAfterSeconds: 30 }],
    );
    assert.equal(e.transient, false);

    const gateway = recording(() => answer(502, '<html>bad gateway</html>', 'text/html'));
    const g = await gateway.client.call('agentMe').catch((x: unknown) => x);
    assert.ok(g instanceof AuthorityError);
    assert.deepEqual([g.status, g.code], [502, 'http_error']);
    assert.equal(g.transient, true, 'worth retrying');
  });

  it('an image route answers the bytes of a JPEG or PNG, nothing else', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const { client, sent } = recording(() => answer(200, png, 'image/png'));
    const out = await client.call('requestPhoto', { params: { requestId: REQUEST_ID, photoId: PHOTO_ID } });
    assert.equal(sent[0]!.path, `/v1/agent/requests/${REQUEST_ID}/photos/${PHOTO_ID}`);
    assert.equal(out.type, 'image/png');
    assert.deepEqual([...out.bytes], [...png]);
    const svg = recording(() => answer(200, '<svg/>', 'image/svg+xml'));
    await assert.rejects(
      svg.client.call('requestPhoto', { params: { requestId: REQUEST_ID, photoId: PHOTO_ID } }),
      /not a JPEG or PNG/,
    );
  });

  it("the transport's own failure reaches the caller as it is (e.g. unreachable)", async () => {
    const client = new RouteClient(() =>
      Promise.reject(new AuthorityError(0, 'unreachable', 'authority unreachable')),
    );
    const e = await client.call('agentMe').catch((x: unknown) => x);
    assert.ok(e instanceof AuthorityError && e.status === 0 && e.transient);
  });
});
