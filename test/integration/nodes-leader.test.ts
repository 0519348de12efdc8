/**
 * Issue 12 item 3: where something must have one owner (converting call recordings), a
 * PostgreSQL advisory-lock leader (authority/src/store/leader.ts), no home-made election.
 * Two authority nodes (child processes, test/support/cluster.ts) on one database: exactly
 * one session holds the leader lock; the leader node SIGKILLed -> the other node holds it
 * (the takeover time is printed); the leader's session killed while its node lives -> a
 * node leads again; the leader stopped cleanly (SIGTERM) -> the other node holds it.
 * PostgreSQL pass only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { LEADER_APPLICATION_NAME } from '../../authority/src/store/leader.ts';
import { LOCK_LEADER, VD_LOCK_CLASS } from '../../authority/src/store/schema-migrations.ts';
import { manyNodesOnly } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { until } from '../support/wait.ts';

const skip = manyNodesOnly();

describe(
  'one leader among the nodes: the PostgreSQL advisory lock, taken over when the leader dies',
  { skip },
  () => {
    let work: string;
    let cluster: AuthorityCluster;
    let db: pg.Client;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'vd-leader-'));
      cluster = new AuthorityCluster({ dir: work, nodes: 2, env: { VD_LOG_LEVEL: 'warn' } });
      await cluster.start();
      const target = await cluster.storeTarget();
      db = new pg.Client({ connectionString: target.engine === 'postgres' ? target.url : '' });
      await db.connect();
    });
    after(async () => {
      await db?.end();
      await cluster?.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    /** The node names ("node1", ...) whose leader session holds the lock now. */
    const holders = async () =>
      (
        await db.query<{ name: string; pid: number }>(
          `SELECT a.application_name AS name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND l.classid = $1 AND l.objid = $2 AND l.granted
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [VD_LOCK_CLASS, LOCK_LEADER],
        )
      ).rows.map((r) => ({ node: r.name.slice(LEADER_APPLICATION_NAME.length + 1), pid: r.pid }));
    const oneHolder = () =>
      until('one node holds the leader lock', async () => {
        const h = await holders();
        return h.length === 1 ? h[0] : undefined;
      });
    const indexOf = (node: string) => Number(node.replace('node', '')) - 1;

    it('the leader node SIGKILLed: the other node takes the lead', async () => {
      const first = await oneHolder();
      const t0 = performance.now();
      await cluster.nodes[indexOf(first.node)]!.kill();
      const next = await until('the other node holds the lock', async () => {
        const h = await holders();
        return h.length === 1 && h[0]!.node !== first.node ? h[0] : undefined;
      });
      console.log(
        `# leader: ${first.node} SIGKILLed -> ${next.node} leads after ${Math.round(performance.now() - t0)} ms (rounds every 1000 ms)`,
      );
      await cluster.nodes[indexOf(first.node)]!.start();
    });

    it("the leader's session killed while its node runs: a node leads again", async () => {
      const leader = await oneHolder();
      await db.query('SELECT pg_terminate_backend($1)', [leader.pid]);
      const again = await until('a node holds the lock again', async () => {
        const h = await holders();
        return h.length === 1 && h[0]!.pid !== leader.pid ? h[0] : undefined;
      });
      assert.ok(again.node);
    });

    it('the leader stopped cleanly (SIGTERM): the other node takes the lead', async () => {
      const leader = await oneHolder();
      await cluster.nodes[indexOf(leader.node)]!.stop();
      const next = await until('the other node holds the lock', async () => {
        const h = await holders();
        return h.length === 1 && h[0]!.node !== leader.node ? h[0] : undefined;
      });
      assert.notEqual(next.node, leader.node);
    });
  },
);
