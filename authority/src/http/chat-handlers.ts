import type { chatRoutes } from '../../../protocol/src/chat.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Chat transcripts: a request's for staff (History, the board), the customer's own conversations from a device, an admin's deletion; attachments up and down. */
export function chatHandlers(svc: Services): Handlers<typeof chatRoutes> {
  const transcripts = svc.transcripts;
  return {
    requestTranscript: async ({ principal, params, query }) =>
      await transcripts.forStaff(principal.staff, params.requestId, query),
    deviceConversations: async ({ principal, query }) => await transcripts.conversations(principal, query),
    deviceConversation: async ({ principal, params, query }) =>
      await transcripts.forDevice(principal, params.requestId, query),
    deleteTranscript: async ({ principal, params, body }) =>
      await transcripts.deleteByAdmin(principal.staff, params.requestId, body),
    deviceAttach: async ({ principal, params, query, contentType, body }) =>
      await svc.attachments.fromDevice(principal, params.requestId, query, contentType, body),
    agentAttach: async ({ principal, params, query, contentType, body }) =>
      await svc.attachments.fromAgent(principal.staff, params.requestId, query, contentType, body),
    deviceAttachment: async ({ principal, params }) =>
      await svc.attachments.forDevice(principal, params.requestId, params.attachmentId),
    requestAttachment: async ({ principal, params }) =>
      await svc.attachments.forStaff(principal.staff, params.requestId, params.attachmentId),
    myQuickReplies: async ({ principal }) => await svc.quickReplies.mine(principal.staff),
    setQuickReplies: async ({ principal, body }) => await svc.quickReplies.set(principal.staff, body),
    teamQuickReplies: async () => await svc.quickReplies.team(),
    setTeamQuickReplies: async ({ principal, body }) => await svc.quickReplies.setTeam(principal.staff, body),
  };
}
