/**
 * `npm run bench`: start an authority in its own process (demo data, a temp data dir,
 * the configured argon2 cost) and run the device-proof and PIN benches against it, then
 * the pipeline bench (bench/pipeline.ts, which starts its own in-process authority);
 * print each figure next to its same-run baseline, then a summary table. Figures are
 * printed, never asserted. `npm run bench -- pin` (or device-proofs, pipeline, sip-register,
 * device-commands, tap-to-offer, console-load, queue-view, call-setup, store-commit, nodes, node-death,
 * reports, rtpengine-cpu, phone-in, link-to-verified, verify-agent-time, chat-latency, chat-load)
 * runs a part.
 *
 * Sizes: VD_BENCH_N (device proofs, default 3000), VD_BENCH_CONCURRENCY (a list, default 1,16,64),
 * VD_BENCH_PIN_N (PIN verifications, default 50); bench/pipeline.ts reads its own, and so do
 * the console benches (tap-to-offer, console-load, queue-view: Chromium against browser mode).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../authority/src/config.ts';
import { benchEngines, engineName, startBenchAuthority } from './authority-process.ts';
import type { Engine } from '../authority/src/store/engine.ts';
import { benchDeviceProofs } from './device-proofs.ts';
import { benchPin } from './pin.ts';
import { pct as pctOf } from './console-support.ts';
import { pipelineBench } from './pipeline.ts';
import { benchSipRegister, printSipRegister } from './sip-register.ts';
import { benchConsoleLoad, printConsoleLoad } from './console-load.ts';
import { benchQueueView, printQueueView } from './queue-view.ts';
import { benchTapToOffer, printTapToOffer } from './tap-to-offer.ts';
import { benchDeviceCommands, printDeviceCommands } from './device-commands.ts';
import { benchCallSetup, pct as pctCall } from './call-setup.ts';
import { benchStoreCommit, printStoreCommit } from './store-commit.ts';
import { benchNodes, printNodes } from './nodes.ts';
import { benchNodeDeath, printNodeDeath } from './node-death.ts';
import { benchReports, pct as pctReports, printReports } from './reports.ts';
import { benchRtpengineCpu, printRtpengineCpu } from './rtpengine-cpu.ts';
import { benchPhoneIn, pct as pctPhoneIn, printPhoneIn } from './phone-in.ts';
import { benchLinkToVerified, printLinkToVerified } from './link-to-verified.ts';
import { benchVerifyAgentTime, printVerifyAgentTime } from './verify-agent-time.ts';
import { benchChatLatency, benchChatLoad, printChatLatency, printChatLoad } from './chat.ts';
import { api, bearer, staffLogin } from '../test/support/http.ts';

const N = Number(process.env.VD_BENCH_N ?? 3000);
/** Device proofs run once per concurrency in this list (issue 11: 1, 16 and 64 in flight). */
const CONCURRENCIES = (process.env.VD_BENCH_CONCURRENCY ?? '1,16,64')
  .split(',')
  .map((c) => Number(c.trim()))
  .filter((c) => Number.isInteger(c) && c > 0);
const CONCURRENCY = CONCURRENCIES.join('/');
const PIN_N = Number(process.env.VD_BENCH_PIN_N ?? 50);
const PEPPER = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

/** The argon2 cost the authority uses when nothing overrides it (the schema defaults). */
const configured = parseConfig({ pinPepper: PEPPER });

const startAuthority = (dataDir: string, engine: Engine) =>
  startBenchAuthority(
    dataDir,
    {
      VD_PIN_PEPPER: PEPPER,
      VD_AUTHENTICATION_TTL_SECONDS: '86400',
      VD_ARGON2_MEMORY_KIB: String(configured.argon2MemoryKiB),
      VD_ARGON2_ITERATIONS: String(configured.argon2Iterations),
    },
    engine,
  );
/** The engines of this run (VD_BENCH_ENGINES); each figure that goes through the store is printed per engine. */
const ENGINES = benchEngines();
let engine: Engine = 'sqlite';
/** A row's label with the engine it ran on. */
const on = (label: string) => `${label} (${engineName(engine)})`;

const fmt = (x: number, d = 0) =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
type Row = [string, string, string, string];

/** (a) device-key proofs per second, against the authority process. */
async function deviceProofs(url: string, pid: number, rows: Row[]) {
  for (const concurrency of CONCURRENCIES) await deviceProofsAt(url, pid, rows, concurrency);
}

async function deviceProofsAt(url: string, pid: number, rows: Row[], concurrency: number) {
  console.log(
    `\n(a) device-key proofs: ${N} requests GET /v1/device/me, ${concurrency} in flight, each with its own pre-signed proof`,
  );
  // A fresh enrolment code per run: each run enrols its own device (a code is single-use).
  const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
  const code = await api(url, 'issueEnrolmentCode', {
    params: { customerId: 'c_alice_martin_01' },
    headers: bearer(admin),
  });
  if (code.status !== 201) throw new Error(`enrolment code: ${code.status} ${JSON.stringify(code.body)}`);
  const d = await benchDeviceProofs(url, code.body.code as string, { n: N, concurrency, authorityPid: pid });
  console.log(
    `  HTTP API:           ${fmt(d.httpPerSecond)} proofs/s (${d.httpErrors} non-200; latency p50 ${fmt(d.httpP50Ms, 2)} ms, p95 ${fmt(d.httpP95Ms, 2)} ms)`,
  );
  console.log(
    `  CPU per request:    authority ${fmt(d.authorityCpuUsPerProof!)} µs, this client ${fmt(d.clientCpuUsPerRequest)} µs; ` +
      `bare route's server ${fmt(d.bareCpuUsPerRequest)} µs; one raw verify ${fmt(1e6 / d.rawCryptoPerSecond)} µs ` +
      `(user + system; on ${cpus().length} cores, 0.5 of raw leaves ${fmt((cpus().length * 1e6) / (0.5 * d.rawCryptoPerSecond))} µs of CPU per request for everything)`,
  );
  console.log(
    `  raw node:crypto:    ${fmt(d.rawCryptoPerSecond)} verifications/s of the same signatures (${d.rawFailures} failed)`,
  );
  console.log(`  raw jose:           ${fmt(d.rawJosePerSecond)} compactVerify/s of the same JWS`);
  console.log(
    `  bare HTTP route:    ${fmt(d.bareHttpPerSecond)} requests/s (fastify answering the same requests with nothing to do: this machine's floor)`,
  );
  console.log(
    `  ratio: raw node:crypto / HTTP = ${fmt(d.rawCryptoPerSecond / d.httpPerSecond, 2)}x; raw jose / HTTP = ${fmt(d.rawJosePerSecond / d.httpPerSecond, 2)}x`,
  );
  rows.push([
    on(`device proofs verified per second, ${concurrency} in flight`),
    `${fmt(d.httpPerSecond)} /s`,
    `${fmt(d.rawCryptoPerSecond)} /s (node:crypto)`,
    `${fmt(d.httpPerSecond / d.rawCryptoPerSecond, 2)} of raw; ${fmt(d.httpPerSecond / d.bareHttpPerSecond, 2)} of bare HTTP (${fmt(d.bareHttpPerSecond)} /s)`,
  ]);
}

/** (b) PIN verification time, against the authority process. */
async function pin(url: string, rows: Row[]) {
  console.log(
    `\n(b) PIN verification: ${PIN_N} right-PIN step-ups POST /v1/device/authentication/pin, one at a time, ` +
      `argon2id m=${configured.argon2MemoryKiB} KiB t=${configured.argon2Iterations} p=1 + pepper`,
  );
  const p = await benchPin(url, 'BOB-DEMO-2026', {
    n: PIN_N,
    memoryKiB: configured.argon2MemoryKiB,
    iterations: configured.argon2Iterations,
    pepper: PEPPER,
  });
  console.log(
    `  HTTP API:           p50 ${fmt(p.httpP50Ms, 1)} ms, p95 ${fmt(p.httpP95Ms, 1)} ms (${p.httpErrors} non-200)`,
  );
  console.log(
    `  raw argon2 verify:  p50 ${fmt(p.rawP50Ms, 1)} ms, p95 ${fmt(p.rawP95Ms, 1)} ms (${p.rawFailures} failed)`,
  );
  console.log(
    `  ratio HTTP / raw:   p50 ${fmt(p.httpP50Ms / p.rawP50Ms, 2)}x, p95 ${fmt(p.httpP95Ms / p.rawP95Ms, 2)}x; ` +
      `overhead at p50 ${fmt(p.httpP50Ms - p.rawP50Ms, 1)} ms`,
  );
  rows.push([
    on('PIN verification p50 / p95'),
    `${fmt(p.httpP50Ms, 1)} / ${fmt(p.httpP95Ms, 1)} ms`,
    `${fmt(p.rawP50Ms, 1)} / ${fmt(p.rawP95Ms, 1)} ms (argon2)`,
    `HTTP ${fmt(p.httpP50Ms / p.rawP50Ms, 2)}x / ${fmt(p.httpP95Ms / p.rawP95Ms, 2)}x`,
  ]);
}

/** (c) bench/pipeline.ts (its own in-process authority). */
async function pipeline(rows: Row[]) {
  console.log(`\n(c) pipeline (bench/pipeline.ts, in-process authority, ${engineName(engine)})`);
  const { cycles, fanout } = await pipelineBench(engine);
  rows.push([
    on('pipeline cycles per second x1'),
    `${fmt(cycles.pipelinePerSecond)} /s`,
    `${fmt(cycles.rawPerSecond)} /s (raw SQLite)`,
    `${fmt(cycles.pipelinePerSecond / cycles.rawPerSecond, 2)}x of raw`,
  ]);
  rows.push([
    on('pipeline cycles per second x16'),
    `${fmt(cycles.concurrent.perSecond)} /s (${fmt(cycles.concurrent.commitsPerCycle, 1)} commits/cycle)`,
    `${fmt(cycles.rawPerSecond)} /s (raw SQLite, 9 commits/cycle)`,
    `${fmt(cycles.concurrent.perSecond / cycles.rawPerSecond, 2)}x of raw`,
  ]);
  rows.push([
    on(`queue change to ${fanout.sockets} sockets p50 / p99`),
    `${fmt(fanout.p50, 1)} / ${fmt(fanout.p99, 1)} ms`,
    '-',
    '-',
  ]);
}

/** (d) bench/sip-register.ts: REGISTER transactions, embedded edge vs Kamailio. */
async function sipRegister(rows: Row[]) {
  const f = await benchSipRegister();
  printSipRegister(f);
  rows.push([
    'SIP REGISTER per second',
    `${fmt(f.edge.perSecond)} /s (embedded edge)`,
    f.kamailio ? `${fmt(f.kamailio.perSecond)} /s (Kamailio)` : `Kamailio: ${f.kamailioError ?? 'not run'}`,
    f.ratio ? `Kamailio ${fmt(f.ratio, 1)}x` : '-',
  ]);
}

/** (e) bench/device-commands.ts: command -> device -> acknowledgement round trip vs a raw WebSocket echo. */
async function deviceCommands(rows: Row[]) {
  const f = await benchDeviceCommands(undefined, engine);
  printDeviceCommands(f);
  rows.push([
    on(`device command round trip p50 / p99 (${fmt(f.n)})`),
    `${fmt(f.roundTrip.p50, 2)} / ${fmt(f.roundTrip.p99, 2)} ms`,
    `${fmt(f.echo.p50, 3)} / ${fmt(f.echo.p99, 3)} ms (WebSocket echo)`,
    `${fmt(f.roundTrip.p50 / f.echo.p50, 1)}x / ${fmt(f.roundTrip.p99 / f.echo.p99, 1)}x` +
      (f.flushes === null ? '' : `; ${fmt(f.flushes, 1)} fsyncs/command`),
  ]);
}

/** bench/call-setup.ts: "Call customer" -> device ringing -> two-way audio, embedded edge vs Kamailio. */
async function callSetup(rows: Row[]) {
  const r = await benchCallSetup();
  const edge = r.edge;
  for (const [path, f] of Object.entries(r))
    for (const part of ['ring', 'audio'] as const)
      rows.push([
        `call setup -> ${part === 'ring' ? 'device ringing' : 'two-way audio'} p50 / p95 (${f[part].length} calls), ${path}`,
        `${fmt(pctCall(f[part], 50))} / ${fmt(pctCall(f[part], 95))} ms`,
        edge
          ? `${fmt(pctCall(edge[part], 50))} / ${fmt(pctCall(edge[part], 95))} ms (edge, peer to peer)`
          : '-',
        edge ? `${fmt(pctCall(f[part], 50) / pctCall(edge[part], 50), 2)}x` : '-',
      ]);
}

/** (f) bench/tap-to-offer.ts: device POST -> offer with its verification on the agent's screen (Chromium). */
async function tapToOffer(rows: Row[]) {
  console.log("\n(f) tap -> offer on the agent's screen (bench/tap-to-offer.ts)");
  const f = await benchTapToOffer();
  printTapToOffer(f);
  rows.push([
    `tap -> offer + verification on screen p50 / p95 (${f.n})`,
    `${fmt(pctOf(f.verifiedFrame, 50), 1)} / ${fmt(pctOf(f.verifiedFrame, 95), 1)} ms`,
    `${fmt(pctOf(f.raw, 50), 1)} / ${fmt(pctOf(f.raw, 95), 1)} ms (raw offer frame)`,
    `${fmt(pctOf(f.verifiedFrame, 50) / pctOf(f.raw, 50), 1)}x / ${fmt(pctOf(f.verifiedFrame, 95) / pctOf(f.raw, 95), 1)}x`,
  ]);
}

/** (g) bench/console-load.ts: renderer cold load to interactive, memory of host and renderer. */
async function consoleLoad(rows: Row[]) {
  console.log('\n(g) console cold load and memory (bench/console-load.ts)');
  const f = await benchConsoleLoad();
  printConsoleLoad(f);
  rows.push([
    `console load -> login form p50 / p95 (${f.n})`,
    `${fmt(pctOf(f.toLoginForm, 50))} / ${fmt(pctOf(f.toLoginForm, 95))} ms`,
    `${fmt(pctOf(f.noScript, 50))} / ${fmt(pctOf(f.noScript, 95))} ms (JavaScript off)`,
    `${fmt(pctOf(f.toLoginForm, 50) / pctOf(f.noScript, 50), 1)}x / ${fmt(pctOf(f.toLoginForm, 95) / pctOf(f.noScript, 95), 1)}x`,
  ]);
  const mb = (kib: number) => fmt(kib / 1024);
  rows.push([
    'console renderer RSS idle / request in hand / call',
    `${mb(f.idle.rendererRssKiB)} / ${mb(f.active.rendererRssKiB)} / ${f.call ? mb(f.call.rendererRssKiB) : 'skipped'} MiB`,
    `${mb(f.blank.rendererRssKiB)} MiB (about:blank)`,
    `+${mb(f.idle.rendererRssKiB - f.blank.rendererRssKiB)} MiB idle`,
  ]);
}

/** (h) bench/queue-view.ts: frame times of the queue view with 10,000 rows and 100 updates/s. */
async function queueView(rows: Row[]) {
  console.log('\n(h) queue view frame times (bench/queue-view.ts)');
  const f = await benchQueueView();
  printQueueView(f);
  rows.push([
    `queue view frames p95 / p99, ${fmt(f.rows)} rows, ${f.rate} updates/s`,
    `${fmt(pctOf(f.streaming.deltas, 95), 1)} / ${fmt(pctOf(f.streaming.deltas, 99), 1)} ms`,
    `${fmt(pctOf(f.idle.deltas, 95), 1)} / ${fmt(pctOf(f.idle.deltas, 99), 1)} ms (queue idle)`,
    `${fmt(pctOf(f.streaming.deltas, 95) / pctOf(f.idle.deltas, 95), 2)}x / ${fmt(pctOf(f.streaming.deltas, 99) / pctOf(f.idle.deltas, 99), 2)}x`,
  ]);
}

/** bench/store-commit.ts: durable write units/s through the store, SQLite group commit and PostgreSQL vs raw better-sqlite3. */
async function storeCommit(rows: Row[]) {
  const f = await benchStoreCommit();
  printStoreCommit(f);
  const at = (runs: { concurrency: number; perSecond: number }[] | null, c: number) =>
    runs?.find((r) => r.concurrency === c)?.perSecond ?? 0;
  rows.push([
    'store write units/s, 1 / 64 callers (SQLite)',
    `${fmt(at(f.sqlite, 1))} / ${fmt(at(f.sqlite, 64))} /s`,
    `${fmt(f.raw.perSecond)} /s (raw, a commit each)`,
    `${fmt(at(f.sqlite, 64) / f.raw.perSecond, 1)}x at 64`,
  ]);
  if (f.postgres)
    rows.push([
      'store write units/s, 1 / 64 callers (PostgreSQL)',
      `${fmt(at(f.postgres, 1))} / ${fmt(at(f.postgres, 64))} /s`,
      `${fmt(f.raw.perSecond)} /s (raw SQLite)`,
      `${fmt(at(f.postgres, 64) / f.raw.perSecond, 1)}x at 64`,
    ]);
}

/** bench/nodes.ts: queue-change fan-out to sockets spread over 1, 2, 3 nodes on PostgreSQL. */
async function nodes(rows: Row[]) {
  console.log('\n(i) many nodes: queue-change fan-out and bus lag (bench/nodes.ts)');
  const f = await benchNodes();
  printNodes(f);
  const one = f.runs.find((r) => r.nodes === 1);
  for (const r of f.runs.filter((x) => x.nodes > 1)) {
    const all = [...r.sameNode, ...r.otherNode];
    rows.push([
      `queue change -> ${f.sockets} sockets on ${r.nodes} nodes p50 / p99`,
      `${fmt(pctOf(all, 50), 1)} / ${fmt(pctOf(all, 99), 1)} ms`,
      one ? `${fmt(pctOf(one.sameNode, 50), 1)} / ${fmt(pctOf(one.sameNode, 99), 1)} ms (1 node)` : '-',
      one
        ? `${fmt(pctOf(all, 50) / pctOf(one.sameNode, 50), 2)}x / ${fmt(pctOf(all, 99) / pctOf(one.sameNode, 99), 2)}x`
        : '-',
    ]);
    if (one)
      rows.push([
        `pipeline cycles/s across ${r.nodes} nodes (enqueue+offer+accept+complete, x2)`,
        `${fmt(r.cyclesPerSecond, 1)} /s`,
        `${fmt(one.cyclesPerSecond, 1)} /s (1 node)`,
        `${fmt(r.cyclesPerSecond / one.cyclesPerSecond, 2)}x`,
      ]);
    rows.push([
      `bus lag (other node - same node) p50, ${r.nodes} nodes`,
      `${fmt(pctOf(r.otherNode, 50), 1)} ms (other node)`,
      `${fmt(pctOf(r.sameNode, 50), 1)} ms (same node)`,
      `+${fmt(pctOf(r.otherNode, 50) - pctOf(r.sameNode, 50), 1)} ms`,
    ]);
  }
}

/** bench/node-death.ts: WebSocket clients back on a surviving node after a SIGKILL, vs their first subscribe. */
async function nodeDeath(rows: Row[]) {
  console.log('\n(i) many nodes: node death, clients resubscribed elsewhere (bench/node-death.ts)');
  const f = await benchNodeDeath();
  printNodeDeath(f);
  rows.push([
    `SIGKILL -> ${f.sockets} sockets resubscribed on another node p50 / p95`,
    `${fmt(pctOf(f.recoveryMs, 50), 1)} / ${fmt(pctOf(f.recoveryMs, 95), 1)} ms`,
    `${fmt(pctOf(f.firstMs, 50), 1)} / ${fmt(pctOf(f.firstMs, 95), 1)} ms (first subscribe)`,
    `${fmt(pctOf(f.recoveryMs, 50) / pctOf(f.firstMs, 50), 1)}x / ${fmt(pctOf(f.recoveryMs, 95) / pctOf(f.firstMs, 95), 1)}x`,
  ]);
}

/** bench/reports.ts: historical report queries over a seeded history vs an indexed count of the same rows. */
async function reports(rows: Row[]) {
  const f = await benchReports(engine);
  printReports(f);
  const day = f.queries[0]!;
  rows.push([
    on(`report 30 days by day p50 / p95 (${fmt(f.n)} requests)`),
    `${fmt(pctReports(day.ms, 50), 1)} / ${fmt(pctReports(day.ms, 95), 1)} ms`,
    `${fmt(pctReports(f.count, 50), 2)} / ${fmt(pctReports(f.count, 95), 2)} ms (indexed count)`,
    `${fmt(pctReports(day.ms, 50) / pctReports(f.count, 50), 0)}x / ${fmt(pctReports(day.ms, 95) / pctReports(f.count, 95), 0)}x`,
  ]);
}

/** bench/rtpengine-cpu.ts: rtpengine's CPU per concurrent anchored call, against its idle CPU in the same run. */
async function rtpengineCpu(rows: Row[]) {
  console.log('\n(j) rtpengine CPU per anchored call (bench/rtpengine-cpu.ts)');
  const f = await benchRtpengineCpu();
  printRtpengineCpu(f);
  const idle = f.runs.find((r) => r.calls === 0)!;
  for (const r of f.runs.filter((x) => x.calls > 0))
    rows.push([
      `rtpengine CPU, ${r.calls} calls ${r.label}`,
      `${fmt(r.cpuPercent, 2)} % of a core`,
      `${fmt(idle.cpuPercent, 2)} % (idle)`,
      `${fmt((r.cpuPercent - idle.cpuPercent) / r.calls, 3)} % per call`,
    ]);
}

/** bench/phone-in.ts: a trunk call through Kamailio to the offer, against the report posted straight to the authority. */
async function phoneIn(rows: Row[]) {
  console.log('\n(k) calls from the phone network (bench/phone-in.ts)');
  const f = await benchPhoneIn();
  printPhoneIn(f);
  rows.push([
    `phone-in: trunk INVITE -> offer p50 / p95 (${fmt(f.n)} calls)`,
    `${fmt(pctPhoneIn(f.offered, 50), 1)} / ${fmt(pctPhoneIn(f.offered, 95), 1)} ms`,
    `${fmt(pctPhoneIn(f.direct, 50), 1)} / ${fmt(pctPhoneIn(f.direct, 95), 1)} ms (report posted directly)`,
    `${fmt(pctPhoneIn(f.offered, 50) / pctPhoneIn(f.direct, 50), 2)}x / ${fmt(pctPhoneIn(f.offered, 95) / pctPhoneIn(f.direct, 95), 2)}x`,
  ]);
}

/** bench/link-to-verified.ts: the texted link used in the app -> the agent's panel verified (Chromium). */
async function linkToVerified(rows: Row[]) {
  console.log("\n(l) link tapped -> the agent's panel verified (bench/link-to-verified.ts)");
  const f = await benchLinkToVerified();
  printLinkToVerified(f);
  rows.push([
    `link tapped -> panel verified p50 / p95 (${f.n})`,
    `${fmt(pctOf(f.frame, 50), 1)} / ${fmt(pctOf(f.frame, 95), 1)} ms`,
    `${fmt(pctOf(f.raw, 50), 1)} / ${fmt(pctOf(f.raw, 95), 1)} ms (raw queue.delta)`,
    `${fmt(pctOf(f.frame, 50) / pctOf(f.raw, 50), 1)}x / ${fmt(pctOf(f.frame, 95) / pctOf(f.raw, 95), 1)}x`,
  ]);
}

/** bench/verify-agent-time.ts: agent seconds spent verifying a phone caller, the questions vs the link. */
async function verifyAgentTime(rows: Row[]) {
  console.log(
    '\n(m) agent time spent verifying, knowledge questions vs the link (bench/verify-agent-time.ts)',
  );
  const f = await benchVerifyAgentTime();
  printVerifyAgentTime(f);
  const r = f.report;
  const perCheck = r.knowledgeChecks ? r.knowledgeSeconds / r.knowledgeChecks : 0;
  const link = r.deviceVerifySeconds / f.n;
  rows.push([
    `agent seconds verifying a phone caller: questions (${f.n} calls, scripted typing)`,
    `${fmt(perCheck, 2)} s a call (report)`,
    `${fmt(link, 2)} s a call by the link (report)`,
    link > 0 ? `${fmt(perCheck / link, 1)}x` : '∞ (the link takes no agent time)',
  ]);
}

/** bench/chat.ts (a): a chat message send -> shown on the other party's socket vs a raw WebSocket echo. */
async function chatLatency(rows: Row[]) {
  const f = await benchChatLatency(engine);
  printChatLatency(f);
  const all = [...f.toAgent, ...f.toDevice];
  rows.push([
    on(`chat send -> shown p50 / p99 (${fmt(f.n)}; lost ${f.lost}, dup ${f.duplicated})`),
    `${fmt(pctOf(all, 50), 2)} / ${fmt(pctOf(all, 99), 2)} ms`,
    `${fmt(pctOf(f.echo, 50), 3)} / ${fmt(pctOf(f.echo, 99), 3)} ms (WebSocket echo)`,
    `${fmt(pctOf(all, 50) / pctOf(f.echo, 50), 1)}x / ${fmt(pctOf(all, 99) / pctOf(f.echo, 99), 1)}x`,
  ]);
}

/** bench/chat.ts (b): concurrent conversations on one node, messages/s and p99 send -> shown. */
async function chatLoad(rows: Row[]) {
  const f = await benchChatLoad(engine);
  printChatLoad(f);
  rows.push([
    on(`chat, ${fmt(f.conversations)} conversations: messages/s, p99 (lost ${f.lost}, dup ${f.duplicated})`),
    `${fmt(f.shown.length / f.seconds)} /s, p99 ${fmt(pctOf(f.shown, 99), 1)} ms`,
    `${fmt(f.echo.times.length / f.echo.seconds)} /s, p99 ${fmt(pctOf(f.echo.times, 99), 1)} ms (WebSocket echo)`,
    `${fmt(f.shown.length / f.seconds / (f.echo.times.length / f.echo.seconds), 3)}x /s, ${fmt(pctOf(f.shown, 99) / pctOf(f.echo.times, 99), 1)}x p99`,
  ]);
  if (f.paced)
    rows.push([
      on(
        `chat, ${fmt(f.conversations)} conversations, a message every ${fmt(f.paced.thinkMs / 1000, 1)} s each: p50 / p99`,
      ),
      `${fmt(pctOf(f.paced.shown, 50), 1)} / ${fmt(pctOf(f.paced.shown, 99), 1)} ms (${fmt(f.paced.shown.length / f.paced.seconds)} /s)`,
      '-',
      '-',
    ]);
}

/** Run one bench; a failure is printed and noted in the table, and the others still run. */
async function guarded(name: string, rows: Row[], fn: () => Promise<void>) {
  try {
    await fn();
  } catch (e) {
    process.exitCode = 1;
    console.error(`  ${name} failed:`, e);
    rows.push([name, 'failed (see above)', '-', '-']);
  }
}

async function main() {
  const cpu = cpus();
  console.log(
    `bench: node ${process.version}, ${cpu.length} x ${cpu[0]?.model ?? 'unknown CPU'}; ` +
      `VD_BENCH_N=${N} VD_BENCH_CONCURRENCY=${CONCURRENCY} VD_BENCH_PIN_N=${PIN_N}`,
  );
  const rows: Row[] = [];
  for (engine of ENGINES) {
    if (!wanted('device-proofs') && !wanted('pin')) break;
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-'));
    const authority = await startAuthority(dataDir, engine);
    console.log(`\nauthority (own process, ${engineName(engine)}) at ${authority.url}, data in ${dataDir}`);
    try {
      if (wanted('device-proofs'))
        await guarded(on('device proofs'), rows, () => deviceProofs(authority.url, authority.pid, rows));
      if (wanted('pin')) await guarded(on('PIN verification'), rows, () => pin(authority.url, rows));
    } finally {
      await authority.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  for (engine of ENGINES) if (wanted('pipeline')) await guarded(on('pipeline'), rows, () => pipeline(rows));
  if (wanted('sip-register')) await guarded('SIP REGISTER', rows, () => sipRegister(rows));
  if (wanted('tap-to-offer')) await guarded('tap to offer', rows, () => tapToOffer(rows));
  if (wanted('console-load')) await guarded('console load', rows, () => consoleLoad(rows));
  if (wanted('queue-view')) await guarded('queue view', rows, () => queueView(rows));
  for (engine of ENGINES)
    if (wanted('device-commands')) await guarded(on('device commands'), rows, () => deviceCommands(rows));
  if (wanted('call-setup')) await guarded('call setup', rows, () => callSetup(rows));
  if (wanted('store-commit')) await guarded('store commits', rows, () => storeCommit(rows));
  if (wanted('nodes') && ENGINES.includes('postgres')) await guarded('many nodes', rows, () => nodes(rows));
  if (wanted('node-death') && ENGINES.includes('postgres'))
    await guarded('node death', rows, () => nodeDeath(rows));
  for (engine of ENGINES) if (wanted('reports')) await guarded(on('reports'), rows, () => reports(rows));
  if (wanted('rtpengine-cpu')) await guarded('rtpengine CPU', rows, () => rtpengineCpu(rows));
  if (wanted('phone-in')) await guarded('phone-in', rows, () => phoneIn(rows));
  if (wanted('link-to-verified')) await guarded('link to verified', rows, () => linkToVerified(rows));
  if (wanted('verify-agent-time')) await guarded('agent time verifying', rows, () => verifyAgentTime(rows));
  for (engine of ENGINES)
    if (wanted('chat-latency')) await guarded(on('chat latency'), rows, () => chatLatency(rows));
  for (engine of ENGINES) if (wanted('chat-load')) await guarded(on('chat load'), rows, () => chatLoad(rows));

  const head: Row = ['bench', 'through the API', 'same-run baseline', 'ratio'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i]!)).join(' | ') + ' |';
  console.log('\nSummary');
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
