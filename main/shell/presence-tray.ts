import type { Presence } from '../../protocol/src/pipeline.ts';
import type { ShellElectron, ShellTray } from './electron-api.ts';
import { PRESENCE_LABELS, presenceBitmap } from './presence-icon.ts';

export interface PresenceTray {
  readonly presence: Presence;
  setPresence(presence: Presence): void;
  destroy(): void;
}

export interface PresenceTrayActions {
  show(): void;
  quit(): void;
}

/** The tray icon: the agent's presence at a glance, a way back to the window, and Quit. */
export function createPresenceTray(
  electron: Pick<ShellElectron, 'Tray' | 'Menu' | 'nativeImage'>,
  actions: PresenceTrayActions,
): PresenceTray {
  const icon = (p: Presence) =>
    electron.nativeImage.createFromBitmap(presenceBitmap(p), { width: 16, height: 16 });
  let presence: Presence = 'offline';
  const tray: ShellTray = new electron.Tray(icon(presence));
  const render = (image = true) => {
    const label = PRESENCE_LABELS[presence];
    if (image) tray.setImage(icon(presence));
    tray.setToolTip(`Verified Desk: ${label}`);
    tray.setContextMenu(
      electron.Menu.buildFromTemplate([
        { label: `Presence: ${label}`, enabled: false },
        { type: 'separator' },
        { label: 'Show Verified Desk', click: () => actions.show() },
        { label: 'Quit', click: () => actions.quit() },
      ]),
    );
  };
  tray.on('click', () => actions.show());
  render(false);
  return {
    get presence() {
      return presence;
    },
    setPresence(next) {
      if (next === presence) return;
      presence = next;
      render();
    },
    destroy: () => tray.destroy(),
  };
}
