import type { monitoringRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

type MonitoringRoutes = typeof monitoringRoutes;

/** Supervisor monitoring (listen, whisper, barge, leave) and the agent's answer to a supervisor's audio. */
export function monitoringHandlers(svc: Services): Handlers<MonitoringRoutes> {
  const { monitoring } = svc;
  return {
    monitorListen: async ({ principal, params }) =>
      await monitoring.listen(principal.staff, params.requestId),
    monitorListenAnswer: async ({ principal, params, body }) => {
      await monitoring.listenAnswer(principal.staff, params.requestId, body.leg, body.answer);
      return { ok: true as const };
    },
    monitorMode: async ({ principal, params, body }) =>
      await monitoring.mode(principal.staff, params.requestId, body.mode, body.offer),
    monitorLeave: async ({ principal, params }) => {
      await monitoring.leave(principal.staff, params.requestId);
      return { ok: true as const };
    },
    monitorAgentAnswer: async ({ principal, params, body }) => {
      await monitoring.agentAnswer(
        principal.staff.id,
        params.requestId,
        body.fence,
        body.supervisorId,
        body.talkId,
        body.answer,
      );
      return { ok: true as const };
    },
  };
}
