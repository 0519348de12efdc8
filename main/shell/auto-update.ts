import type { ShellApp, ShellUpdater } from './electron-api.ts';

export type AutoUpdateStatus = 'started' | 'skipped-not-packaged' | 'skipped-bad-feed';

export interface AutoUpdateOptions {
  /**
   * The update feed (electron-builder "generic" provider). Without it the feed
   * baked in at packaging (app-update.yml, from electron-builder.yml's publish
   * url) is used.
   */
  feedUrl?: string;
  /** How often to look again while running. */
  intervalMs?: number;
  log?: (message: string) => void;
}

function isHttpsUrl(raw: string): boolean {
  try {
    return new URL(raw).protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * electron-updater from the configured feed: a no-op in development (not
 * packaged), https feeds only. Update files are verified by electron-updater
 * (sha512 from the feed, and the code signature on Windows and macOS).
 */
export function startAutoUpdate(
  app: Pick<ShellApp, 'isPackaged'>,
  updater: ShellUpdater,
  opts: AutoUpdateOptions = {},
): { status: AutoUpdateStatus; stop(): void } {
  const log = opts.log ?? (() => undefined);
  if (!app.isPackaged) return { status: 'skipped-not-packaged', stop: () => undefined };
  if (opts.feedUrl !== undefined) {
    if (!isHttpsUrl(opts.feedUrl)) {
      log(`auto-update disabled: the feed must be an https URL (${opts.feedUrl.slice(0, 200)})`);
      return { status: 'skipped-bad-feed', stop: () => undefined };
    }
    updater.setFeedURL({ provider: 'generic', url: opts.feedUrl });
  }
  updater.autoDownload = true;
  updater.on('error', (e) => log(`auto-update: ${e.message}`));
  updater.on('update-downloaded', (info) => log(`auto-update: ${info.version} downloaded; installs on quit`));
  const check = () =>
    void updater.checkForUpdatesAndNotify().catch((e: Error) => log(`auto-update: ${e.message}`));
  check();
  const timer = setInterval(check, opts.intervalMs ?? 4 * 60 * 60 * 1000);
  timer.unref?.();
  return { status: 'started', stop: () => clearInterval(timer) };
}
