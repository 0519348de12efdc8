#!/usr/bin/env node
/**
 * postinstall: fetch the Electron binary if it can be had; otherwise say so loudly
 * and succeed, because the console also runs in browser mode from the same
 * main/core code (`npm run demo` prints the URL). Since Electron 42 the electron
 * package has no install script of its own (it downloads on first run); this runs
 * its downloader (`install.js`, the `install-electron` bin) so `npm install` leaves
 * a ready binary where it can. package.json allowScripts keeps any electron install
 * script from running, so a blocked download can never fail `npm install`.
 * ELECTRON_SKIP_BINARY_DOWNLOAD is honoured here (Electron itself no longer reads it).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let dir;
try {
  dir = dirname(require.resolve('electron/package.json'));
} catch {
  process.exit(0); // production install without devDependencies
}
const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
const installed = () => {
  try {
    return (
      readFileSync(join(dir, 'dist', 'version'), 'utf8')
        .replace(/^v/, '')
        .trim() === version && existsSync(join(dir, 'path.txt'))
    );
  } catch {
    return false;
  }
};
const banner = (lines) => {
  const width = Math.max(...lines.map((l) => l.length)) + 4;
  const bar = '*'.repeat(width);
  console.warn(['', bar, ...lines.map((l) => `* ${l.padEnd(width - 4)} *`), bar, ''].join('\n'));
};

if (installed()) process.exit(0);
if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
  banner([
    `Electron ${version} binary: download skipped (ELECTRON_SKIP_BINARY_DOWNLOAD is set).`,
    'The agent console will run in browser mode.',
  ]);
  process.exit(0);
}
const r = spawnSync(process.execPath, [join(dir, 'install.js')], {
  stdio: ['ignore', 'pipe', 'pipe'],
  timeout: Number(process.env.VD_ELECTRON_DOWNLOAD_TIMEOUT_MS ?? 90_000),
  encoding: 'utf8',
});
if (r.status === 0 && installed()) {
  console.log(`Electron ${version} binary installed.`);
  process.exit(0);
}
const why = (r.error?.message ?? r.stderr ?? '').split('\n').find((l) => l.trim()) ?? `exit ${r.status}`;
banner([
  `WARNING: the Electron ${version} binary could not be downloaded:`,
  `  ${why.slice(0, 100)}`,
  'npm install continues: the agent console runs in BROWSER MODE',
  '(same main/core code; `npm run demo` prints the URL to open).',
  'To retry later: node node_modules/electron/install.js',
]);
process.exit(0);
