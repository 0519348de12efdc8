import { z } from 'zod';
import { AssuranceLevel, IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import { FactorKind } from './identity.ts';
import { SessionId } from './sessions.ts';

/** Ids written in configuration files: queues, menu options, skills, rules. */
export const ConfigId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, 'ids are lower-case letters, digits, dash and underscore');

export const QueueConfig = z.strictObject({
  id: ConfigId,
  name: ShortText,
  /** Service level target: answered within this many seconds. */
  targetAnswerSeconds: z.number().int().min(5).max(86_400).default(20),
  /** Handling time assumed until enough calls were measured. */
  expectedHandleSeconds: z.number().int().min(30).max(14_400).default(300),
});
export type QueueConfig = z.infer<typeof QueueConfig>;

export interface MenuNodeInput {
  id: string;
  label: string;
  children?: MenuNodeInput[];
  queue?: string;
  level?: 0 | 1 | 2 | 3;
  skills?: string[];
}
/** A menu node: a branch (children) or a leaf naming a queue, the level it needs and optional skills. */
export const MenuNode: z.ZodType<MenuNodeInput> = z.lazy(() =>
  z.union([
    z.strictObject({ id: ConfigId, label: ShortText, children: z.array(MenuNode).min(1).max(20) }),
    z.strictObject({
      id: ConfigId,
      label: ShortText,
      queue: ConfigId,
      level: AssuranceLevel,
      skills: z.array(ConfigId).max(10).optional(),
    }),
  ]),
);

export const PriorityRule = z.strictObject({
  id: ConfigId,
  when: z
    .strictObject({
      attribute: z.strictObject({ name: ConfigId, equals: z.string().max(LIMITS.shortText) }).optional(),
      minLevel: AssuranceLevel.optional(),
      balanceAtLeast: z.number().optional(),
      queue: ConfigId.optional(),
    })
    .refine((w) => Object.keys(w).length > 0, 'a rule needs at least one condition'),
  addPriority: z.number().int().min(-1000).max(1000).default(0),
  moveToQueue: ConfigId.optional(),
});
export type PriorityRule = z.infer<typeof PriorityRule>;

export interface DispositionShape {
  code: string;
  label: string;
  children?: DispositionShape[];
}
export const Disposition: z.ZodType<DispositionShape> = z.lazy(() =>
  z.strictObject({ code: ConfigId, label: ShortText, children: z.array(Disposition).max(50).optional() }),
);
/** The level each secure account field needs before the agent sees it. */
export const SecureFieldRule = z.strictObject({
  field: z.enum(['accountNumber', 'balance', 'orders']),
  label: ShortText,
  level: AssuranceLevel,
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
  photoWhileFactorLocked: z.boolean().default(false),
});
export type VerificationPolicy = z.infer<typeof VerificationPolicy>;

export const PipelineConfig = z
  .strictObject({
    company: ShortText,
    queues: z.array(QueueConfig).min(1).max(100),
    menu: z.array(MenuNode).min(1).max(20),
    priorityRules: z.array(PriorityRule).max(100).default([]),
    secureFields: z.array(SecureFieldRule).max(10).default(DEFAULT_SECURE_FIELDS),
    dispositions: z.array(Disposition).min(1).max(50).default(DEFAULT_DISPOSITIONS),
    verification: VerificationPolicy.default({ photoWhileFactorLocked: false }),
  })
  .superRefine((c, ctx) => {
    const queues = new Set(c.queues.map((q) => q.id));
    const ids = new Set<string>();
    const walk = (nodes: MenuNodeInput[], path: string) => {
      for (const n of nodes) {
        if (ids.has(n.id))
          ctx.addIssue({ code: 'custom', message: `menu id "${n.id}" used twice`, path: [path] });
        ids.add(n.id);
        if (n.children) walk(n.children, `${path}/${n.id}`);
        else if (n.queue && !queues.has(n.queue))
          ctx.addIssue({
            code: 'custom',
            message: `menu option "${n.id}" names unknown queue "${n.queue}"`,
            path: [path],
          });
      }
    };
    walk(c.menu, 'menu');
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
}
/** The menu as a device sees it: options nobody can serve are gone, the rest carry their live wait. */
export const LiveMenuNode: z.ZodType<LiveMenuNodeShape> = z.lazy(() =>
  z.union([
    z.strictObject({ id: ConfigId, label: ShortText, children: z.array(LiveMenuNode) }),
    z.strictObject({
      id: ConfigId,
      label: ShortText,
      level: AssuranceLevel,
      availability: Availability,
      estimatedWaitSeconds: z.number().int().min(0).nullable(),
    }),
  ]),
);
export const LiveMenu = z.strictObject({ company: ShortText, menu: z.array(LiveMenuNode) });

export const RequestState = z.enum(['waiting', 'offered', 'assigned', 'scheduled', 'completed', 'abandoned']);
export type RequestState = z.infer<typeof RequestState>;

export const CallbackWindow = z.strictObject({ from: IsoTime, until: IsoTime });
export const CallbackView = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('keep_place'), window: CallbackWindow.nullable() }),
  z.strictObject({ mode: z.literal('slot'), slotStart: IsoTime, slotEnd: IsoTime }),
]);

export const RequestView = z.strictObject({
  requestId: OpaqueId,
  sessionId: SessionId,
  customerId: OpaqueId,
  customerName: ShortText,
  queueId: ConfigId,
  optionId: ConfigId,
  optionLabel: ShortText,
  level: AssuranceLevel,
  priority: z.number().int(),
  state: RequestState,
  enqueuedAt: IsoTime,
  position: z.number().int().min(1).nullable(),
  estimatedWaitSeconds: z.number().int().min(0).nullable(),
  callback: CallbackView,
  fence: z.number().int().min(0),
  agentId: OpaqueId.nullable(),
  offerExpiresAt: IsoTime.nullable(),
  /** The display name of the agent holding or being offered it ("You are now with <agent>"). */
  agentName: ShortText.nullable().optional(),
});
export type RequestView = z.infer<typeof RequestView>;

export const CreateRequest = z.strictObject({
  optionId: ConfigId,
  /** Retries with the same key return the same request instead of queueing twice. */
  idempotencyKey: z
    .string()
    .min(8)
    .max(64)
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
});
export const CreateRequestResult = z.discriminatedUnion('status', [
  z.strictObject({
    status: z.literal('step_up_required'),
    optionId: ConfigId,
    requiredLevel: AssuranceLevel,
    currentLevel: AssuranceLevel,
    /** Any one of these factors is enough to reach the level. */
    factorsNeeded: z.array(FactorKind),
  }),
  z.strictObject({ status: z.literal('queued'), request: RequestView }),
]);
export type CreateRequestResult = z.infer<typeof CreateRequestResult>;

export const RequestParams = z.strictObject({ requestId: OpaqueId });
export const SetCallbackRequest = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('keep_place'), window: CallbackWindow.optional() }),
  z.strictObject({ mode: z.literal('slot'), slotStart: IsoTime }),
]);
export const SlotsQuery = z.strictObject({ day: z.iso.date() });
export const CallbackSlots = z.strictObject({
  day: z.iso.date(),
  slotSeconds: z.number().int(),
  slots: z.array(z.strictObject({ start: IsoTime, end: IsoTime, free: z.number().int().min(0) })),
});

export const Presence = z.enum(['offline', 'available', 'busy', 'wrap_up', 'break', 'missed']);
export type Presence = z.infer<typeof Presence>;
export const SetPresenceRequest = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('available') }),
  z.strictObject({ state: z.literal('offline') }),
  z.strictObject({ state: z.literal('break'), reasonCode: ConfigId }),
]);
export const SkillLevel = z.strictObject({ skill: ConfigId, level: z.number().int().min(1).max(10) });
export const Shift = z.strictObject({ start: IsoTime, end: IsoTime });
export const AgentProfile = z.strictObject({
  skills: z.array(SkillLevel).max(50),
  queues: z.array(ConfigId).max(50),
});
export const AgentSchedule = z.strictObject({ shifts: z.array(Shift).max(500) });

export const OfferView = z.strictObject({
  requestId: OpaqueId,
  fence: z.number().int(),
  expiresAt: IsoTime,
  request: RequestView,
});
export type OfferView = z.infer<typeof OfferView>;

export const AgentView = z.strictObject({
  staffId: OpaqueId,
  displayName: ShortText,
  presence: Presence,
  since: IsoTime,
  reasonCode: z.string().nullable(),
  skills: z.array(SkillLevel),
  queues: z.array(ConfigId),
  onShift: z.boolean(),
  offer: OfferView.nullable(),
  currentRequestId: OpaqueId.nullable(),
  /** The service session of the current request (supervisor board). */
  currentSessionId: SessionId.nullable().optional(),
  /** Seconds since `since`, computed when the view was made. */
  timeInStateSeconds: z.number().int().min(0).optional(),
});
export type AgentView = z.infer<typeof AgentView>;

export const FenceBody = z.strictObject({ fence: z.number().int().min(1) });

export const QueueStats = z.strictObject({
  queueId: ConfigId,
  name: ShortText,
  waiting: z.number().int(),
  longestWaitSeconds: z.number().int(),
  estimatedWaitSeconds: z.number().int().nullable(),
  agentsAvailable: z.number().int(),
  agentsOnShift: z.number().int(),
  /** Share of the requests answered (assigned) in the last 24 h within the queue's target. */
  answeredWithinTarget: z.number().min(0).max(1).nullable(),
  targetAnswerSeconds: z.number().int().optional(),
});
export type QueueStats = z.infer<typeof QueueStats>;

export const QueueSnapshot = z.strictObject({
  queues: z.array(QueueStats),
  requests: z.array(RequestView),
});
export const Board = z.strictObject({
  queues: z.array(QueueStats),
  requests: z.array(RequestView),
  agents: z.array(AgentView),
});
export type Board = z.infer<typeof Board>;
