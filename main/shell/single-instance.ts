import type { ShellApp } from './electron-api.ts';

/**
 * One console per user session: a second start (often the OS handing over a tel:
 * link) passes its command line to the first instance and quits.
 * Returns false when this process is the second one and is quitting.
 */
export function claimSingleInstance(
  app: Pick<ShellApp, 'requestSingleInstanceLock' | 'quit' | 'on'>,
  onSecondInstance: (argv: string[]) => void,
): boolean {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return false;
  }
  app.on('second-instance', (_event, argv) => onSecondInstance(Array.isArray(argv) ? argv : []));
  return true;
}
