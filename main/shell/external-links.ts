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
