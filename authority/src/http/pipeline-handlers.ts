import type { pipelineRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';
import { badRequest, conflict, notFound } from './errors.ts';

/** Handlers of the pipeline routes: menus, requests, callbacks, agents, the board, configuration. */
export function pipelineHandlers(svc: Services): Handlers<typeof pipelineRoutes> {
  const { pipeline, callbacks } = svc;
  const ownLive = async (principal: Parameters<typeof pipeline.ownRequest>[0], requestId: string) => {
    const r = await pipeline.ownRequest(principal, requestId);
    // Using the request is activity on its session; a dead session answers 401.
    await svc.sessions.use(r.session_id);
    return (await pipeline.requests.get(requestId))!;
  };
  return {
    deviceMenu: async () => await pipeline.liveMenu(),
    createRequest: ({ principal, body }) =>
      pipeline.createRequest(
        principal,
        body.optionId,
        body.idempotencyKey,
        body.channel,
        body.verifyOnCall === true,
      ),
    deviceRequest: async ({ principal, params }) =>
      await pipeline.requestView(await pipeline.ownRequest(principal, params.requestId)),
    cancelRequest: async ({ principal, params }) => {
      const r = await pipeline.ownRequest(principal, params.requestId);
      if (r.state === 'completed') throw conflict('the request is already completed');
      await pipeline.abandon(r.id, 'customer_left');
      await svc.sessions.end(r.session_id, 'ended', `device:${principal.device.id}`);
      return await pipeline.requestViewOf(r.id);
    },
    callbackSlots: async ({ principal, params, query }) =>
      await callbacks.view(await ownLive(principal, params.requestId), query.day),
    setCallback: async ({ principal, params, body }) => {
      const r = await ownLive(principal, params.requestId);
      if (body.mode === 'slot') await callbacks.book(r, Date.parse(body.slotStart));
      else
        await callbacks.keepPlace(
          r,
          body.window
            ? { from: Date.parse(body.window.from), until: Date.parse(body.window.until) }
            : undefined,
        );
      return await pipeline.requestViewOf(r.id);
    },

    agentMe: async ({ principal }) => await pipeline.agentView(principal.staff.id),
    agentStats: async ({ principal, query }) => {
      const now = svc.ctx.clock.now();
      const day = new Date(now);
      const since = query.since
        ? Date.parse(query.since)
        : Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate());
      if (since > now) throw badRequest('since is in the future');
      if (since < now - 31 * 86_400_000) throw badRequest('since is more than 31 days back');
      return await pipeline.agents.statsOf(principal.staff.id, since);
    },
    setPresence: async ({ principal, body }) =>
      await pipeline.setPresence(
        principal.staff.id,
        body.state,
        body.state === 'break' ? body.reasonCode : null,
        `staff:${principal.staff.id}`,
      ),
    agentQueues: async ({ principal }) => {
      const queues = await pipeline.agents.queuesOf(principal.staff.id);
      const st = await pipeline.capacity.staffingOf();
      return {
        queues: await pipeline.capacity.queueStatsOf(st, queues),
        requests: await pipeline.requestViews(await pipeline.requests.live(queues), st),
      };
    },
    acceptOffer: async ({ principal, params, body }) =>
      await pipeline.accept(principal.staff.id, params.requestId, body.fence),
    rejectOffer: async ({ principal, params, body }) => {
      await pipeline.reject(principal.staff.id, params.requestId, body.fence);
      return { ok: true };
    },
    completeRequest: async ({ principal, params, body }) =>
      await pipeline.complete(principal.staff.id, params.requestId, body.fence),
    callTicket: async ({ principal, params, body }) =>
      await svc.calls.issue(principal.staff.id, params.requestId, body.fence),
    callAnswer: async ({ principal, params, body }) => {
      const r = await svc.calls.checkAnswer(
        principal.staff.id,
        params.requestId,
        body.fence,
        body.ticket,
        body.proof,
      );
      if (r.verified && body.callId)
        await svc.recordings.callAnswered(principal.staff.id, params.requestId, body.fence, body.callId);
      return r.verified ? { verified: true as const, at: new Date(r.at).toISOString() } : r;
    },
    callEnd: async ({ principal, params, body }) => {
      const r = await svc.calls.end(principal.staff.id, params.requestId, body.fence, body.ticket);
      return { ended: r.ended, at: new Date(r.at).toISOString() };
    },
    sipCallEnd: async ({ body }) => {
      const r = await svc.calls.endedOnSipServer(body);
      return { requestId: r.requestId, ended: r.ended, at: new Date(r.at).toISOString() };
    },
    callProof: async ({ principal, body }) => {
      const r = await svc.calls.prove(principal, body.ticket, body.proof);
      return {
        verified: true as const,
        requestId: r.requestId,
        sessionId: r.sessionId,
        at: new Date(r.at).toISOString(),
      };
    },
    getRequest: async ({ params }) => await pipeline.requestViewOf(params.requestId),

    board: async () => {
      const st = await pipeline.capacity.staffingOf();
      const queues = pipeline.config.config.queues.map((q) => q.id);
      return {
        queues: await pipeline.capacity.queueStatsOf(st, queues),
        requests: await pipeline.requestViews(await pipeline.requests.live(null), st),
        agents: await pipeline.agentViews(await pipeline.agents.all(), st),
      };
    },
    setAgentPresence: async ({ principal, params, body }) => {
      if (!(await svc.staff.get(params.staffId))) throw notFound('no such staff member');
      return await pipeline.setPresence(
        params.staffId,
        body.state,
        body.state === 'break' ? body.reasonCode : null,
        `staff:${principal.staff.id}`,
      );
    },

    getPipelineConfig: () => pipeline.config.config,
    putPipelineConfig: async ({ body, principal }) => {
      const c = await pipeline.config.replace(body, `staff:${principal.staff.id}`);
      await pipeline.announce([]);
      return c;
    },
    setAgentProfile: async ({ params, body }) => {
      await pipeline.agents.setProfile(params.staffId, body.skills, body.queues, body.chatCapacity ?? null);
      await pipeline.announce([], [params.staffId]);
      return await pipeline.agentView(params.staffId);
    },
    setAgentSchedule: async ({ params, body }) => {
      await pipeline.agents.setSchedule(
        params.staffId,
        body.shifts.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.end) })),
      );
      await pipeline.announce([], [params.staffId]);
      return await pipeline.agentView(params.staffId);
    },
  };
}
