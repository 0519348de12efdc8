/**
 * A time limit per test file for `npm test` (scripts/test-all.mjs loads this with --import).
 *
 * Node 20's test runner waits for each file's process to exit, and a file that leaves a
 * handle open (a timer, a socket, a child's pipe) never exits after its last test: the
 * whole suite then waits until CI's hard limit, and the output says nothing about which
 * file. With VD_TEST_FILE_MINUTES set, each test file's process (NODE_TEST_CONTEXT names
 * the runner's children; the runner itself and the processes tests start are left alone)
 * ends itself after that many minutes, with exit code 1 and the resources still open, so
 * the file is reported as failed and the suite goes on. 0 or unset: no limit (running a
 * file by hand, full-size soak and crash runs).
 */
const minutes = Number(process.env.VD_TEST_FILE_MINUTES ?? 0);
if (process.env.NODE_TEST_CONTEXT?.startsWith('child') && Number.isFinite(minutes) && minutes > 0) {
  const file = process.argv.slice(1).find((a) => a.endsWith('.test.ts')) ?? process.argv[1];
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
    process.stderr.write(
      `\n# watchdog: ${file} still running after ${minutes} min (VD_TEST_FILE_MINUTES): ended with exit code 1.\n` +
        `# watchdog: resources still open: ${open.join(', ') || 'none'}\n`,
    );
    process.exit(1);
  }, minutes * 60_000).unref();
}
