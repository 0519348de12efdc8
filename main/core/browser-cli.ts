/**
 * `npm run console:browser`: the agent console in a browser. Prints the launch URL
 * (open it in Chromium, Firefox or Edge; it opens one console in one tab, once: the host binds
 * it to the first page that uses it, a reload of that tab keeps working, any other page is refused).
 *
 *   --authority URL   the authority (default VD_AUTHORITY_URL or http://127.0.0.1:8780)
 *   --data-dir DIR    the console's local store (default VD_CONSOLE_DATA_DIR or ~/.verified-desk)
 *   --port N          the local port (default VD_CONSOLE_PORT or 8790; 0 picks a free one)
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_RENDERER_DIR, startBrowserMode } from './browser-mode.ts';
import { defaultDataDir } from './settings.ts';

const { values } = parseArgs({
  options: {
    authority: { type: 'string' },
    'data-dir': { type: 'string' },
    port: { type: 'string' },
  },
});

if (!existsSync(join(DEFAULT_RENDERER_DIR, 'index.html'))) {
  console.error('The console is not built yet: run npm run build:renderer first.');
  process.exit(1);
}

const mode = await startBrowserMode({
  authorityUrl: values.authority ?? process.env.VD_AUTHORITY_URL ?? 'http://127.0.0.1:8780',
  dataDir: values['data-dir'] ?? defaultDataDir(),
  port: Number(values.port ?? process.env.VD_CONSOLE_PORT ?? 8790),
});
console.log(`Verified Desk console (browser mode) on ${mode.url}`);
console.log(`Open: ${mode.launchUrl}`);

const stop = () => {
  void mode.close().then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
