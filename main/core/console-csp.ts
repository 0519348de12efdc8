import { webAppCsp } from '../../node-common/csp.ts';

/**
 * The console's Content-Security-Policy, one copy for browser mode (web-host.ts) and the
 * Electron shell (app:// handler and session headers): the web app's policy, network to
 * the SIP WebSocket the softphone registers with, and frames only from the CRM origins IT
 * allow-listed for the side panel (managed `screenPopOrigins`); none listed: no frames at all.
 */
export function consoleCsp(sipUrl: string | null, frameOrigins: readonly string[] = []): string {
  const connect: string[] = [];
  if (sipUrl) {
    try {
      const u = new URL(sipUrl);
      if (u.protocol === 'wss:' || u.protocol === 'ws:') connect.push(`${u.protocol}//${u.host}`);
    } catch {
      // an unparsable SIP URL simply gets no connect-src entry
    }
  }
  // Re-serialised origins only: nothing from the list can add a source or a directive.
  const frames = frameOrigins.map(frameableOrigin).filter((o): o is string => o !== null);
  return `${webAppCsp(connect)}; frame-src ${frames.length ? [...new Set(frames)].join(' ') : "'none'"}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A CRM origin the side panel may frame: https (or http on the loopback address: a CRM on
 * this machine, tests), a bare origin (no path, query, fragment, credentials or wildcard). Returns the
 * normalised origin (`https://crm.example`), or null.
 */
export function frameableOrigin(raw: string): string | null {
  if (typeof raw !== 'string' || raw.length > 2048) return null;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return null;
  }
  if (u.username !== '' || u.password !== '' || u.search !== '' || u.hash !== '') return null;
  if (u.pathname !== '/') return null;
  // A host name or address, nothing CSP would read as a wildcard (`https://*.example` parses as a URL).
  if (!/^(\[[0-9a-f:.]+\]|[a-z0-9-]+(\.[a-z0-9-]+)*)$/.test(u.hostname)) return null;
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && LOOPBACK.has(u.hostname))) return null;
  return u.origin;
}

/** The origin of `url` when it is one of `origins` (normalised by frameableOrigin), else null. */
export function allowListedOrigin(url: string, origins: readonly string[]): string | null {
  let origin: string;
  try {
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') return null;
    origin = u.origin;
  } catch {
    return null;
  }
  return origin !== 'null' && origins.includes(origin) ? origin : null;
}
