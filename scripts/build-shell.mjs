#!/usr/bin/env node
/**
 * `npm run build:shell`: bundle the Electron main process and the preload with
 * esbuild into dist/app/ (CommonJS: a sandboxed preload cannot be an ES module).
 *   dist/app/main.js     main/shell/main.ts + main/core + protocol + zod, ws, electron-updater
 *   dist/app/preload.js  preload/preload.ts + the bridge contract
 * Run with tsx (it imports the bridge contract). 'electron' is provided by the runtime; better-sqlite3 is native and loaded from
 * node_modules (unpacked from the asar, rebuilt for Electron by electron-builder).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { bridgeEvents, bridgeRequests } from '../protocol/src/bridge.ts';

const root = new URL('..', import.meta.url).pathname;
// --outdir DIR: build elsewhere (the bundle smoke test builds into a temporary folder).
const at = process.argv.indexOf('--outdir');
const outDir = at > 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : join(root, 'dist', 'app');
mkdirSync(outDir, { recursive: true });
// The project is "type": "module"; this folder holds CommonJS bundles. The name
// is what a development run (`electron dist/app/main.js`) reports as the app's.
const appPackage = { name: 'verified-desk', productName: 'Verified Desk', type: 'commonjs', main: 'main.js' };
writeFileSync(join(outDir, 'package.json'), JSON.stringify(appPackage, null, 2) + '\n');

const common = {
  bundle: true,
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  legalComments: 'none',
  absWorkingDir: root,
};

/** preload/contract-names.ts becomes two literal lists: the preload bundle needs names, not zod. */
const contractNames = {
  name: 'contract-names',
  setup(b) {
    b.onLoad({ filter: /preload[\\/]contract-names\.ts$/ }, () => ({
      loader: 'js',
      contents: [
        `export const REQUEST_CHANNELS = Object.freeze(${JSON.stringify(Object.keys(bridgeRequests))});`,
        `export const EVENT_NAMES = Object.freeze(${JSON.stringify(Object.keys(bridgeEvents))});`,
      ].join('\n'),
    }));
  },
};

const results = await Promise.all([
  build({
    ...common,
    entryPoints: [join(root, 'main/shell/main.ts')],
    outfile: join(outDir, 'main.js'),
    platform: 'node',
    target: 'node22',
    // ws' optional native helpers are absent on purpose (ws falls back to JS).
    external: ['electron', 'better-sqlite3', 'bufferutil', 'utf-8-validate'],
    metafile: true,
  }),
  build({
    ...common,
    entryPoints: [join(root, 'preload/preload.ts')],
    outfile: join(outDir, 'preload.js'),
    // A sandboxed preload gets a browser-like environment plus require('electron').
    platform: 'browser',
    target: 'chrome130',
    external: ['electron'],
    plugins: [contractNames],
    metafile: true,
  }),
]);

for (const r of results)
  for (const [file, out] of Object.entries(r.metafile.outputs))
    if (!file.endsWith('.map')) console.log(`${file}  ${(out.bytes / 1024).toFixed(0)} KiB`);
