/**
 * How many times the disk was flushed per operation: `strace -c` attached to the processes
 * that write (the authority on SQLite; PostgreSQL's own processes on PostgreSQL) counts
 * fsync, fdatasync and sync_file_range calls while `work` runs. Printed beside the
 * timings so a reader sees why a durable write costs what it costs; strace slows what it
 * watches, so this runs as a pass of its own, never inside a timed one. Null when strace is
 * missing or may not attach (no ptrace permission).
 */
import { execFileSync, spawn } from 'node:child_process';

const FLUSHES = ['fsync', 'fdatasync', 'sync_file_range'];

/** The PostgreSQL server processes of the machine (the harness's throwaway cluster runs as `postgres`). */
export function postgresPids(): number[] {
  try {
    return execFileSync('pgrep', ['-u', 'postgres', '-x', 'postgres'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Flushes per operation while `work` runs (it resolves with how many operations it did). */
export async function flushesPerOperation(
  pids: number[],
  work: () => Promise<number>,
): Promise<number | null> {
  if (pids.length === 0) return null;
  const args = ['-f', '-c', '-e', `trace=${FLUSHES.join(',')}`, ...pids.flatMap((p) => ['-p', String(p)])];
  let strace;
  try {
    strace = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch {
    return null;
  }
  let err = '';
  strace.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => strace.once('close', () => resolve()));
  // Wait until every process is attached (strace says so for each), or give up.
  const t0 = Date.now();
  while ((err.match(/attached/g) ?? []).length < pids.length && Date.now() - t0 < 5_000) {
    if (strace.exitCode !== null) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!/attached/.test(err)) {
    strace.kill('SIGKILL');
    return null;
  }
  const ops = await work();
  strace.kill('SIGINT');
  await exited;
  let calls = 0;
  for (const line of err.split('\n')) {
    const cols = line.trim().split(/\s+/);
    const name = cols.at(-1);
    // "% time  seconds  usecs/call  calls  [errors]  syscall"
    if (name && FLUSHES.includes(name) && cols.length >= 5) calls += Number(cols[3]);
  }
  return ops > 0 ? calls / ops : null;
}
