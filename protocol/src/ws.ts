import { z } from 'zod';
import { LIMITS, OpaqueId } from './common.ts';
import { SessionId } from './sessions.ts';

/** Close codes the authority uses (RFC 6455 section 7.4). */
export const WS_CLOSE = {
  normal: 1000,
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
]);
export type ServerFrame = z.infer<typeof ServerFrame>;
