/**
 * The crash test's enqueuer, a child process of test/integration/pipeline-crash.test.ts.
 *
 * Enrols devices, then creates N service requests over the real API, each with its own
 * idempotency key, retrying a request (same key, same device) through authority restarts
 * until it gets an acknowledged answer. Every attempted key is logged before its first
 * send, every acknowledged request after its answer (one JSON line each, appendFileSync),
 * so the checker can tell lost (acked, not stored) from unexpected (stored, never tried).
 *
 *   node --import tsx test/support/crash-enqueuer.ts --base http://127.0.0.1:PORT \
 *     --count 2000 --log FILE [--devices 20] [--concurrency 8] [--deadline-ms 600000] \
 *     [--admin-user admin --admin-password demo-admin-1] [--option other]
 *
 * Every loop is bounded (an overall deadline, a cap on attempts per request); the process
 * exits by itself, and at once if its parent goes away. Progress goes to the parent over
 * IPC when there is a channel, and a summary line (JSON) to stdout at the end.
 */
import { appendFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { backoffDelay } from '../../protocol/src/backoff.ts';
import type { RouteId } from '../../protocol/src/routes.ts';
import { TestDevice } from './device.ts';
import { api, type ApiOptions, apiWith, bearer, type HttpResult } from './http.ts';

export interface EnqueuerSummary {
  type: 'summary';
  count: number;
  attempted: number;
  acked: number;
  gaveUp: number;
  devices: number;
  sends: number;
  connectionErrors: number;
  serverErrors: number;
  reauthentications: number;
  otherStatuses: Record<string, number>;
  durationMs: number;
}

export interface EnqueuerProgress {
  type: 'progress';
  attempted: number;
  acked: number;
  done: boolean;
}

/** One JSON line per event in the log file. */
export type EnqueuerLogLine =
  | { t: 'attempt'; i: number; key: string; device: string }
  | { t: 'ack'; i: number; key: string; requestId: string; sends: number }
  | { t: 'gaveup'; i: number; key: string; sends: number; last: string };

const CUSTOMERS = ['c_alice_martin_01', 'c_bob_okafor_002', 'c_chen_wei_00003'];

function options() {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    strict: true,
    options: {
      base: { type: 'string' },
      count: { type: 'string' },
      log: { type: 'string' },
      devices: { type: 'string' },
      concurrency: { type: 'string' },
      'deadline-ms': { type: 'string' },
      'admin-user': { type: 'string' },
      'admin-password': { type: 'string' },
      option: { type: 'string' },
    },
  });
  const env = process.env;
  const base = values.base ?? env.VD_CRASH_BASE_URL;
  const log = values.log ?? env.VD_CRASH_LOG;
  if (!base || !log) throw new Error('usage: crash-enqueuer --base URL --count N --log FILE');
  const int = (v: string | undefined, d: number) =>
    v === undefined || v === '' ? d : Math.max(1, parseInt(v, 10) || d);
  return {
    base: base.replace(/\/$/, ''),
    log,
    count: int(values.count ?? env.VD_CRASH_REQUESTS, 2000),
    devices: int(values.devices, 20),
    concurrency: int(values.concurrency, 8),
    deadlineMs: int(values['deadline-ms'], 10 * 60_000),
    adminUser: values['admin-user'] ?? env.VD_CRASH_ADMIN_USER ?? 'admin',
    adminPassword: values['admin-password'] ?? env.VD_CRASH_ADMIN_PASSWORD ?? 'demo-admin-1',
    option: values.option ?? 'other',
  };
}

/** A promise that rejects after `ms` (the fetch underneath may still finish: every call here is safe to repeat). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, fail) => {
      t = setTimeout(() => fail(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]);
}

const CALL_TIMEOUT_MS = 10_000;

/** Bounded exponential backoff with full jitter: 25 ms doubling to 1 s. */
const backoff = (attempt: number) => sleep(backoffDelay({ initialMs: 25, maxMs: 1000 }, attempt));

async function main(): Promise<void> {
  const o = options();
  const t0 = Date.now();
  const deadline = t0 + o.deadlineMs;
  const runId = randomBytes(4).toString('hex');
  writeFileSync(o.log, '');
  const log = (line: EnqueuerLogLine) => appendFileSync(o.log, JSON.stringify(line) + '\n');
  const s: EnqueuerSummary = {
    type: 'summary',
    count: o.count,
    attempted: 0,
    acked: 0,
    gaveUp: 0,
    devices: 0,
    sends: 0,
    connectionErrors: 0,
    serverErrors: 0,
    reauthentications: 0,
    otherStatuses: {},
    durationMs: 0,
  };
  const other = (what: string) => (s.otherStatuses[what] = (s.otherStatuses[what] ?? 0) + 1);
  const expired = () => Date.now() >= deadline;

  // Parent gone: nobody will read the results; stop.
  process.on('disconnect', () => process.exit(3));
  let finished = false;
  const progress = () =>
    process.send?.({
      type: 'progress',
      attempted: s.attempted,
      acked: s.acked,
      done: finished,
    } satisfies EnqueuerProgress);
  const ticker = setInterval(progress, 100);

  // ---- admin token (re-login on 401 or after errors) -----------------------
  let adminToken: string | null = null;
  const adminCall = async <K extends RouteId>(name: K, opts?: ApiOptions<K>): Promise<HttpResult> => {
    for (let attempt = 0; !expired(); attempt++) {
      try {
        if (!adminToken) {
          const r = await within(
            api(o.base, 'login', { json: { username: o.adminUser, password: o.adminPassword } }),
            CALL_TIMEOUT_MS,
            'admin login',
          );
          if (r.status !== 200) throw new Error(`admin login: ${r.status}`);
          adminToken = r.body.accessToken as string;
        }
        const r = await within(apiWith(o.base, bearer(adminToken), name, opts), CALL_TIMEOUT_MS, name);
        if (r.status === 401) adminToken = null;
        else if (r.status < 500) return r;
        else s.serverErrors++;
      } catch {
        s.connectionErrors++;
        adminToken = null;
      }
      await backoff(attempt);
    }
    throw new Error('deadline passed while calling the admin API');
  };

  // ---- devices --------------------------------------------------------------
  const authenticate = async (d: TestDevice): Promise<void> => {
    for (let attempt = 0; !expired(); attempt++) {
      try {
        const r = await within(d.authenticate(), CALL_TIMEOUT_MS, 'authenticate');
        if (r.status === 201) return;
        if (r.status < 500) other(`authenticate ${r.status}`);
        else s.serverErrors++;
      } catch {
        s.connectionErrors++;
      }
      await backoff(attempt);
    }
    throw new Error('deadline passed while authenticating a device');
  };

  const enrol = async (customerId: string): Promise<TestDevice> => {
    for (let attempt = 0; !expired(); attempt++) {
      // A fresh code and a fresh key each time: an enrolment whose answer was lost is simply left behind.
      const code = await adminCall('issueEnrolmentCode', { params: { customerId } });
      if (code.status !== 201) {
        other(`enrolment-code ${code.status}`);
        await backoff(attempt);
        continue;
      }
      const d = new TestDevice(o.base);
      try {
        const e = await within(d.enrol(code.body.code as string), CALL_TIMEOUT_MS, 'enrol');
        if (e.status === 201) {
          await authenticate(d);
          return d;
        }
        if (e.status < 500) other(`enrol ${e.status}`);
        else s.serverErrors++;
      } catch {
        s.connectionErrors++;
      }
      await backoff(attempt);
    }
    throw new Error('deadline passed while enrolling devices');
  };

  const devices: TestDevice[] = [];
  for (let i = 0; i < o.devices; i++) {
    devices.push(await enrol(CUSTOMERS[i % CUSTOMERS.length]!));
    s.devices++;
  }

  // One re-authentication at a time per device; callers whose token is already replaced just retry.
  const reauth = new Map<TestDevice, Promise<void>>();
  const reauthenticate = async (d: TestDevice, staleToken: string) => {
    if (d.token !== staleToken) return;
    let p = reauth.get(d);
    if (!p) {
      s.reauthentications++;
      p = authenticate(d).finally(() => reauth.delete(d));
      reauth.set(d, p);
    }
    await p;
  };

  // ---- requests ----------------------------------------------------------------
  const MAX_SENDS = 5000;
  const createOne = async (i: number): Promise<void> => {
    const d = devices[i % devices.length]!;
    const key = `crash-${runId}-${String(i).padStart(6, '0')}`;
    // Logged before the first send: a stored request whose key is not here is "unexpected".
    log({ t: 'attempt', i, key, device: d.deviceId });
    s.attempted++;
    let last = '';
    for (let sends = 1, attempt = 0; sends <= MAX_SENDS && !expired(); sends++) {
      s.sends++;
      const token = d.token;
      try {
        const r = await within(
          d.api('createRequest', { json: { optionId: o.option, idempotencyKey: key } }),
          CALL_TIMEOUT_MS,
          'create request',
        );
        if (r.status === 200 && r.body?.status === 'queued') {
          log({ t: 'ack', i, key, requestId: r.body.request.requestId as string, sends });
          s.acked++;
          return;
        }
        last = `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`;
        if (r.status === 401) {
          await reauthenticate(d, token);
          continue;
        }
        if (r.status >= 500) s.serverErrors++;
        else other(`create ${r.status}${r.body?.status ? ` ${r.body.status}` : ''}`);
      } catch (e) {
        s.connectionErrors++;
        last = (e as Error).message;
      }
      await backoff(attempt++);
    }
    log({ t: 'gaveup', i, key, sends: MAX_SENDS, last });
    s.gaveUp++;
  };

  let next = 0;
  const worker = async () => {
    while (next < o.count && !expired()) await createOne(next++);
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));

  finished = true;
  s.durationMs = Date.now() - t0;
  clearInterval(ticker);
  progress();
  process.stdout.write(JSON.stringify(s) + '\n');
  if (process.send && process.connected) {
    const send = process.send.bind(process);
    // Wait until the summary has left before exiting.
    await new Promise<void>((ok) => {
      send(s, undefined, {}, () => ok());
      setTimeout(ok, 2000).unref();
    });
    process.removeAllListeners('disconnect');
    process.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`crash-enqueuer: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
