import { allowListedOrigin } from '../core/console-csp.ts';
import type { NavigationEvent, ShellWebContents } from './electron-api.ts';
import type { ExternalOpener } from './external-links.ts';

/**
 * Applied to every WebContents the app creates (app 'web-contents-created'): the
 * page never navigates anywhere, never opens a window and never attaches a
 * <webview>. The console is a single-page app, so in-app routes need no
 * navigation; an allow-listed https link goes to the user's browser instead.
 *
 * The one exception is a frame inside the page: the side panel's CRM record may
 * navigate (and be redirected) within the CRM origins IT allow-listed (`frameOrigins`,
 * the managed screenPopOrigins); a frame heading anywhere else is stopped, and the
 * console itself (the main frame) still never navigates. A window the CRM page opens
 * goes to the system browser through `openExternal`, which opens only allow-listed URLs.
 */
export function guardWebContents(
  contents: ShellWebContents,
  openExternal: ExternalOpener,
  frameOrigins: () => readonly string[] = () => [],
): void {
  const frameMayGo = (event: NavigationEvent) =>
    !event.isMainFrame && allowListedOrigin(event.url, frameOrigins()) !== null;
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    void openExternal(event.url).catch(() => false);
  });
  // Also emitted for the main frame (after will-navigate): deny only, open nothing twice.
  contents.on('will-frame-navigate', (event) => {
    if (!frameMayGo(event)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!frameMayGo(event)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openExternal(url).catch(() => false);
    return { action: 'deny' };
  });
}
