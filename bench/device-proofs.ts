/**
 * Device-key proofs verified per second: through the HTTP API (GET /v1/device/me, each
 * request with its own fresh proof JWS, the authority verifying it with the device's
 * P-256 key and recording its jti) against verifying the very same signatures directly
 * in this process with node:crypto (what the authority calls, identity/device-keys.ts
 * verifyDeviceJws) and with jose's compactVerify (WebCrypto, async; what it called before
 * issue 11). The proofs are all signed before any timing starts.
 */
import { spawn } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { Agent, request } from 'node:http';
import { compactVerify } from 'jose';
import { TestDevice } from '../test/support/device.ts';
import { cpuSeconds } from './process-cpu.ts';

export interface DeviceProofFigures {
  n: number;
  concurrency: number;
  httpPerSecond: number;
  httpErrors: number;
  httpP50Ms: number;
  httpP95Ms: number;
  rawCryptoPerSecond: number;
  rawJosePerSecond: number;
  rawFailures: number;
  /** The same client, requests and concurrency against a bare fastify route in its own process (no work). */
  bareHttpPerSecond: number;
  /** The authority's own CPU time (user + system) per proof of the timed run, in µs; null without its pid. */
  authorityCpuUsPerProof: number | null;
  /** This process's CPU time per request while it drove the timed run (the client's share of the machine), µs. */
  clientCpuUsPerRequest: number;
  /** The bare route's server process: its CPU time per request, µs (what HTTP alone costs a server here). */
  bareCpuUsPerRequest: number;
}

const PATH = '/v1/device/me';

function get(base: URL, agent: Agent, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: base.hostname, port: base.port, path: PATH, method: 'GET', agent, headers },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const root = new URL('..', import.meta.url).pathname;

/**
 * A fastify server in its own process answering GET /v1/device/me with a small JSON
 * body and doing nothing else: the most this client can get from an HTTP server on this
 * machine, the floor under every API figure.
 */
async function bareHttp(): Promise<{ base: URL; pid: number; stop: () => void }> {
  const code = `
    import Fastify from 'fastify';
    const app = Fastify();
    app.get('${PATH}', async () => ({ deviceId: 'dev', customerId: 'cus', level: 2, expiresAt: new Date().toISOString() }));
    const at = await app.listen({ host: '127.0.0.1', port: 0 });
    console.log('bare on ' + at);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<URL>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      const m = /bare on (\S+)/.exec(String(d));
      if (m) resolve(new URL(m[1]!));
    });
    child.once('exit', (c) => reject(new Error(`bare HTTP server exited ${c}`)));
  });
  return { base, pid: child.pid!, stop: () => child.kill('SIGTERM') };
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export async function benchDeviceProofs(
  baseUrl: string,
  enrolmentCode: string,
  opts: { n: number; concurrency: number; authorityPid?: number },
): Promise<DeviceProofFigures> {
  const device = await new TestDevice(baseUrl).enrolAndAuthenticate(enrolmentCode);
  const base = new URL(baseUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });

  // Sign everything first: warm-up proofs, then the N timed ones.
  const warm = await Promise.all(Array.from({ length: 100 }, () => device.proof('GET', PATH)));
  const proofs: string[] = [];
  for (let i = 0; i < opts.n; i++) proofs.push(await device.proof('GET', PATH));
  const auth = `Device ${device.token}`;

  const run = async (list: string[], to = base, via = agent) => {
    let next = 0;
    let errors = 0;
    const lat: number[] = [];
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < list.length) {
          const proof = list[next++]!;
          const t = performance.now();
          const status = await get(to, via, { authorization: auth, 'device-proof': proof });
          lat.push(performance.now() - t);
          if (status !== 200) errors++;
        }
      }),
    );
    return { errors, lat };
  };
  await run(warm);
  const pid = opts.authorityPid;
  const cpu0 = pid === undefined ? 0 : cpuSeconds(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const { errors, lat } = await run(proofs);
  const httpSeconds = (performance.now() - t0) / 1000;
  const authorityCpuUsPerProof = pid === undefined ? null : ((cpuSeconds(pid) - cpu0) * 1e6) / opts.n;
  const client = process.cpuUsage(client0);
  const clientCpuUsPerRequest = (client.user + client.system) / opts.n;
  agent.destroy();
  lat.sort((x, y) => x - y);

  // The same requests against a server that does nothing: the HTTP floor of this machine.
  const bare = await bareHttp();
  const bareAgent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  let bareHttpPerSecond: number;
  let bareCpuUsPerRequest: number;
  try {
    await run(warm, bare.base, bareAgent);
    const bare0 = cpuSeconds(bare.pid);
    const tb = performance.now();
    await run(proofs, bare.base, bareAgent);
    bareHttpPerSecond = opts.n / ((performance.now() - tb) / 1000);
    bareCpuUsPerRequest = ((cpuSeconds(bare.pid) - bare0) * 1e6) / opts.n;
  } finally {
    bareAgent.destroy();
    bare.stop();
  }

  // The same signatures, verified directly. Repeat passes until at least 0.5 s was measured.
  const key = createPublicKey({ key: device.publicJwk, format: 'jwk' });
  const parts = proofs.map((p) => {
    const [h, pl, s] = p.split('.');
    return { input: Buffer.from(`${h}.${pl}`), sig: Buffer.from(s!, 'base64url') };
  });
  let rawFailures = 0;
  let count = 0;
  let t = performance.now();
  do {
    for (const { input, sig } of parts) {
      if (!verify('sha256', input, { key, dsaEncoding: 'ieee-p1363' }, sig)) rawFailures++;
      count++;
    }
  } while (performance.now() - t < 500);
  const rawCryptoPerSecond = count / ((performance.now() - t) / 1000);

  count = 0;
  t = performance.now();
  do {
    for (const p of proofs) {
      await compactVerify(p, key, { algorithms: ['ES256'] });
      count++;
    }
  } while (performance.now() - t < 500);
  const rawJosePerSecond = count / ((performance.now() - t) / 1000);

  return {
    n: opts.n,
    concurrency: opts.concurrency,
    httpPerSecond: opts.n / httpSeconds,
    authorityCpuUsPerProof,
    httpErrors: errors,
    httpP50Ms: pct(lat, 50),
    httpP95Ms: pct(lat, 95),
    rawCryptoPerSecond,
    rawJosePerSecond,
    rawFailures,
    bareHttpPerSecond,
    clientCpuUsPerRequest,
    bareCpuUsPerRequest,
  };
}
