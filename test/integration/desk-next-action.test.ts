/**
 * Issue 15, a desk around the next action: what the authority tells the console so that
 * it stays true through reloads and ownership moves.
 *
 * - heldSince: a request's view says when its current holder's handling began (accept,
 *   take-over, reassign), so the console's in-progress timer survives a reload and
 *   restarts only for a new holder.
 * - a break chosen during wrap-up is the next status: the agent stays in wrap-up (its time
 *   runs on) and the break starts when it ends; available takes it back.
 * - a colleague in a consult (an open warm transfer to them) is busy: offered nothing until
 *   it closes, shown busy on the board, not counted free.
 * - the accept window is a queue's own (pipeline configuration), else the authority's.
 * - "my stats": requests the agent completed since a start and the average handling time.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import type { Board } from '../../protocol/src/pipeline.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';

describe('issue 15: the desk around the next action (authority)', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let admin: string;
  let A: string;
  let B: string;
  let S: string;
  let bId: string;
  let aId: string;
  let sId: string;

  const as = <K extends RouteId>(token: string, name: K, opts?: ApiOptions<K>) =>
    apiWith(a.url, bearer(token), name, opts);
  const presence = async (token: string, state: 'available' | 'offline') => {
    const r = await as(token, 'setPresence', { json: { state } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const me = async (token: string) => (await as(token, 'agentMe')).body;
  const view = async (token: string, requestId: string) => {
    const r = await as(token, 'getRequest', { params: { requestId } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const at = (ms: number) => new Date(ms).toISOString();

  /** A new customer (PIN verified) asking for "Something else": the request id. */
  async function customer(): Promise<string> {
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const setPin = await d.api('setPin', { json: { pin: '112358' } });
    assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    return q.body.request.requestId;
  }

  /** `token` (available, alone) is offered a new customer's request and accepts it. */
  async function accepted(token: string): Promise<{ requestId: string; fence: number; heldSince: unknown }> {
    await presence(token, 'available');
    const requestId = await customer();
    const offer = (await me(token)).offer;
    assert.equal(offer?.requestId, requestId);
    const r = await as(token, 'acceptOffer', { params: { requestId }, json: { fence: offer!.fence } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return { requestId, fence: r.body.fence, heldSince: r.body.heldSince };
  }

  before(async () => {
    a = await startTestAuthority(
      { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 30, offerTimeoutSeconds: 60 },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const own = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    A = own.token;
    aId = own.staffId;
    const b = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    B = b.token;
    bId = b.staffId;
    const sup = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    S = sup.token;
    sId = sup.staffId;
    await presence(B, 'offline');
    await presence(S, 'offline');
  });
  after(async () => {
    await a?.dispose();
  });

  it('heldSince: the accept’s instant, kept on later reads; a take-over and a reassign start a new holding', async () => {
    await presence(A, 'offline');
    clock.advance(60_000);
    const acceptAt = clock.now();
    const r = await accepted(A);
    assert.equal(r.heldSince, at(acceptAt), 'the accept answers with when the holding began');
    clock.advance(90_000);
    const later = await view(A, r.requestId);
    assert.equal(later.heldSince, at(acceptAt), 'a reload 90 s later reads the same start');
    const waiting = await customer();
    assert.equal((await view(A, waiting)).heldSince, null, 'a waiting request is held by nobody');

    clock.advance(30_000);
    const takeAt = clock.now();
    const t = await as(S, 'takeOver', { params: { requestId: r.requestId }, json: {} });
    assert.equal(t.status, 200, JSON.stringify(t.body));
    assert.equal((await view(S, r.requestId)).heldSince, at(takeAt), 'the supervisor’s holding began now');

    clock.advance(30_000);
    await presence(B, 'available');
    const re = await as(S, 'reassign', { params: { requestId: r.requestId }, json: { staffId: bId } });
    assert.equal(re.status, 200, JSON.stringify(re.body));
    const offer = (await me(B)).offer!;
    assert.equal(offer.request.heldSince ?? null, null, 'offered: not held yet');
    clock.advance(5_000);
    const bAt = clock.now();
    const acc = await as(B, 'acceptOffer', {
      params: { requestId: r.requestId },
      json: { fence: offer.fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    assert.equal(acc.body.heldSince, at(bAt));
    await as(B, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: acc.body.fence } });
    await presence(B, 'offline');
    await presence(A, 'available');
    const o = (await me(A)).offer!;
    await as(A, 'acceptOffer', { params: { requestId: waiting }, json: { fence: o.fence } });
    await as(A, 'completeRequest', { params: { requestId: waiting }, json: { fence: o.fence } });
    await presence(A, 'offline');
  });

  it('a break chosen in wrap-up waits for the wrap-up to end, then starts (no offer meanwhile or after)', async () => {
    await presence(A, 'offline');
    const r = await accepted(A);
    clock.advance(10_000);
    const done = await as(A, 'completeRequest', {
      params: { requestId: r.requestId },
      json: { fence: r.fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const wrap = await me(A);
    assert.equal(wrap.presence, 'wrap_up');
    clock.advance(5_000);
    const chose = await as(A, 'setPresence', { json: { state: 'break', reasonCode: 'lunch' } });
    assert.equal(chose.status, 200, JSON.stringify(chose.body));
    assert.equal(chose.body.presence, 'wrap_up', 'still in wrap-up');
    assert.equal(chose.body.since, wrap.since, 'the wrap-up goes on, not restarted');
    assert.deepEqual(chose.body.nextPresence, { state: 'break', reasonCode: 'lunch' });
    assert.equal(chose.body.reasonCode, null);
    clock.advance(26_000);
    await a.services.pipeline.tick();
    const after = await me(A);
    assert.equal(after.presence, 'break', 'the wrap-up ended: the break starts');
    assert.equal(after.reasonCode, 'lunch');
    assert.equal(after.nextPresence ?? null, null);
    assert.equal(after.since, at(clock.now()), 'the break runs from the end of the wrap-up');
    const waiting = await customer();
    assert.equal((await me(A)).offer, null, 'on the break: not offered');
    // Clean up: A takes the waiting customer.
    await presence(A, 'available');
    const o = (await me(A)).offer!;
    assert.equal(o.requestId, waiting);
    await as(A, 'acceptOffer', { params: { requestId: waiting }, json: { fence: o.fence } });
    await as(A, 'completeRequest', { params: { requestId: waiting }, json: { fence: o.fence } });
    await presence(A, 'offline');
  });

  it('a wrap-up whose end several passes find at once (nodes, timers): the chosen break starts, not available', async () => {
    // Each pass reads the ended wrap-ups in its unit; on PostgreSQL one that read before
    // another committed must not end the wrap-up again and make the agent available.
    for (let round = 0; round < 8; round++) {
      await presence(A, 'offline');
      const r = await accepted(A);
      await as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } });
      const chose = await as(A, 'setPresence', { json: { state: 'break', reasonCode: 'lunch' } });
      assert.equal(chose.body.presence, 'wrap_up', JSON.stringify(chose.body));
      clock.advance(31_000);
      // passes that start a little apart: one reads the ended wrap-ups while another commits
      await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          new Promise((ok) => setTimeout(ok, i)).then(() => a.services.pipeline.tick()),
        ),
      );
      const after = await me(A);
      assert.equal(after.presence, 'break', `round ${round}: the break starts`);
      assert.equal(after.reasonCode, 'lunch');
    }
    await presence(A, 'offline');
  });

  it('offline chosen while the request completes: offline whichever commits first, never a wrap-up', async () => {
    // A wrap-up would end in "available": offered work the agent said no to.
    for (let round = 0; round < 8; round++) {
      const r = await accepted(A);
      const [done, off] = await Promise.all([
        as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } }),
        new Promise((ok) => setTimeout(ok, round % 4)).then(() =>
          as(A, 'setPresence', { json: { state: 'offline' } }),
        ),
      ]);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal((await me(A)).presence, 'offline', `round ${round}`);
    }
  });

  it('offline chosen while a blind transfer hands the request on: offline, never available', async () => {
    for (let round = 0; round < 8; round++) {
      await presence(B, 'offline');
      const r = await accepted(A);
      await presence(B, 'available');
      const [moved, off] = await Promise.all([
        as(A, 'transfer', {
          params: { requestId: r.requestId },
          json: { fence: r.fence, mode: 'blind', target: { kind: 'agent', staffId: bId } },
        }),
        new Promise((ok) => setTimeout(ok, round % 4)).then(() =>
          as(A, 'setPresence', { json: { state: 'offline' } }),
        ),
      ]);
      assert.equal(moved.status, 201, JSON.stringify(moved.body));
      assert.equal(off.status, 200, JSON.stringify(off.body));
      assert.equal((await me(A)).presence, 'offline', `round ${round}`);
      const o = (await me(B)).offer!;
      assert.equal(o.requestId, r.requestId);
      await as(B, 'acceptOffer', { params: { requestId: r.requestId }, json: { fence: o.fence } });
      await as(B, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: o.fence } });
    }
    await presence(B, 'offline');
  });

  it('available in wrap-up takes the next status back: the wrap-up ends as usual, available', async () => {
    await presence(A, 'offline');
    const r = await accepted(A);
    await as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } });
    assert.equal(
      (await as(A, 'setPresence', { json: { state: 'break', reasonCode: 'coffee' } })).status,
      200,
    );
    const back = await as(A, 'setPresence', { json: { state: 'available' } });
    assert.equal(back.status, 200, JSON.stringify(back.body));
    assert.equal(back.body.presence, 'wrap_up');
    assert.equal(back.body.nextPresence ?? null, null);
    clock.advance(31_000);
    await a.services.pipeline.tick();
    assert.equal((await me(A)).presence, 'available');
    await presence(A, 'offline');
    // Offline is not deferred: signing off applies at once.
    const r2 = await accepted(A);
    await as(A, 'completeRequest', { params: { requestId: r2.requestId }, json: { fence: r2.fence } });
    assert.equal((await as(A, 'setPresence', { json: { state: 'offline' } })).body.presence, 'offline');
  });

  it('a break a supervisor sets during wrap-up names the supervisor, in wrap-up and when the break starts', async () => {
    await presence(A, 'offline');
    const r = await accepted(A);
    await as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } });
    const set = await as(S, 'setAgentPresence', {
      params: { staffId: aId },
      json: { state: 'break', reasonCode: 'training' },
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.presence, 'wrap_up');
    assert.deepEqual(set.body.nextPresence, { state: 'break', reasonCode: 'training' });
    assert.equal(set.body.setBy?.staffId, sId, 'the next status is the supervisor’s');
    clock.advance(31_000);
    await a.services.pipeline.tick();
    const after = await me(A);
    assert.equal(after.presence, 'break');
    assert.equal(after.reasonCode, 'training');
    assert.deepEqual(after.setBy, { staffId: sId, displayName: 'Morgan Lee' }, 'the break names who set it');
    // The agent's own choice clears the name.
    assert.equal((await as(A, 'setPresence', { json: { state: 'offline' } })).body.setBy, null);
  });

  it('a colleague in a consult is offered no customer, is busy on the board, and free again when it closes', async () => {
    await presence(A, 'offline');
    const r = await accepted(A);
    await presence(B, 'available');
    const warm = await as(A, 'transfer', {
      params: { requestId: r.requestId },
      json: { fence: r.fence, mode: 'warm', target: { kind: 'agent', staffId: bId } },
    });
    assert.equal(warm.status, 201, JSON.stringify(warm.body));
    const next = await customer();
    const b = await me(B);
    assert.equal(b.offer, null, 'B is in the consult: the next customer waits');
    assert.equal(b.inConsult, true);
    const board: Board = (await as(S, 'board')).body;
    assert.equal(board.agents.find((x) => x.staffId === bId)?.inConsult, true, 'the board says so');
    const queueId = (await view(S, next)).queueId;
    const other = board.queues.find((q) => q.queueId === queueId)!;
    assert.equal(other.agentsAvailable, 0, 'not counted free');
    const cancel = await as(A, 'cancelTransfer', {
      params: { transferId: warm.body.transferId },
      json: { fence: r.fence },
    });
    assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
    const free = await me(B);
    assert.equal(free.inConsult, false);
    assert.equal(free.offer?.requestId, next, 'the consult closed: B is offered the waiting customer');
    await as(B, 'acceptOffer', { params: { requestId: next }, json: { fence: free.offer!.fence } });
    await as(B, 'completeRequest', { params: { requestId: next }, json: { fence: free.offer!.fence } });
    await as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } });
    await presence(A, 'offline');
    await presence(B, 'offline');
  });

  it('the accept window is the queue’s own when the configuration sets one, else the authority’s', async () => {
    await presence(A, 'offline');
    await presence(B, 'offline');
    const offerAfter = async (): Promise<{ requestId: string; seconds: number; fence: number }> => {
      const t0 = clock.now();
      await presence(A, 'available');
      const requestId = await customer();
      const offer = (await me(A)).offer!;
      assert.equal(offer.requestId, requestId);
      return { requestId, fence: offer.fence, seconds: (Date.parse(offer.expiresAt) - t0) / 1000 };
    };
    const first = await offerAfter();
    assert.equal(first.seconds, 60, 'no queue setting: the authority’s offerTimeoutSeconds');
    await as(A, 'rejectOffer', { params: { requestId: first.requestId }, json: { fence: first.fence } });
    await presence(A, 'offline');
    const cfg = await as(admin, 'getPipelineConfig');
    const queueId = (await view(A, first.requestId)).queueId;
    const queues = cfg.body.queues.map((q: { id: string }) =>
      q.id === queueId ? { ...q, offerTimeoutSeconds: 25 } : q,
    );
    const put = await as(admin, 'putPipelineConfig', { json: { ...cfg.body, queues } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(
      put.body.queues.find((q: { id: string; offerTimeoutSeconds?: number }) => q.id === queueId)
        ?.offerTimeoutSeconds,
      25,
    );
    // The waiting request is offered again, now with the queue's window.
    await presence(A, 'available');
    const again = (await me(A)).offer!;
    assert.equal(again.requestId, first.requestId);
    assert.equal((Date.parse(again.expiresAt) - clock.now()) / 1000, 25);
    clock.advance(26_000);
    await a.services.pipeline.tick();
    const lapsed = await me(A);
    assert.equal(lapsed.presence, 'missed', 'the offer lapsed after the queue’s 25 s');
    const bad = await as(admin, 'putPipelineConfig', {
      json: { ...cfg.body, queues: cfg.body.queues.map((q: object) => ({ ...q, offerTimeoutSeconds: 1 })) },
    });
    assert.equal(bad.status, 400, 'a window under 3 s is refused');
    await as(admin, 'putPipelineConfig', { json: cfg.body });
    await presence(A, 'available');
    const last = (await me(A)).offer!;
    await as(A, 'acceptOffer', { params: { requestId: last.requestId }, json: { fence: last.fence } });
    await as(A, 'completeRequest', { params: { requestId: last.requestId }, json: { fence: last.fence } });
    await presence(A, 'offline');
  });

  it('my stats: completed holdings since the start given, their average length; only the caller’s own', async () => {
    await presence(A, 'offline');
    await presence(B, 'offline');
    clock.advance(1_000); // after the earlier tests' completions
    const since = at(clock.now());
    const none = await as(A, 'agentStats', { query: { since } });
    assert.equal(none.status, 200, JSON.stringify(none.body));
    assert.deepEqual(none.body, { since, handled: 0, averageHandleSeconds: null });
    const lengths = [60, 120];
    for (const s of lengths) {
      const r = await accepted(A);
      clock.advance(s * 1000);
      assert.equal(
        (await as(A, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: r.fence } }))
          .status,
        200,
      );
      await presence(A, 'offline');
    }
    // Taken over by the supervisor: not A's completion.
    const r = await accepted(A);
    clock.advance(30_000);
    const t = await as(S, 'takeOver', { params: { requestId: r.requestId }, json: {} });
    clock.advance(10_000);
    await as(S, 'completeRequest', { params: { requestId: r.requestId }, json: { fence: t.body.fence } });
    await presence(A, 'offline');
    await presence(S, 'offline');
    const mine = await as(A, 'agentStats', { query: { since } });
    assert.deepEqual(mine.body, { since, handled: 2, averageHandleSeconds: 90 });
    const sup = await as(S, 'agentStats', { query: { since } });
    assert.deepEqual(sup.body, { since, handled: 1, averageHandleSeconds: 10 });
    const later = await as(A, 'agentStats', { query: { since: at(clock.now()) } });
    assert.equal(later.body.handled, 0, 'counted from the start given');
    const future = await as(A, 'agentStats', { query: { since: at(clock.now() + 3_600_000) } });
    assert.equal(future.status, 400);
    const bad = await as(A, 'agentStats', { query: { since: 'yesterday' } as never });
    assert.equal(bad.status, 400);
  });
});
