#!/usr/bin/env node
/**
 * The project's one test command (`npm test`): static checks, then every test suite
 * (unit, integration, e2e) under node's test runner, then the totals as the plain
 * line "N passed, N failed". Sizes of load/soak/crash tests come from env variables
 * (see README); CI=true picks the CI sizes.
 */
import { spawnSync } from 'node:child_process';
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

for (const suite of ['unit', 'integration', 'e2e']) {
  if (only.length && !only.includes(suite) && !only.some((f) => f.includes('/'))) continue;
  let files = findTests(join(root, 'test', suite));
  const filters = only.filter((f) => f.includes('/'));
  if (filters.length) files = files.filter((f) => filters.some((x) => f.includes(x)));
  if (files.length === 0) continue;
  process.stdout.write(`\n== suite: ${suite} (${files.length} files)\n`);
  const countFile = join(tmp, `counts-${suite}.json`);
  rmSync(countFile, { force: true });
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      `--test-concurrency=${suite === 'e2e' ? 1 : 2}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      `--test-reporter=${join(root, 'test/support/count-reporter.mjs')}`,
      `--test-reporter-destination=${countFile}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, VD_TEST_SUITE: suite } },
  );
  let counts;
  try {
    counts = JSON.parse(readFileSync(countFile, 'utf8'));
  } catch {
    counts = { passed: 0, failed: 1, skipped: 0, failures: [`suite ${suite} crashed (exit ${r.status})`] };
  }
  if (r.status !== 0 && counts.failed === 0) {
    counts.failed = 1;
    counts.failures.push(`suite ${suite} exited ${r.status}`);
  }
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
