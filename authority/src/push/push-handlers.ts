import type { pushRoutes } from '../../../protocol/src/index.ts';
import type { Handlers } from '../http/bind.ts';
import type { Services } from '../services.ts';

/** A device's push channel: the VAPID key to subscribe with, store or remove its subscription. */
export function pushHandlers(svc: Services): Handlers<typeof pushRoutes> {
  return {
    pushConfig: async ({ principal }) => await svc.push.config(principal.device.id),
    putPushSubscription: async ({ principal, body }) => {
      await svc.push.subscribe(principal.device.id, body);
      return { ok: true };
    },
    deletePushSubscription: async ({ principal }) => {
      await svc.push.unsubscribe(principal.device.id);
      return { ok: true };
    },
  };
}
