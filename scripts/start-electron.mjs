#!/usr/bin/env node
/**
 * `npm run electron`: start the agent console in Electron from the built shell
 * (dist/app/main.js; `npm run build:shell` runs first, and the renderer must be
 * built: `npm run build:renderer`). Without the Electron binary (it cannot be
 * downloaded everywhere) this says so and points to browser mode.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);

let electronBinary;
try {
  // In plain Node, the electron package exports the path of its binary, and throws when it is missing.
  electronBinary = require('electron');
} catch {
  electronBinary = null;
}
if (typeof electronBinary !== 'string' || !existsSync(electronBinary)) {
  console.error(
    'The Electron binary is not installed (try: node node_modules/electron/install.js).\n' +
      'Run the console in browser mode instead: npm run console:browser',
  );
  process.exit(1);
}
const main = join(root, 'dist', 'app', 'main.js');
if (!existsSync(join(root, 'renderer', 'dist', 'index.html')))
  console.warn('renderer/dist is missing: run npm run build:renderer (the window will be empty).');

const child = spawn(electronBinary, [main, ...process.argv.slice(2)], { stdio: 'inherit', env: process.env });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
