import type { ShellApp } from './electron-api.ts';

/** Click-to-dial: the OS hands tel: and sip: links to the console. */
export const DIAL_SCHEMES = ['tel', 'sip'] as const;

/**
 * A dial link as the OS passed it (argv on Windows/Linux, open-url on macOS).
 * Only the characters of telephone numbers and SIP URIs pass, and the result fits
 * the 'dial' event (max 512); anything else is ignored, never interpreted.
 */
const DIAL_URI = /^(?:tel|sip):[A-Za-z0-9+\-.@;=_*#%:,/!~()?&[\]]{1,500}$/i;

export function parseDialUri(raw: unknown): string | null {
  if (typeof raw !== 'string' || !DIAL_URI.test(raw)) return null;
  return raw;
}

/** The dial links in a command line (the second instance's argv, or our own at first start). */
export function dialUrisFromArgv(argv: readonly string[]): string[] {
  return argv.map(parseDialUri).filter((u): u is string => u !== null);
}

/**
 * Become the OS handler for tel: and sip:. Only a packaged app registers: a
 * development run would otherwise register the bare Electron binary.
 */
export function registerDialProtocols(
  app: Pick<ShellApp, 'isPackaged' | 'setAsDefaultProtocolClient'>,
): string[] {
  if (!app.isPackaged) return [];
  // Reviewed: links arrive as data only, through parseDialUri, and become a 'dial' event.
  return DIAL_SCHEMES.filter((scheme) => app.setAsDefaultProtocolClient(scheme)); // eng-disable PROTOCOL_HANDLER_JS_CHECK
}

/**
 * Dial links can arrive before the page is listening (the link that launched the
 * app, or a second instance during start-up): they wait here until the window has
 * loaded, then go out as 'dial' events in order.
 */
export class DialQueue {
  private pending: string[] = [];
  private deliver: ((uri: string) => void) | null = null;

  push(raw: unknown): void {
    const uri = parseDialUri(raw);
    if (uri === null) return;
    if (this.deliver) this.deliver(uri);
    else if (this.pending.length < 16) this.pending.push(uri);
  }

  /** The page is ready: flush what waited and deliver the rest directly. */
  open(deliver: (uri: string) => void): void {
    this.deliver = deliver;
    const waiting = this.pending;
    this.pending = [];
    for (const uri of waiting) deliver(uri);
  }
}
