/**
 * Remote control end to end through the API (issue 7): agent -> authority -> device ->
 * authority -> agent, with a real authority on loopback (HTTP + WebSocket + SQLite), a
 * simulated device that verifies every command JWS like the SDK must (test/support/device.ts
 * CommandGuard) and answers with its device proofs, and the agent's own WebSocket feed.
 * Every command kind; the confirmed transaction's signature verified and stored (a
 * tampered signature or amount refused); a menu edited live; expiry; "stop all".
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { compactVerify } from 'jose';
import { confirmCanonical, type DeviceCommand } from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, FAKE_JPEG, FAKE_PNG, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const ORIGIN = 'http://localhost:5173';

describe('remote control: every command kind end to end, signed, acknowledged, answered once', () => {
  let a: TestAuthority;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  let d: TestDevice;
  let ctl: DeviceControl;
  let authr: SoftwareAuthenticator;
  let agent: { token: string; staffId: string };
  let deviceSocket: TestSocket;
  let agentSocket: TestSocket;
  let deviceWs: FrameLog;
  let agentWs: FrameLog;
  let requestId: string;
  let fence: number;
  let seq = 0;

  const send = (command: DeviceCommand, extra: Record<string, unknown> = {}) =>
    api(a.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, seq: ++seq, command, ...extra },
    });
  /** Send, then take the device's `command` frame and verify it. */
  const sendAndReceive = async (command: DeviceCommand, extra: Record<string, unknown> = {}) => {
    const r = await send(command, extra);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
    const v = await ctl.guard.check(f.jws);
    if (v.verdict !== 'execute') throw new Error(`the device did not execute it: ${JSON.stringify(v)}`);
    return { view: r.body, claims: v.claims, jws: f.jws as string };
  };
  const agentUpdate = (commandId: string, state: string) =>
    agentWs.take(
      (f) => f.type === 'command.update' && f.command.commandId === commandId && f.command.state === state,
    );
  const panel = async () =>
    (await api(a.url, 'customerPanel', { params: { requestId }, headers: bearer(agent.token) })).body;

  before(async () => {
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
        rpId: 'localhost',
        origins: [ORIGIN],
      },
      { clock },
    );
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    assert.equal(
      (await d.api('photo', { query: { purpose: 'enrolment' }, raw: FAKE_JPEG, contentType: 'image/jpeg' }))
        .status,
      201,
    );
    assert.equal((await d.api('setPin', { json: { pin: '112358' } })).status, 200);
    authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: 'localhost' });
    const regOptions = await d.api('webauthnRegistrationOptions');
    assert.equal(
      (await d.api('webauthnRegister', { json: { response: authr.register(regOptions.body) } })).status,
      201,
    );
    assert.equal((await d.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const q = await d.api('createRequest', { json: { optionId: 'lost-card' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    requestId = q.body.request.requestId;
    ctl = new DeviceControl(d).follow(q.body.request);
    await ctl.guard.loadKeys();
    deviceSocket = await TestSocket.open(a.url);
    deviceSocket.send(await d.wsHello(q.body.request.sessionId));
    assert.equal((await deviceSocket.next()).type, 'welcome');
    deviceWs = new FrameLog(deviceSocket);

    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    agentSocket = await TestSocket.open(a.url);
    agentSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent.token } });
    assert.equal((await agentSocket.next()).type, 'welcome');
    agentWs = new FrameLog(agentSocket);
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    fence = av.body.offer.fence;
    const acc = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
  });
  after(async () => {
    deviceSocket?.close();
    agentSocket?.close();
    await a.dispose();
  });

  it('the command reaches the device as an authority-signed JWS naming device, session, request, fence and seq', async () => {
    const { view, claims, jws } = await sendAndReceive({ kind: 'navigate', payload: { screen: 'account' } });
    assert.equal(view.state, 'pending');
    assert.equal(claims.dev, d.deviceId);
    assert.equal(claims.rid, requestId);
    assert.equal(claims.fence, fence);
    assert.equal(claims.seq, seq);
    assert.equal(claims.agn, 'Dana Reyes');
    assert.equal(claims.exp - claims.iat, 120, 'default lifetime 120 s');
    // The same token again is a replay for the device.
    const again = await ctl.guard.check(jws);
    assert.equal(again.verdict === 'refuse' && again.reason, 'replayed');
    // Acknowledged once; the agent sees "shown".
    const ack = await ctl.ack(view.commandId);
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    assert.equal(ack.body.state, 'shown');
    await agentUpdate(view.commandId, 'shown');
    const ack2 = await ctl.ack(view.commandId);
    assert.equal(ack2.status, 409);
    assert.equal(ack2.body.code, 'already_acknowledged');
    // Navigated to another screen than asked: refused; the right one: done.
    const wrong = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'navigate', screen: 'home' },
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.code, 'invalid_result');
    const done = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'navigate', screen: 'account' },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const upd = await agentUpdate(view.commandId, 'done');
    assert.deepEqual(upd.command.result, { kind: 'navigate', screen: 'account' });
    // One final answer only.
    const second = await ctl.answer(view.commandId, { outcome: 'declined' });
    assert.equal(second.status, 409);
    assert.equal(second.body.code, 'command_final');
  });

  it("the acknowledgement on the device's socket: one frame, the same rule as the HTTP route", async () => {
    const { view } = await sendAndReceive({ kind: 'navigate', payload: { screen: 'account' } });
    deviceSocket.send({ type: 'command.ack', commandId: view.commandId });
    const acked = await deviceWs.take((f) => f.type === 'command.acked' && f.commandId === view.commandId);
    assert.equal(acked.state, 'shown');
    await agentUpdate(view.commandId, 'shown');
    // Once, like the route: the second is refused with the route's code.
    deviceSocket.send({ type: 'command.ack', commandId: view.commandId });
    const again = await deviceWs.take(
      (f) => f.type === 'command.ack.refused' && f.commandId === view.commandId,
    );
    assert.equal(again.code, 'already_acknowledged');
    const http = await ctl.ack(view.commandId);
    assert.equal(http.body.code, 'already_acknowledged');
    // Not another device's (or an unknown) command, and never from a staff socket.
    deviceSocket.send({ type: 'command.ack', commandId: 'cmd_not_a_real_one_000' });
    const unknown = await deviceWs.take(
      (f) => f.type === 'command.ack.refused' && f.commandId === 'cmd_not_a_real_one_000',
    );
    assert.equal(unknown.code, 'not_found');
    // Another customer's device, authenticated, acknowledging this device's pending command:
    // 404, and the command is still pending for its own device.
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer((await staffLogin(a.url, 'admin', 'demo-admin-1')).token),
    });
    const other = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const { view: pending } = await sendAndReceive({ kind: 'navigate', payload: { screen: 'help' } });
    const foreign = await other.api('ackCommand', { params: { commandId: pending.commandId } });
    assert.equal(foreign.status, 404, JSON.stringify(foreign.body));
    const [row] = await a.sql<{
      state: string;
    }>`SELECT state FROM device_commands WHERE id = ${pending.commandId}`;
    assert.equal(row?.state, 'pending');
    assert.equal((await ctl.ack(pending.commandId)).status, 200);
    agentSocket.send({ type: 'command.ack', commandId: view.commandId });
    const staff = await agentWs.take((f) => f.type === 'command.ack.refused');
    assert.equal(staff.code, 'forbidden');
    // Answered as usual after a socket ack.
    const done = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'navigate', screen: 'account' },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  });

  it('verify (biometric step-up): the factor must really be recorded; the level rises to 3 and the panel shows it live', async () => {
    const { view } = await sendAndReceive({
      kind: 'verify',
      payload: { factor: 'biometric', reason: 'Confirm it is you' },
    });
    await ctl.ack(view.commandId);
    const early = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'verify', factor: 'biometric' },
    });
    assert.equal(early.status, 409, 'claiming the step-up before doing it is refused');
    assert.equal(early.body.code, 'factor_missing');
    const options = await d.api('webauthnAssertionOptions');
    const step = await d.api('webauthnFactor', { json: { response: authr.assert(options.body) } });
    assert.equal(step.status, 200, JSON.stringify(step.body));
    assert.equal(step.body.level, 3);
    const done = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'verify', factor: 'biometric' },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const upd = await agentUpdate(view.commandId, 'done');
    assert.equal(upd.command.result.kind, 'verify');
    assert.equal(upd.command.result.level, 3);
    const p = await panel();
    assert.equal(p.verification.level, 3);
    assert.deepEqual(
      p.verification.factors.map((f: any) => f.kind),
      ['device', 'pin', 'biometric'],
    );
    assert.equal(p.secure.find((f: any) => f.field === 'accountNumber').locked, false);
  });

  it('photo: uploaded as the answer, stored like the enrolment photo and shown beside it', async () => {
    const { view } = await sendAndReceive({
      kind: 'photo',
      payload: { prompt: 'A photo of your face', camera: 'front' },
    });
    const viaResult = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'text', value: 'not a photo' },
    });
    assert.equal(viaResult.status, 400);
    const notImage = await ctl.image(
      view.commandId,
      Buffer.from('definitely not a jpeg, just text bytes'.repeat(3)),
    );
    assert.equal(notImage.status, 400);
    const up = await ctl.image(view.commandId, FAKE_PNG, 'image/png');
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const upd = await agentUpdate(view.commandId, 'done');
    const photoId = upd.command.result.photoId;
    const p = await panel();
    assert.equal(p.photos.latest.photoId, photoId);
    assert.ok(p.photos.enrolment, 'the enrolment photo is still there to compare');
    const img = await fetch(`${a.url}/v1/agent/requests/${requestId}/photos/${photoId}`, {
      headers: bearer(agent.token),
    });
    assert.equal(img.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), FAKE_PNG);
    assert.equal((await ctl.image(view.commandId, FAKE_PNG, 'image/png')).body.code, 'command_final');
  });

  it('screenshot: an image of the app, served to the agent, not a verification photo', async () => {
    const before = (await panel()).photos.latest.photoId;
    const { view } = await sendAndReceive({ kind: 'screenshot', payload: { prompt: 'Share your screen' } });
    const up = await ctl.image(view.commandId, FAKE_JPEG);
    assert.equal(up.status, 200, JSON.stringify(up.body));
    const upd = await agentUpdate(view.commandId, 'done');
    const res = await fetch(`${a.url}/v1/agent/requests/${requestId}/photos/${upd.command.result.imageId}`, {
      headers: bearer(agent.token),
    });
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), FAKE_JPEG);
    assert.equal((await panel()).photos.latest.photoId, before);
  });

  it('text: tracking numbers, emails and free text are validated per type', async () => {
    const cases: [string, string, string | null][] = [
      ['tracking', 'ab', null],
      ['tracking', 'jd0142 77', null],
      ['tracking', 'jd014277gb', 'JD014277GB'],
      ['email', 'not-an-email', null],
      ['email', 'alice@example.com', 'alice@example.com'],
      ['free', 'x'.repeat(11), null],
      ['free', 'The parcel never came', 'The parcel never came'],
    ];
    for (const [input, value, expected] of cases) {
      const { view } = await sendAndReceive({
        kind: 'text',
        payload: {
          input: input as 'tracking',
          prompt: 'Type it',
          ...(input === 'free' ? { maxLength: 30 } : {}),
        },
      });
      const v = input === 'free' && expected === null ? 'x'.repeat(31) : value;
      const r = await ctl.answer(view.commandId, { outcome: 'done', result: { kind: 'text', value: v } });
      if (expected === null) {
        assert.equal(r.status, 400, `${input} ${v}`);
        assert.equal(r.body.code, 'invalid_result');
        assert.equal((await ctl.answer(view.commandId, { outcome: 'declined' })).status, 200);
      } else {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const upd = await agentUpdate(view.commandId, 'done');
        assert.equal(upd.command.result.value, expected);
      }
    }
  });

  it('menu: the agent edits it live (revision 2 reaches the device as an update); a choice from the old revision is refused', async () => {
    const { view } = await sendAndReceive({
      kind: 'menu',
      payload: {
        title: 'What happened?',
        items: [
          { id: 'lost', label: 'I lost it' },
          { id: 'stolen', label: 'It was stolen' },
        ],
      },
    });
    await ctl.ack(view.commandId);
    const edit = await api(a.url, 'updateMenu', {
      params: { commandId: view.commandId },
      headers: bearer(agent.token),
      json: {
        fence,
        items: [
          { id: 'lost', label: 'I lost it' },
          { id: 'stolen', label: 'It was stolen' },
          { id: 'damaged', label: 'It is damaged' },
        ],
      },
    });
    assert.equal(edit.status, 200, JSON.stringify(edit.body));
    assert.equal(edit.body.revision, 2);
    const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === view.commandId);
    const v = await ctl.guard.check(f.jws);
    assert.equal(v.verdict, 'update');
    assert.equal(v.verdict === 'update' && v.claims.rev, 2);
    assert.equal(
      v.verdict === 'update' && v.claims.cmd.kind === 'menu' && v.claims.cmd.payload.items.length,
      3,
    );
    const stale = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'menu', itemId: 'damaged', revision: 1 },
    });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.code, 'menu_revised');
    const unknown = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'menu', itemId: 'nope', revision: 2 },
    });
    assert.equal(unknown.status, 400);
    const ok = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'menu', itemId: 'damaged', revision: 2 },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const upd = await agentUpdate(view.commandId, 'done');
    assert.deepEqual(upd.command.result, {
      kind: 'menu',
      itemId: 'damaged',
      label: 'It is damaged',
      revision: 2,
    });
    // A finished menu cannot be edited.
    const late = await api(a.url, 'updateMenu', {
      params: { commandId: view.commandId },
      headers: bearer(agent.token),
      json: { fence, items: [{ id: 'x', label: 'x' }] },
    });
    assert.equal(late.body.code, 'command_final');
  });

  it('form: typed fields, required ones enforced, unknown fields refused', async () => {
    const { view } = await sendAndReceive({
      kind: 'form',
      payload: {
        title: 'Delivery address',
        fields: [
          { id: 'street', label: 'Street', type: 'text', required: true, maxLength: 80 },
          { id: 'email', label: 'Email', type: 'email', required: false },
          { id: 'floor', label: 'Floor', type: 'number', required: false, min: 0, max: 200 },
          {
            id: 'slot',
            label: 'When',
            type: 'select',
            required: true,
            options: [
              { id: 'am', label: 'Morning' },
              { id: 'pm', label: 'Afternoon' },
            ],
          },
          { id: 'agree', label: 'I agree', type: 'checkbox', required: true },
        ],
      },
    });
    const bad: Record<string, unknown>[] = [
      { slot: 'am', agree: true },
      { street: '1 Main St', slot: 'noon', agree: true },
      { street: '1 Main St', slot: 'am', agree: false },
      { street: '1 Main St', slot: 'am', agree: true, floor: 500 },
      { street: '1 Main St', slot: 'am', agree: true, email: 'nope' },
      { street: '1 Main St', slot: 'am', agree: true, extra: 'x' },
    ];
    for (const values of bad) {
      const r = await ctl.answer(view.commandId, {
        outcome: 'done',
        result: { kind: 'form', values } as never,
      });
      assert.equal(r.status, 400, JSON.stringify(values));
    }
    const values = { street: '1 Main St', slot: 'pm', agree: true, floor: 3 };
    const r = await ctl.answer(view.commandId, { outcome: 'done', result: { kind: 'form', values } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual((await agentUpdate(view.commandId, 'done')).command.result.values, values);
  });

  it('confirm: the device signs the canonical transaction; tampered signatures and amounts are refused; the valid one is stored', async () => {
    const transaction = {
      amount: 125_000,
      currency: 'GBP',
      payee: 'Northwind Travel Ltd',
      reference: 'INV-2026-0042',
      terms: 'I confirm this payment of £1,250.00 to Northwind Travel Ltd.',
    };
    const { view, claims } = await sendAndReceive({ kind: 'confirm', payload: { transaction } });
    await ctl.ack(view.commandId);
    const good = await ctl.signTransaction(claims);
    const [h, p, s] = good.split('.');
    const flipped = `${h}.${p}.${s!.slice(0, -2)}${s!.endsWith('A') ? 'B' : 'A'}${s!.slice(-1)}`;
    const tamperedAmount = await ctl.signTransaction(claims, { ...transaction, amount: 1 });
    const stranger = await new DeviceControl(new TestDevice(a.url, () => clock.now())).signTransaction(
      claims,
    );
    // The PIN entered now is the user-verifying factor here (confirm-sca.test.ts covers the fingerprint).
    const factor = { kind: 'pin' as const, pin: '112358' };
    for (const signature of [flipped, tamperedAmount, stranger, 'not.a.jws']) {
      const r = await ctl.answer(view.commandId, {
        outcome: 'done',
        result: { kind: 'confirm', signature, factor },
      });
      assert.equal(r.status, 400, signature.slice(0, 40));
      assert.equal(r.body.code, 'signature_invalid');
    }
    const r = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'confirm', signature: good, factor },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const upd = await agentUpdate(view.commandId, 'done');
    assert.equal(upd.command.result.kind, 'confirm');
    assert.equal(upd.command.result.signature, good);
    // Stored, and checkable later with nothing but the device's enrolled public key.
    const [row] = await a.sql<{ result: string; state: string }>`
      SELECT result, state FROM device_commands WHERE id = ${view.commandId}`;
    assert.ok(row);
    assert.equal(row.state, 'done');
    const stored = JSON.parse(row.result);
    const jwk = JSON.parse(
      (await a.sql<{ public_jwk: string }>`SELECT public_jwk FROM devices WHERE id = ${d.deviceId}`)[0]!
        .public_jwk,
    );
    const verified = await compactVerify(stored.signature, createPublicKey({ key: jwk, format: 'jwk' }));
    assert.equal(
      new TextDecoder().decode(verified.payload),
      confirmCanonical({
        commandId: view.commandId,
        requestId,
        sessionId: claims.sid,
        deviceId: d.deviceId,
        transaction,
      }),
    );
    const [audit] = await a.sql<{ n: number }>`
      SELECT count(*) AS n FROM audit_log
      WHERE action = 'control.commandResult' AND outcome = 'failure' AND subject = ${`command:${view.commandId}`}`;
    assert.equal(audit!.n, 4, 'every refused signature is audited');
  });

  it('a command past its expiry cannot be answered (410, audited); the agent sees it expire', async () => {
    const { view, jws } = await sendAndReceive(
      { kind: 'navigate', payload: { screen: 'help' } },
      { ttlSeconds: 5 },
    );
    // Past the authority's expiry, and past the device's 5 s leeway too.
    clock.advance(11_000);
    const late = await ctl.answer(view.commandId, {
      outcome: 'done',
      result: { kind: 'navigate', screen: 'help' },
    });
    assert.equal(late.status, 410);
    assert.equal(late.body.code, 'command_expired');
    await agentUpdate(view.commandId, 'expired');
    const [audited] = await a.sql<{ reason: string }>`
      SELECT reason FROM audit_log WHERE subject = ${`command:${view.commandId}`} AND outcome = 'failure'
      ORDER BY seq DESC LIMIT 1`;
    assert.match(audited!.reason, /^command_expired/);
    // The device refuses it too, now.
    const v = await ctl.guard.check(jws);
    assert.equal(v.verdict === 'refuse' && v.reason, 'expired');
  });

  it('end cancels the other open commands; after a reconnect the device fetches what is still open', async () => {
    const open1 = await sendAndReceive({ kind: 'screenshot', payload: { prompt: 'Screen please' } });
    const pending = await ctl.pending();
    assert.equal(pending.status, 200);
    assert.ok(pending.body.commands.some((c: any) => c.commandId === open1.view.commandId));
    const end = await sendAndReceive({ kind: 'end', payload: { reason: 'All done' } });
    const cancelled = await deviceWs.take(
      (x) => x.type === 'command.cancelled' && x.commandId === open1.view.commandId,
    );
    assert.equal(cancelled.reason, 'superseded');
    const after = await ctl.pending();
    assert.deepEqual(
      after.body.commands.map((c: any) => c.commandId),
      [end.view.commandId],
    );
    assert.equal(
      (await ctl.answer(end.view.commandId, { outcome: 'done', result: { kind: 'end' } })).status,
      200,
    );
  });

  it('stop all: open commands cancelled, the agent told live, new commands refused until the customer resumes', async () => {
    const open = await sendAndReceive({ kind: 'text', payload: { input: 'free', prompt: 'Anything else?' } });
    const stop = await ctl.stopAll();
    assert.equal(stop.status, 200, JSON.stringify(stop.body));
    assert.deepEqual(stop.body.cancelled, [open.view.commandId]);
    const told = await agentWs.take((f) => f.type === 'control.state');
    assert.equal(told.stopped, true);
    assert.deepEqual(told.cancelled, [open.view.commandId]);
    await agentUpdate(open.view.commandId, 'cancelled');
    const gone = await deviceWs.take(
      (x) => x.type === 'command.cancelled' && x.commandId === open.view.commandId,
    );
    assert.equal(gone.reason, 'control_stopped');
    const refused = await send({ kind: 'navigate', payload: { screen: 'home' } });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'control_stopped');
    const late = await ctl.answer(open.view.commandId, {
      outcome: 'done',
      result: { kind: 'text', value: 'hi' },
    });
    assert.equal(late.body.code, 'command_final');
    const list = await api(a.url, 'requestCommands', { params: { requestId }, headers: bearer(agent.token) });
    assert.equal(list.body.control.stopped, true);
    assert.equal(list.body.control.stoppedAt, stop.body.stoppedAt);
    assert.equal(list.body.control.changedAt, stop.body.stoppedAt);
    assert.equal(list.body.lastSeq, seq - 1, 'the refused command used no seq');
    const resume = await d.api('resumeControl', { params: { requestId } });
    assert.equal(resume.status, 200);
    // a console that reloads learns when control was allowed again: a late stop frame is older
    const after = await api(a.url, 'requestCommands', {
      params: { requestId },
      headers: bearer(agent.token),
    });
    assert.deepEqual(after.body.control, {
      stopped: false,
      stoppedAt: null,
      changedAt: resume.body.resumedAt,
    });
    assert.equal((await send({ kind: 'navigate', payload: { screen: 'home' } })).status, 201);
  });
});
