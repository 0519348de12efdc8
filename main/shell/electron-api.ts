import type {
  BrowserWindowConstructorOptions,
  CustomScheme,
  MenuItemConstructorOptions,
  NativeImage,
  NotificationConstructorOptions,
} from 'electron';
import type { UpdateInfo } from 'electron-updater';

/**
 * The slice of Electron the shell uses, written as narrow interfaces. Only main.ts
 * imports the real module (it does not load in plain Node); it passes it here, and
 * tsc checks there that the real module satisfies these types. Tests pass a typed
 * fake (test/support/fake-electron.ts) of the same surface.
 */

export interface PreventableEvent {
  preventDefault(): void;
}

/** A navigation about to happen (will-navigate, will-redirect, will-frame-navigate). */
export interface NavigationEvent extends PreventableEvent {
  readonly url: string;
  /** false: a frame inside the page (the side panel's CRM record), not the console itself. */
  readonly isMainFrame: boolean;
}

/** Electron's WebFrameMain, as far as the IPC sender check needs it. */
export interface ShellFrame {
  readonly url: string;
  readonly parent: ShellFrame | null;
}

export interface ShellWebContents {
  readonly id: number;
  on(
    event: 'will-navigate' | 'will-redirect' | 'will-frame-navigate',
    listener: (event: NavigationEvent) => void,
  ): unknown;
  on(event: 'will-attach-webview', listener: (event: PreventableEvent) => void): unknown;
  on(event: 'did-finish-load', listener: () => void): unknown;
  setWindowOpenHandler(handler: (details: { readonly url: string }) => { action: 'deny' }): void;
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

export interface ShellWindow {
  readonly webContents: ShellWebContents;
  loadURL(url: string): Promise<void>;
  show(): void;
  focus(): void;
  restore(): void;
  isMinimized(): boolean;
  isFocused(): boolean;
  isDestroyed(): boolean;
  once(event: 'ready-to-show', listener: () => void): unknown;
  on(event: 'closed', listener: () => void): unknown;
}

export interface ShellIpcEvent {
  readonly senderFrame: ShellFrame | null;
  readonly sender: { readonly id: number };
}

export interface ShellIpcMain {
  handle(channel: string, listener: (event: ShellIpcEvent, ...args: unknown[]) => Promise<unknown>): void;
  removeHandler(channel: string): void;
}

/** Details Electron gives a permission request (PermissionRequest / MediaAccessPermissionRequest). */
export interface PermissionRequestDetails {
  readonly requestingUrl: string;
  readonly isMainFrame: boolean;
  readonly mediaTypes?: ReadonlyArray<'video' | 'audio'>;
}

/** Details Electron gives a permission check (PermissionCheckHandlerHandlerDetails). */
export interface PermissionCheckDetails {
  readonly isMainFrame: boolean;
  readonly requestingUrl?: string;
  readonly mediaType?: 'video' | 'audio' | 'unknown';
}

export type PermissionRequestHandler = (
  webContents: unknown,
  permission: string,
  callback: (granted: boolean) => void,
  details: PermissionRequestDetails,
) => void;
export type PermissionCheckHandler = (
  webContents: unknown,
  permission: string,
  requestingOrigin: string,
  details: PermissionCheckDetails,
) => boolean;

export interface HeadersReceivedDetails {
  readonly url: string;
  readonly resourceType: string;
  readonly responseHeaders?: Record<string, string[]>;
}

export interface ShellSession {
  setPermissionRequestHandler(handler: PermissionRequestHandler | null): void;
  setPermissionCheckHandler(handler: PermissionCheckHandler | null): void;
  setDevicePermissionHandler(handler: ((details: unknown) => boolean) | null): void;
  readonly webRequest: {
    onHeadersReceived(
      listener: (
        details: HeadersReceivedDetails,
        callback: (response: { responseHeaders?: Record<string, string[]>; cancel?: boolean }) => void,
      ) => void,
    ): void;
  };
}

export interface ShellProtocol {
  registerSchemesAsPrivileged(schemes: CustomScheme[]): void;
  handle(scheme: string, handler: (request: Request) => Promise<Response>): void;
}

export interface ShellApp {
  readonly isPackaged: boolean;
  requestSingleInstanceLock(): boolean;
  enableSandbox(): void;
  whenReady(): Promise<unknown>;
  quit(): void;
  getPath(name: 'userData' | 'appData'): string;
  setPath(name: 'userData', path: string): void;
  setAppUserModelId(id: string): void;
  setAsDefaultProtocolClient(protocol: string): boolean;
  on(event: 'second-instance', listener: (event: unknown, argv: string[]) => void): unknown;
  on(event: 'open-url', listener: (event: PreventableEvent, url: string) => void): unknown;
  on(event: 'web-contents-created', listener: (event: unknown, contents: ShellWebContents) => void): unknown;
  on(event: 'window-all-closed' | 'will-quit', listener: () => void): unknown;
}

/** An OS image (tray icon): opaque to the shell, passed from nativeImage to Tray. */
export type ShellImage = NativeImage;

export interface ShellTray {
  setImage(image: ShellImage): void;
  setToolTip(toolTip: string): void;
  setContextMenu(menu: ShellMenu | null): void;
  on(event: 'click', listener: () => void): unknown;
  destroy(): void;
}

export type ShellMenu = object;

export interface ShellNotification {
  show(): void;
  on(event: 'click', listener: () => void): unknown;
}

/**
 * safeStorage's asynchronous API (Electron 45 deprecates encryptString, decryptString
 * and isEncryptionAvailable). Available once the app is ready.
 */
export interface ShellSafeStorage {
  isAsyncEncryptionAvailable(): Promise<boolean>;
  encryptStringAsync(plainText: string): Promise<Buffer>;
  /** `shouldReEncrypt`: the key was rotated; encrypt `result` again with the current one. */
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string; shouldReEncrypt: boolean }>;
  getSelectedStorageBackend(): string;
}

/** electron-updater's autoUpdater, as far as the shell drives it. */
export interface ShellUpdater {
  autoDownload: boolean;
  setFeedURL(options: { provider: 'generic'; url: string }): void;
  checkForUpdatesAndNotify(): Promise<unknown>;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'update-downloaded', listener: (info: UpdateInfo) => void): unknown;
}

export interface ShellElectron {
  app: ShellApp;
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => ShellWindow;
  ipcMain: ShellIpcMain;
  protocol: ShellProtocol;
  session: { readonly defaultSession: ShellSession };
  shell: { openExternal(url: string): Promise<void> };
  safeStorage: ShellSafeStorage;
  Tray: new (image: ShellImage) => ShellTray;
  Menu: { buildFromTemplate(template: MenuItemConstructorOptions[]): ShellMenu };
  nativeImage: { createFromBitmap(buffer: Buffer, options: { width: number; height: number }): ShellImage };
  Notification: { new (options: NotificationConstructorOptions): ShellNotification; isSupported(): boolean };
  globalShortcut: { register(accelerator: string, callback: () => void): boolean; unregisterAll(): void };
  dialog: { showErrorBox(title: string, content: string): void };
}
