import { allowListedOrigin } from '../core/console-csp.ts';
import { isAppUrl } from './app-origin.ts';
import type { ShellSession } from './electron-api.ts';

/**
 * Belt and braces: the app:// handler already sends the policy with every
 * document; this adds it to any top-level document response the session sees, so a
 * page that is not ours (it never should be: navigation is denied) still gets it. A
 * frame's document is the side panel's CRM record: from an allow-listed CRM origin it
 * keeps its own headers (its own CSP; ours would forbid it being framed); from any
 * other origin the response is cancelled (the CSP's frame-src refuses it first).
 */
export function installCspHeaders(
  session: ShellSession,
  csp: () => string,
  frameOrigins: () => readonly string[] = () => [],
): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    if (details.resourceType === 'subFrame') {
      callback(allowListedOrigin(details.url, frameOrigins()) ? {} : { cancel: true });
      return;
    }
    if (details.resourceType !== 'mainFrame' && !isAppUrl(details.url)) {
      callback({});
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(details.responseHeaders ?? {}).filter(
        ([k]) => k.toLowerCase() !== 'content-security-policy',
      ),
    );
    callback({ responseHeaders: { ...headers, 'Content-Security-Policy': [csp()] } });
  });
}
