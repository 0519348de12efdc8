/**
 * A typed fake of the Electron surface the shell uses (main/shell/electron-api.ts).
 * `require('electron')` in plain Node only answers the binary's path (and, since
 * Electron 42, tries to download a missing binary), so the shell takes
 * this object as a parameter. Each fake records what the shell asked for and lets
 * a test play the part of Chromium: attempt a navigation, send IPC from a given
 * frame, ask for a permission, fire app events.
 */
import { join } from 'node:path';
import type {
  BrowserWindowConstructorOptions,
  CustomScheme,
  MenuItemConstructorOptions,
  NativeImage,
  NotificationConstructorOptions,
} from 'electron';
import type {
  HeadersReceivedDetails,
  NavigationEvent,
  PermissionCheckHandler,
  PermissionRequestHandler,
  ShellApp,
  ShellElectron,
  ShellIpcEvent,
  ShellIpcMain,
  ShellNotification,
  ShellProtocol,
  ShellSafeStorage,
  ShellSession,
  ShellTray,
  ShellUpdater,
  ShellWebContents,
  ShellWindow,
} from '../../main/shell/electron-api.ts';

type Listener = (...args: any[]) => unknown;

class Emitter {
  private readonly listeners = new Map<string, Listener[]>();
  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }
  once(event: string, listener: Listener): this {
    const wrapped: Listener = (...args) => {
      this.off(event, wrapped);
      return listener(...args);
    };
    return this.on(event, wrapped);
  }
  off(event: string, listener: Listener): this {
    this.listeners.set(
      event,
      (this.listeners.get(event) ?? []).filter((l) => l !== listener),
    );
    return this;
  }
  emit(event: string, ...args: unknown[]): number {
    const ls = this.listeners.get(event) ?? [];
    for (const l of ls) l(...args);
    return ls.length;
  }
  listenerCount(event: string): number {
    return this.listeners.get(event)?.length ?? 0;
  }
}

let nextContentsId = 1;

export class FakeWebContents extends Emitter implements ShellWebContents {
  readonly id = nextContentsId++;
  windowOpenHandler: ((details: { readonly url: string }) => { action: 'deny' }) | null = null;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  destroyed = false;

  setWindowOpenHandler(handler: (details: { readonly url: string }) => { action: 'deny' }): void {
    this.windowOpenHandler = handler;
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Chromium asks before navigating: true when no listener prevented it (`isMainFrame` false: a frame in the page). */
  attemptNavigation(
    kind: 'will-navigate' | 'will-redirect' | 'will-frame-navigate',
    url: string,
    isMainFrame = true,
  ): boolean {
    let prevented = false;
    const event: NavigationEvent = { url, isMainFrame, preventDefault: () => void (prevented = true) };
    this.emit(kind, event, url);
    return !prevented;
  }
  /** window.open / target=_blank: Electron allows it when no handler is set. */
  attemptWindowOpen(url: string): 'allow' | 'deny' {
    return this.windowOpenHandler ? this.windowOpenHandler({ url }).action : 'allow';
  }
  attemptAttachWebview(): boolean {
    let prevented = false;
    this.emit('will-attach-webview', { preventDefault: () => void (prevented = true) }, {}, {});
    return !prevented;
  }
}

export class FakeUpdater extends Emitter implements ShellUpdater {
  autoDownload = false;
  feeds: { provider: 'generic'; url: string }[] = [];
  checks = 0;
  setFeedURL(options: { provider: 'generic'; url: string }): void {
    this.feeds.push(options);
  }
  async checkForUpdatesAndNotify(): Promise<unknown> {
    this.checks++;
    return null;
  }
}

export interface FakeElectronOptions {
  /** Where the profile would be; the shell decides (app.setPath) and tests read app.paths.userData. */
  userData: string;
  isPackaged?: boolean;
  /** false: another instance holds the single-instance lock. */
  lockAvailable?: boolean;
  encryptionAvailable?: boolean;
  storageBackend?: string;
  /** The safeStorage key in use ("v10" by default); data under another key asks to be re-encrypted. */
  safeStorageKey?: string;
  notificationsSupported?: boolean;
  /** Accelerators another application already owns. */
  takenShortcuts?: string[];
}

export type FakeElectron = ReturnType<typeof createFakeElectron>;

/** A fresh fake per test: nothing is shared between instances. */
export function createFakeElectron(opts: FakeElectronOptions) {
  const state = {
    ready: false,
    quitCalls: 0,
    windows: [] as FakeBrowserWindow[],
    privilegedSchemes: [] as CustomScheme[],
    protocolHandlers: new Map<string, (request: Request) => Promise<Response>>(),
    ipcHandlers: new Map<string, (event: ShellIpcEvent, ...args: unknown[]) => Promise<unknown>>(),
    openedExternally: [] as string[],
    defaultProtocolClients: [] as string[],
    notifications: [] as (NotificationConstructorOptions & { shown: boolean; click(): void })[],
    shortcuts: new Map<string, () => void>(),
    errorBoxes: [] as { title: string; content: string }[],
    trays: [] as FakeTray[],
    permissionRequestHandler: null as PermissionRequestHandler | null,
    permissionCheckHandler: null as PermissionCheckHandler | null,
    devicePermissionHandler: null as ((details: unknown) => boolean) | null,
    headersReceived: null as
      | ((
          details: HeadersReceivedDetails,
          callback: (response: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void,
        ) => void)
      | null,
  };

  class FakeApp extends Emitter implements ShellApp {
    isPackaged = opts.isPackaged ?? false;
    sandboxForAll = false;
    enableSandbox(): void {
      if (state.ready) throw new Error('app.enableSandbox() can only be called before app is ready');
      this.sandboxForAll = true;
    }
    requestSingleInstanceLock(): boolean {
      return opts.lockAvailable ?? true;
    }
    async whenReady(): Promise<void> {
      state.ready = true;
    }
    quit(): void {
      state.quitCalls++;
    }
    readonly paths = {
      userData: join(opts.userData, '..', 'default-profile'),
      appData: join(opts.userData, '..'),
    };
    getPath(name: 'userData' | 'appData'): string {
      return this.paths[name];
    }
    setPath(name: 'userData', path: string): void {
      this.paths[name] = path;
    }
    appUserModelId: string | null = null;
    setAppUserModelId(id: string): void {
      this.appUserModelId = id;
    }
    setAsDefaultProtocolClient(protocol: string): boolean {
      state.defaultProtocolClients.push(protocol);
      return true;
    }
  }
  const app = new FakeApp();

  class FakeBrowserWindow extends Emitter implements ShellWindow {
    readonly webContents = new FakeWebContents();
    readonly loaded: string[] = [];
    visible = false;
    focused = false;
    minimized = false;
    destroyed = false;
    constructor(readonly options: BrowserWindowConstructorOptions) {
      super();
      state.windows.push(this);
      // What Electron does for every WebContents it creates.
      app.emit('web-contents-created', {}, this.webContents);
    }
    async loadURL(url: string): Promise<void> {
      this.loaded.push(url);
      this.emit('ready-to-show');
      this.webContents.emit('did-finish-load');
    }
    show(): void {
      this.visible = true;
    }
    focus(): void {
      this.focused = true;
    }
    restore(): void {
      this.minimized = false;
    }
    isMinimized(): boolean {
      return this.minimized;
    }
    isFocused(): boolean {
      return this.focused;
    }
    isDestroyed(): boolean {
      return this.destroyed;
    }
  }

  const ipcMain: ShellIpcMain = {
    handle(channel, listener) {
      if (state.ipcHandlers.has(channel))
        throw new Error(`Attempted to register a second handler for '${channel}'`);
      state.ipcHandlers.set(channel, listener);
    },
    removeHandler(channel) {
      state.ipcHandlers.delete(channel);
    },
  };

  const protocol: ShellProtocol = {
    registerSchemesAsPrivileged(schemes) {
      if (state.ready)
        throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
      state.privilegedSchemes.push(...schemes);
    },
    handle(scheme, handler) {
      if (!state.ready) throw new Error('protocol.handle before app is ready');
      state.protocolHandlers.set(scheme, handler);
    },
  };

  const defaultSession: ShellSession = {
    setPermissionRequestHandler: (h) => void (state.permissionRequestHandler = h),
    setPermissionCheckHandler: (h) => void (state.permissionCheckHandler = h),
    setDevicePermissionHandler: (h) => void (state.devicePermissionHandler = h),
    webRequest: { onHeadersReceived: (l) => void (state.headersReceived = l) },
  };

  // Not real cryptography: enough to show the file does not hold the plaintext. The
  // 3-byte prefix names the key, as Chromium's OSCrypt does ("v10", "v11"); a token
  // under another key than the current one decrypts and asks to be re-encrypted.
  const currentKey = opts.safeStorageKey ?? 'v10';
  const xor = (b: Buffer) => Buffer.from(b.map((x) => x ^ 0x5a));
  const safeStorage: ShellSafeStorage = {
    isAsyncEncryptionAvailable: async () => opts.encryptionAvailable ?? true,
    encryptStringAsync: async (text) => Buffer.concat([Buffer.from(currentKey), xor(Buffer.from(text))]),
    decryptStringAsync: async (buf) => {
      const key = buf.subarray(0, 3).toString();
      if (!/^v1\d$/.test(key)) throw new Error('Error while decrypting the ciphertext');
      return { result: xor(buf.subarray(3)).toString(), shouldReEncrypt: key !== currentKey };
    },
    getSelectedStorageBackend: () => opts.storageBackend ?? 'gnome_libsecret',
  };

  class FakeTray extends Emitter implements ShellTray {
    images: NativeImage[] = [];
    toolTips: string[] = [];
    menus: unknown[] = [];
    destroyed = false;
    constructor(image: NativeImage) {
      super();
      this.images.push(image);
      state.trays.push(this);
    }
    setImage(image: NativeImage): void {
      this.images.push(image);
    }
    setToolTip(toolTip: string): void {
      this.toolTips.push(toolTip);
    }
    setContextMenu(menu: object | null): void {
      this.menus.push(menu);
    }
    destroy(): void {
      this.destroyed = true;
    }
  }

  class FakeNotification extends Emitter implements ShellNotification {
    static isSupported(): boolean {
      return opts.notificationsSupported ?? true;
    }
    private readonly record: NotificationConstructorOptions & { shown: boolean; click(): void };
    constructor(options: NotificationConstructorOptions) {
      super();
      this.record = { ...options, shown: false, click: () => void this.emit('click') };
      state.notifications.push(this.record);
    }
    show(): void {
      this.record.shown = true;
    }
  }

  const electron: ShellElectron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    ipcMain,
    protocol,
    session: { defaultSession },
    shell: {
      openExternal: async (url) => void state.openedExternally.push(url),
    },
    safeStorage,
    Tray: FakeTray,
    Menu: { buildFromTemplate: (template: MenuItemConstructorOptions[]) => ({ template }) },
    nativeImage: {
      // The shell treats images as opaque tokens passed on to Tray.
      createFromBitmap: (buffer, size) => ({ buffer, size, isEmpty: () => false }) as unknown as NativeImage,
    },
    Notification: FakeNotification,
    globalShortcut: {
      register(accelerator, callback) {
        if (opts.takenShortcuts?.includes(accelerator)) return false;
        state.shortcuts.set(accelerator, callback);
        return true;
      },
      unregisterAll: () => state.shortcuts.clear(),
    },
    dialog: { showErrorBox: (title, content) => void state.errorBoxes.push({ title, content }) },
  };

  return { electron, app, state };
}

/** An IPC event as Electron would build it for a frame with this URL and parent. */
export function ipcEventFrom(
  contents: { id: number },
  url: string,
  parent: { url: string } | null = null,
): ShellIpcEvent {
  return {
    sender: contents,
    senderFrame: { url, parent: parent ? { url: parent.url, parent: null } : null },
  };
}
