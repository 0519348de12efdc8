import type { Clock } from './clock.ts';
import type { Config } from './config.ts';
import type { Ctx } from './context.ts';
import { Authentications } from './identity/authentications.ts';
import { Challenges } from './identity/challenges.ts';
import { Devices } from './identity/devices.ts';
import { FactorSetup } from './identity/factor-setup.ts';
import { KnowledgeFactor } from './identity/knowledge.ts';
import { PhotoFactor } from './identity/photos.ts';
import { PinFactor } from './identity/pin.ts';
import { SecretHasher } from './identity/secrets.ts';
import { WebAuthnFactor } from './identity/webauthn.ts';
import { SigningKeys } from './keys/signing-keys.ts';
import { ServiceSessions } from './sessions/service-sessions.ts';
import { StaffAccounts } from './staff/staff-accounts.ts';
import { Agents } from './pipeline/agents.ts';
import { Callbacks } from './pipeline/callbacks.ts';
import { Pipeline } from './pipeline/pipeline.ts';
import { PipelineConfigStore } from './pipeline/pipeline-config.ts';
import { RequestStore } from './pipeline/requests.ts';
import { CallTickets } from './calls/call-tickets.ts';
import { CustomerPanels } from './desk/panel.ts';
import { WrapUps } from './desk/wrap-ups.ts';
import { Transfers } from './pipeline/transfers.ts';
import { CommandRelay } from './relay/commands.ts';
import { ChatService } from './chat/chat-service.ts';
import { Transcripts } from './chat/transcripts.ts';
import { ChatAttachments } from './chat/attachments.ts';
import { QuickReplies } from './chat/quick-replies.ts';
import { Confirmations } from './relay/confirmations.ts';
import { CustomerDirectory } from './customers/customer-directory.ts';
import type { Store } from './store/engine.ts';
import { Data } from './store/repos/index.ts';
import { LocalEventBus } from './events/bus.ts';
import { PgEventBus } from './events/pg-bus.ts';
import { PgOutboxListener } from './store/pg-listen.ts';
import { PgLeader, SoleLeader, type Leadership } from './store/leader.ts';
import { NodeDrain } from './ops/drain.ts';
import { Reachability } from './push/reachability.ts';
import { PushService } from './push/push.ts';
import { Recordings } from './media/recordings.ts';
import { Monitoring } from './media/monitoring.ts';
import { Reports } from './reports/reports.ts';
import { ScreenPops } from './crm/screen-pop.ts';
import { Webhooks } from './crm/webhooks.ts';
import { AuditTrail } from './audit/trail.ts';
import { SingleSignOn } from './sso/single-sign-on.ts';

/** Every domain service of the authority, wired once over one database. */
export interface Services {
  ctx: Ctx;
  /** This node stopping cleanly among several: /healthz says so (ops/drain.ts). */
  drain: NodeDrain;
  /** Whether this node does the work that has one owner (store/leader.ts). */
  leader: Leadership;
  keys: SigningKeys;
  challenges: Challenges;
  authentications: Authentications;
  devices: Devices;
  factorSetup: FactorSetup;
  pin: PinFactor;
  webauthn: WebAuthnFactor;
  photos: PhotoFactor;
  knowledge: KnowledgeFactor;
  sessions: ServiceSessions;
  staff: StaffAccounts;
  pipeline: Pipeline;
  callbacks: Callbacks;
  calls: CallTickets;
  panels: CustomerPanels;
  wrapUps: WrapUps;
  transfers: Transfers;
  commands: CommandRelay;
  chat: ChatService;
  /** Chat transcripts as the request's record: reads, an admin's deletion, retention (chat/transcripts.ts). */
  transcripts: Transcripts;
  /** Chat attachments: images and PDF sent as messages, downloaded by the parties (chat/attachments.ts). */
  attachments: ChatAttachments;
  /** A staff member's chat quick replies (chat/quick-replies.ts). */
  quickReplies: QuickReplies;
  customers: CustomerDirectory;
  /** Which customer devices are online, last seen, and how to wake them. */
  reach: Reachability;
  push: PushService;
  /** Call recordings by rtpengine: pause/resume, conversion to WAV, retention. */
  recordings: Recordings;
  /** Supervisor monitoring of anchored calls (listen, whisper, barge) through rtpengine. */
  monitoring: Monitoring;
  /** Refusals' audit rows (each in a unit of its own) and the chain's verification. */
  audit: AuditTrail;
  /** Single sign-on for staff (OpenID Connect, sso/). */
  sso: SingleSignOn;
  /** Historical reports for supervisors (reports/). */
  reports: Reports;
  /** CRM: signed webhooks from the outbox, and the screen pop URL (crm/). */
  webhooks: Webhooks;
  screenPops: ScreenPops;
}

export async function createServices(
  store: Store,
  config: Config & { pinPepper: string },
  clock: Clock,
): Promise<Services> {
  const data = new Data(store, clock);
  const ctx: Ctx = {
    data,
    // Many nodes share a PostgreSQL database: each one also wakes on the others' commits (LISTEN/NOTIFY).
    events:
      store.engine === 'postgres' && config.databaseUrl
        ? new PgEventBus(
            data,
            new PgOutboxListener(config.listenDatabaseUrl ?? config.databaseUrl, {
              ownSession: (pid) => store.ownsSession(pid),
            }),
          )
        : new LocalEventBus(data),
    clock,
    config,
    hasher: new SecretHasher(config.pinPepper, config.argon2MemoryKiB, config.argon2Iterations),
  };
  const leader: Leadership =
    store.engine === 'postgres' && config.databaseUrl
      ? new PgLeader(config.databaseUrl, config.nodeId, 1000, (e) =>
          console.error('leader connection:', e.message),
        )
      : new SoleLeader();
  const keys = await SigningKeys.load(ctx);
  const challenges = new Challenges(ctx);
  const authentications = new Authentications(ctx);
  const sessions = new ServiceSessions(ctx);
  const agents = new Agents(ctx);
  const pipelineConfig = await PipelineConfigStore.open(ctx);
  const factorSetup = new FactorSetup(ctx, authentications);
  const photos = new PhotoFactor(ctx, authentications, factorSetup, () => pipelineConfig.config.verification);
  const pipeline = new Pipeline(
    ctx,
    pipelineConfig,
    agents,
    new RequestStore(ctx),
    sessions,
    authentications,
    photos,
  );
  // A configuration replaced on another node: its queues and rules may open work here too.
  pipelineConfig.onReloaded = () => pipeline.notify([]);
  const devices = new Devices(ctx, challenges, authentications, factorSetup);
  const reach = new Reachability(ctx);
  pipeline.reach = reach;
  // A device that comes or goes while the authority shuts down must not fail unhandled.
  reach.on('changed', (deviceId) =>
    pipeline
      .deviceReachabilityChanged(deviceId)
      .catch((e: unknown) => console.error('reachability: views not announced:', e)),
  );
  const push = new PushService(ctx, reach, () => pipelineConfig.config.company);
  const transfers = new Transfers(ctx, pipeline);
  const pin = new PinFactor(ctx, authentications, factorSetup);
  const commands = new CommandRelay(
    ctx,
    keys,
    pipeline,
    sessions,
    devices,
    authentications,
    photos,
    new Confirmations(ctx, pin),
  );
  // From the instant ownership moves, the old holder's open commands are void.
  const audit = new AuditTrail(ctx);
  const staff = new StaffAccounts(ctx, keys);
  const chat = new ChatService(ctx);
  const transcripts = new Transcripts(ctx);
  return {
    ctx,
    drain: new NodeDrain(),
    keys,
    challenges,
    authentications,
    devices,
    factorSetup,
    pin,
    webauthn: new WebAuthnFactor(ctx, challenges, authentications, factorSetup),
    photos,
    knowledge: new KnowledgeFactor(ctx, authentications),
    sessions,
    staff,
    sso: new SingleSignOn(ctx, staff),
    pipeline,
    callbacks: new Callbacks(ctx, pipeline, agents, sessions),
    calls: new CallTickets(ctx, keys, pipeline, devices),
    panels: new CustomerPanels(ctx, pipeline, authentications, photos),
    wrapUps: new WrapUps(ctx, pipeline),
    transfers,
    commands,
    chat,
    transcripts,
    attachments: new ChatAttachments(ctx, chat, transcripts),
    quickReplies: new QuickReplies(ctx),
    customers: new CustomerDirectory(ctx, sessions, pipeline),
    reach,
    push,
    recordings: new Recordings(ctx, audit, leader),
    monitoring: new Monitoring(ctx, audit),
    leader,
    reports: new Reports(ctx, pipelineConfig),
    webhooks: new Webhooks(ctx),
    screenPops: new ScreenPops(ctx, pipelineConfig),
    audit,
  };
}
