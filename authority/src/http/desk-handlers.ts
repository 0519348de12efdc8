import type { deskRoutes } from '../../../protocol/src/index.ts';
import { iso } from '../clock.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Handlers of the console routes: the verified-customer panel, photos, dispositions, wrap-ups. */
export function deskHandlers(svc: Services): Handlers<typeof deskRoutes> {
  return {
    customerPanel: ({ principal, params }) => svc.panels.panel(principal, params.requestId),
    requestPhoto: ({ principal, params }) => svc.panels.photo(principal, params.requestId, params.photoId),
    comparePhoto: ({ principal, params, body }) =>
      svc.panels.comparePhoto(principal, params.requestId, params.photoId, body.fence, body.verdict),
    dispositions: () => ({ dispositions: svc.pipeline.config.config.dispositions }),
    wrapUp: ({ principal, params, body }) => {
      const r = svc.wrapUps.record(principal.staff.id, params.requestId, body);
      return { wrapUpId: r.wrapUpId, duplicate: r.duplicate, receivedAt: iso(r.receivedAt) };
    },
  };
}
