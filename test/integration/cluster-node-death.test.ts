/**
 * Issue 12, node death: the crash scenario of RELIABILITY rows 12 and 13
 * (test/support/crash-scenario.ts) against three authority nodes on one PostgreSQL
 * database behind HAProxy (deploy/haproxy/haproxy.cfg, started by
 * test/support/cluster.ts). Every client talks to HAProxy only; SIGKILLs hit one node
 * at random and restart it while the other two serve. The checker then reads the shared
 * database: lost 0, duplicated 0, unexpected 0, overlapping leases 0, 100% stale-fence
 * writes refused, every change audited, the audit chain intact. It prints the service
 * gap after a kill (kill -> every agent's next answered call) p50/p95.
 *
 * PostgreSQL only (a cluster shares one database): skipped in the SQLite pass.
 * Sizes: VD_CLUSTER_REQUESTS (default 200), VD_CLUSTER_KILLS (default 4),
 * VD_CLUSTER_NODES (default 3), VD_CLUSTER_KEEP=1 keeps the logs. Full size:
 *
 *   VD_TEST_ENGINE=postgres VD_CLUSTER_REQUESTS=2000 VD_CLUSTER_KILLS=20 \
 *     node --import tsx --test test/integration/cluster-node-death.test.ts
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { testEngine } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { CRASH_ENV, crashSizes, crashTimeoutMs, runCrashScenario } from '../support/crash-scenario.ts';

const sizes = crashSizes('VD_CLUSTER', { requests: 200, kills: 4, drainSeconds: 240 });
const NODES = Number(process.env.VD_CLUSTER_NODES ?? 3);

describe('issue 12: three nodes behind HAProxy; SIGKILL any one of them while customers queue and agents work', () => {
  it(
    `${sizes.requests} requests, ${sizes.kills} node kills: lost = 0, duplicated = 0, 0 overlapping leases, 100% stale fences refused`,
    {
      timeout: crashTimeoutMs(sizes),
      skip:
        testEngine() !== 'postgres' && 'a cluster shares one PostgreSQL database (VD_TEST_ENGINE=postgres)',
    },
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'vd-cluster-'));
      const cluster = new AuthorityCluster({ dir: work, nodes: NODES, env: CRASH_ENV });
      await runCrashScenario({
        label: `cluster of ${NODES} behind HAProxy`,
        work,
        sizes,
        server: cluster.asCrashServer('kill'),
      });
    },
  );
});
