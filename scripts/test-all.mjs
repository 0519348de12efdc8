#!/usr/bin/env node
/**
 * The project's one test command (`npm test`): static checks, then every test suite
 * (unit, integration, e2e) under node's test runner, then the totals as the plain
 * line "N passed, N failed". Sizes of load/soak/crash tests come from env variables
 * (see README); CI runs the defaults.
 *
 * Engines: the integration suite runs once per engine of VD_TEST_ENGINES (default
 * `sqlite,postgres`): first on SQLite, then again with VD_TEST_ENGINE=postgres (every test
 * authority on a fresh database of a throwaway PostgreSQL cluster, test/support/postgres.ts).
 * Files that pick their engines themselves (they call testEngines(): the store tests) run
 * in the first pass only, on every engine of the list; ENGINE_NEUTRAL files in the first only;
 * the second pass fuzzes bad input at VD_FUZZ_RUNS=50 unless set.
 */
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2); // optional: suite names or file filters
const tmp = join(root, '.tmp');
mkdirSync(tmp, { recursive: true });

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];

function check(name, cmd, args) {
  if (only.length && !only.includes('checks')) return;
  process.stdout.write(`\n== check: ${name}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  if (r.status === 0) passed++;
  else {
    failed++;
    failures.push(`check: ${name}`);
  }
}

function findTests(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (entry.endsWith('.test.ts')) out.push(p);
  }
  return out.sort();
}

check('typecheck', 'node', ['scripts/typecheck.mjs']);
check('lint', 'npx', ['eslint', '.']);
check('format', 'npx', ['prettier', '--check', '.']);

const engines = (process.env.VD_TEST_ENGINES ?? 'sqlite,postgres')
  .split(',')
  .map((e) => e.trim())
  .filter(Boolean);
for (const e of engines)
  if (e !== 'sqlite' && e !== 'postgres') {
    process.stderr.write(`VD_TEST_ENGINES: unknown engine "${e}" (sqlite, postgres)\n`);
    process.exit(2);
  }
const runs = [
  { suite: 'unit', engine: 'sqlite' },
  ...engines.map((engine) => ({ suite: 'integration', engine })),
  { suite: 'e2e', engine: 'sqlite' },
];
/** Files that choose their engines themselves (testEngines()): they ran on every engine in the first pass. */
const picksEngines = (file) => readFileSync(file, 'utf8').includes('testEngines()');
/**
 * Integration files the second engine's pass skips: the long ones whose subject does not
 * depend on the engine (the console's own SQLite outbox, whose authority side
 * wrap-up-authority-crash runs on both; the recording conversion's order of writes; Kamailio's
 * dialog module ending calls and coturn's relays: their authority side, the SIP control route
 * (on both engines in kamailio-phone-in) and TURN credentials (an HMAC), keeps nothing of
 * its own in the store). Keep it short. The bad-input fuzzers run on both
 * (issue 11: every bad-input figure holds on both engines), the second time smaller
 * (SECOND_FUZZ_RUNS per route and for frames, unless VD_FUZZ_RUNS is set).
 */
const ENGINE_NEUTRAL = new Set(['outbox-crash', 'recording-crash', 'kamailio-dialog', 'turn']);
const SECOND_FUZZ_RUNS = '50';
const SECOND_COMMAND_FUZZ = '200';
/** The time limit per test file (VD_TEST_FILE_MINUTES overrides it; 0: none). */
const FILE_MINUTES = 15;
const engineNeutral = (file) =>
  ENGINE_NEUTRAL.has(
    file
      .split('/')
      .pop()
      .replace(/\.test\.ts$/, ''),
  );

for (const { suite, engine } of runs) {
  if (only.length && !only.includes(suite) && !only.some((f) => f.includes('/'))) continue;
  let files = findTests(join(root, 'test', suite));
  const filters = only.filter((f) => f.includes('/'));
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  const second = suite === 'integration' && engine !== engines[0];
  if (second) files = files.filter((f) => !picksEngines(f) && !engineNeutral(f));
  if (files.length === 0) continue;
  const label = suite === 'integration' ? `${suite} (${engine})` : suite;
  process.stdout.write(`\n== suite: ${label} (${files.length} files)\n`);
  const countFile = join(tmp, `counts-${suite}${suite === 'integration' ? `-${engine}` : ''}.json`);
  const t0 = performance.now();
  rmSync(countFile, { force: true });
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      join(root, 'test/support/file-watchdog.mjs'),
      '--test',
      `--test-concurrency=${suite === 'e2e' ? 1 : 2}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'test/support/count-reporter.mjs')}`,
      `--test-reporter-destination=${countFile}`,
      ...files,
    ],
    {
      cwd: root,
      stdio: 'inherit',
      env: {
        ...process.env,
        VD_TEST_SUITE: suite,
        VD_TEST_ENGINE: engine,
        // A file still running after this many minutes ends as failed (test/support/file-watchdog.mjs):
        // one file that never exits must not hold up the whole suite. The longest file takes ~5 min.
        VD_TEST_FILE_MINUTES: process.env.VD_TEST_FILE_MINUTES ?? String(FILE_MINUTES),
        // The pipeline crash test is the pass's longest file (500 requests: ~3.5 min on PostgreSQL):
        // the second engine's pass runs it at 300 unless set (the first at its 600).
        ...(second && !process.env.VD_CRASH_REQUESTS ? { VD_CRASH_REQUESTS: '300' } : {}),
        // bad-input and ws-bad-input: the second engine's pass fuzzes at 50 (the first at 500).
        ...(second && !process.env.VD_FUZZ_RUNS ? { VD_FUZZ_RUNS: SECOND_FUZZ_RUNS } : {}),
        // command-replay fuzzes command bodies and results on one node and on three: the second
        // engine's pass at 200 each (the first, one node on SQLite, at its 2000).
        ...(second && !process.env.VD_COMMAND_FUZZ ? { VD_COMMAND_FUZZ: SECOND_COMMAND_FUZZ } : {}),
      },
    },
  );
  process.stdout.write(`\n== suite: ${label} took ${((performance.now() - t0) / 60_000).toFixed(1)} min\n`);
  let counts;
  try {
    counts = JSON.parse(readFileSync(countFile, 'utf8'));
  } catch {
    counts = { passed: 0, failed: 1, skipped: 0, failures: [`suite ${label} crashed (exit ${r.status})`] };
  }
  if (r.status !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.failures.push(`suite ${label} exited ${r.status}`);
  }
  if (suite === 'integration' && engines.length > 1)
    counts.failures = counts.failures.map((f) => `[${engine}] ${f}`);
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  failures.push(...counts.failures);
}

if (failures.length) {
  process.stdout.write('\nFailures:\n' + failures.map((f) => `  - ${f}`).join('\n') + '\n');
}
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed === 0 ? 0 : 1);
