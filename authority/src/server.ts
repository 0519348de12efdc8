import { mkdirSync } from 'node:fs';
import { buildAuthority, type AuthorityApp } from './app.ts';
import { systemClock, type Clock } from './clock.ts';
import { type Config } from './config.ts';
import { resolvePepper, resolveSecret } from './pepper.ts';
import { seedDemo } from './seed/demo.ts';
import { openDatabase, type Db } from './store/db.ts';
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
  let db: Db;
  let store: Store;
  if (target.engine === 'postgres') {
    store = await openStore(target);
    db = legacyHandleRefused();
  } else {
    db = openDatabase(target.file);
    // The store on the same file and the same writing connection: a unit that calls a
    // method still on the legacy handle writes in its own transaction (store/README.md).
    try {
      store = await openStore(target, { sharedWriter: db });
    } catch (e) {
      db.close();
      throw e;
    }
  }
  const closeStore = async () => {
    await store.close();
    if (target.engine === 'sqlite') db.close();
  };
  let built: AuthorityApp | undefined;
  try {
    built = await buildAuthority({
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
      await app.close();
      await closeStore();
    },
  };
}

/**
 * On PostgreSQL there is no synchronous SQLite handle: `ctx.db` is this stand-in, which
 * throws on any use, so a module still on the legacy handle fails loudly (and its tests
 * find it) instead of writing somewhere else.
 */
function legacyHandleRefused(): Db {
  return new Proxy({} as Db, {
    get(_target, prop) {
      // Probes by promise machinery and inspection are not uses.
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      throw new Error(`legacy SQLite handle used on PostgreSQL: ctx.db.${prop}`);
    },
  });
}
