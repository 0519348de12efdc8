import { z } from 'zod';
import { IsoTime, OpaqueId } from './common.ts';
import { ConfigId, FenceBody, RequestParams } from './pipeline.ts';
import { ANY_STAFF, route, SUPERVISORS } from './route-def.ts';
import { TransferKind, TransferMode } from './transfers.ts';

/** A request's call recording now: none, recording, or paused by the holder (since when). */
export const RecordingState = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('none').describe('No call of this request is being recorded now.') }),
  z.strictObject({
    state: z
      .enum(['recording', 'paused'])
      .describe('The live call is being recorded, or the holder paused it.'),
    recordingId: OpaqueId,
    since: IsoTime.describe('When it was last started, resumed or paused.'),
  }),
]);
export type RecordingState = z.infer<typeof RecordingState>;

export const RecordingSpanView = z.strictObject({
  startedAt: IsoTime.describe('When this recorded span began (a pause lies between two spans).'),
  endedAt: IsoTime,
  offsetMs: z.number().int().min(0).describe('Where the span starts in the audio file.'),
  durationMs: z.number().int().min(0).describe('How long the span lasts, in milliseconds.'),
});

/** A transfer on a recording's timeline: when the request changed hands during the call. */
export const RecordingTransferMark = z.strictObject({
  at: IsoTime.describe(
    'When it took effect: a blind transfer, take-over or reassign when made; a warm one when the target accepted.',
  ),
  kind: TransferKind.describe('transfer (by the holder), take_over or reassign (by a supervisor).'),
  mode: TransferMode.describe('blind or warm.'),
  fromStaffId: OpaqueId.nullable().describe('The holder it moved away from, or null.'),
  toStaffId: OpaqueId.nullable().describe('The person it went to, or null for a queue.'),
  toQueueId: ConfigId.nullable().describe('The queue it went back to, or null for a person.'),
});
export type RecordingTransferMark = z.infer<typeof RecordingTransferMark>;

export const RecordingView = z.strictObject({
  id: OpaqueId,
  requestId: OpaqueId,
  state: z
    .enum(['recording', 'paused', 'stored', 'failed'])
    .describe(
      'recording or paused during the call; stored once the WAV is kept; failed when it could not be made.',
    ),
  channels: z.array(z.string()).describe('The party of each audio channel, e.g. ["agent","customer"].'),
  spans: z.array(RecordingSpanView).describe('Recorded spans (stored recordings only); gaps are pauses.'),
  transfers: z
    .array(RecordingTransferMark)
    .describe(
      'The transfers of the request that took effect while this recording ran (from its first instant to its last, or since it started while live), oldest first.',
    ),
  durationMs: z
    .number()
    .int()
    .nullable()
    .describe('Length of the stored audio in milliseconds (null until stored).'),
  error: z.string().nullable().describe('Why the recording failed, or null.'),
  createdAt: IsoTime,
  retainUntil: IsoTime.nullable().describe('Deleted (audited) after this.'),
});
export type RecordingView = z.infer<typeof RecordingView>;
export const RecordingList = z.strictObject({
  recordings: z.array(RecordingView).describe("The request's recordings, oldest first."),
});

/** The largest recording played through the API in one answer (about 20 minutes of two 8 kHz channels). */
export const MAX_PLAYBACK_BYTES = 40 * 1024 * 1024;

export const RecordingParams = z.strictObject({ recordingId: OpaqueId.describe('The recording.') });
export const RecordingAudio = z.strictObject({
  recording: RecordingView.describe('The recording played.'),
  type: z.literal('audio/wav').describe('16-bit PCM WAV, 8 kHz, one channel per party (see `channels`).'),
  audio: z
    .string()
    .max(Math.ceil(MAX_PLAYBACK_BYTES / 3) * 4 + 4)
    .describe('The WAV file, base64.'),
});

export const recordingRoutes = {
  recordingState: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/recording',
    summary: "Whether the request's live call is being recorded, or paused",
    description:
      "Whether the request's live call is being recorded by the media server (calls anchored through Kamailio + rtpengine are), or paused by the holder. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.",
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: RecordingState,
  }),
  pauseRecording: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/recording/pause',
    summary: 'Pauses the recording of the live call (e.g. while a card number is read out)',
    description:
      "Pauses the recording of the request's live call: the media server writes nothing until it is resumed, so the paused span is absent from the stored audio. Audited. Fenced: only the holder under the current fencing number (403 not_assigned for anyone else, 409 stale_fence after the request moved on). Caller: the agent holding the request.",
    errors: {
      403: 'not_assigned: the caller does not hold the request.',
      409: 'conflict or stale_fence: no call of this request is being recorded, it is paused already, or the fencing number is not current.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: RecordingState,
  }),
  resumeRecording: route({
    method: 'POST',
    path: '/v1/agent/requests/:requestId/recording/resume',
    summary: 'Resumes the paused recording of the live call',
    description:
      "Resumes the paused recording of the request's live call. Audited. Fenced like the pause. Caller: the agent holding the request.",
    errors: {
      403: 'not_assigned: the caller does not hold the request.',
      409: 'conflict or stale_fence: no call of this request is being recorded, it is not paused, or the fencing number is not current.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    body: FenceBody,
    response: RecordingState,
  }),
  requestRecordings: route({
    method: 'GET',
    path: '/v1/supervisor/requests/:requestId/recordings',
    summary: "The request's call recordings, with their spans and pauses",
    description:
      "The request's call recordings: state, channels, the recorded spans (gaps between them are pauses), duration and retention. Caller: a supervisor or admin. Changes nothing.",
    tag: 'calls',
    auth: 'staff',
    roles: SUPERVISORS,
    params: RequestParams,
    response: RecordingList,
  }),
  playRecording: route({
    method: 'GET',
    path: '/v1/supervisor/recordings/:recordingId/audio',
    summary: 'The audio of a stored recording, for playback (audited)',
    description:
      'The WAV of a stored recording (base64) with its channels and recorded spans (the gaps between spans are the pauses), for playback in the console. Every playback is audited (`recording.playback`). Caller: a supervisor or admin.',
    errors: {
      404: 'not_found: no such recording.',
      409: 'conflict: the recording is not stored (still live, failed, or too long to play through the API).',
    },
    tag: 'calls',
    auth: 'staff',
    roles: SUPERVISORS,
    params: RecordingParams,
    response: RecordingAudio,
  }),
} as const;
