import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { FactorKind } from './identity.ts';
import { SessionId } from './sessions.ts';
import { DeviceReachability } from './push.ts';

/** Ids written in configuration files: queues, menu options, skills, rules. */
export const ConfigId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'ids are lower-case letters, digits, dash and underscore')
  .describe('An id from the configuration: lower-case letters, digits, dash and underscore.');

/** How many chats an agent may hold at once (a call takes the whole capacity). */
const ChatCapacity = z.number().int().min(1).max(20);

/** Where a queue's CRM screen pop opens: the console's side panel or the system browser. */
export const ScreenPopOpensIn = z.enum(['sidePanel', 'browser']);
export type ScreenPopOpensIn = z.infer<typeof ScreenPopOpensIn>;

export const QueueConfig = z.strictObject({
  id: ConfigId.describe('The queue id.'),
  name: ShortText.describe('Name shown to staff.'),
  /** Service level target: answered within this many seconds. */
  targetAnswerSeconds: z
    .number()
    .int()
    .min(5)
    .max(86_400)
    .default(20)
    .describe('Service level target: answered within this many seconds.'),
  /** Handling time assumed until enough calls were measured. */
  expectedHandleSeconds: z
    .number()
    .int()
    .min(30)
    .max(14_400)
    .default(300)
    .describe('Handling time assumed for wait estimates until enough calls were measured.'),
  /** CRM screen pop: opened when an agent accepts a request of this queue. */
  screenPopUrl: z
    .string()
    .max(2048)
    .regex(
      /^https?:\/\/[^\s{}]+(\{(externalRef|requestId|level)\}[^\s{}]*)*$/,
      'an http(s) URL whose placeholders are {externalRef}, {requestId} or {level}',
    )
    .optional()
    .describe(
      'CRM record to open on accept: an http(s) URL with {externalRef}, {requestId}, {level} (allow-listed origins only).',
    ),
  /** Where the screen pop opens: the console's side panel, or the system browser (a new tab in browser mode). */
  screenPopOpensIn: ScreenPopOpensIn.optional().describe(
    "Where the CRM record opens: 'sidePanel' (a frame beside the desk; its origin must also be in the console's screenPopOrigins) or 'browser' (the system browser, a new tab in browser mode; the default).",
  ),
  /** Chats of this queue an agent may hold at once (the configuration's chatCapacity when absent). */
  chatCapacity: ChatCapacity.optional().describe(
    "Chats of this queue an agent may hold at once (the configuration's chatCapacity when absent).",
  ),
  /** The accept window of this queue's offers (the authority's VD_OFFER_TIMEOUT_SECONDS when absent). */
  offerTimeoutSeconds: z
    .number()
    .int()
    .min(3)
    .max(300)
    .optional()
    .describe(
      "Seconds an agent has to accept an offer of this queue, 3 to 300 (the authority's VD_OFFER_TIMEOUT_SECONDS, 15 by default, when absent).",
    ),
});
export type QueueConfig = z.infer<typeof QueueConfig>;

/** How a request is served: a call (voice) or a verified chat. */
export const RequestChannel = z.enum(['voice', 'chat']).describe('A call (voice) or a verified chat.');
export type RequestChannel = z.infer<typeof RequestChannel>;

export interface MenuNodeInput {
  id: string;
  label: string;
  children?: MenuNodeInput[];
  queue?: string;
  level?: 0 | 1 | 2 | 3;
  skills?: string[];
  channels?: ('voice' | 'chat')[];
  verifyOnCall?: boolean;
}
/** A menu node: a branch (children) or a leaf naming a queue, the level it needs and optional skills. */
export const MenuNode: z.ZodType<MenuNodeInput> = z
  .lazy(() =>
    z.union([
      z.strictObject({
        id: ConfigId.describe('The branch id (unique in the menu).'),
        label: ShortText.describe('What the customer reads.'),
        children: z.array(MenuNode).min(1).max(20).describe('The options under this branch.'),
      }),
      z.strictObject({
        id: ConfigId.describe('The option id (unique in the menu): what a device asks for.'),
        label: ShortText.describe('What the customer reads.'),
        queue: ConfigId.describe('The queue its requests go to.'),
        level: AssuranceLevel.describe('The assurance level the customer must reach first.'),
        skills: z
          .array(ConfigId)
          .max(10)
          .optional()
          .describe('Skills an agent needs to be offered these requests.'),
        channels: z
          .array(RequestChannel)
          .min(1)
          .max(2)
          .optional()
          .describe('How the customer may be helped: voice, chat or both (voice when absent).'),
        verifyOnCall: z
          .boolean()
          .optional()
          .describe(
            "A customer who cannot reach the level on the phone may still ask for help: the request queues at the level the customer has and the agent verifies them on the call with the customer's security questions; secure fields stay locked until the level is reached (false when absent).",
          ),
      }),
    ]),
  )
  .meta({
    id: 'MenuNode',
    description:
      'A node of the service menu: a branch (id, label, children) or a leaf (id, label, queue, level, skills, channels, verifyOnCall).',
  });

export const PriorityRule = z.strictObject({
  id: ConfigId.describe('The rule id.'),
  when: z
    .strictObject({
      attribute: z
        .strictObject({
          name: ConfigId.describe('The customer attribute (e.g. tier).'),
          equals: z.string().max(LIMITS.shortText).describe('The value it must have.'),
        })
        .optional()
        .describe('A customer attribute must have this value.'),
      minLevel: AssuranceLevel.optional().describe('The authentication is at least at this level.'),
      balanceAtLeast: z.number().optional().describe("The customer's balance is at least this."),
      queue: ConfigId.optional().describe('The request is (by now) in this queue.'),
    })
    .refine((w) => Object.keys(w).length > 0, 'a rule needs at least one condition')
    .describe('Conditions, all of which must hold (at least one).'),
  addPriority: z
    .number()
    .int()
    .min(-1000)
    .max(1000)
    .default(0)
    .describe('Added to the priority of a matching request (higher is served first).'),
  moveToQueue: ConfigId.optional().describe(
    'Moves a matching request to this queue (later rules see the new queue).',
  ),
});
export type PriorityRule = z.infer<typeof PriorityRule>;

export interface DispositionShape {
  code: string;
  label: string;
  children?: DispositionShape[];
}
export const Disposition: z.ZodType<DispositionShape> = z
  .lazy(() =>
    z.strictObject({
      code: ConfigId.describe('The code (unique among its siblings).'),
      label: ShortText.describe('What the agent reads.'),
      children: z
        .array(Disposition)
        .max(50)
        .optional()
        .describe('Sub-codes; a wrap-up names a path from the root.'),
    }),
  )
  .meta({ id: 'Disposition', description: 'A disposition code of the wrap-up tree, with its sub-codes.' });
/** The level each secure account field needs before the agent sees it. */
export const SecureFieldRule = z.strictObject({
  field: z.enum(['accountNumber', 'balance', 'orders']).describe('The account field.'),
  label: ShortText.describe('What the agent reads.'),
  level: AssuranceLevel.describe('The level the authentication must reach before the agent sees it.'),
});
export const DEFAULT_SECURE_FIELDS: z.infer<typeof SecureFieldRule>[] = [
  { field: 'orders', label: 'Orders', level: 2 },
  { field: 'balance', label: 'Balance', level: 2 },
  { field: 'accountNumber', label: 'Account number', level: 3 },
];
export const DEFAULT_DISPOSITIONS: DispositionShape[] = [
  {
    code: 'resolved',
    label: 'Resolved',
    children: [
      { code: 'card-blocked', label: 'Card blocked' },
      { code: 'payment-fixed', label: 'Payment fixed' },
      { code: 'information-given', label: 'Information given' },
    ],
  },
  {
    code: 'follow-up',
    label: 'Follow-up needed',
    children: [
      { code: 'callback-booked', label: 'Callback booked' },
      { code: 'escalated', label: 'Escalated to back office' },
    ],
  },
  {
    code: 'not-resolved',
    label: 'Not resolved',
    children: [{ code: 'customer-declined', label: 'Customer declined' }],
  },
];

/** How factors combine beyond their levels. */
export const VerificationPolicy = z.strictObject({
  /**
   * Whether a verification photo may verify a customer while another of their factors
   * (PIN, security questions) is locked out. Off by default: a locked PIN is a sign of
   * guessing, and a photo should not be the way round it.
   */
  photoWhileFactorLocked: z
    .boolean()
    .default(false)
    .describe(
      'Whether a verification photo may verify a customer while their PIN or security questions are locked.',
    ),
});
export type VerificationPolicy = z.infer<typeof VerificationPolicy>;

/** A number callers dial from the phone network, and the menu option its calls join. */
export const PhoneNumberRoute = z.strictObject({
  number: z
    .string()
    .regex(/^\+[1-9][0-9]{6,14}$/, 'a phone number in E.164 ("+441632960000")')
    .describe('A number callers dial, in E.164 ("+441632960000"), as the trunk delivers it.'),
  optionId: ConfigId.describe(
    "The menu option (a leaf offering voice) its calls join: the option's queue, skills and level.",
  ),
  linkWhileQueued: z
    .boolean()
    .default(true)
    .describe(
      "Whether the authority texts the verification link by itself as the call joins the queue, when the caller's number is registered to a customer with the app enrolled (the patent family's flow: the caller verifies while waiting, the agent's panel turns verified live). Default true; false leaves the link to the agent holding the request (\"Text a verification link\").",
    ),
});

export const PipelineConfig = z
  .strictObject({
    company: ShortText.describe('The company name customers see.'),
    queues: z.array(QueueConfig).min(1).max(100).describe('The queues.'),
    menu: z
      .array(MenuNode)
      .min(1)
      .max(20)
      .describe('The service menu (ids unique, leaves name known queues).'),
    priorityRules: z.array(PriorityRule).max(100).default([]).describe('Priority rules, applied in order.'),
    secureFields: z
      .array(SecureFieldRule)
      .max(10)
      .default(DEFAULT_SECURE_FIELDS)
      .describe('The level each secure account field needs before the agent sees it.'),
    dispositions: z
      .array(Disposition)
      .min(1)
      .max(50)
      .default(DEFAULT_DISPOSITIONS)
      .describe('The disposition code tree for wrap-ups.'),
    verification: VerificationPolicy.default({ photoWhileFactorLocked: false }).describe(
      'How factors combine beyond their levels.',
    ),
    chatCapacity: ChatCapacity.default(1).describe(
      'Chats an agent may hold at once unless the queue sets its own; a call takes the whole capacity (no chat during a call, no call while chats are held). Default 1; the console holds as many as this allows (a conversation list, each chat with its panel).',
    ),
    phoneNumbers: z
      .array(PhoneNumberRoute)
      .max(100)
      .default([])
      .describe(
        'Calls from the phone network (SIP trunk): the number dialled chooses the menu option. A number not listed is refused (SIP 404).',
      ),
  })
  .superRefine((c, ctx) => {
    const queues = new Set(c.queues.map((q) => q.id));
    for (const q of c.queues)
      if (q.screenPopOpensIn && !q.screenPopUrl)
        ctx.addIssue({
          code: 'custom',
          message: `queue "${q.id}" sets screenPopOpensIn without a screenPopUrl`,
          path: ['queues'],
        });
    const ids = new Set<string>();
    const walk = (nodes: MenuNodeInput[], path: string) => {
      for (const n of nodes) {
        if (ids.has(n.id))
          ctx.addIssue({ code: 'custom', message: `menu id "${n.id}" used twice`, path: [path] });
        ids.add(n.id);
        if (n.children) walk(n.children, `${path}/${n.id}`);
        else {
          if (n.queue && !queues.has(n.queue))
            ctx.addIssue({
              code: 'custom',
              message: `menu option "${n.id}" names unknown queue "${n.queue}"`,
              path: [path],
            });
          // The security questions with the device reach level 2, never 3.
          if (n.verifyOnCall && (n.level ?? 0) > 2)
            ctx.addIssue({
              code: 'custom',
              message: `menu option "${n.id}" needs level ${n.level}: verifyOnCall allows level 2 at most (what the security questions reach)`,
              path: [path],
            });
        }
      }
    };
    walk(c.menu, 'menu');
    const leaves = new Map<string, MenuNodeInput>();
    const collect = (nodes: MenuNodeInput[]) => {
      for (const n of nodes) {
        if (n.children) collect(n.children);
        else leaves.set(n.id, n);
      }
    };
    collect(c.menu);
    const numbers = new Set<string>();
    for (const p of c.phoneNumbers) {
      if (numbers.has(p.number))
        ctx.addIssue({
          code: 'custom',
          message: `phone number ${p.number} listed twice`,
          path: ['phoneNumbers'],
        });
      numbers.add(p.number);
      const leaf = leaves.get(p.optionId);
      if (!leaf)
        ctx.addIssue({
          code: 'custom',
          message: `phone number ${p.number} names "${p.optionId}", which is not a menu option`,
          path: ['phoneNumbers'],
        });
      else if (leaf.channels && !leaf.channels.includes('voice'))
        ctx.addIssue({
          code: 'custom',
          message: `phone number ${p.number} names "${p.optionId}", which offers no voice`,
          path: ['phoneNumbers'],
        });
    }
    for (const r of c.priorityRules)
      if (r.moveToQueue && !queues.has(r.moveToQueue))
        ctx.addIssue({
          code: 'custom',
          message: `rule "${r.id}" moves to unknown queue "${r.moveToQueue}"`,
          path: ['priorityRules'],
        });
  });
export type PipelineConfig = z.infer<typeof PipelineConfig>;
export type PipelineConfigInput = z.input<typeof PipelineConfig>;

export const Availability = z.enum(['now', 'callback_only']);
export interface LiveMenuNodeShape {
  id: string;
  label: string;
  children?: LiveMenuNodeShape[];
  level?: 0 | 1 | 2 | 3;
  availability?: 'now' | 'callback_only';
  estimatedWaitSeconds?: number | null;
  channels?: ('voice' | 'chat')[];
}
/** The menu as a device sees it: options nobody can serve are gone, the rest carry their live wait. */
export const LiveMenuNode: z.ZodType<LiveMenuNodeShape> = z
  .lazy(() =>
    z.union([
      z.strictObject({
        id: ConfigId.describe('The branch id.'),
        label: ShortText.describe('What the customer reads.'),
        children: z.array(LiveMenuNode).describe('The options under it that somebody can serve.'),
      }),
      z.strictObject({
        id: ConfigId.describe('The option id, to ask for with POST /v1/device/requests.'),
        label: ShortText.describe('What the customer reads.'),
        level: AssuranceLevel.describe('The assurance level it needs (a step-up is asked for first).'),
        availability: Availability.describe(
          '"now": agents who can take it are on shift; "callback_only": nobody can now, but some will be later (book a callback).',
        ),
        estimatedWaitSeconds: z
          .number()
          .int()
          .min(0)
          .nullable()
          .describe('Estimated wait if asked now, or null when it cannot be estimated.'),
        channels: z
          .array(RequestChannel)
          .min(1)
          .max(2)
          .optional()
          .describe('How the customer may be helped, only when the option offers chat (voice when absent).'),
      }),
    ]),
  )
  .meta({
    id: 'LiveMenuNode',
    description:
      'A node of the live menu: a branch (id, label, children) or an option the device can ask for.',
  });
export const LiveMenu = z.strictObject({
  company: ShortText.describe('The company name.'),
  menu: z.array(LiveMenuNode).describe('The live menu tree.'),
});

export const RequestState = z.enum(['waiting', 'offered', 'assigned', 'scheduled', 'completed', 'abandoned']);
export type RequestState = z.infer<typeof RequestState>;

export const CallbackWindow = z.strictObject({
  from: IsoTime.describe('Start of the window.'),
  until: IsoTime.describe('End of the window (after from, in the future).'),
});
export const CallbackView = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('keep_place').describe('The request keeps its place in the queue.'),
    window: CallbackWindow.nullable().describe('When the customer can be called back, or null for any time.'),
  }),
  z.strictObject({
    mode: z.literal('slot').describe('A callback slot is booked.'),
    slotStart: IsoTime.describe('Start of the booked slot.'),
    slotEnd: IsoTime.describe('End of the booked slot.'),
  }),
]);

/** A request that is a call from the phone network. */
export const PhoneCallView = z.strictObject({
  caller: z
    .string()
    .nullable()
    .describe("The caller's number in E.164, or null when withheld or unreadable."),
  dialled: z.string().describe('The number the caller dialled.'),
  recognition: z
    .string()
    .describe(
      'What the agent reads: "Phoned in from +44 7911 123456 — number registered to Alice Martin (not verified)". A caller ID recognises; it never verifies.',
    ),
  callerIdVerified: z.literal(false).describe('Always false: a caller ID can be forged and is never proof.'),
  unknownCaller: z
    .boolean()
    .describe(
      'True while nobody knows who is calling (no customer holds the number, or it is withheld): the request belongs to a placeholder "Unknown caller" until the holder identifies the caller (identifyCaller), then the knowledge questions of that customer verify them.',
    ),
  identifiedByAgent: z
    .boolean()
    .describe(
      'True when the holder identified an unknown caller by what they said (never proof: verify them).',
    ),
  endedAt: IsoTime.nullable()
    .optional()
    .describe(
      'When the call on the phone line ended (the caller hung up, or the call was over), or null while it lasts.',
    ),
  linkTextedAt: IsoTime.optional().describe(
    'When the latest verification link was texted to the number calling (by the authority as the call queued, or by the holder); absent when none was.',
  ),
});
export type PhoneCallView = z.infer<typeof PhoneCallView>;

/** A request that is a callback to the customer's phone number through the trunk. */
export const PhoneCallbackView = z.strictObject({
  number: z.string().describe("The number to call (E.164): one of the customer's registered numbers."),
  shown: z.string().describe('The number as people write it ("+44 7911 123456").'),
  bookedAt: IsoTime.describe('When staff booked the callback.'),
  placedAt: IsoTime.nullable().describe(
    "When the SIP server last let the agent's call out to the trunk, or null (not placed yet).",
  ),
  attempts: z.number().int().min(0).describe('How many calls were let out to the number.'),
  endedAt: IsoTime.nullable()
    .optional()
    .describe(
      'When the latest call out ended (the customer or the agent hung up, or it was not answered), or null while it lasts or before any.',
    ),
  endReason: z
    .enum(['customer_hung_up', 'agent_hung_up', 'cancelled', 'not_answered'])
    .nullable()
    .optional()
    .describe(
      "How the latest call out ended: the customer hung up (the carrier's BYE), the agent did, the agent cancelled it while it rang, or it was not answered (busy, no answer, refused: `endStatus`).",
    ),
  endStatus: z
    .number()
    .int()
    .nullable()
    .optional()
    .describe("With not_answered: the SIP status of the carrier's final answer (486 busy, 480, 603 ...)."),
});
export type PhoneCallbackView = z.infer<typeof PhoneCallbackView>;

export const RequestView = z
  .strictObject({
    requestId: OpaqueId.describe('The service request.'),
    sessionId: SessionId.describe('Its service session.'),
    customerId: OpaqueId.describe('The customer.'),
    customerName: ShortText.describe("The customer's display name."),
    queueId: ConfigId.describe('The queue it is in (priority rules may have moved it).'),
    optionId: ConfigId.describe('The menu option asked for.'),
    optionLabel: ShortText.describe("The option's label."),
    level: AssuranceLevel.describe("The authentication's level now."),
    requiredLevel: AssuranceLevel.optional().describe(
      'The level the menu option needs (the authority always sends it): with verifyOnCall, the security questions are owed while `level` is below it.',
    ),
    priority: z.number().int().describe('Its priority (higher is served first, then the longest waiting).'),
    state: RequestState.describe(
      'waiting (in the queue), offered (to agentId until offerExpiresAt), assigned (agentId holds it), scheduled (a callback slot), completed, abandoned.',
    ),
    enqueuedAt: IsoTime.describe('When it joined the queue (kept through transfers back to a queue).'),
    position: z
      .number()
      .int()
      .min(1)
      .nullable()
      .describe('Position in its queue while waiting (1 is next), else null.'),
    estimatedWaitSeconds: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe('Estimated wait while waiting, or null (not waiting, or no estimate).'),
    callback: CallbackView.describe('What the customer chose instead of waiting on the line.'),
    fence: z
      .number()
      .int()
      .min(0)
      .describe('The fencing number: grows at every offer and every move; actions of the holder send it.'),
    agentId: OpaqueId.nullable().describe('The staff member it is offered to or held by, or null.'),
    offerExpiresAt: IsoTime.nullable().describe('When the current offer lapses, or null.'),
    heldSince: IsoTime.nullable()
      .optional()
      .describe(
        "While assigned: when the current holder's handling began (their accept, take-over, reassign or transfer), the start of the console's in-progress timer through reloads; else null.",
      ),
    /** The display name of the agent holding or being offered it ("You are now with <agent>"). */
    agentName: ShortText.nullable()
      .optional()
      .describe('The display name of the agent holding or being offered it ("You are now with <agent>").'),
    channel: RequestChannel.optional().describe('A call (voice) or a verified chat (voice when absent).'),
    /** Whether the customer's device can be reached now (online, last seen, wakeable). */
    /** When the verification the request carries expires (a booked slot after it needs a fresh one). */
    verificationExpiresAt: IsoTime.nullable()
      .optional()
      .describe(
        'When the verification the request carries expires (a booked slot after it needs a fresh one).',
      ),
    reachability: DeviceReachability.nullable()
      .optional()
      .describe("Whether the customer's device can be reached now (online, last seen, wakeable)."),
    verifyOnCall: z
      .boolean()
      .optional()
      .describe(
        "true when the customer asked to be verified on the call: queued below the option's level, the agent asks the security questions (the authority always sends it).",
      ),
    phone: PhoneCallView.optional().describe(
      'Present when the customer phoned in from the phone network (SIP trunk): who called and what the caller ID says (never proof).',
    ),
    phoneCallback: PhoneCallbackView.optional().describe(
      "Present when the request is a callback to the customer's phone number through the trunk (the agent holding it dials: dialPhoneCallback).",
    ),
  })
  .meta({
    id: 'RequestView',
    description: 'A service request: queue, state, position and wait, callback, fencing number and holder.',
  });
export type RequestView = z.infer<typeof RequestView>;

export const CreateRequest = z.strictObject({
  optionId: ConfigId.describe('The menu option (a leaf of the live menu).'),
  /** Retries with the same key return the same request instead of queueing twice. */
  idempotencyKey: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional()
    .describe(
      '8 to 64 url-safe characters: a retry with the same key returns the same request instead of queueing twice.',
    ),
  channel: RequestChannel.optional().describe(
    'A call (voice, the default) or a verified chat; the option must offer it.',
  ),
  verifyOnCall: z
    .literal(true)
    .optional()
    .describe(
      "The customer asks to be verified on the call: queued at the level the authentication has, below the option's; the option must allow it (400 invalid_request otherwise).",
    ),
});
export const CreateRequestResult = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('step_up_required').describe('Nothing was queued: the customer must step up first.'),
    optionId: ConfigId.describe('The option asked for.'),
    requiredLevel: AssuranceLevel.describe('The level it needs.'),
    currentLevel: AssuranceLevel.describe('The level the authentication has.'),
    /** Any one of these factors is enough to reach the level. */
    factorsNeeded: z.array(FactorKind).describe('Any one of these factors is enough to reach the level.'),
    verifyOnCall: z
      .literal(true)
      .optional()
      .describe(
        'Present when the option allows it: instead of stepping up, the customer may ask again with verifyOnCall and be verified on the call.',
      ),
  }),
  z.strictObject({
    status: z
      .literal('queued')
      .describe('The request is in the queue (or was, for a retry with the same key).'),
    request: RequestView.describe('The request.'),
  }),
]);
export type CreateRequestResult = z.infer<typeof CreateRequestResult>;

export const RequestParams = z.strictObject({ requestId: OpaqueId.describe('The service request.') });
export const SetCallbackRequest = z.discriminatedUnion('mode', [
  z.strictObject({
    mode: z.literal('keep_place').describe('Keep the place in the queue (and leave a booked slot).'),
    window: CallbackWindow.optional().describe('Only call back within this window (omit: any time).'),
  }),
  z.strictObject({
    mode: z.literal('slot').describe('Book (or move to) a callback slot.'),
    slotStart: IsoTime.describe('Start of a free slot from the callback-slots operation.'),
  }),
]);
export const SlotsQuery = z.strictObject({ day: z.iso.date().describe('The UTC day, YYYY-MM-DD.') });
export const CallbackSlots = z.strictObject({
  day: z.iso.date().describe('The UTC day.'),
  slotSeconds: z.number().int().describe('Length of a slot.'),
  slots: z
    .array(
      z.strictObject({
        start: IsoTime.describe('Start of the slot.'),
        end: IsoTime.describe('End of the slot.'),
        free: z.number().int().min(0).describe('How many more callbacks it can take.'),
      }),
    )
    .describe('The slots of the day, in time order.'),
});

export const Presence = z.enum(['offline', 'available', 'busy', 'wrap_up', 'break', 'missed']);
export type Presence = z.infer<typeof Presence>;
export const SetPresenceRequest = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('available').describe('Ready for offers.') }),
  z.strictObject({ state: z.literal('offline').describe('Not working.') }),
  z.strictObject({
    state: z.literal('break').describe('On a break: no offers.'),
    reasonCode: ConfigId.describe('Why (e.g. lunch, training).'),
  }),
]);
export const SkillLevel = z.strictObject({
  skill: ConfigId.describe('The skill.'),
  level: z.number().int().min(1).max(10).describe('How good at it, 1 to 10.'),
});
export const Shift = z.strictObject({
  start: IsoTime.describe('Start of the shift.'),
  end: IsoTime.describe('End of the shift.'),
});
export const AgentProfile = z.strictObject({
  skills: z.array(SkillLevel).max(50).describe("The agent's skills (replaces the list)."),
  queues: z.array(ConfigId).max(50).describe('The queues the agent serves (replaces the list).'),
  /** The agent's own chat capacity, bounding every queue's (absent or null: the queues' apply). */
  chatCapacity: ChatCapacity.nullable()
    .optional()
    .describe(
      "Chats this agent may hold at once whatever the queue (1 to 20), bounding each queue's chatCapacity; absent or null: the queues' capacities apply.",
    ),
});
export const AgentSchedule = z.strictObject({
  shifts: z.array(Shift).max(500).describe("The agent's shifts (replaces the list)."),
});

export const OfferView = z.strictObject({
  requestId: OpaqueId.describe('The request offered.'),
  fence: z.number().int().describe('The fencing number to accept or reject it with.'),
  expiresAt: IsoTime.describe('When the offer lapses (then it goes to the next agent).'),
  request: RequestView.describe('The request.'),
});
export type OfferView = z.infer<typeof OfferView>;

export const AgentView = z
  .strictObject({
    staffId: OpaqueId.describe('The agent.'),
    displayName: ShortText.describe("The agent's display name."),
    presence: Presence.describe(
      'offline, available, busy (holding a request), wrap_up (after one), break, or missed (let an offer lapse or rejected it).',
    ),
    since: IsoTime.describe('Since when in this presence.'),
    setBy: z
      .strictObject({
        staffId: OpaqueId.describe('Who set it.'),
        displayName: ShortText.describe('Their display name.'),
      })
      .nullable()
      .optional()
      .describe('Who set this presence when it was not the agent (a supervisor); null otherwise.'),
    reasonCode: z.string().nullable().describe('The break reason, or null.'),
    nextPresence: z
      .strictObject({
        state: z.literal('break').describe('A break.'),
        reasonCode: z.string().describe('Its reason.'),
      })
      .nullable()
      .optional()
      .describe(
        'In wrap-up: the break chosen meanwhile, which starts when the wrap-up ends (recorded, or its time is up) instead of available; null otherwise.',
      ),
    skills: z.array(SkillLevel).describe("The agent's skills."),
    queues: z.array(ConfigId).describe('The queues the agent serves.'),
    chatCapacity: ChatCapacity.nullable()
      .optional()
      .describe("The agent's own chat capacity, bounding every queue's (null: the queues' apply)."),
    onShift: z.boolean().describe('Within one of the scheduled shifts now.'),
    offer: OfferView.nullable().describe('The offer waiting for the agent, or null.'),
    currentRequestId: OpaqueId.nullable().describe(
      'The request the agent holds (the latest accepted when they hold several chats), or null.',
    ),
    heldRequestIds: z
      .array(OpaqueId)
      .optional()
      .describe(
        'Every request the agent holds, in the order they were assigned (several chats at once, up to the chat capacity); empty when none. currentRequestId is the last of them.',
      ),
    /** A call takes the whole capacity: a voice request, or a chat escalated to a live call to its device. */
    onCall: z
      .boolean()
      .optional()
      .describe(
        'A call is live: a voice request held, or a chat escalated to a call to its device (from the device proof until the console reports the end). Nothing else is offered or transferred to the agent meanwhile.',
      ),
    inConsult: z
      .boolean()
      .optional()
      .describe(
        'A colleague consults them now (the target of an open warm transfer): busy for routing, offered nothing until it closes.',
      ),
    /** The service session of the current request (supervisor board). */
    currentSessionId: SessionId.nullable().optional().describe('The service session of the current request.'),
    /** Seconds since `since`, computed when the view was made. */
    timeInStateSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Seconds since `since`, when the view was made.'),
  })
  .meta({
    id: 'AgentView',
    description: "An agent's state: presence, skills, queues, shift, offer and current request.",
  });
export type AgentView = z.infer<typeof AgentView>;

/** "My stats": what the agent handled since a start (their console's local midnight: today). */
export const AgentStatsQuery = z.strictObject({
  since: IsoTime.optional().describe(
    'Count from this instant (the console sends its local midnight: "today"); default the start of the UTC day. At most 31 days back.',
  ),
});
export const AgentStats = z
  .strictObject({
    since: IsoTime.describe('Counted from this instant.'),
    handled: z
      .number()
      .int()
      .min(0)
      .describe('Requests the agent completed since then (their own holdings that ended completed).'),
    averageHandleSeconds: z
      .number()
      .int()
      .min(0)
      .nullable()
      .describe(
        'The average of those holdings, from the accept (or take-over, transfer) to the completion, in whole seconds; null when none.',
      ),
  })
  .meta({
    id: 'AgentStats',
    description: 'The agent’s own figures since a start: handled, average handling time.',
  });
export type AgentStats = z.infer<typeof AgentStats>;

export const FenceBody = z.strictObject({
  fence: z
    .number()
    .int()
    .min(1)
    .describe('The fencing number of the offer or assignment (from the offer or the request).'),
});

/** Why waiting requests are not offered: nobody of the queue has the skills, all of them are off shift, on shift but offline or on a break, or busy. */
export const NotOfferedReason = z
  .enum(['no_skill', 'off_shift', 'away', 'busy'])
  .describe(
    'no_skill: no agent of the queue has the skills; off_shift: those who have them are all off shift; away: on shift but offline or on a break; busy: on a request, in wrap-up or with an offer.',
  );
export type NotOfferedReason = z.infer<typeof NotOfferedReason>;
export const QueueStats = z
  .strictObject({
    queueId: ConfigId.describe('The queue.'),
    name: ShortText.describe("The queue's name."),
    waiting: z.number().int().describe('Requests waiting.'),
    longestWaitSeconds: z.number().int().describe('How long the oldest waiting request has waited.'),
    estimatedWaitSeconds: z.number().int().nullable().describe('Estimated wait for a new request, or null.'),
    estimatedWaitSecondsByChannel: z
      .strictObject({
        voice: z.number().int().nullable().describe("A new call's, from the queue's call handling times."),
        chat: z
          .number()
          .int()
          .nullable()
          .describe(
            "A new chat's, from the queue's chat handling times and the agents with room for a chat.",
          ),
      })
      .optional()
      .describe(
        'Estimated wait for a new request of each channel, behind those waiting (null: nobody serves it now).',
      ),
    agentsAvailable: z
      .number()
      .int()
      .describe(
        'Agents of the queue on shift, available now (holding nothing) and without an offer pending.',
      ),
    /** Who could take one more request of each channel now (Capacity.hasRoom at the authority). */
    agentsWithRoom: z
      .strictObject({
        voice: z.number().int().describe('Agents with room for a call: available, holding nothing.'),
        chat: z
          .number()
          .int()
          .describe(
            'Agents with room for a chat: available, or chatting below their chat capacity for this queue (not on a call). Those above agentsAvailable are chatting with room.',
          ),
      })
      .optional()
      .describe(
        'Agents of the queue on shift, without an offer pending, with room now for one more request of each channel.',
      ),
    channels: z
      .array(z.enum(['voice', 'chat']))
      .optional()
      .describe(
        "The channels the queue is offered on (its menu options'); estimatedWaitSeconds is a call's unless it is chat only.",
      ),
    agentsOnShift: z.number().int().describe('Agents of the queue on shift now.'),
    /** Share of the requests answered (assigned) in the last 24 h within the queue's target. */
    answeredWithinTarget: z
      .number()
      .min(0)
      .max(1)
      .nullable()
      .describe(
        "Share (0 to 1) of the requests answered in the last 24 h within the queue's target, or null when none.",
      ),
    targetAnswerSeconds: z.number().int().optional().describe("The queue's service level target."),
    /** Waiting requests that no agent can take now, grouped by the skills they need, with why. */
    notOffered: z
      .array(
        z.strictObject({
          skills: z.array(ConfigId).describe('The skills these requests need (empty: none).'),
          channel: z.enum(['voice', 'chat']).optional().describe('Their channel.'),
          waiting: z.number().int().describe('How many of them wait.'),
          free: z
            .number()
            .int()
            .describe('Agents free for them now (on shift, with the skills, room for their channel).'),
          reason: NotOfferedReason,
        }),
      )
      .optional()
      .describe('Waiting requests that are not being offered, grouped by the skills they need, and why.'),
  })
  .meta({ id: 'QueueStats', description: 'Live statistics of a queue.' });
export type QueueStats = z.infer<typeof QueueStats>;

export const QueueSnapshot = z.strictObject({
  queues: z.array(QueueStats).describe("The agent's queues."),
  requests: z
    .array(RequestView)
    .describe('Their live requests (waiting, offered, assigned, scheduled), in queue order.'),
});
export const Board = z.strictObject({
  queues: z.array(QueueStats).describe('Every queue.'),
  requests: z.array(RequestView).describe('Every live request, in queue order.'),
  agents: z.array(AgentView).describe('Every agent.'),
});
export type Board = z.infer<typeof Board>;
