/**
 * Issue 12: whether a customer's device is reachable is the same answer on every node.
 * Two authority nodes (child processes) on one PostgreSQL database: the customer app's
 * socket is open to node 1 and the board asked on node 2 says "online"; the app closes:
 * node 2 says "offline, last seen"; node 1 SIGKILLed while the app is connected to it:
 * node 2 says "offline" once node 1's heartbeat is stale (the time it took is printed);
 * node 1 stopped cleanly (SIGTERM): node 2 says "offline" at once (the node removed
 * itself). Routing on node 2 offers a reachable customer (socket on node 1) before an
 * offline one of the same priority (two phones of one customer). PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openReadOnly } from '../../authority/src/store/engine.ts';
import { AuthorityCluster } from '../support/cluster.ts';
import { TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { manyNodesOnly } from '../support/authority.ts';
import { until } from '../support/wait.ts';
import { TestSocket } from '../support/ws.ts';

const skip = manyNodesOnly();

const HEARTBEAT_S = 0.25;
const STALE_S = 1.5;

describe('many nodes: a device online at one node is online on every node', { skip }, () => {
  let work: string;
  let cluster: AuthorityCluster;
  let n1: () => string;
  let n2: () => string;
  let admin: string;
  let priority: number | undefined;
  const sockets: TestSocket[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'vd-presence-'));
    cluster = new AuthorityCluster({
      dir: work,
      nodes: 2,
      env: {
        VD_ACCESS_TOKEN_SECONDS: '3600',
        VD_AGENT_TIMEOUT_SECONDS: '3600',
        VD_NODE_HEARTBEAT_SECONDS: String(HEARTBEAT_S),
        VD_NODE_STALE_SECONDS: String(STALE_S),
        VD_LOG_LEVEL: 'warn',
      },
    });
    await cluster.start();
    n1 = () => cluster.nodes[0]!.url;
    n2 = () => cluster.nodes[1]!.url;
    admin = (await staffLogin(n2(), 'admin', 'demo-admin-1')).token;
  });
  after(async () => {
    for (const s of sockets) s.close();
    await cluster?.stop();
    if (work && !process.env.VD_CLUSTER_KEEP) rmSync(work, { recursive: true, force: true });
  });

  const device = async (customerId: string) => {
    const code = await api(n2(), 'issueEnrolmentCode', { params: { customerId }, headers: bearer(admin) });
    const d = await new TestDevice(n1()).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '246810' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '246810' } })).body.level, 2);
    return d;
  };
  /** The customer app open against node 1 (the device's base url). */
  const openApp = async (d: TestDevice) => {
    const ws = await TestSocket.open(n1());
    sockets.push(ws);
    ws.send(await d.wsHello());
    assert.equal((await ws.next()).type, 'welcome');
    return ws;
  };
  const queue = async (d: TestDevice) => {
    const r = await d.api('createRequest', { json: { optionId: 'other' } });
    assert.equal(r.body.status, 'queued', JSON.stringify(r.body));
    assert.equal(r.body.request.priority, (priority ??= r.body.request.priority), 'same priority');
    return r.body.request.requestId as string;
  };
  /** The request's reachability on node 2's board once `ok` holds. */
  const onNode2 = (what: string, requestId: string, ok: (reach: any) => boolean) =>
    until(what, async () => {
      const b = await api(n2(), 'board', { headers: bearer(admin) });
      const r = b.body.requests.find((x: any) => x.requestId === requestId);
      return r?.reachability && ok(r.reachability) ? r.reachability : undefined;
    });
  const nodeRows = async () => {
    const h = await openReadOnly(await cluster.storeTarget());
    try {
      const nodes = await h.db.selectFrom('authority_nodes').select('node_id').execute();
      const presence = await h.db.selectFrom('node_presence').select(['node_id', 'device_id']).execute();
      return { nodes: nodes.map((n) => n.node_id).sort(), presence };
    } finally {
      await h.close();
    }
  };

  let chen: TestDevice;
  let chenRequest: string;

  it('the app connected to node 1: node 2 shows it online; closed: offline with its last seen time', async () => {
    chen = await device('c_chen_wei_00003');
    chenRequest = await queue(chen);
    const ws = await openApp(chen);
    await onNode2('node 2 shows Chen online', chenRequest, (x) => x.online === true);
    const rows = await nodeRows();
    assert.equal(rows.nodes.length, 2, `both nodes beat: ${JSON.stringify(rows)}`);
    assert.equal(rows.presence.length, 1, JSON.stringify(rows));
    assert.equal(rows.presence[0]!.device_id, chen.deviceId);
    ws.close();
    await ws.closed;
    const off = await onNode2('node 2 shows Chen offline', chenRequest, (x) => x.online === false);
    assert.ok(off.lastSeenAt, 'the last seen time is kept');
    assert.equal((await nodeRows()).presence.length, 0);
  });

  it('routing on node 2 offers the customer whose app is open at node 1 before an offline one', async () => {
    const second = await device('c_chen_wei_00003'); // Chen's second phone: the same priority
    const secondRequest = await queue(second); // queued after the first one's
    await openApp(second);
    await onNode2('node 2 shows the second phone online', secondRequest, (x) => x.online === true);
    const agent = await staffLogin(n2(), 'agent1', 'demo-agent-1');
    const r = await api(n2(), 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const me = await until('agent1 gets an offer', async () => {
      const m = await api(n2(), 'agentMe', { headers: bearer(agent.token) });
      return m.body.offer ? m.body : undefined;
    });
    assert.equal(me.offer.requestId, secondRequest, 'the reachable customer (socket at node 1) first');
    await api(n2(), 'setPresence', { headers: bearer(agent.token), json: { state: 'offline' } });
  });

  it('node 1 SIGKILLed with the app connected: node 2 says offline once node 1 is stale', async () => {
    await openApp(chen);
    await onNode2('node 2 shows Chen online again', chenRequest, (x) => x.online === true);
    const killedAt = Date.now();
    await cluster.nodes[0]!.kill();
    await onNode2('node 2 shows Chen offline after node 1 died', chenRequest, (x) => x.online === false);
    const tookMs = Date.now() - killedAt;
    console.log(
      `# presence: node SIGKILLed -> device offline on the other node after ${tookMs} ms (heartbeat ${HEARTBEAT_S} s, stale after ${STALE_S} s)`,
    );
    const rows = await nodeRows();
    assert.equal(rows.nodes.length, 1, `the dead node's rows are gone: ${JSON.stringify(rows)}`);
    assert.equal(rows.presence.length, 0, JSON.stringify(rows));
  });

  it('node 1 restarted, the app on it, then node 1 stopped cleanly: node 2 says offline (the node left)', async () => {
    await cluster.nodes[0]!.start();
    await openApp(chen);
    await onNode2('node 2 shows Chen online at the new node 1', chenRequest, (x) => x.online === true);
    await cluster.nodes[0]!.stop();
    await onNode2('node 2 shows Chen offline after node 1 stopped', chenRequest, (x) => x.online === false);
    const rows = await nodeRows();
    assert.equal(rows.nodes.length, 1, JSON.stringify(rows));
    assert.equal(rows.presence.length, 0, JSON.stringify(rows));
  });
});
