import { z } from 'zod';
import { Ok, OpaqueId } from './common.ts';
import {
  AuthenticateRequest,
  AuthenticateResponse,
  AuthenticationView,
  Challenge,
  ChallengeRequest,
  DeviceMe,
  EnrolRequest,
  EnrolResponse,
  KnowledgeCheckRequest,
  KnowledgeCheckResult,
  KnowledgeQuestions,
  PhotoQuery,
  PhotoStored,
  PinRequest,
  SetPinRequest,
  WebAuthnAssertionRequest,
  WebAuthnOptions,
  WebAuthnRegistered,
  WebAuthnRegistrationRequest,
  EnrolmentCode,
  NoticeParams,
} from './identity.ts';
import {
  CreateStaffRequest,
  LoginRequest,
  LogoutRequest,
  RefreshRequest,
  SetRoleRequest,
  StaffUnlocked,
  StaffView,
  TokenPair,
} from './staff.ts';
import { EndSessionRequest, ServiceSession, SessionParams } from './sessions.ts';
import { ADMIN, ANY_STAFF, route, type RouteDef } from './route-def.ts';
import { pipelineRoutes } from './pipeline-routes.ts';
import { deskRoutes } from './desk-routes.ts';
import { controlRoutes } from './control-routes.ts';
import { directoryRoutes } from './directory.ts';
import { customerAdminRoutes } from './customer-admin-routes.ts';
import { SipCredentials } from './sip.ts';
import { pushRoutes } from './push.ts';
import { recordingRoutes } from './recording.ts';
import { monitoringRoutes } from './monitoring.ts';
import { deviceAccountRoutes } from './device-account.ts';
import { reportRoutes } from './reports.ts';
import { LogoutResult, ssoRoutes } from './sso.ts';
import { chatRoutes } from './chat.ts';
import { trunkRoutes } from './trunk.ts';

const CustomerParams = z.strictObject({ customerId: OpaqueId.describe('The customer.') });
const StaffParams = z.strictObject({ staffId: OpaqueId.describe('The staff member.') });
const AuthenticationParams = z.strictObject({ authenticationId: OpaqueId.describe('The authentication.') });

export const Health = z.strictObject({
  status: z.literal('ok').describe('Always "ok" when the authority answers.'),
  version: z.string().describe("The authority's version."),
  time: z.string().describe("The authority's clock (ISO 8601, UTC)."),
});
export const Jwks = z.strictObject({
  keys: z
    .array(
      z
        .looseObject({
          kty: z.string().describe('Key type ("EC").'),
          kid: z.string().describe('Key id, as in the JWS header.'),
        })
        .describe('A public JWK (RFC 7517): crv, x, y, alg, use.'),
    )
    .describe('The current and recent signing keys (RFC 7517 JWK Set).'),
});
export const EnrolmentCodeIssued = z.strictObject({
  code: EnrolmentCode.describe('The one-time code to give the customer.'),
  expiresAt: z.string().describe('When the code stops working (ISO 8601, UTC).'),
});
export const AuditVerifyResult = z.strictObject({
  ok: z.boolean().describe('The hash chain is intact.'),
  rows: z.number().int().describe('Rows checked.'),
  firstBrokenSeq: z.number().int().nullable().describe('The first row whose hash does not follow, or null.'),
  reason: z.string().nullable().describe('What is wrong there, or null.'),
});

/** Identity, factors, sessions, staff and admin routes. The authority binds a handler to each; the OpenAPI document is generated from the table. */
export const identityRoutes = {
  health: route({
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness',
    description:
      'Answers while the authority runs: its version and clock; 503 `draining` while a node stops cleanly (the load balancer takes it out). Caller: anyone. Changes nothing; safe to poll.',
    tag: 'meta',
    auth: 'public',
    response: Health,
    errors: { 503: 'The node is draining (stopping cleanly): use another node.' },
  }),
  jwks: route({
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'Public keys that sign access tokens and call tickets',
    description:
      "The authority's public signing keys as a JWK Set (RFC 7517): they verify staff access tokens, call tickets (vd-call+jwt) and device commands (vd-command+jwt). Caller: anyone. Changes nothing; cache it briefly and fetch again on an unknown `kid`.",
    tag: 'meta',
    auth: 'public',
    response: Jwks,
  }),

  challenge: route({
    method: 'POST',
    path: '/v1/device/challenges',
    summary: 'Single-use challenge for device enrolment or authentication',
    description:
      'Issues a single-use challenge (valid 120 s) that the device signs with its key: `purpose` "enrol" before POST /v1/device/enrol, or "authenticate" (with the enrolled `deviceId`) before POST /v1/device/authenticate. Caller: anyone. Each call issues a new challenge; an unused one just expires.',
    errors: {
      404: 'not_found: purpose "authenticate" for a device that is not enrolled (enrol again).',
    },
    tag: 'device',
    auth: 'public',
    body: ChallengeRequest,
    response: Challenge,
    status: 201,
  }),
  enrol: route({
    method: 'POST',
    path: '/v1/device/enrol',
    summary: 'Register a device key with a one-time enrolment code',
    description:
      "Registers the device's P-256 key for the customer the one-time code was issued to: the code and the challenge are consumed, the device id is the key's thumbprint, and the answer opens the device's first authentication (level 1) with its device token. Until `setupUntil` that authentication may set up the PIN, a biometric and the enrolment photo. The customer's other devices get a security notice. Caller: anyone holding a code. Not repeatable: a retry with the same code or challenge is refused (401).",
    errors: {
      400: 'invalid_request: the body does not match the schema, or `publicKey` is not a valid P-256 key.',
      401: 'unauthorized: the challenge is unknown, used or expired; the signature does not verify with `publicKey`; or the code is unknown, used, expired or its customer deactivated.',
      409: 'conflict: this device key is already enrolled.',
    },
    tag: 'device',
    auth: 'public',
    body: EnrolRequest,
    response: EnrolResponse,
    status: 201,
  }),
  authenticate: route({
    method: 'POST',
    path: '/v1/device/authenticate',
    summary: 'Prove possession of the device key; opens an authentication at level 1',
    description:
      'Opens a new authentication at level 1 (factor device) when the signature over an "authenticate" challenge verifies with the device\'s enrolled key, and issues a device token bound to it (valid until `tokenExpiresAt`). Caller: anyone holding the device key. Consumes the challenge: a retry needs a new challenge.',
    errors: {
      401: 'unauthorized: the challenge is unknown, used, expired or issued for another device; the device is unknown or revoked, or its customer deactivated; or the signature does not verify.',
    },
    tag: 'device',
    auth: 'public',
    body: AuthenticateRequest,
    response: AuthenticateResponse,
    status: 201,
  }),
  deviceMe: route({
    method: 'GET',
    path: '/v1/device/me',
    summary: 'The device, its customer, enrolled factors and current authentication',
    description:
      'The device, its customer, which factors are set up, the current authentication, which factors it may add now (`setup`) and unacknowledged security notices. Caller: an authenticated device (device token + Device-Proof). Changes nothing.',
    tag: 'device',
    auth: 'device',
    response: DeviceMe,
  }),
  acknowledgeNotice: route({
    method: 'POST',
    path: '/v1/device/notices/:noticeId/ack',
    summary: 'Acknowledge a security notice shown on this device (a new device or factor of the customer)',
    description:
      'Marks a security notice of this device as shown, so GET /v1/device/me stops listing it. Caller: an authenticated device (device token + Device-Proof). Idempotent: acknowledging it again answers ok.',
    errors: {
      404: 'not_found: no such notice on this device.',
    },
    tag: 'device',
    auth: 'device',
    params: NoticeParams,
    response: Ok,
  }),
  setPin: route({
    method: 'PUT',
    path: '/v1/device/pin',
    summary:
      "Set or change the PIN (at level 2 or more, or with the enrolment's own authentication within its set-up window)",
    description:
      "Sets or replaces the customer's PIN (4 to 12 digits, stored as a peppered argon2 hash) and clears its failure count. Allowed to an authentication at level 2 or more, or to the enrolment's own authentication before its `setupUntil`. The customer's other devices get a security notice; audited. Caller: an authenticated device (device token + Device-Proof). Repeating it sets the same PIN again.",
    errors: {
      403: 'factor_setup_not_allowed: this authentication may not set the PIN now (level below 2 and no enrolment set-up window); `details.factor` is "pin".',
    },
    tag: 'device',
    auth: 'device',
    body: SetPinRequest,
    response: Ok,
  }),
  pinFactor: route({
    method: 'POST',
    path: '/v1/device/authentication/pin',
    summary: 'Step up the current authentication with the PIN',
    description:
      'Checks the PIN and, when right, adds the factor pin to the current authentication (level 2). Guesses are bounded: from the 5th consecutive wrong PIN each failure adds a doubling delay (30 s, 60 s, ...), and the 10th locks the PIN until an admin lifts it. Every attempt is audited. Caller: an authenticated device (device token + Device-Proof). A right PIN sent again adds nothing new.',
    errors: {
      401: 'unauthorized: the PIN is wrong (the message says how many attempts are left), or the device credentials are not valid.',
      409: 'conflict: the customer has no PIN.',
      423: 'locked: too many wrong PINs: wait `Retry-After` seconds, or (no Retry-After) the PIN is locked until an admin unlocks it.',
    },
    tag: 'device',
    auth: 'device',
    body: PinRequest,
    response: AuthenticationView,
  }),
  webauthnRegistrationOptions: route({
    method: 'POST',
    path: '/v1/device/webauthn/registration-options',
    summary: 'Options to register a biometric (userVerification required)',
    description:
      "WebAuthn creation options for a platform authenticator with user verification required, and a single-use challenge (valid for the ceremony). Allowed only when the authentication may set up a biometric (level 3, or the enrolment's set-up window). Caller: an authenticated device (device token + Device-Proof). Each call issues a new challenge.",
    errors: {
      403: 'factor_setup_not_allowed: this authentication may not add a biometric now; `details.factor` is "biometric".',
    },
    tag: 'device',
    auth: 'device',
    response: WebAuthnOptions,
  }),
  webauthnRegister: route({
    method: 'POST',
    path: '/v1/device/webauthn/registration',
    summary: 'Register a biometric credential',
    description:
      "Verifies the new WebAuthn credential against the registration challenge (origin, RP ID, user verification) and stores it for this device; the customer's other devices get a security notice. Caller: an authenticated device (device token + Device-Proof). Consumes the challenge: a retry needs new options.",
    errors: {
      401: "unauthorized: the challenge is unknown, used, expired or not this device's, or the credential does not verify (no user verification, wrong origin or RP ID).",
      403: 'factor_setup_not_allowed: this authentication may not add a biometric now.',
    },
    tag: 'device',
    auth: 'device',
    body: WebAuthnRegistrationRequest,
    response: WebAuthnRegistered,
    status: 201,
  }),
  webauthnAssertionOptions: route({
    method: 'POST',
    path: '/v1/device/authentication/webauthn-options',
    summary: 'Options for a biometric assertion (single-use challenge)',
    description:
      'WebAuthn request options (user verification required) for the biometrics registered on this device, with a single-use challenge. Caller: an authenticated device (device token + Device-Proof). Each call issues a new challenge.',
    errors: {
      400: 'invalid_request: no biometric is registered on this device, or a body or query was sent.',
    },
    tag: 'device',
    auth: 'device',
    response: WebAuthnOptions,
  }),
  webauthnFactor: route({
    method: 'POST',
    path: '/v1/device/authentication/webauthn',
    summary: 'Step up the current authentication with a biometric assertion (UV required)',
    description:
      'Verifies a WebAuthn assertion (user verification required, signature counter checked) and adds the factor biometric to the current authentication (level 3). Every attempt is audited. Caller: an authenticated device (device token + Device-Proof). Consumes the challenge.',
    errors: {
      401: 'unauthorized: the challenge is unknown, used or expired, or the assertion does not verify (no user verification, unknown credential, bad signature).',
    },
    tag: 'device',
    auth: 'device',
    body: WebAuthnAssertionRequest,
    response: AuthenticationView,
  }),
  photo: route({
    method: 'POST',
    path: '/v1/device/photos',
    summary: 'Upload a JPEG or PNG photo (enrolment, or verification of the current authentication)',
    description:
      'Stores a JPEG or PNG photo (at most 2 MiB; the bytes must be what the Content-Type says). `purpose` "enrolment": the reference photo, allowed at level 2 or in the enrolment\'s set-up window (the other devices get a security notice). "verification": a photo of now, linked to the current authentication; it adds nothing until the agent holding the customer\'s request compares it with the enrolment photo (POST .../photos/{photoId}/comparison). Caller: an authenticated device (device token + Device-Proof). Each call stores a new photo.',
    errors: {
      403: 'factor_setup_not_allowed: an enrolment photo without the set-up right.',
      409: 'factor_unavailable: a verification photo cannot verify the customer now (no enrolment photo, or the PIN or security questions are locked).',
    },
    tag: 'device',
    auth: 'device',
    query: PhotoQuery,
    bodyKind: 'image',
    response: PhotoStored,
    status: 201,
  }),
  openSession: route({
    method: 'POST',
    path: '/v1/device/sessions',
    summary: 'Open a service session for the current authentication',
    description:
      'Opens a new service session for the current authentication, with an idle and an absolute expiry (POST /v1/device/requests opens its own). Caller: an authenticated device (device token + Device-Proof). Each call opens another session.',
    tag: 'sessions',
    auth: 'device',
    response: ServiceSession,
    status: 201,
  }),
  getSession: route({
    method: 'GET',
    path: '/v1/sessions/:sessionId',
    summary: 'A service session (its device, or staff)',
    description:
      'A service session with its state and expiries. Caller: the device that opened it, or any staff member. Reading it counts as activity and moves its idle expiry.',
    errors: {
      401: "unauthorized: the credentials are not valid, or the session is unknown (or not this device's), ended or expired.",
    },
    tag: 'sessions',
    auth: 'deviceOrStaff',
    roles: ANY_STAFF,
    params: SessionParams,
    response: ServiceSession,
  }),
  endSession: route({
    method: 'POST',
    path: '/v1/sessions/:sessionId/end',
    summary: 'End a service session (its device)',
    description:
      "Ends the device's own service session (recorded with the optional reason and audited). Caller: an authenticated device (device token + Device-Proof). Once: an ended session answers 401 afterwards.",
    errors: {
      401: "unauthorized: the credentials are not valid, or the session is unknown, not this device's, already ended or expired.",
    },
    tag: 'sessions',
    auth: 'device',
    params: SessionParams,
    body: EndSessionRequest,
    response: Ok,
  }),

  login: route({
    method: 'POST',
    path: '/v1/staff/login',
    summary: 'Staff login: short access token and rotating refresh token',
    description:
      'Checks a staff username and password and answers a short-lived access token and a single-use refresh token. Throttled per account (5 free failures, then doubling delays from 30 s, locked at the 10th until an admin unlocks it: 423, even for the right password) and per source address (20 failed logins or unknown refresh tokens per 10 minutes per IPv4 address or IPv6 /64: 429). Unknown usernames answer exactly like wrong passwords. Caller: anyone. Every attempt is audited.',
    errors: {
      401: 'unauthorized: wrong username or password, or the account is disabled.',
      403: 'forbidden: single sign-on is enforced (VD_SSO_ENFORCED): staff sign in with the identity provider; only the configured break-glass admins may use a password.',
      423: 'locked: too many failed logins for this account: wait `Retry-After` seconds, or (no Retry-After) an admin must unlock it.',
      429: 'rate_limited: too many failed logins from this address: wait `Retry-After` seconds.',
    },
    tag: 'staff',
    auth: 'public',
    body: LoginRequest,
    response: TokenPair,
  }),
  refresh: route({
    method: 'POST',
    path: '/v1/staff/refresh',
    summary: 'Rotate the refresh token (reuse of an old one revokes the whole family)',
    description:
      'Exchanges the refresh token for a new access token and a new refresh token (rotation). A refresh token works once: presenting an already used one revokes its whole family (every session of that login). Caller: anyone holding the token. Not repeatable with the same token.',
    errors: {
      401: 'unauthorized: the refresh token is unknown, expired, revoked or reused (its family is now revoked), or the account is locked or disabled.',
      429: 'rate_limited: too many unknown refresh tokens or failed logins from this address: wait `Retry-After` seconds.',
    },
    tag: 'staff',
    auth: 'public',
    body: RefreshRequest,
    response: TokenPair,
  }),
  logout: route({
    method: 'POST',
    path: '/v1/staff/logout',
    summary: 'Revoke the refresh token family',
    description:
      "Revokes the refresh token's whole family: no token of that login can be refreshed again (access tokens already issued run out on their own). For a single sign-on login the answer also carries the provider's end_session URL (RP-initiated logout, with id_token_hint), once. Caller: anyone holding the token. Idempotent for a known token.",
    errors: {
      401: 'unauthorized: the refresh token is unknown.',
    },
    tag: 'staff',
    auth: 'public',
    body: LogoutRequest,
    response: LogoutResult,
  }),
  staffMe: route({
    method: 'GET',
    path: '/v1/staff/me',
    summary: 'The logged-in staff member',
    description:
      'The logged-in staff member (id, username, display name, role). Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.',
    tag: 'staff',
    auth: 'staff',
    roles: ANY_STAFF,
    response: StaffView,
  }),
  getAuthentication: route({
    method: 'GET',
    path: '/v1/authentications/:authenticationId',
    summary: 'An authentication record with its factors',
    description:
      'An authentication record with its level and factors. Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.',
    errors: {
      404: 'not_found: no such authentication.',
    },
    tag: 'staff',
    auth: 'staff',
    roles: ANY_STAFF,
    params: AuthenticationParams,
    response: AuthenticationView,
  }),
  knowledgeQuestions: route({
    method: 'GET',
    path: '/v1/customers/:customerId/knowledge-questions',
    summary: "The customer's knowledge questions (never the answers)",
    description:
      "The customer's security questions, for the agent to ask (the answers never leave the authority). Caller: any logged-in staff member (agent, supervisor, admin). Changes nothing.",
    errors: {
      404: 'not_found: no such customer.',
    },
    tag: 'staff',
    auth: 'staff',
    roles: ANY_STAFF,
    params: CustomerParams,
    response: KnowledgeQuestions,
  }),
  knowledgeCheck: route({
    method: 'POST',
    path: '/v1/customers/:customerId/knowledge-checks',
    summary: 'Record the answers the customer gave the agent (fallback authentication)',
    description:
      'Checks the answers the customer gave the agent (fallback when the device cannot be used). All right: a new authentication at level 1 with the factor knowledge (no device). Wrong: `passed` false; after the configured number of consecutive wrong checks (knowledgeMaxFailures, default 5), checks are paused (knowledgeLockMinutes, default 15; 423). Every check is audited. Caller: any logged-in staff member (agent, supervisor, admin).',
    errors: {
      404: 'not_found: no such customer.',
      423: 'locked: too many wrong answers: knowledge checks for this customer are paused for `Retry-After` seconds.',
    },
    tag: 'staff',
    auth: 'staff',
    roles: ANY_STAFF,
    params: CustomerParams,
    body: KnowledgeCheckRequest,
    response: KnowledgeCheckResult,
  }),

  issueEnrolmentCode: route({
    method: 'POST',
    path: '/v1/admin/customers/:customerId/enrolment-codes',
    summary: 'Issue a one-time enrolment code',
    description:
      'Issues a one-time enrolment code for the customer, valid 7 days, to give them out of band; it enrols one device. Audited. Caller: an admin. Each call issues another code.',
    errors: {
      404: 'not_found: no such customer.',
      409: 'conflict: the customer is deactivated.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerParams,
    response: EnrolmentCodeIssued,
    status: 201,
  }),
  unlockPin: route({
    method: 'POST',
    path: '/v1/admin/customers/:customerId/pin-unlock',
    summary: 'Lift a PIN lockout',
    description:
      "Lifts the customer's PIN delay or lock and clears its failure count. Audited. Caller: an admin. Idempotent.",
    errors: {
      404: 'not_found: no such customer, or the customer has no PIN.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: CustomerParams,
    response: Ok,
  }),
  createStaff: route({
    method: 'POST',
    path: '/v1/admin/staff',
    summary: 'Create a staff account',
    description:
      'Creates a staff account with its role and initial password (argon2 hash). Audited. Caller: an admin. Not repeatable: the username is then taken (409).',
    errors: {
      409: 'conflict: the username is taken.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    body: CreateStaffRequest,
    response: StaffView,
    status: 201,
  }),
  setRole: route({
    method: 'PUT',
    path: '/v1/admin/staff/:staffId/role',
    summary: "Change a staff member's role",
    description:
      "Changes a staff member's role; it takes effect at once (roles are checked on every request). An admin cannot demote themselves. Audited. Caller: an admin. Idempotent.",
    errors: {
      403: 'forbidden: the caller is not an admin, or an admin tried to demote themselves.',
      404: 'not_found: no such staff member.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: StaffParams,
    body: SetRoleRequest,
    response: StaffView,
  }),
  unlockStaff: route({
    method: 'POST',
    path: '/v1/admin/staff/:staffId/unlock',
    summary: "Lift a staff account's login delay or lock (after too many failed logins)",
    description:
      "Lifts a staff account's login delay or lock (after failed logins) and clears its failure count; answers whether it was locked. Audited. Caller: an admin. Idempotent.",
    errors: {
      404: 'not_found: no such staff member.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: StaffParams,
    response: StaffUnlocked,
  }),
  adminEndSession: route({
    method: 'POST',
    path: '/v1/admin/sessions/:sessionId/end',
    summary: 'End any service session',
    description:
      'Ends any open service session (reason ended_by_admin; its open device commands are cancelled). Audited. Caller: an admin. Once: an ended session answers 409.',
    errors: {
      404: 'not_found: no such session.',
      409: 'conflict: the session has already ended.',
    },
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: SessionParams,
    body: EndSessionRequest,
    response: Ok,
  }),
  sipCredentials: route({
    method: 'GET',
    path: '/v1/sip/credentials',
    summary:
      'Ephemeral SIP credentials (HMAC over "expiry:user", the auth_ephemeral scheme) for a logged-in agent or an authenticated device',
    description:
      'Short-lived SIP credentials (the auth_ephemeral scheme: username "<expiry>:<user>", password an HMAC of it) and where to register: the embedded SIP edge\'s WebSocket URL or the configured SIP server. Caller: an authenticated device (user "d-<deviceId>") or any staff member ("a-<staffId>"). Changes nothing; fetch new ones before `expiresAt`.',
    tag: 'voice',
    auth: 'deviceOrStaff',
    roles: ANY_STAFF,
    response: SipCredentials,
  }),
  auditVerify: route({
    method: 'GET',
    path: '/v1/admin/audit/verify',
    summary: 'Verify the audit hash chain',
    description:
      "Walks the audit log's hash chain and reports whether it is intact, and where it first breaks. Caller: an admin. Changes nothing; can take a while on a large log.",
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    response: AuditVerifyResult,
  }),
} as const satisfies Record<string, RouteDef>;

/** Every HTTP route of the authority. */
export const routes = {
  ...identityRoutes,
  ...pipelineRoutes,
  ...deskRoutes,
  ...controlRoutes,
  ...directoryRoutes,
  ...customerAdminRoutes,
  ...pushRoutes,
  ...recordingRoutes,
  ...monitoringRoutes,
  ...deviceAccountRoutes,
  ...reportRoutes,
  ...ssoRoutes,
  ...chatRoutes,
  ...trunkRoutes,
} as const;

export type RouteId = keyof typeof routes;
export type Routes = typeof routes;
