/**
 * CPU time a process has used so far (user + system), from /proc/PID/stat: what the
 * benches print per operation beside their timings. On a noisy machine a rate moves with
 * whatever else runs, while the CPU an operation costs the process that serves it moves
 * far less: compare two builds by this figure.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat (getconf CLK_TCK is 100 on Linux). */
const TICKS = 100;

/** user + system CPU seconds of process `pid` so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / TICKS;
}
