/**
 * electron-builder afterPack hook (electron-builder.yml `afterPack`), run on the
 * packaged app before it is signed and turned into installers:
 *
 * 1. Native modules: every non-N-API `.node` file in app.asar.unpacked must be
 *    built for Electron's NODE_MODULE_VERSION. A module built for Node (the
 *    "nodedir" trap in docs/packaging.md) would install fine and then fail to load on
 *    the agent's machine; here it fails the build instead.
 * 2. Electron fuses (@electron/fuses), the Element / Mattermost way: the binary
 *    can no longer be used as a plain Node runtime or be debugged/instrumented
 *    from outside, and only loads our integrity-checked app.asar.
 */
'use strict';
/* global require, module -- CommonJS: electron-builder loads its hooks with require() */
/* eslint-disable @typescript-eslint/no-require-imports -- same reason */
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { dirname, join } = require('node:path');

/** The fuse settings; FuseV1Options is passed in so the tests can check the mapping by name. */
function fuseConfig(fuses, { resetAdHocDarwinSignature = false } = {}) {
  const { FuseVersion, FuseV1Options } = fuses;
  return {
    version: FuseVersion.V1,
    resetAdHocDarwinSignature,
    // ELECTRON_RUN_AS_NODE would turn the signed binary into a general-purpose Node.
    [FuseV1Options.RunAsNode]: false,
    // NODE_OPTIONS (--require, --inspect...) would inject code at start.
    [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
    // --inspect and friends would let anyone on the machine attach a debugger.
    [FuseV1Options.EnableNodeCliInspectArguments]: false,
    // file:// gets no extra privileges (we serve app:// and never load files).
    [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    // Cookies encrypted at rest with the OS keystore.
    [FuseV1Options.EnableCookieEncryption]: true,
    // app.asar checked against the hash electron-builder embeds (macOS, Windows).
    [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
    // No loose app folder next to the asar can take its place.
    [FuseV1Options.OnlyLoadAppFromAsar]: true,
  };
}

/** Path to the Electron binary electron-builder just produced (what flipFuses patches). */
function electronBinaryPath(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  const product = packager.appInfo.productFilename;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas')
    return join(appOutDir, `${product}.app`);
  if (electronPlatformName === 'win32') return join(appOutDir, `${product}.exe`);
  return join(appOutDir, packager.executableName);
}

function resourcesDir(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  if (electronPlatformName === 'darwin' || electronPlatformName === 'mas')
    return join(appOutDir, `${packager.appInfo.productFilename}.app`, 'Contents', 'Resources');
  return join(appOutDir, 'resources');
}

/** NODE_MODULE_VERSION of the Electron being packaged (node_modules/electron/abi_version). */
function electronAbi(projectDir) {
  const pkg = require.resolve('electron/package.json', { paths: [projectDir] });
  return Number(readFileSync(join(dirname(pkg), 'abi_version'), 'utf8').trim());
}

function findNodeFiles(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out.push(...findNodeFiles(p));
    else if (entry.endsWith('.node')) out.push(p);
  }
  return out;
}

/**
 * Every native module in app.asar.unpacked: N-API ones are ABI-stable; the others
 * export node_register_module_v<ABI> and must match Electron's. better-sqlite3
 * must be there at all (unpacked from the asar).
 */
function checkNativeModules(resources, abi) {
  const unpacked = join(resources, 'app.asar.unpacked');
  const files = findNodeFiles(unpacked);
  if (!files.some((f) => f.includes(join('better-sqlite3', 'build', 'Release'))))
    throw new Error(`afterPack: better-sqlite3 is not unpacked from the asar (${unpacked})`);
  const report = [];
  for (const file of files) {
    const text = readFileSync(file).toString('latin1');
    const napi = /napi_register_module_v\d+/.test(text);
    const m = /node_register_module_v(\d+)/.exec(text);
    if (!m) {
      if (!napi) throw new Error(`afterPack: ${file} exports neither N-API nor a Node module version`);
      report.push({ file, abi: 'napi' });
      continue;
    }
    const found = Number(m[1]);
    if (found !== abi)
      throw new Error(
        `afterPack: ${file} is built for NODE_MODULE_VERSION ${found}, Electron needs ${abi}. ` +
          'It was rebuilt against Node, not Electron (an npm "nodedir" setting? see scripts/before-build.cjs).',
      );
    report.push({ file, abi: found });
  }
  return report;
}

async function afterPack(context) {
  const projectDir = context.packager.projectDir ?? context.packager.info?.projectDir ?? process.cwd();
  const abi = electronAbi(projectDir);
  const modules = checkNativeModules(resourcesDir(context), abi);
  console.log(`  • afterPack: ${modules.length} native module(s) match Electron's ABI ${abi}`);
  const fuses = require('@electron/fuses');
  const binary = electronBinaryPath(context);
  // Arm64 (and universal) macOS binaries carry an ad-hoc signature that flipping invalidates.
  const isMacArm =
    (context.electronPlatformName === 'darwin' || context.electronPlatformName === 'mas') &&
    (context.arch === 3 || context.arch === 4);
  await fuses.flipFuses(binary, fuseConfig(fuses, { resetAdHocDarwinSignature: isMacArm }));
  console.log(`  • afterPack: fuses flipped in ${binary}`);
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.fuseConfig = fuseConfig;
module.exports.electronBinaryPath = electronBinaryPath;
module.exports.checkNativeModules = checkNativeModules;
module.exports.electronAbi = electronAbi;
