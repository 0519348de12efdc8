/**
 * Call recording by a real rtpengine (userspace, recording-method pcap): a call is offered
 * and answered through rtpengine's ng protocol with `record call` on (what Kamailio's
 * record-call=on sends for a ticketed INVITE), each party sends a G.711 tone of its own
 * (agent 440 Hz, customer 1 kHz). The console's verified answer names the call; the holder
 * pauses and resumes (a colleague's pause is refused and audited); after the call's end
 * the authority converts the pcaps into a WAV whose channels carry each party's tone,
 * shorter than the call by the pause; expired recordings are deleted, audited.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NgClient } from '../../authority/src/media/rtpengine-ng.ts';
import { readWav } from '../../authority/src/media/pcap-audio.ts';
import { FakeClock, startTestAuthority, type TestAuthority } from '../support/authority.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { peakHz, rms, recordedToneCall } from '../support/tone.ts';
import { until } from '../support/wait.ts';

const SPAN_MS = 2000;

describe('call recording by rtpengine: pause, resume, one channel per party, retention', () => {
  let rtp: RunningRtpengine;
  let a: TestAuthority;
  let ng: NgClient;
  const clock = new FakeClock(Date.now());
  let agent: string;
  let colleague: string;
  let supervisor: string;
  let d: TestDevice;
  let requestId: string;
  let fence: number;

  before(async () => {
    rtp = await startRtpengine({ recording: true });
    ng = new NgClient(rtp.ngSock);
    a = await startTestAuthority(
      {
        accessTokenSeconds: 3600,
        agentTimeoutSeconds: 3600,
        rtpengineNg: rtp.ngSock,
        recordingDir: rtp.recordingDir!,
        recordingSweepSeconds: 0.2,
        recordingRetentionDays: 30,
      },
      { clock },
    );
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await api(a.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    d = await new TestDevice(a.url, () => clock.now()).enrolAndAuthenticate(code.body.code);
    agent = (await staffLogin(a.url, 'agent2', 'demo-agent-2')).token;
    colleague = (await staffLogin(a.url, 'agent1', 'demo-agent-1')).token;
    supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
    await api(a.url, 'setPresence', { headers: bearer(agent), json: { state: 'available' } });
    requestId = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request.requestId;
    // The offer follows the request's commit (dispatch takes turns on PostgreSQL): wait for it.
    fence = await until('the agent is offered the request', async () => {
      const me = await api(a.url, 'agentMe', { headers: bearer(agent) });
      return me.body.offer?.requestId === requestId ? (me.body.offer.fence as number) : undefined;
    });
    const accepted = await api(a.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent),
      json: { fence },
    });
    assert.equal(accepted.status, 200);
  });
  after(async () => {
    ng?.close();
    await a?.dispose();
    await rtp?.stop();
  });

  it('records the call without its paused span, a channel per party, and deletes it when it expires', async () => {
    const t = (
      await api(a.url, 'callTicket', { params: { requestId }, headers: bearer(agent), json: { fence } })
    ).body;
    const callId = `rec-${Date.now()}@test`;
    // The INVITE through Kamailio: rtpengine_offer(... record-call=on), then the 200 OK's answer.
    const { caller, callee } = await recordedToneCall(ng, callId);
    try {
      const started = Date.now();

      // Before the console names the call, nothing is recorded for the request.
      assert.deepEqual(
        (await api(a.url, 'recordingState', { params: { requestId }, headers: bearer(agent) })).body,
        { state: 'none' },
      );
      const proof = await d.ticketProof(t.ticket, Math.floor(clock.now() / 1000));
      const answered = await api(a.url, 'callAnswer', {
        params: { requestId },
        headers: bearer(agent),
        json: { fence, ticket: t.ticket, proof, callId },
      });
      assert.equal(answered.status, 200);
      assert.equal(
        (await api(a.url, 'recordingState', { params: { requestId }, headers: bearer(agent) })).body.state,
        'recording',
      );

      await new Promise((r) => setTimeout(r, SPAN_MS));
      // A colleague who does not hold the request cannot pause it.
      const refused = await api(a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(colleague),
        json: { fence },
      });
      assert.equal(refused.status, 403);
      assert.equal(refused.body.code, 'not_assigned');
      const stale = await api(a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(agent),
        json: { fence: fence + 1 },
      });
      assert.equal(stale.status, 409);

      const paused = await api(a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(agent),
        json: { fence },
      });
      assert.equal(paused.status, 200);
      assert.equal(paused.body.state, 'paused');
      const pausedAt = Date.now();
      const again = await api(a.url, 'pauseRecording', {
        params: { requestId },
        headers: bearer(agent),
        json: { fence },
      });
      assert.equal(again.status, 409);
      await new Promise((r) => setTimeout(r, SPAN_MS));
      const resumed = await api(a.url, 'resumeRecording', {
        params: { requestId },
        headers: bearer(agent),
        json: { fence },
      });
      assert.equal(resumed.status, 200);
      assert.equal(resumed.body.state, 'recording');
      const pauseMs = Date.now() - pausedAt;
      await new Promise((r) => setTimeout(r, SPAN_MS));
      // BYE: Kamailio's rtpengine_delete().
      await ng.command('delete', { 'call-id': callId, 'from-tag': 'agent-tag' });
      const callMs = Date.now() - started;

      const list = await until('the recording is stored', async () => {
        const l = await api(a.url, 'requestRecordings', {
          params: { requestId },
          headers: bearer(supervisor),
        });
        return l.body.recordings?.[0]?.state !== 'recording' && l.body.recordings?.[0]?.state !== 'paused'
          ? l.body.recordings
          : undefined;
      });
      const rec = list[0];
      assert.equal(rec.state, 'stored', JSON.stringify(rec));
      assert.deepEqual(rec.channels, ['agent', 'customer']);
      assert.equal(rec.spans.length, 2, 'two recorded spans: before and after the pause');
      const row = await a.services.ctx.data.read.recordings.get(rec.id);
      const wav = readWav(readFileSync(row!.file_path!));
      assert.equal(wav.rate, 8000);
      const [left, right] = wav.channels as [Int16Array, Int16Array];
      const durationMs = (left.length * 1000) / wav.rate;
      const gapMs = Date.parse(rec.spans[1].startedAt) - Date.parse(rec.spans[0].endedAt);
      // Each span: the agent's tone left, the customer's right.
      const found: string[] = [];
      for (const s of rec.spans) {
        const from = Math.floor(((s.offsetMs + 200) * wav.rate) / 1000);
        const to = Math.floor(((s.offsetMs + s.durationMs - 200) * wav.rate) / 1000);
        const l = peakHz(left, wav.rate, from, to);
        const r = peakHz(right, wav.rate, from, to);
        found.push(
          `${l.hz} Hz / ${r.hz} Hz (rms ${rms(left, from, to).toFixed(0)} / ${rms(right, from, to).toFixed(0)})`,
        );
        assert.ok(Math.abs(l.hz - 440) < 5, `agent channel: ${l.hz} Hz`);
        assert.ok(Math.abs(r.hz - 1000) < 5, `customer channel: ${r.hz} Hz`);
      }
      assert.ok(
        Math.abs(durationMs - (callMs - pauseMs)) < 1000,
        `WAV ${durationMs} ms, call ${callMs} ms minus pause ${pauseMs} ms`,
      );
      assert.ok(Math.abs(gapMs - pauseMs) < 1000, `gap between spans ${gapMs} ms, pause ${pauseMs} ms`);
      console.log(
        `# recording: call ${callMs} ms, pause ${pauseMs} ms, WAV ${durationMs} ms (${rec.spans.length} spans, gap ${gapMs} ms); ` +
          `left/right per span: ${found.join('; ')}`,
      );
      // The pcaps are gone once the WAV is stored (after the sweep that stored it).
      await a.services.recordings.sweep();
      assert.equal(existsSync(rtp.recordingDir!) ? readdirCount(rtp.recordingDir!) : 0, 0);
      // A crash between storing the WAV's row and deleting its sources leaves them behind: the
      // next sweep removes what belongs to a stored recording (and nothing else).
      const leftPcap = join(rtp.recordingDir!, 'pcaps', `left-${rec.id}.pcap`);
      const leftMeta = join(
        rtp.recordingDir!,
        'metadata',
        `rtpengine-meta-${encodeURIComponent(callId)}-0abc12.txt`,
      );
      const otherMeta = join(rtp.recordingDir!, 'metadata', 'rtpengine-meta-not-ours%40test-0abc13.txt');
      mkdirSync(dirname(leftPcap), { recursive: true });
      mkdirSync(dirname(leftMeta), { recursive: true });
      writeFileSync(leftPcap, 'pcap bytes');
      writeFileSync(leftMeta, `${leftPcap}\n\nCALL-ID\n${callId}\n`);
      writeFileSync(otherMeta, '/nonexistent.pcap\n');
      await a.services.recordings.sweep();
      assert.equal(existsSync(leftPcap), false, 'the leftover pcap of a stored recording is removed');
      assert.equal(existsSync(leftMeta), false, 'its metadata too');
      assert.equal(existsSync(otherMeta), true, "another call's metadata stays");
      rmSync(otherMeta);

      const audit = await a.sql<{ actor: string; action: string; outcome: string }>`
        SELECT actor, action, outcome FROM audit_log
        WHERE subject = ${`request:${requestId}`} AND action LIKE ${'recording.%'} ORDER BY seq`;
      assert.deepEqual(
        audit.map((e) => `${e.actor} ${e.action} ${e.outcome}`),
        [
          'staff:st_agent2 recording.start success',
          'staff:st_agent1 recording.pause failure',
          'staff:st_agent2 recording.pause failure',
          'staff:st_agent2 recording.pause success',
          'staff:st_agent2 recording.pause failure',
          'staff:st_agent2 recording.resume success',
          'system recording.stored success',
        ].map((s) =>
          s.replace('st_agent2', audit[0]!.actor.slice(6)).replace('st_agent1', audit[1]!.actor.slice(6)),
        ),
      );

      // A supervisor plays it (audited); an agent may not.
      const played = await api(a.url, 'playRecording', {
        params: { recordingId: rec.id },
        headers: bearer(supervisor),
      });
      assert.equal(played.status, 200);
      assert.equal(played.body.type, 'audio/wav');
      assert.deepEqual(Buffer.from(played.body.audio, 'base64'), readFileSync(row!.file_path!));
      assert.deepEqual(played.body.recording.spans, rec.spans);
      const agentPlay = await api(a.url, 'playRecording', {
        params: { recordingId: rec.id },
        headers: bearer(agent),
      });
      assert.equal(agentPlay.status, 403);
      const playbacks = await a.sql<{ actor: string }>`
        SELECT actor FROM audit_log WHERE subject = ${`request:${requestId}`} AND action = ${'recording.playback'}`;
      assert.equal(playbacks.length, 1);

      // Retention: once its deadline passes the WAV and its row go, audited.
      clock.advance(31 * 86_400_000);
      await a.services.recordings.sweep();
      assert.equal(existsSync(row!.file_path!), false);
      supervisor = (await staffLogin(a.url, 'supervisor', 'demo-supervisor')).token;
      assert.deepEqual(
        (await api(a.url, 'requestRecordings', { params: { requestId }, headers: bearer(supervisor) })).body
          .recordings,
        [],
      );
      const deleted = await a.sql<{ actor: string }>`
        SELECT actor FROM audit_log WHERE subject = ${`request:${requestId}`} AND action = ${'recording.delete'}`;
      assert.deepEqual(deleted, [{ actor: 'system' }]);
    } finally {
      caller.close();
      callee.close();
    }
  });
});

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
function readdirCount(dir: string): number {
  let n = 0;
  for (const sub of ['pcaps', 'metadata']) {
    try {
      n += readdirSync(join(dir, sub)).length;
    } catch {
      // no such folder: nothing left
    }
  }
  return n;
}
