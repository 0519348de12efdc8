import { createContext, useCallback, useContext, useSyncExternalStore } from 'react';
import type { SoftphoneSnapshot } from './softphone/softphone.ts';
import type { ConsoleApp } from './state/console.ts';
import type { Store } from './state/store.ts';

export const ConsoleContext = createContext<ConsoleApp | null>(null);

export function useConsole(): ConsoleApp {
  const c = useContext(ConsoleContext);
  if (!c) throw new Error('useConsole outside <ConsoleContext.Provider>');
  return c;
}

/** Subscribe a component to a store (rendered to a string too, e.g. in unit tests: its state now). */
export function useStore<S>(store: Store<S>): S {
  return useSyncExternalStore(store.subscribe, store.getState, store.getState);
}

/** The shared ticking clock (ms since epoch), for countdowns and wait times. */
export function useNow(): number {
  return useStore(useConsole().clock);
}

export function useSoftphone(): SoftphoneSnapshot {
  const sp = useConsole().softphone;
  const subscribe = useCallback((l: () => void) => sp.subscribe(l), [sp]);
  const snapshot = useCallback(() => sp.getSnapshot(), [sp]);
  return useSyncExternalStore(subscribe, snapshot);
}
