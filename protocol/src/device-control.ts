import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { AuthenticationResponseJSON, Pin } from './identity.ts';
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
export const ItemId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1-64 url-safe characters')
  .describe('An item, field or option id: 1 to 64 url-safe characters.');

const uniqueIds = <T extends { id: string }>(items: T[]) =>
  new Set(items.map((i) => i.id)).size === items.length;

export const VerifyPayload = z.strictObject({
  /** The step-up to perform: a biometric (WebAuthn, UV required) or the PIN. */
  factor: z
    .enum(['biometric', 'pin'])
    .describe('The step-up to perform: a biometric (WebAuthn, UV required) or the PIN.'),
  reason: ShortText.describe('Why, shown to the customer.'),
});
export const PhotoPayload = z.strictObject({
  prompt: ShortText.describe('What to photograph, shown to the customer.'),
  camera: z.enum(['front', 'back']).describe('Which camera to open.'),
});
export const ScreenshotPayload = z.strictObject({
  prompt: ShortText.describe('What to capture, shown to the customer.'),
});
export const TextInputType = z.enum(['tracking', 'email', 'free']);
export type TextInputType = z.infer<typeof TextInputType>;
export const TextPayload = z.strictObject({
  input: TextInputType.describe('tracking (a tracking number), email, or free text.'),
  prompt: ShortText.describe('What to type, shown to the customer.'),
  /** Only for 'free' (default LIMITS.longText). */
  maxLength: z
    .number()
    .int()
    .min(1)
    .max(LIMITS.longText)
    .optional()
    .describe(`Only for free text: the most characters (default ${LIMITS.longText}).`),
});
export const MenuItem = z.strictObject({
  id: ItemId.describe('The item id (unique in the menu).'),
  label: ShortText.describe('What the customer reads.'),
});
export const MenuItems = z
  .array(MenuItem)
  .min(1)
  .max(20)
  .refine(uniqueIds, 'item ids must be unique')
  .describe('The items, 1 to 20, ids unique.');
export const MenuPayload = z.strictObject({
  title: ShortText.describe('The question or title.'),
  items: MenuItems,
});

const FieldBase = {
  id: ItemId.describe('The field id (unique in the form).'),
  label: ShortText.describe('What the customer reads.'),
  required: z.boolean().describe('The customer must fill it (a required checkbox must be ticked).'),
};
export const FormField = z.discriminatedUnion('type', [
  z.strictObject({
    ...FieldBase,
    type: z.literal('text').describe('A text field.'),
    maxLength: z.number().int().min(1).max(LIMITS.longText).optional().describe('The most characters.'),
  }),
  z.strictObject({ ...FieldBase, type: z.literal('email').describe('An email address.') }),
  z.strictObject({
    ...FieldBase,
    type: z.literal('number').describe('A number.'),
    min: z.number().finite().optional().describe('The smallest allowed.'),
    max: z.number().finite().optional().describe('The largest allowed.'),
  }),
  z.strictObject({
    ...FieldBase,
    type: z.literal('select').describe('One of a list.'),
    options: z
      .array(MenuItem)
      .min(1)
      .max(20)
      .refine(uniqueIds, 'option ids must be unique')
      .describe('The options, 1 to 20, ids unique.'),
  }),
  /** A required checkbox must be ticked ("I agree"). */
  z.strictObject({ ...FieldBase, type: z.literal('checkbox').describe('A checkbox ("I agree").') }),
]);
export type FormField = z.infer<typeof FormField>;
export const FormPayload = z.strictObject({
  title: ShortText.describe('The form title.'),
  fields: z
    .array(FormField)
    .min(1)
    .max(30)
    .refine(uniqueIds, 'field ids must be unique')
    .describe('The fields, 1 to 30, ids unique.'),
});

/** ISO 4217 currency code. */
export const CurrencyCode = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. GBP');
/** A transaction to confirm on the device. `amount` is in minor units (pence, cents). */
export const Transaction = z.strictObject({
  amount: z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .describe('The amount in minor units (pence, cents).'),
  currency: CurrencyCode.describe('ISO 4217 currency code, e.g. GBP.'),
  payee: ShortText.describe('Who is paid.'),
  reference: ShortText.describe('The payment reference.'),
  terms: z.string().min(1).max(LIMITS.longText).describe('The terms the customer agrees to.'),
});
export type Transaction = z.infer<typeof Transaction>;
/** The authority's single-use nonce of a transaction to confirm (dynamic linking). */
export const ConfirmNonce = z
  .string()
  .regex(/^[A-Za-z0-9_-]{16,64}$/, 'a nonce is 16 to 64 url-safe characters')
  .describe("The authority's single-use nonce of this transaction.");
export const ConfirmPayload = z.strictObject({
  transaction: Transaction.describe(
    'The transaction the customer confirms with the fingerprint or PIN entered now, signed with the device key.',
  ),
  /**
   * Set by the authority (an agent's command carrying them is refused): the debited
   * account, masked, from the customer's account data, and the nonce the user-verifying
   * factor binds to (PSD2 RTS Art. 5 dynamic linking). The device shows the account.
   */
  account: ShortText.optional().describe(
    'Set by the authority, never by the agent: the debited account, masked (e.g. "GB29 •••• 6819").',
  ),
  nonce: ConfirmNonce.optional().describe('Set by the authority, never by the agent: the single-use nonce.'),
});

/** Screens of the customer app the agent may open. */
export const AppScreen = z.enum(['home', 'menu', 'request', 'call', 'account', 'help']);
export type AppScreen = z.infer<typeof AppScreen>;
export const NavigatePayload = z.strictObject({
  screen: AppScreen.describe('The screen of the app to open.'),
});
export const EndPayload = z.strictObject({
  reason: ShortText.optional().describe('Why, shown to the customer.'),
});

/** A command: its kind and the payload of that kind. */
export const DeviceCommand = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('verify').describe('Ask for a step-up (level 1 needed).'),
      payload: VerifyPayload.describe('Which factor and why.'),
    }),
    z.strictObject({
      kind: z.literal('photo').describe('Ask for a photo, answered with the image (level 1).'),
      payload: PhotoPayload.describe('What to photograph.'),
    }),
    z.strictObject({
      kind: z.literal('screenshot').describe('Ask for a screenshot, answered with the image (level 1).'),
      payload: ScreenshotPayload.describe('What to capture.'),
    }),
    z.strictObject({
      kind: z.literal('text').describe('Ask the customer to type something (level 1).'),
      payload: TextPayload.describe('What to type.'),
    }),
    z.strictObject({
      kind: z.literal('menu').describe('Ask the customer to choose (level 1; editable live).'),
      payload: MenuPayload.describe('The choices.'),
    }),
    z.strictObject({
      kind: z.literal('form').describe('Ask the customer to fill a form (level 1).'),
      payload: FormPayload.describe('The form.'),
    }),
    z.strictObject({
      kind: z
        .literal('confirm')
        .describe(
          'Ask the customer to confirm a transaction with the fingerprint or PIN entered now, signed by the device key (level 2).',
        ),
      payload: ConfirmPayload.describe('The transaction.'),
    }),
    z.strictObject({
      kind: z.literal('navigate').describe('Open a screen of the app (level 1).'),
      payload: NavigatePayload.describe('The screen.'),
    }),
    z.strictObject({
      kind: z
        .literal('end')
        .describe('End the remote session (always allowed; cancels the other open commands).'),
      payload: EndPayload.describe('Why.'),
    }),
  ])
  .meta({
    id: 'DeviceCommand',
    description: "A command for the customer's device: its kind and the payload of that kind.",
  });
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
  fence: z.number().int().min(1).describe('The fencing number the agent holds the request under.'),
  /** Strictly greater than every seq already used for this request under this fence (starts again after a transfer). */
  seq: z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .describe(
      'Strictly greater than every seq already used for this request under this fence (lastSeq + 1; starts again after a transfer).',
    ),
  ttlSeconds: z
    .number()
    .int()
    .min(COMMAND_TTL.minSeconds)
    .max(COMMAND_TTL.maxSeconds)
    .optional()
    .describe(
      `Lifetime in seconds (default ${COMMAND_TTL.defaultSeconds}, ${COMMAND_TTL.minSeconds} to ${COMMAND_TTL.maxSeconds}; never beyond the session).`,
    ),
  command: DeviceCommand.describe('What to ask of the device.'),
});
export type CreateCommandRequest = z.infer<typeof CreateCommandRequest>;

/** The agent edits a live menu: the device gets the same command id with revision + 1. */
export const UpdateMenuRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the command was sent under (the current one).'),
  title: ShortText.optional().describe('A new title (omit: keep it).'),
  items: MenuItems,
});
export const CancelCommandRequest = z.strictObject({
  fence: z.number().int().min(1).describe('The fencing number the command was sent under (the current one).'),
});

export const CommandParams = z.strictObject({ commandId: OpaqueId.describe('The command.') });

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
export const SignedCommand = z.strictObject({
  commandId: OpaqueId.describe('The command.'),
  jws: z
    .string()
    .min(1)
    .max(200_000)
    .describe(
      `Compact JWS by the authority (ES256, typ ${COMMAND_TYP}, keys at /.well-known/jwks.json) of the CommandClaims: verify it before showing anything.`,
    ),
});
export type SignedCommand = z.infer<typeof SignedCommand>;
export const PendingCommands = z.strictObject({
  commands: z
    .array(SignedCommand)
    .describe('Open, unexpired commands for this device, in (fence, seq) order.'),
  /**
   * This device's open requests whose remote control the customer stopped (so a
   * reinstalled or reloaded app shows "Control is stopped" and offers "Allow again").
   */
  stopped: z
    .array(
      z.strictObject({
        requestId: OpaqueId.describe('The request.'),
        stoppedAt: IsoTime.describe('When the customer stopped control.'),
      }),
    )
    .max(100)
    .describe("This device's open requests whose remote control the customer stopped."),
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

/**
 * Dynamic linking (PSD2 RTS Art. 5): the text whose SHA-256 is the WebAuthn challenge of a
 * confirmation, so the authenticator's user-verified signature covers exactly this command,
 * payee, amount, currency, reference, debited account and the authority's nonce.
 */
export function confirmChallengeText(c: {
  commandId: string;
  transaction: Transaction;
  account: string;
  nonce: string;
}): string {
  const t = c.transaction;
  return JSON.stringify([
    'vd-confirm-uv/1',
    c.commandId,
    t.payee,
    t.amount,
    t.currency,
    t.reference,
    c.account,
    c.nonce,
  ]);
}

/**
 * What this file needs of the runtime: WebCrypto's SHA-256 and TextEncoder, globals in
 * browsers and in Node >= 19 alike. Typed here by hand because protocol/ is compiled
 * with neither the DOM nor Node's types (it runs on both sides).
 */
interface WebCryptoRuntime {
  crypto: { subtle: { digest(algorithm: 'SHA-256', data: Uint8Array): Promise<ArrayBuffer> } };
  TextEncoder: new () => { encode(text: string): Uint8Array };
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** base64url without padding (RFC 4648 §5). */
function base64url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let k = 0; k < chars; k++) out += B64URL[(n >> (18 - 6 * k)) & 63];
  }
  return out;
}

/** The WebAuthn challenge of a confirmation: base64url(SHA-256(confirmChallengeText(...))). */
export async function confirmChallenge(c: Parameters<typeof confirmChallengeText>[0]): Promise<string> {
  const runtime = globalThis as unknown as WebCryptoRuntime;
  const digest = await runtime.crypto.subtle.digest(
    'SHA-256',
    new runtime.TextEncoder().encode(confirmChallengeText(c)),
  );
  return base64url(new Uint8Array(digest));
}

/** The user-verifying factor given at the moment of a confirmation. */
export const ConfirmFactor = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('biometric').describe('A WebAuthn assertion made now.'),
    assertion: AuthenticationResponseJSON.describe(
      'A WebAuthn assertion (userVerification required) whose challenge is confirmChallenge(command id, payee, amount, currency, reference, account, nonce).',
    ),
  }),
  z.strictObject({
    kind: z.literal('pin').describe('The PIN entered now (counts towards the PIN lockout).'),
    pin: Pin.describe('The PIN: 4 to 12 digits.'),
  }),
]);
export type ConfirmFactor = z.infer<typeof ConfirmFactor>;
export const ConfirmFactorKind = z.enum(['biometric', 'pin']);

/** The receipt of a confirmed transaction, for the customer and the agent. */
export const ConfirmReceipt = z
  .strictObject({
    receiptId: z
      .string()
      .regex(/^R-[A-Z0-9]{8,16}$/)
      .describe('The receipt number, e.g. R-7K2M9Q4X.'),
    commandId: OpaqueId.describe('The confirm command.'),
    requestId: OpaqueId.describe('The request.'),
    at: IsoTime.describe('When the authority verified the confirmation.'),
    payee: ShortText.describe('Who is paid.'),
    amount: z.number().int().describe('The amount in minor units.'),
    currency: CurrencyCode.describe('ISO 4217 currency code.'),
    reference: ShortText.describe('The payment reference.'),
    account: ShortText.describe('The debited account, masked.'),
    factor: ConfirmFactorKind.describe('The user-verifying factor given: biometric or pin.'),
  })
  .meta({ id: 'ConfirmReceipt', description: 'The receipt of a confirmed transaction.' });
export type ConfirmReceipt = z.infer<typeof ConfirmReceipt>;
export const ReceiptList = z.strictObject({
  receipts: z.array(ConfirmReceipt).max(200).describe("The customer's receipts, newest first (at most 200)."),
});
export type ReceiptList = z.infer<typeof ReceiptList>;

/** A form answer: field id -> value (text/email/select: string, number: number, checkbox: boolean). */
export const FormValues = z
  .record(ItemId, z.union([z.string().max(LIMITS.longText), z.number().finite(), z.boolean()]))
  .describe('Field id -> value (text, email, select: string; number: number; checkbox: boolean).');

/**
 * What the device answers for a command it carried out. Photos and screenshots are
 * answered by uploading the image (POST /v1/device/commands/:commandId/image), not here.
 */
export const DeviceResult = z.discriminatedUnion('kind', [
  /** The step-up was done through the factor routes (PIN / WebAuthn); the authority checks the factor was recorded after the command. */
  z.strictObject({
    kind: z.literal('verify').describe('A verify command was carried out.'),
    factor: z
      .enum(['biometric', 'pin'])
      .describe('The factor stepped up with (through the PIN or WebAuthn operation, after the command).'),
  }),
  z.strictObject({
    kind: z.literal('text').describe('A text command.'),
    value: z.string().min(1).max(LIMITS.longText).describe('What the customer typed.'),
  }),
  /** The revision the customer chose from must be the current one. */
  z.strictObject({
    kind: z.literal('menu').describe('A menu command.'),
    itemId: ItemId.describe('The item chosen.'),
    revision: z.number().int().min(1).describe('The revision chosen from (must be the current one).'),
  }),
  z.strictObject({ kind: z.literal('form').describe('A form command.'), values: FormValues }),
  /**
   * A compact JWS (ES256, device key, typ CONFIRM_SIGNATURE_TYP) whose payload is
   * `confirmCanonical(...)`, and the user-verifying factor given now.
   */
  z.strictObject({
    kind: z.literal('confirm').describe('A confirm command.'),
    signature: z
      .string()
      .min(1)
      .max(16_384)
      .describe(
        `Compact JWS by the device key (ES256, typ ${CONFIRM_SIGNATURE_TYP}) whose payload is the UTF-8 JSON array ["vd-confirm/1", commandId, requestId, sessionId, deviceId, amount, currency, payee, reference, terms].`,
      ),
    factor: ConfirmFactor.optional().describe(
      'Required: the fingerprint (a WebAuthn assertion over the transaction-bound challenge) or the PIN, given at this moment (a confirmation without it is refused, 409 factor_missing).',
    ),
  }),
  z.strictObject({
    kind: z.literal('navigate').describe('A navigate command.'),
    screen: AppScreen.describe('The screen opened.'),
  }),
  z.strictObject({ kind: z.literal('end').describe('An end command.') }),
]);
export type DeviceResult = z.infer<typeof DeviceResult>;

export const CommandOutcome = z.discriminatedUnion('outcome', [
  z.strictObject({
    outcome: z.literal('done').describe('Carried out.'),
    result: DeviceResult.describe('The typed result, of the same kind as the command.'),
  }),
  z.strictObject({ outcome: z.literal('declined').describe('The customer declined.') }),
  /** E.g. "camera unavailable", or a refused command: "bad signature", "out of order". */
  z.strictObject({
    outcome: z.literal('failed').describe('It could not be carried out, or the device refused it.'),
    reason: ShortText.describe('Why, e.g. "camera unavailable", "bad signature", "out of order".'),
  }),
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
export const CommandReceipt = z.strictObject({
  commandId: OpaqueId.describe('The command.'),
  state: CommandState.describe(
    'Its state now (shown after an ack; done, declined or failed after a result).',
  ),
  at: IsoTime.describe('When it was recorded.'),
  receipt: ConfirmReceipt.optional().describe('For a confirmed transaction: its receipt.'),
});

/** The customer's "stop all": pending commands cancelled, further commands refused for this request. */
export const ControlStopped = z.strictObject({
  requestId: OpaqueId.describe('The request.'),
  stoppedAt: IsoTime.describe('When control was stopped (the first time, if stopped twice).'),
  cancelled: z.array(OpaqueId).describe('The open commands cancelled.'),
});
export const ControlResumed = z.strictObject({
  requestId: OpaqueId.describe('The request.'),
  resumedAt: IsoTime.describe('When control was allowed again.'),
});

// ---------------------------------------------------------------- what the agent sees

/** A finished command's result as stored and shown to the agent. */
export const CommandResultView = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('verify').describe('A verify command.'),
      factor: z.enum(['biometric', 'pin']).describe('The factor stepped up with.'),
      level: AssuranceLevel.describe("The authentication's level after it."),
      at: IsoTime.describe('When the factor was proven.'),
    }),
    /** Stored like the enrolment photo (purpose "verification"); GET /v1/agent/requests/:requestId/photos/:photoId. */
    z.strictObject({
      kind: z.literal('photo').describe('A photo command.'),
      photoId: OpaqueId.describe(
        'The verification photo (GET /v1/agent/requests/{requestId}/photos/{photoId}; compare it to count).',
      ),
    }),
    /** Served by the same photo route. */
    z.strictObject({
      kind: z.literal('screenshot').describe('A screenshot command.'),
      imageId: OpaqueId.describe('The screenshot (served by the same photo operation).'),
    }),
    z.strictObject({
      kind: z.literal('text').describe('A text command.'),
      value: z.string().max(LIMITS.longText).describe('What the customer typed.'),
    }),
    z.strictObject({
      kind: z.literal('menu').describe('A menu command.'),
      itemId: ItemId.describe('The item chosen.'),
      label: ShortText.describe("The item's label."),
      revision: z.number().int().describe('The revision chosen from.'),
    }),
    z.strictObject({ kind: z.literal('form').describe('A form command.'), values: FormValues }),
    /** "Confirmed on device": the signature verified with the device's enrolled key and is stored. */
    z.strictObject({
      kind: z
        .literal('confirm')
        .describe("Confirmed on the device: the signature verified with the device's key."),
      signature: z.string().max(16_384).describe("The device's signature (compact JWS)."),
      canonical: z.string().max(20_000).describe('The exact text signed.'),
      verifiedAt: IsoTime.describe('When the authority verified it.'),
      factor: ConfirmFactorKind.optional().describe(
        'The user-verifying factor given at the moment of confirming (absent on results stored before it was required).',
      ),
      receipt: ConfirmReceipt.optional().describe('The receipt given to the customer.'),
    }),
    z.strictObject({
      kind: z.literal('navigate').describe('A navigate command.'),
      screen: AppScreen.describe('The screen opened.'),
    }),
    z.strictObject({ kind: z.literal('end').describe('An end command.') }),
  ])
  .meta({
    id: 'CommandResultView',
    description: "A finished command's result, as stored and shown to the agent.",
  });
export type CommandResultView = z.infer<typeof CommandResultView>;

export const CommandView = z
  .strictObject({
    commandId: OpaqueId.describe('The command.'),
    requestId: OpaqueId.describe('The request.'),
    agentId: OpaqueId.describe('The agent who sent it.'),
    fence: z.number().int().describe('The fencing number it was sent under.'),
    seq: z.number().int().describe('Its sequence number under that fence.'),
    revision: z.number().int().describe('1 as first sent, + 1 at every live edit (menus).'),
    command: DeviceCommand.describe('What was asked.'),
    state: CommandState.describe('pending, shown, then one of done, declined, failed, expired, cancelled.'),
    createdAt: IsoTime.describe('When it was sent.'),
    expiresAt: IsoTime.describe('When it expires unanswered.'),
    shownAt: IsoTime.nullable().describe('When the device showed it, or null.'),
    finishedAt: IsoTime.nullable().describe('When it reached its final state, or null.'),
    result: CommandResultView.nullable().describe('The result when done, or null.'),
    /** Why it failed, was cancelled or expired. */
    reason: z
      .string()
      .max(LIMITS.shortText)
      .nullable()
      .describe('Why it failed, was cancelled or expired, or null.'),
  })
  .meta({
    id: 'CommandView',
    description: 'A device command as the agent sees it: what was asked, its state, its result.',
  });
export type CommandView = z.infer<typeof CommandView>;

export const RequestCommands = z.strictObject({
  requestId: OpaqueId.describe('The request.'),
  fence: z.number().int().describe("The request's current fencing number."),
  /** The highest seq used under the current fence (0 when none): the next command uses a greater one. */
  lastSeq: z
    .number()
    .int()
    .min(0)
    .describe(
      'The highest seq used under the current fence (0 when none): the next command uses a greater one.',
    ),
  control: z
    .strictObject({
      stopped: z.boolean().describe('The customer stopped remote control.'),
      stoppedAt: IsoTime.nullable().describe('Since when, or null.'),
      changedAt: IsoTime.nullable().describe(
        'When the customer last stopped or allowed control again, or null (never): a `control.state` frame older than this arrived late.',
      ),
    })
    .describe('Whether the customer allows remote control.'),
  commands: z.array(CommandView).describe('Every command of the request, oldest first.'),
});
export type RequestCommands = z.infer<typeof RequestCommands>;
