/**
 * electron-builder beforeBuild hook (electron-builder.yml `beforeBuild`), run
 * before native dependencies are rebuilt for Electron.
 *
 * The nodedir trap (docs/packaging.md): `npm run` exports npm's configuration as npm_config_*
 * variables, and a "nodedir" setting (this machine has one in ~/.npmrc) reaches
 * node-gyp as npm_config_nodedir. node-gyp then compiles against those Node
 * headers instead of Electron's, and better-sqlite3 is built for the wrong ABI.
 * Removing it here lets @electron/rebuild fetch and use Electron's headers;
 * scripts/after-pack.cjs checks the result.
 */
'use strict';
/* global module -- CommonJS: electron-builder loads its hooks with require() */

function clearNodeHeaderOverrides(env = process.env) {
  const removed = [];
  for (const key of Object.keys(env))
    if (/^npm_config_nodedir$/i.test(key) || /^npm_config_node_gyp_nodedir$/i.test(key)) {
      removed.push(key);
      delete env[key];
    }
  return removed;
}

async function beforeBuild() {
  const removed = clearNodeHeaderOverrides();
  if (removed.length)
    console.log(`  • beforeBuild: ignoring ${removed.join(', ')} so native modules build against Electron`);
  // true: go on and rebuild the native dependencies (false would skip it).
  return true;
}

module.exports = beforeBuild;
module.exports.default = beforeBuild;
module.exports.clearNodeHeaderOverrides = clearNodeHeaderOverrides;
