import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { DeviceId, P256PublicJwk, P256Signature } from './keys.ts';

export const EnrolmentCode = z
  .string()
  .min(6)
  .max(32)
  .regex(/^[A-Z0-9-]+$/, 'enrolment codes are upper-case letters, digits and dashes')
  .describe('A one-time enrolment code (upper-case letters, digits and dashes), issued by an admin.');

export const ChallengeRequest = z.discriminatedUnion('purpose', [
  z.strictObject({ purpose: z.literal('enrol').describe('A challenge to enrol a new device key.') }),
  z.strictObject({
    purpose: z.literal('authenticate').describe('A challenge to authenticate an enrolled device.'),
    deviceId: DeviceId.describe('The enrolled device that will sign the challenge.'),
  }),
]);
export type ChallengeRequest = z.infer<typeof ChallengeRequest>;

export const Challenge = z.strictObject({
  challengeId: OpaqueId.describe('The challenge, to send back with the signature; single use.'),
  nonce: OpaqueId.describe('Random nonce that goes into the signed message.'),
  expiresAt: IsoTime.describe('When the challenge can no longer be used.'),
});
export type Challenge = z.infer<typeof Challenge>;

export const EnrolRequest = z.strictObject({
  code: EnrolmentCode.describe('The one-time enrolment code the customer was given.'),
  publicKey: P256PublicJwk.describe("The device's P-256 public key (its identity from now on)."),
  challengeId: OpaqueId.describe('An unused "enrol" challenge.'),
  signature: P256Signature.describe(
    'Signature with the device key over "verified-desk/v1/enrol\\n<challengeId>\\n<nonce>\\n<code>".',
  ),
  label: ShortText.optional().describe('A name for the device the customer will recognise ("Pixel 8").'),
});
export type EnrolRequest = z.infer<typeof EnrolRequest>;

export const FactorKind = z.enum(['device', 'pin', 'biometric', 'photo', 'knowledge']);
export type FactorKind = z.infer<typeof FactorKind>;

export const Factor = z
  .strictObject({
    kind: FactorKind.describe(
      'The factor: device key, PIN, biometric, compared photo or security questions.',
    ),
    at: IsoTime.describe('When it was proven.'),
    deviceId: DeviceId.nullable().describe(
      'The device it was proven on (null for security questions asked by an agent).',
    ),
    detail: z.string().max(LIMITS.shortText).nullable().describe('More about how it was proven, or null.'),
  })
  .meta({ id: 'Factor', description: 'A factor proven in an authentication.' });
export type Factor = z.infer<typeof Factor>;

export const AuthenticationView = z
  .strictObject({
    authenticationId: OpaqueId.describe('The authentication.'),
    customerId: OpaqueId.describe('The customer it verifies.'),
    deviceId: DeviceId.nullable().describe('The device it was opened on (null when opened by an agent).'),
    level: AssuranceLevel.describe('The assurance level its factors reach.'),
    factors: z.array(Factor).describe('The factors proven, oldest first.'),
    createdAt: IsoTime.describe('When it was opened.'),
    expiresAt: IsoTime.describe('When it expires (then the device authenticates again).'),
  })
  .meta({
    id: 'AuthenticationView',
    description: 'An authentication: the customer, the device, the level its factors reach and its expiry.',
  });
export type AuthenticationView = z.infer<typeof AuthenticationView>;

/**
 * Enrolment opens the device's first authentication (level 1, factor "device") and its
 * token at once. That authentication alone may set up factors (PIN, biometric, enrolment
 * photo) until `setupUntil`: the one-time code vouched for the person; a later
 * authentication with the device key alone may not (see FACTOR_SETUP_LEVEL).
 */
export const EnrolResponse = z.strictObject({
  deviceId: DeviceId.describe('The new device id (thumbprint of its key).'),
  customerId: OpaqueId.describe('The customer the code was issued for.'),
  customerName: ShortText.describe("The customer's display name."),
  authentication: AuthenticationView.describe("The device's first authentication (level 1, factor device)."),
  deviceToken: OpaqueId.describe(
    'The device token for `Authorization: Device <token>` (with a Device-Proof).',
  ),
  tokenExpiresAt: IsoTime.describe('When the token (and the authentication) expires.'),
  setupUntil: IsoTime.describe(
    'Until when this authentication may set up the PIN, a biometric and the enrolment photo.',
  ),
});
export type EnrolResponse = z.infer<typeof EnrolResponse>;

export const AuthenticateRequest = z.strictObject({
  deviceId: DeviceId.describe('The enrolled device.'),
  challengeId: OpaqueId.describe('An unused "authenticate" challenge issued for this device.'),
  signature: P256Signature.describe(
    'Signature with the device key over "verified-desk/v1/authenticate\\n<challengeId>\\n<nonce>\\n<deviceId>".',
  ),
});
export type AuthenticateRequest = z.infer<typeof AuthenticateRequest>;

export const AuthenticateResponse = z.strictObject({
  authentication: AuthenticationView.describe('The new authentication (level 1, factor device).'),
  deviceToken: OpaqueId.describe(
    'The device token for `Authorization: Device <token>` (with a Device-Proof).',
  ),
  tokenExpiresAt: IsoTime.describe('When the token (and the authentication) expires.'),
});
export type AuthenticateResponse = z.infer<typeof AuthenticateResponse>;

export const Pin = z.string().regex(/^[0-9]{4,12}$/, 'a PIN is 4 to 12 digits');
/** PINs chosen so often that they are guessed first (besides sequences and repeats). */
const COMMON_PINS = new Set([
  '2580',
  '0852',
  '1004',
  '2000',
  '1010',
  '6969',
  '1122',
  '1313',
  '4444',
  '5683',
  '0007',
  '1998',
  '2468',
  '8642',
  '112233',
  '159753',
  '147258',
  '258369',
  '123123',
  '654321',
  '696969',
  '102030',
  '789456',
  '147852',
]);

/**
 * Why a PIN being chosen is too easy to guess (NIST SP 800-63B 5.1.1.2: refuse sequential and
 * repetitive values and commonly used ones), or null when it is acceptable. Checked when a PIN is
 * set, never when one is entered.
 */
export function weakPinReason(pin: string): string | null {
  const d = [...pin].map(Number);
  if (d.every((x) => x === d[0])) return 'the same digit repeated';
  const steps = d.slice(1).map((x, i) => (x - d[i]! + 10) % 10);
  if (steps.every((s) => s === 1) || steps.every((s) => s === 9)) return 'a sequence of digits';
  for (const n of [2, 3]) {
    if (pin.length % n === 0 && pin.length > n && pin === pin.slice(0, n).repeat(pin.length / n))
      return 'a short group of digits repeated';
  }
  if (COMMON_PINS.has(pin)) return 'one of the most common PINs';
  return null;
}

export const NewPin = Pin.superRefine((pin, ctx) => {
  const reason = /^[0-9]{4,12}$/.test(pin) ? weakPinReason(pin) : null;
  if (reason)
    ctx.addIssue({ code: 'custom', message: `this PIN is too easy to guess (${reason}): choose another` });
});
export const SetPinRequest = z.strictObject({
  pin: NewPin.describe('The new PIN: 4 to 12 digits, not a sequence, a repeat or a common PIN.'),
});
export const PinRequest = z.strictObject({ pin: Pin.describe("The customer's PIN: 4 to 12 digits.") });

export const FactorSetupView = z.strictObject({
  until: IsoTime.nullable().describe(
    "Until when the enrolment's set-up window lasts, or null when there is none.",
  ),
  pin: z.boolean().describe('Whether the PIN may be set or changed now.'),
  biometric: z.boolean().describe('Whether a biometric may be registered now.'),
  photo: z.boolean().describe('Whether the enrolment photo may be uploaded or replaced now.'),
});
export type FactorSetupView = z.infer<typeof FactorSetupView>;

/** What the customer is told on their other devices when their identity changes. */
export const SecurityNoticeKind = z.enum(['device.enrolled', 'pin.set', 'biometric.added', 'photo.enrolled']);
export type SecurityNoticeKind = z.infer<typeof SecurityNoticeKind>;
export const SecurityNotice = z.strictObject({
  noticeId: OpaqueId.describe('The notice, to acknowledge once shown.'),
  kind: SecurityNoticeKind.describe(
    'What changed: a device enrolled, the PIN set, a biometric added, the enrolment photo.',
  ),
  at: IsoTime.describe('When it changed.'),
  /** The device on which the change was made. */
  byDevice: z
    .strictObject({
      deviceId: DeviceId.describe('The device id.'),
      label: z.string().max(LIMITS.shortText).nullable().describe("The device's label, or null."),
    })
    .describe('The device on which the change was made.'),
});
export type SecurityNotice = z.infer<typeof SecurityNotice>;

export const DeviceMe = z.strictObject({
  deviceId: DeviceId.describe('This device.'),
  customerId: OpaqueId.describe('Its customer.'),
  customerName: ShortText.describe("The customer's display name."),
  enrolled: z
    .strictObject({
      pin: z.boolean().describe('The customer has a PIN.'),
      biometric: z.boolean().describe('The customer has a biometric registered.'),
      photo: z.boolean().describe('The customer has an enrolment photo.'),
    })
    .describe('Which factors the customer has set up.'),
  authentication: AuthenticationView.describe('The current authentication of this device.'),
  /** Which factors the current authentication may add or replace now, and until when the enrolment grant lasts (null: none). */
  setup: FactorSetupView.describe(
    'Which factors the current authentication may add or replace now, and until when the enrolment grant lasts.',
  ),
  /** Security notices not yet acknowledged on this device, oldest first. */
  notices: z
    .array(SecurityNotice)
    .describe('Security notices not yet acknowledged on this device, oldest first.'),
});
export type DeviceMe = z.infer<typeof DeviceMe>;
export const NoticeParams = z.strictObject({ noticeId: OpaqueId.describe('The security notice.') });

/**
 * WebAuthn JSON shapes (WebAuthn L3 "toJSON" encodings). Validated here for size and
 * shape; @simplewebauthn/server checks the cryptographic content.
 */
const B64 = z
  .string()
  .max(16384)
  .regex(/^[A-Za-z0-9_-]*={0,2}$/, 'must be base64url');
const Attachment = z
  .enum(['platform', 'cross-platform'])
  .optional()
  .describe('How the authenticator is attached (a biometric is "platform").');
const ExtensionResults = z
  .record(z.string().max(64), z.unknown())
  .default({})
  .describe("The client's extension results (getClientExtensionResults()).");
export const RegistrationResponseJSON = z.strictObject({
  id: B64.min(1).max(1024).describe('The credential id, base64url.'),
  rawId: B64.min(1).max(1024).describe('The credential id, base64url (same as id).'),
  type: z.literal('public-key').describe('Always "public-key".'),
  response: z
    .strictObject({
      clientDataJSON: B64.describe('The client data JSON, base64url.'),
      attestationObject: B64.describe('The attestation object, base64url.'),
      authenticatorData: B64.optional().describe('The authenticator data, base64url.'),
      transports: z
        .array(z.string().max(32))
        .max(8)
        .optional()
        .describe('Transports the authenticator supports.'),
      publicKeyAlgorithm: z.number().int().optional().describe('COSE algorithm of the new key.'),
      publicKey: B64.optional().describe('The new public key (SPKI), base64url.'),
    })
    .describe("The authenticator's attestation response."),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ExtensionResults,
});
export const AuthenticationResponseJSON = z.strictObject({
  id: B64.min(1).max(1024).describe('The credential id, base64url.'),
  rawId: B64.min(1).max(1024).describe('The credential id, base64url (same as id).'),
  type: z.literal('public-key').describe('Always "public-key".'),
  response: z
    .strictObject({
      clientDataJSON: B64.describe('The client data JSON, base64url.'),
      authenticatorData: B64.describe('The authenticator data, base64url (user verification flag required).'),
      signature: B64.describe('The assertion signature, base64url.'),
      userHandle: B64.optional().describe('The user handle, base64url.'),
    })
    .describe("The authenticator's assertion response."),
  authenticatorAttachment: Attachment,
  clientExtensionResults: ExtensionResults,
});
/** Options are produced by the authority and passed to the browser as they are. */
export const WebAuthnOptions = z
  .looseObject({
    challenge: z.string().describe('The single-use challenge, base64url.'),
    timeout: z.number().optional().describe('Milliseconds the ceremony may take.'),
  })
  .describe(
    'PublicKeyCredentialCreationOptionsJSON or PublicKeyCredentialRequestOptionsJSON (WebAuthn L3), to pass to the browser or platform API as they are.',
  );
export const WebAuthnRegistrationRequest = z.strictObject({
  response: RegistrationResponseJSON.describe(
    'The new credential, as RegistrationResponseJSON (WebAuthn L3 toJSON()).',
  ),
});
export const WebAuthnAssertionRequest = z.strictObject({
  response: AuthenticationResponseJSON.describe(
    'The assertion, as AuthenticationResponseJSON (WebAuthn L3 toJSON()).',
  ),
});
export const WebAuthnRegistered = z.strictObject({
  credentialId: z.string().max(1024).describe('The registered credential id, base64url.'),
});

export const PhotoPurpose = z.enum(['enrolment', 'verification']);
export const PhotoQuery = z.strictObject({
  purpose: PhotoPurpose.describe(
    '"enrolment": the reference photo (needs the set-up right); "verification": a photo of now, for the agent to compare with it.',
  ),
});
export const PhotoStored = z.strictObject({
  photoId: OpaqueId.describe('The stored photo.'),
  purpose: PhotoPurpose.describe('What it was stored as.'),
  authentication: AuthenticationView.nullable().describe(
    'The current authentication (unchanged until the comparison).',
  ),
  /** A verification photo counts only once the agent has compared it with the enrolment photo. */
  pendingComparison: z
    .boolean()
    .describe(
      'A verification photo waits for the agent to compare it with the enrolment photo before it counts.',
    ),
});
export const PHOTO_TYPES = ['image/jpeg', 'image/png'] as const;

export const KnowledgeQuestion = z.strictObject({
  questionId: OpaqueId.describe('The question.'),
  prompt: ShortText.describe('The question to ask the customer.'),
});
export const KnowledgeQuestions = z.strictObject({
  questions: z.array(KnowledgeQuestion).describe("The customer's security questions (never the answers)."),
});
export const KnowledgeCheckRequest = z.strictObject({
  answers: z
    .array(
      z.strictObject({
        questionId: OpaqueId.describe('The question asked.'),
        answer: z
          .string()
          .min(1)
          .max(LIMITS.shortText)
          .describe('What the customer answered, as typed by the agent.'),
      }),
    )
    .min(1)
    .max(5)
    .describe('The answers the customer gave, one per question asked (1 to 5).'),
});
export const KnowledgeCheckResult = z.strictObject({
  passed: z.boolean().describe('Every answer was right.'),
  authentication: AuthenticationView.nullable().describe(
    'A new authentication opened by the check (level 1, factor knowledge, no device), or null when it failed.',
  ),
});
