/**
 * Calls from the phone network (issue 14): how long a caller's INVITE takes to become an
 * offer an agent sees, through Kamailio's trunk gate and the authority. One authority
 * (SQLite, in process) and one Kamailio (trunk + AUTHORITY_URL, no media) on loopback, an
 * available agent; VD_BENCH_PHONE_IN_N calls (default 40) one after another, each from a
 * carrier socket (plain SIP over UDP), then cancelled (the request abandoned, the offer
 * withdrawn) before the next:
 *
 * - INVITE -> 180 Ringing (Kamailio asked the authority, the request is queued);
 * - INVITE -> the offer seen by the agent (GET /v1/agent/me polled every 5 ms, as in tests);
 *
 * against the same run's baseline: the SIP server's report posted straight to the authority
 * (POST /v1/sip/trunk/calls, what Kamailio's http_client does) -> the offer seen the same way.
 * The difference is Kamailio's share. p50/p95, printed, never asserted.
 *
 *   npx tsx bench/phone-in.ts      (or `npm run bench -- phone-in`; needs kamailio)
 */
import { pathToFileURL } from 'node:url';
import { randomBytes } from 'node:crypto';
import { startTestAuthority } from '../test/support/authority.ts';
import { CarrierCall } from '../test/support/carrier.ts';
import { api, bearer, staffLogin } from '../test/support/http.ts';
import { startKamailio } from '../test/support/kamailio.ts';
import { freeTcpPort } from '../test/support/ports.ts';
import { until } from '../test/support/wait.ts';
import { fmt, printTable } from './console-support.ts';
import { answerNumber, registerPhone } from '../test/support/phone-in.ts';

const N = Math.max(1, Number(process.env.VD_BENCH_PHONE_IN_N ?? 40));
const SECRET = randomBytes(30).toString('base64url');
const DIALLED = '+442079460000';
const CALLER = '+447911123456';

export interface PhoneInFigures {
  n: number;
  /** INVITE -> 180 Ringing, ms */
  ringing: number[];
  /** INVITE -> offer seen by the agent, ms */
  offered: number[];
  /** baseline: the report posted straight to the authority -> offer seen, ms */
  direct: number[];
}

export const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};

export async function benchPhoneIn(): Promise<PhoneInFigures> {
  const a = await startTestAuthority({
    sipServerSecret: SECRET,
    accessTokenSeconds: 3600,
    agentTimeoutSeconds: 3600,
  });
  const trunkPort = await freeTcpPort();
  const k = await startKamailio({
    secret: randomBytes(24).toString('base64url'),
    defines: [
      `TRUNK_PORT=${trunkPort}`,
      'TRUNK_ALLOW=127.0.0.1/32',
      `AUTHORITY_URL=${a.url}`,
      `SIP_SERVER_SECRET=${SECRET}`,
    ],
  });
  const f: PhoneInFigures = { n: N, ringing: [], offered: [], direct: [] };
  try {
    const admin = (await staffLogin(a.url, 'admin', 'demo-admin-1')).token;
    const agent = await staffLogin(a.url, 'agent2', 'demo-agent-2');
    await answerNumber(a.url, admin, DIALLED);
    await registerPhone(a.url, admin, 'c_alice_martin_01', CALLER);
    await api(a.url, 'setPresence', { headers: bearer(agent.token), json: { state: 'available' } });
    const offerOf = async () => (await api(a.url, 'agentMe', { headers: bearer(agent.token) })).body.offer;
    const noOffer = () =>
      until('the offer withdrawn', async () => (await offerOf()) === null, { timeoutMs: 10_000 });
    const sip = { authorization: `Bearer ${SECRET}` };

    for (let i = 0; i < N; i++) {
      // Through Kamailio.
      const c = new CarrierCall(trunkPort, CALLER, DIALLED);
      const t0 = performance.now();
      await c.invite();
      let ringAt = 0;
      const ring = until('180', () => c.statuses().includes('180 Ringing') && (ringAt = performance.now()), {
        timeoutMs: 10_000,
      });
      await until('the offer', offerOf, { timeoutMs: 10_000 });
      f.offered.push(performance.now() - t0);
      await ring;
      f.ringing.push(ringAt - t0);
      c.cancel();
      await until('487', () => c.final()?.startsWith('SIP/2.0 487'), { timeoutMs: 10_000 });
      c.ack();
      c.close();
      await noOffer();

      // Baseline: the same report straight to the authority.
      const callId = `bench-direct-${i}-${process.pid}@127.0.0.1`;
      const t1 = performance.now();
      await api(a.url, 'trunkCallArrived', {
        headers: sip,
        json: { callId, caller: CALLER, dialled: DIALLED },
      });
      await until('the offer', offerOf, { timeoutMs: 10_000 });
      f.direct.push(performance.now() - t1);
      await api(a.url, 'trunkCallEnded', { headers: sip, params: { callId }, json: { reason: 'cancel' } });
      await noOffer();
    }
  } finally {
    await k.stop();
    await a.dispose();
  }
  return f;
}

export function printPhoneIn(f: PhoneInFigures): void {
  const row = (label: string, xs: number[]) => [label, fmt(pct(xs, 50), 1), fmt(pct(xs, 95), 1)];
  printTable(
    ['phone-in, ' + fmt(f.n) + ' calls one at a time', 'p50 ms', 'p95 ms'],
    [
      row('trunk INVITE -> 180 Ringing (through Kamailio)', f.ringing),
      row('trunk INVITE -> offer seen by the agent', f.offered),
      row('baseline: report posted to the authority -> offer seen', f.direct),
    ],
  );
  console.log(
    `Kamailio's share at p50: ${fmt(pct(f.offered, 50) - pct(f.direct, 50), 1)} ms (${fmt(pct(f.offered, 50) / pct(f.direct, 50), 2)}x the direct report)`,
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  printPhoneIn(await benchPhoneIn());
}
