import { isAppOrigin, isAppUrl } from './app-origin.ts';
import type { PermissionCheckDetails, PermissionRequestDetails, ShellSession } from './electron-api.ts';

/**
 * Permissions are denied by default. The one grant: 'media' (the softphone's
 * microphone, and the device list for choosing speaker and ringer) to our own
 * top-level page. Video is not part of the console and is refused too.
 */
export const GRANTED_PERMISSION = 'media';

export function decidePermissionRequest(permission: string, details: PermissionRequestDetails): boolean {
  if (permission !== GRANTED_PERMISSION) return false;
  if (!details.isMainFrame || !isAppUrl(details.requestingUrl)) return false;
  const types = details.mediaTypes ?? [];
  return types.every((t) => t === 'audio');
}

export function decidePermissionCheck(
  permission: string,
  requestingOrigin: string,
  details: PermissionCheckDetails,
): boolean {
  if (permission !== GRANTED_PERMISSION) return false;
  if (!details.isMainFrame || !isAppOrigin(requestingOrigin)) return false;
  if (details.requestingUrl !== undefined && !isAppUrl(details.requestingUrl)) return false;
  return details.mediaType !== 'video';
}

export function installPermissionHandlers(session: ShellSession): void {
  session.setPermissionRequestHandler((_webContents, permission, callback, details) =>
    callback(decidePermissionRequest(permission, details)),
  );
  session.setPermissionCheckHandler((_webContents, permission, requestingOrigin, details) =>
    decidePermissionCheck(permission, requestingOrigin, details),
  );
  // USB, HID, serial and Bluetooth devices: never.
  session.setDevicePermissionHandler(() => false);
}
