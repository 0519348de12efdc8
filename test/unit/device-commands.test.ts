/**
 * The device's command verifier (customer/sdk/command-verifier.ts) against real
 * authority-shaped JWS (ES256 by a fresh key, published as a JWKS, typ vd-command+jwt):
 * every check of the contract — signature, typ, claims, own device/session/request,
 * expiry and issue time with the 5 s skew, single-use command ids, live menu revisions,
 * (fence, seq) ordering across a transfer — then DeviceCommands' cards, answers and
 * refusals over a recording fetch, and the input checks that mirror the authority's.
 */
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { compactVerify, SignJWT } from 'jose';
import {
  CALL_TICKET_TYP,
  CONFIRM_SIGNATURE_TYP,
  confirmCanonical,
  confirmChallenge,
  type CommandClaims,
  type ClientFrame,
} from '../../protocol/src/index.ts';
import {
  AuthorityClient,
  CommandInputError,
  CommandVerifier,
  DeviceCommands,
  DeviceKey,
  confirmationSignature,
  formatAmount,
  validateForm,
  validateText,
  type AgentCommand,
  type CommandVerdict,
  type RefusedCommand,
} from '../../customer/sdk/index.ts';
import { CommandSigner, commandClaims, opaqueId } from '../support/command-signer.ts';
import { until } from '../support/wait.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const DEV = 'D'.repeat(43);
const SID = 'S'.repeat(43);
const RID = 'req_0000000000000001';

function setup(opts: { now?: number } = {}) {
  const clock = { now: opts.now ?? T0 };
  const binding = { dev: DEV as string | null, sid: SID as string | null, rid: RID as string | null };
  return { clock, binding };
}

async function harness() {
  const signer = await CommandSigner.create();
  const { clock, binding } = setup();
  const verifier = new CommandVerifier({
    keys: signer.keys(),
    binding: { deviceId: () => binding.dev, sessionId: () => binding.sid, requestId: () => binding.rid },
    now: () => clock.now,
  });
  const claims = (over: Partial<CommandClaims> = {}) =>
    commandClaims({ dev: DEV, sid: SID, rid: RID, nowMs: clock.now }, over);
  const signed = (over: Partial<CommandClaims> = {}) => signer.sign(claims(over));
  return { signer, verifier, clock, binding, claims, signed };
}

const refusal = (v: CommandVerdict) => (v.verdict === 'refuse' ? v.reason : v.verdict);

describe('CommandVerifier: what the device checks before it shows a command', () => {
  it('shows a valid command once; the same token again while it is on screen is a duplicate, after the answer a replay', async () => {
    const h = await harness();
    const jws = await h.signed({ seq: 1 });
    const v = await h.verifier.check(jws);
    assert.equal(v.verdict, 'show');
    assert.equal(v.verdict === 'show' && v.claims.agn, 'Dana Reyes');
    assert.equal(refusal(await h.verifier.check(jws)), 'duplicate');
    h.verifier.close(v.verdict === 'show' ? v.claims.cid : '');
    assert.equal(refusal(await h.verifier.check(jws)), 'replayed');
  });

  it('refuses a bad signature: a flipped byte, another key with the same kid, the signature of another token', async () => {
    const h = await harness();
    const jws = await h.signed();
    const [hd, pl, sg] = jws.split('.') as [string, string, string];
    const sig = Buffer.from(sg, 'base64url');
    sig[10]! ^= 0x01;
    assert.equal(refusal(await h.verifier.check(`${hd}.${pl}.${sig.toString('base64url')}`)), 'forged');
    const impostor = await CommandSigner.create(h.signer.kid);
    assert.equal(refusal(await h.verifier.check(await impostor.sign(h.claims()))), 'forged');
    const other = (await h.signed()).split('.')[2];
    assert.equal(refusal(await h.verifier.check(`${hd}.${pl}.${other}`)), 'forged');
    // A payload changed after signing (the agent's name, the amount...) breaks the signature.
    const forgedPayload = Buffer.from(JSON.stringify({ ...h.claims(), agn: 'Mallory' })).toString(
      'base64url',
    );
    assert.equal(refusal(await h.verifier.check(`${hd}.${forgedPayload}.${sg}`)), 'forged');
  });

  it('refuses what is not an authority command: another typ, another issuer, alg none, HS256, extra claims, not a JWS', async () => {
    const h = await harness();
    assert.equal(
      refusal(await h.verifier.check(await h.signer.sign(h.claims(), { typ: CALL_TICKET_TYP }))),
      'wrong-type',
    );
    assert.equal(
      refusal(await h.verifier.check(await h.signer.sign({ ...h.claims(), iss: 'someone-else' }))),
      'forged',
    );
    const none = [
      Buffer.from(JSON.stringify({ alg: 'none', typ: 'vd-command+jwt' })).toString('base64url'),
      Buffer.from(JSON.stringify(h.claims())).toString('base64url'),
      'AA',
    ].join('.');
    assert.ok(['forged', 'malformed'].includes(refusal(await h.verifier.check(none))));
    const hs = await new SignJWT(h.claims())
      .setProtectedHeader({ alg: 'HS256', typ: 'vd-command+jwt', kid: h.signer.kid })
      .sign(new Uint8Array(32));
    assert.ok(['forged', 'malformed'].includes(refusal(await h.verifier.check(hs))));
    assert.equal(
      refusal(await h.verifier.check(await h.signer.sign({ ...h.claims(), extra: 1 }))),
      'malformed',
    );
    assert.equal(
      refusal(await h.verifier.check(await h.signer.sign({ ...h.claims(), jti: 'x'.repeat(20) }))),
      'malformed',
    );
    const badCmd = { ...h.claims(), cmd: { kind: 'confirm', payload: { transaction: { amount: -1 } } } };
    assert.equal(refusal(await h.verifier.check(await h.signer.sign(badCmd))), 'malformed');
    for (const junk of ['', 'a.b', 'not a jws at all', 'a.b.c.d', null, 42, {}])
      assert.equal(refusal(await h.verifier.check(junk)), 'malformed');
    // None of them counted as executed: a valid command with seq 1 is still shown.
    assert.equal((await h.verifier.check(await h.signed({ seq: 1 }))).verdict, 'show');
  });

  it('refuses a command for another device, another session or another request, and everything before enrolment or without an open request', async () => {
    const h = await harness();
    assert.equal(refusal(await h.verifier.check(await h.signed({ dev: 'E'.repeat(43) }))), 'other-device');
    assert.equal(refusal(await h.verifier.check(await h.signed({ sid: 'T'.repeat(43) }))), 'other-session');
    assert.equal(
      refusal(await h.verifier.check(await h.signed({ rid: 'req_0000000000000002' }))),
      'other-request',
    );
    const valid = await h.signed();
    h.binding.rid = null;
    assert.equal(refusal(await h.verifier.check(valid)), 'other-request');
    h.binding.rid = RID;
    h.binding.sid = null;
    assert.equal(refusal(await h.verifier.check(valid)), 'other-session');
    h.binding.sid = SID;
    h.binding.dev = null;
    assert.equal(refusal(await h.verifier.check(valid)), 'other-device');
    h.binding.dev = DEV;
    assert.equal(
      (await h.verifier.check(valid)).verdict,
      'show',
      'the same token passes once the binding is right',
    );
  });

  it('expiry and issue time hold with a 5 s skew, both ways', async () => {
    const h = await harness();
    const iat = Math.floor(T0 / 1000);
    const within = await h.signed({ iat, exp: iat + 10, seq: 1 });
    const past = await h.signed({ iat, exp: iat + 10, seq: 2 });
    h.clock.now = T0 + 14_900; // 4.9 s after exp: within the skew
    assert.equal((await h.verifier.check(within)).verdict, 'show');
    h.clock.now = T0 + 15_100; // 5.1 s after exp
    assert.equal(refusal(await h.verifier.check(past)), 'expired');
    h.clock.now = T0 + 60_000;
    assert.equal(refusal(await h.verifier.check(past)), 'expired');

    h.clock.now = T0;
    const soon = await h.signer.sign(h.claims({ iat: iat + 4, exp: iat + 120, seq: 3 }));
    assert.equal((await h.verifier.check(soon)).verdict, 'show', 'iat 4 s ahead: clock skew, accepted');
    const future = await h.signer.sign(h.claims({ iat: iat + 30, exp: iat + 150, seq: 4 }));
    assert.equal(refusal(await h.verifier.check(future)), 'from-the-future');
  });

  it('a command id is single use: a new token with a used id is refused, whatever its seq', async () => {
    const h = await harness();
    const cid = opaqueId();
    const first = await h.verifier.check(await h.signed({ cid, seq: 1 }));
    assert.equal(first.verdict, 'show');
    h.verifier.close(cid);
    assert.equal(refusal(await h.verifier.check(await h.signed({ cid, seq: 2 }))), 'replayed');
    assert.equal(refusal(await h.verifier.check(await h.signed({ cid, seq: 3, rev: 2 }))), 'replayed');
  });

  it('(fence, seq) strictly increases: equal is a replay, lower is out of order; a transfer brings a higher fence and seq restarts', async () => {
    const h = await harness();
    assert.equal((await h.verifier.check(await h.signed({ fence: 3, seq: 5 }))).verdict, 'show');
    assert.equal(refusal(await h.verifier.check(await h.signed({ fence: 3, seq: 5 }))), 'replayed');
    assert.equal(refusal(await h.verifier.check(await h.signed({ fence: 3, seq: 4 }))), 'out-of-order');
    assert.equal(refusal(await h.verifier.check(await h.signed({ fence: 2, seq: 99 }))), 'out-of-order');
    assert.equal((await h.verifier.check(await h.signed({ fence: 3, seq: 6 }))).verdict, 'show');
    // Transfer: fence 4, seq starts again at 1.
    assert.equal((await h.verifier.check(await h.signed({ fence: 4, seq: 1 }))).verdict, 'show');
    assert.equal(
      refusal(await h.verifier.check(await h.signed({ fence: 3, seq: 7 }))),
      'out-of-order',
      "the old agent's next command",
    );
    assert.deepEqual(h.verifier.lastExecuted(RID), { fence: 4, seq: 1 });
    // Another request of this device keeps its own order.
    h.binding.rid = 'req_0000000000000009';
    assert.equal(
      (await h.verifier.check(await h.signed({ rid: h.binding.rid, fence: 1, seq: 1 }))).verdict,
      'show',
    );
  });

  it('a menu edited live: only a higher revision of the command on screen is an update', async () => {
    const h = await harness();
    const cid = opaqueId();
    const menu = (labels: string[]) => ({
      kind: 'menu' as const,
      payload: { title: 'What happened?', items: labels.map((label, i) => ({ id: `i${i}`, label })) },
    });
    const r1 = await h.signed({ cid, rev: 1, seq: 1, cmd: menu(['Lost']) });
    assert.equal((await h.verifier.check(r1)).verdict, 'show');
    // Another command in between (seq 2), then the edit of the menu keeps its own seq 1.
    assert.equal((await h.verifier.check(await h.signed({ seq: 2 }))).verdict, 'show');
    const r2 = await h.signed({ cid, rev: 2, seq: 1, cmd: menu(['Lost', 'Stolen']) });
    const up = await h.verifier.check(r2);
    assert.equal(up.verdict, 'update');
    assert.equal(up.verdict === 'update' && up.previousRevision, 1);
    assert.equal(refusal(await h.verifier.check(r2)), 'duplicate');
    assert.equal(refusal(await h.verifier.check(r1)), 'replayed', 'the older revision again');
    assert.equal(
      refusal(await h.verifier.check(await h.signed({ cid, rev: 2, seq: 1, cmd: menu(['Other']) }))),
      'duplicate',
      'an equal revision is never applied twice',
    );
    h.verifier.close(cid);
    assert.equal(
      refusal(await h.verifier.check(await h.signed({ cid, rev: 3, seq: 1, cmd: menu(['Late']) }))),
      'replayed',
      'no update of a command no longer on screen',
    );
  });

  it('two deliveries of one new command at once: exactly one is shown', async () => {
    const h = await harness();
    const jws = await h.signed({ seq: 1 });
    const both = await Promise.all([h.verifier.check(jws), h.verifier.check(jws)]);
    assert.deepEqual(both.map((v) => v.verdict).sort(), ['duplicate', 'show']);
  });

  it('remembers across a reload: an open command comes back (restore), a used one stays refused, the order holds', async () => {
    const h = await harness();
    const open = await h.signed({ seq: 1 });
    const done = await h.signed({ seq: 2 });
    const vOpen = await h.verifier.check(open);
    const vDone = await h.verifier.check(done);
    assert.equal(vOpen.verdict, 'show');
    h.verifier.close(vDone.verdict === 'show' ? vDone.claims.cid : '');
    const after = new CommandVerifier({
      keys: h.signer.keys(),
      binding: { deviceId: () => DEV, sessionId: () => SID, requestId: () => RID },
      now: () => h.clock.now,
      memory: JSON.parse(JSON.stringify(h.verifier.snapshot())),
    });
    assert.equal((await after.check(open)).verdict, 'restore');
    assert.equal(refusal(await after.check(open)), 'duplicate');
    assert.equal(refusal(await after.check(done)), 'replayed');
    assert.equal(refusal(await after.check(await h.signed({ seq: 2 }))), 'replayed');
    assert.equal((await after.check(await h.signed({ seq: 3 }))).verdict, 'show');
  });
});

// ---------------------------------------------------------------------------------------

/** A fetch that records the device's calls and answers like the authority's command routes. */
function recordingFetch(
  answer: (method: string, path: string, body: unknown) => { status: number; body: unknown },
) {
  const calls: { method: string; path: string; body: unknown; headers: Record<string, string> }[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : init?.body;
    calls.push({
      method: init?.method ?? 'GET',
      path: url.pathname,
      body,
      headers: init?.headers as Record<string, string>,
    });
    const a = answer(init?.method ?? 'GET', url.pathname, body);
    return new Response(JSON.stringify(a.body), { status: a.status });
  }) as typeof fetch;
  return { f, calls };
}

const receipt = (path: string, state = 'done') => ({
  status: 200,
  body: { commandId: path.split('/')[4], state, at: new Date(T0).toISOString() },
});

async function deviceCommands(
  answer?: Parameters<typeof recordingFetch>[0],
  send?: (frame: ClientFrame) => boolean,
) {
  const signer = await CommandSigner.create();
  const key = await DeviceKey.generate();
  const dev = await key.thumbprint();
  const rf = recordingFetch(answer ?? ((m, p) => (p.endsWith('/ack') ? receipt(p, 'shown') : receipt(p))));
  const client = new AuthorityClient({ baseUrl: 'http://authority.test', fetch: rf.f, now: () => T0 });
  client.credentials = { token: 'tok_0000000000000000', key: key.privateKey };
  const steps: string[] = [];
  const commands = new DeviceCommands({
    keys: signer.keys(),
    now: () => T0,
    host: {
      client,
      deviceId: () => dev,
      openRequest: () => ({ requestId: RID, sessionId: SID }),
      ensureAuthenticated: async () => undefined,
      verifyPin: async (pin) => {
        steps.push(`pin:${pin}`);
        return {} as never;
      },
      verifyBiometric: async () => {
        steps.push('biometric');
        return {} as never;
      },
      signConfirmation: (canonical) => confirmationSignature(key.privateKey, canonical),
      ...(send ? { send } : {}),
      assertTransaction: async (challenge) => {
        steps.push(`assert:${challenge}`);
        return {
          id: 'cred',
          rawId: 'cred',
          type: 'public-key',
          response: { clientDataJSON: 'e30', authenticatorData: 'AA', signature: 'AA' },
          clientExtensionResults: {},
        } as never;
      },
    },
  });
  const refused: RefusedCommand[] = [];
  commands.on('refused', (r) => refused.push(r));
  const sign = (over: Partial<CommandClaims>) =>
    signer.sign(commandClaims({ dev, sid: SID, rid: RID, nowMs: T0 }, over));
  const frame = async (over: Partial<CommandClaims>) => {
    const jws = await sign(over);
    const cid = JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).cid as string;
    return { type: 'command' as const, commandId: cid, jws };
  };
  return { commands, refused, calls: rf.calls, key, dev, steps, sign, frame };
}

describe('DeviceCommands: verified cards, acknowledgement, typed answers, refusals', () => {
  it("with the request's socket open, shown() acknowledges on it (no HTTP request); its refusal is the route's; without an answer in 5 s it goes over HTTP", async (t) => {
    const sent: ClientFrame[] = [];
    let open = true;
    const d = await deviceCommands(undefined, (frame) => (open ? (sent.push(frame), true) : false));
    const answered = async (id: string) => {
      while (!sent.some((f) => f.type === 'command.ack' && f.commandId === id))
        await new Promise((r) => setImmediate(r));
    };
    const card = async (seq: number) => {
      await d.commands.receive(
        await d.frame({ seq, cmd: { kind: 'navigate', payload: { screen: 'account' } } }),
      );
      return d.commands.list.at(-1)!.commandId;
    };
    // Recorded on the socket: shown, and no HTTP request at all.
    const a = await card(1);
    const shownA = d.commands.shown(a);
    await answered(a);
    d.commands.handleFrame({
      type: 'command.acked',
      commandId: a,
      state: 'shown',
      at: new Date(T0).toISOString(),
    });
    assert.equal(await shownA, true);
    assert.equal(d.calls.length, 0, 'no HTTP request for a socket ack');
    // Refused on the socket (expired): the card goes, as with the route's 410.
    const b = await card(2);
    const shownB = d.commands.shown(b);
    await answered(b);
    d.commands.handleFrame({
      type: 'command.ack.refused',
      commandId: b,
      code: 'command_expired',
      message: 'expired',
    });
    assert.equal(await shownB, false);
    assert.equal(d.commands.get(b), undefined);
    // No socket: HTTP with the device proof.
    open = false;
    const c = await card(3);
    assert.equal(await d.commands.shown(c), true);
    assert.deepEqual(
      d.calls.map((x) => x.path),
      [`/v1/device/commands/${c}/ack`],
    );
    // A socket that never answers: HTTP after 5 s.
    open = true;
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const e = await card(4);
    const shownE = d.commands.shown(e);
    await answered(e);
    t.mock.timers.tick(5_000);
    assert.equal(await shownE, true);
    assert.equal(d.calls.at(-1)!.path, `/v1/device/commands/${e}/ack`);
  });

  it('a verified frame becomes a card naming the agent; shown() acknowledges once; decline answers and removes it', async () => {
    const d = await deviceCommands();
    const f = await d.frame({
      seq: 1,
      cmd: { kind: 'photo', payload: { prompt: 'Your face', camera: 'front' } },
    });
    await d.commands.receive(f);
    assert.equal(d.commands.list.length, 1);
    const card = d.commands.list[0]!;
    assert.equal(card.title, 'Dana Reyes asks for a photo');
    assert.equal(card.kind, 'photo');
    assert.equal(await d.commands.shown(card.commandId), true);
    assert.equal(await d.commands.shown(card.commandId), true);
    assert.deepEqual(
      d.calls.map((c) => `${c.method} ${c.path}`),
      [`POST /v1/device/commands/${card.commandId}/ack`],
      'one ack, with the device proof',
    );
    assert.ok(d.calls[0]!.headers['device-proof']);
    await d.commands.decline(card.commandId);
    assert.deepEqual(d.calls[1]!.body, { outcome: 'declined' });
    assert.equal(d.commands.list.length, 0);
    // The same frame again: refused as a replay, never shown.
    assert.equal((await d.commands.receive(f)).verdict, 'refuse');
    assert.equal(d.refused.at(-1)?.reason, 'replayed');
    assert.equal(d.commands.list.length, 0);
  });

  it('a frame whose envelope names another command than its signed claims is refused', async () => {
    const d = await deviceCommands();
    const f = await d.frame({ seq: 1 });
    await d.commands.receive({ commandId: opaqueId(), jws: f.jws });
    assert.equal(d.commands.list.length, 0);
    assert.equal(d.refused[0]?.reason, 'malformed');
  });

  it('confirm: the fingerprint over confirmChallenge of this payment, and the device key signs confirmCanonical with typ vd-confirm+jws', async () => {
    const transaction = {
      amount: 125_000,
      currency: 'GBP',
      payee: 'Northwind',
      reference: 'INV-1',
      terms: 'I agree.',
    };
    const account = 'GB29 •••• 6819';
    const nonce = 'n0nce-0000000000000000';
    const d = await deviceCommands((_m, p) =>
      p.endsWith('/result')
        ? {
            status: 200,
            body: {
              ...receipt(p).body,
              receipt: {
                receiptId: 'R-ABCDEFGH23',
                commandId: p.split('/')[4],
                requestId: RID,
                at: new Date(T0).toISOString(),
                payee: transaction.payee,
                amount: transaction.amount,
                currency: transaction.currency,
                reference: transaction.reference,
                account,
                factor: 'biometric',
              },
            },
          }
        : receipt(p, 'shown'),
    );
    const f = await d.frame({ seq: 1, cmd: { kind: 'confirm', payload: { transaction, account, nonce } } });
    await d.commands.receive(f);
    const done = await d.commands.confirmTransaction(f.commandId, { kind: 'biometric' });
    assert.equal(done.receipt.receiptId, 'R-ABCDEFGH23');
    assert.deepEqual(d.steps, [
      `assert:${await confirmChallenge({ commandId: f.commandId, transaction, account, nonce })}`,
    ]);
    const body = d.calls.at(-1)!.body as {
      outcome: string;
      result: { kind: string; signature: string; factor: { kind: string } };
    };
    assert.equal(body.result.kind, 'confirm');
    assert.equal(body.result.factor.kind, 'biometric');
    const jwk = await d.key.publicJwk();
    const v = await compactVerify(body.result.signature, createPublicKey({ key: jwk, format: 'jwk' }));
    assert.equal(v.protectedHeader.typ, CONFIRM_SIGNATURE_TYP);
    assert.equal(
      new TextDecoder().decode(v.payload),
      confirmCanonical({
        commandId: f.commandId,
        requestId: RID,
        sessionId: SID,
        deviceId: d.dev,
        transaction,
      }),
    );
  });

  it('verify runs the step-up first; text and form answers are checked before anything is sent', async () => {
    const d = await deviceCommands();
    const v = await d.frame({
      seq: 1,
      cmd: { kind: 'verify', payload: { factor: 'pin', reason: 'Before the payment' } },
    });
    await d.commands.receive(v);
    await assert.rejects(d.commands.verifyWithBiometric(v.commandId), CommandInputError);
    await d.commands.verifyWithPin(v.commandId, '112358');
    assert.deepEqual(d.steps, ['pin:112358']);
    assert.deepEqual((d.calls.at(-1)!.body as { result: unknown }).result, { kind: 'verify', factor: 'pin' });

    const t = await d.frame({
      seq: 2,
      cmd: { kind: 'text', payload: { input: 'tracking', prompt: 'Tracking number' } },
    });
    await d.commands.receive(t);
    const before = d.calls.length;
    await assert.rejects(d.commands.answerText(t.commandId, 'jd01 42'), /6 to 40 letters and digits/);
    assert.equal(d.calls.length, before, 'nothing sent');
    await d.commands.answerText(t.commandId, ' jd014277gb ');
    assert.deepEqual((d.calls.at(-1)!.body as { result: unknown }).result, {
      kind: 'text',
      value: 'JD014277GB',
    });

    const form = await d.frame({
      seq: 3,
      cmd: {
        kind: 'form',
        payload: {
          title: 'Delivery',
          fields: [
            { id: 'street', label: 'Street', type: 'text', required: true },
            { id: 'floor', label: 'Floor', type: 'number', required: false, min: 0, max: 200 },
            { id: 'agree', label: 'I agree', type: 'checkbox', required: true },
          ],
        },
      },
    });
    await d.commands.receive(form);
    await assert.rejects(
      d.commands.submitForm(form.commandId, { street: '', floor: '500', agree: false }),
      (e: CommandInputError) => {
        assert.deepEqual(Object.keys(e.fields).sort(), ['agree', 'floor', 'street']);
        return true;
      },
    );
    await d.commands.submitForm(form.commandId, { street: '1 Main St', floor: '3', agree: true });
    assert.deepEqual((d.calls.at(-1)!.body as { result: unknown }).result, {
      kind: 'form',
      values: { street: '1 Main St', floor: 3, agree: true },
    });
  });

  it('a live menu edit replaces the card in place; the choice names the revision on screen', async () => {
    const d = await deviceCommands();
    const cid = opaqueId();
    const menu = (n: number) => ({
      kind: 'menu' as const,
      payload: {
        title: 'Pick',
        items: Array.from({ length: n }, (_, i) => ({ id: `i${i}`, label: `Item ${i}` })),
      },
    });
    const changes: (readonly AgentCommand[])[] = [];
    d.commands.on('changed', (l) => changes.push(l));
    await d.commands.receive({ commandId: cid, jws: await d.sign({ cid, seq: 1, rev: 1, cmd: menu(2) }) });
    await d.commands.receive({ commandId: cid, jws: await d.sign({ cid, seq: 1, rev: 2, cmd: menu(3) }) });
    assert.equal(d.commands.list.length, 1);
    const card = d.commands.get(cid)!;
    assert.equal(card.revision, 2);
    assert.equal(card.kind === 'menu' && card.command.payload.items.length, 3);
    assert.equal(changes.length, 2);
    await d.commands.chooseMenuItem(cid, 'i2');
    assert.deepEqual((d.calls.at(-1)!.body as { result: unknown }).result, {
      kind: 'menu',
      itemId: 'i2',
      revision: 2,
    });
  });

  it('end is acknowledged and answered by the SDK and announced; command.cancelled withdraws a card', async () => {
    const d = await deviceCommands();
    const ended: string[] = [];
    d.commands.on('ended', (e) => ended.push(`${e.agentName}: ${e.reason}`));
    const withdrawn: string[] = [];
    d.commands.on('withdrawn', (w) => withdrawn.push(w.reason));
    const t = await d.frame({ seq: 1, cmd: { kind: 'screenshot', payload: { prompt: 'Your screen' } } });
    await d.commands.receive(t);
    d.commands.handleFrame({
      type: 'command.cancelled',
      commandId: t.commandId,
      requestId: RID,
      reason: 'transferred',
    });
    assert.deepEqual(withdrawn, ['transferred']);
    assert.equal(d.commands.list.length, 0);
    await d.commands.receive(
      await d.frame({ seq: 2, cmd: { kind: 'end', payload: { reason: 'All done' } } }),
    );
    assert.deepEqual(ended, ['Dana Reyes: All done']);
    assert.equal(d.commands.list.length, 0, 'end is a notice, not a card');
    await until('the end notice acknowledged and answered', () => d.calls.length >= 2);
    assert.deepEqual(
      d.calls.map((c) => c.path.split('/').at(-1)),
      ['ack', 'result'],
    );
    d.commands.dispose();
  });

  it('a refused command that verified (out of order) is reported to the authority as failed; a forged one is not', async () => {
    const d = await deviceCommands();
    await d.commands.receive(await d.frame({ fence: 2, seq: 5 }));
    const stale = await d.frame({ fence: 2, seq: 4 });
    await d.commands.receive(stale);
    await until('the stale command reported', () =>
      d.calls.some((c) => c.path.endsWith(`${stale.commandId}/result`)),
    );
    const failed = d.calls.filter((c) => c.path.endsWith(`${stale.commandId}/result`));
    assert.deepEqual(
      failed.map((c) => c.body),
      [{ outcome: 'failed', reason: 'refused by the device: out-of-order' }],
    );
    const other = await CommandSigner.create();
    const forged = await other.sign(commandClaims({ dev: d.dev, sid: SID, rid: RID, nowMs: T0 }, { seq: 9 }));
    const n = d.calls.length;
    await d.commands.receive({ commandId: 'x'.repeat(16), jws: forged });
    assert.equal(d.calls.length, n);
    assert.deepEqual(
      d.refused.map((r) => r.reason),
      ['out-of-order', 'forged'],
    );
    d.commands.dispose();
  });
});

describe('input checks and amounts', () => {
  it('text per input type, like the authority', () => {
    assert.deepEqual(validateText({ input: 'tracking', prompt: 'x' }, 'ab'), {
      ok: false,
      message: 'A tracking number is 6 to 40 letters and digits, without spaces.',
    });
    assert.equal(validateText({ input: 'email', prompt: 'x' }, 'not-an-email').ok, false);
    assert.deepEqual(validateText({ input: 'email', prompt: 'x' }, 'alice@example.com'), {
      ok: true,
      value: 'alice@example.com',
    });
    assert.equal(validateText({ input: 'free', prompt: 'x', maxLength: 5 }, 'too long').ok, false);
    assert.equal(validateText({ input: 'free', prompt: 'x' }, '   ').ok, false);
  });

  it('forms: select ids, optional empties left out, checkboxes always present', () => {
    const r = validateForm(
      {
        title: 'f',
        fields: [
          { id: 'slot', label: 'When', type: 'select', required: true, options: [{ id: 'am', label: 'AM' }] },
          { id: 'mail', label: 'Email', type: 'email', required: false },
          { id: 'news', label: 'News', type: 'checkbox', required: false },
        ],
      },
      { slot: 'am', mail: '' },
    );
    assert.deepEqual(r, { ok: true, values: { slot: 'am', news: false } });
  });

  it('amounts in minor units use the currency’s own decimals', () => {
    assert.equal(formatAmount({ amount: 125_000, currency: 'GBP' }, 'en-GB'), '£1,250.00');
    assert.equal(formatAmount({ amount: 5_000, currency: 'JPY' }, 'en-GB'), 'JP¥5,000');
    assert.equal(formatAmount({ amount: 1_234, currency: 'EUR' }, 'de-DE'), '12,34\u00a0€');
  });
});
