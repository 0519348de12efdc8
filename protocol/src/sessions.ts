import { z } from 'zod';
import { AssuranceLevel, IsoTime, OpaqueId } from './common.ts';
import { DeviceId } from './keys.ts';

/** Service session ids: 32 random bytes, base64url (256 bits). */
export const SessionId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'not a session id')
  .describe('A service session id: 32 random bytes, base64url (43 characters).');

export const SessionState = z.enum(['open', 'ended', 'expired']);
export const ServiceSession = z
  .strictObject({
    sessionId: SessionId.describe('The session.'),
    customerId: OpaqueId.describe('The customer.'),
    deviceId: DeviceId.nullable().describe('The device that opened it, or null.'),
    authenticationId: OpaqueId.describe('The authentication it was opened for.'),
    level: AssuranceLevel.describe("The authentication's level now."),
    state: SessionState.describe('open, ended (by the device, an agent or an admin) or expired.'),
    createdAt: IsoTime.describe('When it was opened.'),
    lastActivityAt: IsoTime.describe('The last use (any use moves the idle expiry).'),
    idleExpiresAt: IsoTime.describe('When it expires without activity.'),
    absoluteExpiresAt: IsoTime.describe('When it expires whatever the activity.'),
  })
  .meta({
    id: 'ServiceSession',
    description: 'A service session: opened for an authentication, with idle and absolute expiry.',
  });
export type ServiceSession = z.infer<typeof ServiceSession>;

export const SessionParams = z.strictObject({ sessionId: SessionId.describe('The service session.') });
export const EndSessionRequest = z.strictObject({
  reason: z.string().min(1).max(200).optional().describe('Why it is ended (recorded in the audit log).'),
});
