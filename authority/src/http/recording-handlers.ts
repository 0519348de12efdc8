import { MAX_PLAYBACK_BYTES, type recordingRoutes } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handlers } from './bind.ts';

type RecordingRoutes = typeof recordingRoutes;

/** Recording state, pause and resume by the holder (refusals audited by the domain), the supervisor's list and playback. */
export function recordingHandlers(svc: Services): Handlers<RecordingRoutes> {
  const { recordings } = svc;
  return {
    recordingState: async ({ params }) => await recordings.state(params.requestId),
    pauseRecording: async ({ principal, params, body }) =>
      await recordings.pause(principal.staff.id, params.requestId, body.fence),
    resumeRecording: async ({ principal, params, body }) =>
      await recordings.resume(principal.staff.id, params.requestId, body.fence),
    requestRecordings: async ({ params }) => ({ recordings: await recordings.list(params.requestId) }),
    playRecording: async ({ principal, params }) => {
      const { recording, wav } = await recordings.play(
        principal.staff.id,
        params.recordingId,
        MAX_PLAYBACK_BYTES,
      );
      return { recording, type: 'audio/wav' as const, audio: wav.toString('base64') };
    },
  };
}
