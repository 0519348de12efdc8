/**
 * PIN verification time at the configured argon2id cost: N step-ups through the HTTP
 * API (POST /v1/device/authentication/pin with the right PIN, one at a time) against N
 * raw argon2 verifications (@node-rs/argon2, same memory, iterations, parallelism and
 * pepper) of a hash made here, in the same run. Proof headers are signed before each
 * request's timer starts.
 */
import { Agent, request } from 'node:http';
import { hash, verify } from '@node-rs/argon2';
import { TestDevice } from '../test/support/device.ts';

export interface PinFigures {
  n: number;
  memoryKiB: number;
  iterations: number;
  httpP50Ms: number;
  httpP95Ms: number;
  httpErrors: number;
  rawP50Ms: number;
  rawP95Ms: number;
  rawFailures: number;
}

const PATH = '/v1/device/authentication/pin';
const PIN = '482913';
const ARGON2ID = 2; // @node-rs/argon2 Algorithm.Argon2id (an ambient const enum)

/** POST a JSON body on `agent`'s kept-alive connection; resolves with the status (the body is drained). */
export function postJson(
  base: URL,
  agent: Agent,
  path: string,
  headers: Record<string, string>,
  body: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: base.hostname,
        port: base.port,
        path,
        method: 'POST',
        agent,
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': String(Buffer.byteLength(body)),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function benchPin(
  baseUrl: string,
  enrolmentCode: string,
  opts: { n: number; memoryKiB: number; iterations: number; pepper: string },
): Promise<PinFigures> {
  const device = await new TestDevice(baseUrl).enrolAndAuthenticate(enrolmentCode);
  const set = await device.call('PUT', '/v1/device/pin', { json: { pin: PIN } });
  if (set.status !== 200) throw new Error(`setting the PIN: ${set.status} ${JSON.stringify(set.body)}`);
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const body = JSON.stringify({ pin: PIN });

  const http: number[] = [];
  let httpErrors = 0;
  for (let i = -3; i < opts.n; i++) {
    const headers = await device.headers('POST', PATH);
    const t = performance.now();
    const status = await postJson(base, agent, PATH, headers, body);
    const ms = performance.now() - t;
    if (i < 0) continue; // warm-up
    http.push(ms);
    if (status !== 200) httpErrors++;
  }
  agent.destroy();

  const secret = Buffer.from(opts.pepper, 'utf8');
  const stored = await hash(PIN, {
    algorithm: ARGON2ID,
    memoryCost: opts.memoryKiB,
    timeCost: opts.iterations,
    parallelism: 1,
    secret,
  });
  const raw: number[] = [];
  let rawFailures = 0;
  for (let i = -3; i < opts.n; i++) {
    const t = performance.now();
    const ok = await verify(stored, PIN, { secret });
    const ms = performance.now() - t;
    if (i < 0) continue;
    raw.push(ms);
    if (!ok) rawFailures++;
  }
  http.sort((x, y) => x - y);
  raw.sort((x, y) => x - y);
  return {
    n: opts.n,
    memoryKiB: opts.memoryKiB,
    iterations: opts.iterations,
    httpP50Ms: pct(http, 50),
    httpP95Ms: pct(http, 95),
    httpErrors,
    rawP50Ms: pct(raw, 50),
    rawP95Ms: pct(raw, 95),
    rawFailures,
  };
}
