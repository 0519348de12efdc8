import { spawn } from 'node:child_process';
import { once } from 'node:events';
import type { Engine } from '../authority/src/store/engine.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const root = new URL('..', import.meta.url).pathname;

/** The engines the benches run on: VD_BENCH_ENGINES (default `sqlite,postgres`), side by side. */
export function benchEngines(): Engine[] {
  return (process.env.VD_BENCH_ENGINES ?? 'sqlite,postgres')
    .split(',')
    .map((e) => e.trim())
    .filter((e): e is Engine => e === 'sqlite' || e === 'postgres');
}

export const engineName = (e: Engine) => (e === 'sqlite' ? 'SQLite' : 'PostgreSQL');

/**
 * The authority in its own process for a benchmark (`cli.ts --demo --port 0`), so the
 * bench client and the server do not share an event loop; resolves with its base URL
 * once it listens. On PostgreSQL, a fresh database of the harness's throwaway cluster
 * (test/support/postgres.ts) is its store; the data dir keeps its files.
 */
export async function startBenchAuthority(
  dataDir: string,
  env: Record<string, string>,
  engine: Engine = 'sqlite',
): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  if (engine === 'postgres') env = { ...env, VD_DATABASE_URL: await createTestDatabase('vd_bench') };
  const child = spawn(
    process.execPath,
    [
      // e.g. VD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the authority
      ...(process.env.VD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      '--import',
      'tsx',
      'authority/src/cli.ts',
      '--demo',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--log-level',
      'warn',
    ],
    { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // A bench that dies (an uncaught error) must not leave the authority running.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`the authority exited (${code}) before listening:\n${out}`)),
    );
  });
  child.stdout.resume();
  return {
    url,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
