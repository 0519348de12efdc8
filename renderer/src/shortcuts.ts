/**
 * Keyboard shortcuts of the console. They work from anywhere on the page (also from
 * inside a text field, since they use modifiers) and are listed in the status bar and
 * on the buttons (aria-keyshortcuts). The global accept shortcut of the Electron shell
 * arrives separately as the 'shortcut.accept' bridge event.
 */
export type ShortcutAction = 'accept' | 'reject' | 'hangUp' | 'hold' | 'mute';

export interface Shortcut {
  action: ShortcutAction;
  /** For aria-keyshortcuts. */
  aria: string;
  /** What the agent reads. */
  label: string;
  matches(e: Pick<KeyboardEvent, 'key' | 'code' | 'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey'>): boolean;
}

const alt =
  (code: string) => (e: Pick<KeyboardEvent, 'code' | 'ctrlKey' | 'altKey' | 'shiftKey' | 'metaKey'>) =>
    e.altKey && !e.ctrlKey && !e.metaKey && !e.shiftKey && e.code === code;

export const SHORTCUTS: readonly Shortcut[] = [
  {
    action: 'accept',
    aria: 'Control+Enter Alt+A',
    label: 'Ctrl+Enter',
    matches: (e) =>
      ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key === 'Enter') || alt('KeyA')(e),
  },
  { action: 'reject', aria: 'Alt+R', label: 'Alt+R', matches: alt('KeyR') },
  { action: 'hangUp', aria: 'Alt+H', label: 'Alt+H', matches: alt('KeyH') },
  { action: 'hold', aria: 'Alt+O', label: 'Alt+O', matches: alt('KeyO') },
  { action: 'mute', aria: 'Alt+M', label: 'Alt+M', matches: alt('KeyM') },
];

export const shortcutFor = (action: ShortcutAction): Shortcut => SHORTCUTS.find((s) => s.action === action)!;

/** Listen on the page; returns the function that stops listening. */
export function installShortcuts(
  target: Pick<Window, 'addEventListener' | 'removeEventListener'>,
  handlers: Record<ShortcutAction, () => void>,
): () => void {
  const onKey = (e: KeyboardEvent) => {
    if (e.repeat) return;
    const s = SHORTCUTS.find((x) => x.matches(e));
    if (!s) return;
    e.preventDefault();
    handlers[s.action]();
  };
  target.addEventListener('keydown', onKey);
  return () => target.removeEventListener('keydown', onKey);
}
