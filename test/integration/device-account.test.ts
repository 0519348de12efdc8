/**
 * The customer's own account from the phone (issue 15, "Customer app"): the request history
 * with outcomes (completed, transferred, abandoned, open; who held it), newest first and
 * paged, only the caller's customer's; one receipt by number (another customer's answers
 * 404); the consult shown to the customer while their agent consults a colleague; and
 * removing this phone (device revoked, its sessions ended and its open request abandoned,
 * audited in one unit; its credentials answer 401 afterwards).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { CommandClaims } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const PIN = '731904';

describe('the customer’s account from the phone: history, receipts, consult, removing the phone', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let alice: TestDevice;
  let bob: TestDevice;
  let agent: { token: string; staffId: string };
  let sup: { token: string; staffId: string };
  const ids: Record<string, string> = {};
  let receiptId: string;

  const staff = (token: string) => ({ headers: bearer(token) });
  const device = async (customerId: string) => {
    const code = await api(a.url, 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: PIN } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: PIN } })).body.level, 2);
    return d;
  };
  const ask = async (d: TestDevice, optionId = 'lost-card') => {
    clock.advance(60_000);
    const q = await d.api('createRequest', { json: { optionId } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request as { requestId: string; sessionId: string };
  };
  /** `who` becomes available and accepts the offer of `requestId`: the fence. */
  const take = async (who: { token: string }, requestId: string) => {
    const av = await api(a.url, 'setPresence', { ...staff(who.token), json: { state: 'available' } });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    const fence: number = av.body.offer.fence;
    const acc = await api(a.url, 'acceptOffer', {
      ...staff(who.token),
      params: { requestId },
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    return fence;
  };
  const complete = async (who: { token: string }, requestId: string, fence: number) => {
    const r = await api(a.url, 'completeRequest', {
      ...staff(who.token),
      params: { requestId },
      json: { fence },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(
      (await api(a.url, 'setPresence', { ...staff(who.token), json: { state: 'offline' } })).status,
      200,
    );
  };

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    sup = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    alice = await device('c_alice_martin_01');
    bob = await device('c_bob_okafor_002');

    // 1. completed by Dana, with a payment confirmed with the PIN (a receipt).
    const r1 = await ask(alice);
    ids.completed = r1.requestId;
    const f1 = await take(agent, r1.requestId);
    const ctl = new DeviceControl(alice).follow(r1);
    await ctl.guard.loadKeys();
    const sock = await TestSocket.open(a.url);
    sock.send(await alice.wsHello(r1.sessionId));
    assert.equal((await sock.next()).type, 'welcome');
    const frames = new FrameLog(sock);
    const sent = await api(a.url, 'sendCommand', {
      ...staff(agent.token),
      params: { requestId: r1.requestId },
      json: {
        fence: f1,
        seq: 1,
        command: {
          kind: 'confirm',
          payload: {
            transaction: {
              amount: 2_500,
              currency: 'GBP',
              payee: 'Northwind Travel Ltd',
              reference: 'INV-7',
              terms: 'I confirm this payment.',
            },
          },
        },
      },
    });
    assert.equal(sent.status, 201, JSON.stringify(sent.body));
    const f = await frames.take((x) => x.type === 'command' && x.commandId === sent.body.commandId);
    const v = await ctl.guard.check(f.jws);
    assert.equal(v.verdict, 'execute', JSON.stringify(v));
    const claims = (v as { claims: CommandClaims }).claims;
    assert.equal((await ctl.ack(sent.body.commandId)).status, 200);
    const answered = await ctl.answer(sent.body.commandId, {
      outcome: 'done',
      result: {
        kind: 'confirm',
        signature: await ctl.signTransaction(claims),
        factor: { kind: 'pin', pin: PIN },
      },
    });
    assert.equal(answered.status, 200, JSON.stringify(answered.body));
    receiptId = answered.body.receipt.receiptId;
    sock.close();
    await complete(agent, r1.requestId, f1);

    // 2. abandoned: Alice cancels while waiting.
    const r2 = await ask(alice);
    ids.abandoned = r2.requestId;
    const c = await alice.api('cancelRequest', { params: { requestId: r2.requestId } });
    assert.equal(c.status, 200, JSON.stringify(c.body));

    // 3. Bob's request (never Alice's to see).
    const rb = await ask(bob);
    ids.bob = rb.requestId;
    await bob.api('cancelRequest', { params: { requestId: rb.requestId } });
  });

  after(async () => {
    await a?.dispose();
  });

  it('a warm transfer: the customer is told while the agent consults, then it is finished by the colleague (transferred)', async () => {
    const r3 = await ask(alice);
    ids.transferred = r3.requestId;
    const sock = await TestSocket.open(a.url);
    sock.send(await alice.wsHello(r3.sessionId));
    assert.equal((await sock.next()).type, 'welcome');
    const frames = new FrameLog(sock);
    const fence = await take(agent, r3.requestId);
    await api(a.url, 'setPresence', { ...staff(sup.token), json: { state: 'available' } });
    const t = await api(a.url, 'transfer', {
      ...staff(agent.token),
      params: { requestId: r3.requestId },
      json: { fence, mode: 'warm', target: { kind: 'supervisor', staffId: sup.staffId } },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const on = await frames.take((x) => x.type === 'request.consult');
    assert.deepEqual(
      { ...on, at: undefined },
      {
        type: 'request.consult',
        requestId: r3.requestId,
        active: true,
        at: undefined,
      },
    );
    const acc = await api(a.url, 'acceptTransfer', {
      ...staff(sup.token),
      params: { transferId: t.body.transferId },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    const off = await frames.take((x) => x.type === 'request.consult' && x.active === false);
    assert.equal(off.requestId, r3.requestId);
    sock.close();
    await complete(sup, r3.requestId, acc.body.toFence);
  });

  it('history: newest first with outcome and who held it; only this customer’s; paged', async () => {
    const open = await ask(alice);
    ids.open = open.requestId;
    const h = await alice.api('deviceHistory');
    assert.equal(h.status, 200, JSON.stringify(h.body));
    const rows = h.body.requests as {
      requestId: string;
      outcome: string;
      agentName: string | null;
      handledBy: string[];
      optionLabel: string;
      endedAt: string | null;
    }[];
    assert.deepEqual(
      rows.map((r) => [r.requestId, r.outcome]),
      [
        [ids.open, 'open'],
        [ids.transferred, 'transferred'],
        [ids.abandoned, 'abandoned'],
        [ids.completed, 'completed'],
      ],
    );
    const [o, tr, ab, co] = rows;
    assert.equal(o!.endedAt, null);
    assert.equal(tr!.agentName, 'Morgan Lee');
    assert.deepEqual(tr!.handledBy, ['Dana Reyes', 'Morgan Lee']);
    assert.equal(ab!.agentName, null);
    assert.equal(co!.agentName, 'Dana Reyes');
    assert.ok(co!.endedAt);
    assert.ok(!rows.some((r) => r.requestId === ids.bob), 'never another customer’s request');
    assert.equal(h.body.nextCursor, null);

    const p1 = await alice.api('deviceHistory', { query: { limit: '3' } });
    assert.equal(p1.body.requests.length, 3);
    assert.ok(p1.body.nextCursor);
    const p2 = await alice.api('deviceHistory', { query: { limit: '3', cursor: p1.body.nextCursor } });
    assert.deepEqual(
      p2.body.requests.map((r: { requestId: string }) => r.requestId),
      [ids.completed],
    );
    assert.equal(p2.body.nextCursor, null);

    const b = await bob.api('deviceHistory');
    assert.deepEqual(
      b.body.requests.map((r: { requestId: string; outcome: string }) => [r.requestId, r.outcome]),
      [[ids.bob, 'abandoned']],
    );
  });

  it('history: bad paging is a 400 invalid_request naming the field', async () => {
    for (const query of [
      { limit: '0' },
      { limit: '51' },
      { limit: 'ten' },
      { cursor: 'not a cursor' },
      { page: '2' },
    ]) {
      const r = await alice.api('deviceHistory', { query });
      assert.equal(r.status, 400, JSON.stringify([query, r.body]));
      assert.equal(r.body.code, 'invalid_request', JSON.stringify(r.body));
    }
    const none = await api(a.url, 'deviceHistory');
    assert.equal(none.status, 401);
  });

  it('a receipt by number: the customer’s own; another customer’s is a 404; a malformed number a 400', async () => {
    const mine = await alice.api('deviceReceipt', { params: { receiptId } });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.amount, 2_500);
    assert.equal(mine.body.payee, 'Northwind Travel Ltd');
    assert.equal(mine.body.factor, 'pin');
    assert.equal(mine.body.requestId, ids.completed);

    const theirs = await bob.api('deviceReceipt', { params: { receiptId } });
    assert.equal(theirs.status, 404, JSON.stringify(theirs.body));
    assert.equal(theirs.body.code, 'not_found');
    assert.deepEqual((await bob.api('deviceReceipts')).body.receipts, []);

    const bad = await alice.api('deviceReceipt', { params: { receiptId: 'r-lowercase' } });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.equal(bad.body.code, 'invalid_request');
  });

  it('removing this phone: revoked, its session ended and its open request abandoned, audited; its credentials then answer 401', async () => {
    const before = await alice.api('deviceMe');
    assert.equal(before.status, 200);
    const r = await alice.api('revokeDevice');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.deviceId, alice.deviceId);
    assert.equal(r.body.endedSessions, 1);
    assert.equal(r.body.abandonedRequests, 1);

    assert.equal((await a.services.ctx.data.read.requests.get(ids.open!))?.state, 'abandoned');
    const audit = await a.sql<{ action: string; actor: string; reason: string | null; data: string | null }>`
      SELECT action, actor, reason, data FROM audit_log WHERE actor = ${`device:${alice.deviceId}`}
      AND action IN ('device.revoke', 'session.end', 'session.end.reason') ORDER BY seq`;
    assert.deepEqual(
      audit.slice(-3).map((x) => x.action),
      ['session.end', 'session.end.reason', 'device.revoke'],
    );
    assert.equal(JSON.parse(audit[audit.length - 1]!.data!).openRequests[0], ids.open);

    assert.equal((await alice.api('deviceMe')).status, 401, 'the token is revoked');
    const again = await alice.authenticate();
    assert.equal(again.status, 401, 'the key no longer authenticates');
    // Bob's phone is untouched.
    assert.equal((await bob.api('deviceMe')).status, 200);
  });

  it('a request asked for while the phone is being removed is never left open for an agent', async () => {
    // The request's unit and the removal's may overlap: either the request is refused, or
    // the removal finds it and abandons it. Never a customer in the queue on a removed phone.
    for (let round = 0; round < 8; round++) {
      const d = await device('c_bob_okafor_002');
      clock.advance(60_000);
      const [asked, removed] = await Promise.all([
        d.api('createRequest', { json: { optionId: 'lost-card' } }),
        new Promise((ok) => setTimeout(ok, round % 4)).then(() => d.api('revokeDevice')),
      ]);
      assert.equal(removed.status, 200, JSON.stringify(removed.body));
      assert.ok(asked.status === 200 || asked.status === 401, `round ${round}: ${asked.status}`);
      const open = await a.sql<{ id: string; state: string }>`
        SELECT id, state FROM requests WHERE device_id = ${d.deviceId}
        AND state IN ('waiting', 'offered', 'assigned')`;
      assert.deepEqual(
        open,
        [],
        `round ${round}: ${asked.status} ${JSON.stringify(asked.body).slice(0, 200)}`,
      );
    }
  });

  it('a request asked for while an admin deactivates the customer is never left open either', async () => {
    const customerId = 'c_bob_okafor_002';
    for (let round = 0; round < 8; round++) {
      const d = await device(customerId);
      clock.advance(60_000);
      const [asked, deactivated] = await Promise.all([
        d.api('createRequest', { json: { optionId: 'lost-card' } }),
        new Promise((ok) => setTimeout(ok, round % 4)).then(() =>
          api(a.url, 'deactivateCustomer', { params: { customerId }, headers: bearer(admin), json: {} }),
        ),
      ]);
      assert.equal(deactivated.status, 200, JSON.stringify(deactivated.body));
      assert.ok(asked.status === 200 || asked.status === 401, `round ${round}: ${asked.status}`);
      const open = await a.sql<{ id: string; state: string }>`
        SELECT id, state FROM requests WHERE customer_id = ${customerId}
        AND state IN ('waiting', 'offered', 'assigned')`;
      assert.deepEqual(open, [], `round ${round}: ${asked.status}`);
      const back = await api(a.url, 'reactivateCustomer', { params: { customerId }, headers: bearer(admin) });
      assert.equal(back.status, 200, JSON.stringify(back.body));
    }
  });
});
