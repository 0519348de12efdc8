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
    requestKnowledgeQuestions: async ({ principal, params }) => {
      const q = await svc.knowledge.forRequest(principal.staff.id, params.requestId);
      return { ...q, lockedUntil: q.lockedUntil === null ? null : iso(q.lockedUntil) };
    },
    requestKnowledgeCheck: async ({ principal, params, body }) => {
      const o = await svc.knowledge.checkForRequest(
        principal.staff.id,
        params.requestId,
        body.fence,
        body.answers,
        body.agentMs,
      );
      return {
        passed: o.passed,
        level: o.level as 0 | 1 | 2 | 3,
        failures: o.failures,
        maxFailures: o.maxFailures,
        lockedUntil: o.lockedUntil === null ? null : iso(o.lockedUntil),
        agentSeconds: o.agentSeconds,
      };
    },
    dispositions: () => ({ dispositions: svc.pipeline.config.config.dispositions }),
    wrapUp: async ({ principal, params, body }) => {
      const r = await svc.wrapUps.record(principal.staff.id, params.requestId, body);
      return { wrapUpId: r.wrapUpId, duplicate: r.duplicate, receivedAt: iso(r.receivedAt) };
    },
  };
}
