/**
 * Pipeline benchmarks (figures printed, never asserted):
 * (a) enqueue + offer + accept (+ complete, to free the agent) cycles per second
 *     through the Pipeline on a WAL/synchronous=FULL SQLite file, vs a raw SQLite
 *     loop doing the same writes in the same transactions, in the same run;
 * (b) latency from a queue change to 1,000 connected agent sockets (p50/p99).
 * Sizes: VD_BENCH_CYCLES (default 500), VD_BENCH_SOCKETS (default 1000), VD_BENCH_CHANGES (default 20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { openDatabase } from '../authority/src/store/db.ts';
import { randomId } from '../authority/src/ids.ts';
import type { Engine } from '../authority/src/store/engine.ts';
import { startTestAuthority } from '../test/support/authority.ts';
import { TestDevice } from '../test/support/device.ts';
import { bearer, call, staffLogin } from '../test/support/http.ts';

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/**
 * `n` cycles by `k` workers at once: each creates a request (one device, a session per
 * request), waits for its offer to whichever of the k serving agents is free, accepts and
 * completes it as that agent.
 */
async function pipelineCycles(a: Awaited<ReturnType<typeof startTestAuthority>>, n: number, k: number) {
  const svc = a.services;
  const p = svc.pipeline;
  const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
  const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
    headers: bearer(admin),
  });
  const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
  const agent1 = (await svc.staff.login('agent1', 'demo-agent-1', 'bench')).staff.staffId;
  const profile = (await p.agents.get(agent1))!;
  // Only agent1 and k-1 like it serve, so every offer goes to one of the k.
  for (const u of ['agent2', 'supervisor']) {
    const id = (await svc.staff.login(u, u === 'agent2' ? 'demo-agent-2' : 'demo-supervisor', 'bench')).staff
      .staffId;
    await p.agents.setProfile(id, [], []);
  }
  const agents = [agent1];
  for (let i = 1; i < k; i++) {
    const s = await svc.staff.create(
      {
        username: `bench-agent-${i}`,
        displayName: `Bench Agent ${i}`,
        role: 'agent',
        password: 'bench-password-1',
      },
      'bench',
    );
    await p.agents.setProfile(s.id, JSON.parse(profile.skills), JSON.parse(profile.queues));
    agents.push(s.id);
  }
  for (const id of agents) await p.setPresence(id, 'available', null, 'bench');
  const principal = await svc.devices.verifyRequest(
    `Device ${d.token}`,
    await d.proof('GET', '/x'),
    'GET',
    '/x',
  );
  // Offers as they are made (dispatch may offer a request after its createRequest answered).
  const offered = new Map<string, string>();
  const waiters = new Map<string, (agentId: string) => void>();
  p.on('offer', (agentId, requestId) => {
    const w = waiters.get(requestId);
    if (w) w(agentId);
    else offered.set(requestId, agentId);
  });
  const offerOf = (requestId: string) =>
    offered.has(requestId)
      ? Promise.resolve(offered.get(requestId)!)
      : new Promise<string>((resolve) => waiters.set(requestId, resolve));
  const s0 = svc.ctx.data.stats();
  let started = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (started++ < n) {
        const r = await p.createRequest(principal, 'other');
        if (r.status !== 'queued') throw new Error('not queued');
        const id = r.request.requestId;
        const agentId = await offerOf(id);
        offered.delete(id);
        waiters.delete(id);
        const row = (await p.requests.get(id))!;
        await p.accept(agentId, id, row.fence);
        await p.complete(agentId, id, row.fence);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const s1 = svc.ctx.data.stats();
  return {
    k,
    perSecond: n / seconds,
    // CPU of this process per cycle: steadier than cycles/s on a shared machine
    cpuMsPerCycle: (cpu.user + cpu.system) / 1000 / n,
    unitsPerCycle: (s1.units - s0.units) / n,
    commitsPerCycle: (s1.commits - s0.commits) / n,
  };
}

async function cycles(n: number, engine: Engine) {
  const one = await startTestAuthority({ wrapUpSeconds: 0, accessTokenSeconds: 3600 }, { engine });
  const sixteen = await startTestAuthority({ wrapUpSeconds: 0, accessTokenSeconds: 3600 }, { engine });
  try {
    const runs = [await pipelineCycles(one, n, 1), await pipelineCycles(sixteen, n, 16)];
    for (const r of runs)
      console.log(
        `# pipeline (${engine}) x${r.k}: ${r.perSecond.toFixed(0)} cycles/s, ${r.cpuMsPerCycle.toFixed(2)} ms of CPU, ${r.unitsPerCycle.toFixed(1)} units of work and ${r.commitsPerCycle.toFixed(1)} commits (fsyncs) per cycle; the raw loop makes 9 commits per cycle`,
      );
    const pipelineSeconds = n / runs[0]!.perSecond;

    // Baseline: the same rows written by hand, one transaction per step as the pipeline does.
    const dir = mkdtempSync(join(tmpdir(), 'vd-bench-raw-'));
    const db = openDatabase(join(dir, 'raw.sqlite'));
    const now = Date.now();
    db.prepare(
      "INSERT INTO customers (id, display_name, created_at) VALUES ('c_raw_customer_001', 'Raw', ?)",
    ).run(now);
    db.prepare(
      "INSERT INTO authentications (id, customer_id, level, created_at, expires_at) VALUES ('a_raw_auth_0000001', 'c_raw_customer_001', 1, ?, ?)",
    ).run(now, now + 1e9);
    const insSession = db.prepare(
      "INSERT INTO service_sessions (id, customer_id, authentication_id, created_at, last_activity_at, absolute_expires_at) VALUES (?, 'c_raw_customer_001', 'a_raw_auth_0000001', ?, ?, ?)",
    );
    const insAudit = db.prepare(
      "INSERT INTO audit_log (seq, at, actor, action, outcome, data, prev_hash, hash) VALUES (?, ?, 'x', 'y', 'success', '{}', 'p', 'h')",
    );
    const insReq = db.prepare(
      "INSERT INTO requests (id, session_id, customer_id, authentication_id, option_id, option_label, queue_id, required_level, priority, enqueued_at, state) VALUES (?, ?, 'c_raw_customer_001', 'a_raw_auth_0000001', 'other', 'Other', 'general', 1, 0, ?, 'waiting')",
    );
    const offer = db.prepare(
      "UPDATE requests SET state = 'offered', fence = fence + 1, agent_id = 'agent', offer_expires_at = ? WHERE id = ? AND state = 'waiting' RETURNING fence",
    );
    const insLease = db.prepare(
      "INSERT INTO leases (request_id, fence, kind, agent_id, started_at) VALUES (?, ?, ?, 'agent', ?)",
    );
    const accept = db.prepare(
      "UPDATE requests SET state = 'assigned', assigned_at = ? WHERE id = ? AND state = 'offered' AND fence = ?",
    );
    const endLease = db.prepare(
      'UPDATE leases SET ended_at = ?, end_reason = ? WHERE request_id = ? AND fence = ? AND kind = ?',
    );
    const complete = db.prepare(
      "UPDATE requests SET state = 'completed', ended_at = ? WHERE id = ? AND state = 'assigned' AND fence = ?",
    );
    let seq = 0;
    const t1 = performance.now();
    for (let i = 0; i < n; i++) {
      const sid = randomId(32);
      const rid = randomId(16);
      const t = Date.now();
      db.transaction(() => {
        insSession.run(sid, t, t, t + 1e9);
        insAudit.run(++seq, t);
        insReq.run(rid, sid, t);
      })();
      insAudit.run(++seq, t);
      const f = db.transaction(() => {
        const { fence } = offer.get(t + 15000, rid) as { fence: number };
        insLease.run(rid, fence, 'offer', t);
        return fence;
      })();
      db.transaction(() => {
        accept.run(t, rid, f);
        endLease.run(t, 'accepted', rid, f, 'offer');
        insLease.run(rid, f, 'assignment', t);
      })();
      insAudit.run(++seq, t);
      db.transaction(() => {
        complete.run(t, rid, f);
        endLease.run(t, 'completed', rid, f, 'assignment');
      })();
      insAudit.run(++seq, t);
      db.prepare('UPDATE service_sessions SET ended_at = ? WHERE id = ?').run(t, sid);
      insAudit.run(++seq, t);
    }
    const rawSeconds = (performance.now() - t1) / 1000;
    db.close();
    rmSync(dir, { recursive: true, force: true });
    return {
      n,
      pipelinePerSecond: n / pipelineSeconds,
      concurrent: runs[1]!,
      rawPerSecond: n / rawSeconds,
    };
  } finally {
    await one.dispose();
    await sixteen.dispose();
  }
}

async function fanout(sockets: number, changes: number, engine: Engine) {
  const a = await startTestAuthority({ accessTokenSeconds: 3600, agentTimeoutSeconds: 3600 }, { engine });
  const conns: WebSocket[] = [];
  try {
    const tokens = await Promise.all(
      ['agent1', 'agent2', 'supervisor'].map((u, i) =>
        staffLogin(a.url, u, ['demo-agent-1', 'demo-agent-2', 'demo-supervisor'][i]!),
      ),
    );
    const received: number[][] = Array.from({ length: changes }, () => []);
    let round = -1;
    let roundStart = 0;
    let pending = 0;
    let resolveRound: (() => void) | null = null;
    for (let i = 0; i < sockets; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, sockets - i) }, async (_, j) => {
          const ws = new WebSocket(a.url.replace('http', 'ws') + '/v1/ws');
          conns.push(ws);
          await new Promise<void>((resolve, reject) => {
            ws.on('error', reject);
            ws.on('open', () =>
              ws.send(
                JSON.stringify({
                  type: 'hello',
                  auth: { kind: 'staff', accessToken: tokens[(i + j) % 3]!.token },
                }),
              ),
            );
            ws.on('message', (data) => {
              const f = JSON.parse(String(data));
              if (f.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', topic: 'queues' }));
              else if (f.type === 'queue.snapshot') resolve();
              else if (f.type === 'queue.delta' && round >= 0 && f.upserts.length) {
                received[round]!.push(performance.now() - roundStart);
                if (--pending === 0) resolveRound?.();
              }
            });
          });
        }),
      );
    }
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const code = await call(a.url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    const d = await new TestDevice(a.url).enrolAndAuthenticate(code.body.code);
    const principal = await a.services.devices.verifyRequest(
      `Device ${d.token}`,
      await d.proof('GET', '/y'),
      'GET',
      '/y',
    );
    for (let c = 0; c < changes; c++) {
      const done = new Promise<void>((r) => (resolveRound = r));
      pending = sockets;
      round = c;
      roundStart = performance.now();
      await a.services.pipeline.createRequest(principal, 'other');
      await done;
    }
    const all = received.flat();
    return { sockets, changes, p50: pct(all, 50), p99: pct(all, 99), max: Math.max(...all) };
  } finally {
    for (const ws of conns) ws.terminate();
    await a.dispose();
  }
}

export async function pipelineBench(engine: Engine = 'sqlite') {
  const c = await cycles(Number(process.env.VD_BENCH_CYCLES ?? 500), engine);
  console.log(
    `pipeline cycles (enqueue+offer+accept+complete): ${c.pipelinePerSecond.toFixed(0)}/s via Pipeline (x1), ${c.concurrent.perSecond.toFixed(0)}/s (x16) vs ${c.rawPerSecond.toFixed(0)}/s raw SQLite writes; ratio ${(c.pipelinePerSecond / c.rawPerSecond).toFixed(2)} / ${(c.concurrent.perSecond / c.rawPerSecond).toFixed(2)} (n=${c.n})`,
  );
  const f = await fanout(
    Number(process.env.VD_BENCH_SOCKETS ?? 1000),
    Number(process.env.VD_BENCH_CHANGES ?? 20),
    engine,
  );
  console.log(
    `queue change -> ${f.sockets} agent sockets: p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms, max ${f.max.toFixed(1)} ms (${f.changes} changes; includes the 50 ms feed batching)`,
  );
  return { cycles: c, fanout: f };
}

if (import.meta.url === `file://${process.argv[1]}`) await pipelineBench();
