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

export const StaffView = z.strictObject({
  staffId: OpaqueId,
  username: Username,
  displayName: ShortText,
  role: StaffRole,
});
export type StaffView = z.infer<typeof StaffView>;

export const LoginRequest = z.strictObject({ username: Username, password: Password });
export const RefreshRequest = z.strictObject({ refreshToken: OpaqueId });
export const LogoutRequest = RefreshRequest;
export const TokenPair = z.strictObject({
  accessToken: z.string().max(4096),
  accessExpiresAt: IsoTime,
  refreshToken: OpaqueId,
  refreshExpiresAt: IsoTime,
  staff: StaffView,
});
export type TokenPair = z.infer<typeof TokenPair>;

export const CreateStaffRequest = z.strictObject({
  username: Username,
  displayName: ShortText,
  role: StaffRole,
  password: Password,
});
export const SetRoleRequest = z.strictObject({ role: StaffRole });
/** An admin unlock: whether the account was in a delay or locked, and the consecutive failures cleared. */
export const StaffUnlocked = z.strictObject({
  staffId: OpaqueId,
  wasLocked: z.boolean(),
  failures: z.number().int().min(0),
});
