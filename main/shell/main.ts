/**
 * Electron entry point (bundled to dist/app/main.js by scripts/build-shell.mjs).
 * The only shell file that loads 'electron' and 'electron-updater' at run time;
 * everything else takes them as a parameter (see electron-api.ts) and is tested
 * against a fake.
 */
import { join, resolve } from 'node:path';
import * as electron from 'electron';
import electronUpdater from 'electron-updater';
import { startDeskShell } from './desk-shell.ts';
import type { ShellElectron } from './electron-api.ts';

// Checked by tsc: the real module satisfies the narrow surface the shell is written against.
const api: ShellElectron = {
  app: electron.app,
  BrowserWindow: electron.BrowserWindow,
  ipcMain: electron.ipcMain,
  protocol: electron.protocol,
  session: electron.session,
  shell: electron.shell,
  safeStorage: electron.safeStorage,
  Tray: electron.Tray,
  Menu: electron.Menu,
  nativeImage: electron.nativeImage,
  Notification: electron.Notification,
  globalShortcut: electron.globalShortcut,
  dialog: electron.dialog,
};

// dist/app/main.js: the preload sits beside it, the renderer build two levels up
// (the same layout inside app.asar and in a development checkout).
const appDir = __dirname;
startDeskShell(api, {
  preloadPath: join(appDir, 'preload.js'),
  rendererDir: resolve(appDir, '..', '..', 'renderer', 'dist'),
  defaultAuthorityUrl: process.env.VD_AUTHORITY_URL ?? 'http://127.0.0.1:8780',
  defaultSipUrl: process.env.VD_SIP_URL ?? null,
  updater: () => electronUpdater.autoUpdater,
  updateFeedUrl: process.env.VD_UPDATE_FEED_URL,
  userDataDir: process.env.VD_CONSOLE_DATA_DIR,
});
