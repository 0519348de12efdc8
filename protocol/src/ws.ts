import { z } from 'zod';
import { LIMITS, OpaqueId } from './common.ts';
import { SessionId } from './sessions.ts';
import { AgentView, Board, OfferView, QueueSnapshot, QueueStats, RequestView } from './pipeline.ts';
import { CommandView } from './device-control.ts';
import { TransferView } from './transfers.ts';
import { ChatClientFrame, ChatServerFrame } from './chat.ts';
import { MonitorUpdateFrame } from './monitoring.ts';

/** Close codes the authority uses (RFC 6455 section 7.4). */
export const WS_CLOSE = {
  normal: 1000,
  /** The node is restarting or stopping (several nodes): reconnect, through the load balancer. */
  serviceRestart: 1012,
  policyViolation: 1008,
  tooBig: 1009,
  sessionEnded: 4001,
  unauthorized: 4401,
} as const;

export const WS_PATH = '/v1/ws';

const DeviceHello = z.strictObject({
  type: z.literal('hello'),
  auth: z.strictObject({
    kind: z.literal('device'),
    token: OpaqueId,
    proof: z.string().max(4096),
  }),
  sessionId: SessionId.optional(),
});
const StaffHello = z.strictObject({
  type: z.literal('hello'),
  auth: z.strictObject({ kind: z.literal('staff'), accessToken: z.string().max(4096) }),
  sessionId: SessionId.optional(),
});

/** Frames a client sends. The first frame must be a hello, within a few seconds. */
export const ClientFrame = z.union([
  DeviceHello,
  StaffHello,
  z.strictObject({ type: z.literal('ping'), id: z.string().max(LIMITS.shortText) }),
  /** Staff: "queues" = snapshot + deltas of the agent's queues and its own state; "board" = everything (supervisors). */
  z.strictObject({ type: z.literal('subscribe'), topic: z.enum(['queues', 'board']) }),
  /**
   * Device: a command it holds is on screen ("shown"), like POST /v1/device/commands/:id/ack but on
   * the socket its hello authenticated (no HTTP request, no proof of its own). Answered by
   * `command.acked` or `command.ack.refused` with the same commandId.
   */
  z.strictObject({ type: z.literal('command.ack'), commandId: OpaqueId }),
  /** Verified chat (chat.ts): the customer's device about its own request, the agent about a request it holds. */
  ...ChatClientFrame.options,
]);
export type ClientFrame = z.infer<typeof ClientFrame>;

/** Frames the authority sends. */
export const ServerFrame = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('welcome'),
    connectionId: OpaqueId,
    principal: z.enum(['device', 'staff']),
  }),
  z.strictObject({ type: z.literal('pong'), id: z.string().max(LIMITS.shortText) }),
  z.strictObject({
    type: z.literal('session.ended'),
    sessionId: SessionId,
    reason: z.enum(['ended', 'idle_timeout', 'absolute_timeout', 'ended_by_admin']),
  }),
  z.strictObject({ type: z.literal('error'), code: z.string(), message: z.string() }),
  z.strictObject({ type: z.literal('queue.snapshot'), snapshot: QueueSnapshot }),
  z.strictObject({ type: z.literal('board.snapshot'), board: Board }),
  /** Requests whose view changed (finished ones come with their final state, for removal) and fresh stats of their queues. */
  z.strictObject({
    type: z.literal('queue.delta'),
    queues: z.array(QueueStats),
    upserts: z.array(RequestView),
  }),
  z.strictObject({ type: z.literal('agent.state'), agent: AgentView }),
  z.strictObject({ type: z.literal('offer'), offer: OfferView }),
  /** For the agent: the device answered the call and proved it with its key. */
  z.strictObject({ type: z.literal('call.verified'), requestId: OpaqueId, at: z.string() }),
  /** To the holder: the request's panel changed on the authority (a wrong PIN, a PIN lock): fetch it again. */
  z.strictObject({
    type: z.literal('panel.changed'),
    requestId: OpaqueId,
    reason: z.enum(['pin.failed', 'pin.locked']),
    at: z.string(),
  }),
  /** For a device: its own request (position, estimated wait, state). */
  z.strictObject({ type: z.literal('request.update'), request: RequestView }),

  /** For a device: a command signed by the authority (verify it: CommandClaims); a known id with a higher `rev` updates the one on screen. */
  z.strictObject({ type: z.literal('command'), commandId: OpaqueId, jws: z.string().max(200_000) }),
  /** For a device: a command it holds was withdrawn (cancelled by the agent, expired, control stopped, ownership moved). */
  z.strictObject({
    type: z.literal('command.cancelled'),
    commandId: OpaqueId,
    requestId: OpaqueId,
    reason: z.enum(['cancelled', 'expired', 'control_stopped', 'transferred', 'superseded', 'request_ended']),
  }),
  /** For a device: its `command.ack` was recorded (the agent sees "shown"). */
  z.strictObject({
    type: z.literal('command.acked'),
    commandId: OpaqueId,
    state: z.literal('shown'),
    at: z.string(),
  }),
  /**
   * For a device: its `command.ack` was refused, with the code the HTTP route would give
   * (not_found, already_acknowledged, command_final, command_expired, unauthorized).
   */
  z.strictObject({
    type: z.literal('command.ack.refused'),
    commandId: OpaqueId,
    code: z.string().max(LIMITS.shortText),
    message: z.string().max(LIMITS.longText),
  }),
  /** For the agent (the sender and the request's current owner): a command changed state (shown, answered, expired, revised...). */
  z.strictObject({ type: z.literal('command.update'), command: CommandView }),
  /** For the agent: the customer pressed "stop all" (or allowed control again). */
  z.strictObject({
    type: z.literal('control.state'),
    requestId: OpaqueId,
    stopped: z.boolean(),
    at: z.string(),
    cancelled: z.array(OpaqueId),
  }),
  /** For both parties of a transfer (and the target of a consult offer): the transfer as it is now. */
  z.strictObject({ type: z.literal('transfer.update'), transfer: TransferView }),
  /** For a device: its agent is consulting a colleague (a warm transfer of its request is open), or no longer. */
  z.strictObject({
    type: z.literal('request.consult'),
    requestId: OpaqueId,
    active: z.boolean(),
    at: z.string(),
  }),
  /** Verified chat (chat.ts): acks, messages, receipts, typing and refusals. */
  ...ChatServerFrame.options,
  /** For the agent: a supervisor whispers, barges or stopped (monitoring.ts). */
  MonitorUpdateFrame,
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
