import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { AuditLog } from './audit/audit-log.ts';
import type { Db } from './store/db.ts';
import type { SecretHasher } from './identity/secrets.ts';

/** What every service gets: the store, time, configuration, the audit log and the hasher. */
export interface Ctx {
  readonly db: Db;
  readonly clock: Clock;
  readonly config: Config;
  readonly audit: AuditLog;
  readonly hasher: SecretHasher;
}
