import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';

/**
 * The supervisor's recording timeline marks the transfers as well as the pauses: each
 * transfer of the request that took effect (blind, take-over, reassign, or a warm one
 * accepted) while the recording ran is listed with its instant, kind, mode and who or which
 * queue got the request; transfers before or after the recording are not. The recording
 * row is written through the store's repository as the converter writes it (no media
 * server here: call-recording.test.ts records a real call); the transfers are real ones.
 */
describe('recording timeline: transfers marked', () => {
  const clock = new FakeClock(Date.parse('2026-05-04T09:00:00Z'));
  let a: TestAuthority;
  let supervisor: string;
  let requestId: string;

  const offerTo = async (token: string) =>
    await until('the offer', async () => {
      const me = await api(a.url, 'agentMe', { headers: bearer(token) });
      return me.body.offer?.requestId === requestId ? (me.body.offer.fence as number) : undefined;
    });

  before(async () => {
    a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { clock });
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    const agent1 = await staffLogin(a.url, 'agent1', 'demo-agent-1');
    const agent2 = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    const [one, two] = [agent1.token, agent2.token];
    await api(a.url, 'setPresence', { headers: bearer(one), json: { state: 'available' } });
    requestId = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request.requestId;
    let fence = await offerTo(one);
    assert.equal(
      (await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(one), json: { fence } }))
        .status,
      200,
    );
    const [oneId, twoId] = [agent1.staffId, agent2.staffId];

    // 09:00:10 a transfer before the recording starts (agent1 -> queue, agent1 takes it again).
    clock.advance(10_000);
    const early = await api(a.url, 'transfer', {
      params: { requestId },
      headers: bearer(one),
      json: { fence, mode: 'blind', target: { kind: 'queue', queueId: 'general' } },
    });
    assert.equal(early.status, 201, JSON.stringify(early.body));
    fence = await offerTo(one);
    assert.equal(
      (await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(one), json: { fence } }))
        .status,
      200,
    );
    // 09:01:00 the call starts being recorded; paused 09:01:20-09:01:30.
    clock.set(Date.parse('2026-05-04T09:01:00Z'));
    const recordingId = 'rec_transfer_marks_1';
    await a.services.ctx.data.tx((r) =>
      r.recordings.insert({
        id: recordingId,
        request_id: requestId,
        call_id: 'call-transfer-marks@test',
        agent_id: oneId,
        fence,
        state: 'recording',
        channels: JSON.stringify(['agent', 'customer']),
        segments: JSON.stringify([{ startedAt: clock.now(), endedAt: null }]),
        created_at: clock.now(),
      }),
    );
    // 09:01:40 blind to agent2 while recording (it lands on agent2 at once).
    clock.set(Date.parse('2026-05-04T09:01:40Z'));
    await api(a.url, 'setPresence', { headers: bearer(two), json: { state: 'available' } });
    const blind = await api(a.url, 'transfer', {
      params: { requestId },
      headers: bearer(one),
      json: { fence, mode: 'blind', target: { kind: 'agent', staffId: twoId } },
    });
    assert.equal(blind.status, 201, JSON.stringify(blind.body));
    fence = await offerTo(two);
    assert.equal(
      (await api(a.url, 'acceptOffer', { params: { requestId }, headers: bearer(two), json: { fence } }))
        .status,
      200,
    );
    // 09:02:00 the recording ends (stored as the converter stores it).
    const at = (s: string) => Date.parse(`2026-05-04T${s}Z`);
    const spans = [
      { startedAt: at('09:01:00'), endedAt: at('09:01:20'), offsetMs: 0, durationMs: 20_000 },
      { startedAt: at('09:01:30'), endedAt: at('09:02:00'), offsetMs: 20_000, durationMs: 30_000 },
    ];
    assert.ok(
      await a.services.ctx.data.tx((r) =>
        r.recordings.stored(recordingId, {
          filePath: '/nonexistent/rec.wav',
          durationMs: 50_000,
          segments: spans,
          endedAt: at('09:02:00'),
          retainUntil: at('09:02:00') + 86_400_000,
        }),
      ),
    );
    // 09:03:00 a transfer after the recording (agent2 -> queue): not on its timeline.
    clock.set(at('09:03:00'));
    const late = await api(a.url, 'transfer', {
      params: { requestId },
      headers: bearer(two),
      json: { fence, mode: 'blind', target: { kind: 'queue', queueId: 'general' } },
    });
    assert.equal(late.status, 201, JSON.stringify(late.body));
    ids.one = oneId;
    ids.two = twoId;
  });
  const ids: Record<string, string> = {};
  after(async () => {
    await a.dispose();
  });

  it('lists the transfers that took effect during the recording, with their instant, and only those', async () => {
    const r = await api(a.url, 'requestRecordings', { params: { requestId }, headers: bearer(supervisor) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const [rec] = r.body.recordings;
    assert.equal(rec.spans.length, 2);
    assert.deepEqual(rec.transfers, [
      {
        at: '2026-05-04T09:01:40.000Z',
        kind: 'transfer',
        mode: 'blind',
        fromStaffId: ids.one,
        toStaffId: ids.two,
        toQueueId: null,
      },
    ]);
  });

  it('a sweep asked for while one is running runs again after it: a recording that expired meanwhile goes', async () => {
    // A pass starts (a timer's, or another caller's) before the retention deadline...
    const running = a.services.recordings.sweep();
    // ...the deadline passes, and a sweep is asked for now.
    clock.advance(2 * 86_400_000);
    await a.services.recordings.sweep();
    await running;
    assert.deepEqual(await a.services.ctx.data.read.recordings.listOf(requestId), []);
  });
});
