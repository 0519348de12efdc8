import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RecordingState, RecordingView } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { AuditTrail } from '../audit/trail.ts';
import type { Ctx } from '../context.ts';
import { conflict, DomainError, notFound } from '../errors.ts';
import { randomId } from '../ids.ts';
import { checkHolder } from '../pipeline/ownership.ts';
import type { Repos } from '../store/repos/index.ts';
import type { RecordingRow, RecordingSpan } from '../store/repos/recordings.ts';
import type { TransferRow } from '../store/repos/transfers.ts';
import {
  decodeSpan,
  parseMetadata,
  RATE,
  readPcap,
  wavOf,
  type CallSdp,
  type SpanAudio,
} from './pcap-audio.ts';
import { NgClient, NgError } from './rtpengine-ng.ts';
import { SerialPasses } from '../serial-passes.ts';

const DAY_MS = 86_400_000;
/**
 * A call out is kept with its request as the authority lets it go, just before Kamailio
 * offers it to rtpengine: until rtpengine has written anything of a call this young, a
 * sweep that finds the call unknown leaves its recording alone.
 */
const START_GRACE_MS = 30_000;
/** The party of each WAV channel: the caller (the agent's console) left, the device right. */
export const RECORDING_CHANNELS = ['agent', 'customer'] as const;

/** A stored recording's span: when it was recorded and where it lies in the WAV. */
export interface StoredSpan {
  startedAt: number;
  endedAt: number;
  offsetMs: number;
  durationMs: number;
}

/**
 * Call recording by rtpengine (recording-method pcap; Kamailio starts it with
 * `record-call=on` on every ticketed INVITE it anchors). The console names the call
 * (its SIP Call-ID) with the verified answer; from then on the request's holder can
 * pause and resume it (ng "stop recording" / "start recording": rtpengine closes the
 * span's pcap and opens a new one, so a paused span is never written). When rtpengine
 * no longer knows the call, the sweep converts its pcaps into one WAV (a channel per
 * party, the spans back to back) kept with the request; the pcaps are deleted only once
 * the WAV and its row are stored. Expired recordings are deleted by the same sweep.
 */
export class Recordings {
  private readonly ng: NgClient | null;
  private timer: NodeJS.Timeout | null = null;
  private readonly sweeps = new SerialPasses(() => this.sweepOnce());

  constructor(
    private readonly ctx: Ctx,
    private readonly audit: AuditTrail,
    /** Many nodes: only the leader converts and deletes (store/leader.ts); one node always leads. */
    private readonly leader: { readonly leading: boolean },
  ) {
    const c = ctx.config;
    this.ng = c.rtpengineNg && c.recordingDir ? new NgClient(c.rtpengineNg) : null;
  }

  get enabled(): boolean {
    return this.ng !== null;
  }

  private view(row: RecordingRow | undefined): RecordingState {
    if (!row || (row.state !== 'recording' && row.state !== 'paused')) return { state: 'none' };
    const spans = JSON.parse(row.segments) as RecordingSpan[];
    const last = spans[spans.length - 1];
    return {
      state: row.state,
      recordingId: row.id,
      since: new Date(
        row.state === 'paused' ? (last?.endedAt ?? row.created_at) : (last?.startedAt ?? row.created_at),
      ).toISOString(),
    };
  }

  /**
   * The console's verified answer named the call: when rtpengine is recording it, the
   * recording is kept with the request from now on (audited). Null when not recorded.
   */
  async callAnswered(
    staffId: string,
    requestId: string,
    fence: number,
    callId: string,
    /** who the caller (channel 0) and the callee (1) are: a call from the phone network has the customer calling */
    channels: readonly string[] = RECORDING_CHANNELS,
  ): Promise<RecordingState | null> {
    if (!this.ng) return null;
    try {
      await this.ng.command('query', { 'call-id': callId });
    } catch (e) {
      if (e instanceof NgError) return null; // not anchored through rtpengine (or it is down): nothing recorded
      throw e;
    }
    return await this.ctx.data.tx(async (r) => {
      checkHolder(await r.commands.lockRequest(requestId), staffId, fence);
      await this.startIn(r, { staffId, requestId, fence, callId, channels });
      return this.view(await r.recordings.live(requestId));
    });
  }

  /**
   * A call rtpengine records (or is about to: a call out is offered to rtpengine right
   * after the authority lets it go) is kept with the request from now on, in the caller's
   * unit (the holder checked there), audited `recording.start`. The same Call-ID twice is
   * one recording. Nothing when recording is not configured.
   */
  async startIn(
    r: Repos,
    rec: { staffId: string; requestId: string; fence: number; callId: string; channels: readonly string[] },
  ): Promise<void> {
    if (!this.ng) return;
    const now = this.ctx.clock.now();
    const id = randomId(12);
    const inserted = await r.recordings.insert({
      id,
      request_id: rec.requestId,
      call_id: rec.callId,
      agent_id: rec.staffId,
      fence: rec.fence,
      state: 'recording',
      channels: JSON.stringify(rec.channels),
      segments: JSON.stringify([{ startedAt: now, endedAt: null }]),
      created_at: now,
    });
    if (inserted)
      await r.audit.append({
        actor: `staff:${rec.staffId}`,
        action: 'recording.start',
        subject: `request:${rec.requestId}`,
        outcome: 'success',
        data: { recordingId: id, callId: rec.callId, fence: rec.fence },
      });
  }

  async state(requestId: string): Promise<RecordingState> {
    if (!(await this.ctx.data.read.requests.get(requestId))) throw notFound('no such request');
    return this.view(await this.ctx.data.read.recordings.live(requestId));
  }

  pause(staffId: string, requestId: string, fence: number): Promise<RecordingState> {
    return this.audited(staffId, requestId, 'pause', this.toggle(staffId, requestId, fence, 'pause'));
  }

  resume(staffId: string, requestId: string, fence: number): Promise<RecordingState> {
    return this.audited(staffId, requestId, 'resume', this.toggle(staffId, requestId, fence, 'resume'));
  }

  /** A refused pause or resume leaves its audit row (in a unit of its own: the refusal rolled its unit back). */
  private async audited<T>(
    staffId: string,
    requestId: string,
    action: 'pause' | 'resume',
    work: Promise<T>,
  ): Promise<T> {
    try {
      return await work;
    } catch (e) {
      if (e instanceof DomainError)
        await this.audit.refused({
          actor: `staff:${staffId}`,
          action: `recording.${action}`,
          subject: `request:${requestId}`,
          data: { code: e.code, reason: e.message },
        });
      throw e;
    }
  }

  private async toggle(
    staffId: string,
    requestId: string,
    fence: number,
    action: 'pause' | 'resume',
  ): Promise<RecordingState> {
    const [from, to] =
      action === 'pause' ? (['recording', 'paused'] as const) : (['paused', 'recording'] as const);
    const read = this.ctx.data.read;
    checkHolder(await read.requests.get(requestId), staffId, fence);
    const row = await read.recordings.live(requestId);
    if (!row || !this.ng) throw conflict('this request has no call being recorded');
    if (row.state !== from)
      throw conflict(action === 'pause' ? 'the recording is paused already' : 'the recording is not paused');
    const ng = this.ng;
    const command = action === 'pause' ? 'stop recording' : 'start recording';
    try {
      await ng.command(command, { 'call-id': row.call_id });
    } catch (e) {
      if (e instanceof NgError)
        throw conflict(`the media server did not ${action} the recording: ${e.message}`);
      throw e;
    }
    const now = this.ctx.clock.now();
    try {
      return await this.ctx.data.tx(async (r) => {
        checkHolder(await r.commands.lockRequest(requestId), staffId, fence);
        const spans = JSON.parse(row.segments) as RecordingSpan[];
        if (action === 'pause') spans[spans.length - 1]!.endedAt = now;
        else spans.push({ startedAt: now, endedAt: null });
        if (!(await r.recordings.setLive(row.id, from, to, spans)))
          throw conflict(`the recording was not ${from} any more`);
        await r.audit.append({
          actor: `staff:${staffId}`,
          action: `recording.${action}`,
          subject: `request:${requestId}`,
          outcome: 'success',
          data: { recordingId: row.id, callId: row.call_id, fence },
        });
        return this.view(await r.recordings.get(row.id));
      });
    } catch (e) {
      // Not recorded as done: put the media server back as the row says.
      await ng
        .command(action === 'pause' ? 'start recording' : 'stop recording', { 'call-id': row.call_id })
        .catch(() => undefined);
      throw e;
    }
  }

  /** A stored recording's WAV for a supervisor's playback, audited in the unit that reads the row. */
  async play(
    staffId: string,
    recordingId: string,
    maxBytes: number,
  ): Promise<{ recording: RecordingView; wav: Buffer }> {
    const row = await this.ctx.data.read.recordings.get(recordingId);
    if (!row) throw notFound('no such recording');
    if (row.state !== 'stored' || !row.file_path) throw conflict(`the recording is ${row.state}, not stored`);
    const wav = await readFile(row.file_path).catch(() => null);
    if (!wav) throw conflict('the recording file is missing');
    if (wav.length > maxBytes) throw conflict('the recording is too long to play through the API');
    await this.ctx.data.tx(async (r) => {
      if (!(await r.recordings.get(recordingId))) throw notFound('no such recording');
      await r.audit.append({
        actor: `staff:${staffId}`,
        action: 'recording.playback',
        subject: `request:${row.request_id}`,
        outcome: 'success',
        data: { recordingId },
      });
    });
    const moves = await this.ctx.data.read.transfers.movesOf(row.request_id);
    return { recording: recordingView(row, moves), wav };
  }

  /** A request's recordings, oldest first. */
  async list(requestId: string): Promise<RecordingView[]> {
    const rows = await this.ctx.data.read.recordings.listOf(requestId);
    const moves = rows.length ? await this.ctx.data.read.transfers.movesOf(requestId) : [];
    return rows.map((row) => recordingView(row, moves));
  }

  /**
   * Converts the recordings of ended calls, deletes expired ones. One pass at a time; a
   * call while one runs gets a pass that starts after it (so it sees the clock and rows of now).
   */
  sweep(): Promise<void> {
    return this.sweeps.run();
  }

  private async sweepOnce(): Promise<void> {
    if (!this.leader.leading) return;
    if (this.ng) {
      for (const row of await this.ctx.data.read.recordings.allLive()) {
        try {
          await this.ng.command('query', { 'call-id': row.call_id });
          continue; // still on the call
        } catch (e) {
          if (!(e instanceof NgError) || !/Unknown call-id/i.test(e.message)) continue;
        }
        await this.convert(row);
      }
      await this.removeLeftovers();
    }
    await this.deleteExpired();
  }

  /** rtpengine's metadata files of recordings (name -> call id), in `recordingDir/metadata`. */
  private async metadataFiles(): Promise<{ file: string; callId: string }[]> {
    const metaDir = join(this.ctx.config.recordingDir!, 'metadata');
    const out: { file: string; callId: string }[] = [];
    // rtpengine names them rtpengine-meta-<Call-ID, %-escaped>-<random hex>.txt
    for (const f of await readdir(metaDir).catch(() => [] as string[])) {
      const m = /^rtpengine-meta-(.+)-[0-9a-f]+\.txt$/.exec(f);
      if (!m) continue;
      try {
        out.push({ file: join(metaDir, f), callId: decodeURIComponent(m[1]!) });
      } catch {
        // not one of ours
      }
    }
    return out;
  }

  /**
   * The pcaps and metadata of a call whose WAV is already stored: what a crash between storing
   * the WAV's row and deleting its sources leaves behind (they would stay forever otherwise).
   */
  private async removeLeftovers(): Promise<void> {
    for (const { file, callId } of await this.metadataFiles()) {
      const row = await this.ctx.data.read.recordings.byCallId(callId);
      if (row?.state !== 'stored') continue;
      const pcap = (await readFile(file, 'utf8').catch(() => '')).split('\n', 1)[0]!.trim();
      if (pcap) await rm(pcap, { force: true });
      await rm(file, { force: true });
    }
  }

  private async convert(row: RecordingRow): Promise<void> {
    const now = this.ctx.clock.now();
    const retainUntil = now + this.ctx.config.recordingRetentionDays * DAY_MS;
    const metas = (await this.metadataFiles()).filter((m) => m.callId === row.call_id).map((m) => m.file);
    if (metas.length === 0 && now - row.created_at < START_GRACE_MS) return; // not offered to rtpengine yet
    const sdp: CallSdp = { codecs: new Map(), channelOfPort: new Map() };
    const pcaps: string[] = [];
    for (const m of metas) {
      const text = await readFile(m, 'utf8');
      parseMetadata(text, sdp, JSON.parse(row.channels) as string[]);
      const pcap = text.split('\n', 1)[0]!.trim();
      if (pcap) pcaps.push(pcap);
    }
    const spans: SpanAudio[] = [];
    let error: string | null = null;
    for (const p of pcaps) {
      const buf = await readFile(p).catch(() => null);
      if (!buf) continue;
      let s;
      try {
        s = decodeSpan(readPcap(buf), sdp);
      } catch (e) {
        error = `unreadable pcap: ${(e as Error).message}`;
        continue;
      }
      if (s && 'error' in s) error = s.error;
      else if (s) spans.push(s);
    }
    spans.sort((a, b) => a.startedAt - b.startedAt);
    if (spans.length === 0)
      error ??= pcaps.length ? 'the recording holds no audio' : 'rtpengine left no recording of this call';
    const actor = 'system';
    if (error && spans.length === 0) {
      await this.ctx.data.tx(async (r) => {
        if (await r.recordings.failed(row.id, error, now, retainUntil))
          await r.audit.append({
            actor,
            action: 'recording.failed',
            subject: `request:${row.request_id}`,
            outcome: 'failure',
            data: { recordingId: row.id, callId: row.call_id, reason: error },
          });
      });
      return; // the pcaps stay for whoever can decode them
    }
    const stored: StoredSpan[] = [];
    let offset = 0;
    for (const s of spans) {
      const n = s.channels[0].length;
      stored.push({
        startedAt: Math.round(s.startedAt),
        endedAt: Math.round(s.endedAt),
        offsetMs: Math.round((offset * 1000) / RATE),
        durationMs: Math.round((n * 1000) / RATE),
      });
      offset += n;
    }
    const left = new Int16Array(offset);
    const right = new Int16Array(offset);
    offset = 0;
    for (const s of spans) {
      left.set(s.channels[0], offset);
      right.set(s.channels[1], offset);
      offset += s.channels[0].length;
    }
    const outDir = join(this.ctx.config.dataDir, 'recordings');
    await mkdir(outDir, { recursive: true });
    const filePath = join(outDir, `${row.id}.wav`);
    await writeFile(filePath, wavOf([left, right]), { flush: true });
    const durationMs = Math.round((offset * 1000) / RATE);
    await this.ctx.data.tx(async (r) => {
      if (
        await r.recordings.stored(row.id, {
          filePath,
          durationMs,
          segments: stored,
          endedAt: now,
          retainUntil,
        })
      )
        await r.audit.append({
          actor,
          action: 'recording.stored',
          subject: `request:${row.request_id}`,
          outcome: 'success',
          data: { recordingId: row.id, callId: row.call_id, durationMs, spans: stored.length },
        });
    });
    // Only now that the WAV and its row are stored do the pcaps go.
    for (const p of pcaps) await rm(p, { force: true });
    for (const m of metas) await rm(m, { force: true });
  }

  private async deleteExpired(): Promise<void> {
    const now = this.ctx.clock.now();
    for (const row of await this.ctx.data.read.recordings.expired(now)) {
      if (row.file_path) await rm(row.file_path, { force: true });
      await this.ctx.data.tx(async (r) => {
        if (await r.recordings.delete(row.id))
          await r.audit.append({
            actor: 'system',
            action: 'recording.delete',
            subject: `request:${row.request_id}`,
            outcome: 'success',
            data: { recordingId: row.id, reason: 'retention', retainUntil: row.retain_until },
          });
      });
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.sweep().catch(() => undefined);
    }, this.ctx.config.recordingSweepSeconds * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.ng?.close();
  }
}

/**
 * A recording as the API shows it: its spans (with their place in the WAV) once stored,
 * and the request's transfers (`moves`: those that took effect, in order) that fall within
 * it: from its first recorded instant (or its start) to its last (open while live).
 */
function recordingView(row: RecordingRow, moves: readonly TransferRow[]): RecordingView {
  const spans =
    row.state === 'stored' || row.state === 'failed'
      ? (JSON.parse(row.segments) as Partial<StoredSpan>[]).filter(
          (s): s is StoredSpan => typeof s.offsetMs === 'number',
        )
      : [];
  const from = spans[0]?.startedAt ?? row.created_at;
  const to = spans.at(-1)?.endedAt ?? row.ended_at ?? Infinity;
  const transfers = moves
    .filter((t) => t.resolved_at !== null && t.resolved_at >= from && t.resolved_at <= to)
    .map((t) => ({
      at: iso(t.resolved_at!),
      kind: t.kind,
      mode: t.mode,
      fromStaffId: t.from_staff,
      toStaffId: t.target_staff,
      toQueueId: t.target_queue,
    }));
  return {
    id: row.id,
    requestId: row.request_id,
    state: row.state,
    channels: JSON.parse(row.channels) as string[],
    spans: spans.map((s) => ({
      startedAt: iso(s.startedAt),
      endedAt: iso(s.endedAt),
      offsetMs: s.offsetMs,
      durationMs: s.durationMs,
    })),
    transfers,
    durationMs: row.duration_ms,
    error: row.error,
    createdAt: iso(row.created_at),
    retainUntil: row.retain_until === null ? null : iso(row.retain_until),
  };
}
