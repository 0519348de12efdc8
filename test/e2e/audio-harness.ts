/**
 * Listening to calls in e2e tests: tone WAVs for Chromium's fake microphone
 * (--use-file-for-fake-audio-capture) and an AnalyserNode on a page's <audio>
 * element that reports the peak frequency of what actually plays, or silence; and
 * whether a page still holds any live remote track (media elements and peer connections).
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { readWav } from '../../authority/src/media/pcap-audio.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { until } from '../support/wait.ts';
import type { AppAuthority } from './customer-app-harness.ts';

/** A mono 16-bit PCM WAV of a sine tone (Chromium's fake microphone loops it). */
export function writeToneWav(path: string, hz: number, seconds = 20, rate = 48_000): void {
  const n = seconds * rate;
  const buf = Buffer.alloc(44 + n * 2);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 2, 4);
  buf.write('WAVEfmt ', 8);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 2, 28);
  buf.writeUInt16LE(2, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++)
    buf.writeInt16LE(Math.round(Math.sin((2 * Math.PI * hz * i) / rate) * 0.5 * 32767), 44 + i * 2);
  writeFileSync(path, buf);
}

/**
 * Runs in the page (kept as plain JavaScript text so no transpiler helper leaks in):
 * analyse the stream playing in the <audio> element `selector` (following it when the
 * page replaces it) and resolve with the peak frequency once it has been above -50 dB
 * for three polls in a row, or null peak at the deadline.
 */
const DETECT_TONE = `async (selector, timeoutMs) => {
  const t0 = performance.now();
  const deadline = t0 + timeoutMs;
  const pause = () => new Promise((r) => setTimeout(r, 100));
  const live = () => {
    const el = document.querySelector(selector);
    return el && el.srcObject && el.srcObject.getAudioTracks().some((t) => t.readyState === 'live') ? el.srcObject : null;
  };
  while (!live()) {
    if (performance.now() > deadline) return { hz: null, db: null, ms: timeoutMs, why: 'no remote track' };
    await pause();
  }
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 16384;
  analyser.smoothingTimeConstant = 0;
  const bins = new Float32Array(analyser.frequencyBinCount);
  let stream = null;
  let source = null;
  let hits = 0;
  let last = { hz: null, db: null };
  while (performance.now() < deadline) {
    // Follow the element as the console replaces its stream (a second line answered,
    // a call resumed): a person hears what plays now, not what played when they began.
    const now = live();
    if (now !== stream) {
      if (source) source.disconnect();
      source = now ? ctx.createMediaStreamSource(now) : null;
      if (source) source.connect(analyser);
      stream = now;
      hits = 0;
    }
    await pause();
    if (!source) continue;
    analyser.getFloatFrequencyData(bins);
    let best = -Infinity;
    let idx = 0;
    for (let i = 2; i < bins.length; i++) if (bins[i] > best) { best = bins[i]; idx = i; }
    const hz = (idx * ctx.sampleRate) / analyser.fftSize;
    last = { hz, db: best };
    if (best > -50) hits++;
    else hits = 0;
    if (hits >= 3) {
      await ctx.close();
      return { hz, db: best, ms: performance.now() - t0 };
    }
  }
  await ctx.close();
  return { hz: null, db: last.db, lastHz: last.hz, ms: timeoutMs, why: 'no tone' };
}`;

export interface Tone {
  hz: number | null;
  db: number | null;
  ms: number;
  why?: string;
}
export const detectTone = (page: Page, selector: string, timeoutMs = 15_000): Promise<Tone> =>
  page.evaluate(`(${DETECT_TONE})(${JSON.stringify(selector)}, ${timeoutMs})`) as Promise<Tone>;

/**
 * Runs in the page: resolve true once the stream in `selector` has stayed below
 * -60 dB at every frequency for `quietMs` (the far end is silent, e.g. on hold), false
 * at the deadline.
 */
const DETECT_SILENCE = `async (selector, quietMs, timeoutMs) => {
  const deadline = performance.now() + timeoutMs;
  const el = document.querySelector(selector);
  if (!el || !el.srcObject) return false;
  const ctx = new AudioContext();
  await ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 4096;
  analyser.smoothingTimeConstant = 0;
  ctx.createMediaStreamSource(el.srcObject).connect(analyser);
  const bins = new Float32Array(analyser.frequencyBinCount);
  let quietSince = null;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    analyser.getFloatFrequencyData(bins);
    let best = -Infinity;
    for (let i = 2; i < bins.length; i++) if (bins[i] > best) best = bins[i];
    if (best < -60) {
      quietSince ??= performance.now();
      if (performance.now() - quietSince >= quietMs) { await ctx.close(); return true; }
    } else quietSince = null;
  }
  await ctx.close();
  return false;
}`;

export const detectSilence = (page: Page, selector: string, quietMs = 1500, timeoutMs = 10_000) =>
  page.evaluate(
    `(${DETECT_SILENCE})(${JSON.stringify(selector)}, ${quietMs}, ${timeoutMs})`,
  ) as Promise<boolean>;

/**
 * Runs in the page: from now on, every 50 ms, note whether a tone plays in `selector`
 * (above -50 dB), following the element's stream as calls replace it. Kept in
 * window.__vdToneLog as [ms, on] changes, read back by `toneGap`.
 */
const TONE_LOG = `(selector) => {
  const log = [];
  window.__vdToneLog = log;
  const ctx = new AudioContext();
  void ctx.resume();
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 4096;
  analyser.smoothingTimeConstant = 0;
  const bins = new Float32Array(analyser.frequencyBinCount);
  let stream = null;
  let source = null;
  let on = null;
  window.__vdToneLogStop = setInterval(() => {
    const el = document.querySelector(selector);
    const s = el && el.srcObject && el.srcObject.getAudioTracks().some((t) => t.readyState === 'live') ? el.srcObject : null;
    if (s !== stream) {
      if (source) source.disconnect();
      source = s ? ctx.createMediaStreamSource(s) : null;
      if (source) source.connect(analyser);
      stream = s;
    }
    let now = false;
    if (source) {
      analyser.getFloatFrequencyData(bins);
      let best = -Infinity;
      for (let i = 2; i < bins.length; i++) if (bins[i] > best) best = bins[i];
      now = best > -50;
    }
    if (now !== on) { on = now; log.push([performance.now(), now]); }
  }, 50);
}`;

/** Start logging, in the page, when a tone plays in the <audio> element `selector` (see toneGap). */
export const startToneLog = (page: Page, selector: string): Promise<void> =>
  page.evaluate(`(${TONE_LOG})(${JSON.stringify(selector)})`) as Promise<void>;

/**
 * Stop the page's tone log and return the longest silence between two tones heard
 * (ms from the last moment of tone before it to the first moment of tone after it),
 * or null if the tone never came back.
 */
export async function toneGap(page: Page): Promise<number | null> {
  const log = (await page.evaluate(
    `(() => { clearInterval(window.__vdToneLogStop); return window.__vdToneLog; })()`,
  )) as [number, boolean][];
  let gap: number | null = null;
  let lastOff: number | null = null;
  let heard = false;
  for (const [t, on] of log) {
    if (!on && heard) lastOff = t;
    if (on) {
      if (lastOff !== null) gap = Math.max(gap ?? 0, t - lastOff);
      heard = true;
      lastOff = null;
    }
  }
  return gap;
}

/**
 * An init script (page.addInitScript) that keeps every RTCPeerConnection the page makes,
 * so `liveRemoteTracks` can look at their receivers later.
 */
export const KEEP_PEER_CONNECTIONS = `(() => {
  const Original = window.RTCPeerConnection;
  const all = [];
  window.__vdPeerConnections = all;
  window.RTCPeerConnection = class extends Original {
    constructor(...args) { super(...args); all.push(this); }
  };
})();`;

/** Runs in the page: the remote tracks still live, on media elements' streams and open peer connections' receivers. */
const LIVE_REMOTE_TRACKS = `() => {
  const live = [];
  for (const el of document.querySelectorAll('audio, video')) {
    const s = el.srcObject;
    if (s instanceof MediaStream)
      for (const t of s.getTracks()) if (t.readyState === 'live') live.push('element ' + t.kind + ' ' + t.id);
  }
  for (const pc of window.__vdPeerConnections ?? [])
    for (const r of pc.getReceivers())
      if (r.track.readyState === 'live' && pc.connectionState !== 'closed')
        live.push('receiver ' + r.track.kind + ' ' + r.track.id);
  return live;
}`;

/**
 * Remote audio or video still live on the page: every media element's stream and every
 * RTCPeerConnection's receivers (those the page made after KEEP_PEER_CONNECTIONS).
 */
export const liveRemoteTracks = (page: Page): Promise<string[]> =>
  page.evaluate(`(${LIVE_REMOTE_TRACKS})()`) as Promise<string[]>;

/**
 * The page holds no live remote track: waits (bounded; tracks end a moment after the
 * call does) until none is left, then asserts it, naming the tracks still live.
 */
export async function assertNoLiveRemoteTrack(page: Page, who: string, timeoutMs = 20_000): Promise<void> {
  await page
    .waitForFunction(`(${LIVE_REMOTE_TRACKS})().length === 0`, undefined, { timeout: timeoutMs })
    .catch(() => undefined);
  assert.deepEqual(await liveRemoteTracks(page), [], `${who}'s page holds no live remote track`);
}

/**
 * A call's recording once the authority has converted rtpengine's pcap and stored it (as a
 * supervisor lists it), asserted stored, with its WAV read from the stored file.
 */
export async function storedRecording(app: AppAuthority, requestId: string) {
  const supervisor = (await staffLogin(app.a.url, 'supervisor', 'demo-supervisor')).token;
  const rec = await until(
    'the recording is stored',
    async () => {
      const l = await api(app.a.url, 'requestRecordings', {
        params: { requestId },
        headers: bearer(supervisor),
      });
      const r = l.body.recordings?.[0];
      return r && r.state !== 'recording' && r.state !== 'paused' ? r : undefined;
    },
    { timeoutMs: 30_000 },
  );
  assert.equal(rec.state, 'stored', JSON.stringify(rec));
  const row = await app.a.services.ctx.data.read.recordings.get(rec.id);
  return { rec, wav: readWav(readFileSync(row!.file_path!)) };
}
