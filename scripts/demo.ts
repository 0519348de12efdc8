/**
 * `npm run demo`: the whole product on one machine, with seeded demo data: the
 * authority (SQLite, embedded SIP edge, customer app at /app/) and the agent consoles.
 * One console serves one signed-in person, and a transfer or the board needs several:
 * browser mode starts three console hosts by default (agent1, agent2, supervisor),
 * each with its own single-use launch link and local store; `--consoles N` (1-6)
 * changes the number. With the Electron binary installed (and VD_BROWSER_MODE unset)
 * the first console is the Electron window and the others are browser mode. Ctrl+C stops all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../authority/src/config.ts';
import { DEMO_STAFF } from '../authority/src/seed/demo.ts';
import { startAuthority } from '../authority/src/server.ts';
import { startBrowserMode } from '../main/core/browser-mode.ts';

const root = new URL('..', import.meta.url).pathname;

/** `--consoles N` is the demo's own option; the rest goes to the authority's config. */
const argv = process.argv.slice(2);
let consoles = 3;
const at = argv.findIndex((a) => a === '--consoles' || a.startsWith('--consoles='));
if (at >= 0) {
  const [flag] = argv.splice(at, 1);
  const raw = flag!.includes('=') ? flag!.split('=')[1] : argv.splice(at, 1)[0];
  consoles = Number(raw);
  if (!Number.isInteger(consoles) || consoles < 1 || consoles > 6) {
    console.error(`--consoles: a number from 1 to 6 (got ${raw ?? 'nothing'})`);
    process.exit(2);
  }
}
/** Who each console is for (a suggestion printed next to its link). */
const CONSOLE_FOR = ['agent1', 'agent2', 'supervisor', 'admin', 'agent1', 'agent2'];

let config;
try {
  config = loadConfig(['--demo', ...argv], { VD_WRAP_UP_REQUIRED: 'true', ...process.env });
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
const browsers: Awaited<ReturnType<typeof startBrowserMode>>[] = [];
const electronBinary = (() => {
  try {
    return (
      existsSync(join(root, 'node_modules/electron/path.txt')) && existsSync(join(root, 'dist/app/main.js'))
    );
  } catch {
    return false;
  }
})();
const staff = (username: string) => DEMO_STAFF.find((s) => s.username === username)!;
const consoleLines: string[] = [];
const basePort = Number(process.env.VD_CONSOLE_PORT ?? 8790);
for (let i = 0; i < consoles; i++) {
  const who = staff(CONSOLE_FOR[i]!);
  const label = `  Console ${i + 1} (${who.username} / ${who.password}, ${who.displayName}):`;
  if (i === 0 && electronBinary && !process.env.VD_BROWSER_MODE) {
    const bin = join(root, 'node_modules/.bin/electron');
    electron = spawn(bin, [join(root, 'dist/app/main.js')], {
      stdio: 'inherit',
      env: { ...process.env, VD_AUTHORITY_URL: authorityUrl, VD_SIP_URL: sipUrl },
    });
    consoleLines.push(`${label}\n      the Electron window (set VD_BROWSER_MODE=1 for browser mode)`);
    continue;
  }
  const mode = await startBrowserMode({
    authorityUrl,
    sipUrl,
    dataDir: `${process.env.VD_CONSOLE_DATA_DIR ?? join(config.dataDir, 'console')}${i === 0 ? '' : `-${i + 1}`}`,
    port: basePort === 0 ? 0 : basePort + i,
  });
  browsers.push(mode);
  consoleLines.push(`${label}\n      ${mode.launchUrl}`);
}
const consoleHeader = `  Agent consoles:  ${consoles}${
  electronBinary ? '' : ' in browser mode (the Electron binary is not installed)'
}; each link opens one console in one browser tab, once (--consoles N for more or fewer)`;

console.log(
  [
    '',
    'Verified Desk demo is running.',
    consoleHeader,
    ...consoleLines,
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
  for (const b of browsers) await b.close();
  await authority.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
electron?.on('exit', () => void stop());
