import type { directoryRoutes, TransferTargetStaff } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/**
 * Transfer targets for any staff member: enabled colleagues with their presence, whether
 * they are free and which queues' chats they have room for, and the configured queues.
 * Read-only: a staff member without an agent record is listed offline rather than given one
 * (with room for a chat of any queue, as someone holding nothing).
 */
export async function directoryHandlers(svc: Services): Promise<Handlers<typeof directoryRoutes>> {
  const { pipeline } = svc;
  return {
    transferTargets: async ({ principal }) => {
      const rows = await svc.staff.colleagues(principal.staff.id);
      const agents = await pipeline.agents.all();
      const views = new Map(
        (await pipeline.agentViews(agents.filter((a) => rows.some((s) => s.id === a.staff_id)))).map((v) => [
          v.staffId,
          v,
        ]),
      );
      const room = await pipeline.chatRoom(agents);
      const nothingHeld = { chatsHeld: 0, chatRoomIn: pipeline.config.config.queues.map((q) => q.id) };
      const staff: TransferTargetStaff[] = rows.map((s) => {
        const a = views.get(s.id);
        const held = room.get(s.id) ?? nothingHeld;
        if (!a)
          return {
            staffId: s.id,
            displayName: s.display_name,
            role: s.role,
            presence: 'offline',
            onShift: true,
            busy: false,
            queues: [],
            ...held,
          };
        return {
          staffId: s.id,
          displayName: s.display_name,
          role: s.role,
          presence: a.presence,
          onShift: a.onShift,
          busy: a.currentRequestId !== null || a.offer !== null,
          queues: a.queues,
          ...held,
        };
      });
      const queues = pipeline.config.config.queues.map((q) => ({ queueId: q.id, name: q.name }));
      return { staff, queues };
    },
  };
}
