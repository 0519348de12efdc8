/**
 * Remote-control round trip (figures printed, never asserted): the agent POSTs a
 * command -> the authority (own process) authorises, persists, audits and signs it ->
 * the device receives the JWS on its WebSocket, verifies it (authority JWKS, claims,
 * replay/order checks) and acknowledges it on its WebSocket (`command.ack`, as the SDK does
 * while the socket is open) -> the authority records "shown" and tells the agent on its WebSocket. One command at a time,
 * p50/p99 of that full loop (and of the first half: POST -> device has the frame).
 *
 * Baseline in the same run: a raw WebSocket echo (a `ws` server in its own process that
 * sends every message back) round trip from this process, p50/p99, same count.
 *
 * The agent's POST goes through node:http with a keep-alive agent (one connection, as a
 * console keeps one): the client's own cost stays out of the authority's figure (fetch
 * adds about 0.1 ms per request here). A third figure shows what durability alone costs:
 * the loop's two durable commits (the command with its audit row, then the
 * acknowledgement with its own), made directly on the same engine, one after the other,
 * with nothing else (SQLite WAL synchronous=FULL in the same directory; PostgreSQL
 * synchronous_commit=on in a database of the same cluster).
 *
 * Size: VD_BENCH_COMMANDS (default 10,000; printed), after VD_BENCH_COMMANDS_WARMUP (200).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'node:http';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import WebSocket from 'ws';
import type { Engine } from '../authority/src/store/engine.ts';
import { startBenchAuthority } from './authority-process.ts';
import { flushesPerOperation, postgresPids } from './fsyncs.ts';
import { cpuSeconds } from './process-cpu.ts';
import { DeviceControl, TestDevice } from '../test/support/device.ts';
import { bearer, call, staffLogin } from '../test/support/http.ts';
import { createTestDatabase } from '../test/support/postgres.ts';
import { postJson } from './pin.ts';

const N = Math.max(1, Number(process.env.VD_BENCH_COMMANDS ?? 10_000));
const WARMUP = Math.max(0, Number(process.env.VD_BENCH_COMMANDS_WARMUP ?? 200));
/** Commands of the untimed pass that counts disk flushes. */
const FLUSH_PASS = 100;
const PEPPER = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';
const root = new URL('..', import.meta.url).pathname;

export interface DeviceCommandFigures {
  n: number;
  roundTrip: { p50: number; p99: number; mean: number };
  toDevice: { p50: number; p99: number };
  echo: { p50: number; p99: number; mean: number };
  /** two durable commits (command + audit, then ack + audit) made directly on the engine, nothing else */
  commits: { p50: number; p99: number };
  seconds: number;
  errors: number;
  /** fsync/fdatasync calls per command (authority on SQLite, PostgreSQL's processes on PostgreSQL); null without strace. */
  flushes: number | null;
  /** the authority's own CPU time (user + system) per command of the timed loop, ms */
  authorityCpuMs: number;
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A socket whose messages are handed to whoever waits for the next one matching a predicate. */
class Inbox {
  private readonly waiting: { pred: (f: any) => boolean; resolve: (f: any) => void }[] = [];
  constructor(ws: WebSocket) {
    ws.on('message', (data) => {
      const f = JSON.parse(String(data));
      const i = this.waiting.findIndex((w) => w.pred(f));
      if (i >= 0) this.waiting.splice(i, 1)[0]!.resolve(f);
    });
  }
  next(pred: (f: any) => boolean): Promise<any> {
    return new Promise((resolve) => this.waiting.push({ pred, resolve }));
  }
}

async function open(url: string, hello: unknown): Promise<{ ws: WebSocket; inbox: Inbox }> {
  const ws = new WebSocket(url.replace(/^http/, 'ws') + '/v1/ws');
  const inbox = new Inbox(ws);
  await once(ws, 'open');
  const welcome = inbox.next((f) => f.type === 'welcome' || f.type === 'error');
  ws.send(JSON.stringify(hello));
  const w = await welcome;
  if (w.type !== 'welcome') throw new Error(`hello refused: ${JSON.stringify(w)}`);
  return { ws, inbox };
}

/**
 * The floor under the loop: its two durable commits alone, one after the other (a command
 * row the size of the loop's with an audit row, then its acknowledgement with another),
 * p50/p99 over `n` pairs, on `engine`, made directly (no authority, no HTTP, no crypto).
 */
async function durableCommits(n: number, engine: Engine, dataDir: string): Promise<number[]> {
  const jws = 'y'.repeat(900);
  const times: number[] = [];
  if (engine === 'sqlite') {
    const db = new BetterSqlite3(join(dataDir, 'floor.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      'CREATE TABLE c (id INTEGER PRIMARY KEY, jws TEXT NOT NULL, state TEXT NOT NULL); CREATE TABLE a (seq INTEGER PRIMARY KEY, data TEXT NOT NULL)',
    );
    const ins = db.prepare("INSERT INTO c (id, jws, state) VALUES (?, ?, 'pending')");
    const shown = db.prepare("UPDATE c SET state = 'shown' WHERE id = ?");
    const audit = db.prepare('INSERT INTO a (data) VALUES (?)');
    const send = db.transaction((i: number) => {
      ins.run(i, jws);
      audit.run(`{"commandId":${i}}`);
    });
    const ack = db.transaction((i: number) => {
      shown.run(i);
      audit.run(`{"ack":${i}}`);
    });
    for (let i = 0; i < n + WARMUP; i++) {
      const t0 = performance.now();
      send(i);
      ack(i);
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    db.close();
    return times;
  }
  const c = new pg.Client({ connectionString: await createTestDatabase('vd_bench_floor') });
  await c.connect();
  try {
    await c.query(
      'CREATE TABLE c (id BIGINT PRIMARY KEY, jws TEXT NOT NULL, state TEXT NOT NULL); CREATE TABLE a (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, data TEXT NOT NULL)',
    );
    await c.query('SET synchronous_commit = on');
    for (let i = 0; i < n + WARMUP; i++) {
      const t0 = performance.now();
      await c.query('BEGIN');
      await c.query("INSERT INTO c (id, jws, state) VALUES ($1, $2, 'pending')", [i, jws]);
      await c.query('INSERT INTO a (data) VALUES ($1)', [`{"commandId":${i}}`]);
      await c.query('COMMIT');
      await c.query('BEGIN');
      await c.query("UPDATE c SET state = 'shown' WHERE id = $1", [i]);
      await c.query('INSERT INTO a (data) VALUES ($1)', [`{"ack":${i}}`]);
      await c.query('COMMIT');
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
  } finally {
    await c.end();
  }
  return times;
}

/** A raw `ws` echo server in its own process (like the authority), and its round trips. */
async function echoBaseline(n: number): Promise<number[]> {
  const code = `
    import { WebSocketServer } from 'ws';
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    wss.on('connection', (s) => s.on('message', (m, bin) => s.send(m, { binary: bin })));
    wss.on('listening', () => console.log('echo on ' + wss.address().port));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        const m = /echo on (\d+)/.exec(String(d));
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
    });
    const ws = new WebSocket(`ws://127.0.0.1:${port}`);
    await once(ws, 'open');
    // A message the size of a command frame, so the baseline moves comparable bytes.
    const body = JSON.stringify({ type: 'command', commandId: 'x'.repeat(22), jws: 'y'.repeat(900) });
    const times: number[] = [];
    for (let i = 0; i < n + WARMUP; i++) {
      const t0 = performance.now();
      const got = once(ws, 'message');
      ws.send(body);
      await got;
      if (i >= WARMUP) times.push(performance.now() - t0);
    }
    ws.close();
    return times;
  } finally {
    child.kill('SIGTERM');
  }
}

export async function benchDeviceCommands(n = N, engine: Engine = 'sqlite'): Promise<DeviceCommandFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-commands-'));
  const authority = await startBenchAuthority(
    dataDir,
    {
      VD_PIN_PEPPER: PEPPER,
      VD_AUTHENTICATION_TTL_SECONDS: '86400',
      VD_ACCESS_TOKEN_SECONDS: '3600',
      VD_WRAP_UP_SECONDS: '0',
    },
    engine,
  );
  const url = authority.url;
  try {
    const admin = (await staffLogin(url, 'admin', 'demo-admin-1')).token;
    const code = await call(url, 'POST', '/v1/admin/customers/c_bob_okafor_002/enrolment-codes', {
      headers: bearer(admin),
    });
    const d = await new TestDevice(url).enrolAndAuthenticate(code.body.code);
    const q = await d.call('POST', '/v1/device/requests', { json: { optionId: 'other' } });
    if (q.body.status !== 'queued') throw new Error(`request: ${JSON.stringify(q.body)}`);
    const request = q.body.request;
    const ctl = new DeviceControl(d).follow(request);
    await ctl.guard.loadKeys();
    const device = await open(url, await d.wsHello(request.sessionId));

    // agent1 is the only one available (the other demo staff start offline): the offer is theirs.
    const agent = await staffLogin(url, 'agent1', 'demo-agent-1');
    const agentSock = await open(url, { type: 'hello', auth: { kind: 'staff', accessToken: agent.token } });
    const av = await call(url, 'PUT', '/v1/agent/presence', {
      headers: bearer(agent.token),
      json: { state: 'available' },
    });
    const offer = av.body.offer ?? (await agentSock.inbox.next((f) => f.type === 'offer')).offer;
    const fence = offer.fence;
    const acc = await call(url, 'POST', `/v1/agent/requests/${request.requestId}/accept`, {
      headers: bearer(agent.token),
      json: { fence },
    });
    if (acc.status !== 200) throw new Error(`accept: ${JSON.stringify(acc.body)}`);

    const base = new URL(url);
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const roundTrips: number[] = [];
    const toDevice: number[] = [];
    let errors = 0;
    let seq = 0;
    /** One command through the whole loop: [round trip, POST -> frame on the device] in ms, or null. */
    const one = async (): Promise<[number, number] | null> => {
      const t0 = performance.now();
      const shown = agentSock.inbox.next((f) => f.type === 'command.update' && f.command.state === 'shown');
      const onDevice = device.inbox.next((f) => f.type === 'command');
      const sent = await postJson(
        base,
        keepAlive,
        `/v1/agent/requests/${request.requestId}/commands`,
        { authorization: `Bearer ${agent.token}` },
        JSON.stringify({
          fence,
          seq: ++seq,
          ttlSeconds: 600,
          command: { kind: 'navigate', payload: { screen: 'account' } },
        }),
      );
      if (sent !== 201) {
        errors++;
        return null;
      }
      const f = await onDevice;
      const t1 = performance.now();
      const v = await ctl.guard.check(f.jws);
      if (v.verdict !== 'execute') throw new Error(`device refused: ${JSON.stringify(v)}`);
      // The acknowledgement on the device's socket, as the SDK sends it when the socket is open.
      const acked = device.inbox.next(
        (x) =>
          (x.type === 'command.acked' || x.type === 'command.ack.refused') && x.commandId === f.commandId,
      );
      device.ws.send(JSON.stringify({ type: 'command.ack', commandId: f.commandId }));
      if ((await acked).type !== 'command.acked') errors++;
      const upd = await shown;
      if (upd.command.commandId !== f.commandId) throw new Error('acknowledgement of another command');
      return [performance.now() - t0, t1 - t0];
    };
    for (let i = 0; i < WARMUP; i++) await one();
    const cpu0 = cpuSeconds(authority.pid);
    const t0all = performance.now();
    for (let i = 0; i < n; i++) {
      const r = await one();
      if (r) {
        roundTrips.push(r[0]);
        toDevice.push(r[1]);
      }
    }
    const seconds = (performance.now() - t0all) / 1000;
    const authorityCpuMs = ((cpuSeconds(authority.pid) - cpu0) * 1000) / n;
    // Disk flushes per command, in an untimed pass (strace slows what it watches).
    const flushes = await flushesPerOperation(
      engine === 'sqlite' ? [authority.pid] : postgresPids(),
      async () => {
        for (let i = 0; i < FLUSH_PASS; i++) await one();
        return FLUSH_PASS;
      },
    );
    device.ws.close();
    agentSock.ws.close();
    keepAlive.destroy();
    const echo = await echoBaseline(n);
    const commits = await durableCommits(n, engine, dataDir);
    return {
      n,
      roundTrip: { p50: pct(roundTrips, 50), p99: pct(roundTrips, 99), mean: mean(roundTrips) },
      toDevice: { p50: pct(toDevice, 50), p99: pct(toDevice, 99) },
      echo: { p50: pct(echo, 50), p99: pct(echo, 99), mean: mean(echo) },
      commits: { p50: pct(commits, 50), p99: pct(commits, 99) },
      seconds,
      errors,
      flushes,
      authorityCpuMs,
    };
  } finally {
    await authority.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const fmt = (x: number, d = 2) =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });

export function printDeviceCommands(f: DeviceCommandFigures): void {
  console.log(
    `\ndevice commands: ${f.n.toLocaleString('en-US')} commands (VD_BENCH_COMMANDS), one at a time, after ${WARMUP} warm-up; ${fmt(f.seconds, 1)} s; ${f.errors} errors`,
  );
  console.log(
    `  command -> device -> ack -> agent:  p50 ${fmt(f.roundTrip.p50)} ms, p99 ${fmt(f.roundTrip.p99)} ms (mean ${fmt(f.roundTrip.mean)} ms)`,
  );
  console.log(
    `  of which POST -> frame on device:  p50 ${fmt(f.toDevice.p50)} ms, p99 ${fmt(f.toDevice.p99)} ms`,
  );
  console.log(
    `  raw WebSocket echo (baseline):     p50 ${fmt(f.echo.p50, 3)} ms, p99 ${fmt(f.echo.p99, 3)} ms (mean ${fmt(f.echo.mean, 3)} ms)`,
  );
  console.log(
    `  ratio command / echo:              p50 ${fmt(f.roundTrip.p50 / f.echo.p50, 1)}x, p99 ${fmt(f.roundTrip.p99 / f.echo.p99, 1)}x`,
  );
  console.log(
    `  its two durable commits alone:     p50 ${fmt(f.commits.p50, 3)} ms, p99 ${fmt(f.commits.p99, 3)} ms (${fmt(f.commits.p50 / f.echo.p50, 1)}x the echo: the floor of a loop that is durable)`,
  );
  console.log(
    `  authority CPU per command:         ${fmt(f.authorityCpuMs, 3)} ms (user + system, /proc; steadier than the timings on a noisy machine)`,
  );
  console.log(
    `  disk flushes per command:          ${f.flushes === null ? 'not counted (no strace)' : fmt(f.flushes, 2)} (untimed pass of ${FLUSH_PASS}, strace -c)`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchDeviceCommands()
    .then(printDeviceCommands)
    .catch((e: unknown) => {
      console.error(e);
      process.exit(1);
    });
}
