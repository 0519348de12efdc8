/**
 * Two authority nodes on one PostgreSQL database (issue 12 item 2): events cross nodes
 * through the outbox and LISTEN/NOTIFY (authority/src/events/pg-bus.ts). A device
 * connected to node 1, its request held by an agent on node 2: the agent's command posted
 * to node 2 reaches the device's socket on node 1, the device's acknowledgement to node 1
 * reaches the agent's socket on node 2, each frame once; the LISTEN connections killed
 * (pg_terminate_backend) lose nothing; node 1's listener cut off for 5 s (a TCP proxy
 * between it and PostgreSQL, test/support/tcp-proxy.ts) while commands are posted on node
 * 2: each still reaches the device once, and node 1 listens again afterwards; ending the session on node 2 closes the device's
 * socket on node 1; the pipeline configuration replaced on node 2 is what node 1 serves.
 * PostgreSQL only.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { WS_CLOSE, type DeviceCommand } from '../../protocol/src/index.ts';
import type { PgEventBus } from '../../authority/src/events/pg-bus.ts';
import { LISTEN_APPLICATION_NAME } from '../../authority/src/store/pg-listen.ts';
import { startTestAuthority, testDatabaseFor, type TestAuthority } from '../support/authority.ts';
import { DeviceControl, TestDevice } from '../support/device.ts';
import { api, bearer, staffLogin } from '../support/http.ts';
import { testEngines } from '../support/postgres.ts';
import { TcpProxy } from '../support/tcp-proxy.ts';
import { until } from '../support/wait.ts';
import { FrameLog, TestSocket } from '../support/ws.ts';

const skip = testEngines().includes('postgres')
  ? false
  : 'PostgreSQL only (many nodes share one database): VD_TEST_ENGINES excludes postgres';

const navigate: DeviceCommand = { kind: 'navigate', payload: { screen: 'account' } };

describe('two authority nodes on one PostgreSQL database: frames cross nodes', { skip }, () => {
  let n1: TestAuthority;
  let n2: TestAuthority;
  /** between node 1's LISTEN connection and PostgreSQL (its pool connects directly) */
  let proxy: TcpProxy;
  let databaseUrl: string;
  let d: TestDevice;
  let ctl: DeviceControl;
  let agent: { token: string; staffId: string };
  let admin: string;
  let deviceSocket: TestSocket;
  let agentSocket: TestSocket;
  let deviceWs: FrameLog;
  let agentWs: FrameLog;
  let requestId: string;
  let sessionId: string;
  let fence: number;
  let seq = 0;
  /** every `command` frame the device's socket received, by command id (never twice) */
  const commandFrames = new Map<string, number>();
  /** every `command.cancelled` frame the device's socket received, by command id */
  const cancelFrames = new Map<string, number>();
  /** every `command.update` frame the agent's socket received, by command id and state */
  const updateFrames = new Map<string, number>();

  const send = (command: DeviceCommand) =>
    api(n2.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, seq: ++seq, command },
    });
  const listeners = async (on: TestAuthority) =>
    (
      await on.sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
        WHERE application_name = ${LISTEN_APPLICATION_NAME} AND datname = current_database()`
    ).map((r) => r.pid);

  /** The agent's socket (node 2) says command `id` was shown. */
  const shownToAgent = (id: string) =>
    agentWs.take(
      (x) => x.type === 'command.update' && x.command.commandId === id && x.command.state === 'shown',
    );

  /**
   * Run `fn` while another transaction holds the outbox (no node can write an event until
   * `fn` calls the release it is given, or returns).
   */
  const withOutboxHeld = async (fn: (release: () => Promise<void>) => Promise<void>) => {
    const blocker = new pg.Client({ connectionString: databaseUrl });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE outbox IN SHARE ROW EXCLUSIVE MODE');
      await fn(async () => void (await blocker.query('COMMIT')));
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
    }
  };

  before(async () => {
    const config = { accessTokenSeconds: 3600, agentTimeoutSeconds: 3600, wrapUpSeconds: 0 };
    const dataDir = mkdtempSync(join(tmpdir(), 'vd-authority-'));
    databaseUrl = await testDatabaseFor(dataDir);
    const url = new URL(databaseUrl);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port) });
    const listenUrl = new URL(url);
    listenUrl.port = String(proxy.port);
    n1 = await startTestAuthority(
      { ...config, listenDatabaseUrl: String(listenUrl) },
      { engine: 'postgres', dataDir },
    );
    n2 = await startTestAuthority(config, { shareDatabaseOf: n1 });
    admin = (await staffLogin(n2.url, 'admin', 'demo-admin-1')).token;
    const code = await api(n1.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_bob_okafor_002' },
      headers: bearer((await staffLogin(n1.url, 'admin', 'demo-admin-1')).token),
    });
    d = await new TestDevice(n1.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await d.api('setPin', { json: { pin: '135790' } })).status, 200);
    assert.equal((await d.api('pinFactor', { json: { pin: '135790' } })).status, 200);
    const q = await d.api('createRequest', { json: { optionId: 'payment-failed' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    requestId = q.body.request.requestId;
    sessionId = q.body.request.sessionId;
    ctl = new DeviceControl(d).follow(q.body.request);
    await ctl.guard.loadKeys();

    // The device on node 1.
    deviceSocket = await TestSocket.open(n1.url);
    deviceSocket.ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'command') commandFrames.set(f.commandId, (commandFrames.get(f.commandId) ?? 0) + 1);
      if (f.type === 'command.cancelled')
        cancelFrames.set(f.commandId, (cancelFrames.get(f.commandId) ?? 0) + 1);
    });
    deviceSocket.send(await d.wsHello(sessionId));
    assert.equal((await deviceSocket.next()).type, 'welcome');
    deviceWs = new FrameLog(deviceSocket);

    // The agent on node 2 takes the request.
    agent = await staffLogin(n2.url, 'agent1', 'demo-agent-1');
    agentSocket = await TestSocket.open(n2.url);
    agentSocket.ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      if (f.type === 'command.update') {
        const k = `${f.command.commandId}/${f.command.state}`;
        updateFrames.set(k, (updateFrames.get(k) ?? 0) + 1);
      }
    });
    agentSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: agent.token } });
    assert.equal((await agentSocket.next()).type, 'welcome');
    agentWs = new FrameLog(agentSocket);
    const av = await api(n2.url, 'setPresence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    assert.equal(av.body.offer?.requestId, requestId, JSON.stringify(av.body));
    fence = av.body.offer.fence;
    const acc = await api(n2.url, 'acceptOffer', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence },
    });
    assert.equal(acc.status, 200, JSON.stringify(acc.body));
  });
  after(async () => {
    deviceSocket?.close();
    agentSocket?.close();
    await n2?.dispose();
    await n1?.dispose();
    await proxy?.close();
  });

  it("the agent's command posted to node 2 reaches the device on node 1; its acknowledgement to node 1 reaches the agent on node 2", async () => {
    const r = await send(navigate);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
    assert.equal((await ctl.guard.check(f.jws)).verdict, 'execute');
    const ack = await ctl.ack(r.body.commandId);
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    await shownToAgent(r.body.commandId);
  });

  it("a frame for a staff socket on the node that made the change does not wait for the outbox; the outbox's copy reaches only the other nodes", async () => {
    const r = await send(navigate);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const id = r.body.commandId as string;
    await deviceWs.take((x) => x.type === 'command' && x.commandId === id);
    await withOutboxHeld(async (release) => {
      // The agent (on node 2) withdraws it on node 2: its own update is on its socket at once.
      const c = await api(n2.url, 'cancelCommand', {
        params: { commandId: id },
        headers: bearer(agent.token),
        json: { fence },
      });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      await agentWs.take(
        (x) => x.type === 'command.update' && x.command.commandId === id && x.command.state === 'cancelled',
        5_000,
      );
      // The device's socket is on node 1: its frame goes through the outbox, still held.
      await new Promise((ok) => setTimeout(ok, 200));
      assert.equal(cancelFrames.get(id), undefined, 'the cancellation crossed nodes without the outbox');
      await release();
      await deviceWs.take((x) => x.type === 'command.cancelled' && x.commandId === id);
      // Something later from node 2 through the outbox: node 2's follower, which reads events
      // in seq order, has passed node 2's own copy of the "cancelled" update by then.
      const next = await send(navigate);
      await deviceWs.take((x) => x.type === 'command' && x.commandId === next.body.commandId);
      assert.equal((await ctl.ack(next.body.commandId)).status, 200);
      await shownToAgent(next.body.commandId);
      assert.equal(updateFrames.get(`${id}/cancelled`), 1, "node 2's own frame reached its socket twice");
      assert.equal(cancelFrames.get(id), 1);
    });
  });

  it("a staff frame as a node of an earlier version writes it (`hub.frame` with staffIds) still reaches the staff member's socket on another node (rolling restart)", async () => {
    const at = new Date().toISOString();
    await n1.services.ctx.data.tx((r) =>
      r.outbox.emit('hub.frame', {
        staffIds: [agent.staffId],
        frame: { type: 'call.verified', requestId, at },
      }),
    );
    await agentWs.take((x) => x.type === 'call.verified' && x.requestId === requestId && x.at === at, 5_000);
  });

  it("a command's frame for the device commits with the command: the agent is answered only once it is in the outbox, so the device gets commands in (fence, seq) order whichever nodes the agent's requests reach", async () => {
    // The load balancer may send the agent's next request to another node (here the device's
    // own). Were the frame written after the answer, in a unit of its own, it could be
    // written after the next command's frame (a node waiting for a pooled connection, say),
    // and the device refuses a command below the last one it executed ('out-of-order').
    let first: Awaited<ReturnType<typeof send>> | undefined;
    await withOutboxHeld(async (release) => {
      const posting = send(navigate).then((r) => (first = r));
      await new Promise((ok) => setTimeout(ok, 300));
      assert.equal(first, undefined, 'the agent was answered before the frame was in the outbox');
      await release();
      await posting;
    });
    assert.equal(first!.status, 201, JSON.stringify(first!.body));
    const written = await n1.sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox
      WHERE topic = 'hub.frame' AND payload::jsonb -> 'frame' ->> 'commandId' = ${first!.body.commandId}`;
    assert.equal(written[0]!.n, 1, 'the frame was in the outbox when the agent was answered');
    const second = await api(n1.url, 'sendCommand', {
      params: { requestId },
      headers: bearer(agent.token),
      json: { fence, seq: ++seq, command: navigate },
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    for (const r of [first!, second]) {
      const f = await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
      assert.equal((await ctl.guard.check(f.jws)).verdict, 'execute', `command seq ${r.body.seq}`);
      assert.equal((await ctl.ack(r.body.commandId)).status, 200);
      await shownToAgent(r.body.commandId);
    }
  });

  it('cross-node delivery: N commands, each frame once (latency printed)', async () => {
    const N = 20;
    const lat: number[] = [];
    const answered: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      const r = await send(navigate);
      answered.push(performance.now() - t0);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
      lat.push(performance.now() - t0);
      assert.equal((await ctl.ack(r.body.commandId)).status, 200);
      await shownToAgent(r.body.commandId);
    }
    const p = (xs: number[], q: number) =>
      [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(1);
    console.log(
      `  cross-node command, ${N} commands: POST on node 2 -> frame on node 1's socket p50 ${p(lat, 0.5)} ms, p90 ${p(lat, 0.9)} ms, max ${p(lat, 1)} ms; the POST's own answer p50 ${p(answered, 0.5)} ms`,
    );
    // Each frame reached each socket once.
    for (const [id, n] of commandFrames) assert.equal(n, 1, `command ${id} reached the device ${n} times`);
    for (const [k, n] of updateFrames) assert.equal(n, 1, `update ${k} reached the agent ${n} times`);
  });

  it('the LISTEN connections killed (notifications lost): commands still arrive, the listeners come back', async () => {
    const before1 = (n1.services.ctx.events as PgEventBus).catchUps;
    const before2 = (n2.services.ctx.events as PgEventBus).catchUps;
    const pids = [...(await listeners(n1))];
    assert.equal(pids.length, 2, 'one LISTEN connection per node');
    for (const pid of pids) await n1.sql`SELECT pg_terminate_backend(${pid})`;
    // Posted while the listeners are down or reconnecting: no notification reaches node 1 for it.
    const r = await send(navigate);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
    await until('both nodes listening again and caught up', async () => {
      const now = await listeners(n1);
      return (
        now.length === 2 &&
        now.every((p) => !pids.includes(p)) &&
        (n1.services.ctx.events as PgEventBus).catchUps > before1 &&
        (n2.services.ctx.events as PgEventBus).catchUps > before2
      );
    });
    // And after the reconnect the notifications wake node 1 again.
    const r2 = await send(navigate);
    await deviceWs.take((x) => x.type === 'command' && x.commandId === r2.body.commandId);
    assert.equal((await ctl.ack(r2.body.commandId)).status, 200);
    await shownToAgent(r2.body.commandId);
    for (const [id, n] of commandFrames) assert.equal(n, 1, `command ${id} reached the device ${n} times`);
    for (const [k, n] of updateFrames) assert.equal(n, 1, `update ${k} reached the agent ${n} times`);
  });

  it("node 1's LISTEN connection down for 5 s while commands are posted on node 2: each reaches the device once, node 1 listens again", async () => {
    const bus1 = n1.services.ctx.events as PgEventBus;
    const catchUps = bus1.catchUps;
    const notifications = bus1.notifications;
    const refusedBefore = proxy.counts.refused;
    // The link cut, and every reconnection refused until restored (after 5 s and 3 commands at least).
    proxy.cut();
    const cutAt = Date.now();
    const ids: string[] = [];
    while (ids.length < 3 || Date.now() - cutAt < 5000) {
      const r = await send(navigate);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      ids.push(r.body.commandId);
      // Delivered meanwhile (node 1 reads the outbox by seq on its safety poll), acknowledged to node 1.
      await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
      assert.equal((await ctl.ack(r.body.commandId)).status, 200);
      await shownToAgent(r.body.commandId);
    }
    // Node 1 had no LISTEN connection all along: nothing woke it but its poll.
    assert.equal(bus1.catchUps, catchUps, 'node 1 did not listen again while the link was cut');
    assert.equal(bus1.notifications, notifications, 'no notification reached node 1 while cut');
    proxy.restore();
    await until('node 1 listening again (its listener reconnected through the proxy)', () =>
      bus1.catchUps > catchUps ? true : undefined,
    );
    assert.ok(proxy.counts.refused > refusedBefore, 'reconnections were refused while cut');
    // Notifications wake node 1 again.
    const r = await send(navigate);
    ids.push(r.body.commandId);
    await deviceWs.take((x) => x.type === 'command' && x.commandId === r.body.commandId);
    await until('a notification reached node 1', () =>
      bus1.notifications > notifications ? true : undefined,
    );
    assert.equal((await ctl.ack(r.body.commandId)).status, 200);
    await shownToAgent(r.body.commandId);
    await n1.services.ctx.events.settled();
    // No event lost, none delivered twice to a socket.
    for (const id of ids) assert.equal(commandFrames.get(id), 1, `command ${id} reached the device once`);
    for (const [id, n] of commandFrames) assert.equal(n, 1, `command ${id} reached the device ${n} times`);
    for (const [k, n] of updateFrames) assert.equal(n, 1, `update ${k} reached the agent ${n} times`);
    console.log(
      `  listener cut 5 s: ${ids.length - 1} commands delivered meanwhile, ${proxy.counts.refused - refusedBefore} reconnections refused, caught up`,
    );
  });

  it("a warm transfer offered on node 2 reaches the colleague's socket and the customer's device on node 1", async () => {
    const b = await staffLogin(n1.url, 'agent2', 'demo-agent-2');
    const bSocket = await TestSocket.open(n1.url);
    try {
      bSocket.send({ type: 'hello', auth: { kind: 'staff', accessToken: b.token } });
      assert.equal((await bSocket.next()).type, 'welcome');
      const bWs = new FrameLog(bSocket);
      const av = await api(n1.url, 'setPresence', { headers: bearer(b.token), json: { state: 'available' } });
      assert.equal(av.status, 200, JSON.stringify(av.body));
      const t = await api(n2.url, 'transfer', {
        params: { requestId },
        headers: bearer(agent.token),
        json: { fence, mode: 'warm', target: { kind: 'agent', staffId: b.staffId } },
      });
      assert.equal(t.status, 201, JSON.stringify(t.body));
      const offered = await bWs.take(
        (x) => x.type === 'transfer.update' && x.transfer.transferId === t.body.transferId,
      );
      assert.equal(offered.transfer.state, 'offered');
      assert.equal(offered.transfer.from.staffId, agent.staffId);
      const consult = await deviceWs.take((x) => x.type === 'request.consult' && x.requestId === requestId);
      assert.equal(consult.active, true);
      // Cancelled on node 2: the colleague on node 1 and the device on node 1 hear of it.
      const cancel = await api(n2.url, 'cancelTransfer', {
        params: { transferId: t.body.transferId },
        headers: bearer(agent.token),
        json: { fence },
      });
      assert.equal(cancel.status, 200, JSON.stringify(cancel.body));
      await bWs.take(
        (x) =>
          x.type === 'transfer.update' &&
          x.transfer.transferId === t.body.transferId &&
          x.transfer.state === 'cancelled',
      );
      const over = await deviceWs.take((x) => x.type === 'request.consult' && x.requestId === requestId);
      assert.equal(over.active, false);
      const off = await api(n1.url, 'setPresence', { headers: bearer(b.token), json: { state: 'offline' } });
      assert.equal(off.status, 200, JSON.stringify(off.body));
    } finally {
      bSocket.close();
    }
  });

  it("a request queued on node 1 reaches the queue feed of the agent's socket on node 2", async () => {
    agentSocket.send({ type: 'subscribe', topic: 'queues' });
    await agentWs.take((x) => x.type === 'queue.snapshot');
    const code = await api(n1.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_alice_martin_01' },
      headers: bearer((await staffLogin(n1.url, 'admin', 'demo-admin-1')).token),
    });
    const d2 = await new TestDevice(n1.url).enrolAndAuthenticate(code.body.code);
    assert.equal((await d2.api('setPin', { json: { pin: '246813' } })).status, 200);
    assert.equal((await d2.api('pinFactor', { json: { pin: '246813' } })).status, 200);
    const q = await d2.api('createRequest', { json: { optionId: 'payment-failed' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    await agentWs.take(
      (x) => x.type === 'queue.delta' && x.upserts.some((u: any) => u.requestId === q.body.request.requestId),
    );
  });

  it('the pipeline configuration replaced on node 2: node 1 takes a request for the new menu option into its queue', async () => {
    const code = await api(n1.url, 'issueEnrolmentCode', {
      params: { customerId: 'c_chen_wei_00003' },
      headers: bearer(admin),
    });
    const d3 = await new TestDevice(n1.url).enrolAndAuthenticate(code.body.code);
    // Not on the menu yet: node 1 refuses it.
    const early = await d3.api('createRequest', { json: { optionId: 'travel-notice' } });
    assert.equal(early.status, 404, JSON.stringify(early.body));

    const cfg = await api(n2.url, 'getPipelineConfig', { headers: bearer(admin) });
    assert.equal(cfg.status, 200, JSON.stringify(cfg.body));
    const changed = structuredClone(cfg.body);
    changed.menu.push({ id: 'travel-notice', label: 'Travelling abroad', queue: 'business', level: 0 });
    const put = await api(n2.url, 'putPipelineConfig', { headers: bearer(admin), json: changed });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    // Node 1 has followed every event committed so far (the replacement's among them).
    await n1.services.ctx.events.settled();

    const seen = await api(n1.url, 'getPipelineConfig', { headers: bearer(admin) });
    assert.ok(
      seen.body.menu.some((m: { id: string }) => m.id === 'travel-notice'),
      'node 1 serves the new menu',
    );
    const q = await d3.api('createRequest', { json: { optionId: 'travel-notice' } });
    assert.equal(q.body.status, 'queued', JSON.stringify(q.body));
    const [row] = await n1.sql<{ queue_id: string }>`SELECT queue_id FROM requests
      WHERE id = ${q.body.request.requestId}`;
    assert.equal(row?.queue_id, 'business');
    assert.equal(
      (await d3.api('cancelRequest', { params: { requestId: q.body.request.requestId } })).status,
      200,
    );
  });

  it("ending the session on node 2 closes the device's socket on node 1", async () => {
    const t0 = performance.now();
    const end = await api(n2.url, 'adminEndSession', {
      params: { sessionId },
      headers: bearer(admin),
      json: { reason: 'fraud suspected' },
    });
    assert.equal(end.status, 200, JSON.stringify(end.body));
    const ended = await deviceWs.take((x) => x.type === 'session.ended' && x.sessionId === sessionId);
    assert.equal(ended.reason, 'ended_by_admin');
    const closed = await deviceSocket.closed;
    assert.equal(closed.code, WS_CLOSE.sessionEnded);
    console.log(
      `  session ended on node 2 -> device socket on node 1 closed: ${(closed.at - t0).toFixed(1)} ms`,
    );
  });
});
