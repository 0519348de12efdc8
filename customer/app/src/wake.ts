import { useSyncExternalStore } from 'react';
import type { AccessDevice } from '../../sdk/access-device.ts';
import { subscribeWebPush, webPushUnavailable } from '../../sdk/web-push.ts';

/**
 * Whether the authority can wake this phone when an agent takes the request while the
 * app is closed: 'ready' (a Web Push subscription is stored), or why not (then the app
 * says plainly that it must stay open). 'unknown' until the app has tried.
 */
export type WakeStatus = { kind: 'unknown' } | { kind: 'ready' } | { kind: 'unavailable'; reason: string };

let status: WakeStatus = { kind: 'unknown' };
const listeners = new Set<() => void>();
const set = (s: WakeStatus) => {
  status = s;
  for (const l of listeners) l();
};

export function useWakeStatus(): WakeStatus {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => status,
    // rendered outside a browser (tests render the screens to markup): the same status
    () => status,
  );
}

/**
 * Best effort, after a request is queued (inside the tap that queued it, so the browser
 * may ask for notification permission): register the service worker, subscribe with
 * the authority's VAPID key and store the subscription for this device.
 */
export async function enableWake(device: AccessDevice): Promise<WakeStatus> {
  const why = webPushUnavailable();
  if (why) {
    set({ kind: 'unavailable', reason: why });
    return status;
  }
  try {
    const reg = await navigator.serviceWorker.register(new URL('sw.js', document.baseURI).pathname);
    if (Notification.permission === 'default' && (await Notification.requestPermission()) !== 'granted') {
      set({ kind: 'unavailable', reason: 'notifications are not allowed for this app' });
      return status;
    }
    await navigator.serviceWorker.ready;
    const cfg = await device.pushConfig();
    await device.registerPush(await subscribeWebPush(reg, cfg.vapidPublicKey));
    set({ kind: 'ready' });
  } catch (e) {
    set({ kind: 'unavailable', reason: (e as Error).message || 'push could not be set up' });
  }
  return status;
}
