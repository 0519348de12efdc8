import { z } from 'zod';
import { ServerFrame } from './ws.ts';

/**
 * The authority's domain events: rows of its durable outbox (authority/src/events/),
 * written in the unit of work of the change they tell of and consumed in sequence order.
 * One zod schema per topic: a payload is checked when it is written and when it is read,
 * so a consumer never sees a shape it was not written for. A topic's payload only grows
 * (new optional fields); a changed meaning is a new topic.
 */
export const DOMAIN_EVENTS = {
  /** A service session ended (whoever ended it, once): its request is abandoned, its device commands cancelled. */
  'session.ended': z.strictObject({
    sessionId: z.string().min(1).max(200),
    reason: z.enum(['ended', 'idle_timeout', 'absolute_timeout', 'ended_by_admin']),
    /** the session's request ended in the same unit (completed): the pipeline has nothing to abandon */
    requestEnded: z.literal(true).optional(),
  }),
  /**
   * An authentication gained a factor or a verification photo (a step-up, a comparison):
   * the requests it vouches for are ruled again (queue, priority) and announced.
   */
  'authentication.changed': z.strictObject({
    authenticationId: z.string().min(1).max(200),
  }),
  /** An agent accepted a request (webhooks: `request.accepted`). */
  'request.accepted': z.strictObject({
    requestId: z.string().min(1).max(200),
    agentId: z.string().min(1).max(200),
    fence: z.number().int().nonnegative(),
  }),
  /** A request ended: completed by its holder or abandoned (webhooks: `request.ended`). */
  'request.ended': z.strictObject({
    requestId: z.string().min(1).max(200),
    outcome: z.enum(['completed', 'abandoned']),
    reason: z.string().max(200).nullable(),
  }),
  /** The holder's wrap-up of a request was recorded, once per idempotency key (webhooks: `wrapup.saved`). */
  'wrapup.saved': z.strictObject({
    requestId: z.string().min(1).max(200),
    wrapUpId: z.string().min(1).max(200),
    agentId: z.string().min(1).max(200),
  }),
  /**
   * The holder identified a caller nobody recognised (issue 14): the request moved from its
   * placeholder "Unknown caller" to `customerId`, `by` what the caller said (webhooks:
   * `caller.identified`). Identified is not verified: the level is unchanged.
   */
  'caller.identified': z.strictObject({
    requestId: z.string().min(1).max(200),
    customerId: z.string().min(1).max(200),
    staffId: z.string().min(1).max(200),
    by: z.enum(['number', 'reference']),
  }),
  /**
   * Staff logins (refresh token families) ended: a logout, or the identity provider's
   * back-channel logout. Every node closes the WebSockets opened with them.
   */
  'staff.signed_out': z.strictObject({
    families: z.array(z.string().min(1).max(200)).min(1).max(1000),
  }),
  /** Ownership of a request left `fromFence` (transfer, take-over, reassign): that holder's open device commands end. */
  'request.moved': z.strictObject({
    requestId: z.string().min(1).max(200),
    fromFence: z.number().int().nonnegative(),
  }),
  /**
   * The pipeline configuration (queues, menu, priority rules) was replaced through the admin
   * API: every node reads it again from the store (authority/src/pipeline/pipeline-config.ts).
   */
  'pipeline.config.changed': z.strictObject({
    /** who replaced it (the audit row's actor) */
    actor: z.string().min(1).max(200),
  }),
  /**
   * A WebSocket frame for the sockets of one service session's devices (`sessionId`), on
   * whichever node they are connected to: every node follows this topic
   * (authority/src/ws/node-frames.ts). Written only with many nodes. `staffIds` is what a
   * node of an earlier version wrote for staff sockets (now `hub.staff`): still delivered,
   * so nodes of both versions work side by side during a rolling restart.
   */
  'hub.frame': z
    .strictObject({
      sessionId: z.string().min(1).max(200).optional(),
      staffIds: z.array(z.string().min(1).max(200)).max(1000).optional(),
      frame: ServerFrame,
    })
    .refine((p) => (p.sessionId === undefined) !== (p.staffIds === undefined), {
      message: 'a frame goes to a session or to staff members',
    }),
  /**
   * A WebSocket frame for staff members' sockets on the other nodes: node `node` sent it to
   * its own sockets at once (authority/src/ws/node-frames.ts). Many nodes only.
   */
  'hub.staff': z.strictObject({
    node: z.string().min(1).max(64),
    staffIds: z.array(z.string().min(1).max(200)).min(1).max(1000),
    frame: ServerFrame,
  }),
  /**
   * The pipeline's in-process 'changed' / 'offer' of node `node`, for the feeds of the
   * other nodes' sockets (each builds its frames from committed data). Many nodes only.
   */
  'feeds.changed': z.strictObject({
    node: z.string().min(1).max(64),
    requestIds: z.array(z.string().min(1).max(200)).max(10_000),
    agentIds: z.array(z.string().min(1).max(200)).max(10_000),
  }),
  'feeds.offer': z.strictObject({
    node: z.string().min(1).max(64),
    agentId: z.string().min(1).max(200),
    requestId: z.string().min(1).max(200),
  }),
  /**
   * Device `deviceId` came or went at node `node` (its row in node_presence changed, or
   * the node was removed as stale): the other nodes read the device's rows again
   * (authority/src/push/reachability.ts). Many nodes only.
   */
  'presence.changed': z.strictObject({
    node: z.string().min(1).max(80),
    deviceId: z.string().min(1).max(200),
    /** The node stopped (it cannot announce the views): each node announces what went offline. */
    left: z.literal(true).optional(),
  }),
  /**
   * A node found dead (its heartbeat stale) was removed by the node that noticed it.
   * What that node committed just before dying may never have reached the other nodes'
   * feeds (its `feeds.changed` is written after the change, in a unit of its own): every
   * node sends its feeds a fresh snapshot (authority/src/push/reachability.ts). Many nodes only.
   */
  'node.gone': z.strictObject({
    node: z.string().min(1).max(80),
  }),
} as const;

export type DomainTopic = keyof typeof DOMAIN_EVENTS;
export type DomainPayload<T extends DomainTopic> = z.infer<(typeof DOMAIN_EVENTS)[T]>;

export function isDomainTopic(topic: string): topic is DomainTopic {
  return Object.hasOwn(DOMAIN_EVENTS, topic);
}
