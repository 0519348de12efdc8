/**
 * The verification link texted while the caller waits (issue 14 item 3, the patent
 * family's flow): Alice phones in from her registered number and has the app, so the
 * authority texts her the single-use link as the call joins the queue, before any agent
 * holds it (pipeline configuration `phoneNumbers[].linkWhileQueued`, default true). She
 * verifies in the app while still queued; the agent who then takes the call sees her
 * verified. A retried arrival texts nothing more; callers without the app, unknown callers
 * and a number whose route turns it off get no text; a gateway that fails leaves the
 * caller queued and is audited.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { answerNumber, enrolWithPin, registerPhone } from '../support/phone-in.ts';
import { until } from '../support/wait.ts';

const SECRET = 'sip-server-secret-for-the-link-while-queued-test-01';
const DIALLED = '+442079460000';
const ALICE = 'c_alice_martin_01';
const BOB = 'c_bob_okafor_002';
const sip = { authorization: `Bearer ${SECRET}` };

interface Text {
  to: string;
  text: string;
}

/** The lines of the text-message sink once it holds `count` (the text goes out after the SIP server's answer). */
async function textsWhen(file: string, count: number): Promise<Text[]> {
  const read = (): Text[] =>
    existsSync(file)
      ? readFileSync(file, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Text)
      : [];
  return await until(`${count} text messages in the sink`, () => {
    const texts = read();
    return texts.length >= count && texts;
  });
}
const tokenOf = (text: string) => /\/v\/([A-Za-z0-9_-]+)/.exec(text)?.[1] ?? '';

describe('the link is texted while the caller waits in the queue', () => {
  let a: TestAuthority;
  let dir: string;
  let sink: string;
  let admin: string;
  let agent: { token: string; staffId: string };
  let alice: TestDevice;
  let calls = 0;
  const clock = new FakeClock(Date.parse('2026-03-02T10:00:00Z'));
  const arrive = (caller: string, callId = `queued-${++calls}@192.0.2.10`) =>
    api(a.url, 'trunkCallArrived', { headers: sip, json: { callId, caller, dialled: DIALLED } });
  const linkRows = (requestId: string) =>
    a.sql<{ sent_to: string }>`SELECT sent_to FROM verification_links WHERE request_id = ${requestId}`;
  const hangUp = async (callId: string) =>
    assert.equal(
      (await api(a.url, 'trunkCallEnded', { headers: sip, params: { callId }, json: { reason: 'cancel' } }))
        .status,
      200,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vd-link-queued-'));
    sink = join(dir, 'texts.jsonl');
    a = await startTestAuthority(
      {
        sipServerSecret: SECRET,
        textSinkFile: sink,
        customerAppUrl: 'https://app.example.com/app/',
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        wrapUpSeconds: 0,
      },
      { clock },
    );
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, ALICE, '+44 7911 123456');
    await registerPhone(a.url, admin, BOB, '+44 7911 123457');
    alice = await enrolWithPin(a.url, admin, ALICE, () => clock.now());
  });
  after(() => {
    a?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('texted as the call queues (no agent yet); verified while waiting; the agent who takes it sees her verified', async () => {
    const callId = 'alice-queued@192.0.2.10';
    const q = await arrive('+447911123456', callId);
    assert.equal(q.status, 201, JSON.stringify(q.body));
    assert.equal(q.body.state, 'waiting', 'no agent is available: the caller waits');
    const requestId = q.body.requestId as string;

    const [text, ...more] = await textsWhen(sink, 1);
    assert.equal(more.length, 0);
    assert.equal(text!.to, '+447911123456', 'to the number calling, which is hers');
    assert.match(
      text!.text,
      /^Northwind Bank: to verify yourself for your call, open https:\/\/app\.example\.com\/v\/[A-Za-z0-9_-]{32} .*Not on a call with us\? Ignore this message\.$/,
    );
    const sent = await a.sql<{ actor: string; outcome: string; data: string }>`
      SELECT actor, outcome, data FROM audit_log WHERE action = 'phone.link.send' AND subject = ${`request:${requestId}`}`;
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.actor, 'sip:trunk', 'sent by the authority, not by an agent');
    assert.equal(sent[0]!.outcome, 'success');
    assert.equal((JSON.parse(sent[0]!.data) as { whileQueued?: boolean }).whileQueued, true);

    // A retry of the same arrival (the SIP server asks again): the same request, no second text.
    const retry = await arrive('+447911123456', callId);
    assert.equal(retry.body.requestId, requestId);
    assert.equal((await linkRows(requestId)).length, 1, 'one link for the request');

    // Alice verifies in the app while still queued.
    assert.equal((await alice.api('pinFactor', { json: { pin: '112358' } })).body.level, 2);
    const used = await alice.api('useVerificationLink', { params: { token: tokenOf(text!.text) } });
    assert.equal(used.status, 200, JSON.stringify(used.body));
    assert.deepEqual(used.body, { requestId, level: 2 });
    const [row] = await a.sql<{ state: string; device_id: string | null }>`
      SELECT state, device_id FROM requests WHERE id = ${requestId}`;
    assert.deepEqual({ ...row }, { state: 'waiting', device_id: alice.deviceId });

    // The agent comes: the offer is Alice's call, and the panel shows her verified at level 2.
    await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    const offer = (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
    assert.equal(offer.requestId, requestId);
    assert.equal(
      offer.request.phone.linkTextedAt,
      new Date(clock.now()).toISOString(),
      'the offer says when the link was texted',
    );
    const ok = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: offer.fence },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const panel = await api(a.url, 'customerPanel', { headers: bearer(agent.token), params: { requestId } });
    assert.equal(panel.body.verification.level, 2);
    assert.equal(panel.body.verification.state, 'verified');
    assert.ok(panel.body.request.phone, 'still a call from the phone network');
    assert.equal(
      (
        await api(a.url, 'completeRequest', {
          headers: bearer(agent.token),
          params: { requestId },
          json: { fence: ok.body.fence },
        })
      ).status,
      200,
    );
    await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'offline' } });
  });

  it('no text for a caller without the app, an unknown or withheld caller, or a number whose route turns it off', async () => {
    const before = (await textsWhen(sink, 0)).length;
    const hung: string[] = [];
    for (const caller of ['+447911123457', '+447911123999', 'anonymous']) {
      const callId = `none-${++calls}@192.0.2.10`;
      const q = await arrive(caller, callId);
      assert.equal(q.status, 201, JSON.stringify(q.body));
      assert.equal((await linkRows(q.body.requestId)).length, 0, caller);
      hung.push(callId);
    }

    const cfg = await api(a.url, 'getPipelineConfig', { headers: bearer(admin) });
    assert.equal(cfg.body.phoneNumbers[0].linkWhileQueued, true, 'on by default');
    const off = await api(a.url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: { ...cfg.body, phoneNumbers: [{ number: DIALLED, optionId: 'other', linkWhileQueued: false }] },
    });
    assert.equal(off.status, 200, JSON.stringify(off.body));
    const callId = `off-${++calls}@192.0.2.10`;
    const q = await arrive('+447911123456', callId);
    assert.equal(q.status, 201);
    assert.equal((await linkRows(q.body.requestId)).length, 0, 'the route leaves the link to the agent');
    hung.push(callId);
    for (const id of hung) await hangUp(id);

    const bad = await api(a.url, 'putPipelineConfig', {
      headers: bearer(admin),
      json: { ...cfg.body, phoneNumbers: [{ number: DIALLED, optionId: 'other', linkWhileQueued: 'yes' }] },
    });
    assert.equal(bad.status, 400, 'the flag is a boolean');
    await answerNumber(a.url, admin, DIALLED);
    assert.equal((await textsWhen(sink, 0)).length, before, 'nothing was texted');
  });
});

describe('a text-message gateway that fails while the caller waits', () => {
  let a: TestAuthority;
  let port = 0;

  before(async () => {
    // The provider cannot be reached: a loopback port nothing listens on any more.
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    a = await startTestAuthority({
      sipServerSecret: SECRET,
      textGatewayUrl: `https://127.0.0.1:${port}/messages`,
      textGatewayToken: 'provider-token-never-logged',
      textFrom: '+447700900000',
      customerAppUrl: 'https://app.example.com/app/',
    });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, ALICE, '+44 7911 123456');
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: ALICE },
      headers: bearer(admin),
    });
    await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  });
  after(() => a?.dispose());

  it('the caller is queued all the same; the failed text is audited', async () => {
    const q = await api(a.url, 'trunkCallArrived', {
      headers: sip,
      json: { callId: 'gateway-down@192.0.2.10', caller: '+447911123456', dialled: DIALLED },
    });
    assert.equal(q.status, 201, JSON.stringify(q.body));
    assert.equal(q.body.state, 'waiting');
    const subject = `request:${q.body.requestId as string}`;
    const failed = async () =>
      a.sql<{ outcome: string; reason: string | null }>`
        SELECT outcome, reason FROM audit_log WHERE action = 'phone.link.text' AND subject = ${subject}`;
    const [row] = await until('the failed text audited', async () => {
      const rows = await failed();
      return rows.length > 0 && rows;
    });
    assert.equal(row?.outcome, 'failure');
    assert.match(
      row!.reason!,
      /^the text message was not sent: the text-message provider could not be reached/,
    );
    assert.doesNotMatch(row!.reason!, /provider-token/);
  });
});
