/**
 * Issue 12, rolling restart: the crash scenario (test/support/crash-scenario.ts) against
 * three nodes behind HAProxy where every "crash" is the next node in turn stopped cleanly
 * (SIGTERM) and started again, as an upgrade rolls through a cluster: every request the
 * enqueuer retried is acknowledged once, nothing lost or duplicated, leases never
 * overlap, stale fences refused, every change audited. The final stop is still a SIGKILL
 * of everything (the checker reads the database as a crash left it).
 *
 * PostgreSQL only: skipped in the SQLite pass. Sizes: VD_ROLLING_REQUESTS (default 200),
 * VD_ROLLING_KILLS (restarts, default 3: each node once). Full size:
 *
 *   VD_TEST_ENGINE=postgres VD_ROLLING_REQUESTS=2000 VD_ROLLING_KILLS=9 \
 *     node --import tsx --test test/integration/cluster-rolling-restart.test.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testEngine } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { CRASH_ENV, crashSizes, crashTimeoutMs, runCrashScenario } from '../support/crash-scenario.ts';

const sizes = crashSizes('VD_ROLLING', { requests: 200, kills: 3, drainSeconds: 240 });

describe('issue 12: a rolling restart of three nodes behind HAProxy under traffic', () => {
  it(
    `${sizes.requests} requests, ${sizes.kills} clean node restarts in turn: lost = 0, duplicated = 0, 0 overlapping leases`,
    {
      timeout: crashTimeoutMs(sizes),
      skip:
        testEngine() !== 'postgres' && 'a cluster shares one PostgreSQL database (VD_TEST_ENGINE=postgres)',
    },
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'vd-rolling-'));
      const cluster = new AuthorityCluster({ dir: work, nodes: 3, env: CRASH_ENV });
      await runCrashScenario({
        label: 'rolling restart of 3 behind HAProxy',
        work,
        sizes,
        server: cluster.asCrashServer('roll'),
      });
    },
  );
});
