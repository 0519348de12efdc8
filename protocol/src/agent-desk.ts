import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { Factor } from './identity.ts';
import { DeviceId } from './keys.ts';
import { ConfigId, Disposition, RequestView } from './pipeline.ts';
import { CustodyEntry } from './transfers.ts';

/** Never a bare yes/no: how far the customer got against what this request needs. */
export const VerificationState = z.enum(['verified', 'partially_verified', 'not_verified', 'failed']);
export type VerificationState = z.infer<typeof VerificationState>;

export const SecureField = z.strictObject({
  field: z.enum(['accountNumber', 'balance', 'orders']),
  label: ShortText,
  level: AssuranceLevel,
  /** Present only when the authentication's level reaches `level`: locked fields never leave the authority. */
  value: z.unknown().optional(),
  locked: z.boolean(),
});
export type SecureField = z.infer<typeof SecureField>;

export const PhotoRef = z.strictObject({ photoId: OpaqueId, at: IsoTime });

/** The agent's verdict on a verification photo compared with the enrolment photo. */
export const PhotoVerdict = z.enum(['match', 'no_match']);
export type PhotoVerdict = z.infer<typeof PhotoVerdict>;

/**
 * The latest verification photo of the request's authentication and its comparison. A
 * verification photo counts as the "photo" factor only once the agent holding the
 * request has compared it with the enrolment photo and recorded "match".
 */
export const PhotoComparison = z.strictObject({
  photoId: OpaqueId,
  verdict: z.enum(['pending', 'match', 'no_match']),
  /** The staff member who compared (display name), once compared. */
  comparedBy: ShortText.nullable(),
  comparedAt: IsoTime.nullable(),
  /** Why this photo cannot verify the customer now (no enrolment photo, a factor locked out), or null. */
  unavailable: z.string().max(LIMITS.shortText).nullable(),
});
export type PhotoComparison = z.infer<typeof PhotoComparison>;
export const ComparePhotoRequest = z.strictObject({ fence: z.number().int().min(1), verdict: PhotoVerdict });

/** Everything the verified-customer panel shows, for the agent holding (or being offered) the request. */
export const CustomerPanel = z.strictObject({
  request: RequestView,
  customer: z.strictObject({
    customerId: OpaqueId,
    name: ShortText,
    tier: z.string().nullable(),
    segment: z.string().nullable(),
  }),
  verification: z.strictObject({
    state: VerificationState,
    level: AssuranceLevel,
    requiredLevel: AssuranceLevel,
    authenticationId: OpaqueId,
    factors: z.array(Factor),
    expiresAt: IsoTime,
    /** When the authentication was opened (its factors carry their own original times; a transfer keeps them). */
    authenticatedAt: IsoTime.optional(),
  }),
  device: z
    .strictObject({ deviceId: DeviceId, label: z.string().nullable(), enrolledAt: IsoTime })
    .nullable(),
  risk: z.strictObject({
    newDevice: z.boolean(),
    recentFailures: z.number().int().min(0),
    counterAnomaly: z.boolean(),
  }),
  photos: z.strictObject({
    enrolment: PhotoRef.nullable(),
    latest: PhotoRef.nullable(),
    comparison: PhotoComparison.nullable(),
  }),
  secure: z.array(SecureField),
  voice: z.strictObject({ verified: z.boolean(), at: IsoTime.nullable() }),
  /** Chain of custody: who held the session, from when until when, and how they came to hold it. */
  custody: z.array(CustodyEntry).optional(),
});
export type CustomerPanel = z.infer<typeof CustomerPanel>;

export const Dispositions = z.strictObject({ dispositions: z.array(Disposition) });

export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'an idempotency key is 16 to 64 url-safe characters');

/** A wrap-up: disposition path (e.g. ["resolved", "card-blocked"]) and notes. Sent from the console's outbox. */
export const WrapUpRequest = z.strictObject({
  idempotencyKey: IdempotencyKey,
  fence: z.number().int().min(1),
  disposition: z.array(ConfigId).min(1).max(4),
  notes: z.string().max(LIMITS.longText),
});
export type WrapUpRequest = z.infer<typeof WrapUpRequest>;
export const WrapUpResult = z.strictObject({
  wrapUpId: OpaqueId,
  duplicate: z.boolean(),
  receivedAt: IsoTime,
});

export const PhotoParams = z.strictObject({ requestId: OpaqueId, photoId: OpaqueId });
