import { bridgeRequests, type BridgeChannel, type BridgeEventName } from '../../protocol/src/bridge.ts';
import {
  eventChannel,
  requestChannel,
  type BridgeAnswer,
  type BridgeFailure,
} from '../../preload/channels.ts';
import { BridgeError } from '../core/desk-core.ts';
import { isOwnTopFrame } from './app-origin.ts';
import type { ShellIpcEvent, ShellIpcMain, ShellWebContents } from './electron-api.ts';

/** What the IPC layer needs of DeskCore (main/core/desk-core.ts). */
export interface BridgeCore {
  invoke(channel: string, rawArgs: unknown): Promise<unknown>;
  on(event: 'event', listener: (name: BridgeEventName, payload: unknown) => void): unknown;
  off(event: 'event', listener: (name: BridgeEventName, payload: unknown) => void): unknown;
}

/** Every request channel of the contract: one ipcMain.handle each, none written by hand. */
export const BRIDGE_CHANNELS = Object.keys(bridgeRequests) as BridgeChannel[];

export const FORBIDDEN: BridgeFailure = {
  code: 'forbidden',
  message: "refused: IPC is accepted only from the console's own top-level frame",
};

/** Only BridgeError text reaches the page; anything else is an internal error without details. */
export function toFailure(e: unknown): BridgeFailure {
  if (e instanceof BridgeError) return { code: e.code, message: e.message };
  return { code: 'internal', message: 'internal error' };
}

/**
 * The sender check: our own top-level frame (app://desk, parent === null) inside
 * one of the WebContents this shell created.
 */
export function createSenderCheck(
  trustedContentsIds: () => ReadonlySet<number>,
): (event: ShellIpcEvent) => boolean {
  return (event) => {
    if (!event || !trustedContentsIds().has(event.sender?.id)) return false;
    return isOwnTopFrame(event.senderFrame);
  };
}

/**
 * One channel's handler. It never rejects: refusals and failures are answers
 * ({ ok: false, error }), so nothing the renderer sends can raise an unhandled
 * exception in main.
 */
export function createBridgeHandler(
  channel: BridgeChannel,
  core: Pick<BridgeCore, 'invoke'>,
  isTrustedSender: (event: ShellIpcEvent) => boolean,
): (event: ShellIpcEvent, ...args: unknown[]) => Promise<BridgeAnswer> {
  return async (event, ...args) => {
    try {
      if (!isTrustedSender(event)) return { ok: false, error: FORBIDDEN };
      if (args.length > 1)
        return {
          ok: false,
          error: { code: 'invalid_argument', message: `${channel}: one argument expected` },
        };
      return { ok: true, result: await core.invoke(channel, args[0]) };
    } catch (e) {
      return { ok: false, error: toFailure(e) };
    }
  };
}

/** Register every channel; returns the function that removes them again. */
export function registerBridgeIpc(
  ipcMain: ShellIpcMain,
  core: Pick<BridgeCore, 'invoke'>,
  isTrustedSender: (event: ShellIpcEvent) => boolean,
): () => void {
  for (const channel of BRIDGE_CHANNELS)
    ipcMain.handle(requestChannel(channel), createBridgeHandler(channel, core, isTrustedSender));
  return () => {
    for (const channel of BRIDGE_CHANNELS) ipcMain.removeHandler(requestChannel(channel));
  };
}

/** DeskCore's events to the page (webContents.send); returns the unsubscribe function. */
export function forwardBridgeEvents(core: BridgeCore, targets: () => Iterable<ShellWebContents>): () => void {
  const listener = (name: BridgeEventName, payload: unknown) => {
    for (const contents of targets()) if (!contents.isDestroyed()) contents.send(eventChannel(name), payload);
  };
  core.on('event', listener);
  return () => void core.off('event', listener);
}
