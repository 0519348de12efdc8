/**
 * RELIABILITY row 22 (issue 13): a recording is never lost by a crash of the authority during
 * its conversion. A real rtpengine (userspace, recording-method pcap) records CALLS calls;
 * each call's end reaches rtpengine (Kamailio's rtpengine_delete) while the authority is
 * down, then the authority (a child process on its own data) is started and SIGKILLed
 * KILLS times at random moments of its first seconds, when its sweep finds the ended call
 * and converts its pcaps into a WAV, then started for good. The checker then asks:
 *
 *   every call's recording is stored, once: one row, one `recording.stored` audit row, none
 *   `recording.failed`; its WAV carries the agent's 440 Hz left and the customer's 1 kHz right
 *   over (about) the whole call; rtpengine's pcaps and metadata are all gone (none left
 *   behind by a kill between the WAV's row and the removal of its sources); the audit
 *   chain is intact.
 *
 * Each kill is classified by what it interrupted (read while the authority is down): before
 * the conversion, in the middle of it (the WAV written, its row not yet stored), or after it.
 *
 * Either engine (VD_TEST_ENGINE); npm test runs it in the SQLite pass only (the order that
 * makes it safe, WAV, then row and audit in one unit, then the sources removed, does not
 * depend on the engine). Sizes: VD_RECORDING_CRASH_CALLS (default 2) and
 * VD_RECORDING_CRASH_KILLS (kills per call, default 3).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { NgClient } from '../../authority/src/media/rtpengine-ng.ts';
import { readWav } from '../../authority/src/media/pcap-audio.ts';
import { verifyStoreAuditChain } from '../../authority/src/store/audit-chain.ts';
import { openReadOnly } from '../../authority/src/store/engine.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';
import { startRtpengine, type RunningRtpengine } from '../support/rtpengine.ts';
import { peakHz, recordedToneCall } from '../support/tone.ts';
import { until } from '../support/wait.ts';

const CALLS = Math.max(1, Number(process.env.VD_RECORDING_CRASH_CALLS ?? 2));
const KILLS = Math.max(1, Number(process.env.VD_RECORDING_CRASH_KILLS ?? 3));
const CALL_MS = 2500;

/** Files rtpengine left in its recording folders (pcaps and metadata). */
function leftovers(dir: string): string[] {
  return ['pcaps', 'metadata'].flatMap((sub) => {
    try {
      return readdirSync(join(dir, sub)).map((f) => `${sub}/${f}`);
    } catch {
      return [];
    }
  });
}

describe('RELIABILITY row 22: a recording survives SIGKILLs of the authority while it converts it', () => {
  let rtp: RunningRtpengine;
  let ng: NgClient;
  let auth: AuthorityProcess;
  let work: string;
  let failed = true;

  before(async () => {
    rtp = await startRtpengine({ recording: true });
    ng = new NgClient(rtp.ngSock);
    work = mkdtempSync(join(tmpdir(), 'vd-recording-crash-'));
    auth = new AuthorityProcess({
      port: await freePort(),
      dataDir: join(work, 'data'),
      env: {
        VD_RTPENGINE_NG: rtp.ngSock,
        VD_RECORDING_DIR: rtp.recordingDir!,
        VD_RECORDING_SWEEP_SECONDS: '0.2',
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_WRAP_UP_SECONDS: '0',
        VD_LOG_LEVEL: 'warn',
      },
    });
    await auth.start();
  });
  after(async () => {
    ng?.close();
    await auth?.kill().catch(() => undefined);
    await rtp?.stop();
    if (!failed) rmSync(work, { recursive: true, force: true });
    else console.log(`# recording crash: logs kept in ${work}`);
  });

  it(`${CALLS} recorded calls, ${KILLS} SIGKILLs around each conversion: each stored once, both tones, no pcap left`, async () => {
    const url = auth.url;
    const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
    const code = await api(url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer(admin),
    });
    const d = await new TestDevice(url).enrolAndAuthenticate(code.body.code);
    const agent = (await staffLogin(url, 'agent2', 'demo-agent-2')).token;
    await api(url, 'setPresence', { headers: bearer(agent), json: { state: 'available' } });

    const calls: { requestId: string; callId: string; ms: number }[] = [];
    const phases = { before: 0, converting: 0, after: 0 };
    /** The recording row's id of a call (read while the authority is down). */
    const recordingIdOf = async (callId: string) => {
      const ro = await openReadOnly(await auth.storeTarget());
      try {
        const rows = (
          await sql<{ id: string }>`SELECT id FROM recordings WHERE call_id = ${callId}`.execute(ro.db)
        ).rows;
        assert.equal(rows.length, 1, `the call ${callId} has its recording row`);
        return rows[0]!.id;
      } finally {
        await ro.close();
      }
    };
    /** What the last kill interrupted, for the call `callId` (read while the authority is down). */
    const classify = async (callId: string) => {
      const ro = await openReadOnly(await auth.storeTarget());
      try {
        const row = (
          await sql<{
            id: string;
            state: string;
          }>`SELECT id, state FROM recordings WHERE call_id = ${callId}`.execute(ro.db)
        ).rows[0];
        const wav = !!row && existsSync(join(work, 'data', 'recordings', `${row.id}.wav`));
        if (row?.state === 'stored') phases.after++;
        else if (wav) phases.converting++;
        else phases.before++;
      } finally {
        await ro.close();
      }
    };
    for (let i = 0; i < CALLS; i++) {
      const requestId = (await d.api('createRequest', { json: { optionId: 'other' } })).body.request
        .requestId as string;
      const fence = await until('the agent is offered the request', async () => {
        const me = await api(url, 'agentMe', { headers: bearer(agent) });
        return me.body.offer?.requestId === requestId ? (me.body.offer.fence as number) : undefined;
      });
      assert.equal(
        (await api(url, 'acceptOffer', { params: { requestId }, headers: bearer(agent), json: { fence } }))
          .status,
        200,
      );
      const t = (
        await api(url, 'callTicket', { params: { requestId }, headers: bearer(agent), json: { fence } })
      ).body;
      const callId = `crash-${i}-${Date.now()}@test`;
      // The INVITE through Kamailio: rtpengine_offer(... record-call=on), then the 200 OK's answer.
      const { caller, callee } = await recordedToneCall(ng, callId);
      try {
        const started = Date.now();
        const answered = await api(url, 'callAnswer', {
          params: { requestId },
          headers: bearer(agent),
          json: { fence, ticket: t.ticket, proof: await d.ticketProof(t.ticket), callId },
        });
        assert.equal(answered.status, 200, JSON.stringify(answered.body));
        await sleep(CALL_MS);
        // The authority dies; the call ends meanwhile (BYE: Kamailio's rtpengine_delete).
        await auth.kill();
        await ng.command('delete', { 'call-id': callId, 'from-tag': 'agent-tag' });
        calls.push({ requestId, callId, ms: Date.now() - started });
      } finally {
        caller.close();
        callee.close();
      }
      // Started and killed again while its first sweeps convert: the first time as soon as the
      // WAV appears (in the middle of the conversion, unless its row was stored within the
      // poll's 2 ms), then at random moments of its first 0.6 s.
      const wav = join(work, 'data', 'recordings', `${await recordingIdOf(callId)}.wav`);
      for (let k = 0; k < KILLS; k++) {
        await auth.start();
        if (k === 0) {
          const until = Date.now() + 3000;
          while (!existsSync(wav) && Date.now() < until) await sleep(2);
        } else await sleep(Math.random() * 600);
        await auth.kill();
        await classify(callId);
      }
      await auth.start();
      // The request is done: complete it (the agent's token survives the restarts).
      await until('the request completes', async () => {
        const r = await api(url, 'completeRequest', {
          params: { requestId },
          headers: bearer(agent),
          json: { fence },
        });
        return r.status === 200 || undefined;
      });
    }

    const supervisor = (await staffLogin(url, 'supervisor', 'demo-supervisor')).token;
    const found: string[] = [];
    for (const c of calls) {
      const rec = await until(`the recording of ${c.callId} is stored`, async () => {
        const l = await api(url, 'requestRecordings', {
          params: { requestId: c.requestId },
          headers: bearer(supervisor),
        });
        const r = l.body.recordings?.[0];
        return r && r.state !== 'recording' && r.state !== 'paused' ? l.body.recordings : undefined;
      });
      assert.equal(rec.length, 1, `one recording for ${c.callId}`);
      assert.equal(rec[0].state, 'stored', JSON.stringify(rec[0]));
      const played = await api(url, 'playRecording', {
        params: { recordingId: rec[0].id },
        headers: bearer(supervisor),
      });
      assert.equal(played.status, 200);
      const wav = readWav(Buffer.from(played.body.audio, 'base64'));
      const [left, right] = wav.channels as [Int16Array, Int16Array];
      const ms = (left.length * 1000) / wav.rate;
      const l = peakHz(left, wav.rate, 1600, left.length - 1600);
      const r = peakHz(right, wav.rate, 1600, right.length - 1600);
      found.push(`${Math.round(ms)} ms of ${c.ms} ms, ${l.hz} Hz / ${r.hz} Hz`);
      assert.ok(Math.abs(l.hz - 440) < 5, `agent channel ${l.hz} Hz`);
      assert.ok(Math.abs(r.hz - 1000) < 5, `customer channel ${r.hz} Hz`);
      assert.ok(ms > CALL_MS - 500 && ms < c.ms + 1000, `WAV ${ms} ms for a call of ${c.ms} ms`);
    }
    // The sweep that stored the last one may still be removing its sources: wait for none left.
    await until(
      'no pcap or metadata left',
      async () => leftovers(rtp.recordingDir!).length === 0 || undefined,
      {
        timeoutMs: 10_000,
      },
    ).catch(() => undefined);
    assert.deepEqual(leftovers(rtp.recordingDir!), [], 'every pcap and metadata file removed');

    await auth.kill();
    const ro = await openReadOnly(await auth.storeTarget());
    try {
      const rows = (
        await sql<{ action: string; call_id: string }>`
          SELECT a.action AS action, r.call_id AS call_id FROM audit_log a
          JOIN recordings r ON a.subject = 'request:' || r.request_id
          WHERE a.action IN ('recording.stored', 'recording.failed')`.execute(ro.db)
      ).rows;
      for (const c of calls)
        assert.deepEqual(
          rows.filter((x) => x.call_id === c.callId).map((x) => x.action),
          ['recording.stored'],
          `${c.callId}: one recording.stored audit row, no recording.failed`,
        );
      const chain = await verifyStoreAuditChain(ro.db);
      assert.ok(chain.ok, 'the audit hash chain survives the kills');
    } finally {
      await ro.close();
    }
    console.log(
      `# recording crash (${auth.engine}): ${calls.length} calls, SIGKILLs before a conversion ${phases.before}, ` +
        `in the middle of one ${phases.converting}, after it ${phases.after}; ` +
        `stored ${calls.length}, lost 0, duplicated 0, leftovers 0; ${found.join('; ')}`,
    );
    failed = false;
  });
});
