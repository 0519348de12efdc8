import type { BridgeChannel, BridgeEventName } from '../protocol/src/bridge.ts';

/**
 * The IPC wire between preload and main/shell, derived from the bridge contract
 * (protocol/src/bridge.ts): no channel string is written by hand. Every IPC name
 * carries one prefix so main can tell our traffic from anything else (the VS Code
 * `vscode:` prefix idea). Pure: no electron import, so main/shell and the tests can
 * share it.
 */
export const IPC_PREFIX = 'agentDesk:';

/** ipcRenderer.invoke / ipcMain.handle name of a request channel. */
export const requestChannel = (channel: BridgeChannel): string => `${IPC_PREFIX}invoke:${channel}`;

/** webContents.send / ipcRenderer.on name of an event. */
export const eventChannel = (event: BridgeEventName): string => `${IPC_PREFIX}event:${event}`;

/** The error part of an answer: what the renderer may learn about a failure, nothing more. */
export interface BridgeFailure {
  code: string;
  message: string;
}

/**
 * What every ipcMain handler answers. Handlers never reject: a rejection would reach
 * the page as Electron's "Error invoking remote method" text with the code lost, and
 * an exception in a handler is exactly what the fuzz test counts.
 */
export type BridgeAnswer = { ok: true; result: unknown } | { ok: false; error: BridgeFailure };
