/**
 * Issue 12: a node that dies right after a change leaves no feed behind. A node tells the
 * other nodes' feeds of its changes in a unit of its own after the change
 * (`feeds.changed`, ws/node-frames.ts): SIGKILLed between the two, the change is in the
 * database and no other node's board or queue ever hears of it. The node that notices
 * the dead node (stale heartbeat) now emits `node.gone` in the unit that removes it, and
 * every node sends its feeds a fresh snapshot.
 *
 * Two nodes on one PostgreSQL database; the supervisor's board feed on node 2. "A node
 * committed a change and died before telling": the request is abandoned straight in the
 * database and a dead node's row (heartbeat long past) is added, as a SIGKILL leaves
 * them. Node 2's heartbeat removes it and the board gets a snapshot without the request.
 * Without `node.gone` no frame ever comes. PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { manyNodesOnly } from '../support/authority.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const skip = manyNodesOnly();

describe('many nodes: a node that dies right after a change leaves no stale feed', { skip }, () => {
  let work: string;
  let cluster: AuthorityCluster;
  let db: pg.Client;
  const sockets: TestSocket[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'vd-feeds-resync-'));
    cluster = new AuthorityCluster({
      dir: work,
      nodes: 2,
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_NODE_HEARTBEAT_SECONDS: '0.25',
        VD_NODE_STALE_SECONDS: '1.5',
        VD_LOG_LEVEL: 'warn',
      },
    });
    await cluster.start();
    const target = await cluster.storeTarget();
    assert.equal(target.engine, 'postgres');
    db = new pg.Client({ connectionString: target.url });
    await db.connect();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await db?.end();
    await cluster?.stop();
    if (work && !process.env.VD_CLUSTER_KEEP) rmSync(work, { recursive: true, force: true });
  });

  it('the board on node 2 drops a request abandoned by a node that died before telling it', async () => {
    const n1 = cluster.nodes[0]!.url;
    const n2 = cluster.nodes[1]!.url;
    const admin = (await staffLogin(n2, 'admin', 'demo-admin-1')).token;
    const code = await api(n2, 'issueEnrolmentCode', {
      params: { customerId: 'c_chen_wei_00003' },
      headers: bearer(admin),
    });
    const chen = await new TestDevice(n1).enrolAndAuthenticate(code.body.code);
    const queued = await chen.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(queued.body.status, 'queued', JSON.stringify(queued.body));
    const requestId: string = queued.body.request.requestId;

    const ws = await TestSocket.open(n2);
    sockets.push(ws);
    const frames = new FrameLog(ws);
    const supervisor = (await staffLogin(n2, 'supervisor', 'demo-supervisor')).token;
    ws.send({ type: 'hello', auth: { kind: 'staff', accessToken: supervisor } });
    await frames.take((f) => f.type === 'welcome');
    ws.send({ type: 'subscribe', topic: 'board' });
    const first = await frames.take((f) => f.type === 'board.snapshot');
    assert.ok(
      first.board.requests.some((r: { requestId: string }) => r.requestId === requestId),
      'the board shows the waiting request',
    );

    // A node commits the abandon and dies before its feeds.changed: the row changed, the
    // node's heartbeat row left behind, long past.
    const now = Date.now();
    await db.query(
      `UPDATE requests SET state = 'abandoned', ended_at = $2, end_reason = 'customer' WHERE id = $1 AND state = 'waiting'`,
      [requestId, now],
    );
    await db.query(`INSERT INTO authority_nodes (node_id, started_at, heartbeat_at) VALUES ($1, $2, $2)`, [
      'node-killed-after-its-commit',
      now - 60_000,
    ]);

    const fresh = await frames.take((f) => f.type === 'board.snapshot', 15_000);
    assert.ok(
      !fresh.board.requests.some((r: { requestId: string }) => r.requestId === requestId),
      'the fresh snapshot no longer shows the abandoned request',
    );
    const nodes = await db.query(
      `SELECT node_id FROM authority_nodes WHERE node_id = 'node-killed-after-its-commit'`,
    );
    assert.equal(nodes.rowCount, 0, 'the dead node was removed');
  });
});
