#!/usr/bin/env node
/**
 * `npm run typecheck`: tsc over every project. Each layer has its own tsconfig.json
 * with only the globals of where it runs (the VS Code layersChecker idea, by lib and
 * types): protocol/ neither DOM nor Node; authority/ and main/ Node, no DOM;
 * renderer/ and customer/ DOM, no Node (`process.env` there is "Cannot find name
 * 'process'"); preload/ DOM with electron's typings. The root tsconfig.json
 * checks the rest (tests, benches, scripts, the Vite configs) with both.
 * Every top-level folder with a tsconfig.json is a project. Two at a time; exit 1 if any
 * has an error.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
// The root project and every top-level folder's own tsconfig.json (protocol/, authority/, ...).
const PROJECTS = [
  'tsconfig.json',
  ...readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && d.name !== 'node_modules' && !d.name.startsWith('.'))
    .map((d) => `${d.name}/tsconfig.json`)
    .filter((p) => existsSync(join(root, p)))
    .sort(),
];

function check(project) {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsc, '-p', project, '--noEmit', '--pretty', 'false'], {
      cwd: root,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      process.stdout.write(`typecheck ${project}: ${code === 0 ? 'ok' : 'FAILED'} (${secs} s)\n${out}`);
      resolve(code === 0);
    });
  });
}

const queue = [...PROJECTS];
const results = [];
await Promise.all(
  [0, 1].map(async () => {
    for (let p = queue.shift(); p; p = queue.shift()) results.push(await check(p));
  }),
);
process.exit(results.every(Boolean) ? 0 : 1);
