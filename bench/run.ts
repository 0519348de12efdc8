/**
 * `npm run bench`: start an authority in its own process (demo data, a temp data dir,
 * the configured argon2 cost) and run the device-proof and PIN benches against it, then
 * the pipeline bench (bench/pipeline.ts, which starts its own in-process authority);
 * print each figure next to its same-run baseline, then a summary table. Figures are
 * printed, never asserted. `npm run bench -- pin` (or device-proofs, pipeline, sip-register) runs a part.
 *
 * Sizes: VD_BENCH_N (device proofs, default 3000), VD_BENCH_CONCURRENCY (default 16),
 * VD_BENCH_PIN_N (PIN verifications, default 50); bench/pipeline.ts reads its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../authority/src/config.ts';
import { startBenchAuthority } from './authority-process.ts';
import { benchDeviceProofs } from './device-proofs.ts';
import { benchPin } from './pin.ts';
import { pipelineBench } from './pipeline.ts';
import { benchSipRegister, printSipRegister } from './sip-register.ts';

const N = Number(process.env.VD_BENCH_N ?? 3000);
const CONCURRENCY = Number(process.env.VD_BENCH_CONCURRENCY ?? 16);
const PIN_N = Number(process.env.VD_BENCH_PIN_N ?? 50);
const PEPPER = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const only = process.argv.slice(2);
const wanted = (name: string) => only.length === 0 || only.includes(name);

/** The argon2 cost the authority uses when nothing overrides it (the schema defaults). */
const configured = parseConfig({ pinPepper: PEPPER });

const startAuthority = (dataDir: string) =>
  startBenchAuthority(dataDir, {
    VD_PIN_PEPPER: PEPPER,
    VD_AUTHENTICATION_TTL_SECONDS: '86400',
    VD_ARGON2_MEMORY_KIB: String(configured.argon2MemoryKiB),
    VD_ARGON2_ITERATIONS: String(configured.argon2Iterations),
  });

const fmt = (x: number, d = 0) =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
type Row = [string, string, string, string];

/** (a) device-key proofs per second, against the authority process. */
async function deviceProofs(url: string, rows: Row[]) {
  console.log(
    `\n(a) device-key proofs: ${N} requests GET /v1/device/me, ${CONCURRENCY} in flight, each with its own pre-signed proof`,
  );
  const d = await benchDeviceProofs(url, 'ALICE-DEMO-2026', { n: N, concurrency: CONCURRENCY });
  console.log(
    `  HTTP API:           ${fmt(d.httpPerSecond)} proofs/s (${d.httpErrors} non-200; latency p50 ${fmt(d.httpP50Ms, 2)} ms, p95 ${fmt(d.httpP95Ms, 2)} ms)`,
  );
  console.log(
    `  raw node:crypto:    ${fmt(d.rawCryptoPerSecond)} verifications/s of the same signatures (${d.rawFailures} failed)`,
  );
  console.log(`  raw jose:           ${fmt(d.rawJosePerSecond)} compactVerify/s of the same JWS`);
  console.log(
    `  ratio: raw node:crypto / HTTP = ${fmt(d.rawCryptoPerSecond / d.httpPerSecond, 2)}x; raw jose / HTTP = ${fmt(d.rawJosePerSecond / d.httpPerSecond, 2)}x`,
  );
  rows.push([
    'device proofs verified per second',
    `${fmt(d.httpPerSecond)} /s`,
    `${fmt(d.rawCryptoPerSecond)} /s (node:crypto)`,
    `raw ${fmt(d.rawCryptoPerSecond / d.httpPerSecond, 1)}x faster`,
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
    'PIN verification p50 / p95',
    `${fmt(p.httpP50Ms, 1)} / ${fmt(p.httpP95Ms, 1)} ms`,
    `${fmt(p.rawP50Ms, 1)} / ${fmt(p.rawP95Ms, 1)} ms (argon2)`,
    `HTTP ${fmt(p.httpP50Ms / p.rawP50Ms, 2)}x / ${fmt(p.httpP95Ms / p.rawP95Ms, 2)}x`,
  ]);
}

/** (c) bench/pipeline.ts (its own in-process authority). */
async function pipeline(rows: Row[]) {
  console.log('\n(c) pipeline (bench/pipeline.ts, in-process authority)');
  const { cycles, fanout } = await pipelineBench();
  rows.push([
    'pipeline cycles per second',
    `${fmt(cycles.pipelinePerSecond)} /s`,
    `${fmt(cycles.rawPerSecond)} /s (raw SQLite)`,
    `${fmt(cycles.pipelinePerSecond / cycles.rawPerSecond, 2)}x of raw`,
  ]);
  rows.push([
    `queue change to ${fanout.sockets} sockets p50 / p99`,
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
  if (wanted('device-proofs') || wanted('pin')) {
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-'));
    const authority = await startAuthority(dataDir);
    console.log(`authority (own process) at ${authority.url}, data in ${dataDir}`);
    try {
      if (wanted('device-proofs'))
        await guarded('device proofs', rows, () => deviceProofs(authority.url, rows));
      if (wanted('pin')) await guarded('PIN verification', rows, () => pin(authority.url, rows));
    } finally {
      await authority.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  if (wanted('pipeline')) await guarded('pipeline', rows, () => pipeline(rows));
  if (wanted('sip-register')) await guarded('SIP REGISTER', rows, () => sipRegister(rows));

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
