import { ConfigError, loadConfig } from './config.ts';
import { DatabaseTooNewError } from './store/db.ts';
import { StoreConfigError } from './store/engine.ts';
import { DEMO_STAFF } from './seed/demo.ts';
import { startAuthority } from './server.ts';

/** `npm run authority -- --port N --data-dir DIR [--database-url postgres://...] [--demo]`: start, and stop cleanly on SIGINT/SIGTERM. */
async function main() {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`authority: ${e.message}`);
      process.exit(2);
    }
    throw e;
  }
  let running;
  try {
    running = await startAuthority(config);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (
      e instanceof DatabaseTooNewError ||
      e instanceof StoreConfigError ||
      code === 'EADDRINUSE' ||
      code === 'ECONNREFUSED'
    ) {
      console.error(`authority: ${(e as Error).message}`);
      process.exit(2);
    }
    throw e;
  }
  if (config.demo) {
    const lines = [
      '',
      `Verified Desk authority running at ${running.url}`,
      `  OpenAPI:  ${running.url}/openapi.json`,
      `  health:   ${running.url}/healthz`,
      '  demo staff (username / password): ' +
        DEMO_STAFF.map((s) => `${s.username} / ${s.password}`).join(', '),
      '  demo enrolment codes: ALICE-DEMO-2026 (Alice Martin), BOB-DEMO-2026 (Bob Okafor), CHEN-DEMO-2026 (Chen Wei)',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    running.app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    running.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(e);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

void main();
