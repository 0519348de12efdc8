import { parseArgs } from 'node:util';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { z } from 'zod';

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
    /** How often the authority looks for ended recorded calls to convert and for expired recordings. */
    recordingSweepSeconds: z.coerce.number().min(0.2).max(3600).default(5),
    demo: z.boolean().default(false),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .refine((c) => !c.turnUrls.some((u) => u.startsWith('turn')) || c.turnSecret !== undefined, {
    path: ['turnSecret'],
    message: 'turn: URLs need the TURN secret (VD_TURN_SECRET, the static-auth-secret of coturn)',
  })
  .refine((c) => c.iceTransportPolicy === 'all' || c.turnUrls.some((u) => u.startsWith('turn')), {
    path: ['iceTransportPolicy'],
    message: 'relay needs at least one turn: or turns: URL (VD_TURN_URLS)',
  });
export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {}

const ENV: Record<string, keyof Config> = {
  VD_HOST: 'host',
  VD_PORT: 'port',
  VD_DATA_DIR: 'dataDir',
  VD_DATABASE_URL: 'databaseUrl',
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
  VD_LOGIN_SOURCE_MAX_FAILURES: 'loginSourceMaxFailures',
  VD_LOGIN_SOURCE_WINDOW_SECONDS: 'loginSourceWindowSeconds',
  VD_SIP_SECRET: 'sipSecret',
  VD_SIP_DOMAIN: 'sipDomain',
  VD_SIP_DIALOG_GRACE_SECONDS: 'sipDialogGraceSeconds',
  VD_SIP_WS_URL: 'sipWsUrl',
  VD_TURN_URLS: 'turnUrls',
  VD_TURN_SECRET: 'turnSecret',
  VD_TURN_CREDENTIAL_SECONDS: 'turnCredentialSeconds',
  VD_ICE_TRANSPORT_POLICY: 'iceTransportPolicy',
  VD_DEFAULT_PHONE_REGION: 'defaultPhoneRegion',
  VD_PUSH_WEBHOOK_URL: 'pushWebhookUrl',
  VD_PUSH_SUBJECT: 'pushSubject',
  VD_PUSH_ALLOW_LOOPBACK_HTTP: 'pushAllowLoopbackHttp',
  VD_RTPENGINE_NG: 'rtpengineNg',
  VD_RECORDING_DIR: 'recordingDir',
  VD_RECORDING_RETENTION_DAYS: 'recordingRetentionDays',
  VD_RECORDING_SWEEP_SECONDS: 'recordingSweepSeconds',
  VD_DEMO: 'demo',
  VD_LOG_LEVEL: 'logLevel',
};

const BOOLEAN_KEYS = new Set<keyof Config>(['demo', 'wrapUpRequired', 'pushAllowLoopbackHttp']);

/** Read configuration from argv and env; throws ConfigError listing every problem. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const raw: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    raw[key] =
      key === 'origins' || key === 'turnUrls'
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
