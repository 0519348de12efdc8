import { z } from 'zod';
import { AssuranceLevel, IsoTime, OpaqueId } from './common.ts';
import { DeviceId } from './keys.ts';

/** Service session ids: 32 random bytes, base64url (256 bits). */
export const SessionId = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'not a session id');

export const SessionState = z.enum(['open', 'ended', 'expired']);
export const ServiceSession = z.strictObject({
  sessionId: SessionId,
  customerId: OpaqueId,
  deviceId: DeviceId.nullable(),
  authenticationId: OpaqueId,
  level: AssuranceLevel,
  state: SessionState,
  createdAt: IsoTime,
  lastActivityAt: IsoTime,
  idleExpiresAt: IsoTime,
  absoluteExpiresAt: IsoTime,
});
export type ServiceSession = z.infer<typeof ServiceSession>;

export const SessionParams = z.strictObject({ sessionId: SessionId });
export const EndSessionRequest = z.strictObject({ reason: z.string().min(1).max(200).optional() });
