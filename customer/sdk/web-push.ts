import type { PushSubscriptionBody } from '../../protocol/src/push.ts';

/** Why the phone cannot be woken by Web Push here (then the app must stay open), or null. */
export function webPushUnavailable(): string | null {
  if (typeof navigator === 'undefined' || !('serviceWorker' in navigator))
    return 'this browser has no service workers';
  if (typeof window === 'undefined' || !('PushManager' in window)) return 'this browser has no Web Push';
  if (typeof Notification === 'undefined') return 'this browser has no notifications';
  if (Notification.permission === 'denied') return 'notifications are blocked for this app';
  return null;
}

const fromB64Url = (s: string): Uint8Array<ArrayBuffer> => {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(new ArrayBuffer(b.length));
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
};

/**
 * Subscribe a service worker registration to Web Push with the authority's VAPID key
 * and answer the channel to register with AccessDevice.registerPush.
 */
export async function subscribeWebPush(
  registration: ServiceWorkerRegistration,
  vapidPublicKey: string,
): Promise<PushSubscriptionBody> {
  const sub =
    (await registration.pushManager.getSubscription()) ??
    (await registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: fromB64Url(vapidPublicKey),
    }));
  const json = sub.toJSON() as { endpoint?: string; keys?: { p256dh?: string; auth?: string } };
  if (!json.endpoint || !json.keys?.p256dh || !json.keys.auth)
    throw new Error('the push subscription has no keys');
  return {
    kind: 'webpush',
    endpoint: json.endpoint,
    keys: { p256dh: json.keys.p256dh, auth: json.keys.auth },
  };
}
