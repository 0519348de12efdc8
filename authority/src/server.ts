import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildAuthority, type AuthorityApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import { ConfigError, type Config } from './config.ts';
import { resolvePepper, resolveSecret } from './pepper.ts';
import { seedDemo } from './seed/demo.ts';
import { openDatabase } from './store/db.ts';
import { openStore } from './store/engine.ts';

export interface RunningAuthority extends AuthorityApp {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Open the store, build the app, seed the demo if asked (once per data dir), and listen. */
export async function startAuthority(
  config: Config,
  opts: { clock?: Clock; logger?: boolean | object } = {},
): Promise<RunningAuthority> {
  if (config.databaseUrl !== undefined)
    // Said plainly rather than quietly serving from SQLite: the domain is still moving
    // onto the store (store/README.md), and half of it cannot run on PostgreSQL.
    throw new ConfigError(
      'databaseUrl (--database-url / VD_DATABASE_URL): this version still keeps part of its data through the embedded SQLite handle and cannot serve from PostgreSQL yet; unset it to run on <data dir>/authority.sqlite',
    );
  mkdirSync(config.dataDir, { recursive: true });
  const { pepper, source } = resolvePepper(config.pinPepper, config.dataDir);
  const sipSecret = resolveSecret(config.sipSecret, config.dataDir, 'sip-secret').pepper;
  const file = join(config.dataDir, 'authority.sqlite');
  const db = openDatabase(file);
  // The store on the same file and the same writing connection: modules already on
  // repositories write through it (units of work, group commit), the others still
  // through `db`; a unit that calls a not yet converted method writes in its own
  // transaction (store/README.md).
  const store = await openStore({ engine: 'sqlite', file }, { sharedWriter: db });
  const built = await buildAuthority({
    config: { ...config, pinPepper: pepper, sipSecret },
    db,
    store,
    clock: opts.clock ?? systemClock,
    ...(opts.logger !== undefined ? { logger: opts.logger } : {}),
  });
  const { app, services } = built;
  if (source !== 'configuration')
    app.log.warn(
      { pepperFile: source },
      'PIN pepper read from a file beside the database: set VD_PIN_PEPPER from a secret store in production',
    );
  if (config.demo) {
    const demo = await seedDemo(services);
    app.log.info(
      { enrolmentCodes: demo.codes },
      demo.seeded ? 'demo data seeded' : 'demo data seeded before: kept; enrolment codes re-armed',
    );
  }
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopped = false;
  return {
    ...built,
    url,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      await app.close();
      await store.close();
      db.close();
    },
  };
}
