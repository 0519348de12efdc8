import type { ShellElectron } from './electron-api.ts';

/**
 * The system-wide accept key: an agent working in another application can take
 * the offer without finding the window. The page decides what "accept" means (it
 * gets a 'shortcut.accept' event and accepts the offer on screen, if any).
 */
export const ACCEPT_ACCELERATOR = 'CommandOrControl+Alt+A';

export function registerAcceptShortcut(
  globalShortcut: ShellElectron['globalShortcut'],
  onAccept: () => void,
  accelerator = ACCEPT_ACCELERATOR,
): boolean {
  // register() returns false when another application already owns the key.
  return globalShortcut.register(accelerator, onAccept);
}
