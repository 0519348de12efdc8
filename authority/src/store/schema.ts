import type { Generated } from 'kysely';

/**
 * The authority's tables as Kysely sees them, after every migration of
 * schema-migrations.ts (SQLite and PostgreSQL alike). Column types are what both
 * drivers return: INTEGER / BIGINT -> number (ms timestamps, counters, 0/1 flags; the
 * PostgreSQL pool parses BIGINT to a number and refuses one beyond 2^53), TEXT -> string
 * (JSON columns stay strings: parse them in the repository), BLOB / BYTEA -> Buffer.
 * `Generated<T>`: the column has a default (or is assigned by the database), an insert
 * may leave it out. A migration that adds or changes a column changes this file too.
 */

/** ms since the epoch */
type Ms = number;
/** a JSON document stored as text */
type Json = string;

export interface CustomersTable {
  id: string;
  display_name: string;
  attributes: Generated<Json>;
  account: Generated<Json>;
  knowledge_failures: Generated<number>;
  knowledge_locked_until: Ms | null;
  created_at: Ms;
  external_ref: string | null;
  updated_at: Ms | null;
  deactivated_at: Ms | null;
  deactivation_reason: string | null;
  /** 'unknown_caller': the placeholder of a phone call nobody recognised, until the agent identifies the caller (migration 23) */
  kind: Generated<'customer' | 'unknown_caller'>;
}

export interface CustomerPhonesTable {
  customer_id: string;
  e164: string;
  label: string | null;
  /** 1 active, 0 while the customer is deactivated */
  active: Generated<0 | 1>;
  /** the order the numbers were written in (migration 12) */
  position: Generated<number>;
}

export interface EnrolmentCodesTable {
  code_hash: string;
  customer_id: string;
  expires_at: Ms;
  used_at: Ms | null;
}

export interface DevicesTable {
  id: string;
  customer_id: string;
  public_jwk: Json;
  label: string | null;
  enrolled_at: Ms;
  revoked_at: Ms | null;
}

export interface ChallengesTable {
  id: string;
  purpose: string;
  nonce: string;
  device_id: string | null;
  authentication_id: string | null;
  expires_at: Ms;
  used_at: Ms | null;
}

export interface UsedProofsTable {
  jti: string;
  expires_at: Ms;
}

export interface PinsTable {
  customer_id: string;
  hash: string;
  failures: Generated<number>;
  locked_until: Ms | null;
  updated_at: Ms;
}

export interface WebauthnCredentialsTable {
  id: string;
  customer_id: string;
  device_id: string;
  public_key: Buffer;
  counter: number;
  transports: Generated<Json>;
  created_at: Ms;
  counter_anomaly_at: Ms | null;
}

export interface PhotosTable {
  id: string;
  customer_id: string;
  device_id: string | null;
  authentication_id: string | null;
  purpose: string;
  media_type: string;
  bytes: Buffer;
  created_at: Ms;
  verdict: 'match' | 'no_match' | null;
  compared_by: string | null;
  compared_at: Ms | null;
}

export interface KnowledgeQuestionsTable {
  id: string;
  customer_id: string;
  prompt: string;
  answer_hash: string;
}

export interface AuthenticationsTable {
  id: string;
  customer_id: string;
  device_id: string | null;
  level: number;
  created_at: Ms;
  expires_at: Ms;
  setup_until: Ms | null;
}

export interface FactorsTable {
  authentication_id: string;
  kind: string;
  at: Ms;
  device_id: string | null;
  detail: string | null;
}

export interface DeviceTokensTable {
  token_hash: string;
  device_id: string;
  authentication_id: string;
  expires_at: Ms;
  revoked_at: Ms | null;
}

/**
 * Live sessions (ended_at null) are indexed by last activity and by absolute expiry
 * (version 32, partial indexes): the database-wide expiry sweep and the nearest deadline.
 */
export interface ServiceSessionsTable {
  id: string;
  customer_id: string;
  device_id: string | null;
  authentication_id: string;
  created_at: Ms;
  last_activity_at: Ms;
  absolute_expires_at: Ms;
  ended_at: Ms | null;
  end_reason: string | null;
}

export interface StaffTable {
  id: string;
  username: string;
  display_name: string;
  role: 'agent' | 'supervisor' | 'admin';
  password_hash: string;
  created_at: Ms;
  disabled_at: Ms | null;
}

export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  staff_id: string;
  expires_at: Ms;
  rotated_at: Ms | null;
  revoked_at: Ms | null;
}

export interface SigningKeysTable {
  kid: string;
  private_jwk: Json;
  created_at: Ms;
}

export interface AuditLogTable {
  seq: number;
  at: Ms;
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  reason: string | null;
  data: Json;
  prev_hash: string;
  hash: string;
}

export interface PipelineConfigTable {
  /** always 1: one row */
  id: number;
  json: Json;
  source: string;
  file_hash: string | null;
  updated_at: Ms;
}

export interface AgentsTable {
  staff_id: string;
  presence: Generated<'offline' | 'available' | 'busy' | 'wrap_up' | 'break' | 'missed'>;
  since: Ms;
  /** The break reason; in wrap-up, the break chosen to follow it (the next status), else null. */
  reason_code: string | null;
  wrap_up_until: Ms | null;
  idle_since: Ms | null;
  last_seen_at: Ms | null;
  skills: Generated<Json>;
  queues: Generated<Json>;
  /** Version 19: the staff member who set this presence when it was not the agent (else null). */
  presence_set_by: string | null;
  /** Version 29: the agent's own chat capacity, bounding every queue's (null: the queue's applies). */
  chat_capacity: number | null;
  /**
   * Version 32: the presence to return to when a request held outside the person's own
   * choice (a supervisor's take-over) ends, and its reason code; null: none remembered.
   */
  return_presence: 'available' | 'offline' | 'break' | null;
  return_reason_code: string | null;
}

export interface ShiftsTable {
  staff_id: string;
  starts_at: Ms;
  ends_at: Ms;
}

export interface RequestsTable {
  id: string;
  session_id: string;
  customer_id: string;
  device_id: string | null;
  authentication_id: string;
  option_id: string;
  option_label: string;
  queue_id: string;
  skills: Generated<Json>;
  required_level: number;
  priority: number;
  enqueued_at: Ms;
  state: 'waiting' | 'offered' | 'assigned' | 'scheduled' | 'completed' | 'abandoned';
  fence: Generated<number>;
  agent_id: string | null;
  offer_expires_at: Ms | null;
  assigned_at: Ms | null;
  ended_at: Ms | null;
  end_reason: string | null;
  callback_mode: Generated<'keep_place' | 'slot'>;
  window_from: Ms | null;
  window_until: Ms | null;
  slot_start: Ms | null;
  slot_end: Ms | null;
  idempotency_key: string | null;
  channel: Generated<'voice' | 'chat'>;
  /** 1: queued below its option's level, the agent verifies the customer on the call (version 34) */
  verify_on_call: Generated<0 | 1>;
}

export interface ChatMessagesTable {
  request_id: string;
  seq: number;
  client_msg_id: string;
  sender: 'customer' | 'agent';
  staff_id: string | null;
  text: string;
  at: Ms;
}

/** A call from the phone network (SIP trunk) and the request it became. */
export interface PhoneCallsTable {
  request_id: string;
  sip_call_id: string;
  /** the caller's number in E.164, or null (withheld or unreadable) */
  caller: string | null;
  dialled: string;
  /** what the agent reads: "Phoned in from ... (not verified)" */
  recognition: string;
  /** the SIP server (Kamailio) holding the call: its control URL */
  sip_server: string | null;
  created_at: Ms;
  ended_at: Ms | null;
  end_reason: string | null;
  /** an unknown caller identified by the agent: who and when (migration 23) */
  identified_by: string | null;
  identified_at: Ms | null;
}

/** A single-use link texted to a caller during a phone call (issue 14 item 3): only its hash is kept. */
export interface VerificationLinksTable {
  token_hash: string;
  request_id: string;
  customer_id: string;
  /** the number it was texted to (E.164) */
  sent_to: string;
  created_at: Ms;
  expires_at: Ms;
  used_at: Ms | null;
  used_by_device: string | null;
}

/** A callback to a customer's phone number through the trunk (issue 14 item 5; migration 26). */
export interface PhoneCallbacksTable {
  request_id: string;
  /** E.164: one of the customer's registered numbers */
  number: string;
  /** staff id of who booked it */
  booked_by: string;
  booked_at: Ms;
  /** the last call the SIP server let out to the trunk, or null (not placed yet) */
  placed_at: Ms | null;
  placed_count: Generated<number>;
  sip_call_id: string | null;
  /** the latest call out ended (migration 31): when, how, and the SIP status of one not answered */
  ended_at: Ms | null;
  end_reason: 'customer_hung_up' | 'agent_hung_up' | 'cancelled' | 'not_answered' | null;
  end_status: number | null;
}

/** A signed ticket letting the holder's call out to a callback's number (migration 26). */
export interface PhoneDialTicketsTable {
  jti: string;
  request_id: string;
  agent_id: string;
  fence: number;
  number: string;
  issued_at: Ms;
  expires_at: Ms;
  /** when the SIP server let a call out with it (that Call-ID only from then on) */
  used_at: Ms | null;
  sip_call_id: string | null;
}

/** A file attached to a chat message (migration 28): stored like photos, the bytes in the row. */
export interface ChatAttachmentsTable {
  id: string;
  request_id: string;
  /** the message that carries it */
  seq: number;
  kind: 'image' | 'pdf';
  /** sniffed from the bytes' magic numbers (and equal to the declared type) */
  media_type: string;
  name: string;
  size: number;
  bytes: Buffer;
  created_at: Ms;
}

/** A chat transcript deleted (retention or an administrator): its messages are gone, this marker stays. */
export interface ChatTranscriptDeletionsTable {
  request_id: string;
  deleted_at: Ms;
  /** 'system:retention' or 'staff:<id>' */
  by_actor: string;
  reason: string;
  /** how many messages were deleted */
  message_count: number;
}

export interface LeasesTable {
  request_id: string;
  fence: number;
  kind: 'offer' | 'assignment';
  agent_id: string;
  started_at: Ms;
  ended_at: Ms | null;
  end_reason: string | null;
}

export interface HandleTimesTable {
  queue_id: string;
  seconds: number;
  at: Ms;
  /** The channel of the request handled (schema version 33; rows from before are 'voice'). */
  channel: Generated<'voice' | 'chat'>;
}

export interface CallTicketsTable {
  jti: string;
  request_id: string;
  session_id: string;
  device_id: string;
  agent_id: string;
  fence: number;
  issued_at: Ms;
  expires_at: Ms;
  proven_at: Ms | null;
  /** When the proven call ended (v30; null: live while the request is held under `fence`). */
  ended_at: Ms | null;
}

export interface WrapUpsTable {
  id: string;
  idempotency_key: string;
  request_id: string;
  agent_id: string;
  fence: number;
  disposition: Json;
  notes: string;
  received_at: Ms;
}

/** An agent's own chat quick replies (schema version 33). */
export interface QuickRepliesTable {
  staff_id: string;
  /** JSON array of the texts, in order */
  replies: Json;
  updated_at: Ms;
}

/** The site's team quick replies, shared by every agent (schema version 35; one row, site 'site'). */
export interface SiteQuickRepliesTable {
  site: string;
  /** JSON array of the texts, in order */
  replies: Json;
  /** the supervisor or admin who saved them last */
  updated_by: string;
  updated_at: Ms;
}

export interface DeviceCommandsTable {
  id: string;
  request_id: string;
  session_id: string;
  device_id: string;
  agent_id: string;
  fence: number;
  seq: number;
  kind: string;
  command: Json;
  revision: Generated<number>;
  jws: string;
  state: 'pending' | 'shown' | 'done' | 'declined' | 'failed' | 'expired' | 'cancelled';
  created_at: Ms;
  expires_at: Ms;
  shown_at: Ms | null;
  finished_at: Ms | null;
  result: Json | null;
  reason: string | null;
}

export interface RemoteControlTable {
  request_id: string;
  stopped_at: Ms | null;
  updated_at: Ms;
}

export interface TransfersTable {
  id: string;
  request_id: string;
  kind: 'transfer' | 'take_over' | 'reassign';
  mode: 'blind' | 'warm';
  by_staff: string;
  from_staff: string | null;
  target_kind: 'agent' | 'supervisor' | 'queue';
  target_staff: string | null;
  target_queue: string | null;
  state: 'offered' | 'accepted' | 'declined' | 'cancelled' | 'expired' | 'completed';
  note: string | null;
  from_fence: number;
  to_fence: number | null;
  created_at: Ms;
  expires_at: Ms | null;
  resolved_at: Ms | null;
}

export interface CustodyTable {
  request_id: string;
  staff_id: string;
  role: string;
  fence: number;
  how: 'accepted' | 'transfer_blind' | 'transfer_warm' | 'taken_over' | 'reassigned';
  from_at: Ms;
  until_at: Ms | null;
  end_reason: string | null;
  /** The request's verification level when this holding began (null: held before version 25). */
  level: number | null;
}

export interface SecurityNoticesTable {
  id: string;
  customer_id: string;
  device_id: string;
  kind: 'device.enrolled' | 'pin.set' | 'biometric.added' | 'photo.enrolled';
  by_device_id: string;
  at: Ms;
  acknowledged_at: Ms | null;
}

export interface LoginThrottleTable {
  subject: string;
  staff_id: string | null;
  failures: number;
  locked_until: Ms | null;
  updated_at: Ms;
}

export interface LoginSourceFailuresTable {
  /** assigned by the database (SQLite rowid, PostgreSQL identity) */
  id: Generated<number>;
  source: string;
  at: Ms;
}

export interface LoginSourceRefusalsTable {
  source: string;
  refused: number;
  audited_at: Ms;
}

export interface ReceiptsTable {
  id: string;
  command_id: string;
  request_id: string;
  customer_id: string;
  device_id: string;
  payee: string;
  amount: number;
  currency: string;
  reference: string;
  account: string;
  factor: 'biometric' | 'pin';
  challenge: string;
  evidence: string;
  created_at: Ms;
}

export interface DevicePushTable {
  device_id: string;
  kind: 'webpush' | 'fcm' | 'apns';
  endpoint: string | null;
  p256dh: string | null;
  auth: string | null;
  token: string | null;
  updated_at: Ms;
}

export interface DeviceLastSeenTable {
  device_id: string;
  last_seen_at: Ms;
}

/** Version 18 (many nodes): each running authority node's heartbeat. */
export interface AuthorityNodesTable {
  node_id: string;
  started_at: Ms;
  heartbeat_at: Ms;
}

/** Version 18: which customer devices are online at which node. */
export interface NodePresenceTable {
  node_id: string;
  device_id: string;
  since: Ms;
}

export interface PushKeysTable {
  id: number;
  vapid_public: string;
  vapid_private: string;
  created_at: Ms;
}

/** Durable domain events (migration 13): written in the unit of their change, read in seq order. */
export interface OutboxTable {
  /** assigned by the database (SQLite AUTOINCREMENT, PostgreSQL identity), never reused */
  seq: Generated<number>;
  topic: string;
  payload: Json;
  created_at: Ms;
}

/** A recorded call: live (recording/paused), then its WAV (stored) or why not (failed). */
export interface RecordingsTable {
  id: string;
  request_id: string;
  call_id: string;
  agent_id: string;
  fence: number;
  state: 'recording' | 'paused' | 'stored' | 'failed';
  channels: Json;
  segments: Json;
  duration_ms: number | null;
  file_path: string | null;
  error: string | null;
  created_at: Ms;
  ended_at: Ms | null;
  retain_until: Ms | null;
}

/** How far each consumer of the outbox has processed (the seq of its last event). */
export interface OutboxCursorsTable {
  consumer: string;
  seq: number;
  updated_at: Ms;
}

export interface WebhookDeliveriesTable {
  id: string;
  event_id: string;
  endpoint: string;
  topic: string;
  body: Json;
  state: 'pending' | 'delivered' | 'dead';
  attempts: Generated<number>;
  next_attempt_at: Ms;
  last_status: number | null;
  last_error: string | null;
  created_at: Ms;
  finished_at: Ms | null;
}

export interface StaffSsoLinksTable {
  issuer: string;
  subject: string;
  staff_id: string;
  created_at: Ms;
  last_sign_in_at: Ms;
}

export interface SsoFlowsTable {
  state_hash: string;
  nonce: string;
  code_verifier: string;
  redirect_uri: string;
  created_at: Ms;
  expires_at: Ms;
  used_at: Ms | null;
}

export interface SsoSessionsTable {
  family_id: string;
  staff_id: string;
  issuer: string;
  id_token: string;
  created_at: Ms;
  expires_at: Ms;
  /** The ID token's subject (null: a session from before version 26). */
  subject: string | null;
  /** The provider's session id (the ID token's `sid`), when it sends one. */
  sid: string | null;
}

/** Back-channel logout tokens seen (issuer, jti), kept until they expire: a replay is refused. */
export interface SsoLogoutTokensTable {
  issuer: string;
  jti: string;
  expires_at: Ms;
}

/** Every table, by name. */
export interface Database {
  customers: CustomersTable;
  customer_phones: CustomerPhonesTable;
  enrolment_codes: EnrolmentCodesTable;
  devices: DevicesTable;
  challenges: ChallengesTable;
  used_proofs: UsedProofsTable;
  pins: PinsTable;
  webauthn_credentials: WebauthnCredentialsTable;
  photos: PhotosTable;
  knowledge_questions: KnowledgeQuestionsTable;
  authentications: AuthenticationsTable;
  factors: FactorsTable;
  device_tokens: DeviceTokensTable;
  service_sessions: ServiceSessionsTable;
  staff: StaffTable;
  refresh_tokens: RefreshTokensTable;
  signing_keys: SigningKeysTable;
  audit_log: AuditLogTable;
  pipeline_config: PipelineConfigTable;
  agents: AgentsTable;
  shifts: ShiftsTable;
  requests: RequestsTable;
  leases: LeasesTable;
  handle_times: HandleTimesTable;
  call_tickets: CallTicketsTable;
  wrap_ups: WrapUpsTable;
  device_commands: DeviceCommandsTable;
  remote_control: RemoteControlTable;
  transfers: TransfersTable;
  custody: CustodyTable;
  security_notices: SecurityNoticesTable;
  login_throttle: LoginThrottleTable;
  login_source_failures: LoginSourceFailuresTable;
  login_source_refusals: LoginSourceRefusalsTable;
  receipts: ReceiptsTable;
  device_push: DevicePushTable;
  device_last_seen: DeviceLastSeenTable;
  authority_nodes: AuthorityNodesTable;
  node_presence: NodePresenceTable;
  push_keys: PushKeysTable;
  outbox: OutboxTable;
  outbox_cursors: OutboxCursorsTable;
  recordings: RecordingsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  staff_sso_links: StaffSsoLinksTable;
  sso_flows: SsoFlowsTable;
  sso_sessions: SsoSessionsTable;
  sso_logout_tokens: SsoLogoutTokensTable;
  chat_messages: ChatMessagesTable;
  phone_calls: PhoneCallsTable;
  verification_links: VerificationLinksTable;
  chat_transcript_deletions: ChatTranscriptDeletionsTable;
  phone_callbacks: PhoneCallbacksTable;
  phone_dial_tickets: PhoneDialTicketsTable;
  chat_attachments: ChatAttachmentsTable;
  quick_replies: QuickRepliesTable;
  site_quick_replies: SiteQuickRepliesTable;
}
