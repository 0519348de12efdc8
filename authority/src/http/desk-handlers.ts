import type { deskRoutes } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Handlers of the console routes: the verified-customer panel, photos, dispositions, wrap-ups. */
export function deskHandlers(svc: Services): Handlers<typeof deskRoutes> {
  return {
    customerPanel: async ({ principal, params }) => await svc.panels.panel(principal, params.requestId),
    requestPhoto: async ({ principal, params }) =>
      await svc.panels.photo(principal, params.requestId, params.photoId),
    comparePhoto: async ({ principal, params, body }) =>
      await svc.panels.comparePhoto(principal, params.requestId, params.photoId, body.fence, body.verdict),
    dispositions: () => ({ dispositions: svc.pipeline.config.config.dispositions }),
    wrapUp: async ({ principal, params, body }) => {
      const r = await svc.wrapUps.record(principal.staff.id, params.requestId, body);
      return { wrapUpId: r.wrapUpId, duplicate: r.duplicate, receivedAt: iso(r.receivedAt) };
    },
  };
}
