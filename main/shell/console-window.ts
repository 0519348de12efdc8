import type { ShellElectron, ShellWindow } from './electron-api.ts';

export interface ConsoleWindowOptions {
  /** The built preload (dist/app/preload.js). */
  preloadPath: string;
}

/**
 * The console window. It is also the softphone window: SIP.js and WebRTC run in
 * this page, so background throttling is off (a minimised console must still
 * refresh its registration and keep call timers on time).
 *
 * Every security-relevant preference is spelled out here, in the one place a
 * window is created (tests and the Electronegativity gate read this literal).
 */
export function createConsoleWindow(
  electron: Pick<ShellElectron, 'BrowserWindow'>,
  opts: ConsoleWindowOptions,
): ShellWindow {
  const { BrowserWindow } = electron;
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 640,
    show: false,
    title: 'Verified Desk',
    backgroundColor: '#f4f6f9',
    webPreferences: {
      // Reviewed: the preload exposes only window.agentDesk (preload/bridge.ts), never ipcRenderer.
      preload: opts.preloadPath, // eng-disable PRELOAD_JS_CHECK reviewed, see the line above
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      // Middle-click would otherwise open links without going through the window-open handler's checks.
      disableBlinkFeatures: 'Auxclick',
      backgroundThrottling: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  return win;
}

/** Bring the window to the front (second instance, tray click, notification click). */
export function revealWindow(win: ShellWindow | null): void {
  if (!win || win.isDestroyed()) return;
  if (win.isMinimized()) win.restore();
  win.show();
  win.focus();
}
