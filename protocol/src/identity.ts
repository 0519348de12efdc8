import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { DeviceId, P256PublicJwk, P256Signature } from './keys.ts';

export const EnrolmentCode = z
  .string()
  .min(6)
  .max(32)
  .regex(/^[A-Z0-9-]+$/, 'enrolment codes are upper-case letters, digits and dashes');

export const ChallengeRequest = z.discriminatedUnion('purpose', [
  z.strictObject({ purpose: z.literal('enrol') }),
  z.strictObject({ purpose: z.literal('authenticate'), deviceId: DeviceId }),
]);
export type ChallengeRequest = z.infer<typeof ChallengeRequest>;

export const Challenge = z.strictObject({
  challengeId: OpaqueId,
  nonce: OpaqueId,
  expiresAt: IsoTime,
});
export type Challenge = z.infer<typeof Challenge>;

export const EnrolRequest = z.strictObject({
  code: EnrolmentCode,
  publicKey: P256PublicJwk,
  challengeId: OpaqueId,
  signature: P256Signature,
  label: ShortText.optional(),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

export const FactorKind = z.enum(['device', 'pin', 'biometric', 'photo', 'knowledge']);
export type FactorKind = z.infer<typeof FactorKind>;

export const Factor = z.strictObject({
  kind: FactorKind,
  at: IsoTime,
  deviceId: DeviceId.nullable(),
  detail: z.string().max(LIMITS.shortText).nullable(),
});
export type Factor = z.infer<typeof Factor>;

export const AuthenticationView = z.strictObject({
  authenticationId: OpaqueId,
  customerId: OpaqueId,
  deviceId: DeviceId.nullable(),
  level: AssuranceLevel,
  factors: z.array(Factor),
  createdAt: IsoTime,
  expiresAt: IsoTime,
});
export type AuthenticationView = z.infer<typeof AuthenticationView>;

/**
 * Enrolment opens the device's first authentication (level 1, factor "device") and its
 * token at once. That authentication alone may set up factors (PIN, biometric, enrolment
 * photo) until `setupUntil`: the one-time code vouched for the person; a later
 * authentication with the device key alone may not (see FACTOR_SETUP_LEVEL).
 */
export const EnrolResponse = z.strictObject({
  deviceId: DeviceId,
  customerId: OpaqueId,
  customerName: ShortText,
  authentication: AuthenticationView,
  deviceToken: OpaqueId,
  tokenExpiresAt: IsoTime,
  setupUntil: IsoTime,
});
export type EnrolResponse = z.infer<typeof EnrolResponse>;

export const AuthenticateRequest = z.strictObject({
  deviceId: DeviceId,
  challengeId: OpaqueId,
  signature: P256Signature,
});
export type AuthenticateRequest = z.infer<typeof AuthenticateRequest>;

export const AuthenticateResponse = z.strictObject({
  authentication: AuthenticationView,
  deviceToken: OpaqueId,
  tokenExpiresAt: IsoTime,
});
export type AuthenticateResponse = z.infer<typeof AuthenticateResponse>;

export const Pin = z.string().regex(/^[0-9]{4,12}$/, 'a PIN is 4 to 12 digits');
export const SetPinRequest = z.strictObject({ pin: Pin });
export const PinRequest = z.strictObject({ pin: Pin });

export const FactorSetupView = z.strictObject({
  until: IsoTime.nullable(),
  pin: z.boolean(),
  biometric: z.boolean(),
  photo: z.boolean(),
});
export type FactorSetupView = z.infer<typeof FactorSetupView>;

/** What the customer is told on their other devices when their identity changes. */
export const SecurityNoticeKind = z.enum(['device.enrolled', 'pin.set', 'biometric.added', 'photo.enrolled']);
export type SecurityNoticeKind = z.infer<typeof SecurityNoticeKind>;
export const SecurityNotice = z.strictObject({
  noticeId: OpaqueId,
  kind: SecurityNoticeKind,
  at: IsoTime,
  /** The device on which the change was made. */
  byDevice: z.strictObject({ deviceId: DeviceId, label: z.string().max(LIMITS.shortText).nullable() }),
});
export type SecurityNotice = z.infer<typeof SecurityNotice>;

export const DeviceMe = z.strictObject({
  deviceId: DeviceId,
  customerId: OpaqueId,
  customerName: ShortText,
  enrolled: z.strictObject({ pin: z.boolean(), biometric: z.boolean(), photo: z.boolean() }),
  authentication: AuthenticationView,
  /** Which factors the current authentication may add or replace now, and until when the enrolment grant lasts (null: none). */
  setup: FactorSetupView,
  /** Security notices not yet acknowledged on this device, oldest first. */
  notices: z.array(SecurityNotice),
});
export type DeviceMe = z.infer<typeof DeviceMe>;
export const NoticeParams = z.strictObject({ noticeId: OpaqueId });

/**
 * WebAuthn JSON shapes (WebAuthn L3 "toJSON" encodings). Validated here for size and
 * shape; @simplewebauthn/server checks the cryptographic content.
 */
const B64 = z
  .string()
  .max(16384)
  .regex(/^[A-Za-z0-9_-]*={0,2}$/, 'must be base64url');
export const RegistrationResponseJSON = z.strictObject({
  id: B64.min(1).max(1024),
  rawId: B64.min(1).max(1024),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: B64,
    attestationObject: B64,
    authenticatorData: B64.optional(),
    transports: z.array(z.string().max(32)).max(8).optional(),
    publicKeyAlgorithm: z.number().int().optional(),
    publicKey: B64.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string().max(64), z.unknown()).default({}),
});
export const AuthenticationResponseJSON = z.strictObject({
  id: B64.min(1).max(1024),
  rawId: B64.min(1).max(1024),
  type: z.literal('public-key'),
  response: z.strictObject({
    clientDataJSON: B64,
    authenticatorData: B64,
    signature: B64,
    userHandle: B64.optional(),
  }),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  clientExtensionResults: z.record(z.string().max(64), z.unknown()).default({}),
});
/** Options are produced by the authority and passed to the browser as they are. */
export const WebAuthnOptions = z.looseObject({ challenge: z.string(), timeout: z.number().optional() });
export const WebAuthnRegistrationRequest = z.strictObject({ response: RegistrationResponseJSON });
export const WebAuthnAssertionRequest = z.strictObject({ response: AuthenticationResponseJSON });
export const WebAuthnRegistered = z.strictObject({ credentialId: z.string().max(1024) });

export const PhotoPurpose = z.enum(['enrolment', 'verification']);
export const PhotoQuery = z.strictObject({ purpose: PhotoPurpose });
export const PhotoStored = z.strictObject({
  photoId: OpaqueId,
  purpose: PhotoPurpose,
  authentication: AuthenticationView.nullable(),
  /** A verification photo counts only once the agent has compared it with the enrolment photo. */
  pendingComparison: z.boolean(),
});
export const PHOTO_TYPES = ['image/jpeg', 'image/png'] as const;

export const KnowledgeQuestion = z.strictObject({ questionId: OpaqueId, prompt: ShortText });
export const KnowledgeQuestions = z.strictObject({ questions: z.array(KnowledgeQuestion) });
export const KnowledgeCheckRequest = z.strictObject({
  answers: z
    .array(z.strictObject({ questionId: OpaqueId, answer: z.string().min(1).max(LIMITS.shortText) }))
    .min(1)
    .max(5),
});
export const KnowledgeCheckResult = z.strictObject({
  passed: z.boolean(),
  authentication: AuthenticationView.nullable(),
});
