import { z } from 'zod';

/** Limits shared by every boundary: HTTP bodies, WebSocket frames, bridge calls. */
export const LIMITS = {
  jsonBodyBytes: 64 * 1024,
  photoBytes: 2 * 1024 * 1024,
  wsFrameBytes: 64 * 1024,
  jsonDepth: 32,
  shortText: 200,
  longText: 4000,
  arrayItems: 100,
} as const;

/** The one error shape every 4xx/5xx answer carries. */
export const ApiError = z.strictObject({
  code: z.string().max(LIMITS.shortText),
  message: z.string().max(LIMITS.longText),
  details: z.unknown().optional(),
});
export type ApiError = z.infer<typeof ApiError>;

export const ErrorCodes = [
  'invalid_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'gone',
  'locked',
  'payload_too_large',
  'unsupported_media_type',
  'rate_limited',
  'internal',
  // remote control, transfers and supervisor actions (issue 7)
  'not_assigned',
  'stale_fence',
  'level_too_low',
  'control_stopped',
  'session_ended',
  'command_expired',
  'command_replayed',
  'seq_out_of_order',
  'command_final',
  'already_acknowledged',
  'invalid_result',
  'signature_invalid',
  'menu_revised',
  'factor_missing',
  'factor_unavailable',
  'target_unavailable',
  'transfer_closed',
  // adding or replacing a factor without the level it grants (issue 16)
  'factor_setup_not_allowed',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export const Base64Url = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url without padding');

/** Opaque identifiers the authority generates (base64url of random bytes). */
export const OpaqueId = z
  .string()
  .min(16)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be an opaque identifier');

export const IsoTime = z.iso.datetime({ offset: false });

export const ShortText = z.string().min(1).max(LIMITS.shortText);
export const LongText = z.string().max(LIMITS.longText);

export const Ok = z.strictObject({ ok: z.literal(true) });
export type Ok = z.infer<typeof Ok>;

/** Assurance level: 0 none, 1 device, 2 device+PIN or device+photo, 3 device+biometric. */
export const AssuranceLevel = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);
export type AssuranceLevel = z.infer<typeof AssuranceLevel>;
