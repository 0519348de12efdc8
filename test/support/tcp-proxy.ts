/**
 * A loopback TCP proxy that can cut the link: every connection through it is torn
 * down and new ones are refused for a while, as in a network blip between the
 * console and its SIP server (the WebSocket dies without a close handshake).
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private downUntil = 0;
  /** Connections accepted and cut, for the test's figures. */
  readonly counts = { accepted: 0, refused: 0, cut: 0 };

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | null = null;
    const server = createServer((client) => {
      if (!proxy || Date.now() < proxy.downUntil) {
        if (proxy) proxy.counts.refused++;
        client.destroy();
        return;
      }
      proxy.counts.accepted++;
      const upstream = createConnection(target);
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      const drop = () => {
        proxy?.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('proxy did not bind');
    proxy = new TcpProxy(server, address.port);
    return proxy;
  }

  /** Reset every live connection now and refuse new ones for `ms` (default: until restore()). */
  cut(ms = Infinity): void {
    this.downUntil = Date.now() + ms;
    for (const [a, b] of this.pairs) {
      this.counts.cut++;
      a.resetAndDestroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  /** Accept connections again (the end of a cut). */
  restore(): void {
    this.downUntil = 0;
  }

  async close(): Promise<void> {
    this.cut(0);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
