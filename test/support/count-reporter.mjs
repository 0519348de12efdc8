/**
 * node:test reporter that counts leaf tests (not suites) and writes
 * {"passed":N,"failed":N,"skipped":N,"failures":[...]} to its destination.
 */
export default async function* countReporter(source) {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const failures = [];
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (ev.data.details?.type === 'suite') continue;
    if (ev.type === 'test:pass') {
      if (ev.data.skip || ev.data.todo) skipped++;
      else passed++;
    } else {
      failed++;
      failures.push(`${ev.data.file ?? ''} :: ${ev.data.name}`);
    }
  }
  yield JSON.stringify({ passed, failed, skipped, failures }) + '\n';
}
