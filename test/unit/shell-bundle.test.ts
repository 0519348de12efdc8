/**
 * The built shell (scripts/build-shell.mjs): dist/app/main.js and preload.js are
 * CommonJS bundles that load with 'electron' supplied by the runtime. Here the
 * runtime is the fake: the bundles are built into .tmp/ (so better-sqlite3
 * resolves from node_modules as it does in the app) and required with
 * require('electron') answered by the fake.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bridgeEvents, bridgeRequests } from '../../protocol/src/bridge.ts';
import { createFakeElectron } from '../support/fake-electron.ts';
import { CLOSED_AUTHORITY } from '../support/shell-harness.ts';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;
const moduleInternals = Module as unknown as { _load: Loader };

/** require() a bundle with 'electron' answered by `electron`. */
function requireWithElectron(file: string, electron: object): unknown {
  const original = moduleInternals._load;
  moduleInternals._load = function (request, parent, isMain) {
    if (request === 'electron') return electron;
    return original.call(this, request, parent, isMain);
  };
  try {
    return require(file);
  } finally {
    moduleInternals._load = original;
  }
}

describe('shell bundles (npm run build:shell)', () => {
  let dir: string;
  let outDir: string;
  before(() => {
    mkdirSync(join(root, '.tmp'), { recursive: true });
    dir = mkdtempSync(join(root, '.tmp', 'shell-bundle-'));
    outDir = join(dir, 'dist', 'app');
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/build-shell.mjs', '--outdir', outDir],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes CommonJS main.js and preload.js; electron and better-sqlite3 stay external', () => {
    const pkg = JSON.parse(readFileSync(join(outDir, 'package.json'), 'utf8'));
    assert.equal(pkg.type, 'commonjs');
    assert.equal(pkg.main, 'main.js');
    const main = readFileSync(join(outDir, 'main.js'), 'utf8');
    assert.match(main, /require\("electron"\)/);
    assert.match(main, /require\("better-sqlite3"\)/);
    const preload = readFileSync(join(outDir, 'preload.js'), 'utf8');
    assert.ok(preload.length < 20_000, `the preload carries names, not schemas (${preload.length} bytes)`);
    assert.doesNotMatch(preload, /zod|ZodError/);
    const requires = [...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    assert.deepEqual(requires, ['electron'], 'a sandboxed preload may require electron only');
  });

  it('preload.js exposes agentDesk with every contract channel and event', async () => {
    const exposed: [string, any][] = [];
    const invoked: string[] = [];
    const subscribed: string[] = [];
    requireWithElectron(join(outDir, 'preload.js'), {
      contextBridge: { exposeInMainWorld: (k: string, v: unknown) => void exposed.push([k, v]) },
      ipcRenderer: {
        invoke: async (c: string) => (invoked.push(c), { ok: true, result: c }),
        on: (c: string) => void subscribed.push(c),
        removeListener: () => undefined,
      },
    });
    assert.equal(exposed.length, 1);
    const [key, api] = exposed[0]!;
    assert.equal(key, 'agentDesk');
    assert.deepEqual(Object.keys(api).sort(), ['invoke', 'mode', 'on']);
    for (const c of Object.keys(bridgeRequests))
      assert.equal(await api.invoke(c, {}), `agentDesk:invoke:${c}`);
    for (const e of Object.keys(bridgeEvents)) api.on(e, () => undefined)();
    assert.equal(invoked.length, Object.keys(bridgeRequests).length);
    assert.equal(subscribed.length, Object.keys(bridgeEvents).length);
    await assert.rejects(api.invoke('fs.readFile', {}), (e: any) => e.code === 'unknown_channel');
  });

  it('main.js starts the shell: app:// window with the bundled preload, one IPC handler per channel', async () => {
    const fake = createFakeElectron({ userData: join(dir, 'profile') });
    const env = { ...process.env };
    process.env.VD_CONSOLE_DATA_DIR = join(dir, 'profile');
    process.env.VD_AUTHORITY_URL = CLOSED_AUTHORITY;
    process.env.VD_MANAGED_CONFIG = join(dir, 'no-managed.json');
    try {
      requireWithElectron(join(outDir, 'main.js'), { ...fake.electron });
      for (let i = 0; i < 200 && !fake.state.windows[0]?.loaded.length; i++)
        await new Promise((r) => setImmediate(r));
      const [win] = fake.state.windows;
      assert.ok(win, 'a window was created');
      assert.deepEqual(win.loaded, ['app://desk/index.html']);
      assert.equal(win.options.webPreferences?.preload, join(outDir, 'preload.js'));
      assert.ok(existsSync(win.options.webPreferences!.preload!));
      assert.equal(win.options.webPreferences?.sandbox, true);
      assert.equal(fake.state.ipcHandlers.size, Object.keys(bridgeRequests).length);
      assert.equal(fake.app.paths.userData, join(dir, 'profile'));
      assert.ok(fake.state.protocolHandlers.has('app'));
    } finally {
      fake.app.emit('will-quit');
      for (const k of ['VD_CONSOLE_DATA_DIR', 'VD_AUTHORITY_URL', 'VD_MANAGED_CONFIG'])
        if (env[k] === undefined) delete process.env[k];
        else process.env[k] = env[k];
    }
  });
});
