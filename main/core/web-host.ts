import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { BRIDGE_WS_PATH, BridgeClientFrame, jsonDepthExceeds, LIMITS } from '../../protocol/src/index.ts';
import { BridgeError, type DeskCore } from './desk-core.ts';
import { consoleCsp } from './console-csp.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.wav': 'audio/wav',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/**
 * The SIP server the softphone connects to: IT's or the agent's SIP URL when set,
 * otherwise the authority's embedded edge (same host, ws/wss, /sip).
 */
export function effectiveSipUrl(settings: { sipUrl: string | null; authorityUrl: string }): string {
  if (settings.sipUrl) return settings.sipUrl;
  const u = new URL(settings.authorityUrl);
  return `${u.protocol === 'https:' ? 'wss:' : 'ws:'}//${u.host}/sip`;
}

export interface WebHost {
  url: string;
  /** The URL to open: the per-launch token travels in the fragment, never to a server log. */
  launchUrl: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/** The WebSocket close code that tells a page the launch link belongs to another page. */
export const LINK_USED_CLOSE_CODE = 4403;

const sameToken = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Browser mode: the renderer served on 127.0.0.1 from the same main/core, the bridge
 * over a loopback WebSocket that only a page holding the per-launch token (and
 * coming from this origin) may open.
 */
export async function startWebHost(opts: {
  core: DeskCore;
  rendererDir: string;
  port?: number;
  /** The SIP WebSocket the softphone connects to (the CSP's connect-src). */
  sipUrl?: string | null;
  /** The CRM origins the side panel may frame (the CSP's frame-src; none: no frames). */
  frameOrigins?: readonly string[];
  token?: string;
}): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const csp = consoleCsp(opts.sipUrl ?? null, opts.frameOrigins ?? []);
  let origin = '';
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rel = normalize(path === '/' ? '/index.html' : path);
    let file = join(opts.rendererDir, rel);
    if (!file.startsWith(opts.rendererDir + sep) && file !== opts.rendererDir) {
      res.writeHead(400).end();
      return;
    }
    if (!existsSync(file) || statSync(file).isDirectory()) file = join(opts.rendererDir, 'index.html'); // client-side routes
    if (!existsSync(file)) {
      res
        .writeHead(503, { 'content-type': 'text/plain' })
        .end('the console is not built: run npm run build:renderer');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-security-policy': csp,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-cache',
    });
    createReadStream(file).pipe(res);
  });
  const wss = new WebSocketServer({
    server,
    path: BRIDGE_WS_PATH,
    maxPayload: LIMITS.wsFrameBytes,
    handleProtocols: (protocols) => (protocols.has('vd-bridge') ? 'vd-bridge' : false),
    verifyClient: ({ req }: { req: IncomingMessage }) => {
      if (req.headers.origin !== origin) return false;
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((s) => s.trim());
      const t = offered.find((p) => p.startsWith('token.'));
      return !!t && sameToken(t.slice(6), token);
    },
  });
  /**
   * The launch link is single-use: the first page that opens the bridge with it binds it
   * to its page secret (a random value the page keeps in its sessionStorage, so a reload
   * of that tab still works). Any other page offering the same link is refused.
   */
  let boundPage: string | null = null;
  const pageSecretOf = (req: IncomingMessage): string | null => {
    const p = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .find((s) => s.startsWith('page.'));
    const secret = p?.slice(5) ?? '';
    return /^[A-Za-z0-9_-]{16,128}$/.test(secret) ? secret : null;
  };
  const sockets = new Set<WebSocket>();
  const onEvent = (event: string, payload: unknown) => {
    const text = JSON.stringify({ event, payload });
    for (const s of sockets) if (s.readyState === s.OPEN) s.send(text);
  };
  opts.core.on('event', onEvent);
  wss.on('connection', (ws, req) => {
    const page = pageSecretOf(req);
    if (!page) {
      ws.close(LINK_USED_CLOSE_CODE, 'this page did not send its page secret: reload it');
      return;
    }
    if (boundPage === null) boundPage = page;
    else if (!sameToken(page, boundPage)) {
      ws.close(LINK_USED_CLOSE_CODE, 'this console link was already used by another page');
      return;
    }
    sockets.add(ws);
    ws.on('close', () => sockets.delete(ws));
    ws.on('message', (data) => {
      const text = String(data);
      let frame;
      try {
        if (jsonDepthExceeds(text, LIMITS.jsonDepth)) throw new Error('too deep');
        frame = BridgeClientFrame.parse(JSON.parse(text));
      } catch {
        ws.close(1008, 'invalid frame');
        return;
      }
      opts.core.invoke(frame.channel, frame.args).then(
        (result) => ws.send(JSON.stringify({ id: frame.id, ok: true, result })),
        (e: unknown) => {
          const err =
            e instanceof BridgeError
              ? { code: e.code, message: e.message }
              : { code: 'internal', message: 'internal error' };
          ws.send(JSON.stringify({ id: frame.id, ok: false, error: err }));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    launchUrl: `${origin}/#token=${token}`,
    port,
    server,
    async close() {
      opts.core.off('event', onEvent);
      for (const s of sockets) s.terminate();
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
