import type { ShellWebContents } from './electron-api.ts';
import type { ExternalOpener } from './external-links.ts';

/**
 * Applied to every WebContents the app creates (app 'web-contents-created'): the
 * page never navigates anywhere, never opens a window and never attaches a
 * <webview>. The console is a single-page app, so in-app routes need no
 * navigation; an allow-listed https link goes to the user's browser instead.
 */
export function guardWebContents(contents: ShellWebContents, openExternal: ExternalOpener): void {
  contents.on('will-navigate', (event) => {
    event.preventDefault();
    void openExternal(event.url).catch(() => false);
  });
  // Also emitted for the main frame (after will-navigate): deny only, open nothing twice.
  contents.on('will-frame-navigate', (event) => event.preventDefault());
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    void openExternal(url).catch(() => false);
    return { action: 'deny' };
  });
}
