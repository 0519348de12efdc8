import { mkdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildAuthority, type AuthorityApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import { type Config } from './config.ts';
import { resolvePepper, resolveSecret } from './pepper.ts';
import { seedDemo } from './seed/demo.ts';
import { openStore, storeTarget, type Store } from './store/engine.ts';

export interface RunningAuthority extends AuthorityApp {
  url: string;
  port: number;
  /** The store the services' repositories use (SQLite or PostgreSQL); tests read it, modules get `ctx.data`. */
  store: Store;
  stop(): Promise<void>;
}

/** Open the store, build the app, seed the demo if asked (once per data dir), and listen. */
export async function startAuthority(
  config: Config,
  opts: { clock?: Clock; logger?: boolean | object } = {},
): Promise<RunningAuthority> {
  mkdirSync(config.dataDir, { recursive: true });
  // The pepper and the SIP secret stay files beside the data dir on both engines.
  const { pepper, source } = resolvePepper(config.pinPepper, config.dataDir);
  const sipSecret = resolveSecret(config.sipSecret, config.dataDir, 'sip-secret').pepper;
  const target = storeTarget({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, env: {} });
  // The store owns its connections and migrates the schema (store/README.md): SQLite's
  // writer and reader on <data dir>/authority.sqlite, or PostgreSQL's pool.
  const store: Store = await openStore(target);
  const closeStore = () => store.close();
  let built: AuthorityApp | undefined;
  try {
    built = await buildAuthority({
      config: { ...config, pinPepper: pepper, sipSecret },
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
  } catch (e) {
    // Nothing half-started stays open (a PostgreSQL pool would keep the process alive).
    await built?.app.close();
    await closeStore();
    throw e;
  }
  const { app } = built;
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  let stopped = false;
  return {
    ...built,
    url,
    port,
    store,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (config.drainSeconds > 0) {
        built.services.drain.begin();
        app.log.info({ drainSeconds: config.drainSeconds }, 'draining: /healthz answers 503');
        await sleep(config.drainSeconds * 1000);
      }
      // Sockets first, with their close code (the server's own close would cut them without one).
      built.hub.close();
      await app.close();
      await closeStore();
    },
  };
}
