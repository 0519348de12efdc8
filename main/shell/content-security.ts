import { webAppCsp } from '../core/web-host.ts';
import { isAppUrl } from './app-origin.ts';
import type { ShellSession } from './electron-api.ts';

/**
 * The console's CSP in Electron: browser mode's policy (only our own scripts and
 * styles, images from data:/blob:, no objects, no base or form targets, not
 * frameable), no frames at all, and network only to the SIP WebSocket the
 * softphone registers with; everything else goes through the bridge.
 */
export function consoleCsp(sipUrl: string | null): string {
  const connect: string[] = [];
  if (sipUrl) {
    try {
      const u = new URL(sipUrl);
      if (u.protocol === 'wss:' || u.protocol === 'ws:') connect.push(`${u.protocol}//${u.host}`);
    } catch {
      // an unparsable SIP URL simply gets no connect-src entry
    }
  }
  return `${webAppCsp(connect)}; frame-src 'none'`;
}

/**
 * Belt and braces: the app:// handler already sends the policy with every
 * document; this adds it to any document response the session sees, so a page
 * that is not ours (it never should be: navigation is denied) still gets it.
 */
export function installCspHeaders(session: ShellSession, csp: () => string): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    const isDocument = details.resourceType === 'mainFrame' || details.resourceType === 'subFrame';
    if (!isDocument && !isAppUrl(details.url)) {
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
