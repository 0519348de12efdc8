import { z } from 'zod';
import {
  CustomerPanel,
  Dispositions,
  IdempotencyKey,
  PhotoComparison,
  PhotoVerdict,
  RequestKnowledgeCheck,
  RequestKnowledgeQuestions,
  RequestKnowledgeResult,
} from './agent-desk.ts';
import { CallAnswerResult, CallEndResult, CallTicket } from './calls.ts';
import {
  AttachmentSent,
  ChatClientFrame,
  ChatServerFrame,
  QuickReplies,
  QuickRepliesBody,
  TeamQuickReplies,
  StaffChatTranscript,
} from './chat.ts';
import { MAX_PLAYBACK_BYTES, RecordingList, RecordingState, RecordingView } from './recording.ts';
import {
  MonitorAgentAnswerBody,
  MonitorAnswerBody,
  MonitorListenOffer,
  MonitorModeBody,
  MonitorModeResult,
  MonitorOk,
  MonitorUpdateFrame,
} from './monitoring.ts';
import { ReportCsv, ReportCsvQuery, ReportQuery, ReportView, ScreenPop } from './reports.ts';
import { IsoTime, LIMITS, OpaqueId, ShortText } from './common.ts';
import {
  AgentStats,
  AgentView,
  Board,
  ConfigId,
  OfferView,
  QueueSnapshot,
  QueueStats,
  RequestView,
  SetPresenceRequest,
} from './pipeline.ts';
import { SipCredentials } from './sip.ts';
import {
  BookPhoneCallbackBody,
  CallerIdentified,
  IdentifyCallerFields,
  PhoneCallbackBooked,
  PhoneCallConnecting,
  PhoneDialTicket,
  VerificationLinkSent,
} from './trunk.ts';
import { Password, StaffView, Username } from './staff.ts';
import { SsoSettings } from './sso.ts';
import { COMMAND_TTL, CommandView, DeviceCommand, MenuItems, RequestCommands } from './device-control.ts';
import { TransferTargets } from './directory.ts';
import { TransferMode, TransferTarget, Transfers, TransferView } from './transfers.ts';

/**
 * The console bridge: what the renderer may ask of the main process
 * (`window.agentDesk`), one contract for Electron IPC and for browser mode's
 * loopback WebSocket. Request channels map to an argument schema (validated in main
 * before any handler runs) and a result schema; event channels map to a payload.
 */

export const HttpUrl = z.url({ protocol: /^https?$/ }).max(2048);

/** The offer sound's volume until the agent changes it (0 is off). */
export const DEFAULT_OFFER_VOLUME = 60;

export const ConsoleSettings = z.strictObject({
  authorityUrl: HttpUrl,
  /** SIP over WebSocket endpoint (the embedded edge or Kamailio). */
  sipUrl: z
    .url({ protocol: /^wss?$/ })
    .max(2048)
    .nullable(),
  microphoneId: z.string().max(256).nullable(),
  speakerId: z.string().max(256).nullable(),
  ringerId: z.string().max(256).nullable(),
  /** Call the customer as soon as an offer is accepted (when their device is reachable). */
  autoDial: z.boolean(),
  /** Where the short offer sound plays (null: the system default), apart from the ringer. */
  offerSoundId: z.string().max(256).nullable(),
  /** The offer sound's volume, 0 (off) to 100. */
  offerVolume: z.number().int().min(0).max(100),
  /** Set by IT's managed configuration file: these settings are shown read-only. */
  managed: z.strictObject({ authorityUrl: z.boolean(), sipUrl: z.boolean() }),
});
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;
export const SettingsPatch = z.strictObject({
  authorityUrl: HttpUrl.optional(),
  sipUrl: z
    .url({ protocol: /^wss?$/ })
    .max(2048)
    .nullable()
    .optional(),
  microphoneId: z.string().max(256).nullable().optional(),
  speakerId: z.string().max(256).nullable().optional(),
  ringerId: z.string().max(256).nullable().optional(),
  autoDial: z.boolean().optional(),
  offerSoundId: z.string().max(256).nullable().optional(),
  offerVolume: z.number().int().min(0).max(100).optional(),
});

export const HistoryEntry = z.strictObject({
  requestId: OpaqueId,
  customerName: ShortText,
  optionLabel: ShortText,
  level: z.number().int(),
  acceptedAt: IsoTime,
  completedAt: IsoTime.nullable(),
  disposition: z.array(ConfigId).nullable(),
  wrapUpState: z.enum(['none', 'pending', 'sent']),
});
export type HistoryEntry = z.infer<typeof HistoryEntry>;

export const OutboxStatus = z.strictObject({
  pending: z.number().int().min(0),
  sent: z.number().int().min(0),
  lastError: z.string().nullable(),
  nextAttemptAt: IsoTime.nullable(),
});
export type OutboxStatus = z.infer<typeof OutboxStatus>;

export const ConnectionState = z.strictObject({
  state: z.enum(['connected', 'connecting', 'reconnecting', 'offline']),
  since: IsoTime,
});

/** Bytes of a chat attachment per `chat.attachPart` (its base64 fits a bridge frame). */
export const CHAT_UPLOAD_PART_BYTES = 36 * 1024;
/** The largest file the console uploads through the bridge (the authority's own limit is usually lower). */
export const CHAT_UPLOAD_MAX_BYTES = 100 * 1024 * 1024;

const RequestRef = z.strictObject({ requestId: OpaqueId });
const Fenced = z.strictObject({ requestId: OpaqueId, fence: z.number().int().min(1) });
const Empty = z.strictObject({});
const Fence = z.number().int().min(1);
const CommandRef = z.strictObject({ commandId: OpaqueId, fence: Fence });
const TransferRef = z.strictObject({ transferId: OpaqueId });

/** The customer stopped (or allowed again) remote control of their device. */
export const ControlState = z.strictObject({
  requestId: OpaqueId,
  stopped: z.boolean(),
  at: z.string().max(64),
  cancelled: z.array(OpaqueId),
});
export type ControlState = z.infer<typeof ControlState>;

const channel = <A extends z.ZodType, R extends z.ZodType>(args: A, result: R) => ({ args, result });

/** Request/response channels: renderer -> main. */
export const bridgeRequests = {
  'session.login': channel(z.strictObject({ username: Username, password: Password }), StaffView),
  'session.logout': channel(
    Empty,
    z.strictObject({
      ok: z.literal(true),
      /** Browser mode, after a single sign-on: the provider's logout page to go to (the desktop app opened it itself). */
      endSessionUrl: z
        .url({ protocol: /^https?$/ })
        .max(8192)
        .optional(),
    }),
  ),
  /** Single sign-on: configured? the provider's name, and whether passwords are refused. */
  'sso.settings': channel(Empty, SsoSettings),
  /** Browser mode: start a sign-in that comes back to `returnTo` (this console's /sso-callback): the page to go to. */
  'sso.begin': channel(
    z.strictObject({ returnTo: z.url({ protocol: /^https?$/ }).max(2048) }),
    z.strictObject({ authorizationUrl: z.url({ protocol: /^https?$/ }).max(8192) }),
  ),
  /** Browser mode: the page came back at /sso-callback: finish the sign-in this console started. */
  'sso.complete': channel(
    z.strictObject({ callbackUrl: z.url({ protocol: /^https?$/ }).max(8192) }),
    StaffView,
  ),
  /** Desktop: the whole sign-in in the system browser, back through a one-shot loopback listener (RFC 8252). */
  'sso.signIn': channel(Empty, StaffView),
  'session.current': channel(Empty, StaffView.nullable()),
  'agent.me': channel(Empty, AgentView),
  'agent.setPresence': channel(SetPresenceRequest, AgentView),
  /** "My stats": handled and average handling time since `since` (the console's local midnight). */
  'agent.stats': channel(z.strictObject({ since: IsoTime }), AgentStats),
  'queue.snapshot': channel(Empty, QueueSnapshot),
  'board.snapshot': channel(Empty, Board),
  'offer.accept': channel(Fenced, RequestView),
  'offer.reject': channel(Fenced, z.strictObject({ ok: z.literal(true) })),
  'request.complete': channel(Fenced, RequestView),
  'panel.get': channel(RequestRef, CustomerPanel),
  /** A photo as a data: URL (the renderer loads nothing from the network itself). */
  'panel.photo': channel(
    z.strictObject({ requestId: OpaqueId, photoId: OpaqueId }),
    z.string().max(4 * LIMITS.photoBytes),
  ),
  /** The agent's verdict on the verification photo beside the enrolment photo. */
  'panel.comparePhoto': channel(
    z.strictObject({
      requestId: OpaqueId,
      photoId: OpaqueId,
      fence: z.number().int().min(1),
      verdict: PhotoVerdict,
    }),
    PhotoComparison,
  ),
  /** The security questions to ask the caller (never the answers), and the lockout so far. */
  'panel.knowledgeQuestions': channel(RequestRef, RequestKnowledgeQuestions),
  /** What the caller answered, as the agent typed it: checked by the authority. */
  'panel.knowledgeCheck': channel(
    RequestKnowledgeCheck.extend({ requestId: OpaqueId }),
    RequestKnowledgeResult,
  ),
  /** A caller from the phone network: text them a link to verify in their app during the call. */
  'panel.sendVerificationLink': channel(Fenced, VerificationLinkSent),
  /** An unknown caller from the phone network: who they say they are (a registered number or reference). */
  'panel.identifyCaller': channel(IdentifyCallerFields.extend({ requestId: OpaqueId }), CallerIdentified),
  /** A customer to be called back later on their registered phone number (a voice request of its own). */
  'panel.bookPhoneCallback': channel(BookPhoneCallbackBody, PhoneCallbackBooked),
  'call.ticket': channel(Fenced, CallTicket),
  /** A caller from the phone network: the SIP server holding the call puts it through to this console. */
  'call.connectPhone': channel(Fenced, PhoneCallConnecting),
  /** A callback to a phone number: the ticket that lets this console's call out through the trunk. */
  'call.dialPhone': channel(Fenced, PhoneDialTicket),
  /** The device's proof from the 200 OK (null when missing), checked and audited by the authority. */
  'call.answered': channel(
    z.strictObject({
      requestId: OpaqueId,
      fence: z.number().int().min(1),
      ticket: z.string().max(4096),
      proof: z.string().max(4096).nullable(),
      /** The SIP Call-ID: a call the media server records is kept with the request. */
      callId: z
        .string()
        .min(1)
        .max(256)
        .regex(/^[\x21-\x7e]+$/)
        .optional(),
    }),
    CallAnswerResult,
  ),
  /** The call placed with this ticket ended (either side hung up): the agent has room for other requests again. */
  'call.ended': channel(
    z.strictObject({
      requestId: OpaqueId,
      fence: z.number().int().min(1),
      ticket: z.string().max(4096),
    }),
    CallEndResult,
  ),
  /** Whether the request's live call is recorded now, or paused. */
  'recording.state': channel(RequestRef, RecordingState),
  /** The holder pauses / resumes the recording of the live call (audited by the authority). */
  'recording.pause': channel(Fenced, RecordingState),
  'recording.resume': channel(Fenced, RecordingState),
  /** A supervisor: the request's recordings with their spans. */
  'recording.list': channel(RequestRef, RecordingList),
  /** A supervisor plays a stored recording (audited): its WAV as a data: URL. */
  'recording.play': channel(
    z.strictObject({ recordingId: OpaqueId }),
    z.strictObject({
      recording: RecordingView,
      url: z.string().max(Math.ceil(MAX_PLAYBACK_BYTES / 3) * 4 + 64),
    }),
  ),
  /**
   * Fresh ephemeral SIP credentials for the logged-in agent; `wsUrl` is the SIP server
   * to use: the console's setting (IT's managed Kamailio) wins over the authority's edge.
   */
  /** A supervisor's historical report (days and hours in the site's time zone). */
  'reports.get': channel(ReportQuery, ReportView),
  /** One table of the report as RFC 4180 CSV, for a download. */
  'reports.csv': channel(ReportCsvQuery, ReportCsv),
  /** The CRM record to open for the request the agent holds (url null: none configured for its queue). */
  'crm.screenPop': channel(RequestRef, ScreenPop),
  'sip.credentials': channel(Empty, SipCredentials),
  'wrapUp.dispositions': channel(Empty, Dispositions),
  /** Saved locally first (row + outbox entry in one transaction), then sent; never lost. */
  'wrapUp.save': channel(
    z.strictObject({
      requestId: OpaqueId,
      fence: z.number().int().min(1),
      disposition: z.array(ConfigId).min(1).max(4),
      notes: z.string().max(LIMITS.longText),
    }),
    z.strictObject({ idempotencyKey: IdempotencyKey, state: z.enum(['pending', 'sent']) }),
  ),
  'history.list': channel(z.strictObject({ limit: z.number().int().min(1).max(500) }), z.array(HistoryEntry)),
  'outbox.status': channel(Empty, OutboxStatus),
  'settings.get': channel(Empty, ConsoleSettings),
  'settings.set': channel(SettingsPatch, ConsoleSettings),
  'shell.openExternal': channel(
    z.strictObject({ url: z.url({ protocol: /^https$/ }).max(2048) }),
    z.strictObject({ opened: z.boolean() }),
  ),

  /** A request as the authority sees it now (e.g. whether it ended or moved to someone else). */
  'request.get': channel(RequestRef, RequestView),
  /**
   * A command to the customer's device. Main assigns the per-request `seq` (kept in the
   * local store, so a restart never reuses one) and resynchronises it once from the
   * authority when it answers command_replayed / seq_out_of_order.
   */
  'command.send': channel(
    z.strictObject({
      requestId: OpaqueId,
      fence: Fence,
      command: DeviceCommand,
      ttlSeconds: z.number().int().min(COMMAND_TTL.minSeconds).max(COMMAND_TTL.maxSeconds).optional(),
    }),
    CommandView,
  ),
  'command.list': channel(RequestRef, RequestCommands),
  /** Edit a live menu: the device shows the new revision. */
  'command.updateMenu': channel(
    z.strictObject({ commandId: OpaqueId, fence: Fence, title: ShortText.optional(), items: MenuItems }),
    CommandView,
  ),
  'command.cancel': channel(CommandRef, CommandView),
  'transfer.targets': channel(Empty, TransferTargets),
  'transfer.start': channel(
    z.strictObject({
      requestId: OpaqueId,
      fence: Fence,
      mode: TransferMode,
      target: TransferTarget,
      note: z.string().max(500).optional(),
    }),
    TransferView,
  ),
  'transfer.accept': channel(TransferRef, TransferView),
  'transfer.decline': channel(TransferRef, TransferView),
  'transfer.cancel': channel(z.strictObject({ transferId: OpaqueId, fence: Fence }), TransferView),
  'transfer.mine': channel(Empty, Transfers),
  'supervisor.takeOver': channel(
    z.strictObject({ requestId: OpaqueId, fence: z.number().int().min(0).optional() }),
    RequestView,
  ),
  'supervisor.reassign': channel(
    z.strictObject({ requestId: OpaqueId, staffId: OpaqueId, fence: z.number().int().min(0).optional() }),
    TransferView,
  ),
  'supervisor.setAgentPresence': channel(
    z.strictObject({ staffId: OpaqueId, presence: SetPresenceRequest }),
    AgentView,
  ),
  /** Verified chat: a frame to the authority on the console's connection (sent: false while it is down). */
  'chat.frame': channel(ChatClientFrame, z.strictObject({ sent: z.boolean() })),
  /** A request's chat transcript, a page by seq (History; a supervisor's read is audited by the authority). */
  'chat.transcript': channel(
    z.strictObject({
      requestId: OpaqueId,
      after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
    }),
    StaffChatTranscript,
  ),
  /**
   * A chat attachment goes to main in parts (browser mode's bridge frames are at most
   * LIMITS.wsFrameBytes): each part is base64 of at most CHAT_UPLOAD_PART_BYTES bytes, in
   * order; `chat.attach` then sends the whole file to the authority. Main keeps an upload's
   * parts for a few minutes, and at most CHAT_UPLOAD_MAX_BYTES of them.
   */
  'chat.attachPart': channel(
    z.strictObject({
      uploadId: OpaqueId,
      index: z
        .number()
        .int()
        .min(0)
        .max(CHAT_UPLOAD_MAX_BYTES / CHAT_UPLOAD_PART_BYTES),
      data: z
        .string()
        .max(Math.ceil(CHAT_UPLOAD_PART_BYTES / 3) * 4)
        .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64'),
    }),
    z.strictObject({ received: z.number().int().min(0) }),
  ),
  /** Send the uploaded parts as a file in the chat I hold (the authority sniffs and limits it). */
  'chat.attach': channel(
    z.strictObject({
      uploadId: OpaqueId,
      requestId: OpaqueId,
      fence: Fence,
      clientMsgId: OpaqueId,
      name: ShortText,
      /** The type the file says it is (the authority refuses it, 415, when the bytes disagree). */
      mediaType: z.string().max(127),
    }),
    AttachmentSent,
  ),
  /** A chat attachment's bytes (base64) and sniffed type: the page shows them from an object URL. */
  'chat.attachment': channel(
    z.strictObject({ requestId: OpaqueId, attachmentId: OpaqueId }),
    z.strictObject({ mediaType: z.string().max(127), data: z.string() }),
  ),
  /** The logged-in staff member's chat quick replies, as the authority keeps them (the defaults until saved). */
  'chat.quickReplies': channel(Empty, QuickReplies),
  /** Replace them with the editor's list (stored and audited by the authority). */
  'chat.setQuickReplies': channel(QuickRepliesBody, QuickReplies),
  /** A supervisor or admin replaces the team's quick replies every agent sees (the authority refuses an agent: forbidden). */
  'chat.setTeamQuickReplies': channel(QuickRepliesBody, TeamQuickReplies),
  /** A supervisor monitors a request's anchored call (monitoring.ts): rtpengine's listening offer. */
  'monitor.listen': channel(RequestRef, MonitorListenOffer),
  /** ... and the browser's answer to it. */
  'monitor.listenAnswer': channel(MonitorAnswerBody.extend({ requestId: OpaqueId }), MonitorOk),
  /** Whisper / barge (with the microphone's offer when talking starts) or back to listening. */
  'monitor.mode': channel(MonitorModeBody.extend({ requestId: OpaqueId }), MonitorModeResult),
  'monitor.leave': channel(RequestRef, MonitorOk),
  /** The agent's console answers the offer of a supervisor's audio (a `monitor.update` event). */
  'monitor.agentAnswer': channel(MonitorAgentAnswerBody.extend({ requestId: OpaqueId }), MonitorOk),
} as const;
export type BridgeRequests = typeof bridgeRequests;
export type BridgeChannel = keyof BridgeRequests;
export type BridgeArgs<C extends BridgeChannel> = z.input<BridgeRequests[C]['args']>;
export type BridgeResult<C extends BridgeChannel> = z.output<BridgeRequests[C]['result']>;

/** Event channels: main -> renderer. */
export const bridgeEvents = {
  'connection.state': ConnectionState,
  'agent.state': AgentView,
  'queue.snapshot': QueueSnapshot,
  'queue.delta': z.strictObject({ queues: z.array(QueueStats), upserts: z.array(RequestView) }),
  'board.snapshot': Board,
  offer: OfferView,
  'call.verified': z.strictObject({ requestId: OpaqueId, at: z.string() }),
  /** The request's panel changed on the authority (a wrong PIN, a PIN lock): fetch it again. */
  'panel.changed': z.strictObject({
    requestId: OpaqueId,
    reason: z.enum(['pin.failed', 'pin.locked']),
    at: z.string(),
  }),
  'outbox.status': OutboxStatus,
  /** A tel: or sip: link the OS handed to the console (click-to-dial). */
  dial: z.strictObject({ uri: z.string().max(512) }),
  /** The global accept shortcut was pressed. */
  'shortcut.accept': Empty,
  /** A command of a request I send to or hold changed state (shown, answered, expired, cancelled, revised). */
  'command.update': CommandView,
  'control.state': ControlState,
  /** A transfer I make, receive (a warm consult offer) or ordered as a supervisor. */
  'transfer.update': TransferView,
  /** Verified chat: a frame from the authority about a conversation I hold. */
  'chat.frame': ChatServerFrame,
  /** A supervisor whispers to me, barges into my call, or stopped (answer `offer` with monitor.agentAnswer). */
  'monitor.update': MonitorUpdateFrame.omit({ type: true }),
} as const;
export type BridgeEvents = typeof bridgeEvents;
export type BridgeEventName = keyof BridgeEvents;
export type BridgeEventPayload<E extends BridgeEventName> = z.output<BridgeEvents[E]>;

/** window.agentDesk: the only thing the page can reach. */
export interface AgentDeskBridge {
  invoke<C extends BridgeChannel>(channel: C, args: BridgeArgs<C>): Promise<BridgeResult<C>>;
  /** Subscribe to an event; returns the unsubscribe function. */
  on<E extends BridgeEventName>(event: E, listener: (payload: BridgeEventPayload<E>) => void): () => void;
  /** 'electron' or 'browser' (browser mode over a loopback WebSocket). */
  readonly mode: 'electron' | 'browser';
}

/** Browser mode's frames between the page and the web host. */
export const BridgeClientFrame = z.strictObject({
  id: z.number().int().min(0),
  channel: z.string().max(64),
  args: z.unknown(),
});
export const BridgeServerFrame = z.union([
  z.strictObject({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    id: z.number().int(),
    ok: z.literal(false),
    error: z.strictObject({ code: z.string(), message: z.string() }),
  }),
  z.strictObject({ event: z.string().max(64), payload: z.unknown() }),
]);
export const BRIDGE_WS_PATH = '/bridge';
