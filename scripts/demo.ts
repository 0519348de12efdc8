/**
 * `npm run demo`: the whole product on one machine, with seeded demo data: the
 * authority (SQLite, embedded SIP edge, customer app at /app/) and the agent console
 * (the Electron app when its binary is installed, otherwise browser mode). Ctrl+C stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../authority/src/config.ts';
import { DEMO_STAFF } from '../authority/src/seed/demo.ts';
import { startAuthority } from '../authority/src/server.ts';
import { startBrowserMode } from '../main/core/browser-mode.ts';

const root = new URL('..', import.meta.url).pathname;

let config;
try {
  config = loadConfig(['--demo', ...process.argv.slice(2)], { VD_WRAP_UP_REQUIRED: 'true', ...process.env });
} catch (e) {
  if (e instanceof ConfigError) {
    console.error(e.message);
    process.exit(2);
  }
  throw e;
}
const authority = await startAuthority(config);
const authorityUrl = authority.url;
const sipUrl = `${authorityUrl.replace(/^http/, 'ws')}/sip`;
const appUrl = `http://localhost:${authority.port}/app/`;

let electron: ChildProcess | null = null;
let browser: Awaited<ReturnType<typeof startBrowserMode>> | null = null;
const electronBinary = (() => {
  try {
    return (
      existsSync(join(root, 'node_modules/electron/path.txt')) && existsSync(join(root, 'dist/app/main.js'))
    );
  } catch {
    return false;
  }
})();
let consoleLine: string;
if (electronBinary && !process.env.VD_BROWSER_MODE) {
  const bin = join(root, 'node_modules/.bin/electron');
  electron = spawn(bin, [join(root, 'dist/app/main.js')], {
    stdio: 'inherit',
    env: { ...process.env, VD_AUTHORITY_URL: authorityUrl, VD_SIP_URL: sipUrl },
  });
  consoleLine = '  Agent console:   the Electron window (set VD_BROWSER_MODE=1 for browser mode)';
} else {
  browser = await startBrowserMode({
    authorityUrl,
    sipUrl,
    dataDir: process.env.VD_CONSOLE_DATA_DIR ?? join(config.dataDir, 'console'),
    port: Number(process.env.VD_CONSOLE_PORT ?? 8790),
  });
  consoleLine = `  Agent console:   ${browser.launchUrl}   (browser mode${electronBinary ? '' : ': the Electron binary is not installed'})`;
}

console.log(
  [
    '',
    'Verified Desk demo is running.',
    consoleLine,
    `  Customer app:    ${appUrl}   (open on a phone-sized window; enrolment codes below)`,
    `  Authority:       ${authorityUrl}   (OpenAPI ${authorityUrl}/openapi.json)`,
    `  SIP edge:        ${sipUrl}`,
    `  Staff logins:    ${DEMO_STAFF.map((s) => `${s.username} / ${s.password}`).join(', ')}`,
    '  Enrolment codes: ALICE-DEMO-2026 (Alice Martin), BOB-DEMO-2026 (Bob Okafor), CHEN-DEMO-2026 (Chen Wei)',
    '',
  ].join('\n'),
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  electron?.kill();
  await browser?.close();
  await authority.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
electron?.on('exit', () => void stop());
