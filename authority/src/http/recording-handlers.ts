import { MAX_PLAYBACK_BYTES, type recordingRoutes, type RouteDef } from '../../../protocol/src/index.ts';
import type { Services } from '../services.ts';
import type { Handler, Handlers } from './bind.ts';
import { DomainError } from '../errors.ts';
import type { RecordingRow } from '../store/repos/recordings.ts';

type RecordingRoutes = typeof recordingRoutes;

const iso = (ms: number) => new Date(ms).toISOString();

function recordingView(row: RecordingRow) {
  const stored = row.state === 'stored' || row.state === 'failed';
  const spans = stored
    ? (JSON.parse(row.segments) as {
        startedAt: number;
        endedAt: number;
        offsetMs: number;
        durationMs: number;
      }[])
    : [];
  return {
    id: row.id,
    requestId: row.request_id,
    state: row.state,
    channels: JSON.parse(row.channels) as string[],
    spans: spans
      .filter((s) => typeof s.offsetMs === 'number')
      .map((s) => ({
        startedAt: iso(s.startedAt),
        endedAt: iso(s.endedAt),
        offsetMs: s.offsetMs,
        durationMs: s.durationMs,
      })),
    durationMs: row.duration_ms,
    error: row.error,
    createdAt: iso(row.created_at),
    retainUntil: row.retain_until === null ? null : iso(row.retain_until),
  };
}

/** Recording state, pause and resume by the holder (refusals audited), the supervisor's list. */
export function recordingHandlers(svc: Services): Handlers<RecordingRoutes> {
  const { recordings } = svc;
  const handlers: Handlers<RecordingRoutes> = {
    recordingState: async ({ params }) => await recordings.state(params.requestId),
    pauseRecording: async ({ principal, params, body }) =>
      await recordings.pause(principal.staff.id, params.requestId, body.fence),
    resumeRecording: async ({ principal, params, body }) =>
      await recordings.resume(principal.staff.id, params.requestId, body.fence),
    requestRecordings: async ({ params }) => ({
      recordings: (await recordings.list(params.requestId)).map(recordingView),
    }),
    playRecording: async ({ principal, params }) => {
      const { row, wav } = await recordings.play(principal.staff.id, params.recordingId, MAX_PLAYBACK_BYTES);
      return { recording: recordingView(row), type: 'audio/wav' as const, audio: wav.toString('base64') };
    },
  };
  for (const id of ['pauseRecording', 'resumeRecording'] as const) {
    const inner = handlers[id] as unknown as Handler<RouteDef>;
    const audited: Handler<RouteDef> = async (input) => {
      try {
        return await inner(input);
      } catch (e) {
        if (e instanceof DomainError) {
          const p = input.principal as unknown as { staff: { id: string } };
          const params = input.params as { requestId: string };
          await svc.ctx.data.tx((r) =>
            r.audit.append({
              actor: `staff:${p.staff.id}`,
              action: id === 'pauseRecording' ? 'recording.pause' : 'recording.resume',
              subject: `request:${params.requestId}`,
              outcome: 'failure',
              data: { code: e.code, reason: e.message },
            }),
          );
        }
        throw e;
      }
    };
    (handlers as unknown as Record<string, Handler<RouteDef>>)[id] = audited;
  }
  return handlers;
}
