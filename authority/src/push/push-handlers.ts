import type { pushRoutes } from '../../../protocol/src/index.ts';
import type { Handlers } from '../http/bind.ts';
import type { Services } from '../services.ts';

/** A device's push channel: the VAPID key to subscribe with, store or remove its subscription. */
export function pushHandlers(svc: Services): Handlers<typeof pushRoutes> {
  return {
    pushConfig: ({ principal }) => svc.push.config(principal.device.id),
    putPushSubscription: ({ principal, body }) => {
      svc.push.subscribe(principal.device.id, body);
      return { ok: true };
    },
    deletePushSubscription: ({ principal }) => {
      svc.push.unsubscribe(principal.device.id);
      return { ok: true };
    },
  };
}
