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
} from './identity.ts';
import {
  CreateStaffRequest,
  LoginRequest,
  LogoutRequest,
  RefreshRequest,
  SetRoleRequest,
  StaffView,
  TokenPair,
} from './staff.ts';
import { EndSessionRequest, ServiceSession, SessionParams } from './sessions.ts';
import type { StaffRole } from './staff.ts';

/**
 * Who may call a route.
 * public: anyone; device: an authenticated device (token + per-request proof);
 * staff: a logged-in staff member with one of `roles`; deviceOrStaff: either.
 */
export type RouteAuth = 'public' | 'device' | 'staff' | 'deviceOrStaff';

export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly roles?: readonly StaffRole[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** 'image': the body is a raw JPEG or PNG, not JSON. */
  readonly bodyKind?: 'json' | 'image';
  readonly response: z.ZodType;
  readonly status?: 200 | 201;
}

const route = <R extends RouteDef>(r: R): R => r;

const CustomerParams = z.strictObject({ customerId: OpaqueId });
const StaffParams = z.strictObject({ staffId: OpaqueId });
const AuthenticationParams = z.strictObject({ authenticationId: OpaqueId });
const ANY_STAFF = ['agent', 'supervisor', 'admin'] as const;
const ADMIN = ['admin'] as const;

export const Health = z.strictObject({ status: z.literal('ok'), version: z.string(), time: z.string() });
export const Jwks = z.strictObject({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) });
export const EnrolmentCodeIssued = z.strictObject({ code: EnrolmentCode, expiresAt: z.string() });
export const AuditVerifyResult = z.strictObject({
  ok: z.boolean(),
  rows: z.number().int(),
  firstBrokenSeq: z.number().int().nullable(),
  reason: z.string().nullable(),
});

/** Every HTTP route of the authority. The authority binds a handler to each; the OpenAPI document is generated from this list. */
export const routes = {
  health: route({
    method: 'GET',
    path: '/healthz',
    summary: 'Liveness',
    tag: 'meta',
    auth: 'public',
    response: Health,
  }),
  jwks: route({
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'Public keys that sign access tokens and call tickets',
    tag: 'meta',
    auth: 'public',
    response: Jwks,
  }),

  challenge: route({
    method: 'POST',
    path: '/v1/device/challenges',
    summary: 'Single-use challenge for device enrolment or authentication',
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
    tag: 'device',
    auth: 'device',
    response: DeviceMe,
  }),
  setPin: route({
    method: 'PUT',
    path: '/v1/device/pin',
    summary: 'Set the PIN (first time, or change at level 2 or more)',
    tag: 'device',
    auth: 'device',
    body: SetPinRequest,
    response: Ok,
  }),
  pinFactor: route({
    method: 'POST',
    path: '/v1/device/authentication/pin',
    summary: 'Step up the current authentication with the PIN',
    tag: 'device',
    auth: 'device',
    body: PinRequest,
    response: AuthenticationView,
  }),
  webauthnRegistrationOptions: route({
    method: 'POST',
    path: '/v1/device/webauthn/registration-options',
    summary: 'Options to register a biometric (userVerification required)',
    tag: 'device',
    auth: 'device',
    response: WebAuthnOptions,
  }),
  webauthnRegister: route({
    method: 'POST',
    path: '/v1/device/webauthn/registration',
    summary: 'Register a biometric credential',
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
    tag: 'device',
    auth: 'device',
    response: WebAuthnOptions,
  }),
  webauthnFactor: route({
    method: 'POST',
    path: '/v1/device/authentication/webauthn',
    summary: 'Step up the current authentication with a biometric assertion (UV required)',
    tag: 'device',
    auth: 'device',
    body: WebAuthnAssertionRequest,
    response: AuthenticationView,
  }),
  photo: route({
    method: 'POST',
    path: '/v1/device/photos',
    summary: 'Upload a JPEG or PNG photo (enrolment, or verification of the current authentication)',
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
    tag: 'sessions',
    auth: 'device',
    response: ServiceSession,
    status: 201,
  }),
  getSession: route({
    method: 'GET',
    path: '/v1/sessions/:sessionId',
    summary: 'A service session (its device, or staff)',
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
    tag: 'staff',
    auth: 'public',
    body: LoginRequest,
    response: TokenPair,
  }),
  refresh: route({
    method: 'POST',
    path: '/v1/staff/refresh',
    summary: 'Rotate the refresh token (reuse of an old one revokes the whole family)',
    tag: 'staff',
    auth: 'public',
    body: RefreshRequest,
    response: TokenPair,
  }),
  logout: route({
    method: 'POST',
    path: '/v1/staff/logout',
    summary: 'Revoke the refresh token family',
    tag: 'staff',
    auth: 'public',
    body: LogoutRequest,
    response: Ok,
  }),
  staffMe: route({
    method: 'GET',
    path: '/v1/staff/me',
    summary: 'The logged-in staff member',
    tag: 'staff',
    auth: 'staff',
    roles: ANY_STAFF,
    response: StaffView,
  }),
  getAuthentication: route({
    method: 'GET',
    path: '/v1/authentications/:authenticationId',
    summary: 'An authentication record with its factors',
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
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: StaffParams,
    body: SetRoleRequest,
    response: StaffView,
  }),
  adminEndSession: route({
    method: 'POST',
    path: '/v1/admin/sessions/:sessionId/end',
    summary: 'End any service session',
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    params: SessionParams,
    body: EndSessionRequest,
    response: Ok,
  }),
  auditVerify: route({
    method: 'GET',
    path: '/v1/admin/audit/verify',
    summary: 'Verify the audit hash chain',
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    response: AuditVerifyResult,
  }),
} as const satisfies Record<string, RouteDef>;

export type RouteId = keyof typeof routes;
export type Routes = typeof routes;
