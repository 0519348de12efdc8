import { z } from 'zod';
import { IsoTime, OpaqueId } from './common.ts';
import { ConfigId, RequestParams, ScreenPopOpensIn } from './pipeline.ts';
import { ADMIN, ANY_STAFF, route, SUPERVISORS } from './route-def.ts';

/** A calendar date in the site's time zone. */
export const LocalDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date such as 2026-03-29')
  .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)), 'not a calendar date');

/** The channel a report covers: voice calls, chats, or both. */
export const ReportChannel = z.enum(['all', 'voice', 'chat']);
export type ReportChannel = z.infer<typeof ReportChannel>;

export const ReportQuery = z.strictObject({
  from: LocalDate.describe("First day of the range (YYYY-MM-DD, in the site's time zone)."),
  to: LocalDate.describe(
    "Last day of the range, included (YYYY-MM-DD, in the site's time zone); at most 92 days.",
  ),
  granularity: z
    .enum(['day', 'hour'])
    .default('day')
    .describe('Rows of the time series: one per day or per hour.'),
  queueId: ConfigId.optional().describe('Only the requests of this queue.'),
  agentId: OpaqueId.optional().describe(
    'Only the requests this staff member handled (answered or took over).',
  ),
  channel: ReportChannel.default('all').describe(
    'Only voice requests (calls), only chats, or all (default). A chat agent holds several chats at once, so their talk and handling times are best read apart from calls.',
  ),
});
export type ReportQuery = z.infer<typeof ReportQuery>;

const seconds = (what: string) => z.number().nullable().describe(`${what}, in seconds (null when none).`);
const count = (what: string) => z.number().int().min(0).describe(what);

/** The figures of a set of requests (a queue, a day or hour, the whole range). */
export const ReportFigures = z.strictObject({
  offered: count('Requests queued (by the time they were queued).'),
  answered: count('Requests an agent accepted.'),
  abandoned: count(
    'Requests that ended before any agent accepted them (the customer left or the session ended).',
  ),
  abandonedWithin10s: count('Of the abandoned, those that ended within 10 seconds of waiting.'),
  avgAbandonSeconds: seconds('Average wait of the abandoned requests'),
  maxAbandonSeconds: seconds('Longest wait of an abandoned request'),
  avgSpeedOfAnswerSeconds: seconds('Average wait until the first accept (callbacks: from the booked slot)'),
  answeredWithinTarget: count("Answered within the queue's target (targetAnswerSeconds)."),
  serviceLevel: z
    .number()
    .min(0)
    .max(1)
    .nullable()
    .describe('answeredWithinTarget / (answered + abandoned); null when neither.'),
  avgTalkSeconds: seconds('Average time agents held the ended requests (accept to end, transfers included)'),
  avgWrapUpSeconds: seconds('Average time from the end of a hold to its wrap-up being saved'),
  avgHandleSeconds: seconds('Average handling time: talk + wrap-up, over the ended answered requests'),
  transfers: count('Transfers, take-overs and reassignments carried out.'),
  callbacksBooked: count('Requests booked as a scheduled callback (a slot).'),
  callbacksKept: count('Booked callbacks answered by the end of their slot.'),
  answeredAtLevel1: count('Answered with the verification level 1 (device) at answer.'),
  answeredAtLevel2: count('Answered at level 2 (device + PIN or biometric).'),
  answeredAtLevel3: count('Answered at level 3 (two factors beyond the device).'),
  deviceVerifications: count('Step-up requests ("verify" commands) agents sent to the device.'),
  deviceVerifySeconds: z
    .number()
    .min(0)
    .describe('Seconds from each verify command to its answer on the device (finished ones).'),
  knowledgeChecks: count('Knowledge-question checks agents recorded for these requests.'),
  knowledgeSeconds: z
    .number()
    .min(0)
    .describe(
      "Agents' seconds on knowledge questions for these requests (measured by the console, audited).",
    ),
  chatMessages: count(
    'Chat messages exchanged in these requests (customer and agents; 0 for calls; a deleted transcript counts none).',
  ),
});
export type ReportFigures = z.infer<typeof ReportFigures>;

export const ReportQueueRow = ReportFigures.extend({
  queueId: ConfigId.describe('The queue.'),
  queueName: z.string().describe("The queue's name (its id when no longer configured)."),
  targetAnswerSeconds: z.number().int().describe("The queue's service level target."),
});

export const ReportAgentRow = z.strictObject({
  agentId: OpaqueId.describe('The staff member.'),
  agentName: z.string().describe('Their display name.'),
  answered: count('Requests this agent accepted from the queue.'),
  takenIn: count('Requests this agent received by a transfer, take-over or reassignment.'),
  transfersOut: count('Requests this agent passed on (transfer) or that were taken from them.'),
  talkSeconds: z.number().min(0).describe('Seconds this agent held requests (ended holds).'),
  wrapUpSeconds: z.number().min(0).describe("Seconds from the end of this agent's holds to their wrap-ups."),
  avgHandleSeconds: seconds('Average of talk + wrap-up per ended hold'),
  deviceVerifications: count('Verify commands this agent sent.'),
  deviceVerifySeconds: z.number().min(0).describe('Seconds those verify commands waited for the device.'),
  knowledgeChecks: count('Knowledge-question checks this agent recorded (audit; no duration is recorded).'),
  knowledgeChecksPassed: count('Of those, the ones with every answer right.'),
  knowledgeSeconds: z
    .number()
    .min(0)
    .describe(
      "This agent's seconds on knowledge questions (the console's measurement, audited with each check).",
    ),
  chatMessagesSent: count('Chat messages this agent wrote in the requests of the report.'),
  chatTalkSeconds: z
    .number()
    .min(0)
    .describe('Seconds this agent held chats (ended holds of chat requests).'),
  avgConcurrentChats: z
    .number()
    .nullable()
    .describe(
      'Average number of chats this agent held at once while holding at least one: chat seconds ÷ seconds with a chat open (ended holds; null: no chat).',
    ),
});

export const ReportChannelRow = ReportFigures.extend({
  channel: z.enum(['voice', 'chat']).describe('The channel.'),
  avgConcurrentChats: z
    .number()
    .nullable()
    .describe(
      "Chats only: the agents' chat seconds ÷ their seconds with a chat open, over the agents of the report (null for voice or when no chat ended).",
    ),
});

export const ReportBucket = ReportFigures.extend({
  start: IsoTime.describe('Start of the day or hour (UTC instant).'),
  label: z
    .string()
    .describe("The day (YYYY-MM-DD) or hour (YYYY-MM-DD HH:00 ±hh:mm) in the site's time zone."),
  hours: z
    .number()
    .describe('Length of the bucket in hours (a day of a daylight-saving change has 23 or 25).'),
});

export const ReportView = z.strictObject({
  timeZone: z.string().describe("The site's time zone (IANA) the days and hours are counted in."),
  from: IsoTime.describe('Start of the range (midnight of `from` in the site time zone).'),
  to: IsoTime.describe('End of the range, excluded (midnight after `to`).'),
  granularity: z.enum(['day', 'hour']).describe('Rows of the series.'),
  channel: ReportChannel.describe('The channel the report covers (the filter).'),
  totals: ReportFigures.describe('The whole range.'),
  channels: z
    .array(ReportChannelRow)
    .describe(
      'One row per channel (voice, then chat) the report covers, each with the figures of its requests.',
    ),
  queues: z.array(ReportQueueRow).describe('One row per queue with requests in the range.'),
  agents: z.array(ReportAgentRow).describe('One row per staff member who handled a request of the range.'),
  series: z.array(ReportBucket).describe('One row per day or hour of the range, in order (empty ones too).'),
  missing: z.array(z.string()).describe('What the records do not hold, so the report cannot show.'),
});
export type ReportView = z.infer<typeof ReportView>;

export const ReportCsvQuery = ReportQuery.extend({
  table: z
    .enum(['series', 'queues', 'agents', 'channels'])
    .default('series')
    .describe('Which table of the report: the time series, per queue, per agent or per channel.'),
});

export const ReportCsv = z.strictObject({
  filename: z
    .string()
    .describe('A file name for the download, e.g. report-series-all-2026-03-23-2026-03-29-day.csv.'),
  csv: z
    .string()
    .describe("RFC 4180 CSV (CRLF line ends, header row; cells starting with = + - @ prefixed with ')."),
});

export const ScreenPop = z.strictObject({
  url: z
    .string()
    .nullable()
    .describe(
      'The CRM URL to open, or null when the queue has none configured or nobody knows who is calling yet.',
    ),
  unknownCaller: z
    .literal(true)
    .optional()
    .describe(
      "A phone caller nobody recognised (their request belongs to a placeholder, nobody's CRM record): ask again once the agent identified them.",
    ),
  opensIn: ScreenPopOpensIn.optional().describe(
    "Where the console opens it (the queue's screenPopOpensIn): 'sidePanel' or 'browser' (absent: browser).",
  ),
});

export const WebhookDeliveryView = z.strictObject({
  id: OpaqueId,
  eventId: z.string().describe('The idempotency id the receiver sees (X-VD-Event-Id).'),
  endpoint: z.string().describe('The receiver URL.'),
  topic: z
    .string()
    .describe(
      'request.accepted, request.ended, request.transferred, wrapup.saved, verification.changed or caller.identified.',
    ),
  state: z
    .enum(['pending', 'delivered', 'dead'])
    .describe('dead: given up after webhookMaxAttempts failures.'),
  attempts: z.number().int().describe('Attempts made.'),
  nextAttemptAt: IsoTime.nullable().describe('When the next attempt is due (pending only).'),
  lastStatus: z.number().int().nullable().describe("The receiver's HTTP status of the last attempt."),
  lastError: z.string().nullable().describe('Why the last attempt failed.'),
  createdAt: IsoTime,
  finishedAt: IsoTime.nullable().describe('Delivered or given up at.'),
});
export const WebhookDeliveries = z.strictObject({
  deliveries: z.array(WebhookDeliveryView).describe('Newest first.'),
});
export const WebhookDeliveriesQuery = z.strictObject({
  state: z.enum(['pending', 'delivered', 'dead']).optional().describe('Only deliveries in this state.'),
  limit: z.coerce.number().int().min(1).max(500).default(100).describe('At most this many (default 100).'),
});

export const reportRoutes = {
  report: route({
    method: 'GET',
    path: '/v1/supervisor/reports',
    summary: 'Historical report: per queue, per agent, per day or hour',
    description:
      "Offered, answered, abandoned, speed of answer, handling time, service level, transfers, callbacks kept, verification level at answer, device verification time and, per channel (voice, chat), chat messages and concurrent chats over a range of days in the site's time zone (VD_SITE_TIME_ZONE), computed from the durable records (docs/reports.md). Caller: a supervisor or admin. Changes nothing.",
    tag: 'reports',
    auth: 'staff',
    roles: SUPERVISORS,
    query: ReportQuery,
    response: ReportView,
  }),
  reportCsv: route({
    method: 'GET',
    path: '/v1/supervisor/reports/csv',
    summary: 'One table of the historical report as CSV',
    description:
      'The series, queue, agent or channel table of the report as RFC 4180 CSV, each row with the channel (formula injection guarded: a cell starting with = + - @ is prefixed with an apostrophe). Caller: a supervisor or admin. Changes nothing.',
    tag: 'reports',
    auth: 'staff',
    roles: SUPERVISORS,
    query: ReportCsvQuery,
    response: ReportCsv,
  }),
  screenPop: route({
    method: 'GET',
    path: '/v1/agent/requests/:requestId/screen-pop',
    summary: 'The CRM record to open for the request the agent holds',
    description:
      "The queue's screenPopUrl template filled with the customer's external reference, the request id and the verification level (each URL-encoded); only origins of VD_SCREEN_POP_ORIGINS. Caller: the agent holding the request (403 otherwise). Changes nothing.",
    errors: {
      403: 'not_assigned: the caller does not hold the request.',
      409: 'conflict: the template names an origin that is not allow-listed.',
    },
    tag: 'calls',
    auth: 'staff',
    roles: ANY_STAFF,
    params: RequestParams,
    response: ScreenPop,
  }),
  webhookDeliveries: route({
    method: 'GET',
    path: '/v1/admin/webhooks/deliveries',
    summary: 'The webhook delivery log',
    description:
      'Every webhook delivery: its event, receiver, attempts, last status or error, and whether it was delivered or given up (dead). Caller: an admin. Changes nothing.',
    tag: 'admin',
    auth: 'staff',
    roles: ADMIN,
    query: WebhookDeliveriesQuery,
    response: WebhookDeliveries,
  }),
} as const;
