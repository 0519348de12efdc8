import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { DeviceId } from './keys.ts';
import { SessionId } from './sessions.ts';

/**
 * Remote control: what the agent asks of the customer's device, and what the device answers.
 *
 * Agent -> authority: POST a `CreateCommandRequest` (current fence + a per-request,
 * per-fence strictly increasing `seq`). The authority authorises it (current lease,
 * fence, level, control not stopped, session alive), persists it, audits it and relays
 * it to the device as a JWS signed with its own key (`typ` COMMAND_TYP, claims
 * `CommandClaims`). The device verifies that JWS before showing anything (see
 * `CommandClaims` for the checks), acknowledges it (`shown`), then answers once
 * (`done` with a `DeviceResult`, `declined`, or `failed`).
 */

/** JWS "typ" of a command signed by the authority, and of the device's signature of a confirmed transaction. */
export const COMMAND_TYP = 'vd-command+jwt';
export const CONFIRM_SIGNATURE_TYP = 'vd-confirm+jws';

/** Command lifetime: absolute expiry = issue time + ttl (default 120 s, at most 600 s). */
export const COMMAND_TTL = { defaultSeconds: 120, minSeconds: 5, maxSeconds: 600 } as const;
/** A command (kind + payload) serialises to at most this many bytes of JSON. */
export const COMMAND_MAX_JSON = 16 * 1024;
/** Leeway the device allows on `iat`/`exp` for clock skew. */
export const COMMAND_CLOCK_SKEW_SECONDS = 5;

/** Item, field and option ids inside a command (menus, forms, selects). */
export const ItemId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 url-safe characters');

const uniqueIds = <T extends { id: string }>(items: T[]) =>
  new Set(items.map((i) => i.id)).size === items.length;

export const VerifyPayload = z.strictObject({
  /** The step-up to perform: a biometric (WebAuthn, UV required) or the PIN. */
  factor: z.enum(['biometric', 'pin']),
  reason: ShortText,
});
export const PhotoPayload = z.strictObject({ prompt: ShortText, camera: z.enum(['front', 'back']) });
export const ScreenshotPayload = z.strictObject({ prompt: ShortText });
export const TextInputType = z.enum(['tracking', 'email', 'free']);
export type TextInputType = z.infer<typeof TextInputType>;
export const TextPayload = z.strictObject({
  input: TextInputType,
  prompt: ShortText,
  /** Only for 'free' (default LIMITS.longText). */
  maxLength: z.number().int().min(1).max(LIMITS.longText).optional(),
});
export const MenuItem = z.strictObject({ id: ItemId, label: ShortText });
export const MenuItems = z.array(MenuItem).min(1).max(20).refine(uniqueIds, 'item ids must be unique');
export const MenuPayload = z.strictObject({ title: ShortText, items: MenuItems });

const FieldBase = { id: ItemId, label: ShortText, required: z.boolean() };
export const FormField = z.discriminatedUnion('type', [
  z.strictObject({
    ...FieldBase,
    type: z.literal('text'),
    maxLength: z.number().int().min(1).max(LIMITS.longText).optional(),
  }),
  z.strictObject({ ...FieldBase, type: z.literal('email') }),
  z.strictObject({
    ...FieldBase,
    type: z.literal('number'),
    min: z.number().finite().optional(),
    max: z.number().finite().optional(),
  }),
  z.strictObject({
    ...FieldBase,
    type: z.literal('select'),
    options: z.array(MenuItem).min(1).max(20).refine(uniqueIds, 'option ids must be unique'),
  }),
  /** A required checkbox must be ticked ("I agree"). */
  z.strictObject({ ...FieldBase, type: z.literal('checkbox') }),
]);
export type FormField = z.infer<typeof FormField>;
export const FormPayload = z.strictObject({
  title: ShortText,
  fields: z.array(FormField).min(1).max(30).refine(uniqueIds, 'field ids must be unique'),
});

/** ISO 4217 currency code. */
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. GBP');
/** A transaction to confirm on the device. `amount` is in minor units (pence, cents). */
export const Transaction = z.strictObject({
  amount: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  currency: CurrencyCode,
  payee: ShortText,
  reference: ShortText,
  terms: z.string().min(1).max(LIMITS.longText),
});
export type Transaction = z.infer<typeof Transaction>;
export const ConfirmPayload = z.strictObject({ transaction: Transaction });

/** Screens of the customer app the agent may open. */
export const AppScreen = z.enum(['home', 'menu', 'request', 'call', 'account', 'help']);
export type AppScreen = z.infer<typeof AppScreen>;
export const NavigatePayload = z.strictObject({ screen: AppScreen });
export const EndPayload = z.strictObject({ reason: ShortText.optional() });

/** A command: its kind and the payload of that kind. */
export const DeviceCommand = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('verify'), payload: VerifyPayload }),
  z.strictObject({ kind: z.literal('photo'), payload: PhotoPayload }),
  z.strictObject({ kind: z.literal('screenshot'), payload: ScreenshotPayload }),
  z.strictObject({ kind: z.literal('text'), payload: TextPayload }),
  z.strictObject({ kind: z.literal('menu'), payload: MenuPayload }),
  z.strictObject({ kind: z.literal('form'), payload: FormPayload }),
  z.strictObject({ kind: z.literal('confirm'), payload: ConfirmPayload }),
  z.strictObject({ kind: z.literal('navigate'), payload: NavigatePayload }),
  z.strictObject({ kind: z.literal('end'), payload: EndPayload }),
]);
export type DeviceCommand = z.infer<typeof DeviceCommand>;
export const CommandKind = z.enum([
  'verify',
  'photo',
  'screenshot',
  'text',
  'menu',
  'form',
  'confirm',
  'navigate',
  'end',
]);
export type CommandKind = z.infer<typeof CommandKind>;
export type CommandOf<K extends CommandKind> = Extract<DeviceCommand, { kind: K }>;

/**
 * The assurance level the request's authentication must reach before the agent may
 * send a command of each kind (levels: protocol/src/levels.ts). A transaction needs
 * device + a second factor; `end` is always allowed.
 */
export const COMMAND_LEVELS: Record<CommandKind, AssuranceLevel> = {
  verify: 1,
  photo: 1,
  screenshot: 1,
  text: 1,
  menu: 1,
  form: 1,
  confirm: 2,
  navigate: 1,
  end: 0,
};

// ---------------------------------------------------------------- agent -> authority

export const CreateCommandRequest = z.strictObject({
  fence: z.number().int().min(1),
  /** Strictly greater than every seq already used for this request under this fence (starts again after a transfer). */
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  ttlSeconds: z.number().int().min(COMMAND_TTL.minSeconds).max(COMMAND_TTL.maxSeconds).optional(),
  command: DeviceCommand,
});
export type CreateCommandRequest = z.infer<typeof CreateCommandRequest>;

/** The agent edits a live menu: the device gets the same command id with revision + 1. */
export const UpdateMenuRequest = z.strictObject({
  fence: z.number().int().min(1),
  title: ShortText.optional(),
  items: MenuItems,
});
export const CancelCommandRequest = z.strictObject({ fence: z.number().int().min(1) });

export const CommandParams = z.strictObject({ commandId: OpaqueId });

// ---------------------------------------------------------------- authority -> device

/**
 * Claims of a command JWS (ES256 by the authority's key from /.well-known/jwks.json,
 * protected header `typ` COMMAND_TYP).
 *
 * The device executes a command only if ALL of these hold, else it refuses it (and may
 * report `failed` with the reason when the command id is trustworthy, i.e. the JWS verified):
 * - the signature verifies with the authority's published key, `typ` is COMMAND_TYP,
 *   the claims parse with this schema (`iss` "verified-desk");
 * - `dev` is this device's id; `sid` is this device's live service session and `rid`
 *   its open request;
 * - now <= `exp` (+ COMMAND_CLOCK_SKEW_SECONDS) and `iat` is not in the future (same leeway);
 * - `cid` was never executed before (remember it until `exp`). A known `cid` is accepted
 *   again only as an update of the command on screen: same `cid`, `rev` greater than
 *   the revision shown (menus edited live);
 * - ordering: (`fence`, `seq`) is strictly greater (lexicographically) than the pair of
 *   the last command it executed for this request (a new fence after a transfer starts
 *   `seq` again); anything else is out of order or replayed.
 */
export const CommandClaims = z.strictObject({
  iss: z.literal('verified-desk'),
  /** Unique per signed token: `<cid>.<rev>`. */
  jti: z.string().min(8).max(160),
  cid: OpaqueId,
  rid: OpaqueId,
  sid: SessionId,
  dev: DeviceId,
  /** The agent who sent it and their display name ("Dana asks for your fingerprint"). */
  agt: OpaqueId,
  agn: ShortText,
  fence: z.number().int().min(1),
  seq: z.number().int().min(1),
  /** 1 for the command as first sent; +1 at every live edit (menus). */
  rev: z.number().int().min(1),
  cmd: DeviceCommand,
  iat: z.number().int(),
  exp: z.number().int(),
});
export type CommandClaims = z.infer<typeof CommandClaims>;

/** A signed command as the device receives it (WebSocket frame `command`, or GET pending commands). */
export const SignedCommand = z.strictObject({ commandId: OpaqueId, jws: z.string().min(1).max(200_000) });
export type SignedCommand = z.infer<typeof SignedCommand>;
export const PendingCommands = z.strictObject({
  commands: z.array(SignedCommand),
  /**
   * This device's open requests whose remote control the customer stopped (so a
   * reinstalled or reloaded app shows "Control is stopped" and offers "Allow again").
   */
  stopped: z.array(z.strictObject({ requestId: OpaqueId, stoppedAt: IsoTime })).max(100),
});

// ---------------------------------------------------------------- device -> authority

/**
 * The bytes the device signs to confirm a transaction (and the authority rebuilds to
 * check it): the UTF-8 of this JSON array, in exactly this order. JSON.stringify of
 * strings and safe integers is deterministic, so both sides get the same bytes.
 */
export function confirmCanonical(c: {
  commandId: string;
  requestId: string;
  sessionId: string;
  deviceId: string;
  transaction: Transaction;
}): string {
  const t = c.transaction;
  return JSON.stringify([
    'vd-confirm/1',
    c.commandId,
    c.requestId,
    c.sessionId,
    c.deviceId,
    t.amount,
    t.currency,
    t.payee,
    t.reference,
    t.terms,
  ]);
}

/** A form answer: field id -> value (text/email/select: string, number: number, checkbox: boolean). */
export const FormValues = z.record(
  ItemId,
  z.union([z.string().max(LIMITS.longText), z.number().finite(), z.boolean()]),
);

/**
 * What the device answers for a command it carried out. Photos and screenshots are
 * answered by uploading the image (POST /v1/device/commands/:commandId/image), not here.
 */
export const DeviceResult = z.discriminatedUnion('kind', [
  /** The step-up was done through the factor routes (PIN / WebAuthn); the authority checks the factor was recorded after the command. */
  z.strictObject({ kind: z.literal('verify'), factor: z.enum(['biometric', 'pin']) }),
  z.strictObject({ kind: z.literal('text'), value: z.string().min(1).max(LIMITS.longText) }),
  /** The revision the customer chose from must be the current one. */
  z.strictObject({ kind: z.literal('menu'), itemId: ItemId, revision: z.number().int().min(1) }),
  z.strictObject({ kind: z.literal('form'), values: FormValues }),
  /** A compact JWS (ES256, device key, typ CONFIRM_SIGNATURE_TYP) whose payload is `confirmCanonical(...)`. */
  z.strictObject({ kind: z.literal('confirm'), signature: z.string().min(1).max(16_384) }),
  z.strictObject({ kind: z.literal('navigate'), screen: AppScreen }),
  z.strictObject({ kind: z.literal('end') }),
]);
export type DeviceResult = z.infer<typeof DeviceResult>;

export const CommandOutcome = z.discriminatedUnion('outcome', [
  z.strictObject({ outcome: z.literal('done'), result: DeviceResult }),
  z.strictObject({ outcome: z.literal('declined') }),
  /** E.g. "camera unavailable", or a refused command: "bad signature", "out of order". */
  z.strictObject({ outcome: z.literal('failed'), reason: ShortText }),
]);
export type CommandOutcome = z.infer<typeof CommandOutcome>;

export const CommandState = z.enum([
  'pending',
  'shown',
  'done',
  'declined',
  'failed',
  'expired',
  'cancelled',
]);
export type CommandState = z.infer<typeof CommandState>;
export const FINAL_COMMAND_STATES: readonly CommandState[] = [
  'done',
  'declined',
  'failed',
  'expired',
  'cancelled',
];

/** What the device gets back for an ack or a result. */
export const CommandReceipt = z.strictObject({ commandId: OpaqueId, state: CommandState, at: IsoTime });

/** The customer's "stop all": pending commands cancelled, further commands refused for this request. */
export const ControlStopped = z.strictObject({
  requestId: OpaqueId,
  stoppedAt: IsoTime,
  cancelled: z.array(OpaqueId),
});
export const ControlResumed = z.strictObject({ requestId: OpaqueId, resumedAt: IsoTime });

// ---------------------------------------------------------------- what the agent sees

/** A finished command's result as stored and shown to the agent. */
export const CommandResultView = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('verify'),
    factor: z.enum(['biometric', 'pin']),
    level: AssuranceLevel,
    at: IsoTime,
  }),
  /** Stored like the enrolment photo (purpose "verification"); GET /v1/agent/requests/:requestId/photos/:photoId. */
  z.strictObject({ kind: z.literal('photo'), photoId: OpaqueId }),
  /** Served by the same photo route. */
  z.strictObject({ kind: z.literal('screenshot'), imageId: OpaqueId }),
  z.strictObject({ kind: z.literal('text'), value: z.string().max(LIMITS.longText) }),
  z.strictObject({ kind: z.literal('menu'), itemId: ItemId, label: ShortText, revision: z.number().int() }),
  z.strictObject({ kind: z.literal('form'), values: FormValues }),
  /** "Confirmed on device": the signature verified with the device's enrolled key and is stored. */
  z.strictObject({
    kind: z.literal('confirm'),
    signature: z.string().max(16_384),
    canonical: z.string().max(20_000),
    verifiedAt: IsoTime,
  }),
  z.strictObject({ kind: z.literal('navigate'), screen: AppScreen }),
  z.strictObject({ kind: z.literal('end') }),
]);
export type CommandResultView = z.infer<typeof CommandResultView>;

export const CommandView = z.strictObject({
  commandId: OpaqueId,
  requestId: OpaqueId,
  agentId: OpaqueId,
  fence: z.number().int(),
  seq: z.number().int(),
  revision: z.number().int(),
  command: DeviceCommand,
  state: CommandState,
  createdAt: IsoTime,
  expiresAt: IsoTime,
  shownAt: IsoTime.nullable(),
  finishedAt: IsoTime.nullable(),
  result: CommandResultView.nullable(),
  /** Why it failed, was cancelled or expired. */
  reason: z.string().max(LIMITS.shortText).nullable(),
});
export type CommandView = z.infer<typeof CommandView>;

export const RequestCommands = z.strictObject({
  requestId: OpaqueId,
  fence: z.number().int(),
  /** The highest seq used under the current fence (0 when none): the next command uses a greater one. */
  lastSeq: z.number().int().min(0),
  control: z.strictObject({ stopped: z.boolean(), stoppedAt: IsoTime.nullable() }),
  commands: z.array(CommandView),
});
export type RequestCommands = z.infer<typeof RequestCommands>;
