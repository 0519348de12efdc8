/**
 * docs/reliability.md row 11: remote-control commands cannot be forged or replayed (the RFC 9449
 * DPoP pattern: every hop is signed, bound and single-use).
 *
 * Against a real authority on loopback with a simulated device (test/support/device.ts
 * CommandGuard, the checks the SDK must make):
 * - a command replayed with the same seq: accepted 0 % (sequentially and 50 in parallel:
 *   exactly one of the parallel sends wins); the same signed command delivered again:
 *   executed 0 times by the device;
 * - out of order: a lower seq is refused by the authority, and by the device;
 * - unassigned agents, supervisors who do not hold it, offered-not-accepted agents and
 *   stale fences are refused; a level too low is refused;
 * - forged, mistyped, other-device and other-session tokens are refused by the device;
 * - a second ack and a second result for one command are refused (50 parallel results:
 *   exactly one accepted);
 * - VD_COMMAND_FUZZ (default 2000) fuzzed command bodies and as many fuzzed results:
 *   100 % 4xx, 0 5xx, and the open command they aimed at is still open afterwards.
 * (The 10,000-command fuzz of the device client belongs to the SDK's tests.)
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { SignJWT } from 'jose';
import {
  COMMAND_TYP,
  CommandOutcome,
  CreateCommandRequest,
  type DeviceCommand,
} from '../../protocol/src/index.ts';
import { FakeClock, manyNodesOnly, startNodes, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin, type HttpResult } from '../support/http.ts';
import { applyAt, clone, DEL, nodes, type J } from '../support/json-tree.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const FUZZ = Math.max(1, Number(process.env.VD_COMMAND_FUZZ ?? 2000));
const SEED = Number(process.env.VD_FUZZ_SEED ?? Date.now() % 2 ** 31);
const REPLAYS = 200;

const faults = { unhandled: 0, last: '' };
process.on('unhandledRejection', (e) => {
  faults.unhandled++;
  faults.last = String((e as Error)?.stack ?? e);
});

/** Valid commands of every kind: the starting points of the mutations. */
const SAMPLES: DeviceCommand[] = [
  { kind: 'verify', payload: { factor: 'pin', reason: 'Please confirm' } },
  { kind: 'photo', payload: { prompt: 'Your face', camera: 'front' } },
  { kind: 'screenshot', payload: { prompt: 'Your screen' } },
  { kind: 'text', payload: { input: 'tracking', prompt: 'Tracking number?', maxLength: 40 } },
  {
    kind: 'menu',
    payload: {
      title: 'Choose',
      items: [
        { id: 'a', label: 'A' },
        { id: 'b', label: 'B' },
      ],
    },
  },
  {
    kind: 'form',
    payload: {
      title: 'Form',
      fields: [
        { id: 'n', label: 'Number', type: 'number', required: true, min: 0, max: 10 },
        { id: 's', label: 'Pick', type: 'select', required: false, options: [{ id: 'x', label: 'X' }] },
      ],
    },
  },
  {
    kind: 'confirm',
    payload: {
      transaction: {
        amount: 1000,
        currency: 'EUR',
        payee: 'Shop',
        reference: 'R1',
        terms: 'I agree to pay.',
      },
    },
  },
  { kind: 'navigate', payload: { screen: 'help' } },
  { kind: 'end', payload: {} },
];

const WEIRD: J[] = [
  null,
  true,
  0,
  -1,
  1.5,
  1e308,
  2 ** 53 + 1,
  '',
  ' ',
  '\u0000',
  '__proto__',
  'x'.repeat(5000),
  [],
  {},
  [1, 2, 3],
  { kind: 'end' },
  'NaN',
  '١٢٣',
  'ＧＢＰ',
  'gbp',
];
const KINDS = [
  'verify',
  'photo',
  'screenshot',
  'text',
  'menu',
  'form',
  'confirm',
  'navigate',
  'end',
  'exec',
  '',
];

/** A mutated value: one node replaced, deleted, renamed, or an extra key; or the kind swapped under a payload. */
function mutations(valid: J): fc.Arbitrary<J> {
  const ns = nodes(valid, { maxDepth: 8, maxItems: 5, maxNodes: 200 });
  return fc.oneof(
    fc.tuple(fc.constantFrom(...ns), fc.constantFrom(...WEIRD)).map(([n, w]) => applyAt(valid, n.path, w)),
    fc.constantFrom(...ns.filter((n) => n.canDelete)).map((n) => applyAt(valid, n.path, DEL)),
    fc
      .tuple(
        fc.constantFrom(
          ...ns.filter((n) => n.value !== null && typeof n.value === 'object' && !Array.isArray(n.value)),
        ),
        fc.constantFrom('extra', '__proto__', 'constructor', 'kind', 'Payload'),
      )
      .map(([n, k]) => {
        const copy = clone(valid);
        let p: any = copy;
        for (const s of n.path) p = p[s];
        Object.defineProperty(p, k, { value: 1, enumerable: true, writable: true, configurable: true });
        return copy;
      }),
    fc.constantFrom(...KINDS).map((k) => {
      const copy = clone(valid) as any;
      if (copy.command) copy.command.kind = k;
      else if (copy.result) copy.result.kind = k;
      return copy;
    }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => v as J),
  );
}

for (const nodes of [1, 3] as const)
  describe(
    nodes === 1
      ? 'row 11: device commands cannot be forged or replayed'
      : 'row 11 across three nodes: commands posted to every node in turn, the device on the third',
    { skip: nodes > 1 && manyNodesOnly() },
    () => {
      let a: TestAuthority;
      /** Every node (a is the first); commands go to each in turn, the device talks to the last. */
      const n: TestAuthority[] = [];
      const urlOf = (i: number) => n[Math.min(i, n.length - 1)]!.url;
      let turn = 0;
      const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
      let admin: string;
      let A: { token: string; staffId: string };
      let B: { token: string; staffId: string };
      let S: { token: string; staffId: string };
      let d: TestDevice;
      let ctl: DeviceControl;
      let ws: FrameLog;
      let socket: TestSocket;
      let requestId: string;
      let sessionId: string;
      let fence: number;
      let seq = 0;

      const send = (who: { token: string }, body: unknown): Promise<HttpResult> =>
        api(urlOf(turn++ % n.length), 'sendCommand', {
          params: { requestId },
          headers: bearer(who.token),
          json: body,
        });
      const NAV: DeviceCommand = { kind: 'navigate', payload: { screen: 'home' } };
      const received = async (commandId: string) =>
        (await ws.take((f) => f.type === 'command' && f.commandId === commandId)).jws as string;

      before(async () => {
        const config = { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 };
        n.push(...(await startNodes(nodes, config, { clock })));
        a = n[0]!;
        admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
        A = await staffLogin(a.url, 'agent1', 'demo-agent-1');
        B = await staffLogin(a.url, 'agent2', 'demo-agent-2');
        S = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
        const code = await api(a.url, 'issueEnrolmentCode', {
          params: { customerId: 'c_alice_martin_01' },
          headers: bearer(admin),
        });
        d = await new TestDevice(urlOf(2), () => clock.now()).enrolAndAuthenticate(code.body.code);
        await d.api('setPin', { json: { pin: '112358' } });
        assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
        const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
        requestId = q.body.request.requestId;
        sessionId = q.body.request.sessionId;
        ctl = new DeviceControl(d).follow(q.body.request);
        await ctl.guard.loadKeys();
        socket = await TestSocket.open(urlOf(2));
        socket.send(await d.wsHello(sessionId));
        assert.equal((await socket.next()).type, 'welcome');
        ws = new FrameLog(socket);
        const av = await api(a.url, 'setPresence', {
          headers: bearer(A.token),
          json: { state: 'available' },
        });
        fence = av.body.offer.fence;
        assert.equal(
          (
            await api(a.url, 'acceptOffer', {
              params: { requestId },
              headers: bearer(A.token),
              json: { fence },
            })
          ).status,
          200,
        );
      });
      after(async () => {
        socket?.close();
        for (const node of n.reverse()) await node.dispose();
      });

      it(`the same seq replayed ${REPLAYS} times, and 50 times in parallel: accepted 0 % of the replays`, async () => {
        const body = { fence, seq: ++seq, command: NAV };
        const first = await send(A, body);
        assert.equal(first.status, 201, JSON.stringify(first.body));
        let accepted = 0;
        for (let i = 0; i < REPLAYS; i++) {
          const r = await send(A, body);
          if (r.status < 300) accepted++;
          else assert.equal(r.body.code, 'command_replayed');
        }
        assert.equal(accepted, 0);
        const parallelBody = { fence, seq: ++seq, command: NAV };
        const parallel = await Promise.all(Array.from({ length: 50 }, () => send(A, parallelBody)));
        const wins = parallel.filter((r) => r.status === 201).length;
        assert.equal(wins, 1, parallel.map((r) => r.status).join(','));
        const n = (
          await a.sql<{ n: number }>`
        SELECT count(*) AS n FROM device_commands
        WHERE request_id = ${requestId} AND fence = ${fence} AND seq = ${parallelBody.seq}`
        )[0]!.n;
        assert.equal(n, 1, 'one row per seq');
        console.log(
          `${nodes > 1 ? `${nodes} nodes: ` : ''}replay: ${REPLAYS} sequential replays accepted ${accepted}; 50 parallel sends of one seq: ${wins} accepted`,
        );
        // The device executes the first delivery of a command id, then refuses every re-delivery.
        const jws = await received(first.body.commandId);
        assert.equal((await ctl.guard.check(jws)).verdict, 'execute');
        let executed = 0;
        for (let i = 0; i < REPLAYS; i++) if ((await ctl.guard.check(jws)).verdict !== 'refuse') executed++;
        assert.equal(executed, 0);
        await received(parallel.find((r) => r.status === 201)!.body.commandId);
      });

      it('out of order: a lower seq is refused by the authority; a late delivery of an older command by the device', async () => {
        const s5 = ++seq;
        const s6 = ++seq;
        const later = await send(A, { fence, seq: s6, command: NAV });
        assert.equal(later.status, 201);
        const earlier = await send(A, { fence, seq: s5, command: NAV });
        assert.equal(earlier.status, 409);
        assert.equal(earlier.body.code, 'seq_out_of_order');
        assert.equal(earlier.body.details.lastSeq, s6);
        // Two valid commands delivered to the device in reverse order: the older one is refused.
        const c1 = await send(A, { fence, seq: ++seq, command: NAV });
        const c2 = await send(A, { fence, seq: ++seq, command: NAV });
        const j1 = await received(c1.body.commandId);
        const j2 = await received(c2.body.commandId);
        await received(later.body.commandId);
        assert.equal((await ctl.guard.check(j2)).verdict, 'execute');
        const v = await ctl.guard.check(j1);
        assert.equal(v.verdict === 'refuse' && v.reason, 'out-of-order');
      });

      it('unassigned agents, a supervisor not holding it, an offered agent and stale fences are refused; so is a level too low', async () => {
        const other = await send(B, { fence, seq: ++seq, command: NAV });
        assert.equal(other.status, 403);
        assert.equal(other.body.code, 'not_assigned');
        const sup = await send(S, { fence, seq: ++seq, command: NAV });
        assert.equal(sup.status, 403);
        assert.equal(sup.body.code, 'not_assigned');
        // (The first offer carries fence 1, so a wrong fence here is a higher one; older fences are covered by transfers.test.ts.)
        const stale = await send(A, { fence: fence + 2, seq: ++seq, command: NAV });
        assert.equal(stale.status, 409);
        assert.equal(stale.body.code, 'stale_fence');
        const future = await send(A, { fence: fence + 1, seq: ++seq, command: NAV });
        assert.equal(future.body.code, 'stale_fence');
        const unknown = await api(a.url, 'sendCommand', {
          params: { requestId: 'no_such_request_000' },
          headers: bearer(A.token),
          json: { fence, seq: 1, command: NAV },
        });
        assert.equal(unknown.status, 404);
        const anonymous = await api(a.url, 'sendCommand', {
          params: { requestId },
          json: { fence, seq: ++seq, command: NAV },
        });
        assert.equal(anonymous.status, 401);
        const asDevice = await d.api('sendCommand', {
          params: { requestId },
          json: { fence, seq: ++seq, command: NAV },
        });
        assert.equal(asDevice.status, 401);

        // Bob at level 1 ("Something else" needs only the device): offered to B, not yet accepted.
        const code = await api(a.url, 'issueEnrolmentCode', {
          params: { customerId: 'c_bob_okafor_002' },
          headers: bearer(admin),
        });
        const bob = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
        const bq = await bob.api('createRequest', { json: { optionId: 'other' } });
        const bav = await api(a.url, 'setPresence', {
          headers: bearer(B.token),
          json: { state: 'available' },
        });
        assert.equal(bav.body.offer.requestId, bq.body.request.requestId);
        const bobReq = bq.body.request.requestId;
        const offered = await api(a.url, 'sendCommand', {
          params: { requestId: bobReq },
          headers: bearer(B.token),
          json: { fence: bav.body.offer.fence, seq: 1, command: NAV },
        });
        assert.equal(offered.status, 403, 'an offer is not ownership');
        assert.equal(offered.body.code, 'not_assigned');
        await api(a.url, 'acceptOffer', {
          params: { requestId: bobReq },
          headers: bearer(B.token),
          json: { fence: bav.body.offer.fence },
        });
        const confirm = await api(a.url, 'sendCommand', {
          params: { requestId: bobReq },
          headers: bearer(B.token),
          json: { fence: bav.body.offer.fence, seq: 1, command: SAMPLES.find((s) => s.kind === 'confirm') },
        });
        assert.equal(confirm.status, 403);
        assert.equal(confirm.body.code, 'level_too_low');
        assert.deepEqual(confirm.body.details, { required: 2, current: 1 });
        const noBiometric = await api(a.url, 'sendCommand', {
          params: { requestId: bobReq },
          headers: bearer(B.token),
          json: {
            fence: bav.body.offer.fence,
            seq: 2,
            command: { kind: 'verify', payload: { factor: 'biometric', reason: 'x' } },
          },
        });
        assert.equal(noBiometric.body.code, 'factor_unavailable');
        const okForLevel1 = await api(a.url, 'sendCommand', {
          params: { requestId: bobReq },
          headers: bearer(B.token),
          json: { fence: bav.body.offer.fence, seq: 3, command: NAV },
        });
        assert.equal(okForLevel1.status, 201);
        // Alice's device cannot see, ack or answer Bob's command.
        assert.equal((await ctl.ack(okForLevel1.body.commandId)).status, 404);
        assert.equal((await ctl.answer(okForLevel1.body.commandId, { outcome: 'declined' })).status, 404);
        const refusedAudits = (
          await a.sql<{ n: number }>`
        SELECT count(*) AS n FROM audit_log WHERE action = 'control.sendCommand' AND outcome = 'failure'`
        )[0]!.n;
        assert.ok(refusedAudits >= 9, `every refusal is audited (${refusedAudits})`);
      });

      it('forged, mistyped, other-device and other-session commands are refused by the device', async () => {
        const r = await send(A, { fence, seq: ++seq, command: NAV });
        const genuine = await received(r.body.commandId);
        const [h, p] = genuine.split('.');
        const claims = JSON.parse(Buffer.from(p!, 'base64url').toString('utf8'));
        const header = JSON.parse(Buffer.from(h!, 'base64url').toString('utf8'));
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const forge = (c: Record<string, unknown>, typ = COMMAND_TYP) =>
          new SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: header.kid, typ }).sign(privateKey);
        const cases: [string, string][] = [
          ['forged', await forge({ ...claims, cid: 'forged_command_0001', seq: claims.seq + 100 })],
          [
            'forged',
            `${h}.${Buffer.from(JSON.stringify({ ...claims, seq: claims.seq + 200 })).toString('base64url')}.${genuine.split('.')[2]}`,
          ],
        ];
        for (const [reason, jws] of cases) {
          const v = await ctl.guard.check(jws);
          assert.equal(v.verdict === 'refuse' && v.reason, reason);
        }
        // A genuine call ticket is signed by the same key but is not a command.
        const other = new DeviceControl(d).follow({ requestId, sessionId: 'S'.repeat(43) });
        await other.guard.loadKeys();
        const fresh = await send(A, { fence, seq: ++seq, command: NAV });
        const jws = await received(fresh.body.commandId);
        const vSession = await other.guard.check(jws);
        assert.equal(vSession.verdict === 'refuse' && vSession.reason, 'other-session');
        const stranger = new DeviceControl(new TestDevice(a.url, () => clock.now())).follow({
          requestId,
          sessionId,
        });
        stranger.d.deviceId = 'x'.repeat(43);
        const vDevice = await stranger.guard.check(jws);
        assert.equal(vDevice.verdict === 'refuse' && vDevice.reason, 'other-device');
        const ticket = await api(a.url, 'callTicket', {
          params: { requestId },
          headers: bearer(A.token),
          json: { fence },
        });
        const vType = await ctl.guard.check(ticket.body.ticket);
        assert.equal(vType.verdict === 'refuse' && vType.reason, 'wrong-type');
        assert.equal((await ctl.guard.check(jws)).verdict, 'execute');
      });

      it('one ack and one final result per command: replays refused; 50 parallel results, exactly one accepted', async () => {
        const r = await send(A, { fence, seq: ++seq, command: NAV });
        const id = r.body.commandId;
        await received(id);
        assert.equal((await ctl.ack(id)).status, 200);
        for (let i = 0; i < 20; i++) assert.equal((await ctl.ack(id)).body.code, 'already_acknowledged');
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            ctl.answer(
              id,
              i % 2
                ? { outcome: 'declined' }
                : { outcome: 'done', result: { kind: 'navigate', screen: 'home' } },
            ),
          ),
        );
        const accepted = results.filter((x) => x.status === 200);
        assert.equal(accepted.length, 1, results.map((x) => x.status).join(','));
        assert.ok(results.filter((x) => x.status !== 200).every((x) => x.body.code === 'command_final'));
        let late = 0;
        for (let i = 0; i < REPLAYS; i++)
          if ((await ctl.answer(id, { outcome: 'declined' })).status < 300) late++;
        assert.equal(late, 0);
        assert.equal((await ctl.ack(id)).body.code, 'command_final');
        console.log(
          `single use: 50 parallel results -> ${accepted.length} accepted; ${REPLAYS} later results -> ${late} accepted`,
        );
      });

      it(`${FUZZ} fuzzed command bodies and ${FUZZ} fuzzed results: 100 % 4xx, 0 5xx; the targeted command stays open`, async () => {
        console.log(`fuzz seed ${SEED} (VD_FUZZ_SEED), size ${FUZZ} (VD_COMMAND_FUZZ)`);
        // Command bodies: schema-invalid mutations of valid ones, plus schema-valid ones that
        // reuse a seq or carry a stale fence (the authorisation must refuse those).
        const usedSeq = seq;
        const validBodies = SAMPLES.map(
          (command, i) => ({ fence, seq: 1_000_000 + i, command }) as unknown as J,
        );
        const bodyArb = fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...validBodies).chain((v) => mutations(v)) },
          {
            weight: 2,
            arbitrary: fc
              .tuple(
                fc.constantFrom(...SAMPLES),
                fc.integer({ min: 1, max: usedSeq }),
                fc.integer({ min: -3, max: 3 }),
              )
              .map(([command, s, df]) => ({ fence: fence + df, seq: s, command }) as unknown as J),
          },
        );
        const bodies = fc
          .sample(bodyArb, { numRuns: FUZZ * 3, seed: SEED })
          .filter((b) => {
            const parsed = CreateCommandRequest.safeParse(b);
            // Keep only bodies the authority must refuse: invalid ones, or valid ones whose seq was used / fence is stale.
            return !parsed.success || parsed.data.seq <= usedSeq || parsed.data.fence !== fence;
          })
          .slice(0, FUZZ);
        assert.equal(bodies.length, FUZZ);
        const statuses = new Map<number, number>();
        let fivexx = 0;
        for (let i = 0; i < bodies.length; i += 16) {
          const rs = await Promise.all(bodies.slice(i, i + 16).map((b) => send(A, b)));
          for (const r of rs) {
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status >= 500) fivexx++;
            assert.ok(
              r.status >= 400 && r.status < 500,
              `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
            );
            assert.equal(typeof r.body.code, 'string');
          }
        }
        // Results aimed at an open menu command: invalid outcomes, wrong kinds, unknown items, stale revisions.
        const menu = await send(A, {
          fence,
          seq: ++seq,
          command: {
            kind: 'menu',
            payload: {
              title: 'Pick',
              items: [
                { id: 'a', label: 'A' },
                { id: 'b', label: 'B' },
              ],
            },
          },
        });
        assert.equal(menu.status, 201);
        const target = menu.body.commandId;
        await received(target);
        const validResults: J[] = [
          { outcome: 'done', result: { kind: 'menu', itemId: 'a', revision: 1 } },
          { outcome: 'failed', reason: 'camera broken' },
          { outcome: 'done', result: { kind: 'text', value: 'hello' } },
          { outcome: 'done', result: { kind: 'confirm', signature: 'a.b.c' } },
          { outcome: 'done', result: { kind: 'form', values: { a: 1 } } },
        ];
        const resultArb = fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...validResults).chain((v) => mutations(v)) },
          {
            weight: 2,
            arbitrary: fc
              .tuple(fc.string({ maxLength: 8 }), fc.integer({ min: -2, max: 5 }))
              .map(
                ([itemId, revision]) =>
                  ({ outcome: 'done', result: { kind: 'menu', itemId, revision } }) as J,
              ),
          },
        );
        const results = fc
          .sample(resultArb, { numRuns: FUZZ * 4, seed: SEED + 1 })
          .filter((b) => {
            const parsed = CommandOutcome.safeParse(b);
            if (!parsed.success) return true;
            const o = parsed.data;
            // Valid answers that would rightly close the command are not fuzz: keep only those that must be refused.
            if (o.outcome !== 'done') return false;
            if (o.result.kind !== 'menu') return true;
            return !(['a', 'b'].includes(o.result.itemId) && o.result.revision === 1);
          })
          .slice(0, FUZZ);
        assert.equal(results.length, FUZZ);
        for (let i = 0; i < results.length; i += 16) {
          const rs = await Promise.all(
            results
              .slice(i, i + 16)
              .map((b) => ctl.d.api('commandResult', { params: { commandId: target }, json: b })),
          );
          for (const r of rs) {
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
            if (r.status >= 500) fivexx++;
            assert.ok(
              r.status >= 400 && r.status < 500,
              `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
            );
          }
        }
        const state = (
          await a.sql<{ state: string }>`SELECT state FROM device_commands WHERE id = ${target}`
        )[0]!.state;
        assert.equal(state, 'pending', 'no fuzzed answer closed the command');
        const ok = await ctl.answer(target, {
          outcome: 'done',
          result: { kind: 'menu', itemId: 'b', revision: 1 },
        });
        assert.equal(ok.status, 200);
        console.log(
          `fuzz: ${bodies.length} command bodies + ${results.length} results -> ${[...statuses]
            .sort(([x], [y]) => x - y)
            .map(([s, n]) => `${s}: ${n}`)
            .join(', ')}; 5xx ${fivexx}; unhandled rejections ${faults.unhandled}`,
        );
        assert.equal(fivexx, 0);
        assert.equal(faults.unhandled, 0, faults.last);
        const health = await api(a.url, 'health');
        assert.equal(health.status, 200);
      });
    },
  );
