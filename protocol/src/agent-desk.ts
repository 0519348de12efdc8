import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { Factor, KnowledgeCheckRequest } from './identity.ts';
import { DeviceId } from './keys.ts';
import { ConfigId, Disposition, RequestView } from './pipeline.ts';
import { CustodyEntry } from './transfers.ts';

/** Never a bare yes/no: how far the customer got against what this request needs. */
export const VerificationState = z.enum(['verified', 'partially_verified', 'not_verified', 'failed']);
export type VerificationState = z.infer<typeof VerificationState>;

export const SecureField = z.strictObject({
  field: z.enum(['accountNumber', 'balance', 'orders']).describe('The account field.'),
  label: ShortText.describe('What the agent reads.'),
  level: AssuranceLevel.describe('The level it needs.'),
  /** Present only when the authentication's level reaches `level`: locked fields never leave the authority. */
  value: z
    .unknown()
    .optional()
    .describe(
      "The value, present only when the authentication's level reaches `level` (locked fields never leave the authority).",
    ),
  locked: z.boolean().describe('The level is not reached: no value.'),
});
export type SecureField = z.infer<typeof SecureField>;

export const PhotoRef = z.strictObject({
  photoId: OpaqueId.describe('The photo (GET /v1/agent/requests/{requestId}/photos/{photoId}).'),
  at: IsoTime.describe('When it was taken.'),
});

/** The agent's verdict on a verification photo compared with the enrolment photo. */
export const PhotoVerdict = z.enum(['match', 'no_match']);
export type PhotoVerdict = z.infer<typeof PhotoVerdict>;

/**
 * The latest verification photo of the request's authentication and its comparison. A
 * verification photo counts as the "photo" factor only once the agent holding the
 * request has compared it with the enrolment photo and recorded "match".
 */
export const PhotoComparison = z.strictObject({
  photoId: OpaqueId.describe('The verification photo.'),
  verdict: z
    .enum(['pending', 'match', 'no_match'])
    .describe(
      'pending (not compared yet), match (the photo factor was added) or no_match (a failed verification).',
    ),
  /** The staff member who compared (display name), once compared. */
  comparedBy: ShortText.nullable().describe('Who compared (display name), or null.'),
  comparedAt: IsoTime.nullable().describe('When, or null.'),
  /** Why this photo cannot verify the customer now (no enrolment photo, a factor locked out), or null. */
  unavailable: z
    .string()
    .max(LIMITS.shortText)
    .nullable()
    .describe(
      'Why this photo cannot verify the customer now (no enrolment photo, a factor locked out), or null.',
    ),
});
export type PhotoComparison = z.infer<typeof PhotoComparison>;
export const ComparePhotoRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  verdict: PhotoVerdict.describe(
    'match: the same person as the enrolment photo; no_match: not the same person.',
  ),
});

/** Everything the verified-customer panel shows, for the agent holding (or being offered) the request. */
export const CustomerPanel = z.strictObject({
  request: RequestView.describe('The request.'),
  customer: z
    .strictObject({
      customerId: OpaqueId.describe('The customer.'),
      name: ShortText.describe('Display name.'),
      tier: z.string().nullable().describe('Customer tier attribute, or null.'),
      segment: z.string().nullable().describe('Customer segment attribute, or null.'),
    })
    .describe('Who the customer is.'),
  verification: z
    .strictObject({
      state: VerificationState.describe(
        'verified (the level the request needs is reached); failed (not reached, after failed attempts on this authentication); partially_verified (some level, not enough); not_verified.',
      ),
      level: AssuranceLevel.describe('The level reached (0 once the authentication has expired).'),
      requiredLevel: AssuranceLevel.describe('The level the request needs.'),
      authenticationId: OpaqueId.describe('The authentication.'),
      factors: z.array(Factor).describe('The factors proven.'),
      expiresAt: IsoTime.describe('When the authentication expires.'),
      /** When the authentication was opened (its factors carry their own original times; a transfer keeps them). */
      authenticatedAt: IsoTime.optional().describe(
        'When the authentication was opened (a transfer keeps it and its factors as they were).',
      ),
    })
    .describe('How far the customer got against what the request needs.'),
  device: z
    .strictObject({
      deviceId: DeviceId.describe('The device.'),
      label: z.string().nullable().describe("The device's label, or null."),
      enrolledAt: IsoTime.describe('When it was enrolled.'),
    })
    .nullable()
    .describe("The customer's device of this request, or null."),
  risk: z
    .strictObject({
      newDevice: z.boolean().describe('The device was enrolled in the last 7 days.'),
      recentFailures: z.number().int().min(0).describe('Failed attempts from this device in the last 24 h.'),
      pinFailures: z
        .number()
        .int()
        .min(0)
        .describe('Wrong PINs in a row for this customer now (reset by the right PIN).'),
      pinLockedUntil: z
        .string()
        .nullable()
        .describe(
          "Until when the customer's PIN is refused after wrong PINs (ISO time; 'admin' when only an admin can unlock it), or null.",
        ),
      counterAnomaly: z
        .boolean()
        .describe("A biometric's signature counter went backwards (a cloned authenticator?)."),
    })
    .describe('Risk signals.'),
  photos: z
    .strictObject({
      enrolment: PhotoRef.nullable().describe('The enrolment photo, or null.'),
      latest: PhotoRef.nullable().describe('The latest verification photo, or null.'),
      comparison: PhotoComparison.nullable().describe("The latest verification photo's comparison, or null."),
    })
    .describe("The customer's photos."),
  secure: z.array(SecureField).describe('Account fields, unlocked by level.'),
  voice: z
    .strictObject({
      verified: z
        .boolean()
        .describe("The device proved it answered this holder's call under the current fence."),
      at: IsoTime.nullable().describe('When, or null.'),
    })
    .describe('Whether the voice call is bound to the verified device.'),
  /** Chain of custody: who held the session, from when until when, and how they came to hold it. */
  custody: z
    .array(CustodyEntry)
    .optional()
    .describe('Chain of custody: who held the session, from when until when, and how they came to hold it.'),
});
export type CustomerPanel = z.infer<typeof CustomerPanel>;

export const Dispositions = z.strictObject({
  dispositions: z.array(Disposition).describe('The disposition code tree.'),
});

export const IdempotencyKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'an idempotency key is 16 to 64 url-safe characters');

/** A wrap-up: disposition path (e.g. ["resolved", "card-blocked"]) and notes. Sent from the console's outbox. */
export const WrapUpRequest = z.strictObject({
  idempotencyKey: IdempotencyKey.describe(
    '16 to 64 url-safe characters, one per wrap-up: a retry with the same key answers the first result.',
  ),
  fence: z.number().int().min(1).describe('The fencing number the agent held the request under.'),
  disposition: z
    .array(ConfigId)
    .min(1)
    .max(4)
    .describe('Path of codes in the disposition tree from the root, e.g. ["resolved", "card-blocked"].'),
  notes: z.string().max(LIMITS.longText).describe("The agent's notes (may be empty)."),
});
export type WrapUpRequest = z.infer<typeof WrapUpRequest>;
export const WrapUpResult = z.strictObject({
  wrapUpId: OpaqueId.describe('The wrap-up.'),
  duplicate: z
    .boolean()
    .describe('This key was seen before: the first wrap-up is answered, nothing new recorded.'),
  receivedAt: IsoTime.describe('When the first one was received.'),
});

export const PhotoParams = z.strictObject({
  requestId: OpaqueId.describe('The service request.'),
  photoId: OpaqueId.describe("A photo of the request's customer (or a screenshot image id)."),
});

/** The security questions the agent asks the caller of a request (never the answers). */
export const RequestKnowledgeQuestions = z.strictObject({
  questions: z
    .array(
      z.strictObject({
        questionId: OpaqueId.describe('The question.'),
        prompt: ShortText.describe('The question to ask the caller.'),
      }),
    )
    .describe("The customer's security questions, in the order they were set (never the answers)."),
  answersNeeded: z
    .number()
    .int()
    .min(0)
    .describe('How many of them a check must answer (0: the customer has none).'),
  failures: z.number().int().min(0).describe('Consecutive wrong checks so far.'),
  maxFailures: z.number().int().min(1).describe('Wrong checks in a row before checks are paused.'),
  lockedUntil: IsoTime.nullable().describe('Checks are paused until then, or null.'),
});
export type RequestKnowledgeQuestions = z.infer<typeof RequestKnowledgeQuestions>;
export const RequestKnowledgeCheck = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  answers: KnowledgeCheckRequest.shape.answers.describe(
    'One answer per question asked (at least `answersNeeded`), as typed by the agent.',
  ),
  agentMs: z
    .number()
    .int()
    .min(0)
    .max(3_600_000)
    .describe(
      "The agent's time on the questions, measured by the console (from showing them to sending the answers); audited.",
    ),
});
export type RequestKnowledgeCheck = z.infer<typeof RequestKnowledgeCheck>;
export const RequestKnowledgeResult = z.strictObject({
  passed: z.boolean().describe('Every answer was right: the factor knowledge was added.'),
  level: AssuranceLevel.describe("The request's verification level now."),
  failures: z.number().int().min(0).describe('Consecutive wrong checks, this one included (0 when passed).'),
  maxFailures: z.number().int().min(1).describe('Wrong checks in a row before checks are paused.'),
  lockedUntil: IsoTime.nullable().describe('This check paused further checks until then, or null.'),
  agentSeconds: z.number().min(0).describe('The agent time recorded for this check.'),
});
export type RequestKnowledgeResult = z.infer<typeof RequestKnowledgeResult>;
