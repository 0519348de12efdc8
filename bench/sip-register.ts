/**
 * REGISTER transactions per second: the authority's embedded SIP edge against Kamailio
 * (deploy/kamailio/kamailio.cfg), in the same run, with the same client. Each server
 * gets the same load: VD_BENCH_SIP_CONNECTIONS WebSocket connections (one SIP user
 * each), VD_BENCH_SIP_WINDOW REGISTERs in flight per connection, VD_BENCH_SIP_N
 * measured REGISTERs in all (after a warm-up of a tenth of that). Every REGISTER
 * carries a digest answer computed before the clock starts (one 401 challenge per
 * connection, its nonce reused with a rising nonce count, as both servers allow while
 * it is fresh: the embedded edge refuses a repeated nc as a replay), so the
 * figure is the server's: parse, digest check, binding refresh, 200 OK.
 *
 * The authority runs in its own process (authority/src/cli.ts), Kamailio in its own
 * (scripts/kamailio.sh run; anti-flood density raised so the load is not banned), the
 * client in this one. Figures are printed, never asserted.
 *
 *   npx tsx bench/sip-register.ts
 *   VD_BENCH_SIP_N=20000 VD_BENCH_SIP_CONNECTIONS=16 npx tsx bench/sip-register.ts
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ephemeralCredentials } from '../authority/src/sip/credentials.ts';
import { startBenchAuthority } from './authority-process.ts';
import {
  digestAuthorization,
  parseChallenge,
  RawSipClient,
  rawRegister,
  startKamailio,
  type SipReply,
} from '../test/support/kamailio.ts';

export interface RegisterFigures {
  n: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  errors: number;
}

export interface SipRegisterFigures {
  n: number;
  connections: number;
  window: number;
  edge: RegisterFigures;
  kamailio: RegisterFigures | null;
  /** Kamailio REGISTERs per second / the edge's (null when Kamailio could not run). */
  ratio: number | null;
  kamailioError?: string;
}

const DOMAIN = 'verified-desk.local';
const PEPPER = 'bench-pepper-0123456789abcdefghijklmnopqrstuvwxyz';

/** The authority in its own process with a known SIP secret; its data dir goes with it. */
async function startAuthorityProcess(secret: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-sip-'));
  const a = await startBenchAuthority(dataDir, {
    VD_PIN_PEPPER: PEPPER,
    VD_SIP_SECRET: secret,
    VD_SIP_DOMAIN: DOMAIN,
  });
  return {
    url: a.url,
    async stop() {
      await a.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? 0;

/** N REGISTERs over `connections` sockets to `wsUrl`, `window` in flight per socket. */
async function registerLoad(
  wsUrl: string,
  secret: string,
  o: { n: number; connections: number; window: number; tag: string },
): Promise<RegisterFigures> {
  const clients = await Promise.all(
    Array.from({ length: o.connections }, async (_, i) => {
      const user = `a-bench-${o.tag}-${i}`;
      const creds = { ...ephemeralCredentials(secret, user, 3600, Date.now()), user, domain: DOMAIN };
      const c = await RawSipClient.open(wsUrl);
      const first = await rawRegister(c, creds);
      if (first.reply?.status !== 200)
        throw new Error(`${o.tag}: the first REGISTER got ${first.reply?.status ?? 'no answer'}`);
      return { c, creds, authorization: first.authorization!, callId: first.callId };
    }),
  );
  /** Precomputed REGISTER texts for client `k`: same Call-ID, rising CSeq, the nonce reused with a rising nc. */
  const nc = clients.map(() => 1);
  const prepare = (k: number, count: number) => {
    const { c, creds, authorization: first, callId } = clients[k]!;
    const challenge = parseChallenge(first);
    const aor = `sip:${creds.user}@${DOMAIN}`;
    return Array.from({ length: count }, () => {
      const cseq = c.nextCseq();
      const authorization = digestAuthorization(challenge, creds, 'REGISTER', `sip:${DOMAIN}`, ++nc[k]!);
      const text = c.build('REGISTER', `sip:${DOMAIN}`, {
        from: aor,
        to: aor,
        callId,
        cseq,
        extra: [
          `Contact: <sip:${creds.user}@${c.host};transport=ws>;expires=600`,
          'Expires: 600',
          `Authorization: ${authorization}`,
        ],
      });
      return { text, cseq: `${cseq} REGISTER` };
    });
  };
  const run = async (total: number) => {
    const per = Math.ceil(total / o.connections);
    const work = clients.map((_, k) => prepare(k, per));
    const latencies: number[] = [];
    let errors = 0;
    const t0 = performance.now();
    await Promise.all(
      work.map(async (msgs, k) => {
        const { c, callId } = clients[k]!;
        let next = 0;
        const lane = async () => {
          while (next < msgs.length) {
            const m = msgs[next++]!;
            const start = performance.now();
            const r: SipReply | null = await c.request(m.text, callId, m.cseq, 5000);
            latencies.push(performance.now() - start);
            if (r?.status !== 200) errors++;
          }
        };
        await Promise.all(Array.from({ length: o.window }, lane));
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    return {
      n: latencies.length,
      seconds,
      perSecond: latencies.length / seconds,
      p50Ms: quantile(latencies, 0.5),
      p95Ms: quantile(latencies, 0.95),
      errors,
    };
  };
  try {
    await run(Math.max(o.connections * o.window, Math.floor(o.n / 10))); // warm-up
    return await run(o.n);
  } finally {
    for (const { c, creds } of clients) {
      await rawRegister(c, creds, 0).catch(() => undefined);
      await c.close();
    }
  }
}

export async function benchSipRegister(
  opts: { n?: number; connections?: number; window?: number } = {},
): Promise<SipRegisterFigures> {
  const n = opts.n ?? Number(process.env.VD_BENCH_SIP_N ?? 5000);
  const connections = opts.connections ?? Number(process.env.VD_BENCH_SIP_CONNECTIONS ?? 8);
  const window = opts.window ?? Number(process.env.VD_BENCH_SIP_WINDOW ?? 4);
  const secret = randomBytes(30).toString('base64url');

  const authority = await startAuthorityProcess(secret);
  let edge: RegisterFigures;
  try {
    edge = await registerLoad(`${authority.url.replace(/^http/, 'ws')}/sip`, secret, {
      n,
      connections,
      window,
      tag: 'edge',
    });
  } finally {
    await authority.stop();
  }

  let kamailio: RegisterFigures | null = null;
  let kamailioError: string | undefined;
  try {
    // The whole load comes from 127.0.0.1: raise pike's density so the bench is not banned as a flood.
    const k = await startKamailio({ secret, domain: DOMAIN, pikeDensity: 10_000_000, logLevel: -1 });
    try {
      kamailio = await registerLoad(k.wsUrl, secret, { n, connections, window, tag: 'kamailio' });
    } finally {
      await k.stop();
    }
  } catch (e) {
    kamailioError = (e as Error).message.split('\n')[0];
  }
  return {
    n,
    connections,
    window,
    edge,
    kamailio,
    ratio: kamailio ? kamailio.perSecond / edge.perSecond : null,
    ...(kamailioError ? { kamailioError } : {}),
  };
}

export function printSipRegister(f: SipRegisterFigures): void {
  const fmt = (x: number, d = 0) =>
    x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
  const line = (name: string, r: RegisterFigures) =>
    `  ${name.padEnd(15)} ${fmt(r.perSecond).padStart(7)} REGISTER/s (${r.n} in ${fmt(r.seconds, 2)} s; latency p50 ${fmt(r.p50Ms, 2)} ms, p95 ${fmt(r.p95Ms, 2)} ms; ${r.errors} not 200)`;
  console.log(
    `\nSIP REGISTER transactions: ${f.n} per server, ${f.connections} WebSocket connections x ${f.window} in flight, digest answers precomputed`,
  );
  console.log(line('embedded edge', f.edge));
  if (f.kamailio) {
    console.log(line('Kamailio 5.6', f.kamailio));
    console.log(`  ratio Kamailio / embedded edge: ${fmt(f.ratio!, 2)}x`);
  } else console.log(`  Kamailio: not measured (${f.kamailioError})`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  printSipRegister(await benchSipRegister());
}
