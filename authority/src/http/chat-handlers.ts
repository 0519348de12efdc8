import type { chatRoutes } from '../../../protocol/src/chat.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

/** Chat transcripts: a request's for staff (History, the board), the customer's own conversations from a device, an admin's deletion. */
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
  };
}
