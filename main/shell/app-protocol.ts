import { readFile, realpath, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import type { CustomScheme } from 'electron';
import { APP_SCHEME, isAppUrl } from './app-origin.ts';
import type { ShellProtocol } from './electron-api.ts';

/**
 * app://desk/ serves renderer/dist. Registered as standard and secure (so it has a
 * real origin, 'self' in the CSP means it, and getUserMedia works), with fetch,
 * CORS (module scripts) and streaming (audio); never bypassCSP, no service workers.
 */
export const APP_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: APP_SCHEME,
  privileges: {
    standard: true,
    secure: true,
    supportFetchAPI: true,
    corsEnabled: true,
    stream: true,
    codeCache: true,
    bypassCSP: false,
    allowServiceWorkers: false,
  },
};

/** Must run before the app is ready. */
export function registerAppScheme(protocol: ShellProtocol): void {
  protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wav': 'audio/wav',
  '.mp3': 'audio/mpeg',
  '.woff2': 'font/woff2',
};

export type AppPathResolution = { kind: 'file'; path: string } | { kind: 'refused'; status: 400 | 403 | 404 };

const within = (root: string, p: string) => p === root || p.startsWith(root + sep);

/**
 * Map an app:// URL to a file under rootDir, or refuse it. Every path segment is
 * decoded and checked on its own, so "..", "%2e%2e", "..%2f", "..%5c", NUL and
 * drive letters never leave the directory; the result is checked again after
 * resolution.
 */
export function resolveAppPath(rootDir: string, rawUrl: string): AppPathResolution {
  if (!isAppUrl(rawUrl)) return { kind: 'refused', status: 404 };
  const root = resolve(rootDir);
  const segments: string[] = [];
  for (const encoded of new URL(rawUrl).pathname.split('/')) {
    if (encoded === '') continue;
    let s: string;
    try {
      s = decodeURIComponent(encoded);
    } catch {
      return { kind: 'refused', status: 400 };
    }
    if (s === '.' || s === '..' || /[/\\\0:]/.test(s)) return { kind: 'refused', status: 403 };
    segments.push(s);
  }
  const path = resolve(root, ...(segments.length ? segments : ['index.html']));
  if (!within(root, path)) return { kind: 'refused', status: 403 };
  return { kind: 'file', path };
}

export interface AppRequestHandlerOptions {
  rootDir: string;
  /** The CSP for the current settings (the SIP server may change). */
  csp: () => string;
}

/** The protocol.handle handler for app://. */
export function createAppRequestHandler(
  opts: AppRequestHandlerOptions,
): (request: Pick<Request, 'url' | 'method'>) => Promise<Response> {
  const plain = (status: number) =>
    new Response(null, { status, headers: { 'x-content-type-options': 'nosniff' } });
  return async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return plain(405);
    const r = resolveAppPath(opts.rootDir, request.url);
    if (r.kind === 'refused') return plain(r.status);
    let file = r.path;
    try {
      const realRoot = await realpath(resolve(opts.rootDir));
      let found = await stat(file).then(
        (s) => s.isFile(),
        () => false,
      );
      // Client-side routes (no file extension) get the app; missing assets get 404.
      if (!found && extname(file) === '') {
        file = resolve(opts.rootDir, 'index.html');
        found = await stat(file).then(
          (s) => s.isFile(),
          () => false,
        );
      }
      if (!found) return plain(404);
      // A symlink inside the directory must not lead out of it.
      if (!within(realRoot, await realpath(file))) return plain(403);
      const body = request.method === 'HEAD' ? null : await readFile(file);
      return new Response(body, {
        status: 200,
        headers: {
          'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-security-policy': opts.csp(),
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cross-origin-opener-policy': 'same-origin',
          'cache-control': 'no-cache',
        },
      });
    } catch {
      return plain(404);
    }
  };
}
