import { join } from 'node:path';
import type { AgentView, OfferView } from '../../protocol/src/pipeline.ts';
import { DeskCore } from '../core/desk-core.ts';
import { managedConfigPath, readManagedConfig, type ManagedConfig } from '../core/settings.ts';
import { registerAcceptShortcut } from './accept-shortcut.ts';
import { APP_ENTRY_URL, APP_SCHEME } from './app-origin.ts';
import { createAppRequestHandler, registerAppScheme } from './app-protocol.ts';
import { startAutoUpdate } from './auto-update.ts';
import { createConsoleWindow, revealWindow } from './console-window.ts';
import { effectiveSipUrl } from '../core/web-host.ts';
import { consoleCsp } from '../core/console-csp.ts';
import { installCspHeaders } from './content-security.ts';
import { DialQueue, dialUrisFromArgv, registerDialProtocols } from './dial-links.ts';
import type { ShellElectron, ShellUpdater, ShellWindow } from './electron-api.ts';
import {
  createCrmOpener,
  createExternalOpener,
  createSignInOpener,
  DEFAULT_EXTERNAL_HOSTS,
  firstOpener,
} from './external-links.ts';
import { createSenderCheck, forwardBridgeEvents, registerBridgeIpc } from './ipc-bridge.ts';
import { guardWebContents } from './navigation-guard.ts';
import { createOfferNotifier } from './offer-notifications.ts';
import { installPermissionHandlers } from './permissions.ts';
import { createPresenceTray, type PresenceTray } from './presence-tray.ts';
import { claimSingleInstance } from './single-instance.ts';
import { openSafeStorageTokenStore } from './token-store.ts';

/** The folder under the OS's application-data directory (also what the single-instance lock is keyed on). */
export const USER_DATA_NAME = 'Verified Desk';
/** electron-builder.yml appId: Windows attributes notifications to the app by it. */
export const APP_USER_MODEL_ID = 'io.verifieddesk.console';

export interface DeskShellOptions {
  /** The built preload script (dist/app/preload.js). */
  preloadPath: string;
  /** The built renderer (renderer/dist), served as app://desk/. */
  rendererDir: string;
  defaultAuthorityUrl: string;
  defaultSipUrl?: string | null;
  /** Hosts shell.openExternal may open (https only). */
  externalHosts?: readonly string[];
  /**
   * electron-updater's autoUpdater, behind a getter: creating it reads the
   * packaged app's update configuration, so it is only created when packaged.
   */
  updater?: () => ShellUpdater;
  updateFeedUrl?: string;
  /** IT's managed configuration; by default read from the per-OS path. */
  managed?: ManagedConfig;
  /** Profile folder; by default "Verified Desk" under the OS application-data directory. */
  userDataDir?: string;
  /** This process's command line (a tel:/sip: link may have started it). */
  argv?: readonly string[];
  platform?: NodeJS.Platform;
  log?: (message: string) => void;
}

export interface DeskShell {
  readonly core: DeskCore;
  readonly window: ShellWindow;
  readonly tray: PresenceTray;
}

/**
 * The Electron main process, wired from small parts. Before `ready`: the app://
 * scheme, the single-instance lock, dial links, and the guard that every
 * WebContents gets. After: the session's permission and CSP handlers, the app://
 * handler, the refresh token (safeStorage), DeskCore, the window, IPC, tray,
 * notifications, shortcut, updates.
 * Returns null when another instance already runs (this one quits).
 */
export function startDeskShell(
  electron: ShellElectron,
  opts: DeskShellOptions,
): { ready: Promise<DeskShell | null> } | null {
  const { app } = electron;
  const log = opts.log ?? ((m: string) => console.log(`[shell] ${m}`));
  // Every renderer sandboxed, whatever a window's own preferences say.
  app.enableSandbox();
  registerAppScheme(electron.protocol);
  // Before the lock: the lock lives in the profile folder. Not left to the
  // package name, which differs between a development run and an installed app.
  app.setPath('userData', opts.userDataDir ?? join(app.getPath('appData'), USER_DATA_NAME));
  if ((opts.platform ?? process.platform) === 'win32') app.setAppUserModelId(APP_USER_MODEL_ID);

  let window: ShellWindow | null = null;
  const dials = new DialQueue();
  const claimed = claimSingleInstance(app, (argv) => {
    revealWindow(window);
    for (const uri of dialUrisFromArgv(argv)) dials.push(uri);
  });
  if (!claimed) return null;
  app.on('open-url', (event, url) => {
    event.preventDefault();
    dials.push(url);
  });
  for (const uri of dialUrisFromArgv(opts.argv ?? process.argv)) dials.push(uri);

  // The CRM origins IT allow-listed for the side panel (managed screenPopOrigins), once read at ready.
  let crmOrigins: readonly string[] = [];
  const frameOrigins = () => crmOrigins;
  const openExternal = firstOpener(
    createExternalOpener(electron.shell, opts.externalHosts ?? DEFAULT_EXTERNAL_HOSTS),
    createCrmOpener(electron.shell, frameOrigins),
  );
  app.on('web-contents-created', (_event, contents) =>
    guardWebContents(contents, openExternal, frameOrigins),
  );
  app.on('window-all-closed', () => app.quit());

  const onReady = async (): Promise<DeskShell> => {
    // A broken managed file is IT's error to fix, not a reason to run unmanaged: it stops the start.
    const managed = opts.managed ?? readManagedConfig(managedConfigPath(opts.platform ?? process.platform));
    const userData = app.getPath('userData');
    const session = electron.session.defaultSession;
    installPermissionHandlers(session);
    // safeStorage is asynchronous: the stored refresh token is decrypted before DeskCore starts.
    const tokenStore = await openSafeStorageTokenStore(
      electron.safeStorage,
      join(userData, 'refresh-token.bin'),
      opts.platform,
      log,
    );
    const core = new DeskCore({
      dataDir: join(userData, 'console'),
      defaultAuthorityUrl: opts.defaultAuthorityUrl,
      defaultSipUrl: opts.defaultSipUrl ?? null,
      tokenStore,
      openExternal,
      // Single sign-on runs in the system browser, back through a loopback listener (RFC 8252).
      openSignIn: createSignInOpener(electron.shell),
      managed,
    });
    crmOrigins = core.screenPopOrigins;
    const csp = () => consoleCsp(effectiveSipUrl(core.settings.get()), crmOrigins);
    installCspHeaders(session, csp, frameOrigins);
    electron.protocol.handle(APP_SCHEME, createAppRequestHandler({ rootDir: opts.rendererDir, csp }));

    const win = createConsoleWindow(electron, { preloadPath: opts.preloadPath });
    window = win;
    const trusted = new Set([win.webContents.id]);
    win.on('closed', () => {
      trusted.clear();
      window = null;
    });
    const unregisterIpc = registerBridgeIpc(
      electron.ipcMain,
      core,
      createSenderCheck(() => trusted),
    );
    const stopForwarding = forwardBridgeEvents(core, () => (window ? [window.webContents] : []));

    const tray = createPresenceTray(electron, { show: () => revealWindow(window), quit: () => app.quit() });
    const notifyOffer = createOfferNotifier(electron, {
      isWindowFocused: () => !!window && !window.isDestroyed() && window.isFocused(),
      onClick: () => revealWindow(window),
    });
    core.on('event', (name, payload) => {
      if (name === 'agent.state') tray.setPresence((payload as AgentView).presence);
      // 'offline' is only reported when the console disconnects on purpose (log out).
      else if (name === 'connection.state' && (payload as { state: string }).state === 'offline')
        tray.setPresence('offline');
      else if (name === 'offer') notifyOffer(payload as OfferView);
    });
    if (!registerAcceptShortcut(electron.globalShortcut, () => core.emitEvent('shortcut.accept', {})))
      log('the accept shortcut is taken by another application');
    registerDialProtocols(app);
    win.webContents.on('did-finish-load', () => dials.open((uri) => core.emitEvent('dial', { uri })));
    const updates =
      opts.updater && app.isPackaged
        ? startAutoUpdate(app, opts.updater(), { feedUrl: opts.updateFeedUrl, log })
        : null;

    app.on('will-quit', () => {
      electron.globalShortcut.unregisterAll();
      updates?.stop();
      stopForwarding();
      unregisterIpc();
      tray.destroy();
      core.close();
    });
    win.loadURL(APP_ENTRY_URL).catch((e: Error) => log(`loading the console failed: ${e.message}`));
    return { core, window: win, tray };
  };

  // Anything that stops the start (managed file, local database, ...) is shown, then the app quits.
  const fail = (e: unknown): null => {
    const message = e instanceof Error ? e.message : String(e);
    log(`cannot start: ${message}`);
    electron.dialog.showErrorBox('Verified Desk cannot start', message);
    app.quit();
    return null;
  };
  return { ready: app.whenReady().then(onReady).catch(fail) };
}
