import type { ShellFrame } from './electron-api.ts';

/**
 * The console's own origin: a privileged custom scheme, never file:// (which would
 * make every local file same-origin with the UI). Node's URL gives non-special
 * schemes the origin "null", so checks compare scheme and host themselves.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'desk';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** True only for app://desk URLs: no credentials, no port, exact host. */
export function isAppUrl(raw: string | undefined | null): boolean {
  if (typeof raw !== 'string' || raw.length > 4096) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    url.protocol === `${APP_SCHEME}:` &&
    url.host === APP_HOST &&
    url.username === '' &&
    url.password === '' &&
    url.port === ''
  );
}

/** An origin string as Chromium reports it ("app://desk", sometimes with a trailing slash). */
export const isAppOrigin = (origin: string | undefined | null): boolean =>
  typeof origin === 'string' && (origin === APP_ORIGIN || origin === `${APP_ORIGIN}/`);

/**
 * IPC is accepted only from our own top-level frame (the VS Code validatedIpcMain
 * rule): a sub-frame, even of our origin, or a frame that already went away, is refused.
 */
export const isOwnTopFrame = (frame: ShellFrame | null | undefined): boolean =>
  !!frame && frame.parent === null && isAppUrl(frame.url);
