/**
 * A loopback webhook receiver for the CRM tests: checks the signature as
 * docs/crm-integration.md shows it (401 when wrong), keeps what it accepted in order, and
 * answers 500 whenever `fail(eventId, attempt)` says so (to exercise retries). `onAttempt`,
 * when set, hears of every signed request: the authority's attempt number (X-VD-Attempt)
 * and its timestamp (X-VD-Timestamp, seconds).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { webhookSignature } from '../../authority/src/crm/webhooks.ts';

export interface Received {
  eventId: string;
  type: string;
  body: any;
  attempt: number;
}

export function webhookReceiver(secret: string, fail: (eventId: string, n: number) => boolean = () => false) {
  const got: Received[] = [];
  const tries = new Map<string, number>();
  const hooks: { onAttempt?: (a: { attempt: number; timestamp: number }) => void } = {};
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = String(req.headers['x-vd-timestamp']);
      const sig = String(req.headers['x-vd-signature']);
      if (sig !== `v1=${webhookSignature(secret, ts, raw)}`) {
        res.writeHead(401).end();
        return;
      }
      hooks.onAttempt?.({ attempt: Number(req.headers['x-vd-attempt']), timestamp: Number(ts) });
      const eventId = String(req.headers['x-vd-event-id']);
      const n = (tries.get(eventId) ?? 0) + 1;
      tries.set(eventId, n);
      if (fail(eventId, n)) {
        res.writeHead(500).end('not now');
        return;
      }
      got.push({ eventId, type: String(req.headers['x-vd-event-type']), body: JSON.parse(raw), attempt: n });
      res.writeHead(204).end();
    });
  });
  return {
    got,
    tries,
    set onAttempt(f: ((a: { attempt: number; timestamp: number }) => void) | undefined) {
      hooks.onAttempt = f;
    },
    listen: () =>
      new Promise<string>((resolve) =>
        server.listen(0, '127.0.0.1', () => {
          const a = server.address();
          resolve(`http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hooks`);
        }),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
