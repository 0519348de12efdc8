/**
 * electron-builder.yml and its hooks. electron-builder cannot build here (it
 * downloads Electron), so this checks what can be checked without it: the file
 * against electron-builder's own schema, the settings the issue asks for, and
 * the afterPack/beforeBuild hooks against a fake Electron binary and fake native
 * modules (including the real better-sqlite3 built for Node: the RECIPES trap).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { ManagedConfig } from '../../main/core/settings.ts';

const root = new URL('../..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
const afterPack = require('../../scripts/after-pack.cjs');
const beforeBuild = require('../../scripts/before-build.cjs');
const fuses = require('@electron/fuses');
const { SENTINEL, FuseState } = require('@electron/fuses/dist/constants');
const ELECTRON_ABI = Number(readFileSync(join(root, 'node_modules/electron/abi_version'), 'utf8').trim());

describe('electron-builder.yml', () => {
  it("passes electron-builder's own configuration schema", async () => {
    const { validateConfiguration } = require('app-builder-lib/out/util/config/config');
    const { DebugLogger } = require('builder-util');
    await validateConfiguration(config, new DebugLogger(false));
    await assert.rejects(
      validateConfiguration({ ...config, asarUnpak: [] }, new DebugLogger(false)),
      /asarUnpak/,
    );
  });

  it('builds AppImage, deb, rpm, nsis, msi and dmg', () => {
    assert.deepEqual(config.linux.target, ['AppImage', 'deb', 'rpm']);
    assert.deepEqual(config.win.target, ['nsis', 'msi']);
    assert.deepEqual(config.mac.target, ['dmg']);
  });

  it('packs the bundled shell and renderer; the app entry is the bundle', () => {
    assert.equal(config.extraMetadata.main, 'dist/app/main.js');
    assert.ok(config.files.includes('dist/app/**'));
    assert.ok(config.files.includes('renderer/dist/**'));
    assert.equal(config.asar, true);
    const build = readFileSync(join(root, 'scripts/build-shell.mjs'), 'utf8');
    assert.match(build, /outfile: join\(outDir, 'main\.js'\)/);
  });

  it('unpacks better-sqlite3 from the asar and rebuilds it for Electron from source', () => {
    assert.ok(config.asarUnpack.includes('node_modules/better-sqlite3/**'));
    assert.equal(config.npmRebuild, true);
    assert.equal(config.buildDependenciesFromSource, true);
    assert.equal(config.beforeBuild, 'scripts/before-build.cjs');
    assert.equal(config.afterPack, 'scripts/after-pack.cjs');
    assert.ok(existsSync(join(root, config.beforeBuild)) && existsSync(join(root, config.afterPack)));
  });

  it('macOS: hardened runtime, microphone entitlement and usage text', () => {
    assert.equal(config.mac.hardenedRuntime, true);
    const plist = readFileSync(join(root, config.mac.entitlements), 'utf8');
    assert.match(plist, /<key>com\.apple\.security\.device\.audio-input<\/key>\s*<true\/>/);
    assert.doesNotMatch(plist, /device\.camera|disable-library-validation|allow-dyld-environment-variables/);
    assert.match(config.mac.extendInfo.NSMicrophoneUsageDescription, /microphone/);
  });

  it('auto-update: a generic feed from configuration', () => {
    const [feed] = config.publish;
    assert.equal(feed.provider, 'generic');
    assert.equal(feed.url, '${env.VD_UPDATE_FEED_URL}');
  });

  it('registers tel: and sip: for click-to-dial', () => {
    assert.deepEqual(config.protocols.flatMap((p: { schemes: string[] }) => p.schemes).sort(), [
      'sip',
      'tel',
    ]);
  });

  it('documents the managed configuration paths and ships an example IT can copy', () => {
    const text = readFileSync(join(root, 'electron-builder.yml'), 'utf8');
    for (const p of [
      '%ProgramData%\\VerifiedDesk\\managed.json',
      '/Library/Application Support/VerifiedDesk/managed.json',
      '/etc/verified-desk/managed.json',
    ])
      assert.ok(text.includes(p), p);
    const example = JSON.parse(readFileSync(join(root, 'deploy/build/managed.example.json'), 'utf8'));
    assert.deepEqual(Object.keys(example).sort(), ['authorityUrl', 'screenPopOrigins', 'sipUrl']);
    assert.ok(ManagedConfig.safeParse(example).success, 'the example validates');
  });
});

describe('afterPack: fuses and native module ABI', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  const { FuseV1Options } = fuses;
  const WIRE_ORDER = [
    'RunAsNode',
    'EnableCookieEncryption',
    'EnableNodeOptionsEnvironmentVariable',
    'EnableNodeCliInspectArguments',
    'EnableEmbeddedAsarIntegrityValidation',
    'OnlyLoadAppFromAsar',
    'LoadBrowserProcessSpecificV8Snapshot',
    'GrantFileProtocolExtraPrivileges',
  ];
  /** A packaged Linux app whose "binary" carries Electron's fuse wire with Electron's defaults. */
  function fakePackagedApp(nativeModule: Buffer | null) {
    const dir = mkdtempSync(join(tmpdir(), 'vd-afterpack-'));
    dirs.push(dir);
    const defaults = '10110001'; // RunAsNode on, cookies off, NODE_OPTIONS on, inspect on, integrity off, asar-only off, snapshot off, file privileges on
    writeFileSync(
      join(dir, 'verified-desk'),
      Buffer.concat([
        Buffer.from('\x7fELF...'),
        Buffer.from(SENTINEL),
        Buffer.from([1, 8]),
        Buffer.from(defaults),
        Buffer.from('...'),
      ]),
    );
    if (nativeModule) {
      const release = join(dir, 'resources/app.asar.unpacked/node_modules/better-sqlite3/build/Release');
      mkdirSync(release, { recursive: true });
      writeFileSync(join(release, 'better_sqlite3.node'), nativeModule);
    }
    const context = {
      appOutDir: dir,
      electronPlatformName: 'linux',
      arch: 1,
      packager: {
        appInfo: { productFilename: 'Verified Desk' },
        executableName: 'verified-desk',
        projectDir: root,
      },
    };
    return { dir, context, binary: join(dir, 'verified-desk') };
  }
  /**
   * What afterPack prints (for electron-builder's log), captured instead of written to this
   * test process's stdout: Node 20's test runner can misread plain text interleaved with its
   * own serialized messages there ("Unable to deserialize cloned data").
   */
  const logged = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (...a: unknown[]) => void lines.push(a.map(String).join(' '));
    try {
      await fn();
    } finally {
      console.log = log;
    }
    return lines;
  };
  const stateByName = async (binary: string) => {
    const wire = await fuses.getCurrentFuseWire(binary);
    return Object.fromEntries(
      WIRE_ORDER.map((name, i) => [
        name,
        wire[i] === FuseState.ENABLE ? 'on' : wire[i] === FuseState.DISABLE ? 'off' : String(wire[i]),
      ]),
    );
  };

  it('the fuse settings by name', () => {
    const cfg = afterPack.fuseConfig(fuses);
    assert.equal(cfg[FuseV1Options.RunAsNode], false);
    assert.equal(cfg[FuseV1Options.EnableNodeOptionsEnvironmentVariable], false);
    assert.equal(cfg[FuseV1Options.EnableNodeCliInspectArguments], false);
    assert.equal(cfg[FuseV1Options.GrantFileProtocolExtraPrivileges], false);
    assert.equal(cfg[FuseV1Options.EnableCookieEncryption], true);
    assert.equal(cfg[FuseV1Options.EnableEmbeddedAsarIntegrityValidation], true);
    assert.equal(cfg[FuseV1Options.OnlyLoadAppFromAsar], true);
  });

  it('flips the fuses in the packaged binary when native modules match Electron', async () => {
    const app = fakePackagedApp(Buffer.from(`\x7fELF node_register_module_v${ELECTRON_ABI} ...`));
    const said = await logged(() => afterPack(app.context));
    assert.ok(
      said.some((l) => l.includes(`fuses flipped in ${app.binary}`)),
      `afterPack says what it did: ${said.join(' | ')}`,
    );
    assert.deepEqual(await stateByName(app.binary), {
      RunAsNode: 'off',
      EnableCookieEncryption: 'on',
      EnableNodeOptionsEnvironmentVariable: 'off',
      EnableNodeCliInspectArguments: 'off',
      EnableEmbeddedAsarIntegrityValidation: 'on',
      OnlyLoadAppFromAsar: 'on',
      LoadBrowserProcessSpecificV8Snapshot: 'off',
      GrantFileProtocolExtraPrivileges: 'off',
    });
  });

  it("refuses better-sqlite3 built for Node (this machine's build: the nodedir trap)", async () => {
    const nodeBuild = join(root, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node');
    const app = fakePackagedApp(readFileSync(nodeBuild));
    const before = readFileSync(app.binary);
    await assert.rejects(
      afterPack(app.context),
      new RegExp(`NODE_MODULE_VERSION ${process.versions.modules}, Electron needs ${ELECTRON_ABI}`),
    );
    assert.deepEqual(readFileSync(app.binary), before, 'no fuses flipped on a broken package');
  });

  it('refuses a package where better-sqlite3 is not unpacked from the asar', async () => {
    const app = fakePackagedApp(null);
    await assert.rejects(afterPack(app.context), /not unpacked/);
  });

  it('finds the binary per platform', () => {
    const packager = { appInfo: { productFilename: 'Verified Desk' }, executableName: 'verified-desk' };
    assert.equal(
      afterPack.electronBinaryPath({ appOutDir: '/o', electronPlatformName: 'darwin', packager }),
      '/o/Verified Desk.app',
    );
    assert.equal(
      afterPack.electronBinaryPath({ appOutDir: '/o', electronPlatformName: 'win32', packager }),
      '/o/Verified Desk.exe',
    );
    assert.equal(
      afterPack.electronBinaryPath({ appOutDir: '/o', electronPlatformName: 'linux', packager }),
      '/o/verified-desk',
    );
  });
});

describe('beforeBuild: the nodedir trap', () => {
  it('removes npm_config_nodedir so node-gyp uses Electron headers, and lets the rebuild run', async () => {
    const env: Record<string, string> = {
      npm_config_nodedir: '/usr',
      NPM_CONFIG_NODEDIR: '/usr',
      npm_config_cache: '/c',
    };
    assert.deepEqual(beforeBuild.clearNodeHeaderOverrides(env).sort(), [
      'NPM_CONFIG_NODEDIR',
      'npm_config_nodedir',
    ]);
    assert.deepEqual(env, { npm_config_cache: '/c' });
    const previous = process.env.npm_config_nodedir;
    process.env.npm_config_nodedir = '/usr';
    try {
      assert.equal(await beforeBuild(), true);
      assert.equal(process.env.npm_config_nodedir, undefined);
    } finally {
      if (previous !== undefined) process.env.npm_config_nodedir = previous;
    }
  });
});
