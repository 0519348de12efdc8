import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;

/**
 * How the host runs: `bundle` (default) as it ships, main/core bundled by esbuild like
 * `npm run build:shell` does for the Electron main process and run by plain node; `tsx`
 * from the TypeScript sources through tsx's loader, which alone adds about 45 MiB of RSS.
 */
export const HOST_RUN = process.env.VD_BENCH_CONSOLE_HOST === 'tsx' ? 'tsx' : 'bundle';

/** main/core/browser-cli.ts bundled into dist/bench-host/ (its packages left to node_modules). */
async function bundledHost(): Promise<string> {
  const outfile = join(root, 'dist', 'bench-host', 'browser-cli.mjs');
  await build({
    entryPoints: [join(root, 'main/core/browser-cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}

export interface ConsoleHost {
  /** The web host's origin (http://127.0.0.1:PORT). */
  url: string;
  /** The URL to open: the per-launch token in the fragment. */
  launchUrl: string;
  /** The node process running browser mode (main/core + web host), for its RSS. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * The console in browser mode in its own process (`main/core/browser-cli.ts`, which calls
 * startBrowserMode and serves renderer/dist): the same main/core and web host an agent on
 * VDI runs, with its own event loop and a memory figure of its own. Resolves once it
 * printed its launch URL. renderer/dist must be built (test/support/renderer.ts).
 */
export async function startConsoleHost(authorityUrl: string, dataDir: string): Promise<ConsoleHost> {
  const entry = HOST_RUN === 'tsx' ? ['--import', 'tsx', 'main/core/browser-cli.ts'] : [await bundledHost()];
  const child = spawn(
    process.execPath,
    [...entry, '--authority', authorityUrl, '--data-dir', dataDir, '--port', '0'],
    { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  // A bench that dies (an uncaught error) must not leave the host running.
  const orphanGuard = () => child.kill('SIGTERM');
  process.once('exit', orphanGuard);
  child.once('exit', () => process.off('exit', orphanGuard));
  const launchUrl = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /Open: (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) =>
      reject(new Error(`the console host exited (${code}) before listening:\n${out}`)),
    );
  });
  child.stdout.resume();
  return {
    url: new URL(launchUrl).origin,
    launchUrl,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
