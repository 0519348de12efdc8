/**
 * A caller nobody recognised, seen from the CRM (issues 14 and 17): until the agent
 * identifies them, the request belongs to a placeholder "Unknown caller" that is nobody's
 * CRM record, so no screen pop opens a record for it and the webhooks say `unknownCaller`
 * with no customer; once identified, a `caller.identified` webhook names the customer and
 * their external reference, and the screen pop opens that customer's record.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { answerNumber, registerPhone } from '../support/phone-in.ts';
import { until } from '../support/wait.ts';
import { webhookReceiver } from '../support/webhook-receiver.ts';

const SIP_SECRET = 'sip-server-secret-for-the-phone-crm-test-0123456789';
const HOOK_SECRET = 'webhook-secret-for-the-phone-crm-test-0123456789';
const DIALLED = '+442079460000';
const ALICE = 'c_alice_martin_01';

describe('an unknown caller and the CRM: no record popped for the placeholder, told when identified', () => {
  let a: TestAuthority;
  let admin: string;
  let agent: { token: string; staffId: string };
  const hooks = webhookReceiver(HOOK_SECRET);

  before(async () => {
    const pipeline = JSON.parse(
      readFileSync(new URL('../../authority/config/pipeline.json', import.meta.url), 'utf8'),
    );
    pipeline.queues.find((q: any) => q.id === 'general').screenPopUrl =
      'https://crm.example/customers/{externalRef}?request={requestId}&level={level}';
    const file = join(tmpdir(), `vd-pipeline-phone-crm-${process.pid}.json`);
    writeFileSync(file, JSON.stringify(pipeline));
    a = await startTestAuthority({
      sipServerSecret: SIP_SECRET,
      accessTokenSeconds: 3600,
      pipelineFile: file,
      webhookUrls: [await hooks.listen()],
      webhookSecret: HOOK_SECRET,
      webhookSweepSeconds: 0.05,
      screenPopOrigins: ['https://crm.example'],
    });
    admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, ALICE, '07911 123456');
    const ref = await api(a.url, 'updateCustomer', {
      headers: bearer(admin),
      params: { customerId: ALICE },
      json: { externalRef: 'CRM-ALICE-0042' },
    });
    assert.equal(ref.status, 200, JSON.stringify(ref.body));
  });
  after(async () => {
    await a?.dispose();
    await hooks.close();
  });

  it('accepted as "Unknown caller": no screen pop, webhooks without a customer; identified: caller.identified, then her record pops', async () => {
    const q = await api(a.url, 'trunkCallArrived', {
      headers: { authorization: `Bearer ${SIP_SECRET}` },
      json: { callId: 'crm-unknown-1@192.0.2.10', caller: 'anonymous', dialled: DIALLED },
    });
    assert.equal(q.status, 201, JSON.stringify(q.body));
    const requestId = q.body.requestId as string;
    const av = await api(a.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    const offer = av.body.offer ?? (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
    assert.equal(offer?.requestId, requestId, JSON.stringify(av.body));
    const ok = await api(a.url, 'acceptOffer', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: offer.fence },
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));

    // The placeholder is nobody's CRM record: nothing to open.
    const before = await api(a.url, 'screenPop', { params: { requestId }, headers: bearer(agent.token) });
    assert.equal(before.status, 200, JSON.stringify(before.body));
    assert.deepEqual(before.body, { url: null, unknownCaller: true });

    const accepted = await until('the request.accepted webhook', () =>
      hooks.got.find((h) => h.type === 'request.accepted' && h.body.data.requestId === requestId),
    );
    assert.equal(accepted.body.data.customerId, null, JSON.stringify(accepted.body));
    assert.equal(accepted.body.data.externalRef, null);
    assert.equal(accepted.body.data.unknownCaller, true);

    const identified = await api(a.url, 'identifyCaller', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: ok.body.fence, number: '07911 123456' },
    });
    assert.equal(identified.status, 200, JSON.stringify(identified.body));

    const told = await until('the caller.identified webhook', () =>
      hooks.got.find((h) => h.type === 'caller.identified' && h.body.data.requestId === requestId),
    );
    assert.equal(told.body.data.customerId, ALICE, JSON.stringify(told.body));
    assert.equal(told.body.data.externalRef, 'CRM-ALICE-0042');
    assert.equal(told.body.data.unknownCaller, false);
    assert.equal(told.body.data.identifiedBy, agent.staffId);
    assert.equal(told.body.data.by, 'number');
    assert.equal(told.body.data.verificationLevel, 0, 'identified is not verified');

    const pop = await api(a.url, 'screenPop', { params: { requestId }, headers: bearer(agent.token) });
    assert.equal(pop.status, 200, JSON.stringify(pop.body));
    assert.equal(
      pop.body.url,
      `https://crm.example/customers/CRM-ALICE-0042?request=${encodeURIComponent(requestId)}&level=0`,
    );

    // Identifying again changes nothing and tells the CRM nothing more.
    const again = await api(a.url, 'identifyCaller', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: ok.body.fence, number: '07911 123456' },
    });
    assert.equal(again.status, 409, JSON.stringify(again.body));
    const done = await api(a.url, 'completeRequest', {
      headers: bearer(agent.token),
      params: { requestId },
      json: { fence: ok.body.fence },
    });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    const ended = await until('the request.ended webhook', () =>
      hooks.got.find((h) => h.type === 'request.ended' && h.body.data.requestId === requestId),
    );
    assert.equal(ended.body.data.customerId, ALICE);
    assert.equal(
      hooks.got.filter((h) => h.type === 'caller.identified').length,
      1,
      'one caller.identified for one identification',
    );
  });
});
