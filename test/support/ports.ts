import { once } from 'node:events';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';

/**
 * Ports for the servers tests start (Kamailio, coturn, rtpengine, baresip, SIPp, the
 * browser harnesses), each free right now: the kernel hands one out (bind 0, read it,
 * close). A server that must come back on the same port after a restart takes
 * `freePort()` of process.ts instead (drawn below the ephemeral range).
 */

/** A TCP port free on `host` right now. */
export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  const srv = createServer();
  srv.listen(0, host);
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** A UDP port free on `host` right now. */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A port free on `host` for TCP and for UDP alike right now, for a server that listens on
 * both (SIP: Kamailio's trunk side, SIPp, baresip; TURN). A port free for TCP may be
 * taken for UDP (another test's RTP, SIPp or baresip), and the server then exits on its
 * bind: the UDP bind is tried on the TCP port drawn, and another is drawn until both are free.
 */
export async function freeTcpAndUdpPort(host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const srv = createServer();
    srv.listen(0, host);
    await once(srv, 'listening');
    const port = (srv.address() as { port: number }).port;
    const udp = createSocket('udp4');
    const bound = await new Promise<boolean>((ok) => {
      udp.once('error', () => ok(false));
      udp.bind(port, host, () => ok(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    await new Promise<void>((r) => srv.close(() => r()));
    if (bound) return port;
    if (attempt >= 50) throw new Error(`no port free for both TCP and UDP on ${host} after 50 draws`);
  }
}
