import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Where the identity provider sends the system browser back, on the one-shot listener (and in browser mode). */
export const SSO_CALLBACK_PATH = '/sso-callback';

export interface LoopbackRedirect {
  /** http://127.0.0.1:<port>/sso-callback: the redirect URI of this one sign-in. */
  redirectUri: string;
  /** The whole URL the browser came back with (code, state, iss), once; rejects on timeout or close. */
  callback: Promise<string>;
  close(): void;
}

const DONE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Verified Desk</title></head>
<body style="font-family:system-ui,sans-serif;margin:3rem"><h1>You are signed in</h1>
<p>Return to Verified Desk. You can close this tab.</p></body></html>`;

/**
 * A one-shot HTTP listener on 127.0.0.1 on a random port for a native app's sign-in
 * (RFC 8252 section 7.3): the first GET of /sso-callback carrying a state or an error
 * settles `callback`, answers a page that says to return to the app, and closes the
 * listener. Anything else is 404. Gives up after `timeoutMs`.
 */
export async function listenForRedirect(timeoutMs = 5 * 60_000): Promise<LoopbackRedirect> {
  let settle!: { resolve: (url: string) => void; reject: (e: Error) => void };
  const callback = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  // Nobody may be waiting yet when it fails: no unhandled rejection.
  callback.catch(() => undefined);
  let done = false;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const isCallback =
      !done &&
      req.method === 'GET' &&
      url.pathname === SSO_CALLBACK_PATH &&
      (url.searchParams.has('state') || url.searchParams.has('error'));
    if (!isCallback) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    done = true;
    res
      .writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'",
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
      })
      .end(DONE_PAGE);
    settle.resolve(`${redirectUri}${url.search}`);
    close();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const redirectUri = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SSO_CALLBACK_PATH}`;
  const timer = setTimeout(() => {
    settle.reject(new Error('the sign-in in the browser was not finished in time'));
    close();
  }, timeoutMs);
  function close(): void {
    clearTimeout(timer);
    done = true;
    settle.reject(new Error('the sign-in was cancelled'));
    server.close();
    server.closeIdleConnections();
  }
  return { redirectUri, callback, close };
}
