/**
 * RELIABILITY rows 12 and 13 as a test: no customer request is lost, none is held by two agents.
 *
 * The authority runs as a child process on a fixed port with its own data dir. A second
 * child (test/support/crash-enqueuer.ts) creates N requests over the real API, each with its
 * own idempotency key, retrying (same key) until acknowledged, and logs every attempted key
 * and every acknowledged request. Meanwhile this process SIGKILLs and restarts the authority
 * K times at random moments (random points of the enqueuer's progress, then random delays),
 * and three simulated agents (agent1, agent2, supervisor) claim and finish requests over the
 * real API: available, poll /v1/agent/me, accept and complete with the fence, log in again
 * after restarts, resume an assignment they lost track of, and deliberately write with
 * fences they know are stale (after rejecting an offer, after a re-offer, after completing);
 * before completing, a fifth of them send the device a remote-control command and one in
 * twenty transfers the request back to its queue instead (blind), so commands and transfers
 * are made, and answered or lost, across the kills too.
 * Then the queue drains (bounded), the authority is SIGKILLed one last time, and a Jepsen-style
 * total-queue checker reads the final data read-only (the SQLite file, or the PostgreSQL
 * database with VD_TEST_ENGINE=postgres: the server stays up, only the authority is killed):
 *
 *   lost        acknowledged requests that are not in the database (0)
 *   duplicated  idempotency keys with more than one request; requests completed twice (0)
 *   unexpected  requests in the database the enqueuer never attempted (0)
 *   overlapping lease intervals of one request (ended_at NULL = open until now) (0)
 *   leases out of fence order, open leases that do not match the request's state (0)
 *   every stale-fence write refused (100%), every write an agent saw succeed is in the database
 *   unaudited   request changes without their audit row: a request without its request.create,
 *               an accepted assignment without its request.accept, a completion without its
 *               request.complete, a stored command without its command.send, a transfer back to
 *               a queue without its transfer.queue (0); duplicated audit rows of one change count
 *               as duplicated
 *   PRAGMA integrity_check = ok (SQLite), audit hash chain intact
 *
 * Sizes: VD_CRASH_REQUESTS (default 600, 300 in the PostgreSQL pass of npm test; RELIABILITY asks 10000), VD_CRASH_KILLS (default 20),
 * VD_CRASH_DRAIN_SECONDS (drain bound; default scales with N), VD_CRASH_KEEP=1 keeps the temp dir.
 *
 *   node --import tsx --test test/integration/pipeline-crash.test.ts
 *   VD_CRASH_REQUESTS=10000 VD_CRASH_KILLS=20 node --import tsx --test test/integration/pipeline-crash.test.ts
 */
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CRASH_ENV, crashSizes, crashTimeoutMs, runCrashScenario } from '../support/crash-scenario.ts';
import { AuthorityProcess, freePort } from '../support/process.ts';

const sizes = crashSizes('VD_CRASH', { requests: 600, kills: 20 });

describe('RELIABILITY 12-13: requests survive SIGKILLs of the authority; leases with fences never overlap', () => {
  it(
    `${sizes.requests} requests, ${sizes.kills} SIGKILL/restarts: lost = 0, duplicated = 0, unexpected = 0, 0 overlapping leases, 100% stale fences refused`,
    { timeout: crashTimeoutMs(sizes) },
    async () => {
      const work = mkdtempSync(join(tmpdir(), 'vd-crash-'));
      const dataDir = join(work, 'data');
      mkdirSync(dataDir);
      const p = new AuthorityProcess({
        port: await freePort(),
        dataDir,
        logFile: join(work, 'authority.log'),
        env: CRASH_ENV,
      });
      await runCrashScenario({
        label: 'crash test',
        work,
        sizes,
        server: {
          get url() {
            return p.url;
          },
          get kills() {
            return p.kills;
          },
          start: () => p.start(),
          restart: () => p.restart(),
          kill: () => p.kill(),
          storeTarget: () => p.storeTarget(),
          restartMs: () => p.startTimes.slice(1),
        },
      });
    },
  );
});
