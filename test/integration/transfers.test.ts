/**
 * docs/reliability.md row 10: a transfer keeps the authentication, not the old agent's rights.
 *
 * For each way ownership moves (blind to an agent, warm to an agent, blind to a queue,
 * blind to a supervisor, supervisor take-over, supervisor reassign), against a real
 * authority on loopback with a simulated device that verifies every command:
 * - from the moment ownership moves, agent A's commands are sent in a loop for at least
 *   1 s (VD_TRANSFER_LOOP_MS, default 1000): they succeed 0 times; A's call ticket,
 *   transfer and wrap-up for the old fence are refused too, and A's open command is cancelled;
 * - the new holder's commands succeed and the device executes them (new fence, seq restarts);
 * - the authentication is the same record with the same factors, times and level; no
 *   verify command and no new factor are asked of the device;
 * - the service session's absolute expiry is unchanged;
 * - the chain of custody names every holder with how and when;
 * - the device is told who it is with now; the new holder's call ticket names the same session.
 *
 * Then the same across three authority nodes on one PostgreSQL database (issue 12):
 * A on node 1, B on node 2, the supervisor and the customer's device on node 3.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { IncomingCallGuard } from '../../customer/sdk/call-guard.ts';
import { type DeviceCommand } from '../../protocol/src/index.ts';
import { FakeClock, manyNodesOnly, startNodes, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const LOOP_MS = Math.max(1000, Number(process.env.VD_TRANSFER_LOOP_MS ?? 1000));

interface Staff {
  name: string;
  /** The node this staff member talks to. */
  url: string;
  token: string;
  staffId: string;
  ws: FrameLog;
  socket: TestSocket;
}

interface Customer {
  d: TestDevice;
  /** The customer SDK's own guard, unchanged: it decides whether a call may ring. */
  guard: IncomingCallGuard;
  ctl: DeviceControl;
  ws: FrameLog;
  socket: TestSocket;
  requestId: string;
  sessionId: string;
}

for (const nodes of [1, 3] as const)
  describe(
    nodes === 1
      ? 'row 10: transfers keep the authentication, not the old agent’s rights'
      : 'row 10 across three nodes: A, B and the supervisor with the device each on their own node',
    { skip: nodes > 1 && manyNodesOnly() },
    () => {
      let a: TestAuthority;
      /** Every node (a is the first): staff member i talks to node i, the device to the last. */
      const n: TestAuthority[] = [];
      const urlOf = (i: number) => n[Math.min(i, n.length - 1)]!.url;
      const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
      let admin: string;
      let A: Staff;
      let B: Staff;
      let S: Staff;
      const seqs = new Map<string, number>();
      const summary: string[] = [];

      const staffApi = <K extends RouteId>(who: Staff, name: K, opts?: ApiOptions<K>) =>
        apiWith(who.url, bearer(who.token), name, opts);
      const presence = (who: Staff, state: 'available' | 'offline') =>
        staffApi(who, 'setPresence', { json: { state } });
      const nextSeq = (requestId: string, fence: number) => {
        const k = `${requestId}/${fence}`;
        const n = (seqs.get(k) ?? 0) + 1;
        seqs.set(k, n);
        return n;
      };
      const command = (who: Staff, c: Customer, fence: number, cmd: DeviceCommand) =>
        staffApi(who, 'sendCommand', {
          params: { requestId: c.requestId },
          json: {
            fence,
            seq: nextSeq(c.requestId, fence),
            command: cmd,
          },
        });
      const NAV: DeviceCommand = { kind: 'navigate', payload: { screen: 'account' } };

      async function login(username: string, password: string, node: number): Promise<Staff> {
        const url = urlOf(node);
        const s = await staffLogin(url, username, password);
        const socket = await TestSocket.open(url);
        socket.send({ type: 'hello', auth: { kind: 'staff', accessToken: s.token } });
        assert.equal((await socket.next()).type, 'welcome');
        const me = await api(url, 'staffMe', { headers: bearer(s.token) });
        return {
          name: me.body.displayName,
          url,
          token: s.token,
          staffId: s.staffId,
          ws: new FrameLog(socket),
          socket,
        };
      }

      /** Alice on a fresh device, PIN verified (level 2), asking for "Something else" (general queue), followed on her socket. */
      async function customer(): Promise<Customer> {
        const code = await api(a.url, 'issueEnrolmentCode', {
          params: { customerId: 'c_alice_martin_01' },
          headers: bearer(admin),
        });
        const d = await new TestDevice(urlOf(2), () => clock.now()).enrolAndAuthenticate(code.body.code);
        // Alice's PIN is set once (by the first device); later devices verify it.
        const setPin = await d.api('setPin', { json: { pin: '112358' } });
        assert.ok(setPin.status === 200 || setPin.body.code === 'conflict', JSON.stringify(setPin.body));
        assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
        const q = await d.api('createRequest', { json: { optionId: 'other' } });
        assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
        const ctl = new DeviceControl(d).follow(q.body.request);
        await ctl.guard.loadKeys();
        const socket = await TestSocket.open(urlOf(2));
        socket.send(await d.wsHello(q.body.request.sessionId));
        assert.equal((await socket.next()).type, 'welcome');
        const jwks = (await api(urlOf(2), 'jwks')).body as JSONWebKeySet;
        const guard = new IncomingCallGuard({
          keys: createLocalJWKSet(jwks),
          now: () => clock.now(),
          device: {
            deviceId: () => d.deviceId,
            isLiveSession: (sid) => sid === q.body.request.sessionId,
            proveCall: async (ticket) => {
              const proof = await d.ticketProof(ticket, Math.floor(clock.now() / 1000));
              const r = await d.api('callProof', { json: { ticket, proof } });
              assert.equal(r.status, 201, JSON.stringify(r.body));
              return { proof, result: r.body };
            },
          },
        });
        return {
          d,
          guard,
          ctl,
          ws: new FrameLog(socket),
          socket,
          requestId: q.body.request.requestId,
          sessionId: q.body.request.sessionId,
        };
      }

      /** Accept the offer of `c` that `who` was just given (from the offer frame): returns the fence. */
      async function acceptOffer(who: Staff, c: Customer): Promise<number> {
        const offer = await who.ws.take((f) => f.type === 'offer' && f.offer.requestId === c.requestId);
        const r = await staffApi(who, 'acceptOffer', {
          params: { requestId: c.requestId },
          json: {
            fence: offer.offer.fence,
          },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return offer.offer.fence;
      }

      /** A holds the request of a new customer (B and S offline so A gets the offer) and commands its device once. */
      async function heldByA(): Promise<{ c: Customer; fenceA: number; openCommand: string }> {
        await presence(B, 'offline');
        await presence(S, 'offline');
        await presence(A, 'available');
        const c = await customer();
        const fenceA = await acceptOffer(A, c);
        const first = await command(A, c, fenceA, NAV);
        assert.equal(first.status, 201, JSON.stringify(first.body));
        const f = await c.ws.take((x) => x.type === 'command' && x.commandId === first.body.commandId);
        assert.equal((await c.ctl.guard.check(f.jws)).verdict, 'execute');
        // A called the device: its ticket rings.
        const ticketA = await staffApi(A, 'callTicket', {
          params: { requestId: c.requestId },
          json: { fence: fenceA },
        });
        assert.equal(ticketA.status, 201, JSON.stringify(ticketA.body));
        assert.equal((await c.guard.screen(ticketA.body.ticket)).verdict, 'ring');
        // One more left open (not answered) when ownership moves.
        const open = await command(A, c, fenceA, {
          kind: 'text',
          payload: { input: 'free', prompt: 'Anything else?' },
        });
        assert.equal(open.status, 201);
        return { c, fenceA, openCommand: open.body.commandId };
      }

      async function snapshot(c: Customer, who: Staff) {
        const panel = await staffApi(who, 'customerPanel', { params: { requestId: c.requestId } });
        assert.equal(panel.status, 200, JSON.stringify(panel.body));
        const session = await staffApi(who, 'getSession', { params: { sessionId: c.sessionId } });
        assert.equal(session.status, 200, JSON.stringify(session.body));
        return { panel: panel.body, session: session.body };
      }

      /** A's commands in a loop for LOOP_MS from the moment ownership moved: count the successes. */
      async function hammer(
        c: Customer,
        fenceA: number,
      ): Promise<{ sent: number; ok: number; codes: Map<string, number> }> {
        const t0 = performance.now();
        let sent = 0;
        let ok = 0;
        const codes = new Map<string, number>();
        while (performance.now() - t0 < LOOP_MS) {
          const r = await command(A, c, fenceA, NAV);
          sent++;
          if (r.status < 300) ok++;
          const k = `${r.status} ${r.body?.code}`;
          codes.set(k, (codes.get(k) ?? 0) + 1);
        }
        return { sent, ok, codes };
      }

      /** Everything row 10 promises, once ownership has moved from A (fenceA) to `holder` (newFence). */
      async function verifyMoved(
        label: string,
        c: Customer,
        fenceA: number,
        openCommand: string,
        before: Awaited<ReturnType<typeof snapshot>>,
        holder: Staff,
        newFence: number,
        expectedCustody: [string, string, string | null][],
        loop: { sent: number; ok: number; codes: Map<string, number> },
      ) {
        assert.equal(
          loop.ok,
          0,
          `${label}: A's commands after the move must all fail: ${[...loop.codes].join('; ')}`,
        );
        assert.ok(loop.sent > 0);
        summary.push(
          `${label}: A's commands in ${LOOP_MS} ms after the move: ${loop.sent} sent, ${loop.ok} accepted (${[
            ...loop.codes,
          ]
            .map(([k, n]) => `${k} x${n}`)
            .join(', ')})`,
        );
        assert.ok(newFence > fenceA, 'ownership moved with a new fencing number');
        // A's other rights ended too.
        const ticketA = await staffApi(A, 'callTicket', {
          params: { requestId: c.requestId },
          json: { fence: fenceA },
        });
        assert.equal(ticketA.status, 409, JSON.stringify(ticketA.body));
        const transferA = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'blind',
            target: { kind: 'queue', queueId: 'general' },
          },
        });
        assert.equal(transferA.status, 403);
        assert.equal(transferA.body.code, 'not_assigned');
        const wrapA = await staffApi(A, 'wrapUp', {
          params: { requestId: c.requestId },
          json: {
            idempotencyKey: `wrap-${c.requestId}`.slice(0, 60),
            fence: fenceA,
            disposition: ['resolved', 'information-given'],
            notes: '',
          },
        });
        assert.equal(wrapA.status, 409, JSON.stringify(wrapA.body));
        assert.equal(wrapA.body.code, 'stale_fence');
        // A's open command was withdrawn from the device; answering it now is refused.
        const gone = await c.ws.take((f) => f.type === 'command.cancelled' && f.commandId === openCommand);
        assert.equal(gone.reason, 'transferred');
        // Durable: the cancellation is audited (the outbox's request.moved, consumed in a unit of its own).
        const cancelled = await a.sql<{ reason: string }>`
      SELECT reason FROM audit_log WHERE action = ${'command.cancel'} AND data LIKE ${`%${openCommand}%`}`;
        assert.deepEqual(
          cancelled.map((x) => x.reason),
          ['transferred'],
        );
        const late = await c.ctl.answer(openCommand, {
          outcome: 'done',
          result: { kind: 'text', value: 'late' },
        });
        assert.equal(late.body.code, 'command_final');

        // The new holder's commands work and the device executes them (new fence, seq from 1).
        const cmd = await command(holder, c, newFence, NAV);
        assert.equal(cmd.status, 201, JSON.stringify(cmd.body));
        const f = await c.ws.take((x) => x.type === 'command' && x.commandId === cmd.body.commandId);
        const v = await c.ctl.guard.check(f.jws);
        assert.equal(v.verdict, 'execute', JSON.stringify(v));
        assert.equal(v.verdict === 'execute' && v.claims.agt, holder.staffId);
        assert.equal(
          (
            await c.ctl.answer(cmd.body.commandId, {
              outcome: 'done',
              result: { kind: 'navigate', screen: 'account' },
            })
          ).status,
          200,
        );

        // Same authentication, same factors with their original times, same level; same session expiry.
        const now = await snapshot(c, holder);
        assert.equal(now.panel.verification.authenticationId, before.panel.verification.authenticationId);
        assert.deepEqual(now.panel.verification.factors, before.panel.verification.factors);
        assert.equal(now.panel.verification.level, before.panel.verification.level);
        assert.equal(now.panel.verification.authenticatedAt, before.panel.verification.authenticatedAt);
        assert.equal(now.panel.verification.state, 'verified');
        assert.equal(now.session.absoluteExpiresAt, before.session.absoluteExpiresAt);
        assert.equal(now.session.state, 'open');
        // Nothing new was asked of the device: no verify command, no new factor.
        const [verifies] = await a.sql<{ n: number }>`
      SELECT count(*) AS n FROM device_commands WHERE request_id = ${c.requestId} AND kind = 'verify'`;
        assert.equal(verifies!.n, 0);

        // Chain of custody.
        assert.deepEqual(
          now.panel.custody.map((e: any) => [e.displayName, e.how, e.endReason]),
          expectedCustody,
        );
        const entries = now.panel.custody;
        for (let i = 1; i < entries.length; i++)
          assert.ok(entries[i].from >= entries[i - 1].until, 'custody intervals never overlap');
        assert.equal(entries.at(-1).fence, newFence);

        // The device knows who it is with now.
        const upd = await c.ws.take(
          (x) => x.type === 'request.update' && x.request.agentId === holder.staffId,
        );
        assert.equal(upd.request.agentName, holder.name);
        // Voice follows: the new holder's call ticket names the same session and device.
        const ticket = await staffApi(holder, 'callTicket', {
          params: { requestId: c.requestId },
          json: {
            fence: newFence,
          },
        });
        assert.equal(ticket.status, 201, JSON.stringify(ticket.body));
        assert.equal(ticket.body.claims.sid, c.sessionId);
        assert.equal(ticket.body.claims.dev, c.d.deviceId);
        assert.equal(ticket.body.claims.agt, holder.staffId);
        // The SDK's IncomingCallGuard, as it is, lets the new holder's call ring (new ticket, same
        // session, no prompt) and binds the answer to the device; a replay of that ticket is blocked.
        const screened = await c.guard.screen(ticket.body.ticket);
        assert.equal(screened.verdict, 'ring', JSON.stringify(screened));
        assert.equal(screened.verdict === 'ring' && screened.call.agentName, holder.name);
        if (screened.verdict === 'ring') await c.guard.answer(screened.call);
        const verified = await holder.ws.take(
          (f) => f.type === 'call.verified' && f.requestId === c.requestId,
        );
        assert.ok(verified.at);
        const replayed = await c.guard.screen(ticket.body.ticket);
        assert.equal(replayed.verdict === 'blocked' && replayed.blocked.reason, 'replayed');

        // Finish: the holder completes; the wrap-up of the new fence is theirs.
        const done = await staffApi(holder, 'completeRequest', {
          params: { requestId: c.requestId },
          json: { fence: newFence },
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
        c.socket.close();
      }

      before(async () => {
        const config = {
          accessTokenSeconds: 3600,
          agentTimeoutSeconds: 3600,
          wrapUpSeconds: 0,
          offerTimeoutSeconds: 60,
        };
        n.push(...(await startNodes(nodes, config, { clock })));
        a = n[0]!;
        admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
        A = await login('agent1', 'demo-agent-1', 0);
        B = await login('agent2', 'demo-agent-2', 1);
        S = await login('supervisor', 'demo-supervisor', 2);
      });
      after(async () => {
        for (const s of [A, B, S]) s?.socket.close();
        console.log(summary.map((l) => (nodes > 1 ? `${nodes} nodes: ${l}` : l)).join('\n'));
        for (const node of n.reverse()) await node.dispose();
      });

      it('blind to an agent: offered to B with a new fence; A is refused from that instant', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        await presence(B, 'available');
        const t = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'blind',
            target: { kind: 'agent', staffId: B.staffId },
            note: 'Card question, customer verified with PIN',
          },
        });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        const loop = await hammer(c, fenceA);
        assert.equal(t.body.state, 'completed');
        assert.equal(t.body.toFence, fenceA + 1);
        const told = await B.ws.take(
          (f) => f.type === 'transfer.update' && f.transfer.transferId === t.body.transferId,
        );
        assert.equal(told.transfer.from.displayName, A.name);
        const newFence = await acceptOffer(B, c);
        assert.equal(newFence, t.body.toFence);
        await verifyMoved(
          'blind to agent',
          c,
          fenceA,
          openCommand,
          before,
          B,
          newFence,
          [
            [A.name, 'accepted', 'transferred'],
            [B.name, 'transfer_blind', null],
          ],
          loop,
        );
      });

      it('warm to an agent: A keeps control until B accepts; then ownership moves with a new fence', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        await presence(B, 'available');
        const t = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'warm',
            target: { kind: 'agent', staffId: B.staffId },
          },
        });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        assert.equal(t.body.state, 'offered');
        const consult = await B.ws.take(
          (f) => f.type === 'transfer.update' && f.transfer.state === 'offered',
        );
        assert.equal(consult.transfer.from.staffId, A.staffId);
        const listed = await staffApi(B, 'myTransfers');
        assert.deepEqual(
          listed.body.incoming.map((x: any) => x.transferId),
          [t.body.transferId],
        );
        // Until B accepts, A still holds the request: its commands work.
        const stillMine = await command(A, c, fenceA, NAV);
        assert.equal(stillMine.status, 201, JSON.stringify(stillMine.body));
        // A second consult to B is refused while one is open; A may cancel and ask again.
        const cancel = await staffApi(A, 'cancelTransfer', {
          params: { transferId: t.body.transferId },
          json: { fence: fenceA },
        });
        assert.equal(cancel.body.state, 'cancelled');
        const cancelledAccept = await staffApi(B, 'acceptTransfer', {
          params: { transferId: t.body.transferId },
        });
        assert.equal(cancelledAccept.status, 409);
        assert.equal(cancelledAccept.body.code, 'transfer_closed');
        const t2 = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'warm',
            target: { kind: 'agent', staffId: B.staffId },
          },
        });
        assert.equal(t2.status, 201, JSON.stringify(t2.body));
        const accepted = await staffApi(B, 'acceptTransfer', { params: { transferId: t2.body.transferId } });
        assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
        const loop = await hammer(c, fenceA);
        assert.equal(accepted.body.state, 'accepted');
        const newFence = accepted.body.toFence;
        assert.equal(accepted.body.request.fence, newFence);
        const toA = await A.ws.take((f) => f.type === 'transfer.update' && f.transfer.state === 'accepted');
        assert.equal(toA.transfer.transferId, t2.body.transferId);
        await verifyMoved(
          'warm to agent',
          c,
          fenceA,
          openCommand,
          before,
          B,
          newFence,
          [
            [A.name, 'accepted', 'transferred'],
            [B.name, 'transfer_warm', null],
          ],
          loop,
        );
      });

      it('a warm consult closes by itself when the request moves on first (A completes it)', async () => {
        const { c, fenceA } = await heldByA();
        await presence(B, 'available');
        const t = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'warm',
            target: { kind: 'agent', staffId: B.staffId },
          },
        });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        await B.ws.take((f) => f.type === 'transfer.update' && f.transfer.state === 'offered');
        const done = await staffApi(A, 'completeRequest', {
          params: { requestId: c.requestId },
          json: { fence: fenceA },
        });
        assert.equal(done.status, 200, JSON.stringify(done.body));
        const closed = await B.ws.take(
          (f) =>
            f.type === 'transfer.update' &&
            f.transfer.transferId === t.body.transferId &&
            f.transfer.state !== 'offered',
        );
        assert.equal(closed.transfer.state, 'cancelled');
        assert.deepEqual((await staffApi(B, 'myTransfers')).body.incoming, []);
        const late = await staffApi(B, 'acceptTransfer', { params: { transferId: t.body.transferId } });
        assert.equal(late.status, 409);
        // The consult's end has its audit row too (every transfer change is audited).
        const voided = await a.sql<{ actor: string; data: string }>`
      SELECT actor, data FROM audit_log
      WHERE subject = ${`request:${c.requestId}`} AND action = 'transfer.warm.void' ORDER BY seq`;
        assert.deepEqual(
          voided.map((v) => [v.actor, JSON.parse(v.data).transferId]),
          [['system', t.body.transferId]],
        );
      });

      it('blind to a queue: back to waiting with its original enqueue time; the next agent of that queue gets it', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        const enqueuedAt = before.panel.request.enqueuedAt;
        await presence(B, 'available');
        const t = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'blind',
            target: { kind: 'queue', queueId: 'business' },
          },
        });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        const loop = await hammer(c, fenceA);
        assert.equal(t.body.target.queueId, 'business');
        const warmToQueue = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'warm',
            target: { kind: 'queue', queueId: 'business' },
          },
        });
        assert.equal(warmToQueue.status, 403, 'A no longer holds it at all');
        const newFence = await acceptOffer(B, c);
        const r = await staffApi(B, 'getRequest', { params: { requestId: c.requestId } });
        assert.equal(r.body.queueId, 'business');
        assert.equal(r.body.enqueuedAt, enqueuedAt);
        await verifyMoved(
          'blind to queue',
          c,
          fenceA,
          openCommand,
          before,
          B,
          newFence,
          [
            [A.name, 'accepted', 'transferred'],
            [B.name, 'accepted', null],
          ],
          loop,
        );
      });

      it('blind to a supervisor: offered to the supervisor, who accepts', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        const notSupervisor = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'blind',
            target: { kind: 'supervisor', staffId: B.staffId },
          },
        });
        assert.equal(notSupervisor.status, 400);
        const t = await staffApi(A, 'transfer', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA,
            mode: 'blind',
            target: { kind: 'supervisor', staffId: S.staffId },
          },
        });
        assert.equal(t.status, 201, JSON.stringify(t.body));
        const loop = await hammer(c, fenceA);
        const newFence = await acceptOffer(S, c);
        await verifyMoved(
          'blind to supervisor',
          c,
          fenceA,
          openCommand,
          before,
          S,
          newFence,
          [
            [A.name, 'accepted', 'transferred'],
            [S.name, 'transfer_blind', null],
          ],
          loop,
        );
      });

      it('supervisor take-over: the supervisor owns it at once; agents cannot take over', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        const byAgent = await staffApi(B, 'takeOver', { params: { requestId: c.requestId }, json: {} });
        assert.equal(byAgent.status, 403);
        const stale = await staffApi(S, 'takeOver', {
          params: { requestId: c.requestId },
          json: {
            fence: fenceA - 1,
          },
        });
        assert.equal(stale.status, 409);
        assert.equal(stale.body.code, 'stale_fence');
        const t = await staffApi(S, 'takeOver', {
          params: { requestId: c.requestId },
          json: { fence: fenceA },
        });
        assert.equal(t.status, 200, JSON.stringify(t.body));
        const loop = await hammer(c, fenceA);
        assert.equal(t.body.agentId, S.staffId);
        assert.equal(t.body.state, 'assigned');
        const agentA = await staffApi(A, 'agentMe');
        assert.equal(agentA.body.currentRequestId, null);
        assert.equal(agentA.body.presence, 'available');
        await verifyMoved(
          'supervisor take-over',
          c,
          fenceA,
          openCommand,
          before,
          S,
          t.body.fence,
          [
            [A.name, 'accepted', 'taken_over'],
            [S.name, 'taken_over', null],
          ],
          loop,
        );
      });

      it('supervisor reassign: offered to the named agent with a new fence', async () => {
        const { c, fenceA, openCommand } = await heldByA();
        const before = await snapshot(c, A);
        await presence(B, 'available');
        const byAgent = await staffApi(A, 'reassign', {
          params: { requestId: c.requestId },
          json: {
            staffId: B.staffId,
          },
        });
        assert.equal(byAgent.status, 403);
        const t = await staffApi(S, 'reassign', {
          params: { requestId: c.requestId },
          json: { staffId: B.staffId },
        });
        assert.equal(t.status, 200, JSON.stringify(t.body));
        const loop = await hammer(c, fenceA);
        assert.equal(t.body.kind, 'reassign');
        assert.equal(t.body.by.staffId, S.staffId);
        const newFence = await acceptOffer(B, c);
        await verifyMoved(
          'supervisor reassign',
          c,
          fenceA,
          openCommand,
          before,
          B,
          newFence,
          [
            [A.name, 'accepted', 'reassigned'],
            [B.name, 'reassigned', null],
          ],
          loop,
        );
      });

      it('the board: per-queue waiting, longest and estimated wait, share answered within target; per-agent state, time in state, session', async () => {
        await presence(A, 'offline');
        await presence(B, 'offline');
        const c = await customer();
        clock.advance(7_000);
        const board = await staffApi(S, 'board');
        assert.equal(board.status, 200);
        const general = board.body.queues.find((q: any) => q.queueId === 'general');
        assert.equal(general.waiting, 1);
        assert.equal(general.longestWaitSeconds, 7);
        assert.equal(general.targetAnswerSeconds, 120);
        assert.ok(general.answeredWithinTarget > 0 && general.answeredWithinTarget <= 1);
        const cards = board.body.queues.find((q: any) => q.queueId === 'cards');
        assert.equal(cards.targetAnswerSeconds, 60);
        const agentB = board.body.agents.find((x: any) => x.staffId === B.staffId);
        assert.equal(agentB.presence, 'offline');
        assert.equal(typeof agentB.timeInStateSeconds, 'number');
        assert.equal(agentB.currentSessionId, null);
        // A supervisor sets an agent's state; an agent cannot.
        const set = await staffApi(S, 'setAgentPresence', {
          params: { staffId: A.staffId },
          json: { state: 'available' },
        });
        assert.equal(set.status, 200, JSON.stringify(set.body));
        const offer = await A.ws.take((f) => f.type === 'offer' && f.offer.requestId === c.requestId);
        await staffApi(A, 'acceptOffer', {
          params: { requestId: c.requestId },
          json: { fence: offer.offer.fence },
        });
        const denied = await staffApi(B, 'setAgentPresence', {
          params: { staffId: A.staffId },
          json: { state: 'offline' },
        });
        assert.equal(denied.status, 403);
        const after = await staffApi(S, 'board');
        const agentA = after.body.agents.find((x: any) => x.staffId === A.staffId);
        assert.equal(agentA.presence, 'busy');
        assert.equal(agentA.currentRequestId, c.requestId);
        assert.equal(agentA.currentSessionId, c.sessionId);
        assert.equal(agentA.timeInStateSeconds, 0);
        clock.advance(3_000);
        const later = await staffApi(S, 'board');
        assert.equal(later.body.agents.find((x: any) => x.staffId === A.staffId).timeInStateSeconds, 3);
        c.socket.close();
      });
    },
  );
