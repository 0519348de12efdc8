/**
 * Customer administration for the back office and CRM integrators (admin only): create,
 * read, update (partial), list and search (name part, phone number in any written form,
 * external reference; pages by cursor), deactivate and reactivate. Phone numbers are
 * stored in E.164 and belong to at most one active customer; an external reference to one
 * customer. A deactivated customer's open request and session end, its devices cannot
 * authenticate and no enrolment code is issued or honoured. Every change is audited with
 * the admin as actor and what changed, never the secure account values.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { WS_CLOSE } from '../../protocol/src/index.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { bearer, call, staffLogin, type HttpResult } from '../support/http.ts';
import { TestSocket } from '../support/ws.ts';

interface AuditRow {
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: string;
}

describe('customer administration API', () => {
  let a: TestAuthority;
  let admin: { token: string; staffId: string };
  let agent: { token: string; staffId: string };
  let supervisor: { token: string; staffId: string };

  const api = (method: string, path: string, json?: unknown, token = admin.token): Promise<HttpResult> =>
    call(a.url, method, path, { headers: bearer(token), ...(json !== undefined ? { json } : {}) });
  const audit = (subject: string, action: string): Promise<AuditRow[]> =>
    a.sql<AuditRow>`
      SELECT actor, action, subject, outcome, reason, data FROM audit_log
      WHERE subject = ${subject} AND action = ${action} ORDER BY seq`;
  const create = async (body: Record<string, unknown>) => {
    const r = await api('POST', '/v1/admin/customers', body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 });
    admin = await staffLogin(a.url, 'admin', 'demo-admin-1');
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    supervisor = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
  });
  after(() => a.dispose());

  it('creates a customer: numbers in E.164, attributes kept, secure fields set but never shown; audited without them', async () => {
    const c = await create({
      displayName: 'Dora Quinn',
      phones: [
        { number: '020 7946 0958', label: 'home' },
        { number: '+44 7400 123456', label: 'mobile' },
      ],
      externalRef: 'CRM-000101',
      attributes: { tier: 'gold', segment: 'retail', region: 'north' },
      account: {
        accountNumber: 'GB29 NWBK 6016 1331 9268 77',
        balance: { amount: 4321.5, currency: 'GBP' },
      },
    });
    assert.match(c.customerId, /^[A-Za-z0-9_-]{16,}$/);
    assert.deepEqual(c.phones, [
      { e164: '+442079460958', label: 'home' },
      { e164: '+447400123456', label: 'mobile' },
    ]);
    assert.equal(c.externalRef, 'CRM-000101');
    assert.deepEqual(c.attributes, { tier: 'gold', segment: 'retail', region: 'north' });
    assert.deepEqual(c.secureFields, ['accountNumber', 'balance']);
    assert.equal(c.status, 'active');
    assert.equal(c.deactivatedAt, null);
    const text = JSON.stringify(c);
    assert.ok(!text.includes('NWBK') && !text.includes('4321'), text);

    const got = await api('GET', `/v1/admin/customers/${c.customerId}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, c);

    const rows = await audit(`customer:${c.customerId}`, 'customer.create');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.actor, `staff:${admin.staffId}`);
    assert.equal(rows[0]!.outcome, 'success');
    const data = JSON.parse(rows[0]!.data);
    assert.deepEqual(data.secureFields, ['accountNumber', 'balance']);
    assert.equal(data.externalRef, 'CRM-000101');
    assert.deepEqual(data.attributes, { tier: 'gold', segment: 'retail', region: 'north' });
    assert.ok(!rows[0]!.data.includes('NWBK') && !rows[0]!.data.includes('4321'), rows[0]!.data);
  });

  it("a created customer's attributes drive routing: tier platinum gets the platinum priority", async () => {
    const c = await create({ displayName: 'Priya Platinum', attributes: { tier: 'platinum' } });
    const code = await api('POST', `/v1/admin/customers/${c.customerId}/enrolment-codes`);
    assert.equal(code.status, 201);
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    assert.equal(d.customerId, c.customerId);
    const q = await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    assert.equal(q.body.request.priority, 20);
    assert.equal(
      (await d.call('POST', `/v1/device/requests/${q.body.request.requestId}/cancel`)).status,
      200,
    );
  });

  it('updates only the fields given: name, phones (replaced), external reference, attributes and account merged; audited with what changed', async () => {
    const c = await create({
      displayName: 'Eli Update',
      phones: [{ number: '+44 7400 200001' }],
      externalRef: 'CRM-000201',
      attributes: { tier: 'standard', region: 'south' },
      account: { balance: { amount: 10, currency: 'GBP' }, accountNumber: 'GB00 TEST 0000 0000 0000 01' },
    });
    const r = await api('PATCH', `/v1/admin/customers/${c.customerId}`, {
      displayName: 'Eli Updated',
      phones: [{ number: '07400 200002', label: 'work' }],
      externalRef: 'CRM-000202',
      attributes: { tier: 'gold', region: null, branch: 'leeds' },
      account: { balance: null, orders: [{ id: 'ORD-1', item: 'Card', status: 'shipped', amount: 0 }] },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.displayName, 'Eli Updated');
    assert.deepEqual(r.body.phones, [{ e164: '+447400200002', label: 'work' }]);
    assert.equal(r.body.externalRef, 'CRM-000202');
    assert.deepEqual(r.body.attributes, { tier: 'gold', branch: 'leeds' });
    assert.deepEqual(r.body.secureFields, ['accountNumber', 'orders']);
    assert.ok(r.body.updatedAt >= c.updatedAt);

    // Partial: a name alone leaves the rest as it was.
    const r2 = await api('PATCH', `/v1/admin/customers/${c.customerId}`, { displayName: 'Eli U.' });
    assert.equal(r2.status, 200);
    assert.deepEqual(
      { ...r2.body, displayName: 'x', updatedAt: 'x' },
      { ...r.body, displayName: 'x', updatedAt: 'x' },
    );
    // The external reference can be cleared.
    const r3 = await api('PATCH', `/v1/admin/customers/${c.customerId}`, { externalRef: null });
    assert.equal(r3.body.externalRef, null);
    // Nothing to update is a 400.
    assert.equal((await api('PATCH', `/v1/admin/customers/${c.customerId}`, {})).status, 400);

    const rows = await audit(`customer:${c.customerId}`, 'customer.update');
    assert.equal(rows.length, 3);
    assert.ok(rows.every((x) => x.actor === `staff:${admin.staffId}`));
    const first = JSON.parse(rows[0]!.data);
    assert.deepEqual(first.changed.sort(), [
      'account.balance',
      'account.orders',
      'attributes.branch',
      'attributes.region',
      'attributes.tier',
      'displayName',
      'externalRef',
      'phones',
    ]);
    assert.deepEqual(first.attributes.tier, { from: 'standard', to: 'gold' });
    assert.deepEqual(first.externalRef, { from: 'CRM-000201', to: 'CRM-000202' });
    assert.deepEqual(first.phones, { added: ['+44******0002'], removed: ['+44******0001'], relabelled: [] });
    assert.ok(!rows[0]!.data.includes('ORD-1') && !rows[0]!.data.includes('shipped'), rows[0]!.data);
    assert.deepEqual(JSON.parse(rows[1]!.data), { changed: ['displayName'] });
    assert.deepEqual(JSON.parse(rows[2]!.data).changed, ['externalRef']);
  });

  it('lists and searches by name part, phone number in any form and external reference, a bounded page at a time', async () => {
    const z1 = await create({
      displayName: 'Zed Searchable One',
      phones: [{ number: '+44 7400 300001' }],
      externalRef: 'SF-0015g00000ZED1',
    });
    const z2 = await create({ displayName: 'Zed Searchable Two', phones: [{ number: '+1 415 555 2671' }] });
    const find = async (qs: string) => {
      const r = await api('GET', `/v1/admin/customers?${qs}`);
      assert.equal(r.status, 200, `${qs}: ${JSON.stringify(r.body)}`);
      return r.body as { customers: { customerId: string }[]; nextCursor: string | null };
    };
    const ids = (b: { customers: { customerId: string }[] }) => b.customers.map((c) => c.customerId);

    assert.deepEqual(ids(await find('name=searchable')), [z1.customerId, z2.customerId]);
    assert.deepEqual(ids(await find('name=SEARCHABLE%20two')), [z2.customerId]);
    // The same number in every usual written form finds the customer.
    for (const phone of [
      '07400 300001',
      '+447400300001',
      '0044 7400 300001',
      '(07400) 300-001',
      '+44 7400 300 001',
    ])
      assert.deepEqual(ids(await find(`phone=${encodeURIComponent(phone)}`)), [z1.customerId], phone);
    assert.deepEqual(ids(await find(`phone=${encodeURIComponent('+1 (415) 555-2671')}`)), [z2.customerId]);
    assert.deepEqual(ids(await find('externalRef=SF-0015g00000ZED1')), [z1.customerId]);
    assert.deepEqual(ids(await find('externalRef=SF-0015G00000ZED1')), [], 'exact match');
    assert.deepEqual(ids(await find('name=searchable&externalRef=SF-0015g00000ZED1')), [z1.customerId]);
    // "%" and "_" are text, not wildcards.
    assert.deepEqual(ids(await find('name=%25')), []);

    // Pages: every customer exactly once, in name order, none over the page size.
    const all = await find('limit=100');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await find(`limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.customers.length <= 2);
      seen.push(...ids(page));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    assert.equal(cursor, null);
    assert.deepEqual(seen, ids(all));
    assert.ok(seen.length >= 5, `${seen.length}`);
    assert.equal(new Set(seen).size, seen.length);

    for (const bad of [
      'limit=0',
      'limit=101',
      'limit=abc',
      'cursor=bm90LWEtY3Vyc29y',
      'cursor=!!',
      'name=',
      'status=gone',
      'q=x',
    ]) {
      const r = await api('GET', `/v1/admin/customers?${bad}`);
      assert.equal(r.status, 400, `${bad}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(r.body.code, 'invalid_request');
    }
  });

  it('refuses invalid phone numbers with a 400 naming the field', async () => {
    const r = await api('POST', '/v1/admin/customers', {
      displayName: 'Bad Number',
      phones: [{ number: '+44 7400 400001' }, { number: '12345' }],
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'invalid_request');
    assert.match(r.body.message, /^phones\[1\]\.number: /);
    assert.deepEqual(r.body.details[0].path, ['phones', '1', 'number']);
    const letters = await api('POST', '/v1/admin/customers', {
      displayName: 'X',
      phones: [{ number: 'call me' }],
    });
    assert.equal(letters.status, 400);
    assert.match(letters.body.message, /phones\.0\.number/);
    const twice = await api('POST', '/v1/admin/customers', {
      displayName: 'Same Twice',
      phones: [{ number: '+44 7400 400002' }, { number: '07400 400002' }],
    });
    assert.equal(twice.status, 400);
    assert.match(twice.body.message, /^phones\[1\]\.number: the same number as phones\[0\]/);
    const search = await api('GET', '/v1/admin/customers?phone=999');
    assert.equal(search.status, 400);
    assert.match(search.body.message, /^phone: /);
    const c = await create({ displayName: 'Patch Me' });
    const patch = await api('PATCH', `/v1/admin/customers/${c.customerId}`, { phones: [{ number: '0000' }] });
    assert.equal(patch.status, 400);
    assert.match(patch.body.message, /^phones\[0\]\.number: /);
    assert.equal((await audit(`customer:${c.customerId}`, 'customer.update')).length, 0);
  });

  it('schema-valid but odd phone numbers, names and cursors get 201/200, 400 or 409, never a 5xx', async () => {
    const phoneText = fc.oneof(
      fc.string({ unit: fc.constantFrom(...'0123456789+() .-'), minLength: 3, maxLength: 32 }),
      fc.stringMatching(/^(\+44 ?|0044 |0)7[0-9]{3} ?[0-9]{6}$/),
    );
    const cases = fc.sample(
      fc.tuple(
        phoneText,
        fc.string({ minLength: 1, maxLength: 30 }),
        fc.base64String({ minLength: 4, maxLength: 60 }),
      ),
      { numRuns: 150, seed: 20260302 },
    );
    const statuses = new Map<string, number>();
    const count = (k: string) => statuses.set(k, (statuses.get(k) ?? 0) + 1);
    for (const [phone, name, cursor] of cases) {
      const c = await api('POST', '/v1/admin/customers', { displayName: 'Odd', phones: [{ number: phone }] });
      assert.ok(
        [201, 400, 409].includes(c.status),
        `${JSON.stringify(phone)}: ${c.status} ${JSON.stringify(c.body)}`,
      );
      if (c.status === 400) assert.match(c.body.message, /^phones(\[0\]|\.0)\.number: /);
      count(`create ${c.status}`);
      for (const q of [
        new URLSearchParams({ phone, name }),
        new URLSearchParams({ cursor: cursor.replace(/[+/=]/g, '') || 'x' }),
      ]) {
        const l = await api('GET', `/v1/admin/customers?${q}`);
        assert.ok([200, 400].includes(l.status), `${q}: ${l.status} ${JSON.stringify(l.body)}`);
        count(`list ${l.status}`);
      }
    }
    console.log(`odd inputs: ${[...statuses].map(([k, n]) => `${k}: ${n}`).join(', ')}`);
  });

  it('a phone number of an active customer or an external reference in use is a 409, whatever its written form', async () => {
    const owner = await create({
      displayName: 'Number Owner',
      phones: [{ number: '+44 7400 500001' }],
      externalRef: 'CRM-000501',
    });
    for (const body of [
      { displayName: 'Copycat', phones: [{ number: '07400 500001' }] },
      { displayName: 'Copycat', externalRef: 'CRM-000501' },
    ]) {
      const r = await api('POST', '/v1/admin/customers', body);
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.body.code, 'conflict');
      assert.ok(r.body.message.includes(owner.customerId), r.body.message);
    }
    const other = await create({ displayName: 'Other One' });
    const p = await api('PATCH', `/v1/admin/customers/${other.customerId}`, {
      phones: [{ number: '+447400500001' }],
    });
    assert.equal(p.status, 409);
    assert.match(p.body.message, /^phones\[0\]\.number: \+447400500001 belongs to another active customer/);
    assert.equal(
      (await api('PATCH', `/v1/admin/customers/${other.customerId}`, { externalRef: 'CRM-000501' })).status,
      409,
    );
    // The owner may keep (re-send) its own number and reference.
    const same = await api('PATCH', `/v1/admin/customers/${owner.customerId}`, {
      phones: [{ number: '07400 500001', label: 'mobile' }],
      externalRef: 'CRM-000501',
    });
    assert.equal(same.status, 200, JSON.stringify(same.body));
    assert.equal((await audit(`customer:${other.customerId}`, 'customer.update')).length, 0);
  });

  it('only admins: agents and supervisors get 403, no token 401, unknown customers 404', async () => {
    const c = await create({ displayName: 'Guarded' });
    const cases: [string, string, unknown?][] = [
      ['POST', '/v1/admin/customers', { displayName: 'Nope' }],
      ['GET', `/v1/admin/customers/${c.customerId}`],
      ['PATCH', `/v1/admin/customers/${c.customerId}`, { displayName: 'Nope' }],
      ['GET', '/v1/admin/customers?name=Guarded'],
      ['POST', `/v1/admin/customers/${c.customerId}/deactivate`, {}],
      ['POST', `/v1/admin/customers/${c.customerId}/reactivate`],
    ];
    for (const [method, path, json] of cases) {
      for (const token of [agent.token, supervisor.token]) {
        const r = await api(method, path, json, token);
        assert.equal(r.status, 403, `${method} ${path}: ${r.status}`);
        assert.equal(r.body.code, 'forbidden');
      }
      const anon = await call(a.url, method, path, json !== undefined ? { json } : {});
      assert.equal(anon.status, 401, `${method} ${path} anonymous: ${anon.status}`);
    }
    const unknown = 'c_no_such_customer_x';
    for (const [method, path, json] of [
      ['GET', `/v1/admin/customers/${unknown}`],
      ['PATCH', `/v1/admin/customers/${unknown}`, { displayName: 'X' }],
      ['POST', `/v1/admin/customers/${unknown}/deactivate`, {}],
      ['POST', `/v1/admin/customers/${unknown}/reactivate`],
      ['POST', `/v1/admin/customers/${unknown}/enrolment-codes`],
    ] as [string, string, unknown?][]) {
      const r = await api(method, path, json);
      assert.equal(r.status, 404, `${method} ${path}: ${r.status}`);
    }
    assert.equal((await api('GET', `/v1/admin/customers/${c.customerId}`)).body.displayName, 'Guarded');
    assert.equal((await audit(`customer:${c.customerId}`, 'customer.update')).length, 0);
  });

  it('deactivation ends the open request and session, refuses device authentication and enrolment codes; reactivation restores them', async () => {
    const c = await create({ displayName: 'Frank Deactivated', phones: [{ number: '+44 7400 600001' }] });
    const id = c.customerId;
    const code = async () => api('POST', `/v1/admin/customers/${id}/enrolment-codes`);
    const d = await new TestDevice(a.url).enrolAndAuthenticate((await code()).body.code);
    const spareCode = (await code()).body.code as string;

    // The customer waits in a request the agent holds, and follows its session on a socket.
    assert.equal((await api('PUT', '/v1/agent/presence', { state: 'available' }, agent.token)).status, 200);
    const q = await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const { requestId, sessionId } = q.body.request;
    const offer = (await api('GET', '/v1/agent/me', undefined, agent.token)).body.offer;
    assert.equal(offer?.requestId, requestId);
    const accept = await api(
      'POST',
      `/v1/agent/requests/${requestId}/accept`,
      { fence: offer.fence },
      agent.token,
    );
    assert.equal(accept.status, 200);
    const socket = await TestSocket.open(a.url);
    socket.send(await d.wsHello(sessionId));
    assert.equal((await socket.next()).type, 'welcome');

    const deact = await api('POST', `/v1/admin/customers/${id}/deactivate`, { reason: 'account closed' });
    assert.equal(deact.status, 200, JSON.stringify(deact.body));
    assert.equal(deact.body.customer.status, 'deactivated');
    assert.equal(deact.body.customer.deactivationReason, 'account closed');
    assert.equal(deact.body.abandonedRequests, 1);
    assert.equal(deact.body.endedSessions, 1);
    assert.equal(deact.body.revokedDeviceTokens, 1);
    assert.equal(deact.body.voidedEnrolmentCodes, 1);
    assert.equal((await api('POST', `/v1/admin/customers/${id}/deactivate`, {})).status, 409);

    // The request ended as abandoned; the session's socket was told and closed.
    const req = await api('GET', `/v1/requests/${requestId}`, undefined, agent.token);
    assert.equal(req.body.state, 'abandoned');
    assert.equal((await socket.closed).code, WS_CLOSE.sessionEnded);
    assert.deepEqual(socket.frames.at(-1), { type: 'session.ended', sessionId, reason: 'ended_by_admin' });
    const session = await api('GET', `/v1/sessions/${sessionId}`, undefined, agent.token);
    assert.equal(session.status, 401, 'an ended session is never found again');
    // The agent's side still finishes normally (the customer left first).
    const done = await api(
      'POST',
      `/v1/agent/requests/${requestId}/complete`,
      { fence: offer.fence },
      agent.token,
    );
    assert.equal(done.status, 200, JSON.stringify(done.body));

    // The device: its token no longer works and it cannot authenticate again.
    assert.equal((await d.call('GET', '/v1/device/me')).status, 401);
    const auth = await d.authenticate();
    assert.equal(auth.status, 401, JSON.stringify(auth.body));
    assert.match(auth.body.message, /deactivated/);
    // No new devices: no code is issued, and one issued before does not enrol.
    const refused = await code();
    assert.equal(refused.status, 409);
    assert.match(refused.body.message, /deactivated/);
    assert.equal((await new TestDevice(a.url).enrol(spareCode)).status, 401);

    // Its number is free for another customer meanwhile; then reactivation must wait for a change.
    const taker = await create({ displayName: 'Number Taker', phones: [{ number: '07400 600001' }] });
    const blocked = await api('POST', `/v1/admin/customers/${id}/reactivate`);
    assert.equal(blocked.status, 409);
    assert.ok(blocked.body.message.includes(taker.customerId), blocked.body.message);
    // A deactivated customer can still be edited.
    assert.equal(
      (await api('PATCH', `/v1/admin/customers/${id}`, { phones: [{ number: '+44 7400 600002' }] })).status,
      200,
    );
    const listed = await api('GET', '/v1/admin/customers?status=deactivated&name=Frank');
    assert.deepEqual(
      listed.body.customers.map((x: { customerId: string }) => x.customerId),
      [id],
    );
    assert.equal((await api('GET', '/v1/admin/customers?status=active&name=Frank')).body.customers.length, 0);

    const re = await api('POST', `/v1/admin/customers/${id}/reactivate`);
    assert.equal(re.status, 200, JSON.stringify(re.body));
    assert.equal(re.body.status, 'active');
    assert.equal(re.body.deactivatedAt, null);
    assert.equal((await api('POST', `/v1/admin/customers/${id}/reactivate`)).status, 409);
    assert.equal((await d.authenticate()).status, 201);
    assert.equal((await d.call('GET', '/v1/device/me')).status, 200);
    assert.equal((await code()).status, 201);
    // Its numbers count again: nobody else may take them.
    const copy = await api('POST', '/v1/admin/customers', {
      displayName: 'Late',
      phones: [{ number: '07400 600002' }],
    });
    assert.equal(copy.status, 409);

    const subject = `customer:${id}`;
    const [dRow] = await audit(subject, 'customer.deactivate');
    assert.equal(dRow?.actor, `staff:${admin.staffId}`);
    assert.equal(dRow?.reason, 'account closed');
    assert.deepEqual(JSON.parse(dRow!.data), {
      endedSessions: 1,
      abandonedRequests: 1,
      revokedDeviceTokens: 1,
      voidedEnrolmentCodes: 1,
    });
    assert.equal((await audit(subject, 'customer.reactivate'))[0]?.actor, `staff:${admin.staffId}`);
    const codeRows = (await audit(subject, 'enrolment.code')).map((r) => `${r.outcome}:${r.reason ?? ''}`);
    assert.deepEqual(codeRows, ['success:', 'success:', 'failure:the customer is deactivated', 'success:']);
    const [abandon] = await a.sql<{ reason: string }>`
      SELECT reason FROM audit_log WHERE action = 'request.abandon' AND subject = ${`request:${requestId}`}`;
    assert.equal(abandon?.reason, 'customer_deactivated');
    const [authFailure] = await a.sql<{ reason: string }>`
      SELECT reason FROM audit_log WHERE action = 'auth.device' AND actor = ${`device:${d.deviceId}`} AND outcome = 'failure'`;
    assert.equal(authFailure?.reason, 'customer account deactivated');
  });
});
