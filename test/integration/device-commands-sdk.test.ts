/**
 * The customer SDK's device side of the agent's actions, in Node against a real
 * authority on loopback (HTTP + WebSocket + SQLite): AccessDevice (WebCrypto device
 * key, device proofs, the `ws` socket as its WebSocket, a software WebAuthn
 * authenticator) with its DeviceCommands. An agent drives it over HTTP: every command
 * kind is verified by the SDK, shown (acknowledged) and answered through the SDK's own
 * methods; the confirmed transaction's signature is accepted by the authority; a menu is
 * edited live; commands sent while the feed was down arrive after the reconnect; a
 * replayed frame is refused by the SDK; "Stop all" / "Allow again"; a warm transfer
 * (new fence, seq from 1) is accepted and names the new agent.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { compactVerify } from 'jose';
import WebSocket from 'ws';
import { confirmCanonical, type DeviceCommand } from '../../protocol/src/index.ts';
import {
  AccessDevice,
  AuthorityError,
  CommandInputError,
  MemoryStore,
  type AgentCommand,
  type RefusedCommand,
  type WebSocketLike,
} from '../../customer/sdk/index.ts';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { FAKE_JPEG, FAKE_PNG } from '../support/device.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { api, type ApiOptions, apiWith, bearer, routePath, staffLogin } from '../support/http.ts';
import { SoftwareAuthenticator } from '../support/webauthn-authenticator.ts';
import { until, when, within } from '../support/wait.ts';

const ORIGIN = 'http://localhost:5173';

describe('customer SDK: agent commands verified, shown and answered against a real authority', () => {
  let a: TestAuthority;
  let device: AccessDevice;
  let authr: SoftwareAuthenticator;
  let agent: { token: string; staffId: string };
  let requestId: string;
  let fence: number;
  let seq = 0;
  const sockets: WebSocket[] = [];
  const rawFrames: string[] = [];
  const refused: RefusedCommand[] = [];
  const fetched: string[] = [];

  const agentApi = <K extends RouteId>(name: K, opts?: ApiOptions<K>, token = agent.token) =>
    apiWith(a.url, bearer(token), name, opts);
  const send = (command: DeviceCommand, token = agent.token, f = fence) =>
    agentApi('sendCommand', { params: { requestId }, json: { fence: f, seq: ++seq, command } }, token);
  const commands = () => device.commands;
  const onChange = (l: () => void) => commands().on('changed', l);
  const card = (commandId: string) =>
    when(`the card of ${commandId}`, onChange, () => commands().get(commandId));
  /** Send, wait for its verified card, show it (ack). */
  const sendAndShow = async (command: DeviceCommand): Promise<AgentCommand> => {
    const r = await send(command);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = await card(r.body.commandId);
    assert.equal(await commands().shown(c.commandId), true);
    return c;
  };
  const viewOf = async (commandId: string, token = agent.token) => {
    const list = await agentApi('requestCommands', { params: { requestId } }, token);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    return list.body.commands.find((c: any) => c.commandId === commandId);
  };

  before(async () => {
    a = await startTestAuthority({
      accessTokenSeconds: 3600,
      agentTimeoutSeconds: 3600,
      wrapUpSeconds: 0,
      rpId: 'localhost',
      origins: [ORIGIN],
    });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer(admin),
    });
    authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: 'localhost' });
    device = await AccessDevice.open({
      baseUrl: a.url,
      store: new MemoryStore(),
      fetch: (input, init) => {
        fetched.push(`${init?.method ?? 'GET'} ${new URL(String(input)).pathname}`);
        return fetch(input, init);
      },
      webauthn: {
        register: async (options) => authr.register(options as never) as never,
        authenticate: async (options) => authr.assert(options as never) as never,
      },
      // The `ws` package as the device's WebSocket; every text frame is also recorded (to replay one).
      createSocket: (url) => {
        const ws = new WebSocket(url);
        sockets.push(ws);
        ws.on('message', (data, binary) => {
          if (!binary) rawFrames.push(String(data));
        });
        return ws as unknown as WebSocketLike;
      },
      backoff: { initialMs: 300, maxMs: 600 },
    });
    device.commands.on('refused', (r) => refused.push(r));
    await device.enrol(code.body.code);
    await device.setPin('112358');
    await device.verifyPin('112358');
    await device.registerBiometric();
    await device.uploadPhoto(new Blob([FAKE_JPEG], { type: 'image/jpeg' }), 'enrolment');
    const request = await device.requestHelp('lost-card', async () => false);
    assert.ok(request, 'queued at level 2 (device + PIN)');
    requestId = request.requestId;
    await when(
      'the device feed',
      (l) => device.on('feed', l),
      () => device.feedStatus === 'open',
    );

    agent = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const av = await agentApi('setPresence', { json: { state: 'available' } });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    fence = av.body.offer.fence;
    const acc = await agentApi('acceptOffer', { params: { requestId }, json: { fence } });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
    await when(
      'the request assigned',
      (l) => device.on('request', l),
      () => device.request?.state === 'assigned',
    );
  });
  after(async () => {
    device?.commands.dispose();
    device?.unfollow();
    for (const s of sockets) s.terminate();
    await a?.dispose();
  });

  it('verify: the fingerprint and the PIN step-ups run through AccessDevice on the same authentication; the level shows it', async () => {
    const bio = await sendAndShow({
      kind: 'verify',
      payload: { factor: 'biometric', reason: 'Before the card change' },
    });
    assert.equal(bio.title, 'Dana Reyes asks you to confirm with your fingerprint');
    assert.equal(bio.agentName, 'Dana Reyes');
    assert.equal((await viewOf(bio.commandId)).state, 'shown');
    await assert.rejects(commands().verifyWithPin(bio.commandId, '112358'), CommandInputError);
    const authBefore = device.authentication!.authenticationId;
    await commands().verifyWithBiometric(bio.commandId);
    assert.equal(commands().get(bio.commandId), undefined, 'answered: the card left the screen');
    const v = await viewOf(bio.commandId);
    assert.equal(v.state, 'done');
    assert.deepEqual([v.result.kind, v.result.factor, v.result.level], ['verify', 'biometric', 3]);
    assert.equal(device.authentication!.authenticationId, authBefore, 'same authentication');
    assert.equal(device.authentication!.level, 3);

    const pin = await sendAndShow({ kind: 'verify', payload: { factor: 'pin', reason: 'Once more' } });
    await assert.rejects(commands().verifyWithPin(pin.commandId, '000000'), AuthorityError);
    assert.ok(commands().get(pin.commandId), 'a wrong PIN leaves the card on screen');
    await commands().verifyWithPin(pin.commandId, '112358');
    assert.equal((await viewOf(pin.commandId)).result.factor, 'pin');
  });

  it('photo and screenshot: the image is the answer; the agent gets it back byte for byte', async () => {
    const photo = await sendAndShow({
      kind: 'photo',
      payload: { prompt: 'A photo of your face', camera: 'front' },
    });
    await commands().sendImage(photo.commandId, new Blob([FAKE_JPEG], { type: 'image/jpeg' }));
    const pv = await viewOf(photo.commandId);
    assert.equal(pv.result.kind, 'photo');
    const img = await fetch(
      a.url + routePath('requestPhoto', { params: { requestId, photoId: pv.result.photoId } }),
      {
        headers: bearer(agent.token),
      },
    );
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), FAKE_JPEG);

    const shot = await sendAndShow({ kind: 'screenshot', payload: { prompt: 'Your screen, please' } });
    await assert.rejects(
      commands().sendImage(shot.commandId, new Blob(['x'], { type: 'text/plain' })),
      CommandInputError,
    );
    await commands().sendImage(shot.commandId, new Blob([FAKE_PNG], { type: 'image/png' }));
    const sv = await viewOf(shot.commandId);
    const res = await fetch(
      a.url + routePath('requestPhoto', { params: { requestId, photoId: sv.result.imageId } }),
      {
        headers: bearer(agent.token),
      },
    );
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), FAKE_PNG);
  });

  it('text, form and navigate: checked on the phone like the authority checks them, then answered', async () => {
    const t = await sendAndShow({
      kind: 'text',
      payload: { input: 'tracking', prompt: 'Your tracking number' },
    });
    await assert.rejects(commands().answerText(t.commandId, 'jd 01'), CommandInputError);
    await commands().answerText(t.commandId, 'jd014277gb');
    assert.equal((await viewOf(t.commandId)).result.value, 'JD014277GB');

    const f = await sendAndShow({
      kind: 'form',
      payload: {
        title: 'Delivery address',
        fields: [
          { id: 'street', label: 'Street', type: 'text', required: true, maxLength: 80 },
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
    await assert.rejects(
      commands().submitForm(f.commandId, { street: '1 Main St', slot: 'pm', agree: false }),
      CommandInputError,
    );
    await commands().submitForm(f.commandId, { street: '1 Main St', floor: '3', slot: 'pm', agree: true });
    assert.deepEqual((await viewOf(f.commandId)).result.values, {
      street: '1 Main St',
      floor: 3,
      slot: 'pm',
      agree: true,
    });

    const n = await sendAndShow({ kind: 'navigate', payload: { screen: 'account' } });
    assert.equal(n.title, 'Dana Reyes wants to open your account');
    await commands().navigated(n.commandId);
    assert.deepEqual((await viewOf(n.commandId)).result, { kind: 'navigate', screen: 'account' });
  });

  it('menu: the agent edits it live; the card changes in place and the choice names the new revision', async () => {
    const m = await sendAndShow({
      kind: 'menu',
      payload: {
        title: 'What happened?',
        items: [
          { id: 'lost', label: 'I lost it' },
          { id: 'stolen', label: 'It was stolen' },
        ],
      },
    });
    assert.equal(m.revision, 1);
    const edit = await agentApi('updateMenu', {
      params: { commandId: m.commandId },
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
    const updated = await when('revision 2 on screen', onChange, () => {
      const c = commands().get(m.commandId);
      return c && c.revision === 2 ? c : undefined;
    });
    assert.equal(updated.kind === 'menu' && updated.command.payload.items.length, 3);
    assert.equal(
      commands().list.filter((c) => c.commandId === m.commandId).length,
      1,
      'one card, changed in place',
    );
    await commands().chooseMenuItem(m.commandId, 'damaged');
    assert.deepEqual((await viewOf(m.commandId)).result, {
      kind: 'menu',
      itemId: 'damaged',
      label: 'It is damaged',
      revision: 2,
    });
  });

  it("confirm: the fingerprint over exactly this payment and the device key's signature; the authority verifies both, stores them and gives a receipt", async () => {
    const transaction = {
      amount: 125_000,
      currency: 'GBP',
      payee: 'Northwind Travel Ltd',
      reference: 'INV-2026-0042',
      terms: 'I confirm this payment to Northwind Travel Ltd.',
    };
    const c = await sendAndShow({ kind: 'confirm', payload: { transaction } });
    assert.equal(c.title, 'Dana Reyes asks you to confirm a payment');
    assert.equal(c.kind === 'confirm' && c.command.payload.account, 'GB29 •••• 6819');
    const { receipt } = await commands().confirmTransaction(c.commandId, { kind: 'biometric' });
    assert.equal(receipt.factor, 'biometric');
    assert.equal(receipt.account, 'GB29 •••• 6819');
    assert.deepEqual((await commands().receipts())[0], receipt);
    const v = await viewOf(c.commandId);
    assert.equal(v.state, 'done');
    assert.equal(v.result.kind, 'confirm');
    assert.equal(v.result.factor, 'biometric');
    assert.equal(v.result.receipt.receiptId, receipt.receiptId);
    assert.ok(v.result.verifiedAt);
    const canonical = confirmCanonical({
      commandId: c.commandId,
      requestId,
      sessionId: device.request!.sessionId,
      deviceId: device.identity!.deviceId,
      transaction,
    });
    assert.equal(v.result.canonical, canonical);
    const jwk = JSON.parse(
      (
        await a.sql<{ public_jwk: string }>`
          SELECT public_jwk FROM devices WHERE id = ${device.identity!.deviceId}`
      )[0]!.public_jwk,
    );
    const checked = await compactVerify(v.result.signature, createPublicKey({ key: jwk, format: 'jwk' }));
    assert.equal(new TextDecoder().decode(checked.payload), canonical);
  });

  it('decline on a card; a replayed frame of an answered command is refused by the SDK and never shown', async () => {
    const d = await sendAndShow({ kind: 'text', payload: { input: 'email', prompt: 'Your email' } });
    await commands().decline(d.commandId);
    assert.equal((await viewOf(d.commandId)).state, 'declined');
    const frame = rawFrames.find(
      (r) => r.includes(`"commandId":"${d.commandId}"`) && r.includes('"type":"command"'),
    );
    assert.ok(frame, 'the command frame was recorded');
    const n = refused.length;
    // The same bytes again on the device's socket, exactly as a replaying relay would send them.
    const live = sockets.at(-1)! as unknown as WebSocketLike;
    live.onmessage?.({ data: frame });
    await commands().drain();
    assert.equal(refused.length, n + 1);
    assert.equal(refused.at(-1)!.reason, 'replayed');
    assert.equal(refused.at(-1)!.commandId, d.commandId);
    assert.equal(commands().get(d.commandId), undefined);
  });

  it('commands sent while the feed is down arrive after the reconnect (pending list), verified like the others', async () => {
    const ws = sockets.at(-1)!;
    const reconnected = when(
      'the feed to notice',
      (l) => device.on('feed', l),
      () => device.feedStatus === 'reconnecting',
    );
    ws.terminate();
    await reconnected;
    const r = await send({ kind: 'navigate', payload: { screen: 'help' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const fetchesBefore = fetched.filter((f) => f === `GET ${routePath('deviceCommands')}`).length;
    const c = await card(r.body.commandId);
    assert.ok(sockets.length >= 2, 'a new socket');
    assert.ok(
      fetched.filter((f) => f === `GET ${routePath('deviceCommands')}`).length > fetchesBefore,
      'fetched after reconnect',
    );
    await commands().navigated(c.commandId);
  });

  it('stop all: cards gone, the agent refused until the customer allows again', async () => {
    const open = await sendAndShow({ kind: 'text', payload: { input: 'free', prompt: 'Anything else?' } });
    const states: boolean[] = [];
    commands().on('control', (s) => states.push(s.stopped));
    const stopped = await commands().stopControl();
    assert.deepEqual(stopped.cancelled, [open.commandId]);
    assert.equal(commands().list.length, 0);
    assert.equal(commands().stopped, true);
    assert.equal((await viewOf(open.commandId)).state, 'cancelled');
    const refusedSend = await send({ kind: 'navigate', payload: { screen: 'home' } });
    assert.equal(refusedSend.status, 409);
    assert.equal(refusedSend.body.code, 'control_stopped');
    const list = await agentApi('requestCommands', { params: { requestId } });
    assert.equal(list.body.control.stopped, true);
    // An app that forgot (reinstalled, storage cleared) learns it again from the authority.
    (commands() as unknown as { stoppedRequestId: string | null }).stoppedRequestId = null;
    assert.equal(commands().stopped, false);
    await commands().fetchPending();
    assert.equal(commands().stopped, true, 'the pending list says control is stopped');
    await commands().resumeControl();
    assert.equal(commands().stopped, false);
    assert.deepEqual(states, [true, true, false]);
    await commands().fetchPending();
    assert.equal(commands().stopped, false);
    const again = await sendAndShow({ kind: 'navigate', payload: { screen: 'home' } });
    await commands().navigated(again.commandId);
  });

  it('a warm transfer: the new holder’s commands (higher fence, seq from 1) are shown, the old agent is refused, the device names the new agent', async () => {
    const sup = await staffLogin(a.url, 'supervisor', 'demo-supervisor');
    await agentApi('setPresence', { json: { state: 'available' } }, sup.token);
    const t = await agentApi('transfer', {
      params: { requestId },
      json: {
        fence,
        mode: 'warm',
        target: { kind: 'supervisor', staffId: sup.staffId },
      },
    });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const accepted = await agentApi(
      'acceptTransfer',
      { params: { transferId: t.body.transferId } },
      sup.token,
    );
    assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
    const newFence: number = accepted.body.toFence;
    assert.ok(newFence > fence);
    await when(
      'request.update naming the new agent',
      (l) => device.on('request', l),
      () => device.request?.agentName === 'Morgan Lee',
    );
    const old = await send({ kind: 'navigate', payload: { screen: 'home' } });
    assert.equal(old.status, 403);
    assert.equal(old.body.code, 'not_assigned');
    seq = 0;
    const r = await send({ kind: 'navigate', payload: { screen: 'request' } }, sup.token, newFence);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const c = await card(r.body.commandId);
    assert.equal(c.agentName, 'Morgan Lee');
    assert.deepEqual([c.fence, c.seq], [newFence, 1]);
    await commands().navigated(c.commandId);
    // end: a notice, acknowledged and answered by the SDK.
    const ended = new Promise<{ agentName: string; reason: string | null }>((resolve) =>
      commands().on('ended', resolve),
    );
    const e = await send({ kind: 'end', payload: { reason: 'All done' } }, sup.token, newFence);
    assert.equal(e.status, 201, JSON.stringify(e.body));
    const end = await within("the SDK's 'ended' event", ended);
    assert.deepEqual([end.agentName, end.reason], ['Morgan Lee', 'All done']);
    // The SDK's answer reaches the authority (the agent's view says done).
    await until(
      "the SDK's answer to the end command in the agent's view",
      async () => (await viewOf(e.body.commandId, sup.token))?.state === 'done',
    );
  });
});
