import type { z } from 'zod';
import type { StaffRole } from './staff.ts';

/**
 * Who may call a route.
 * public: anyone; device: an authenticated device (token + per-request proof);
 * staff: a logged-in staff member with one of `roles`; deviceOrStaff: either.
 */
export type RouteAuth = 'public' | 'device' | 'staff' | 'deviceOrStaff';

export interface RouteDef {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth;
  readonly roles?: readonly StaffRole[];
  readonly params?: z.ZodObject;
  readonly query?: z.ZodObject;
  readonly body?: z.ZodType;
  /** 'image': the body is a raw JPEG or PNG, not JSON. */
  readonly bodyKind?: 'json' | 'image';
  readonly response: z.ZodType;
  /** 'image': the answer is raw image bytes (`response` then describes nothing and is z.any()). */
  readonly responseKind?: 'json' | 'image';
  readonly status?: 200 | 201;
}

export const route = <R extends RouteDef>(r: R): R => r;

export const ANY_STAFF = ['agent', 'supervisor', 'admin'] as const;
export const SUPERVISORS = ['supervisor', 'admin'] as const;
export const ADMIN = ['admin'] as const;
