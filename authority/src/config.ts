import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';
import { AndroidPackage, AppleAppId, CertFingerprint } from '../../protocol/src/app-links.ts';
import { ATTACHMENT_DEFAULT_MAX_BYTES } from '../../protocol/src/common.ts';

/** Authority configuration: CLI flags win over VD_* environment variables; everything is validated before start. */
export const ConfigSchema = z
  .strictObject({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.coerce.number().int().min(0).max(65535).default(8780),
    dataDir: z.string().min(1, 'data dir is required').default('./data'),
    /** PostgreSQL instead of the embedded SQLite file: postgres://user:password@host:port/database. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /**
     * The URL of the outbox's LISTEN connection (store/pg-listen.ts) when it must differ
     * from databaseUrl (a pooler in transaction mode cannot LISTEN: point this at the
     * server itself). Default: databaseUrl.
     */
    listenDatabaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    /** The pepper for PIN and knowledge-answer hashes; kept out of the database. If absent, read or created at <dataDir>/secrets/pin-pepper. */
    pinPepper: z.string().min(32, 'the PIN pepper must be at least 32 characters').optional(),
    rpId: z
      .string()
      .regex(/^[a-z0-9.-]+$/, 'rpId must be a host name such as "localhost" or "desk.example.com"')
      .default('localhost'),
    rpName: z.string().min(1).default('Verified Desk'),
    /** Origins WebAuthn ceremonies may come from (the customer app's origin). */
    origins: z
      .array(
        z.url({ protocol: /^https?$/ }).refine((u) => {
          try {
            return new URL(u).origin === u;
          } catch {
            return false;
          }
        }, 'an origin has no path, e.g. https://app.example.com'),
      )
      .min(1)
      .default(['http://localhost:8780']),
    sessionIdleSeconds: z.coerce.number().int().min(10).max(86_400).default(600),
    sessionAbsoluteSeconds: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 86_400)
      .default(24 * 3600),
    authenticationTtlSeconds: z.coerce.number().int().min(30).max(86_400).default(3600),
    accessTokenSeconds: z.coerce.number().int().min(30).max(3600).default(300),
    refreshTokenSeconds: z.coerce
      .number()
      .int()
      .min(300)
      .max(30 * 86_400)
      .default(12 * 3600),
    /** argon2id cost: never below OWASP's minimum (m=19456 KiB, t=2). */
    argon2MemoryKiB: z.coerce.number().int().min(19_456).default(19_456),
    argon2Iterations: z.coerce.number().int().min(2).default(2),
    /** Queues, menu and priority rules; seeds the store, the admin API edits it afterwards. */
    pipelineFile: z
      .string()
      .min(1)
      .default(new URL('../config/pipeline.json', import.meta.url).pathname),
    /** Shared secret of the ephemeral SIP credentials (Kamailio auth_ephemeral uses the same). If absent: <dataDir>/secrets/sip-secret. */
    sipSecret: z.string().min(32, 'the SIP secret must be at least 32 characters').optional(),
    /**
     * Secret the SIP server in front of the phone network's trunk (Kamailio) shares with the
     * authority: it calls the trunk routes (/v1/sip/trunk/...) with it as a bearer token.
     * Absent: no call from the phone network is accepted (those routes answer 401).
     */
    sipServerSecret: z.string().min(32, 'the SIP server secret must be at least 32 characters').optional(),
    /**
     * Text messages (the verification link sent to a caller during a phone call): a
     * provider's HTTP API (textGatewayUrl with textGatewayToken as a bearer token, from
     * textFrom), or a file sink for the demo and tests (textSinkFile: one JSON line per
     * message). Neither: no link can be sent (the agent asks the security questions).
     */
    textGatewayUrl: z.url({ protocol: /^https$/ }).optional(),
    textGatewayToken: z.string().min(8).optional(),
    textFrom: z
      .string()
      .regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 number')
      .optional(),
    textSinkFile: z.string().min(1).optional(),
    /**
     * The company's caller ID for callbacks through the trunk (E.164): what a customer
     * called back sees, put in From and P-Asserted-Identity by the SIP server. Absent: no
     * call goes out to the phone network (dialPhoneCallback answers 503).
     */
    outboundCallerId: z
      .string()
      .regex(/^\+[1-9][0-9]{6,14}$/, 'an E.164 number')
      .optional(),
    /**
     * The customer app's URL (e.g. https://app.example.com/app/). The links texted to
     * callers are on its host: https://app.example.com/v/<token> (the authority serves
     * that path; docs/native-app-links.md).
     */
    customerAppUrl: z.url({ protocol: /^https?$/ }).optional(),
    /**
     * The company's native apps that open those links instead of the browser: iOS app ids
     * (team id + bundle id) for /.well-known/apple-app-site-association, the Android
     * package and its signing certificates' SHA-256 fingerprints for
     * /.well-known/assetlinks.json. None configured: that file answers 404.
     */
    iosAppIds: z.array(AppleAppId).max(20).default([]),
    androidPackage: AndroidPackage.optional(),
    androidCertFingerprints: z.array(CertFingerprint).max(10).default([]),
    /** How long a verification link sent during a call stays usable. */
    verificationLinkSeconds: z.coerce.number().int().min(60).max(3600).default(600),
    /** How long the embedded edge keeps a call whose party's connection went away (a link blip), before it hangs up for it. */
    sipDialogGraceSeconds: z.coerce.number().int().min(0).max(300).default(20),
    /** SIP domain (realm of the digest challenges). */
    sipDomain: z
      .string()
      .regex(/^[a-z0-9.-]+$/)
      .default('verified-desk.local'),
    /** A separate SIP server's WebSocket URL (Kamailio); when unset the embedded edge at /sip is used. */
    sipWsUrl: z
      .string()
      .regex(/^wss?:\/\//)
      .optional(),
    sipCredentialSeconds: z.coerce
      .number()
      .int()
      .min(60)
      .max(86_400)
      .default(12 * 3600),
    /**
     * ICE servers handed to consoles and devices with their SIP credentials: turn:, turns:
     * and stun: URIs (coturn, deploy/coturn/). Empty: peer to peer only (one machine, the demo).
     */
    turnUrls: z
      .array(z.string().regex(/^(turns?|stuns?):[^\s]+$/, 'a turn:, turns:, stun: or stuns: URI'))
      .max(8)
      .default([]),
    /** coturn's static-auth-secret (TURN REST API); required with turn: URLs. Its own, not the SIP secret. */
    turnSecret: z.string().min(32, 'the TURN secret must be at least 32 characters').optional(),
    /** Lifetime of a TURN credential: longer than a call (coturn checks it at each allocation refresh). */
    turnCredentialSeconds: z.coerce
      .number()
      .int()
      .min(600)
      .max(7 * 86_400)
      .default(12 * 3600),
    /** `relay`: media only through TURN (locked-down sites: no host or server-reflexive candidates). */
    iceTransportPolicy: z.enum(['all', 'relay']).default('all'),
    /** Built customer app (vite build output), served at /app. */
    customerAppDir: z
      .string()
      .min(1)
      .default(new URL('../../customer/dist', import.meta.url).pathname),
    offerTimeoutSeconds: z.coerce.number().int().min(3).max(300).default(15),
    wrapUpSeconds: z.coerce.number().int().min(0).max(3600).default(60),
    /** After a request, the agent stays in wrap-up until the wrap-up is recorded (when wrapUpSeconds > 0). */
    wrapUpRequired: z.boolean().default(false),
    /** An agent not heard from (socket or request) for this long goes offline and loses its offer. */
    agentTimeoutSeconds: z.coerce.number().int().min(5).max(3600).default(30),
    /**
     * Safety poll of the expiry sweeps (offers, wrap-ups, callbacks due, agents gone
     * silent: a quarter of it; device commands, consults, sessions: all of it). A timer
     * for the nearest stored deadline wakes them on time (events/deadline-timer.ts); the
     * poll only catches what a lost wake-up left.
     */
    sweepPollSeconds: z.coerce.number().min(0.05).max(86_400).default(1),
    /** Failed staff logins (and unknown refresh tokens) one source address may make in any window before 429. */
    loginSourceMaxFailures: z.coerce.number().int().min(1).max(100_000).default(20),
    loginSourceWindowSeconds: z.coerce.number().int().min(10).max(86_400).default(600),
    /** Region (ISO 3166-1 alpha-2) that customers' phone numbers written in national form belong to. */
    defaultPhoneRegion: z
      .string()
      .trim()
      .toUpperCase()
      .refine((r) => isSupportedCountry(r), 'a region code libphonenumber knows, such as GB or US')
      .default('GB'),
    /** Consecutive wrong knowledge checks (security questions) before checks for the customer are paused. */
    knowledgeMaxFailures: z.coerce.number().int().min(1).max(20).default(5),
    /** How long knowledge checks stay paused after knowledgeMaxFailures wrong ones. */
    knowledgeLockMinutes: z.coerce.number().int().min(1).max(1440).default(15),
    /** How many of the customer's questions an agent's check must answer (all of them when the customer has fewer). */
    knowledgeAnswersNeeded: z.coerce.number().int().min(1).max(5).default(2),
    /** Where native push tokens (fcm/apns) are handed over: POST {kind, token, deviceId, payload}. */
    pushWebhookUrl: z.url().optional(),
    /** VAPID subject (RFC 8292): a mailto: or https: contact for push services. */
    pushSubject: z.string().min(1).default('mailto:support@verified-desk.invalid'),
    /** Accept Web Push endpoints on http://127.0.0.1/localhost (tests, the demo); otherwise https only. */
    pushAllowLoopbackHttp: z.boolean().default(false),
    /** rtpengine's ng control address ("udp:HOST:PORT", the one Kamailio's rtpengine_sock names): pause/resume of call recording. */
    rtpengineNg: z
      .string()
      .regex(/^(udp:)?\S+:\d+$/, 'udp:HOST:PORT')
      .optional(),
    /** rtpengine's --recording-dir (pcap method): where the authority finds the pcaps of recorded calls. */
    recordingDir: z.string().min(1).optional(),
    /** Recordings (WAV) are kept this many days, then deleted (audited). */
    recordingRetentionDays: z.coerce.number().int().min(1).max(3650).default(90),
    /** Chat transcripts of requests that ended more than this many days ago are deleted (audited); unset: kept forever. */
    chatRetentionDays: z.coerce.number().int().min(1).max(36_500).optional(),
    /** The largest chat attachment (image or PDF) in bytes: a bigger one is refused 413. */
    chatAttachmentMaxBytes: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 * 1024)
      .default(ATTACHMENT_DEFAULT_MAX_BYTES),
    /** The site's policy: the agent is told when a supervisor listens to their call (whisper and barge always show). */
    monitorNotice: z.boolean().default(false),
    /** How often the authority looks for ended recorded calls to convert and for expired recordings. */
    recordingSweepSeconds: z.coerce.number().min(0.2).max(3600).default(5),
    /** The site's time zone (IANA, e.g. Europe/Paris): historical reports count days and hours in it. */
    siteTimeZone: z
      .string()
      .min(1)
      .refine((tz) => {
        try {
          new Intl.DateTimeFormat('en-US', { timeZone: tz });
          return true;
        } catch {
          return false;
        }
      }, 'an IANA time zone such as Europe/Paris or America/New_York')
      .default('UTC'),
    /** CRM webhooks: every listed URL receives the signed events (docs/crm-integration.md). */
    webhookUrls: z
      .array(z.url({ protocol: /^https?$/ }))
      .max(20)
      .default([]),
    /** CRM webhook receivers, each with its own signing secret (none: webhookSecret's). */
    webhookReceivers: z
      .array(
        z.strictObject({
          url: z.url({ protocol: /^https?$/ }),
          secret: z.string().min(32, 'a webhook secret must be at least 32 characters').optional(),
        }),
      )
      .max(20)
      .default([]),
    /** The HMAC-SHA256 key of the signatures to webhookUrls and to receivers without their own secret. */
    webhookSecret: z.string().min(32, 'the webhook secret must be at least 32 characters').optional(),
    /** A delivery is given up (dead) after this many failed attempts. */
    webhookMaxAttempts: z.coerce.number().int().min(1).max(50).default(8),
    /** Retry n waits webhookRetrySeconds * 2^(n-1) (capped at an hour). */
    webhookRetrySeconds: z.coerce.number().min(0.05).max(3600).default(10),
    /** How often due deliveries are looked for (and the timeout of one attempt is 10 s). */
    webhookSweepSeconds: z.coerce.number().min(0.05).max(60).default(1),
    /** Origins CRM screen-pop URLs (the queues' screenPopUrl) may open; any other is refused. */
    screenPopOrigins: z
      .array(z.url({ protocol: /^https?$/ }))
      .max(20)
      .default([]),
    /** Single sign-on (OpenID Connect) for staff: the provider's issuer URL; unset = no SSO. https, or http on a loopback host (tests). */
    ssoIssuer: z
      .url({ protocol: /^https?$/ })
      .refine(
        (u) => u.startsWith('https:') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(u + '/'),
        'the issuer must be https (http only on a loopback host)',
      )
      .optional(),
    /** The provider's name on the login screen ("Sign in with ..."). */
    ssoName: z.string().min(1).max(60).default('single sign-on'),
    ssoClientId: z.string().min(1).optional(),
    /** The client secret (client_secret_basic); unset: a public client (PKCE only). */
    ssoClientSecret: z.string().min(1).optional(),
    /** Redirect URIs the consoles may use in browser mode (exact match), registered at the provider too. */
    ssoRedirectUris: z
      .array(z.url({ protocol: /^https?$/ }))
      .max(16)
      .default([]),
    /** The desktop app's loopback redirect (RFC 8252): http://127.0.0.1:<any port>/<any path>. */
    ssoAllowLoopbackRedirect: z.boolean().default(true),
    ssoScopes: z
      .string()
      .regex(/(^| )openid( |$)/, 'the scopes must include openid')
      .default('openid profile email'),
    /** The claim that lists the user's groups (ID token or userinfo): "groups", "roles", ... */
    ssoGroupsClaim: z.string().min(1).default('groups'),
    /** group -> role (agent, supervisor, admin); the highest role of the user's groups wins; no match: refused. */
    ssoRoleMap: z.record(z.string().min(1), z.enum(['agent', 'supervisor', 'admin'])).default({}),
    /**
     * A subject signing in for the first time: `link` an existing account whose username is the
     * username claim; `provision` (link, or create the account); `refuse` (only subjects linked before).
     */
    ssoProvisioning: z.enum(['link', 'provision', 'refuse']).default('link'),
    /** The claim that names the account for linking and provisioning (preferred_username, email, upn...). */
    ssoUsernameClaim: z.string().min(1).default('preferred_username'),
    /** Strip this "@domain" from the username claim (emails, UPNs); a value with another domain is refused. */
    ssoUsernameDomain: z
      .string()
      .regex(/^[a-z0-9.-]+$/)
      .optional(),
    /** Staff must sign in with SSO: password login is refused, except for the break-glass admins below. */
    ssoEnforced: z.boolean().default(false),
    /** Admin usernames that may still use their password when SSO is enforced (the provider is down). */
    ssoBreakGlassUsernames: z.array(z.string().min(2)).max(8).default([]),
    /** How long a started sign-in waits for its callback. */
    ssoFlowSeconds: z.coerce.number().int().min(60).max(3600).default(600),
    /** Where the provider sends the browser after logout (registered at the provider); unset: its own page. */
    ssoPostLogoutRedirectUri: z.url({ protocol: /^https?$/ }).optional(),
    demo: z.boolean().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Bearer token Prometheus sends to GET /metrics; without it only loopback may scrape. */
    metricsToken: z.string().min(16, 'the metrics token must be at least 16 characters').optional(),
    /**
     * A clean stop (SIGTERM) first answers 503 on /healthz for this long, so the load
     * balancer takes the node out before its sockets close (several nodes; 0: stop at once).
     */
    drainSeconds: z.coerce.number().min(0).max(120).default(0),
    /** Many nodes: how often a node writes its heartbeat (authority_nodes). */
    nodeHeartbeatSeconds: z.coerce.number().min(0.1).max(60).default(2),
    /** Many nodes: a node whose heartbeat is older is gone; the devices online there count as offline. */
    nodeStaleSeconds: z.coerce.number().min(0.5).max(600).default(10),
    /** This node's name in its log lines and /metrics (several nodes behind a load balancer). */
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'the node id is 1-64 letters, digits, dots, dashes or underscores')
      .default(
        () =>
          hostname()
            .replace(/[^A-Za-z0-9._-]/g, '-')
            .slice(0, 64) || 'node',
      ),
  })
  .refine((c) => !c.turnUrls.some((u) => u.startsWith('turn')) || c.turnSecret !== undefined, {
    path: ['turnSecret'],
    message: 'turn: URLs need the TURN secret (VD_TURN_SECRET, the static-auth-secret of coturn)',
  })
  .refine((c) => c.iceTransportPolicy === 'all' || c.turnUrls.some((u) => u.startsWith('turn')), {
    path: ['iceTransportPolicy'],
    message: 'relay needs at least one turn: or turns: URL (VD_TURN_URLS)',
  })
  .refine((c) => (c.androidPackage === undefined) === (c.androidCertFingerprints.length === 0), {
    path: ['androidCertFingerprints'],
    message:
      'the Android app links need both the package (VD_ANDROID_PACKAGE) and its certificate fingerprints (VD_ANDROID_CERT_FINGERPRINTS)',
  })
  .refine((c) => c.ssoIssuer === undefined || c.ssoClientId !== undefined, {
    path: ['ssoClientId'],
    message: 'SSO needs the client id (VD_SSO_CLIENT_ID)',
  })
  .refine((c) => c.ssoIssuer === undefined || Object.keys(c.ssoRoleMap).length > 0, {
    path: ['ssoRoleMap'],
    message: 'SSO needs a group -> role map (VD_SSO_ROLE_MAP="group=agent,group2=admin")',
  })
  .refine((c) => !c.ssoEnforced || c.ssoIssuer !== undefined, {
    path: ['ssoEnforced'],
    message: 'SSO cannot be enforced without an issuer (VD_SSO_ISSUER)',
  })
  .refine(
    (c) =>
      c.webhookSecret !== undefined ||
      (c.webhookUrls.length === 0 && c.webhookReceivers.every((r) => r.secret !== undefined)),
    {
      path: ['webhookSecret'],
      message:
        'webhook receivers without a secret of their own (VD_WEBHOOK_URLS) need VD_WEBHOOK_SECRET (or give each one its secret in VD_WEBHOOK_RECEIVERS)',
    },
  )
  .refine(
    (c) => {
      const urls = [...c.webhookReceivers.map((r) => r.url), ...c.webhookUrls];
      return new Set(urls).size === urls.length;
    },
    { path: ['webhookReceivers'], message: 'a webhook receiver URL is listed more than once' },
  )
  .refine((c) => c.nodeStaleSeconds >= 2 * c.nodeHeartbeatSeconds, {
    path: ['nodeStaleSeconds'],
    message:
      'a node is stale after at least two heartbeats (VD_NODE_STALE_SECONDS >= 2 x VD_NODE_HEARTBEAT_SECONDS)',
  });
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {}

const ENV: Record<string, keyof Config> = {
  VD_HOST: 'host',
  VD_PORT: 'port',
  VD_DATA_DIR: 'dataDir',
  VD_DATABASE_URL: 'databaseUrl',
  VD_LISTEN_DATABASE_URL: 'listenDatabaseUrl',
  VD_PIN_PEPPER: 'pinPepper',
  VD_RP_ID: 'rpId',
  VD_RP_NAME: 'rpName',
  VD_ORIGINS: 'origins',
  VD_SESSION_IDLE_SECONDS: 'sessionIdleSeconds',
  VD_SESSION_ABSOLUTE_SECONDS: 'sessionAbsoluteSeconds',
  VD_AUTHENTICATION_TTL_SECONDS: 'authenticationTtlSeconds',
  VD_ACCESS_TOKEN_SECONDS: 'accessTokenSeconds',
  VD_REFRESH_TOKEN_SECONDS: 'refreshTokenSeconds',
  VD_ARGON2_MEMORY_KIB: 'argon2MemoryKiB',
  VD_ARGON2_ITERATIONS: 'argon2Iterations',
  VD_PIPELINE_FILE: 'pipelineFile',
  VD_OFFER_TIMEOUT_SECONDS: 'offerTimeoutSeconds',
  VD_WRAP_UP_SECONDS: 'wrapUpSeconds',
  VD_WRAP_UP_REQUIRED: 'wrapUpRequired',
  VD_AGENT_TIMEOUT_SECONDS: 'agentTimeoutSeconds',
  VD_SWEEP_POLL_SECONDS: 'sweepPollSeconds',
  VD_LOGIN_SOURCE_MAX_FAILURES: 'loginSourceMaxFailures',
  VD_LOGIN_SOURCE_WINDOW_SECONDS: 'loginSourceWindowSeconds',
  VD_SIP_SECRET: 'sipSecret',
  VD_SIP_SERVER_SECRET: 'sipServerSecret',
  VD_TEXT_GATEWAY_URL: 'textGatewayUrl',
  VD_TEXT_GATEWAY_TOKEN: 'textGatewayToken',
  VD_TEXT_FROM: 'textFrom',
  VD_TEXT_SINK_FILE: 'textSinkFile',
  VD_OUTBOUND_CALLER_ID: 'outboundCallerId',
  VD_CUSTOMER_APP_URL: 'customerAppUrl',
  VD_VERIFICATION_LINK_SECONDS: 'verificationLinkSeconds',
  VD_IOS_APP_IDS: 'iosAppIds',
  VD_ANDROID_PACKAGE: 'androidPackage',
  VD_ANDROID_CERT_FINGERPRINTS: 'androidCertFingerprints',
  VD_SIP_DOMAIN: 'sipDomain',
  VD_SIP_DIALOG_GRACE_SECONDS: 'sipDialogGraceSeconds',
  VD_SIP_WS_URL: 'sipWsUrl',
  VD_TURN_URLS: 'turnUrls',
  VD_TURN_SECRET: 'turnSecret',
  VD_TURN_CREDENTIAL_SECONDS: 'turnCredentialSeconds',
  VD_ICE_TRANSPORT_POLICY: 'iceTransportPolicy',
  VD_DEFAULT_PHONE_REGION: 'defaultPhoneRegion',
  VD_KNOWLEDGE_MAX_FAILURES: 'knowledgeMaxFailures',
  VD_KNOWLEDGE_LOCK_MINUTES: 'knowledgeLockMinutes',
  VD_KNOWLEDGE_ANSWERS_NEEDED: 'knowledgeAnswersNeeded',
  VD_PUSH_WEBHOOK_URL: 'pushWebhookUrl',
  VD_PUSH_SUBJECT: 'pushSubject',
  VD_PUSH_ALLOW_LOOPBACK_HTTP: 'pushAllowLoopbackHttp',
  VD_RTPENGINE_NG: 'rtpengineNg',
  VD_RECORDING_DIR: 'recordingDir',
  VD_RECORDING_RETENTION_DAYS: 'recordingRetentionDays',
  VD_RECORDING_SWEEP_SECONDS: 'recordingSweepSeconds',
  VD_CHAT_RETENTION_DAYS: 'chatRetentionDays',
  VD_CHAT_ATTACHMENT_MAX_BYTES: 'chatAttachmentMaxBytes',
  VD_MONITOR_NOTICE: 'monitorNotice',
  VD_SITE_TIME_ZONE: 'siteTimeZone',
  VD_WEBHOOK_URLS: 'webhookUrls',
  VD_WEBHOOK_RECEIVERS: 'webhookReceivers',
  VD_WEBHOOK_SECRET: 'webhookSecret',
  VD_WEBHOOK_MAX_ATTEMPTS: 'webhookMaxAttempts',
  VD_WEBHOOK_RETRY_SECONDS: 'webhookRetrySeconds',
  VD_SCREEN_POP_ORIGINS: 'screenPopOrigins',
  VD_SSO_ISSUER: 'ssoIssuer',
  VD_SSO_NAME: 'ssoName',
  VD_SSO_CLIENT_ID: 'ssoClientId',
  VD_SSO_CLIENT_SECRET: 'ssoClientSecret',
  VD_SSO_REDIRECT_URIS: 'ssoRedirectUris',
  VD_SSO_ALLOW_LOOPBACK_REDIRECT: 'ssoAllowLoopbackRedirect',
  VD_SSO_SCOPES: 'ssoScopes',
  VD_SSO_GROUPS_CLAIM: 'ssoGroupsClaim',
  VD_SSO_ROLE_MAP: 'ssoRoleMap',
  VD_SSO_PROVISIONING: 'ssoProvisioning',
  VD_SSO_USERNAME_CLAIM: 'ssoUsernameClaim',
  VD_SSO_USERNAME_DOMAIN: 'ssoUsernameDomain',
  VD_SSO_ENFORCED: 'ssoEnforced',
  VD_SSO_BREAK_GLASS_USERNAMES: 'ssoBreakGlassUsernames',
  VD_SSO_FLOW_SECONDS: 'ssoFlowSeconds',
  VD_SSO_POST_LOGOUT_REDIRECT_URI: 'ssoPostLogoutRedirectUri',
  VD_DEMO: 'demo',
  VD_LOG_LEVEL: 'logLevel',
  VD_NODE_ID: 'nodeId',
  VD_NODE_HEARTBEAT_SECONDS: 'nodeHeartbeatSeconds',
  VD_DRAIN_SECONDS: 'drainSeconds',
  VD_NODE_STALE_SECONDS: 'nodeStaleSeconds',
  VD_METRICS_TOKEN: 'metricsToken',
};

const BOOLEAN_KEYS = new Set<keyof Config>(['demo', 'wrapUpRequired', 'pushAllowLoopbackHttp']);
BOOLEAN_KEYS.add('ssoAllowLoopbackRedirect').add('ssoEnforced');
/** SSO settings written as comma-separated lists in the environment. */
const SSO_LIST_KEYS = new Set<keyof Config>(['ssoRedirectUris', 'ssoBreakGlassUsernames']);
/** The native apps' ids and certificate fingerprints, comma-separated in the environment. */
const APP_LINK_LIST_KEYS = new Set<keyof Config>(['iosAppIds', 'androidCertFingerprints']);
const splitList = (v: string): string[] =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
/** VD_SSO_ROLE_MAP "group=role,group2=role2" as a record; a pair without "=" is left for the schema to refuse. */
const roleMap = (v: string): Record<string, string> =>
  Object.fromEntries(
    splitList(v).map((pair) => {
      const i = pair.lastIndexOf('=');
      return i < 0 ? [pair, ''] : [pair.slice(0, i).trim(), pair.slice(i + 1).trim()];
    }),
  );

/** Read configuration from argv and env; throws ConfigError listing every problem. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (key === 'webhookReceivers') {
      try {
        raw[key] = JSON.parse(v);
      } catch {
        throw new ConfigError(
          `invalid configuration:\n  - VD_WEBHOOK_RECEIVERS: not JSON; expected [{"url":"https://...","secret":"..."}, ...]`,
        );
      }
      continue;
    }
    if (APP_LINK_LIST_KEYS.has(key)) {
      raw[key] = splitList(v);
      continue;
    }
    if (key === 'ssoRoleMap' || SSO_LIST_KEYS.has(key)) {
      raw[key] = key === 'ssoRoleMap' ? roleMap(v) : splitList(v);
      continue;
    }
    raw[key] =
      key === 'origins' || key === 'turnUrls' || key === 'webhookUrls' || key === 'screenPopOrigins'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : BOOLEAN_KEYS.has(key)
          ? v === '1' || v === 'true'
          : v;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        'data-dir': { type: 'string' },
        'database-url': { type: 'string' },
        'rp-id': { type: 'string' },
        origin: { type: 'string', multiple: true },
        demo: { type: 'boolean' },
        pipeline: { type: 'string' },
        'log-level': { type: 'string' },
        'chat-retention-days': { type: 'string' },
      },
    });
  } catch (e) {
    throw new ConfigError(`bad command line: ${(e as Error).message}`);
  }
  const a = parsed.values;
  if (a.host !== undefined) raw.host = a.host;
  if (a.port !== undefined) raw.port = a.port;
  if (a['data-dir'] !== undefined) raw.dataDir = a['data-dir'];
  if (a['database-url'] !== undefined) raw.databaseUrl = a['database-url'];
  if (a['rp-id'] !== undefined) raw.rpId = a['rp-id'];
  if (a.origin !== undefined) raw.origins = a.origin;
  if (a.demo !== undefined) raw.demo = a.demo;
  if (a.pipeline !== undefined) raw.pipelineFile = a.pipeline;
  if (a['log-level'] !== undefined) raw.logLevel = a['log-level'];
  if (a['chat-retention-days'] !== undefined) raw.chatRetentionDays = a['chat-retention-days'];
  // The customer app is served by the authority itself: by default WebAuthn accepts its own origin.
  if (
    raw.origins === undefined &&
    /^\d+$/.test(String(raw.port ?? '')) &&
    Number(raw.port) > 0 &&
    Number(raw.port) < 65536
  )
    raw.origins = [`http://localhost:${Number(raw.port)}`];
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): Config {
  const r = ConfigSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `  - ${i.path.join('.') || '(config)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  if (r.data.sessionIdleSeconds > r.data.sessionAbsoluteSeconds)
    throw new ConfigError(
      'invalid configuration:\n  - sessionIdleSeconds: must not exceed sessionAbsoluteSeconds',
    );
  return r.data;
}
