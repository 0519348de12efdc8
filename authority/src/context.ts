import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Data } from './store/repos/index.ts';
import type { EventBus } from './events/bus.ts';
import type { SecretHasher } from './identity/secrets.ts';

/** What every service gets: the store, time, configuration and the hasher. */
export interface Ctx {
  /** Repositories in units of work (`data.tx`) or for reads (`data.read`), SQLite or PostgreSQL. */
  readonly data: Data;
  /** Domain events from the outbox (`r.outbox.emit` in a unit; consumers subscribe): events/README.md. */
  readonly events: EventBus;
  readonly clock: Clock;
  readonly config: Config;
  readonly hasher: SecretHasher;
}
