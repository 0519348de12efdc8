/**
 * `npm run demo:cluster`: the demo on three authority nodes, as a contact center that
 * outgrew one machine runs it (deploy/README.md), all on this machine's loopback:
 * a throwaway PostgreSQL cluster (deleted at exit), three authority nodes with the demo
 * data, HAProxy in front of them (deploy/haproxy/haproxy.cfg as it is), Kamailio as the
 * SIP server of every node (deploy/kamailio/kamailio.cfg), and three agent consoles in
 * browser mode. Consoles and phones only know HAProxy's address; kill any node
 * (`kill -9 PID`, printed below) while you use it: the consoles and phones reconnect to
 * the others, and this script starts the killed node again after a few seconds, as a
 * service manager would. Needs the packages of scripts/install-test-deps.sh
 * (postgresql, haproxy, kamailio). Ctrl+C stops everything.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEMO_STAFF } from '../authority/src/seed/demo.ts';
import { startBrowserMode } from '../main/core/browser-mode.ts';
import { AuthorityCluster } from '../test/support/cluster.ts';
import { startKamailio } from '../test/support/kamailio.ts';
import { freePort } from '../test/support/process.ts';

const dir = mkdtempSync(join(tmpdir(), 'vd-cluster-demo-'));
const secret = randomBytes(30).toString('base64url');
const domain = 'verified-desk.local';
const RESTART_AFTER_MS = 3000;

const kamailio = await startKamailio({ secret, domain });
const lbPort = Number(process.env.VD_LB_PORT ?? (await freePort()));
const origin = `http://localhost:${lbPort}`;
const cluster = new AuthorityCluster({
  dir,
  nodes: 3,
  lbPort,
  env: {
    VD_SIP_SECRET: secret,
    VD_SIP_DOMAIN: domain,
    VD_SIP_WS_URL: kamailio.wsUrl,
    VD_ORIGINS: origin,
    VD_RP_ID: 'localhost',
    VD_WRAP_UP_REQUIRED: 'true',
    VD_DRAIN_SECONDS: '2',
    VD_LOG_LEVEL: 'warn',
  },
});
console.log('Starting PostgreSQL, three authority nodes and HAProxy (about 30 s)...');
await cluster.start();

const consoles: Awaited<ReturnType<typeof startBrowserMode>>[] = [];
const lines: string[] = [];
for (const [i, username] of ['agent1', 'agent2', 'supervisor'].entries()) {
  const who = DEMO_STAFF.find((s) => s.username === username)!;
  const mode = await startBrowserMode({
    authorityUrl: origin,
    sipUrl: kamailio.wsUrl,
    dataDir: join(dir, `console-${i + 1}`),
  });
  consoles.push(mode);
  lines.push(
    `  Console ${i + 1} (${who.username} / ${who.password}, ${who.displayName}):\n      ${mode.launchUrl}`,
  );
}

let stopping = false;
const pids = () =>
  cluster.nodes.map((n, i) => `node${i + 1} ${n.url} pid ${n.pid ?? '(restarting)'}`).join('\n  ');
console.log(
  [
    '',
    'Verified Desk on three nodes',
    `  Through HAProxy (what consoles and phones use): ${origin}`,
    `  Customer app: ${origin}/app/  (demo codes: ALICE-DEMO-2026, BOB-DEMO-2026, CHEN-DEMO-2026)`,
    `  SIP (Kamailio): ${kamailio.wsUrl}`,
    ...lines,
    '  Nodes (kill one with kill -9 PID; it is started again after a few seconds):',
    `  ${pids()}`,
    `  Logs: ${dir}`,
    'Ctrl+C stops everything.',
    '',
  ].join('\n'),
);

// A killed node comes back, as systemd's Restart=always would bring it.
const watcher = (async () => {
  while (!stopping) {
    await sleep(1000);
    for (const [i, node] of cluster.nodes.entries()) {
      if (stopping || node.running) continue;
      console.log(`node${i + 1} is down: starting it again in ${RESTART_AFTER_MS / 1000} s`);
      await sleep(RESTART_AFTER_MS);
      if (stopping) break;
      await node.start().then(
        () => console.log(`node${i + 1} is back (pid ${node.pid})`),
        (e: unknown) => console.error(`node${i + 1} did not start: ${(e as Error).message}`),
      );
    }
  }
})();

const stop = async () => {
  if (stopping) return;
  stopping = true;
  await watcher;
  for (const c of consoles) await c.close();
  await cluster.stop();
  await kamailio.stop();
  process.exit(0);
};
// The throwaway database's own handlers would exit at once, leaving the nodes running:
// this stop goes first, and the database is removed at exit (test/support/postgres.ts).
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(sig);
  process.on(sig, () => void stop());
}
