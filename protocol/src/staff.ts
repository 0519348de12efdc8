import { z } from 'zod';
import { IsoTime, OpaqueId, ShortText } from './common.ts';

export const StaffRole = z.enum(['agent', 'supervisor', 'admin']);
export type StaffRole = z.infer<typeof StaffRole>;

export const Username = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[a-z0-9._-]+$/, 'usernames are lower-case letters, digits, dot, dash and underscore');
export const Password = z.string().min(8).max(256);

export const StaffView = z
  .strictObject({
    staffId: OpaqueId.describe('The staff member.'),
    username: Username.describe('Login name: lower-case letters, digits, dot, dash and underscore.'),
    displayName: ShortText.describe('Name shown to colleagues and customers.'),
    role: StaffRole.describe('agent, supervisor (also the board and take-overs) or admin (everything).'),
  })
  .meta({ id: 'StaffView', description: 'A staff member.' });
export type StaffView = z.infer<typeof StaffView>;

export const LoginRequest = z.strictObject({
  username: Username.describe('Login name.'),
  password: Password.describe('Password (8 to 256 characters).'),
});
export const RefreshRequest = z.strictObject({
  refreshToken: OpaqueId.describe('The latest refresh token (each is used once).'),
});
export const LogoutRequest = RefreshRequest;
export const TokenPair = z.strictObject({
  accessToken: z
    .string()
    .max(4096)
    .describe('Short-lived access token (ES256 JWT) for `Authorization: Bearer <token>`.'),
  accessExpiresAt: IsoTime.describe('When the access token expires: refresh before.'),
  refreshToken: OpaqueId.describe('Single-use refresh token: POST /v1/staff/refresh returns the next one.'),
  refreshExpiresAt: IsoTime.describe('When the refresh token expires (then log in again).'),
  staff: StaffView.describe('The logged-in staff member.'),
});
export type TokenPair = z.infer<typeof TokenPair>;

export const CreateStaffRequest = z.strictObject({
  username: Username.describe('Login name, unique: lower-case letters, digits, dot, dash and underscore.'),
  displayName: ShortText.describe('Name shown to colleagues and customers.'),
  role: StaffRole.describe('agent, supervisor or admin.'),
  password: Password.describe('Initial password (8 to 256 characters).'),
});
export const SetRoleRequest = z.strictObject({ role: StaffRole.describe('The new role.') });
/** An admin unlock: whether the account was in a delay or locked, and the consecutive failures cleared. */
export const StaffUnlocked = z.strictObject({
  staffId: OpaqueId.describe('The staff member.'),
  wasLocked: z.boolean().describe('The account was in a login delay or locked.'),
  failures: z.number().int().min(0).describe('The consecutive failed logins that were cleared.'),
});
