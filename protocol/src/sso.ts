import { z } from 'zod';
import { IsoTime, ShortText } from './common.ts';
import { route } from './route-def.ts';
import { TokenPair } from './staff.ts';

/** Where the identity provider sends the browser back: an http(s) URL without a fragment. */
const RedirectUri = z
  .url({ protocol: /^https?$/ })
  .max(2048)
  .refine((u) => !u.includes('#'), 'a redirect URI has no fragment');

export const SsoSettings = z.strictObject({
  enabled: z.boolean().describe('Single sign-on with an OpenID Connect provider is configured.'),
  name: ShortText.nullable().describe(
    'The identity provider as the login screen names it ("Contoso ID"), or null.',
  ),
  enforced: z
    .boolean()
    .describe('Password login is refused for staff (except the configured break-glass admins).'),
});
export type SsoSettings = z.infer<typeof SsoSettings>;

export const SsoStartRequest = z.strictObject({
  redirectUri: RedirectUri.describe(
    "Where the provider returns the browser: one of the configured redirect URIs (browser mode), or a loopback URI http://127.0.0.1:<port>/<path> (the desktop app's one-shot listener, RFC 8252) when loopback redirects are allowed.",
  ),
});
export const SsoStarted = z.strictObject({
  authorizationUrl: z
    .url({ protocol: /^https?$/ })
    .max(8192)
    .describe("The provider's authorization URL to open (authorization code + PKCE S256, state and nonce)."),
  state: z
    .string()
    .min(20)
    .max(128)
    .describe(
      'The state of this flow: the callback must carry it; keep it to tell your own callback from a forged one.',
    ),
  expiresAt: IsoTime.describe('When the flow expires: the callback must arrive before.'),
});
export type SsoStarted = z.infer<typeof SsoStarted>;

export const SsoCallbackRequest = z.strictObject({
  callbackUrl: RedirectUri.describe(
    'The whole URL the provider redirected the browser to (the redirect URI with code, state and iss).',
  ),
});

export const LogoutResult = z.strictObject({
  ok: z.literal(true).describe('Always true: the refresh token family is revoked.'),
  endSessionUrl: z
    .url({ protocol: /^https?$/ })
    .max(8192)
    .optional()
    .describe(
      "For a single sign-on login: the provider's end_session URL (with id_token_hint) to open, so the provider's session ends too (RP-initiated logout).",
    ),
});
export type LogoutResult = z.infer<typeof LogoutResult>;

/** OpenID Connect Back-Channel Logout 1.0: the provider posts its logout token as a form field. */
export const BackchannelLogoutRequest = z.strictObject({
  logout_token: z
    .string()
    .min(20)
    .max(16_384)
    .describe(
      "The provider's logout token: a JWT signed with its keys, naming the user (sub) and/or the provider's session (sid).",
    ),
});
export const BackchannelLogoutResult = z.strictObject({
  sessions: z
    .number()
    .int()
    .nonnegative()
    .describe('How many console sessions the logout ended (0 when none was open).'),
});

export const ssoRoutes = {
  ssoSettings: route({
    method: 'GET',
    path: '/v1/staff/sso',
    summary: 'Single sign-on settings for the login screen',
    description:
      'Whether single sign-on is configured, the provider name to show, and whether password login is refused (SSO enforced). Caller: anyone. Changes nothing.',
    tag: 'staff',
    auth: 'public',
    response: SsoSettings,
  }),
  ssoStart: route({
    method: 'POST',
    path: '/v1/staff/sso/start',
    summary: 'Start a single sign-on (authorization code + PKCE)',
    description:
      "Starts an OpenID Connect authorization code flow: state, nonce and PKCE code verifier are kept by the authority (single use, expire after the configured flow lifetime) and the provider's authorization URL is answered. Caller: anyone (a console). Each call starts a new flow.",
    errors: {
      400: 'invalid_request: the redirect URI is not one of the configured ones (nor an allowed loopback URI).',
      404: 'not_found: single sign-on is not configured.',
      503: 'idp_unavailable: the identity provider cannot be reached (its discovery document): try again later. Audited.',
    },
    tag: 'staff',
    auth: 'public',
    body: SsoStartRequest,
    response: SsoStarted,
  }),
  ssoCallback: route({
    method: 'POST',
    path: '/v1/staff/sso-callback',
    summary: 'Finish a single sign-on: the staff session',
    description:
      "Takes the URL the provider redirected to, uses up its flow's state (once), exchanges the code with the PKCE verifier, validates the ID token (issuer, audience, nonce, expiry, signature), maps the groups claim to a role and answers the same tokens as password login. The first sign-in of a subject links an existing account or provisions one, as configured; a role change in the groups applies at each sign-in. Every attempt is audited with issuer and subject. Caller: anyone (a console). Not repeatable: the state and the code work once.",
    errors: {
      400: 'invalid_request: unknown, used or expired state; the provider answered an error; the code was refused (replayed, expired, for another client) or the ID token is not valid (issuer, audience, nonce).',
      403: 'forbidden: no account may be linked or provisioned for this subject, no role for its groups, or the account is disabled.',
      404: 'not_found: single sign-on is not configured.',
      503: 'idp_unavailable: the identity provider cannot be reached (discovery, token or userinfo endpoint: no connection, timeout or a 5xx): start a new sign-in later. Audited.',
    },
    tag: 'staff',
    auth: 'public',
    body: SsoCallbackRequest,
    response: TokenPair,
  }),
  ssoBackchannelLogout: route({
    method: 'POST',
    path: '/v1/staff/sso/backchannel-logout',
    summary: "The identity provider's back-channel logout: end the console sessions it names",
    description:
      "OpenID Connect Back-Channel Logout 1.0: register this URL at the provider as the client's backchannel_logout_uri. The logout token is checked (signature with the provider's published keys, issuer, audience = the client id, issued in the last 5 minutes, the back-channel logout event, no nonce, sub or sid, typ logout+jwt when given) and used once (its jti). The console sessions (refresh token families) of the provider's session `sid`, or of every session of the subject `sub` when no sid is given, are revoked at once: their access tokens stop working and their WebSockets close, on every node. Audited (`staff.sso.logout`). Caller: the identity provider.",
    errors: {
      400: 'invalid_request: the logout token is not valid (signature, issuer, audience, age, event, nonce, no sub nor sid) or was used before. Audited.',
      404: 'not_found: single sign-on is not configured.',
      503: "idp_unavailable: the provider's keys cannot be fetched: the provider retries.",
    },
    tag: 'staff',
    auth: 'public',
    bodyKind: 'form',
    body: BackchannelLogoutRequest,
    response: BackchannelLogoutResult,
  }),
} as const;
