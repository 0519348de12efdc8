import { allowListedOrigin } from '../core/console-csp.ts';

/**
 * shell.openExternal only for https links to allow-listed hosts: the OS hands any
 * other scheme (file:, smb:, ms-msdt:, custom handlers) to whatever is registered
 * for it, which is how a link in a page becomes code execution.
 */
export type ExternalOpener = (url: string) => Promise<boolean>;

/** Hosts the console may open in the user's browser (exact names, no wildcards). */
export const DEFAULT_EXTERNAL_HOSTS: readonly string[] = ['verifieddesk.io', 'docs.verifieddesk.io'];

export function isAllowedExternalUrl(raw: string, allowedHosts: readonly string[]): boolean {
  if (typeof raw !== 'string' || raw.length > 2048) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    url.username === '' &&
    url.password === '' &&
    url.port === '' &&
    allowedHosts.includes(url.hostname)
  );
}

export function createExternalOpener(
  shell: { openExternal(url: string): Promise<void> },
  allowedHosts: readonly string[] = DEFAULT_EXTERNAL_HOSTS,
): ExternalOpener {
  const hosts = allowedHosts.map((h) => h.toLowerCase());
  return async (raw) => {
    if (!isAllowedExternalUrl(raw, hosts)) return false;
    // The parsed, re-serialised URL is what leaves the app, not the raw string.
    await shell.openExternal(new URL(raw).href); // eng-disable OPEN_EXTERNAL_JS_CHECK only allow-listed https hosts reach this line (isAllowedExternalUrl)
    return true;
  };
}

/**
 * An identity provider's page (single sign-on, its logout): https to any host the authority
 * named (the provider is IT's choice, not ours to list), or http on the loopback address (a
 * provider on this machine: tests). Never another scheme, never credentials in the URL.
 */
export function isSignInUrl(raw: string): boolean {
  if (typeof raw !== 'string' || raw.length > 8192) return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && url.hostname === '127.0.0.1');
}

export function createSignInOpener(shell: { openExternal(url: string): Promise<void> }): ExternalOpener {
  return async (raw) => {
    if (!isSignInUrl(raw)) return false;
    await shell.openExternal(new URL(raw).href); // eng-disable OPEN_EXTERNAL_JS_CHECK only https or loopback http sign-in pages reach this line (isSignInUrl)
    return true;
  };
}

/**
 * The CRM's pages in the user's browser: a URL on one of the CRM origins IT allow-listed
 * (managed screenPopOrigins: https, or http on the loopback address), never credentials in
 * the URL. A screen pop set to open in the browser, and a window the side panel's CRM
 * record opens, go this way.
 */
export function createCrmOpener(
  shell: { openExternal(url: string): Promise<void> },
  origins: () => readonly string[],
): ExternalOpener {
  return async (raw) => {
    if (typeof raw !== 'string' || raw.length > 2048 || !allowListedOrigin(raw, origins())) return false;
    await shell.openExternal(new URL(raw).href); // eng-disable OPEN_EXTERNAL_JS_CHECK only URLs on the allow-listed CRM origins reach this line (allowListedOrigin)
    return true;
  };
}

/** The first opener that opens the URL; false when none does. */
export function firstOpener(...openers: ExternalOpener[]): ExternalOpener {
  return async (raw) => {
    for (const open of openers) if (await open(raw)) return true;
    return false;
  };
}
