/**
 * A payment is confirmed with strong customer authentication (issue 15, defect 11; PSD2 RTS
 * Art. 4/5 dynamic linking): the confirm command carries payee, amount, currency and the
 * debited account (masked, from the customer's account data) and a nonce set by the
 * authority; the device answers with its key's signature AND a user-verifying factor given
 * now: a WebAuthn assertion (UV required) whose challenge is SHA-256 over the transaction, or
 * the PIN (counted towards the lockout). Tampered, replayed or unverified confirmations are
 * refused and audited; a confirmed one gets a receipt, listed at GET /v1/device/receipts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  confirmChallenge,
  type CommandClaims,
  type DeviceCommand,
  type Transaction,
} from '../../protocol/src/index.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { SoftwareAuthenticator, type CeremonyKnobs } from '../support/webauthn-authenticator.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const ORIGIN = 'http://localhost:5173';
const PIN = '731904';

describe('confirming a payment needs a user-verifying factor bound to the transaction', () => {
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

  const transaction: Transaction = {
    amount: 150_000,
    currency: 'GBP',
    payee: 'Northwind Travel Ltd',
    reference: 'INV-2026-0042',
    terms: 'I confirm this payment of £1,500.00 to Northwind Travel Ltd.',
  };

  const send = (command: DeviceCommand) =>
    api(a.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, seq: ++seq, command },
    });
  const sendConfirm = async (t: Transaction = transaction) => {
    const r = await send({ kind: 'confirm', payload: { transaction: t } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
    const v = await ctl.guard.check(f.jws);
    if (v.verdict !== 'execute') throw new Error(`the device did not execute it: ${JSON.stringify(v)}`);
    assert.equal((await ctl.ack(r.body.commandId)).status, 200);
    return { commandId: r.body.commandId as string, claims: v.claims };
  };
  /** The fingerprint over the challenge of `t` (default: the transaction the command carries). */
  const fingerprint = async (claims: CommandClaims, t?: Transaction, k: CeremonyKnobs = {}) => {
    const cmd = claims.cmd as Extract<DeviceCommand, { kind: 'confirm' }>;
    const challenge = await confirmChallenge({
      commandId: claims.cid,
      transaction: t ?? cmd.payload.transaction,
      account: cmd.payload.account!,
      nonce: cmd.payload.nonce!,
    });
    return authr.assert(
      { challenge, rpId: 'localhost', allowCredentials: [{ id: authr.id, type: 'public-key' }] },
      k,
    );
  };
  const refusals = async (commandId: string) =>
    (
      await a.sql<{ n: number }>`
        SELECT count(*) AS n FROM audit_log
        WHERE action = 'control.commandResult' AND outcome = 'failure' AND subject = ${`command:${commandId}`}`
    )[0]!.n;
  const state = async (commandId: string) =>
    (await a.sql<{ state: string }>`SELECT state FROM device_commands WHERE id = ${commandId}`)[0]!.state;

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
    assert.equal((await d.api('setPin', { json: { pin: PIN } })).status, 200);
    authr = new SoftwareAuthenticator({ origin: ORIGIN, rpId: 'localhost' });
    const regOptions = await d.api('webauthnRegistrationOptions');
    assert.equal(
      (await d.api('webauthnRegister', { json: { response: authr.register(regOptions.body) } })).status,
      201,
    );
    assert.equal((await d.api('pinFactor', { json: { pin: PIN } })).body.level, 2);
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
    await a?.dispose();
  });

  it('the device is shown payee, amount and the debited account (masked); the agent cannot set the account', async () => {
    const { claims } = await sendConfirm();
    const cmd = claims.cmd as Extract<DeviceCommand, { kind: 'confirm' }>;
    assert.deepEqual(cmd.payload.transaction, transaction);
    assert.equal(cmd.payload.account, 'GB29 •••• 6819');
    assert.match(cmd.payload.nonce!, /^[A-Za-z0-9_-]{16,64}$/);
    const forged = await send({
      kind: 'confirm',
      payload: { transaction, account: 'GB00 •••• 0000', nonce: 'aaaaaaaaaaaaaaaaaaaa' },
    });
    assert.equal(forged.status, 400);
    assert.match(forged.body.message, /set by the authority/);
  });

  it('a fingerprint over another amount, without user verification, or no factor at all is refused and audited; the right one gives a receipt', async () => {
    const { commandId, claims } = await sendConfirm();
    const signature = await ctl.signTransaction(claims);
    const answer = (factor: unknown) =>
      ctl.answer(commandId, { outcome: 'done', result: { kind: 'confirm', signature, factor } as never });

    const otherAmount = await answer({
      kind: 'biometric',
      assertion: await fingerprint(claims, { ...transaction, amount: 1_500 }),
    });
    assert.equal(otherAmount.status, 400, JSON.stringify(otherAmount.body));
    assert.equal(otherAmount.body.code, 'signature_invalid');
    assert.match(otherAmount.body.message, /does not cover this transaction/);

    const otherPayee = await answer({
      kind: 'biometric',
      assertion: await fingerprint(claims, { ...transaction, payee: 'Mallory Ltd' }),
    });
    assert.equal(otherPayee.status, 400);

    const noUv = await answer({
      kind: 'biometric',
      assertion: await fingerprint(claims, undefined, { userVerified: false }),
    });
    assert.equal(noUv.status, 400, JSON.stringify(noUv.body));
    assert.match(noUv.body.message, /user verification/i);

    const tapOnly = await ctl.answer(commandId, {
      outcome: 'done',
      result: { kind: 'confirm', signature } as never,
    });
    assert.equal(tapOnly.status, 409, 'a tap without a factor is refused');
    assert.equal(tapOnly.body.code, 'factor_missing');

    assert.equal(await state(commandId), 'shown', 'still open after the refusals');
    assert.equal(await refusals(commandId), 4, 'every refused confirmation is audited');

    const assertion = await fingerprint(claims);
    const ok = await answer({ kind: 'biometric', assertion });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const receipt = ok.body.receipt;
    assert.match(receipt.receiptId, /^R-[A-Z0-9]{10}$/);
    assert.equal(receipt.factor, 'biometric');
    assert.equal(receipt.payee, 'Northwind Travel Ltd');
    assert.equal(receipt.amount, 150_000);
    assert.equal(receipt.currency, 'GBP');
    assert.equal(receipt.account, 'GB29 •••• 6819');

    const upd = await agentWs.take(
      (f) => f.type === 'command.update' && f.command.commandId === commandId && f.command.state === 'done',
    );
    assert.equal(upd.command.result.factor, 'biometric');
    assert.equal(upd.command.result.receipt.receiptId, receipt.receiptId);

    // Replay: the same answer again is refused; so is the same assertion for a new confirmation.
    const again = await answer({ kind: 'biometric', assertion });
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'command_final');
    const next = await sendConfirm();
    const replayed = await ctl.answer(next.commandId, {
      outcome: 'done',
      result: {
        kind: 'confirm',
        signature: await ctl.signTransaction(next.claims),
        factor: { kind: 'biometric', assertion: assertion as never },
      },
    });
    assert.equal(replayed.status, 400);
    assert.equal(replayed.body.code, 'signature_invalid');
    assert.equal(await refusals(next.commandId), 1);

    const list = await d.api('deviceReceipts');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.receipts[0], receipt);
  });

  it('without a fingerprint the PIN entered now confirms: a wrong one is refused and counts towards the lockout', async () => {
    const { commandId, claims } = await sendConfirm({ ...transaction, amount: 2_500 });
    const signature = await ctl.signTransaction(claims);
    const failures = async () =>
      (
        await a.sql<{
          failures: number;
        }>`SELECT failures FROM pins WHERE customer_id = ${'c_alice_martin_01'}`
      )[0]!.failures;
    const before = await failures();
    const wrong = await ctl.answer(commandId, {
      outcome: 'done',
      result: { kind: 'confirm', signature, factor: { kind: 'pin', pin: '000000' } },
    });
    assert.equal(wrong.status, 401, JSON.stringify(wrong.body));
    assert.match(wrong.body.message, /attempts left/);
    assert.equal(await failures(), before + 1);
    const right = await ctl.answer(commandId, {
      outcome: 'done',
      result: { kind: 'confirm', signature, factor: { kind: 'pin', pin: PIN } },
    });
    assert.equal(right.status, 200, JSON.stringify(right.body));
    assert.equal(right.body.receipt.factor, 'pin');
    assert.equal(right.body.receipt.amount, 2_500);
    assert.equal(await failures(), 0);
    const list = await d.api('deviceReceipts');
    assert.equal(list.body.receipts[0].receiptId, right.body.receipt.receiptId);
  });
});
